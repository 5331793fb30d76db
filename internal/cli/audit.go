package cli

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/audit"
	"github.com/sluice-ci/sluice/internal/server"
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

// addAuditServerFlags adds the audit trail's flags to `sluice server`.
func addAuditServerFlags(cmd *cobra.Command, cfg *server.Config) {
	cfg.AuditRetention = 90 * 24 * time.Hour
	cmd.Flags().Var((*retentionFlag)(&cfg.AuditRetention), "audit-retention",
		"how long audit records are kept (DATA/audit.db), e.g. 90d or 720h; 0 keeps them for ever")
	cmd.Flags().Var((*prefixesFlag)(&cfg.TrustedProxies), "trusted-proxy",
		"a reverse proxy's address or CIDR range whose X-Forwarded-For the audit trail believes (repeatable)")
}

// retentionFlag is a duration in days or Go's notation; 0 means for ever.
type retentionFlag time.Duration

func (f *retentionFlag) String() string {
	d := time.Duration(*f)
	switch {
	case d < 0:
		return "0"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

func (f *retentionFlag) Set(s string) error {
	d, err := audit.ParseAge(s)
	if err != nil {
		return err
	}
	if d == 0 {
		d = -1 // for ever
	}
	*f = retentionFlag(d)
	return nil
}

func (f *retentionFlag) Type() string { return "duration" }

// prefixesFlag collects addresses and CIDR ranges.
type prefixesFlag []netip.Prefix

func (f *prefixesFlag) String() string {
	var s []string
	for _, p := range *f {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}

func (f *prefixesFlag) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		p, err := netip.ParsePrefix(part)
		if err != nil {
			a, aerr := netip.ParseAddr(part)
			if aerr != nil {
				return fmt.Errorf("%q is neither an address nor a CIDR range such as 10.0.0.0/8", part)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		*f = append(*f, p.Masked())
	}
	return nil
}

func (f *prefixesFlag) Type() string { return "cidr" }
