package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newPolicyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Manage named policies: the roles pipelines (role:, roleArn) and build projects (serviceRole) run with",
		Long: "A named policy is a role: a pipeline or build project that names it gets the secrets it allows\n" +
			"(sluice:GetSecretValue on secret/NAME), asked each time a job starts. Ready-made policies are roles too;\n" +
			"a pipeline naming none runs with default-pipeline, which allows every secret.",
	}
	var file string
	apply := &cobra.Command{
		Use:   "apply NAME -f FILE",
		Short: "Create or replace a named policy from a policy file (JSON or YAML, IAM's shape)",
		Long: "Create or replace a named policy. You can hand on only what you hold: the policy may allow\n" +
			"nothing your own token does not. A change applies to the next secret a job asks for.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return fmt.Errorf("-f FILE: required")
			}
			doc, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("-f: %w", err)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if _, err := c.PutPolicy(cmd.Context(), args[0], file, doc); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "policy %s applied\n", args[0])
			return nil
		},
	}
	apply.Flags().StringVarP(&file, "file", "f", "", "the policy file")
	var format string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the named policies (the ready-made ones are not listed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			ps, err := c.Policies(cmd.Context())
			if err != nil {
				return err
			}
			return output(g.out, format, ps, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tUPDATED")
				for _, p := range ps {
					fmt.Fprintf(tw, "%s\t%s\n", p.Name, p.Updated.Local().Format(time.DateTime))
				}
				tw.Flush()
			})
		},
	}
	addOutputFlag(list, &format)
	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Print a named or ready-made policy's document",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			p, err := c.Policy(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			var v any
			if err := json.Unmarshal(p.Document, &v); err != nil {
				return err
			}
			out, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				return err
			}
			fmt.Fprintln(g.out, string(out))
			return nil
		},
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a named policy: pipelines naming it get no secrets until it exists again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeletePolicy(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "policy %s deleted\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(apply, list, get, del)
	return cmd
}
