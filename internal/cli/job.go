package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/wire"
)

// newJobCmd is how a function answers for its job, as a Lambda function calls
// PutJobSuccessResult and PutJobFailureResult. A command function finds what
// it needs in its environment: SLUICE_SERVER, SLUICE_JOB_TOKEN (a token good
// for that one job) and SLUICE_JOB_ID.
func newJobCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "job",
		Short: "Answer for a function's job: success (or a continuation) or failure",
		Long: "Answer for a function's job, as a Lambda function calls PutJobSuccessResult or PutJobFailureResult.\n" +
			"The server and token come from SLUICE_SERVER and SLUICE_JOB_TOKEN, which a command function is given;\n" +
			"otherwise from --server and --token (or SLUICE_TOKEN) as for every command. JOB_ID defaults to SLUICE_JOB_ID.",
	}
	jobClient := func(cmd *cobra.Command, args []string) (*client.Client, string, error) {
		id := os.Getenv("SLUICE_JOB_ID")
		if len(args) > 0 {
			id = args[0]
		}
		if id == "" {
			return nil, "", errors.New("no job id: give JOB_ID (a command function finds it in SLUICE_JOB_ID)")
		}
		token := g.token
		if t := os.Getenv("SLUICE_JOB_TOKEN"); t != "" && !cmd.Flags().Changed("token") {
			token = t
		}
		if token == "" {
			return nil, "", errors.New("no token: set SLUICE_JOB_TOKEN (a command function is given it; a URL function gets it in the X-Sluice-Job-Token header) or pass --token")
		}
		c, err := g.clientWith(token)
		return c, id, err
	}

	var continuation, summary string
	var vars []string
	success := &cobra.Command{
		Use:   "success [JOB_ID] [--continuation-token T] [--output-variable K=V]... [--summary S]",
		Short: "Report that a function's job succeeded, or, with a continuation token, that it is to be invoked again",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res := wire.JobSuccess{ContinuationToken: continuation, Summary: summary}
			for _, kv := range vars {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return fmt.Errorf("--output-variable %q: want NAME=VALUE", kv)
				}
				if res.OutputVariables == nil {
					res.OutputVariables = map[string]string{}
				}
				res.OutputVariables[k] = v
			}
			c, id, err := jobClient(cmd, args)
			if err != nil {
				return err
			}
			if err := c.PutJobSuccessResult(cmd.Context(), id, res); err != nil {
				return err
			}
			if continuation != "" {
				fmt.Fprintf(g.out, "job %s continues: the function will be invoked again\n", id)
			} else {
				fmt.Fprintf(g.out, "job %s succeeded\n", id)
			}
			return nil
		},
	}
	success.Flags().StringVar(&continuation, "continuation-token", "", "not done yet: invoke the function again with this token in its event's continuationToken")
	success.Flags().StringArrayVar(&vars, "output-variable", nil, "output variable NAME=VALUE, read as #{NAMESPACE.NAME} (repeatable)")
	success.Flags().StringVar(&summary, "summary", "", "summary shown with the action")

	var message string
	failure := &cobra.Command{
		Use:   "failure [JOB_ID] --message M",
		Short: "Report that a function's job failed",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if message == "" {
				return errors.New("--message: say why the job failed")
			}
			c, id, err := jobClient(cmd, args)
			if err != nil {
				return err
			}
			if err := c.PutJobFailureResult(cmd.Context(), id, wire.JobFailure{Message: message}); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "job %s failed: %s\n", id, message)
			return nil
		},
	}
	failure.Flags().StringVarP(&message, "message", "m", "", "why the job failed (shown as the action's summary)")
	cmd.AddCommand(success, failure)
	return cmd
}
