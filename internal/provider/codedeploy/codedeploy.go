// Package codedeploy runs CodePipeline's CodeDeploy action against sluice's
// own agents: the input artifact is the revision; the server rolls it over
// the deployment group the configuration names (ApplicationName,
// DeploymentGroupName), and the action follows it to its end, logging each
// host's lifecycle events as they finish. With a Connection, it deploys
// with AWS CodeDeploy through that aws connection instead (aws.go).
package codedeploy

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/provider"
)

// Provider is the CodeDeploy action.
type Provider struct {
	// Poll is how often the deployment is looked at.
	Poll time.Duration
}

// Run implements provider.Provider.
func (p Provider) Run(ctx context.Context, job *provider.Job) (provider.Result, error) {
	if job.Configuration["ApplicationName"] == "" || job.Configuration["DeploymentGroupName"] == "" {
		return provider.Result{}, fmt.Errorf("configuration: ApplicationName and DeploymentGroupName are required")
	}
	if job.Configuration["Connection"] != "" {
		return p.runAWS(ctx, job)
	}
	if job.Deployments == nil {
		return provider.Result{}, fmt.Errorf("this worker cannot create deployments (it needs the server's job protocol)")
	}
	zip, err := p.zipRevision(ctx, job)
	if err != nil {
		return provider.Result{}, err
	}
	defer os.Remove(zip.Name())
	defer zip.Close()
	d, err := job.Deployments.Create(ctx, zip)
	if err != nil {
		return provider.Result{}, fmt.Errorf("create the deployment: %w", err)
	}
	fmt.Fprintf(job.Log, "deployment %s to %s/%s: %d hosts\n", d.ID, job.Configuration["ApplicationName"], job.Configuration["DeploymentGroupName"], len(d.Hosts))
	poll := p.Poll
	if poll <= 0 {
		poll = time.Second
	}
	logged := map[string]bool{}
	for {
		for _, h := range d.Hosts {
			if logged[h.Agent] || (h.Status != "Succeeded" && h.Status != "Failed") {
				continue
			}
			logged[h.Agent] = true
			fmt.Fprintf(job.Log, "%s: %s %s\n", h.Agent, h.Status, h.Message)
			for _, e := range h.Events {
				fmt.Fprintf(job.Log, "  %-18s %-9s %6dms %s\n", e.Event, e.Status, e.DurationMS, e.Message)
			}
		}
		if d.Status != "InProgress" {
			break
		}
		select {
		case <-ctx.Done():
			return provider.Result{}, ctx.Err()
		case <-time.After(poll):
		}
		if d, err = job.Deployments.Get(ctx, d.ID); err != nil {
			return provider.Result{}, fmt.Errorf("follow deployment: %w", err)
		}
	}
	out := map[string]string{"DeploymentId": d.ID}
	if d.Status != "Succeeded" {
		return provider.Result{}, fmt.Errorf("deployment %s %s: %s", d.ID, d.Status, d.Message)
	}
	return provider.Result{Summary: fmt.Sprintf("deployment %s: %s", d.ID, d.Message), OutputVariables: out}, nil
}

// zipRevision zips the input artifact (extracted in WorkDir) into a file
// the caller removes, read from its start.
func (p Provider) zipRevision(ctx context.Context, job *provider.Job) (*os.File, error) {
	// Not in ScratchDir, which may be memory: a revision can be large.
	zip, err := os.CreateTemp("", "sluice-revision-*.zip")
	if err != nil {
		return nil, err
	}
	if _, err := artifact.Zip(ctx, zip, job.WorkDir, []string{"**/*"}); err == nil {
		if _, err = zip.Seek(0, 0); err == nil {
			return zip, nil
		}
	} else {
		err = fmt.Errorf("zip the revision: %w", err)
	}
	zip.Close()
	os.Remove(zip.Name())
	return nil, err
}
