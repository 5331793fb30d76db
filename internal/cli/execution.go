package cli

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/api/client"
)

func newExecutionCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "execution", Short: "Look at one execution"}
	var format string
	get := &cobra.Command{
		Use:   "get NAME ID",
		Short: "Print an execution with its stages and actions",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			e, err := c.Execution(cmd.Context(), args[0], args[1], time.Time{}, 0)
			if err != nil {
				return err
			}
			return output(g.out, format, e, func(w io.Writer) { printExecution(w, e) })
		},
	}
	addOutputFlag(get, &format)
	cmd.AddCommand(get)
	return cmd
}

func printExecution(w io.Writer, e *client.Execution) {
	fmt.Fprintf(w, "execution %s of %s (version %d): %s\n", e.PipelineExecutionID, e.PipelineName, e.PipelineVersion, e.Status)
	if e.StatusSummary != "" {
		fmt.Fprintf(w, "  %s\n", e.StatusSummary)
	}
	if e.WaitingFor != "" {
		fmt.Fprintf(w, "  waiting: %s\n", e.WaitingFor)
	}
	fmt.Fprintf(w, "  trigger: %s %s\n", e.Trigger.TriggerType, e.Trigger.TriggerDetail)
	for _, r := range e.SourceRevisions {
		fmt.Fprintf(w, "  source %s: %s %s\n", r.ActionName, r.RevisionID, r.RevisionSummary)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tACTION\tSTATUS\tATTEMPT\tSUMMARY")
	for _, st := range e.Stages {
		fmt.Fprintf(tw, "%s\t\t%s\t%d\t\n", st.Name, st.Status, st.Attempt)
		for _, a := range st.Actions {
			fmt.Fprintf(tw, "\t%s\t%s\t%d\t%s\n", a.Name, a.Status, a.Attempt, a.Summary)
		}
	}
	tw.Flush()
}

func newExecutionsCmd(g *globals) *cobra.Command {
	var format string
	var limit int
	cmd := &cobra.Command{
		Use:   "executions NAME",
		Short: "List a pipeline's executions, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			es, err := c.Executions(cmd.Context(), args[0], limit)
			if err != nil {
				return err
			}
			return output(g.out, format, es, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSTATUS\tTRIGGER\tSTARTED\tDURATION")
				for _, e := range es {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.PipelineExecutionID, e.Status, e.Trigger.TriggerType,
						e.StartTime.Local().Format(time.DateTime), e.LastUpdateTime.Sub(e.StartTime).Round(time.Millisecond))
				}
				tw.Flush()
			})
		},
	}
	addOutputFlag(cmd, &format)
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many executions")
	return cmd
}

func newStatusCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "status NAME",
		Short: "Show each stage's latest execution, inbound transition and actions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			st, err := c.State(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return output(g.out, format, st, func(w io.Writer) {
				fmt.Fprintf(w, "pipeline %s (version %d)\n", st.PipelineName, st.PipelineVersion)
				if st.Isolation != "" {
					warn := ""
					if !st.Sandboxed {
						warn = "WARNING: "
					}
					fmt.Fprintf(w, "%sisolation of the server's workers: %s\n", warn, st.Isolation)
				}
				if t := st.LastTrigger; t != nil {
					if t.Started {
						fmt.Fprintf(w, "last trigger: %s %s: started %s\n", t.TriggerType, t.TriggerDetail, t.PipelineExecutionID)
					} else {
						fmt.Fprintf(w, "last trigger: %s %s: started nothing: %s\n", t.TriggerType, t.TriggerDetail, t.Reason)
					}
				}
				for _, s := range st.StageStates {
					latest := "not run yet"
					if s.LatestExecution != nil {
						latest = s.LatestExecution.Status + " (" + s.LatestExecution.PipelineExecutionID + ")"
					}
					fmt.Fprintf(w, "stage %s: %s\n", s.StageName, latest)
					if !s.InboundTransitionState.Enabled {
						fmt.Fprintf(w, "  inbound transition disabled: %s\n", s.InboundTransitionState.DisabledReason)
					}
					for _, wt := range s.Waiting {
						fmt.Fprintf(w, "  waiting: %s: %s\n", wt.PipelineExecutionID, wt.Reason)
					}
					for _, a := range s.ActionStates {
						if a.LatestExecution == nil {
							fmt.Fprintf(w, "  %s: NotStarted\n", a.ActionName)
							continue
						}
						fmt.Fprintf(w, "  %s: %s %s\n", a.ActionName, a.LatestExecution.Status, a.LatestExecution.Summary)
					}
				}
			})
		},
	}
	addOutputFlag(cmd, &format)
	return cmd
}
