package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

func newAdminCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Operate the server: re-encrypt secrets after rotating the secret key"}
	var format string
	reencrypt := &cobra.Command{
		Use:   "reencrypt",
		Short: "Rewrite every secret under the server's current secret key (a step of rotating it; see docs/OPERATIONS.md)",
		Long: `Rewrite every sealed value (secrets, AWS access keys' secrets) that is under a key
the server only decrypts with (--decrypt-secret-key-file) under its current key
(--secret-key-file). Safe while replicas serve, idempotent, and resumable: run it
again after an interruption. Names are shown, never values. It fails when some
value opens with none of the server's keys.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			rep, err := c.ReencryptSecrets(cmd.Context())
			if err != nil {
				return err
			}
			if err := output(g.out, format, rep, func(w io.Writer) {
				for _, name := range rep.Reencrypted {
					fmt.Fprintf(w, "re-encrypted %s\n", name)
				}
				for _, f := range rep.Failed {
					fmt.Fprintf(w, "FAILED %s: %s\n", f.Name, f.Reason)
				}
				fmt.Fprintf(w, "%d re-encrypted, %d already under the current key, %d failed\n", len(rep.Reencrypted), rep.Current, len(rep.Failed))
			}); err != nil {
				return err
			}
			if len(rep.Failed) > 0 {
				return fmt.Errorf("%d value(s) could not be re-encrypted; keep the old key until they are dealt with", len(rep.Failed))
			}
			return nil
		},
	}
	addOutputFlag(reencrypt, &format)
	cmd.AddCommand(reencrypt)
	return cmd
}
