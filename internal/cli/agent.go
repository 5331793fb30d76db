//go:build !sluiceclient

package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/deployagent"
	"github.com/sluice-ci/sluice/internal/startgc"
	"github.com/sluice-ci/sluice/internal/wire"
)

func newAgentCmd(g *globals) *cobra.Command {
	var group, root, id, tokenFile string
	var tags []string
	cmd := &cobra.Command{
		Use:   "agent --group NAME [--tag k=v]... [--root DIR]",
		Short: "Run a deployment agent on a target machine: it takes the CodeDeploy deployments of its group",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			startgc.Restore() // runs for days: the collector as usual
			if tokenFile != "" {
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return fmt.Errorf("--token-file: %w", err)
				}
				g.token = strings.TrimSpace(string(b))
			}
			if group == "" {
				return errors.New("--group: required: the agent group deployment groups target")
			}
			tagMap, err := parseTags(tags)
			if err != nil {
				return err
			}
			if root, err = filepath.Abs(root); err != nil {
				return err
			}
			if err := os.MkdirAll(root, 0o755); err != nil {
				return fmt.Errorf("--root: %w", err)
			}
			if id == "" {
				// Stable across restarts, distinct for each root on a machine.
				host, _ := os.Hostname()
				sum := sha256.Sum256([]byte(root))
				id = host + "-" + hex.EncodeToString(sum[:4])
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(g.errOut, nil))
			log.Info("sluice agent started", "server", g.server, "id", id, "group", group, "root", root)
			runAgent(cmd.Context(), c, log, id, wire.AgentClaim{Group: group, Tags: tagMap, WaitSeconds: 20}, &deployagent.Agent{Root: root})
			return nil
		},
	}
	cmd.Flags().StringVar(&group, "group", "", "the agent group this machine belongs to")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "a tag KEY=VALUE deployment groups may select on (repeatable)")
	cmd.Flags().StringVar(&root, "root", "/", "install root: an appspec destination /opt/app lands in ROOT/opt/app")
	cmd.Flags().StringVar(&id, "id", "", "agent id: the name of its token, whose ready-made policy agent speaks for that agent only (default: host name and a hash of --root)")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "read the token from this file")
	return cmd
}

// runAgent takes host deployments until ctx ends.
func runAgent(ctx context.Context, c *client.Client, log *slog.Logger, id string, claim wire.AgentClaim, a *deployagent.Agent) {
	backoff := time.Second
	for ctx.Err() == nil {
		task, err := c.ClaimHostDeployment(ctx, id, claim)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn("claim deployment", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
		if task == nil {
			continue
		}
		runHost(ctx, c, log, id, *task, a)
	}
}

// runHost runs one host deployment, renewing its lease meanwhile; a lease
// refused stops it.
func runHost(ctx context.Context, c *client.Client, log *slog.Logger, id string, t wire.HostTask, a *deployagent.Agent) {
	log.Info("deployment", "id", t.DeploymentID, "application", t.Application, "group", t.Group)
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		every := time.Duration(max(t.HeartbeatSeconds, 1) * float64(time.Second))
		for {
			select {
			case <-dctx.Done():
				return
			case <-time.After(every):
			}
			if err := c.HostResult(dctx, id, t.DeploymentID, wire.HostResult{Heartbeat: true}); client.IsCode(err, "Conflict") {
				log.Warn("deployment taken away: stopping", "id", t.DeploymentID, "err", err)
				cancel()
				return
			}
		}
	}()
	res := deployHost(dctx, c, id, t, a)
	if dctx.Err() != nil && ctx.Err() == nil {
		return // taken away: the server has decided already
	}
	var events []wire.HostEvent
	for _, e := range res.Events {
		events = append(events, wire.HostEvent{
			Event: e.Event, Status: e.Status, DurationMS: e.Duration.Milliseconds(), HookMS: e.HookTime.Milliseconds(),
			Message: e.Message, Log: e.Log,
		})
	}
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer rcancel()
	if err := c.HostResult(rctx, id, t.DeploymentID, wire.HostResult{Succeeded: res.Succeeded, Message: res.Message, Events: events}); err != nil {
		log.Warn("report deployment", "id", t.DeploymentID, "err", err)
	}
	log.Info("deployment done", "id", t.DeploymentID, "succeeded", res.Succeeded, "message", res.Message)
}

// deployHost fetches the revision, checks its checksum, and deploys it.
func deployHost(ctx context.Context, c *client.Client, id string, t wire.HostTask, a *deployagent.Agent) deployagent.Result {
	fail := func(err error) deployagent.Result {
		return deployagent.Result{Message: err.Error(), Events: []deployagent.EventResult{{Event: "DownloadBundle", Status: "Failed", Message: err.Error()}}}
	}
	dir := filepath.Join(a.Root, ".sluice-agent", "downloads")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(err)
	}
	f, err := os.CreateTemp(dir, "revision-*.zip")
	if err != nil {
		return fail(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	rc, err := c.HostRevision(ctx, id, t.DeploymentID)
	if err != nil {
		return fail(fmt.Errorf("download the revision: %w", err))
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), rc)
	rc.Close()
	if err != nil {
		return fail(fmt.Errorf("download the revision: %w", err))
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != t.SHA256 {
		return fail(fmt.Errorf("the revision's checksum is %s, not %s", got, t.SHA256))
	}
	return a.Deploy(ctx, deployagent.Deployment{ID: t.DeploymentID, Application: t.Application, Group: t.Group, GroupID: t.GroupID, Traffic: t.Traffic}, f.Name())
}
