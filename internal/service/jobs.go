package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// The job protocol, as CodePipeline's job workers know it: a worker polls for a
// job of the providers it runs and holds it under a lease, renews the lease with
// heartbeats (a refused heartbeat means: stop and kill what you run), streams its
// log, reads its input artifacts, writes its output artifacts, and reports
// success with output variables, or failure with a message. In-process workers
// and remote ones speak it alike, over the HTTP API.

// ClaimedJob is a job given to a worker.
type ClaimedJob struct {
	Job        engine.Job
	Worker     string
	LeaseUntil time.Time
	// Heartbeat is how often the worker should renew its lease.
	Heartbeat time.Duration
}

// ClaimJob gives worker the oldest queued job of one of providers, waiting up to
// wait for one to be queued. It returns nil when none came.
func (s *Service) ClaimJob(ctx context.Context, worker string, providers []string, wait time.Duration) (*ClaimedJob, error) {
	return s.ClaimJobIn(ctx, worker, "", providers, wait)
}

// ClaimJobIn is ClaimJob for a worker in region regionName ("" or the home
// region's name: the home region): only that region's jobs are given to it,
// and a job of another region than the home one is given only once its
// input artifacts are in that region's store (see regions.go).
func (s *Service) ClaimJobIn(ctx context.Context, worker, regionName string, providers []string, wait time.Duration) (*ClaimedJob, error) {
	if err := checkClaim(worker, providers); err != nil {
		return nil, err
	}
	stored, err := s.claimRegion(regionName)
	if err != nil {
		return nil, err
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		ch := s.jobsQueued.wait()
		now := s.now()
		row, err := s.store.ClaimJob(ctx, s.claimParams(worker, stored, providers, now))
		if err == nil {
			cj, err := s.claimed(ctx, row, worker, now)
			if cj == nil && err == nil {
				continue // its inputs could not be staged: it failed, and says why
			}
			return cj, err
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if done, err := s.sleep(ctx, ch, deadline.C); done || err != nil {
			return nil, err
		}
	}
}

// checkClaim refuses a claim that names no worker or no provider a worker
// may run.
func checkClaim(worker string, providers []string) error {
	if err := validateName("workerId", worker); err != nil {
		return err
	}
	if len(providers) == 0 {
		return Errorf(CodeInvalid, "providers: at least one provider is required")
	}
	for _, p := range providers {
		if IsHeldProvider(p) {
			return Errorf(CodeInvalid, "providers: %s actions are run by the server itself, not by workers", p)
		}
	}
	return nil
}

// claimParams is a claim by worker of a job of providers in the region
// whose jobs are stored under region ("": the home region's).
func (s *Service) claimParams(worker, region string, providers []string, now time.Time) store.ClaimJobParams {
	return store.ClaimJobParams{Worker: worker, Providers: providers, Region: region, Now: now, LeaseUntil: now.Add(s.lease)}
}

// claimed is the job row a claim took, as the worker is given it. A job of
// another region than the home one has its inputs copied to its region's
// store first; when they cannot be, the job fails saying why and claimed
// returns nil.
func (s *Service) claimed(ctx context.Context, row store.Job, worker string, now time.Time) (*ClaimedJob, error) {
	s.claimedJobs.remember(row)
	var j engine.Job
	if err := json.Unmarshal(row.Payload, &j); err != nil {
		return nil, fmt.Errorf("decode job %s: %w", row.ID, err)
	}
	if row.Region != "" {
		var err error
		if row, err = s.stageInputs(ctx, row, j); err != nil {
			return nil, err
		}
		if row.Status != store.JobInProgress {
			return nil, nil
		}
	}
	queued := row.Created
	if row.NotBefore.After(queued) {
		queued = row.NotBefore
	}
	s.meter.JobClaimed(row.Provider, now.Sub(queued))
	return &ClaimedJob{Job: j, Worker: worker, LeaseUntil: row.LeaseUntil, Heartbeat: s.lease / 3}, nil
}

// Heartbeat renews the worker's lease on a job, then holds the call for up to
// wait, answering early if the job is taken away, so that a stop or an abandon
// reaches the worker within milliseconds without a heartbeat every few
// milliseconds. A Conflict error tells the worker the job is no longer its own:
// it was stopped, abandoned, timed out or given to another worker, and what it
// runs must be killed.
func (s *Service) Heartbeat(ctx context.Context, jobID, worker string, wait time.Duration) (time.Time, error) {
	until := s.now().Add(s.lease)
	j, err := s.store.Heartbeat(ctx, jobID, worker, until)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return time.Time{}, s.notHeld(ctx, jobID, worker)
		}
		return time.Time{}, err
	}
	// The lease just renewed must outlast the wait, or the job could expire while
	// its worker is parked here.
	wait = min(wait, s.lease/2)
	if wait <= 0 {
		return j.LeaseUntil, nil
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		ch := s.changed.wait()
		cur, err := s.store.Job(ctx, jobID)
		if err != nil {
			return time.Time{}, err
		}
		if cur.Status != store.JobInProgress || cur.Worker != worker {
			return time.Time{}, s.notHeld(ctx, jobID, worker)
		}
		if done, err := s.sleep(ctx, ch, deadline.C); done || err != nil {
			return j.LeaseUntil, err
		}
	}
}

