package cli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/webhook"
)

func newWebhookCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "webhook", Short: "Start pipelines from git hosts' webhooks (CodePipeline's webhook definitions)"}
	var file string
	apply := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Create or replace a webhook",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readFileFlag(file)
			if err != nil {
				return err
			}
			if _, err := webhook.ParseDefinition(file, data); err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			w, err := c.ApplyWebhook(cmd.Context(), file, data)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "webhook %s applied: POST %s\n", w.Name, w.URL)
			return nil
		},
	}
	apply.Flags().StringVarP(&file, "file", "f", "", "webhook definition, YAML or JSON (- for standard input)")
	var format string
	list := &cobra.Command{
		Use:   "list",
		Short: "List webhooks with their URLs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			hooks, err := c.Webhooks(cmd.Context())
			if err != nil {
				return err
			}
			return output(g.out, format, hooks, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tPIPELINE\tACTION\tAUTHENTICATION\tURL")
				for _, h := range hooks {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.Name, h.TargetPipeline, h.TargetAction, h.Authentication, h.URL)
				}
				tw.Flush()
			})
		},
	}
	addOutputFlag(list, &format)
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a webhook",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteWebhook(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "webhook %s deleted\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(apply, list, del)
	return cmd
}
