package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/wire"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

func newApproveCmd(g *globals) *cobra.Command { return newAnswerCmd(g, "approve", "Approved") }
func newRejectCmd(g *globals) *cobra.Command  { return newAnswerCmd(g, "reject", "Rejected") }

// newAnswerCmd answers a manual approval. It reads the approval's token from
// the execution, as the console does, so that nobody has to copy one.
func newAnswerCmd(g *globals, verb, status string) *cobra.Command {
	var comment, token string
	cmd := &cobra.Command{
		Use:   verb + " NAME ID STAGE ACTION [--comment C] [--approval-token T]",
		Short: fmt.Sprintf("%s a manual approval waiting in an execution (PutApprovalResult)", map[string]string{"approve": "Approve", "reject": "Reject"}[verb]),
		Args:  cobra.ExactArgs(4),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, id, stage, action := args[0], args[1], args[2], args[3]
			c, err := g.client()
			if err != nil {
				return err
			}
			if token == "" {
				e, err := c.Execution(cmd.Context(), name, id, time.Time{}, 0)
				if err != nil {
					return err
				}
				if token, err = approvalToken(e, stage, action); err != nil {
					return err
				}
			}
			req := wire.ApprovalResult{StageName: stage, ActionName: action, Token: token}
			req.Result.Status, req.Result.Summary = status, comment
			if err := c.PutApprovalResult(cmd.Context(), name, req); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "%s/%s of execution %s %s\n", stage, action, id, map[string]string{"Approved": "approved", "Rejected": "rejected"}[status])
			return nil
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "why (recorded with the answer)")
	// Not --token: that is the API token on every command, this one included.
	cmd.Flags().StringVar(&token, "approval-token", "", "the approval's token, PutApprovalResult's token (default: read from the execution)")
	return cmd
}

func approvalToken(e *wire.Execution, stage, action string) (string, error) {
	var hints yamlnode.Hints
	var stages []string
	for _, st := range e.Stages {
		stages = append(stages, st.Name)
	}
	for _, st := range e.Stages {
		if st.Name != stage {
			continue
		}
		for _, a := range st.Actions {
			if a.Name != action {
				continue
			}
			if a.Provider != pipeline.ProviderManual {
				return "", fmt.Errorf("action %s/%s is a %s action, not a manual approval", stage, action, a.Provider)
			}
			if a.Approval != nil {
				return "", fmt.Errorf("approval %s/%s of execution %s was already answered: %s by %s at %s",
					stage, action, e.PipelineExecutionID, a.Approval.Status, a.Approval.ApprovedBy, a.Approval.Time.Format(time.RFC3339))
			}
			if a.Token == "" {
				return "", fmt.Errorf("approval %s/%s of execution %s is not waiting (it is %s; the execution is %s)", stage, action, e.PipelineExecutionID, a.Status, e.Status)
			}
			return a.Token, nil
		}
		var actions []string
		for _, a := range st.Actions {
			actions = append(actions, a.Name)
		}
		return "", fmt.Errorf("action %q not found in stage %s of execution %s%s", action, stage, e.PipelineExecutionID, hints.DidYouMean(action, actions))
	}
	return "", fmt.Errorf("stage %q not found in pipeline %s%s", stage, e.PipelineName, hints.DidYouMean(stage, stages))
}

func newLocksCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "locks",
		Short: "List the locks pipelines share, who holds each and who waits",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			locks, err := c.Locks(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "LOCK\tHOLDER\tSINCE\tWAITING")
			for _, l := range locks {
				holder, since := "-", "-"
				if l.Holder != nil {
					holder = l.Holder.PipelineName + "/" + l.Holder.PipelineExecutionID
					since = l.Since.Format(time.RFC3339)
				}
				waiting := "-"
				for i, q := range l.Queue {
					if i == 0 {
						waiting = ""
					} else {
						waiting += ", "
					}
					waiting += q.PipelineName + "/" + q.PipelineExecutionID
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", l.Name, holder, since, waiting)
			}
			return tw.Flush()
		},
	}
}
