package storetest

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

// Alternating is one store made of several handles on the same database, as
// several sluice replicas hold: each call goes to the next handle in turn, so
// that what one handle writes another reads, locks one takes another waits
// for, and sequences one allocates another continues. Running the suite
// through it checks that a store keeps no state of its own that another
// replica would not see.
func Alternating(handles ...store.Store) store.Store {
	return &alternating{handles: handles}
}

type alternating struct {
	handles []store.Store
	next    atomic.Uint64
}

func (a *alternating) pick() store.Store {
	return a.handles[(a.next.Add(1)-1)%uint64(len(a.handles))]
}

func (a *alternating) Update(ctx context.Context, pipeline string, fn func(tx store.Tx) error) error {
	return a.pick().Update(ctx, pipeline, fn)
}

func (a *alternating) UpdateGlobal(ctx context.Context, fn func(tx store.Tx) error) error {
	return a.pick().UpdateGlobal(ctx, fn)
}

func (a *alternating) Pipelines(ctx context.Context) ([]store.Pipeline, error) {
	return a.pick().Pipelines(ctx)
}

func (a *alternating) PipelinePage(ctx context.Context, after string, limit int) ([]store.Pipeline, error) {
	return a.pick().PipelinePage(ctx, after, limit)
}

func (a *alternating) Pipeline(ctx context.Context, name string) (store.Pipeline, error) {
	return a.pick().Pipeline(ctx, name)
}

func (a *alternating) PipelineVersion(ctx context.Context, name string, version int) (store.PipelineVersion, error) {
	return a.pick().PipelineVersion(ctx, name, version)
}

func (a *alternating) Execution(ctx context.Context, id string) (store.Execution, error) {
	return a.pick().Execution(ctx, id)
}

func (a *alternating) Executions(ctx context.Context, pipeline string, before int64, limit int) ([]store.Execution, error) {
	return a.pick().Executions(ctx, pipeline, before, limit)
}

func (a *alternating) LatestExecutions(ctx context.Context, pipelines []string) ([]store.Execution, error) {
	return a.pick().LatestExecutions(ctx, pipelines)
}

func (a *alternating) Job(ctx context.Context, id string) (store.Job, error) {
	return a.pick().Job(ctx, id)
}

func (a *alternating) ClaimJob(ctx context.Context, c store.ClaimJobParams) (store.Job, error) {
	return a.pick().ClaimJob(ctx, c)
}

func (a *alternating) Heartbeat(ctx context.Context, id, worker string, leaseUntil time.Time) (store.Job, error) {
	return a.pick().Heartbeat(ctx, id, worker, leaseUntil)
}

func (a *alternating) ExpiredJobs(ctx context.Context, now time.Time, limit int) ([]store.Job, error) {
	return a.pick().ExpiredJobs(ctx, now, limit)
}

func (a *alternating) JobsOfAction(ctx context.Context, executionID, stage, action string) ([]store.Job, error) {
	return a.pick().JobsOfAction(ctx, executionID, stage, action)
}

func (a *alternating) AppendLog(ctx context.Context, jobID string, data []byte) error {
	return a.pick().AppendLog(ctx, jobID, data)
}

func (a *alternating) Log(ctx context.Context, jobID string, offset int64) ([]byte, error) {
	return a.pick().Log(ctx, jobID, offset)
}

func (a *alternating) Events(ctx context.Context, filter store.EventFilter) ([]store.Event, error) {
	return a.pick().Events(ctx, filter)
}

func (a *alternating) PruneEvents(ctx context.Context, before time.Time, limit int) (int64, error) {
	return a.pick().PruneEvents(ctx, before, limit)
}

func (a *alternating) Token(ctx context.Context, hash string) (store.Token, error) {
	return a.pick().Token(ctx, hash)
}

func (a *alternating) PutToken(ctx context.Context, t store.Token) error {
	return a.pick().PutToken(ctx, t)
}

