package worker

import (
	"context"
	"io"

	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/wire"
)

// jobDeploymentAPI is what a CodeDeploy job's deployments need of the
// server, asked of the API when it has it.
type jobDeploymentAPI interface {
	CreateJobDeployment(ctx context.Context, jobID, worker string, revision io.Reader) (wire.Deployment, error)
	JobDeployment(ctx context.Context, jobID, worker, id string) (wire.Deployment, error)
}

// jobDeployments is a CodeDeploy job's provider.Deployments.
type jobDeployments struct {
	api         jobDeploymentAPI
	job, worker string
}

func (d jobDeployments) Create(ctx context.Context, revision io.Reader) (provider.Deployment, error) {
	w, err := d.api.CreateJobDeployment(ctx, d.job, d.worker, revision)
	return deploymentOf(w), err
}

func (d jobDeployments) Get(ctx context.Context, id string) (provider.Deployment, error) {
	w, err := d.api.JobDeployment(ctx, d.job, d.worker, id)
	return deploymentOf(w), err
}

func deploymentOf(w wire.Deployment) provider.Deployment {
	out := provider.Deployment{ID: w.ID, Status: w.Status, Message: w.Message, RolledBack: w.RolledBack}
	for _, h := range w.Hosts {
		ph := provider.DeploymentHost{Agent: h.Agent, Status: h.Status, Message: h.Message}
		for _, e := range h.Events {
			ph.Events = append(ph.Events, provider.DeploymentEvent{Event: e.Event, Status: e.Status, Message: e.Message, Log: e.Log, DurationMS: e.DurationMS})
		}
		out.Hosts = append(out.Hosts, ph)
	}
	return out
}
