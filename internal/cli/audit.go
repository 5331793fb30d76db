package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/api/client"
)

func newAuditCmd(g *globals) *cobra.Command {
	var q client.AuditQuery
	var format string
	cmd := &cobra.Command{
		Use:   "audit [--principal P] [--operation O] [--denied] [--since T] [--limit N]",
		Short: "List the audit trail: API calls, git requests and webhook deliveries, newest first",
		Long: `List the audit trail, newest first: every API call, git request and webhook
delivery, with who made it, from where, the operation and resource, the outcome
(allowed, denied, failed, or challenge: a request without credentials answered
with 401 and WWW-Authenticate, as git's first try of every push and fetch is,
which --denied leaves out; -o json shows the error answered, the parameters
and the user agent) and the request id the caller was answered with (its
X-Request-Id). --since takes an RFC 3339 time or an age (1h, 7d).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f := strings.ToLower(format); f != "table" && f != "json" && f != "yaml" {
				return fmt.Errorf("-o: unknown format %q (table, json or yaml)", format)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			list, err := c.Audit(cmd.Context(), q)
			if err != nil {
				return err
			}
			if strings.EqualFold(format, "table") {
				format = "text"
			}
			return output(g.out, format, list.Records, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "TIME\tPRINCIPAL\tOPERATION\tRESOURCE\tOUTCOME\tSTATUS\tSOURCE\tREQUEST ID")
				for _, r := range list.Records {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.Time.Local().Format(time.DateTime), dash(r.Principal),
						dash(r.Operation), dash(r.Resource), r.Outcome, r.Status, dash(r.SourceAddress), r.RequestID)
				}
				tw.Flush()
				if list.NextBefore != 0 {
					fmt.Fprintf(w, "(more: --before %d)\n", list.NextBefore)
				}
			})
		},
	}
	cmd.Flags().StringVar(&q.Principal, "principal", "", "only calls of this principal (a token's name, webhook/NAME)")
	cmd.Flags().StringVar(&q.Operation, "operation", "", "only this operation (StartPipelineExecution, GitPush, DeliverWebhook, …)")
	cmd.Flags().BoolVar(&q.Denied, "denied", false, "only calls that were refused")
	cmd.Flags().StringVar(&q.Since, "since", "", "only calls since this RFC 3339 time or age (1h, 7d)")
	cmd.Flags().IntVar(&q.Limit, "limit", 100, "at most this many records (up to 1000)")
	cmd.Flags().Int64Var(&q.Before, "before", 0, "only records older than this id (paging)")
	cmd.Flags().StringVarP(&format, "output", "o", "table", "output format: table, json or yaml")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
