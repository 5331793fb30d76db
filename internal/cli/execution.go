package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/wire"
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
	var statusFormat string
	statuses := &cobra.Command{
		Use:   "statuses NAME ID",
		Short: "List the commit statuses an execution set on its git host, and how sending each went",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			list, err := c.CommitStatuses(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return output(g.out, statusFormat, list, func(w io.Writer) {
				if len(list) == 0 {
					fmt.Fprintf(w, "execution %s set no commit statuses\n", args[1])
					return
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "STATE\tCONTEXT\tREPOSITORY\tCOMMIT\tDELIVERY\tATTEMPTS\tLAST ERROR")
				for _, s := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", s.State, s.Context, s.Repository, shortID(s.Commit), s.Delivery, s.Attempts, firstLine(s.LastError))
				}
				tw.Flush()
			})
		},
	}
	addOutputFlag(statuses, &statusFormat)
	cmd.AddCommand(statuses)
	return cmd
}

func printExecution(w io.Writer, e *wire.Execution) {
	fmt.Fprintf(w, "execution %s of %s (version %d): %s\n", e.PipelineExecutionID, e.PipelineName, e.PipelineVersion, statusText(e.Status, e.Waiting))
	if e.StatusSummary != "" {
		fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(strings.TrimSpace(e.StatusSummary), "\n", "\n  "))
	}
	if e.WaitingFor != "" {
		fmt.Fprintf(w, "  waiting: %s\n", e.WaitingFor)
	}
	fmt.Fprintf(w, "  trigger: %s %s\n", e.Trigger.TriggerType, e.Trigger.TriggerDetail)
	if e.RollbackMetadata != nil {
		fmt.Fprintf(w, "  %s: rolls back to execution %s\n", e.ExecutionType, e.RollbackMetadata.RollbackTargetPipelineExecutionID)
	}
	for _, r := range e.SourceRevisions {
		fmt.Fprintf(w, "  source %s: %s %s\n", r.ActionName, r.RevisionID, r.RevisionSummary)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tACTION\tSTATUS\tATTEMPT\tSUMMARY")
	for _, st := range e.Stages {
		fmt.Fprintf(tw, "%s\t\t%s\t%d\t\n", st.Name, st.Status, st.Attempt)
		printCondition(tw, "beforeEntry", st.BeforeEntryConditionState)
		for _, a := range st.Actions {
			fmt.Fprintf(tw, "\t%s\t%s\t%d\t%s\n", a.Name, a.Status, a.Attempt, firstLine(a.Summary))
		}
		printCondition(tw, "onSuccess", st.OnSuccessConditionState)
		printCondition(tw, "onFailure", st.OnFailureConditionState)
	}
	tw.Flush()
}

// printCondition writes a condition's evaluation and its rules' results
// as rows of the execution's table.
func printCondition(tw io.Writer, kind string, c *wire.ConditionState) {
	if c == nil {
		return
	}
	summary := c.Summary
	if c.Result != "" {
		summary = c.Result + ": " + summary
	}
	fmt.Fprintf(tw, "\t[%s]\t%s\t%d\t%s\n", kind, c.Status, c.StageAttempt, firstLine(summary))
	for _, r := range c.RuleExecutions {
		fmt.Fprintf(tw, "\t  rule %s (%s)\t%s\t%d\t%s\n", r.Name, r.Provider, r.Status, r.Attempt, firstLine(r.Summary))
	}
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
				now := time.Now()
				for _, e := range es {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.PipelineExecutionID, statusText(e.Status, e.Waiting), e.Trigger.TriggerType,
						e.StartTime.Local().Format(time.DateTime), duration(e.Status, e.StartTime, e.LastUpdateTime, now))
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
					for i, c := range []*wire.ConditionState{s.BeforeEntryConditionState, s.OnSuccessConditionState, s.OnFailureConditionState} {
						if c != nil {
							fmt.Fprintf(w, "  %s condition: %s %s\n", []string{"beforeEntry", "onSuccess", "onFailure"}[i], c.Status, firstLine(c.Summary))
						}
					}
					for _, a := range s.ActionStates {
						if a.LatestExecution == nil {
							fmt.Fprintf(w, "  %s: NotStarted\n", a.ActionName)
							continue
						}
						fmt.Fprintf(w, "  %s: %s %s\n", a.ActionName, a.LatestExecution.Status, firstLine(a.LatestExecution.Summary))
					}
				}
			})
		},
	}
	addOutputFlag(cmd, &format)
	return cmd
}

// statusText is an execution's status as lists show it: with what it waits
// for, when it waits, since "InProgress" alone does not say whether it works.
func statusText(status string, w *wire.Waiting) string {
	if w == nil || w.Label == "" {
		return status
	}
	return status + " (" + w.Label + ")"
}

// duration is how long an execution took, or for one still running how long
// it has been running: its last update says nothing of its end.
func duration(status string, start, lastUpdate, now time.Time) string {
	if status == "InProgress" || status == "Stopping" {
		return "running " + now.Sub(start).Round(time.Second).String()
	}
	return lastUpdate.Sub(start).Round(time.Millisecond).String()
}

// firstLine is the first line of a summary for a table's cell, with "…" when
// lines were left out (-o json and -o yaml keep them all): a summary's second
// line would break the table.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return strings.TrimSpace(s[:i]) + " …"
	}
	return s
}

// shortID is a commit id's first 12 characters.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
