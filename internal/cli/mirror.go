package cli

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/wire"
)

func newRepoMirrorCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "mirror", Short: "Mirror a repository to another git remote (push), or follow one (pull)"}
	var req wire.PutMirrorRequest
	var interval time.Duration
	add := &cobra.Command{
		Use:   "add REPO NAME --url URL [--direction push|pull] [--username U --password-secret SECRET] [--interval 5m]",
		Short: "Add (or replace) a mirror",
		Long: "A push mirror pushes every change of the repository to URL (git push --mirror: forced and pruned)\n" +
			"after each push, retrying with backoff while the remote is down. A pull mirror fetches URL's branches\n" +
			"and tags every --interval into the repository (forced and pruned); what changed becomes a push by\n" +
			"mirror/NAME, with its events and triggers. URL is https, http or git; the password or token is a\n" +
			"sluice secret (--password-secret), which you must be allowed to read (sluice:GetSecretValue).",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.IntervalSeconds = int64(interval / time.Second)
			c, err := g.client()
			if err != nil {
				return err
			}
			m, err := c.PutMirror(cmd.Context(), args[0], args[1], req)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "%s mirror %s of %s: %s\n", m.Direction, m.Name, args[0], m.URL)
			return nil
		},
	}
	add.Flags().StringVar(&req.URL, "url", "", "the remote's URL (https, http or git)")
	add.Flags().StringVar(&req.Direction, "direction", "push", "push (to the remote) or pull (from it)")
	add.Flags().StringVar(&req.Username, "username", "", "user name for the remote")
	add.Flags().StringVar(&req.PasswordSecret, "password-secret", "", "the sluice secret holding the password or token")
	add.Flags().DurationVar(&interval, "interval", 0, "how often a pull mirror fetches (at least 10s; default 5m)")
	add.PreRun = func(cmd *cobra.Command, args []string) {
		if req.Direction == "pull" && !cmd.Flags().Changed("interval") {
			interval = 5 * time.Minute
		}
	}
	var format string
	list := &cobra.Command{
		Use:   "list REPO",
		Short: "List a repository's mirrors and how their last attempts went",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			ms, err := c.Mirrors(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return output(g.out, format, ms, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tDIRECTION\tURL\tSTATE\tLAST SUCCESS\tLAST ERROR")
				for _, m := range ms {
					state, last, lastErr := "not run yet", "-", ""
					if st := m.Status; st != nil {
						switch {
						case st.Failures > 0:
							state = fmt.Sprintf("failing (%d in a row; next try %s)", st.Failures, st.NextAttempt.Local().Format(time.TimeOnly))
						case st.Pending:
							state = "pending"
						case st.LastSuccess != nil:
							state = "in sync"
						}
						if st.LastSuccess != nil {
							last = st.LastSuccess.Local().Format(time.DateTime)
						}
						lastErr = firstLine(st.LastError)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, m.Direction, m.URL, state, last, lastErr)
				}
				tw.Flush()
			})
		},
	}
	addOutputFlag(list, &format)
	del := &cobra.Command{
		Use:   "delete REPO NAME",
		Short: "Remove a mirror (the remote keeps what it has)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteMirror(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "mirror %s of %s deleted\n", args[1], args[0])
			return nil
		},
	}
	cmd.AddCommand(add, list, del)
	return cmd
}