// notHeld explains why worker may no longer work on jobID.
func (s *Service) notHeld(ctx context.Context, jobID, worker string) error {
	j, err := s.store.Job(ctx, jobID)
	if err != nil {
		return Errorf(CodeNotFound, "job %s not found", jobID)
	}
	switch {
	case j.Status == store.JobCancelled:
		return Errorf(CodeConflict, "job %s was cancelled: %s", jobID, j.CancelReason)
	case j.Status.Finished():
		return Errorf(CodeConflict, "job %s has ended (%s)", jobID, j.Status)
	default:
		return Errorf(CodeConflict, "job %s is not held by worker %s", jobID, worker)
	}
}

// JobResult is how a job ended, as its worker reports it.
type JobResult struct {
	Succeeded       bool
	Summary         string // shown on the action when it succeeded
	Message         string // shown on the action when it failed
	OutputVariables map[string]string
	// Log is the end of the job's log, appended in the same transaction, which
	// saves short jobs a request.
	Log []byte
	// Invoked means the worker's part is done but the action's is not: a
	// function was invoked and answers for itself through the API. Summary is
	// shown on the action meanwhile.
	Invoked bool
	// FailedArtifacts names outputs a failed job uploaded anyway; see
	// engine.Action.FailedArtifacts. Names the job does not declare, or that
	// were not stored, are ignored.
	FailedArtifacts []string
}

// maxResultLog bounds the log a result may carry.
const maxResultLog = 1 << 20

// CompleteJob records a job's result and moves its execution on.
func (s *Service) CompleteJob(ctx context.Context, jobID, worker string, res JobResult) error {
	_, err := s.CompleteAndClaim(ctx, jobID, worker, "", res, nil)
	return err
}

// CompleteAndClaim is CompleteJob that, when next names providers, also
// gives worker its next job, as ClaimJob would without waiting: in the same
// transaction as the result when the result moves an execution on (so the
// job the result queued is often the one claimed), else right after. It
// returns nil when no job is queued; the worker then polls as usual. A
// result that is refused claims nothing.
func (s *Service) CompleteAndClaim(ctx context.Context, jobID, worker, regionName string, res JobResult, next []string) (*ClaimedJob, error) {
	var stored string
	if len(next) > 0 {
		if err := checkClaim(worker, next); err != nil {
			return nil, err
		}
		var err error
		if stored, err = s.claimRegion(regionName); err != nil {
			return nil, err
		}
	}
	var claimedRow *store.Job
	var claimedAt time.Time
	tried := false
	took := func(row *store.Job, now time.Time) { tried, claimedRow, claimedAt = true, row, now }
	if err := s.completeJob(ctx, jobID, worker, res, stored, next, took); err != nil {
		return nil, err
	}
	switch {
	case len(next) == 0:
		return nil, nil
	case claimedRow != nil:
		if cj, err := s.claimed(ctx, *claimedRow, worker, claimedAt); cj != nil || err != nil {
			return cj, err
		}
		// Its inputs could not be staged in its region: it failed, and
		// says why; claim another.
	case tried:
		return nil, nil // nothing was queued when the result committed
	}
	// The result took another way (a function invoked, an action ended
	// meanwhile): the claim is a transaction of its own.
	return s.ClaimJobIn(ctx, worker, regionName, next, 0)
}

