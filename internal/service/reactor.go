package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/follow"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/store"
)

// The reactor follows the event log and makes pipelines react to one another:
// an execution ending re-evaluates the gates waiting on its pipeline, starts
// the pipelines it triggers and answers the action that invoked it; a lock
// released lets its next waiter in; a gate, approval, invoke or self-update
// action starting is taken in hand. It reads the log from a cursor kept in the
// store, so after a crash it resumes where it was, and every reaction is
// idempotent (starts carry idempotency keys, answers check that the job still
// waits), so reading an event twice does no harm.

const reactorCursor = "reactor"

// The providers the server runs itself, never a worker: pipeline's table
// marks them Held.
const (
	providerGate   = pipeline.ProviderPipelineGate
	providerManual = pipeline.ProviderManual
	providerInvoke = pipeline.ProviderPipeline
	providerUpdate = pipeline.ProviderPipelineUpdate
)

var heldProviders = pipeline.HeldProviders()

// IsHeldProvider reports whether the server runs actions of provider p itself.
func IsHeldProvider(p string) bool { return pipeline.IsHeld(p) }

// reactorBackstop is how often every held action is looked at again, in case
// another replica's change was missed; the event log is the fast path.
const reactorBackstop = 30 * time.Second

// RunReactor reacts to events until ctx ends.
func (s *Service) RunReactor(ctx context.Context) {
	s.reviewHeld(ctx)
	s.reactor.Run(ctx, func() <-chan struct{} { return s.reactorWake.Wait(reactorWakeKinds) }, reactorBackstop, s.reviewHeld)
}

// heldStarted is what a decision tells the event log's followers it wrote
// besides the kinds of its events when a held action started: the reactor
// reads every action's events, but only that one needs it at once.
const heldStarted = "sluice held action started"

// reactorWakeKinds are the kinds of event that wake the reactor.
var reactorWakeKinds = []string{engine.PipelineEvent, heldStarted, engine.LockEvent, engine.ConditionEvent}

// loggedKinds are the kinds of events a decision wrote, for the followers
// it wakes (follow.Signal).
func loggedKinds(evs []engine.Event) []string {
	var kinds []string
	for _, ev := range evs {
		if !slices.Contains(kinds, ev.DetailType) {
			kinds = append(kinds, ev.DetailType)
		}
		if ev.DetailType == engine.ActionEvent && ev.State == "STARTED" && ev.ActionType != nil && IsHeldProvider(ev.ActionType.Provider) &&
			!slices.Contains(kinds, heldStarted) {
			kinds = append(kinds, heldStarted)
		}
	}
	return kinds
}

func (s *Service) reviewHeld(ctx context.Context) {
	if err := s.ReviewHeld(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("review held actions", "err", err)
	}
}

// reactorKinds are the kinds of events the reactor acts on; it passes over
// the others (stages', approvals', pushes') unread.
var reactorKinds = []string{engine.PipelineEvent, engine.ActionEvent, engine.LockEvent, engine.ConditionEvent}

// newReactor is the reactor's follower of the event log.
func (s *Service) newReactor() *follow.Follower {
	return &follow.Follower{Log: s.store, Cursor: reactorCursor, Batch: 200, Now: s.now, Logger: s.log,
		What: "react to events", Handle: s.react,
		Kinds: func(context.Context) ([]string, error) { return reactorKinds, nil }}
}

// ReactOnce reacts to the events written since the last call and reports how
// many it read. An event whose reaction fails is tried again by the next call,
// up to three times, then skipped with an error in the log; the backstop
// review still catches held actions it concerned.
func (s *Service) ReactOnce(ctx context.Context) (int, error) { return s.reactor.Once(ctx) }

