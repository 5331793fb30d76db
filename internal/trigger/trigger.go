// Package trigger starts pipelines from outside events the service does not
// see by itself: CodePipeline's webhooks (their definitions and deliveries),
// polls of remote branches and EventBridge schedules. Each becomes a
// service.StartRequest with a trigger, pinned source revisions and an
// idempotency key, and leaves a service.TriggerNote on the pipeline saying
// what it did, or why it started nothing. Pushes to hosted repositories
// stay in the service: they are part of its own start path (recorded as
// events, replayed from the push spool).
package trigger

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
)

// Service is what triggers need of sluice's service.
type Service interface {
	Store() store.Store
	Now() time.Time
	Logger() *slog.Logger
	Pipeline(ctx context.Context, name string) (service.PipelineInfo, error)
	Pipelines(ctx context.Context) ([]service.PipelineInfo, error)
	StartExecution(ctx context.Context, req service.StartRequest) (*engine.Execution, error)
	NoteIgnored(ctx context.Context, pipeline string, note service.TriggerNote) error
	PutSecret(ctx context.Context, name string, value []byte) error
	SecretValue(ctx context.Context, name string) ([]byte, error)
	Connection(ctx context.Context, name string) (service.ConnectionInfo, error)
	Executions(ctx context.Context, name string, before int64, limit int) ([]*engine.Execution, error)
	StopExecution(ctx context.Context, name, id string, abandon bool, reason string) error
	ActionConnectionName(ctx context.Context, pipeline, stage string, a pipeline.Action) (string, error)
	RecordAWSEvent(ctx context.Context, principal string, e service.PutEvent) (string, error)
}

var _ Service = (*service.Service)(nil)

// start runs a trigger's start, treating a replayed key as done.
func start(ctx context.Context, svc Service, req service.StartRequest) error {
	_, err := svc.StartExecution(ctx, req)
	if errors.Is(err, service.ErrAlreadyStarted) {
		return nil
	}
	return err
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