// claimedJobs remembers which pipeline, execution and action the jobs this
// server handed out are of, which never changes, so that a result need not
// read the job before its decision reads it again. A result sent to
// another replica, or after a restart, reads it.
type claimedJobs struct {
	mu sync.Mutex
	m  map[string]store.Job // identity fields only
}

// maxClaimedJobs bounds claimedJobs: past it, it starts over.
const maxClaimedJobs = 10000

func (c *claimedJobs) remember(row store.Job) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxClaimedJobs {
		c.m = map[string]store.Job{}
	}
	c.m[row.ID] = store.Job{ID: row.ID, Pipeline: row.Pipeline, ExecutionID: row.ExecutionID, Stage: row.Stage, Action: row.Action, Attempt: row.Attempt}
}

// take returns what was remembered of job id, and forgets it: a job gives
// one result.
func (c *claimedJobs) take(id string) (store.Job, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	j, ok := c.m[id]
	delete(c.m, id)
	return j, ok
}

// completeJob is CompleteJob, claiming a job of next in the decision's
// transaction when it can: took is told, once the transaction committed
// (with the claim or not at all), what the claim found (nil: nothing).
func (s *Service) completeJob(ctx context.Context, jobID, worker string, res JobResult, region string, next []string, took func(row *store.Job, now time.Time)) error {
	// Which pipeline and execution the job is of is remembered from its
	// claim; what it is now is read in the decision's transaction.
	var err error
	j, ok := s.claimedJobs.take(jobID)
	if !ok {
		if j, err = s.store.Job(ctx, jobID); err != nil {
			return Errorf(CodeNotFound, "job %s not found", jobID)
		}
	}
	ctx = jobLogContext(ctx, j)
	if len(res.Summary) > 2048 || len(res.Message) > 8192 {
		return Errorf(CodeInvalid, "summary: at most 2048 characters; message: at most 8192")
	}
	if len(res.Log) > maxResultLog {
		return Errorf(CodeInvalid, "log: at most %d bytes with a result; send the rest to the job's log first", maxResultLog)
	}
	if res.Invoked {
		return s.parkJob(ctx, j, worker, res)
	}
	var failedArtifacts []string
	if !res.Succeeded && len(res.FailedArtifacts) > 0 {
		if failedArtifacts, err = s.storedOutputs(ctx, jobID, worker, res.FailedArtifacts); err != nil {
			return err
		}
	}
	var claimed *store.Job
	var claimedAt time.Time
	var then func(tx store.Tx, dec engine.Decision) (int, error)
	tried := false
	if len(next) > 0 {
		then = func(tx store.Tx, dec engine.Decision) (int, error) {
			tried, claimed = true, nil
			claimedAt = s.now()
			row, err := tx.ClaimJob(ctx, s.claimParams(worker, region, next, claimedAt))
			if errors.Is(err, store.ErrNotFound) {
				return 0, nil
			}
			if err != nil {
				return 0, err
			}
			claimed = &row
			for _, q := range dec.Jobs {
				if q.ID == row.ID {
					return 1, nil
				}
			}
			return 0, nil
		}
	}
	err = s.decideThen(ctx, j.Pipeline, j.ExecutionID, func(tx store.Tx, st *engine.State) (engine.Happening, error) {
		cur, err := tx.Job(ctx, jobID)
		if err != nil {
			return nil, err
		}
		if cur.Status != store.JobInProgress || cur.Worker != worker {
			return nil, s.notHeld(ctx, jobID, worker)
		}
		now := s.now()
		if err := tx.AppendLog(ctx, jobID, res.Log); err != nil {
			return nil, err
		}
		if res.Succeeded {
			if err := tx.FinishJob(ctx, store.FinishJobParams{ID: jobID, Status: store.JobSucceeded, Message: res.Summary, Now: now}); err != nil {
				return nil, err
			}
			return engine.JobSucceeded{JobID: jobID, Summary: res.Summary, OutputVariables: res.OutputVariables}, nil
		}
		if err := tx.FinishJob(ctx, store.FinishJobParams{ID: jobID, Status: store.JobFailed, Message: res.Message, Now: now}); err != nil {
			return nil, err
		}
		return engine.JobFailed{JobID: jobID, Message: res.Message, Artifacts: failedArtifacts}, nil
	}, then)
	if err == nil && tried {
		took(claimed, claimedAt)
	}
	if errors.Is(err, engine.ErrUnknownJob) {
		// The action was stopped or timed out in between; the job row still ends.
		return s.store.Update(ctx, j.Pipeline, func(tx store.Tx) error {
			return tx.FinishJob(ctx, store.FinishJobParams{ID: jobID, Status: store.JobCancelled, Message: "result arrived after the action ended", Now: s.now()})
		})
	}
	if errors.Is(err, store.ErrNotFound) {
		return Errorf(CodeNotFound, "job %s not found", jobID)
	}
	return err
}

