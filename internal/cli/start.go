package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/wire"
)

func newStartCmd(g *globals) *cobra.Command {
	var vars, revisions []string
	var wait bool
	cmd := &cobra.Command{
		Use:   "start NAME [--var K=V]... [--wait]",
		Short: "Start an execution of a pipeline",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := wire.StartRequest{Variables: map[string]string{}}
			for _, kv := range vars {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return fmt.Errorf("--var %q: want NAME=VALUE", kv)
				}
				req.Variables[k] = v
			}
			for _, kv := range revisions {
				action, commit, ok := strings.Cut(kv, "=")
				if !ok || action == "" || commit == "" {
					return fmt.Errorf("--source-revision %q: want ACTION=REVISION or ACTION=TYPE:VALUE", kv)
				}
				if typ, value, ok := typedRevision(commit); ok {
					req.SourceRevisionOverrides = append(req.SourceRevisionOverrides, wire.RevisionOverride{ActionName: action, RevisionType: typ, RevisionValue: value})
					continue
				}
				if req.SourceRevisions == nil {
					req.SourceRevisions = map[string]string{}
				}
				req.SourceRevisions[action] = commit
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			id, err := c.Start(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.out, id)
			if !wait {
				return nil
			}
			e, err := waitExecution(cmd.Context(), c, args[0], id, func(e *wire.Execution) {})
			if err != nil {
				return err
			}
			fmt.Fprintln(g.out, e.Status)
			if e.Status != "Succeeded" {
				msg := fmt.Errorf("execution %s ended %s", id, e.Status)
				if e.StatusSummary != "" {
					msg = fmt.Errorf("execution %s ended %s: %s", id, e.Status, e.StatusSummary)
				}
				return &ExitError{Code: 1, Err: msg}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&vars, "var", nil, "pipeline variable NAME=VALUE (repeatable)")
	cmd.Flags().StringArrayVar(&revisions, "source-revision", nil, "run source action ACTION at REVISION (ACTION=REVISION, or ACTION=TYPE:VALUE with TYPE COMMIT_ID, IMAGE_DIGEST, S3_OBJECT_VERSION_ID or S3_OBJECT_KEY; repeatable)")
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the execution and exit 0 only if it succeeds")
	return cmd
}

// typedRevision splits a --source-revision value that starts with one of
// CodePipeline's revision types and a colon (S3_OBJECT_KEY:releases/app.zip).
func typedRevision(s string) (typ, value string, ok bool) {
	typ, value, ok = strings.Cut(s, ":")
	switch typ {
	case "COMMIT_ID", "IMAGE_DIGEST", "S3_OBJECT_VERSION_ID", "S3_OBJECT_KEY":
		return typ, value, ok
	}
	return "", "", false
}

// waitExecution follows an execution with long polls until it ends, calling seen
// on every new state.
func waitExecution(ctx context.Context, c *client.Client, name, id string, seen func(*wire.Execution)) (*wire.Execution, error) {
	var since time.Time
	for {
		e, err := c.Execution(ctx, name, id, since, 30*time.Second)
		if err != nil {
			return nil, err
		}
		if e.LastUpdateTime.After(since) {
			seen(e)
			since = e.LastUpdateTime
		}
		if e.Terminal() {
			return e, nil
		}
	}
}