func (s *Service) react(ctx context.Context, r store.Event) error {
	switch r.Type {
	case engine.PipelineEvent, engine.ActionEvent, engine.LockEvent, engine.ConditionEvent:
	default:
		return nil
	}
	if r.Type == engine.ActionEvent {
		// Most action events are of workers' jobs: what says so is decoded
		// first, and the whole event only for a held action starting.
		var probe struct {
			State string     `json:"state"`
			Type  *EventType `json:"type"`
		}
		if err := json.Unmarshal(r.Document, &probe); err != nil {
			return fmt.Errorf("decode event: %w", err)
		}
		if probe.State != "STARTED" || probe.Type == nil || !IsHeldProvider(probe.Type.Provider) {
			return nil
		}
	}
	var d EventDetail
	if err := json.Unmarshal(r.Document, &d); err != nil {
		return fmt.Errorf("decode event: %w", err)
	}
	switch r.Type {
	case engine.PipelineEvent:
		var errs []error
		errs = append(errs, s.evaluateGates(ctx, d.Pipeline))
		if terminalState(d.State) {
			errs = append(errs, s.fireTriggers(ctx, d), s.answerParent(ctx, d.ExecutionID))
		}
		return errors.Join(errs...)
	case engine.ActionEvent:
		if d.State != "STARTED" || d.Type == nil || d.JobID == "" || !IsHeldProvider(d.Type.Provider) {
			return nil
		}
		j, err := s.store.Job(ctx, d.JobID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return s.takeHeld(ctx, j)
	case engine.LockEvent:
		if d.State == "RELEASED" {
			return s.wakeLockWaiters(ctx, d.Lock)
		}
	case engine.ConditionEvent:
		if d.State == "ROLLBACK" {
			return s.rollbackFor(ctx, d)
		}
	}
	return nil
}

func terminalState(state string) bool {
	switch state {
	case "SUCCEEDED", "FAILED", "STOPPED", "SUPERSEDED":
		return true
	}
	return false
}

// ReviewHeld looks at every held action again: gates are re-evaluated, and
// invokes and self-updates that were never taken in hand (a crash between
// their start and the reactor) are.
func (s *Service) ReviewHeld(ctx context.Context) error {
	jobs, err := s.store.QueuedJobs(ctx, heldProviders)
	if err != nil {
		return err
	}
	var errs []error
	for _, j := range jobs {
		errs = append(errs, s.takeHeld(ctx, j))
	}
	locks, err := s.store.Locks(ctx)
	if err != nil {
		return err
	}
	for _, l := range locks {
		errs = append(errs, s.wakeLockWaiters(ctx, l.Name))
	}
	return errors.Join(errs...)
}

// takeHeld starts the server's part of a held action.
func (s *Service) takeHeld(ctx context.Context, row store.Job) error {
	if row.Status != store.JobQueued {
		return nil
	}
	var j engine.Job
	if err := json.Unmarshal(row.Payload, &j); err != nil {
		return fmt.Errorf("decode job %s: %w", row.ID, err)
	}
	switch row.Provider {
	case providerGate:
		return s.evaluateGate(ctx, row, j)
	case providerManual:
		return s.notifyApproval(ctx, row, j)
	case providerInvoke:
		return s.invoke(ctx, row, j)
	case providerUpdate:
		return s.selfUpdate(ctx, row, j)
	}
	return nil
}

// answerHeld ends a held job and tells the engine, in one transaction, if the
// job still waits.
func (s *Service) answerHeld(ctx context.Context, row store.Job, status store.JobStatus, h engine.Happening, msg string) error {
	err := s.decide(ctx, row.Pipeline, row.ExecutionID, func(tx store.Tx, st *engine.State) (engine.Happening, error) {
		cur, err := tx.Job(ctx, row.ID)
		if err != nil {
			return nil, err
		}
		if cur.Status != store.JobQueued {
			return engine.Reconcile{}, nil // answered meanwhile
		}
		if err := tx.FinishJob(ctx, store.FinishJobParams{ID: row.ID, Status: status, Message: msg, Now: s.now()}); err != nil {
			return nil, err
		}
		return h, nil
	})
	if errors.Is(err, engine.ErrUnknownJob) || errors.Is(err, store.ErrNotFound) {
		return nil // the action ended some other way, or its pipeline is gone
	}
	return err
}

// progressHeld changes what a held action says while it waits.
func (s *Service) progressHeld(ctx context.Context, row store.Job, summary, external string) error {
	err := s.decide(ctx, row.Pipeline, row.ExecutionID, func(tx store.Tx, st *engine.State) (engine.Happening, error) {
		return engine.ActionProgress{JobID: row.ID, Summary: summary, ExternalID: external}, nil
	})
	if errors.Is(err, engine.ErrUnknownJob) || errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// ---- gates ----

// evaluateGates re-evaluates every gate waiting on pipeline upstream.
func (s *Service) evaluateGates(ctx context.Context, upstream string) error {
	jobs, err := s.store.QueuedJobs(ctx, []string{providerGate})
	if err != nil {
		return err
	}
	var errs []error
	for _, row := range jobs {
		var j engine.Job
		if err := json.Unmarshal(row.Payload, &j); err != nil {
			errs = append(errs, fmt.Errorf("decode job %s: %w", row.ID, err))
			continue
		}
		if j.Configuration[pipeline.ConfigPipelineName] == upstream {
			errs = append(errs, s.evaluateGate(ctx, row, j))
		}
	}
	return errors.Join(errs...)
}

type gateVerdict int

const (
	gateWait gateVerdict = iota
	gatePass
	gateFail
)

// evaluateGate decides a gate from its upstream pipeline's executions now.
func (s *Service) evaluateGate(ctx context.Context, row store.Job, j engine.Job) error {
	upstream := j.Configuration[pipeline.ConfigPipelineName]
	cond := orDefault(j.Configuration["Condition"], pipeline.DefaultGateCondition)
	onFailure := orDefault(j.Configuration["OnUpstreamFailure"], pipeline.UpstreamFailureWait)
	verdict, summary, external, err := s.gateVerdict(ctx, upstream, cond, onFailure)
	if err != nil {
		return err
	}
	switch verdict {
	case gatePass:
		return s.answerHeld(ctx, row, store.JobSucceeded, engine.JobSucceeded{JobID: row.ID, Summary: summary}, summary)
	case gateFail:
		return s.answerHeld(ctx, row, store.JobFailed, engine.JobFailed{JobID: row.ID, Message: summary}, summary)
	}
	return s.progressHeld(ctx, row, summary, external)
}

func (s *Service) gateVerdict(ctx context.Context, upstream, cond, onFailure string) (gateVerdict, string, string, error) {
	if _, err := s.store.Pipeline(ctx, upstream); errors.Is(err, store.ErrNotFound) {
		return gateFail, fmt.Sprintf("gate: pipeline %s does not exist", upstream), "", nil
	} else if err != nil {
		return gateWait, "", "", err
	}
	rows, err := s.store.Executions(ctx, upstream, 0, 100)
	if err != nil {
		return gateWait, "", "", err
	}
	var latest *store.Execution
	for i := range rows { // newest first
		r := &rows[i]
		if r.Active {
			return gateWait, fmt.Sprintf("waiting for %s execution %s (%s)", upstream, r.ID, r.Status), r.ID, nil
		}
		if latest == nil && r.Status != string(engine.ExecutionSuperseded) {
			latest = r
		}
	}
	if cond == pipeline.GateIdle {
		return gatePass, fmt.Sprintf("pipeline %s is idle", upstream), "", nil
	}
	switch {
	case latest == nil:
		return gateWait, fmt.Sprintf("waiting for a first successful execution of %s", upstream), "", nil
	case latest.Status == string(engine.ExecutionSucceeded):
		return gatePass, fmt.Sprintf("%s execution %s succeeded and nothing of %s runs", upstream, latest.ID, upstream), latest.ID, nil
	case onFailure == pipeline.UpstreamFailureFail:
		return gateFail, fmt.Sprintf("%s execution %s ended %s", upstream, latest.ID, latest.Status), latest.ID, nil
	}
	return gateWait, fmt.Sprintf("waiting for the next successful execution of %s (latest: %s %s)", upstream, latest.ID, latest.Status), latest.ID, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ---- pipeline triggers ----

// fireTriggers starts the pipelines whose Pipeline triggers follow the
// execution that just ended, each once per upstream execution. Which
// pipelines may follow it comes from the trigger index (triggerindex.go);
// each of those is read again, so that what starts it is its declaration as
// stored now.
func (s *Service) fireTriggers(ctx context.Context, d EventDetail) error {
	names, err := s.triggeredBy(ctx, d.Pipeline)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	var up *engine.Execution
	for _, name := range names {
		r, err := s.store.Pipeline(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since the index was built
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		decl, err := s.triggerDecl(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if decl == nil || !followsState(decl, d.Pipeline, d.State) {
			continue
		}
		if up == nil {
			row, err := s.store.Execution(ctx, d.ExecutionID)
			if err != nil {
				return err
			}
			if up, err = decodeExecution(row); err != nil {
				return err
			}
		}
		_, err = s.StartExecution(ctx, StartRequest{
			Pipeline: r.Name,
			Trigger: engine.Trigger{Type: "PipelineTrigger",
				Detail: fmt.Sprintf("pipeline %s execution %s %s", up.Pipeline, up.ID, strings.ToLower(string(up.Status)))},
			IdempotencyKey: "pipeline-trigger/" + up.ID + "/" + r.Name,
			Upstream: &engine.Upstream{Pipeline: up.Pipeline, ExecutionID: up.ID, Status: up.Status,
				Variables: up.Variables, SourceRevisions: up.SourceRevisions},
			Note: &TriggerNote{Type: "PipelineTrigger", Detail: fmt.Sprintf("%s execution %s %s", up.Pipeline, up.ID, up.Status)},
		})
		if err != nil && !errors.Is(err, ErrAlreadyStarted) {
			errs = append(errs, fmt.Errorf("start %s after %s: %w", r.Name, up.ID, err))
		}
	}
	return errors.Join(errs...)
}

// triggerDecl returns the declaration of a pipeline with Pipeline triggers,
// nil for one without, decoding each version once.
func (s *Service) triggerDecl(r store.Pipeline) (*pipeline.Pipeline, error) {
	s.triggerCacheMu.Lock()
	defer s.triggerCacheMu.Unlock()
	// A deleted and re-created pipeline starts at version 1 again: the time of
	// its last update tells the two apart.
	if c, ok := s.triggerCache[r.Name]; ok && c.version == r.Version && c.updated.Equal(r.Updated) {
		return c.decl, nil
	}
	decl, err := decodeDeclaration(r.Name, r.Declaration)
	if err != nil {
		return nil, err
	}
	has := false
	for _, t := range decl.Triggers {
		has = has || t.ProviderType == pipeline.TriggerPipeline
	}
	if !has {
		decl = nil
	}
	if s.triggerCache == nil {
		s.triggerCache = map[string]cachedDecl{}
	}
	s.triggerCache[r.Name] = cachedDecl{version: r.Version, updated: r.Updated, decl: decl}
	return decl, nil
}

type cachedDecl struct {
	version int
	updated time.Time
	decl    *pipeline.Pipeline
}

func followsState(decl *pipeline.Pipeline, upstream, state string) bool {
	for _, t := range decl.Triggers {
		if t.ProviderType != pipeline.TriggerPipeline || t.Pipeline == nil || t.Pipeline.Name != upstream {
			continue
		}
		on := t.Pipeline.On
		if len(on) == 0 {
			on = []string{"Succeeded"}
		}
		for _, o := range on {
			if strings.EqualFold(o, state) {
				return true
			}
		}
	}
	return false
}

// ---- invoke ----

// invoke starts the pipeline a Pipeline action names, once.
func (s *Service) invoke(ctx context.Context, row store.Job, j engine.Job) error {
	child := j.Configuration[pipeline.ConfigPipelineName]
	vars, err := pipeline.ParseStringMap(j.Configuration["Variables"])
	if err != nil {
		return s.answerHeld(ctx, row, store.JobFailed, engine.JobFailed{JobID: row.ID, Message: "Variables: " + err.Error()}, err.Error())
	}
	revs, err := pipeline.ParseStringMap(j.Configuration["SourceRevisions"])
	if err != nil {
		return s.answerHeld(ctx, row, store.JobFailed, engine.JobFailed{JobID: row.ID, Message: "SourceRevisions: " + err.Error()}, err.Error())
	}
	e, err := s.StartExecution(ctx, StartRequest{
		Pipeline:        child,
		Variables:       vars,
		SourceRevisions: revs,
		Trigger:         engine.Trigger{Type: "PipelineInvoke", Detail: fmt.Sprintf("action %s/%s of pipeline %s execution %s", j.Stage, j.Action, j.Pipeline, j.ExecutionID)},
		IdempotencyKey:  "invoke/" + row.ID,
		Parent:          &engine.Parent{Pipeline: j.Pipeline, ExecutionID: j.ExecutionID, Stage: j.Stage, Action: j.Action, JobID: row.ID},
	})
	switch {
	case errors.Is(err, ErrAlreadyStarted):
		return nil
	case err != nil && (ErrorCode(err) == CodeInvalid || ErrorCode(err) == CodeNotFound):
		msg := fmt.Sprintf("could not start pipeline %s: %s", child, ErrorMessage(err))
		return s.answerHeld(ctx, row, store.JobFailed, engine.JobFailed{JobID: row.ID, Message: msg}, msg)
	case err != nil:
		return err
	}
	return s.progressHeld(ctx, row, fmt.Sprintf("started execution %s of pipeline %s", e.ID, child), e.ID)
}

// answerParent ends the invoke action that started execution id, now ended.
func (s *Service) answerParent(ctx context.Context, id string) error {
	row, err := s.store.Execution(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	// Few executions were started by a Pipeline action: whether this one
	// was is decoded first, the whole execution only then.
	var probe struct {
		Parent *engine.Parent `json:"parent"`
	}
	if err := json.Unmarshal(row.Document, &probe); err != nil {
		return fmt.Errorf("decode execution %s: %w", id, err)
	}
	if probe.Parent == nil {
		return nil
	}
	e, err := decodeExecution(row)
	if err != nil || e.Parent == nil || !e.Status.Terminal() {
		return err
	}
	job, err := s.store.Job(ctx, e.Parent.JobID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if e.Status == engine.ExecutionSucceeded {
		out := map[string]string{}
		for k, v := range e.Variables {
			out[k] = v
		}
		out["PipelineExecutionId"], out["PipelineName"], out["Status"] = e.ID, e.Pipeline, string(e.Status)
		summary := fmt.Sprintf("pipeline %s execution %s succeeded", e.Pipeline, e.ID)
		return s.answerHeld(ctx, job, store.JobSucceeded, engine.JobSucceeded{JobID: job.ID, Summary: summary, OutputVariables: out}, summary)
	}
	msg := fmt.Sprintf("pipeline %s execution %s ended %s", e.Pipeline, e.ID, e.Status)
	if e.Summary != "" {
		msg += ": " + e.Summary
	}
	return s.answerHeld(ctx, job, store.JobFailed, engine.JobFailed{JobID: job.ID, Message: msg}, msg)
}

// ---- locks ----

// wakeLockWaiters reconciles the pipeline of the execution first in a lock's
// queue, so that it takes the lock if it is free.
func (s *Service) wakeLockWaiters(ctx context.Context, name string) error {
	locks, err := s.Locks(ctx)
	if err != nil {
		return err
	}
	for _, l := range locks {
		if l.Name != name || len(l.Queue) == 0 {
			continue
		}
		if l.Holder != nil {
			// A holder that is gone (its pipeline deleted) is let go of by the
			// next decision that reads the lock: the waiter's.
			row, err := s.store.Execution(ctx, l.Holder.ExecutionID)
			if err == nil && row.Active {
				return nil
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		next := l.Queue[0]
		err := s.decide(ctx, next.Pipeline, next.ExecutionID, func(store.Tx, *engine.State) (engine.Happening, error) {
			return engine.Reconcile{}, nil
		})
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	return nil
}