// storedOutputs returns those of names that are output artifacts of the job
// worker holds and are in the artifact store, so that a failed attempt's
// record never points at nothing.
func (s *Service) storedOutputs(ctx context.Context, jobID, worker string, names []string) ([]string, error) {
	j, err := s.heldJob(ctx, jobID, worker)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, o := range j.OutputArtifacts {
		if !slices.Contains(names, o.Name) {
			continue
		}
		if _, err := s.artifacts.Stat(ctx, o.Key); err == nil {
			out = append(out, o.Name)
		} else if !errors.Is(err, artifact.ErrNotFound) {
			return nil, err
		}
	}
	return out, nil
}

// answeredBy reports whether row ended with an answer (success or failure,
// not a cancellation) while worker still ran it: a function answering
// through the API before its command exited.
func answeredBy(row store.Job, worker string) bool {
	return (row.Status == store.JobSucceeded || row.Status == store.JobFailed) &&
		worker != "" && worker != JobTokenHolder && row.Worker == worker
}

// JobTokenHolder stands for the worker of a job when the caller proved itself
// with the job's own token (a function reading its inputs, writing its outputs).
const JobTokenHolder = "\x00job-token"

// heldJob returns the job if worker holds it now.
func (s *Service) heldJob(ctx context.Context, jobID, worker string) (engine.Job, error) {
	row, err := s.store.Job(ctx, jobID)
	if err != nil {
		return engine.Job{}, Errorf(CodeNotFound, "job %s not found", jobID)
	}
	if worker == JobTokenHolder && row.Status == store.JobInProgress {
		worker = row.Worker
	}
	if row.Status != store.JobInProgress || row.Worker != worker {
		return engine.Job{}, s.notHeld(ctx, jobID, worker)
	}
	var j engine.Job
	if err := json.Unmarshal(row.Payload, &j); err != nil {
		return engine.Job{}, fmt.Errorf("decode job %s: %w", jobID, err)
	}
	return j, nil
}

// AppendLog adds output to a running job's log.
//
// A function may answer for its job before its command has exited: the job
// has then ended, but what the command prints until it exits (or is killed)
// still belongs to the log, so the worker that ran it may go on appending.
func (s *Service) AppendLog(ctx context.Context, jobID, worker string, data []byte) error {
	if row, err := s.store.Job(ctx, jobID); err == nil && answeredBy(row, worker) {
		if err := s.store.AppendLog(ctx, jobID, data); err != nil {
			return err
		}
		s.changed.announce() // log readers; no event was written
		return nil
	}
	if _, err := s.heldJob(ctx, jobID, worker); err != nil {
		return err
	}
	if err := s.store.AppendLog(ctx, jobID, data); err != nil {
		return err
	}
	s.changed.announce()
	return nil
}

