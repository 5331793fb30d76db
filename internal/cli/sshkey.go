package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/wire"
)

func newSSHKeyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "ssh-key", Short: "Manage SSH public keys for git over SSH (each stands for a token)"}
	var principal, file string
	add := &cobra.Command{
		Use:   "add NAME --principal TOKEN -f KEY.pub",
		Short: "Add an SSH public key: git over SSH with it has the token's GitPull/GitPush",
		Long: "Add an OpenSSH public key (the .pub file ssh-keygen made; - reads standard input) under NAME.\n" +
			"The key stands for the token --principal names: over SSH it may do exactly what that token's\n" +
			"policy allows over HTTPS (sluice:GitPull to clone and fetch, sluice:GitPush to push).\n" +
			"You can hand on only what you hold: the token's policy may allow nothing your own does not.\n" +
			"Needs sluice:UploadSSHPublicKey on sshkey/NAME.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return errors.New("-f: give the public key file (KEY.pub), or - for standard input")
			}
			var data []byte
			var err error
			if file == "-" {
				data, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 64<<10))
			} else {
				data, err = os.ReadFile(file)
			}
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			k, err := c.AddSSHKey(cmd.Context(), wire.UploadSSHPublicKeyRequest{Name: args[0], Principal: principal, PublicKey: string(data)})
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			fmt.Fprintf(g.out, "ssh key %s added for %s: %s %s\n", k.Name, k.Principal, k.Type, k.Fingerprint)
			return nil
		},
	}
	add.Flags().StringVar(&principal, "principal", "", "the token whose policy the key has")
	add.Flags().StringVarP(&file, "file", "f", "", "the public key file (KEY.pub), - for standard input")
	var format string
	list := &cobra.Command{
		Use:   "list",
		Short: "List SSH keys (name, principal, fingerprint) and the server's SSH address and host key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			l, err := c.SSHKeys(cmd.Context())
			if err != nil {
				return err
			}
			return output(g.out, format, l, func(w io.Writer) {
				if l.Host == nil {
					fmt.Fprintln(w, "ssh: not served (start the server with --ssh-addr)")
				} else {
					fmt.Fprintf(w, "ssh: %s, host key %s\n", l.Host.Addr, l.Host.HostKeyFingerprint)
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tPRINCIPAL\tTYPE\tFINGERPRINT\tCOMMENT\tCREATED")
				for _, k := range l.Keys {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.Name, k.Principal, k.Type, k.Fingerprint, k.Comment, k.Created.Local().Format(time.DateTime))
				}
				tw.Flush()
			})
		},
	}
	addOutputFlag(list, &format)
	del := &cobra.Command{
		Use:     "delete NAME",
		Aliases: []string{"rm"},
		Short:   "Delete an SSH key: it stops working at once, on open connections too",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteSSHKey(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "ssh key %s deleted\n", args[0])
			return nil
		},
	}
	host := &cobra.Command{
		Use:   "known-host",
		Short: "Print the server's known_hosts line (add it to ~/.ssh/known_hosts)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			l, err := c.SSHKeys(cmd.Context())
			if err != nil {
				return err
			}
			if l.Host == nil {
				return errors.New("the server does not serve ssh (start it with --ssh-addr)")
			}
			fmt.Fprintln(g.out, l.Host.KnownHostsLine())
			return nil
		},
	}
	cmd.AddCommand(add, list, del, host)
	return cmd
}
