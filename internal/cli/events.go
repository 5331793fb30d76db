package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
)

func newEventsCmd(g *globals) *cobra.Command {
	var format, pipelineName string
	var limit int
	cmd := &cobra.Command{
		Use:   "events [--pipeline P]",
		Short: "List state-change events, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			evs, err := c.Events(cmd.Context(), pipelineName, 0, limit)
			if err != nil {
				return err
			}
			return output(g.out, format, evs, func(w io.Writer) {
				for _, e := range evs {
					d := e.Detail
					if _, push := d["repositoryName"]; push {
						commit := fmt.Sprint(d["commitId"])
						if d["commitId"] == nil {
							commit = "(was " + fmt.Sprint(d["oldCommitId"]) + ")"
						}
						fmt.Fprintf(w, "%s  %-10s %s %s  %s by %s\n", e.Time.Local().Format(time.DateTime), d["event"], d["repositoryName"],
							d["referenceFullName"], commit, d["callerUser"])
						continue
					}
					where := fmt.Sprint(d["pipeline"])
					if s, ok := d["stage"]; ok {
						where += "/" + fmt.Sprint(s)
					}
					if a, ok := d["action"]; ok {
						where += "/" + fmt.Sprint(a)
					}
					fmt.Fprintf(w, "%s  %-10s %s  %s\n", e.Time.Local().Format(time.DateTime), d["state"], where, d["execution-id"])
				}
			})
		},
	}
	addOutputFlag(cmd, &format)
	cmd.Flags().StringVar(&pipelineName, "pipeline", "", "only events of this pipeline")
	cmd.Flags().IntVar(&limit, "limit", 1000, "at most this many events")
	return cmd
}