// OpenInput opens an input artifact of a job the worker holds.
func (s *Service) OpenInput(ctx context.Context, jobID, worker, name string) (io.ReadCloser, error) {
	j, err := s.heldJob(ctx, jobID, worker)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(j.InputArtifacts, func(a engine.ArtifactRef) bool { return a.Name == name })
	if i < 0 {
		return nil, Errorf(CodeNotFound, "job %s has no input artifact %s", jobID, name)
	}
	// A job of another region reads the copy in its region's store.
	arts, err := s.regions.Store(s.jobRegion(j))
	if err != nil {
		return nil, err
	}
	return arts.Get(ctx, j.InputArtifacts[i].Key)
}

// PutOutput stores an output artifact of a job the worker holds.
func (s *Service) PutOutput(ctx context.Context, jobID, worker, name string, r io.Reader) (int64, error) {
	j, err := s.heldJob(ctx, jobID, worker)
	if err != nil {
		return 0, err
	}
	i := slices.IndexFunc(j.OutputArtifacts, func(a engine.OutputArtifact) bool { return a.Name == name })
	if i < 0 {
		return 0, Errorf(CodeNotFound, "job %s has no output artifact %s", jobID, name)
	}
	return s.artifacts.Put(ctx, j.OutputArtifacts[i].Key, r)
}

// FindAction returns the stage and action of an execution named by action, which
// may be "STAGE/ACTION" where an action name repeats across stages.
func FindAction(e *engine.Execution, action string) (*engine.Stage, *engine.Action, error) {
	var stage *engine.Stage
	var found *engine.Action
	n := 0
	for i := range e.Stages {
		st := &e.Stages[i]
		for j := range st.Actions {
			a := &st.Actions[j]
			if a.Decl.Name == action || st.Name+"/"+a.Decl.Name == action {
				stage, found = st, a
				n++
			}
		}
		// A stage condition's rules run as actions too, with logs of
		// their own; the latest evaluation of each kind is found.
		for _, c := range []*engine.ConditionState{st.Entry, st.Success, st.Failure} {
			if c == nil {
				continue
			}
			for j := range c.Rules {
				a := &c.Rules[j]
				if a.Decl.Name == action || st.Name+"/"+a.Decl.Name == action {
					stage, found = st, a
					n++
				}
			}
		}
	}
	switch n {
	case 0:
		var names []string
		for _, st := range e.Stages {
			for _, a := range st.Actions {
				names = append(names, a.Decl.Name, st.Name+"/"+a.Decl.Name)
			}
		}
		return nil, nil, Errorf(CodeNotFound, "action %q not found in execution %s of pipeline %s%s", action, e.ID, e.Pipeline, didYouMean(action, names))
	case 1:
		return stage, found, nil
	}
	return nil, nil, Errorf(CodeInvalid, "action %s is in several stages of execution %s; name it as STAGE/ACTION", action, e.ID)
}

// ActionLog is a piece of an action's log.
type ActionLog struct {
	JobID   string
	Attempt int
	Data    []byte
	Offset  int64 // where Data starts
	Done    bool  // the action's job has ended: nothing more will come
}

