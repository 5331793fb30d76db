package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/wire"
)

func newEventsCmd(g *globals) *cobra.Command {
	var format, since string
	var f client.EventFilter
	var follow bool
	cmd := &cobra.Command{
		Use:   "events [--pipeline P] [--since T] [--type T] [-f]",
		Short: "List state-change events, oldest first; -f follows new ones as they happen",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return fmt.Errorf("--since: %w", err)
				}
				f.Since = t
			}
			f.Type = expandEventType(f.Type)
			c, err := g.client()
			if err != nil {
				return err
			}
			// Without --since, the newest events: the last --limit of them, or
			// with -f the last ten, then what comes.
			f.Newest = f.Since.IsZero()
			if follow {
				enc := json.NewEncoder(g.out)
				show := func(e wire.Event) error {
					if format == "json" {
						return enc.Encode(e)
					}
					printEvent(g.out, e)
					return nil
				}
				if f.Newest {
					recent, err := c.ListEvents(cmd.Context(), client.EventFilter{Pipeline: f.Pipeline, Type: f.Type, Limit: 10, Newest: true})
					if err != nil {
						return err
					}
					for _, e := range recent {
						if err := show(e); err != nil {
							return err
						}
						f.After = e.Seq
					}
					if len(recent) == 0 {
						// Nothing matches yet: follow from the log's current end.
						last, err := c.ListEvents(cmd.Context(), client.EventFilter{Limit: 1, Newest: true})
						if err != nil {
							return err
						}
						if len(last) == 1 {
							f.After = last[0].Seq
						}
					}
				}
				return c.StreamEvents(cmd.Context(), f, show)
			}
			evs, err := c.ListEvents(cmd.Context(), f)
			if err != nil {
				return err
			}
			return output(g.out, format, evs, func(w io.Writer) {
				for _, e := range evs {
					printEvent(w, e)
				}
			})
		},
	}
	addOutputFlag(cmd, &format)
	cmd.Flags().StringVar(&f.Pipeline, "pipeline", "", "only events of this pipeline")
	cmd.Flags().StringVar(&f.Type, "type", "", "only events of this detail-type (\"CodePipeline Action Execution State Change\"), or its short form: pipeline, stage, action, repository, approval, gate, lock, transition")
	cmd.Flags().StringVar(&since, "since", "", "only events from this time on: RFC 3339 (2026-11-23T10:00:00Z) or a duration ago (90m, 2h, 7d)")
	cmd.Flags().IntVar(&f.Limit, "limit", 1000, "at most this many events (without -f): the newest, or with --since the first from then on")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep following new events (Server-Sent Events) until interrupted")
	return cmd
}

// eventTypes are the short names of event detail-types.
var eventTypes = map[string]string{
	"pipeline":   "CodePipeline Pipeline Execution State Change",
	"stage":      "CodePipeline Stage Execution State Change",
	"action":     "CodePipeline Action Execution State Change",
	"repository": "CodeCommit Repository State Change",
	"approval":   "sluice Approval State Change",
	"gate":       "sluice Gate State Change",
	"lock":       "sluice Lock State Change",
	"transition": "sluice Stage Transition Change",
}

func expandEventType(t string) string {
	if full, ok := eventTypes[strings.ToLower(t)]; ok {
		return full
	}
	return t
}

// parseSince reads a time as RFC 3339 or as a duration before now, days allowed.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err == nil && n >= 0 && fmt.Sprint(n) == days {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration such as 90m or 7d", s)
	}
	return now.Add(-d), nil
}

func printEvent(w io.Writer, e wire.Event) {
	d := e.Detail
	// sluice's own fields are under detail.sluice, beside CodePipeline's.
	own, _ := d["sluice"].(map[string]any)
	at := e.Time.Local().Format(time.DateTime)
	if _, push := d["repositoryName"]; push {
		commit := fmt.Sprint(d["commitId"])
		if d["commitId"] == nil {
			commit = "(was " + fmt.Sprint(d["oldCommitId"]) + ")"
		}
		fmt.Fprintf(w, "%s  %-10s %s %s  %s by %s\n", at, d["event"], d["repositoryName"], d["referenceFullName"], commit, own["caller"])
		return
	}
	where := fmt.Sprint(d["pipeline"])
	if s, ok := d["stage"]; ok {
		where += "/" + fmt.Sprint(s)
	}
	if a, ok := d["action"]; ok {
		where += "/" + fmt.Sprint(a)
	}
	kind := ""
	switch e.DetailType {
	case eventTypes["approval"]:
		kind = "approval "
	case eventTypes["gate"]:
		kind = "gate "
	case eventTypes["transition"]:
		kind = "transition "
	case eventTypes["lock"]:
		kind = "lock " + fmt.Sprint(own["lock"]) + " "
	}
	line := fmt.Sprintf("%s  %-10s %s%s  %s", at, d["state"], kind, where, d["execution-id"])
	if s, ok := own["summary"]; ok && s != "" {
		line += "  " + fmt.Sprint(s)
	}
	fmt.Fprintln(w, line)
}
