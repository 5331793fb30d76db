package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newSecretCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "secret", Short: "Keep secrets that actions use (values are never shown again)"}
	put := &cobra.Command{
		Use:   "put NAME",
		Short: "Store a secret; the value is read from standard input",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			value, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 64<<10+1))
			if err != nil {
				return err
			}
			// A value typed or echoed ends in a newline that is not part of it.
			value = []byte(strings.TrimRight(string(value), "\r\n"))
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.PutSecret(cmd.Context(), args[0], value); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "secret %s stored\n", args[0])
			return nil
		},
	}
	put.SetIn(os.Stdin)
	var format string
	list := &cobra.Command{
		Use:   "list",
		Short: "List secrets (names only)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			secrets, err := c.Secrets(cmd.Context())
			if err != nil {
				return err
			}
			return output(g.out, format, secrets, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tUPDATED")
				for _, s := range secrets {
					fmt.Fprintf(tw, "%s\t%s\n", s.Name, s.Updated.Local().Format(time.DateTime))
				}
				tw.Flush()
			})
		},
	}
	addOutputFlag(list, &format)
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a secret",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteSecret(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "secret %s deleted\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(put, list, del)
	return cmd
}