// ActionLog returns the log of an action's latest attempt from offset on, waiting
// up to wait for more when there is nothing new and the action still runs.
func (s *Service) ActionLog(ctx context.Context, name, executionID, action string, offset int64, wait time.Duration) (ActionLog, error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		ch := s.changed.wait()
		e, err := s.Execution(ctx, name, executionID)
		if err != nil {
			return ActionLog{}, err
		}
		_, a, err := FindAction(e, action)
		if err != nil {
			return ActionLog{}, err
		}
		// Workers send all of a job's log before its result, so once the action has
		// ended its log is complete.
		// An action not started yet may still run, unless its execution has ended.
		done := a.Status != engine.ActionInProgress && (a.Status != engine.ActionNotStarted || e.Status.Terminal())
		out := ActionLog{Offset: offset, Attempt: a.Attempt, JobID: a.JobID, Done: done}
		if a.JobID != "" {
			if out.Data, err = s.store.Log(ctx, a.JobID, offset); err != nil {
				return ActionLog{}, err
			}
		}
		if len(out.Data) > 0 || out.Done {
			return out, nil
		}
		if done, err := s.sleep(ctx, ch, deadline.C); done || err != nil {
			return out, err
		}
	}
}

// Artifact is an execution's artifact opened for reading.
type Artifact struct {
	io.ReadCloser
	Name   string
	Stage  string
	Action string // the action that produced it
	// Failed marks an artifact the action uploaded in an attempt that failed
	// (Attempt): kept for debugging, never an input of a later action.
	Failed  bool
	Attempt int
}

// OpenArtifact opens the artifact named name that an execution produced: the
// output of an action that succeeded or, failing that, what its latest failed
// attempt uploaded, marked Failed. A name no action of the execution declares
// gets a did-you-mean; a declared one that was not produced says why.
func (s *Service) OpenArtifact(ctx context.Context, pipelineName, executionID, name string) (*Artifact, error) {
	e, err := s.Execution(ctx, pipelineName, executionID)
	if err != nil {
		return nil, err
	}
	var declared []string
	for _, st := range e.Stages {
		for _, a := range st.Actions {
			for _, o := range a.OutputArtifacts {
				if o.Name == name {
					rc, err := s.artifacts.Get(ctx, o.Key)
					if err != nil {
						return nil, err
					}
					return &Artifact{ReadCloser: rc, Name: name, Stage: st.Name, Action: a.Decl.Name, Attempt: a.Attempt}, nil
				}
			}
		}
	}
	for _, st := range e.Stages {
		for _, a := range st.Actions {
			for _, o := range a.FailedArtifacts {
				if o.Name == name {
					rc, err := s.artifacts.Get(ctx, o.Key)
					if err != nil {
						return nil, err
					}
					return &Artifact{ReadCloser: rc, Name: name, Stage: st.Name, Action: a.Decl.Name, Failed: true, Attempt: a.FailedAttempt}, nil
				}
			}
			for _, o := range a.Decl.OutputArtifacts {
				declared = append(declared, o.Name)
				if o.Name == name {
					return nil, Errorf(CodeNotFound, "artifact %s of execution %s was not produced: %s", name, executionID, notProduced(e, st.Name, a))
				}
			}
		}
	}
	if len(declared) == 0 {
		return nil, Errorf(CodeNotFound, "unknown artifact %q: no action of execution %s declares an output artifact", name, executionID)
	}
	var hints yamlnode.Hints
	if hint := hints.DidYouMean(name, declared); hint != "" {
		return nil, Errorf(CodeNotFound, "unknown artifact %q%s", name, hint)
	}
	return nil, Errorf(CodeNotFound, "unknown artifact %q: the actions of execution %s declare %s", name, executionID, strings.Join(declared, ", "))
}

// notProduced says why action a has no output to offer.
func notProduced(e *engine.Execution, stage string, a engine.Action) string {
	where := "action " + stage + "/" + a.Decl.Name
	switch a.Status {
	case engine.ActionNotStarted:
		if e.Status.Terminal() {
			return where + " never ran (the execution " + strings.ToLower(string(e.Status)) + " before it)"
		}
		return where + " has not run yet"
	case engine.ActionInProgress:
		return where + " is still running"
	case engine.ActionFailed:
		return where + " failed without uploading it (outputs are kept on failure only from builds whose upload phase ran)"
	}
	return where + " is " + string(a.Status) + " and produced no output"
}
