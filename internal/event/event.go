// Package event holds what sluice does with the events in its log besides
// reacting to them: EventBridge's rules (the use cases that keep them, and
// the runner that matches the log against them and fires scheduled ones),
// the deliveries table's sender (webhooks, mail, pipeline starts, function
// invocations) and approvals' notifications. The event log itself is in the
// store, written by the service; this package reaches the service through
// the small interface Service.
package event

import (
	"context"
	"log/slog"
	"time"

	"github.com/sluice-ci/sluice/internal/awsid"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/follow"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
)

// Service is what rules, deliveries and notifications need of sluice's
// service.
type Service interface {
	Store() store.Store
	Now() time.Time
	Logger() *slog.Logger
	Region() string
	// AWS is the account and region events and ARNs carry.
	AWS() awsid.ID
	// Link is an address of the web console, for notifications.
	Link(path string) string
	// ListenEvents wakes a follower of the event log when events are
	// written.
	ListenEvents() *follow.Listener
	// EventOf is a stored event as API clients and rules see it.
	EventOf(r store.Event) (service.Event, error)
	StartExecution(ctx context.Context, req service.StartRequest) (*engine.Execution, error)
	Function(ctx context.Context, name string) (service.FunctionInfo, error)
	SecretValue(ctx context.Context, name string) ([]byte, error)
	// JobRoleAllows checks that a job's role allows sluice:ACTION on
	// resource.
	JobRoleAllows(ctx context.Context, j engine.Job, action, resource string) error
	// For commit statuses: the pipeline's settings, the execution's
	// revisions, the git host connections.
	Pipeline(ctx context.Context, name string) (service.PipelineInfo, error)
	// Declaration is the pipeline's declaration and version, shared: never
	// changed by the caller.
	Declaration(ctx context.Context, name string) (*pipeline.Pipeline, int, error)
	Execution(ctx context.Context, name, id string) (*engine.Execution, error)
	Connections(ctx context.Context) ([]service.ConnectionInfo, error)
	Connection(ctx context.Context, name string) (service.ConnectionInfo, error)
}

var _ Service = (*service.Service)(nil)

// Config tunes a Runner; zero values take the defaults.
type Config struct {
	// Deliveries configures how notifications are sent.
	Deliveries DeliveryConfig
	// Functions runs function targets; without it they fail for good.
	Functions FunctionInvoker
}
