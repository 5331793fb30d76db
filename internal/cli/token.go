package cli

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newTokenCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens (policies: admin, read, worker)"}
	var policy string
	create := &cobra.Command{
		Use:   "create NAME [--policy admin|read|worker]",
		Short: "Create a token and print it (it is shown only this once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			t, err := c.CreateToken(cmd.Context(), args[0], policy)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.out, t.Token)
			return nil
		},
	}
	create.Flags().StringVar(&policy, "policy", "read", "admin (everything), read (look and fetch, change nothing) or worker (run jobs)")
	var format string
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			tokens, err := c.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			return output(g.out, format, tokens, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tPOLICY\tCREATED")
				for _, t := range tokens {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.Policy, t.Created.Local().Format(time.DateTime))
				}
				tw.Flush()
			})
		},
	}
	addOutputFlag(list, &format)
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Revoke a token",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "token %s revoked\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, del)
	return cmd
}
