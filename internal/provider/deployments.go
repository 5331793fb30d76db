package provider

import (
	"context"
	"io"
)

// Deployments creates and follows the deployment a CodeDeploy action makes
// to the deployment group its configuration names; the server takes the
// application and group from the job, not from the caller.
type Deployments interface {
	Create(ctx context.Context, revision io.Reader) (Deployment, error)
	Get(ctx context.Context, id string) (Deployment, error)
}

// Deployment is a deployment's state as the action follows it.
type Deployment struct {
	ID         string
	Status     string // InProgress, Succeeded, Failed
	Message    string
	RolledBack string // the rollback deployment's id, when one was started
	Hosts      []DeploymentHost
}

// DeploymentHost is the deployment on one agent.
type DeploymentHost struct {
	Agent   string
	Status  string
	Message string
	Events  []DeploymentEvent
}

// DeploymentEvent is one lifecycle event on a host.
type DeploymentEvent struct {
	Event, Status, Message, Log string
	DurationMS                  int64
}
