//go:build !sluiceclient

package cli

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/audit"
	"github.com/sluice-ci/sluice/internal/server"
)

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