func (a *alternating) Tokens(ctx context.Context) ([]store.Token, error) {
	return a.pick().Tokens(ctx)
}

func (a *alternating) PutConsoleSession(ctx context.Context, cs store.ConsoleSession) error {
	return a.pick().PutConsoleSession(ctx, cs)
}

func (a *alternating) ConsoleSession(ctx context.Context, idHash string) (store.ConsoleSession, error) {
	return a.pick().ConsoleSession(ctx, idHash)
}

func (a *alternating) DeleteConsoleSession(ctx context.Context, idHash string) error {
	return a.pick().DeleteConsoleSession(ctx, idHash)
}

func (a *alternating) PruneConsoleSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int, error) {
	return a.pick().PruneConsoleSessions(ctx, idleBefore, createdBefore)
}

func (a *alternating) PutReport(ctx context.Context, r store.Report) error {
	return a.pick().PutReport(ctx, r)
}

func (a *alternating) Reports(ctx context.Context, executionID string) ([]store.Report, error) {
	return a.pick().Reports(ctx, executionID)
}

func (a *alternating) DeleteToken(ctx context.Context, name string) error {
	return a.pick().DeleteToken(ctx, name)
}

func (a *alternating) TriggerState(ctx context.Context, key string) (string, error) {
	return a.pick().TriggerState(ctx, key)
}

func (a *alternating) Definition(ctx context.Context, kind store.Kind, name string) (store.Definition, error) {
	return a.pick().Definition(ctx, kind, name)
}

func (a *alternating) Definitions(ctx context.Context, kind store.Kind) ([]store.Definition, error) {
	return a.pick().Definitions(ctx, kind)
}

func (a *alternating) PutDefinition(ctx context.Context, d store.Definition) error {
	return a.pick().PutDefinition(ctx, d)
}

func (a *alternating) DeleteDefinition(ctx context.Context, kind store.Kind, name string) error {
	return a.pick().DeleteDefinition(ctx, kind, name)
}

func (a *alternating) NextBuildNumber(ctx context.Context, project string) (int64, error) {
	return a.pick().NextBuildNumber(ctx, project)
}

func (a *alternating) QueuedJobs(ctx context.Context, providers []string) ([]store.Job, error) {
	return a.pick().QueuedJobs(ctx, providers)
}

func (a *alternating) Locks(ctx context.Context) ([]store.Lock, error) {
	return a.pick().Locks(ctx)
}

func (a *alternating) Cursor(ctx context.Context, name string) (int64, error) {
	return a.pick().Cursor(ctx, name)
}

func (a *alternating) SetCursor(ctx context.Context, name string, seq int64, now time.Time) error {
	return a.pick().SetCursor(ctx, name, seq, now)
}

func (a *alternating) InsertDelivery(ctx context.Context, d store.Delivery) error {
	return a.pick().InsertDelivery(ctx, d)
}

func (a *alternating) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]store.Delivery, error) {
	return a.pick().DueDeliveries(ctx, now, limit)
}

func (a *alternating) UpdateDelivery(ctx context.Context, d store.Delivery) error {
	return a.pick().UpdateDelivery(ctx, d)
}

func (a *alternating) Deliveries(ctx context.Context, source string, limit int) ([]store.Delivery, error) {
	return a.pick().Deliveries(ctx, source, limit)
}

func (a *alternating) DeliveriesIn(ctx context.Context, source, status string, limit int) ([]store.Delivery, error) {
	return a.pick().DeliveriesIn(ctx, source, status, limit)
}

func (a *alternating) PruneDeliveries(ctx context.Context, before time.Time, limit int) (int64, error) {
	return a.pick().PruneDeliveries(ctx, before, limit)
}

// Close closes every handle.
func (a *alternating) Close() error {
	var errs []error
	for _, h := range a.handles {
		errs = append(errs, h.Close())
	}
	return errors.Join(errs...)
}
