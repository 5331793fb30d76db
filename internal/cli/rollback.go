package cli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/wire"
)

func newRollbackCmd(g *globals) *cobra.Command {
	var to, format string
	cmd := &cobra.Command{
		Use:   "rollback NAME STAGE [--to EXECUTION_ID]",
		Short: "Run STAGE again with what an earlier execution that succeeded through it used (RollbackStage)",
		Long: `Start a rollback execution: STAGE runs again with the source revisions, variables and
artifacts of the newest execution that succeeded through it, or of the one --to names.
It is refused when no earlier execution succeeded through STAGE, or the pipeline's
stages or the actions up to STAGE changed since.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			id, err := c.Rollback(cmd.Context(), args[0], wire.RollbackRequest{StageName: args[1], TargetPipelineExecutionID: to})
			if err != nil {
				return err
			}
			return output(g.out, format, wire.StartResult{PipelineExecutionID: id}, func(w io.Writer) {
				fmt.Fprintln(w, id)
			})
		},
	}
	addOutputFlag(cmd, &format)
	cmd.Flags().StringVar(&to, "to", "", "the execution to roll back to (default: the newest that succeeded through STAGE)")
	return cmd
}

func newStageCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "stage", Short: "Act on a stage of an execution"}
	override := &cobra.Command{
		Use:   "override-condition NAME ID STAGE beforeEntry|onSuccess",
		Short: "End the evaluation of a stage's condition as if it were met (OverrideStageCondition)",
		Args:  cobra.ExactArgs(4),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			kind := map[string]string{"beforeEntry": "BEFORE_ENTRY", "onSuccess": "ON_SUCCESS"}[args[3]]
			if kind == "" {
				kind = args[3] // BEFORE_ENTRY, ON_SUCCESS, or a mistake the server names
			}
			err = c.OverrideCondition(cmd.Context(), args[0], args[1], wire.OverrideConditionRequest{StageName: args[2], ConditionType: kind})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "%s condition of stage %s overridden in execution %s\n", args[3], args[2], args[1])
			return nil
		},
	}
	var execution, format string
	rules := &cobra.Command{
		Use:   "rules NAME [--execution ID]",
		Short: "List the evaluations of the stage conditions' rules (ListRuleExecutions)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			list, err := c.RuleExecutions(cmd.Context(), args[0], execution)
			if err != nil {
				return err
			}
			return output(g.out, format, list, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "EXECUTION\tSTAGE\tCONDITION\tRULE\tTYPE\tSTATUS\tSUMMARY")
				for _, r := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.PipelineExecutionID, r.StageName, r.ConditionType,
						r.RuleName, r.RuleTypeID.Provider, r.Status, firstLine(r.Summary))
				}
				tw.Flush()
			})
		},
	}
	rules.Flags().StringVar(&execution, "execution", "", "only this execution's rules")
	addOutputFlag(rules, &format)
	cmd.AddCommand(override, rules)
	return cmd
}
