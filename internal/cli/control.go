package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/wire"
)

func newStopCmd(g *globals) *cobra.Command {
	var req wire.StopRequest
	cmd := &cobra.Command{
		Use:   "stop NAME ID [--abandon] [--reason R]",
		Short: "Stop an execution, letting running actions finish or abandoning them",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.Stop(cmd.Context(), args[0], args[1], req); err != nil {
				return err
			}
			how := "stopping (running actions finish)"
			if req.Abandon {
				how = "stopped (running actions abandoned)"
			}
			fmt.Fprintf(g.out, "execution %s %s\n", args[1], how)
			return nil
		},
	}
	cmd.Flags().BoolVar(&req.Abandon, "abandon", false, "kill running actions instead of waiting for them")
	cmd.Flags().StringVar(&req.Reason, "reason", "", "why the execution is stopped")
	return cmd
}

func newRetryCmd(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "retry NAME ID STAGE [--all]",
		Short: "Re-run the failed actions (or all actions) of a failed stage in the same execution",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.Retry(cmd.Context(), args[0], args[1], wire.RetryRequest{Stage: args[2], All: all}); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "stage %s of execution %s retried\n", args[2], args[1])
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "re-run every action of the stage, not just the failed ones")
	return cmd
}

func newTransitionCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "transition", Short: "Enable or disable the transition into a stage"}
	var reason string
	disable := &cobra.Command{
		Use:   "disable NAME STAGE --reason R",
		Short: "Make executions wait before entering STAGE",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.SetTransition(cmd.Context(), args[0], args[1], wire.TransitionRequest{Enabled: false, Reason: reason}); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "transition into %s disabled\n", args[1])
			return nil
		},
	}
	disable.Flags().StringVar(&reason, "reason", "", "why (required)")
	enable := &cobra.Command{
		Use:   "enable NAME STAGE",
		Short: "Let executions enter STAGE again",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.SetTransition(cmd.Context(), args[0], args[1], wire.TransitionRequest{Enabled: true}); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "transition into %s enabled\n", args[1])
			return nil
		},
	}
	cmd.AddCommand(disable, enable)
	return cmd
}
