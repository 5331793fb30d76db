// Package service holds sluice's use cases. It loads state from the store, asks
// the engine what happens next, and writes the decision (new states, jobs and
// events) in one store transaction. The API, the CLI and the workers reach the
// engine only through it.
package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/awsid"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/follow"
	"github.com/sluice-ci/sluice/internal/logctx"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/region"
	"github.com/sluice-ci/sluice/internal/store"
)

// Config tunes a Service; zero values take the defaults.
type Config struct {
	Region string
	// Lease is how long a claimed job stays with its worker without a heartbeat.
	Lease time.Duration
	// SweepInterval is how often expired leases and timeouts are looked for.
	SweepInterval time.Duration
	Logger        *slog.Logger
	Now           func() time.Time
	// SecretKey encrypts secrets (SecretKeySize bytes); without it secrets cannot
	// be stored.
	SecretKey []byte
	// DecryptKeys are keys that secrets were encrypted under before the
	// secret key was rotated: they decrypt, never encrypt (see keyring.go).
	DecryptKeys [][]byte
	// BaseURL is the server's address as people reach it, for links in
	// notifications ("http://127.0.0.1:8080").
	BaseURL string

	// What the service works with besides the store and the artifacts, given
	// here so that a service is complete when New returns (the setters
	// remain for tests that change one later). Each may be nil/"".
	//
	// Repos reads hosted repositories (see SetRepos).
	Repos Repos
	// Isolation describes the sandbox the server's workers run code in, and
	// Sandboxed says whether there is one (see SetIsolation).
	Isolation string
	Sandboxed bool
	// AWS is the account and region events and ARNs carry (zero: the
	// region is Region when it is written like an AWS region, else
	// awsid.DefaultRegion; the account awsid.DefaultAccount).
	AWS awsid.ID
	// Regions are the regions the server declares besides its home one
	// (Region), each with its artifact store (see regions.go); nil is the
	// home region alone, whose store is the service's artifact store.
	Regions *region.Set
	// FollowInterval is the least time between two answers a follower
	// of a running execution gets (see WaitExecution); 0 means 50 ms.
	FollowInterval time.Duration
}

// Service is sluice's use cases over a store and an artifact store.
type Service struct {
	store     store.Store
	artifacts artifact.Store
	region    string
	aws       awsid.ID
	lease     time.Duration
	sweep     time.Duration
	log       *slog.Logger
	now       func() time.Time

	repos       Repos     // hosted repositories, when the server hosts any
	pullRepos   PullRepos // their git, for pull requests
	secretKey   []byte
	decryptKeys [][]byte  // see Config.DecryptKeys
	isolation   isolation // see SetIsolation

	jobsQueued *notifier                         // a job became claimable
	changed    *notifier                         // an execution or a log changed
	declared   *notifier                         // a pipeline's declaration was stored or deleted
	publish    atomic.Pointer[func(kind string)] // see SetPublisher
	meter      Meter                             // see SetMeter; never nil
	stopping   chan struct{}                     // closed by StopWaiting: long polls and streams end
	stopOnce   sync.Once
	baseURL    string
	approvals  ApprovalNotifier // queues approvals' notifications (parts.go)

	tokenKeyOnce sync.Once
	tokenKeys    [][]byte   // sign (the first) and verify job tokens
	tokens       tokenCache // API tokens found by hash (tokencache.go)

	reactor        *follow.Follower // follows the event log (reactor.go)
	reactorWake    *follow.Listener // wakes it
	logged         follow.Signal    // events were written: their followers wake
	decidedWake    follow.Signal    // executions changed, by id (WaitExecution)
	triggerCacheMu sync.Mutex
	triggerCache   map[string]cachedDecl
	triggerIndex   triggerIndex // which pipelines follow which (triggerindex.go)
	deployMu       sync.Mutex   // one change to deployments at a time (deployments.go)
	agentMu        sync.Mutex   // one agent registration at a time (agentregistration.go)
	// replicaMutex, when set, orders such changes across the replicas
	// sharing the store too (see SetReplicaMutex).
	replicaMutex func(ctx context.Context, name string) (unlock func(), err error)
	alarms       deployAlarms // what running deployments watch (deployalarms.go)
	regions      *region.Set
	declCacheMu  sync.Mutex
	declCache    map[string]decodedDecl // see decisionDeclaration
	// followInterval is Config.FollowInterval.
	followInterval time.Duration
	decided        executionCache // see decideThen
	claimedJobs    claimedJobs    // see completeJob
}

// New returns a Service.
func New(st store.Store, artifacts artifact.Store, cfg Config) *Service {
	s := &Service{
		store:       st,
		artifacts:   artifacts,
		region:      cfg.Region,
		lease:       cfg.Lease,
		sweep:       cfg.SweepInterval,
		log:         cfg.Logger,
		now:         cfg.Now,
		secretKey:   cfg.SecretKey,
		decryptKeys: cfg.DecryptKeys,
		meter:       noMeter{},
		stopping:    make(chan struct{}),
		baseURL:     strings.TrimSuffix(cfg.BaseURL, "/"),
	}
	s.jobsQueued = newNotifier(ChangeJobs, &s.publish)
	s.changed = newNotifier(ChangeExecution, &s.publish)
	s.changed.also = func() { s.logged.Notify() }
	s.declared = newNotifier(ChangePipelines, &s.publish)
	if s.region == "" {
		s.region = "local"
	}
	s.regions = cfg.Regions
	s.followInterval = cfg.FollowInterval
	if s.regions == nil {
		s.regions = region.New(s.region, artifacts, nil)
	}
	s.aws = cfg.AWS
	if s.aws.Region == "" && awsid.IsRegion(s.region) {
		s.aws.Region = s.region
	}
	if s.aws.Region == "" {
		s.aws.Region = awsid.DefaultRegion
	}
	if s.aws.Account == "" {
		s.aws.Account = awsid.DefaultAccount
	}
	if s.lease == 0 {
		s.lease = 30 * time.Second
	}
	if s.sweep == 0 {
		s.sweep = time.Second
	}
	// Lines logged with a context name what it carries (logctx): the
	// pipeline and execution of a decision, the job being handled.
	s.log = logctx.Logger(s.log)
	if s.now == nil {
		s.now = func() time.Time { return time.Now().UTC() }
	}
	s.reactor, s.reactorWake = s.newReactor(), s.logged.Listen()
	if cfg.Repos != nil {
		s.SetRepos(cfg.Repos)
	}
	if cfg.Isolation != "" {
		s.SetIsolation(cfg.Isolation, cfg.Sandboxed)
	}
	return s
}

// Lease is how long a worker holds a job between heartbeats.
func (s *Service) Lease() time.Duration { return s.lease }

// Region is the name of the region this server is ("local" unless
// configured), as events, ARNs and builds' AWS_REGION carry it.
func (s *Service) Region() string { return s.region }

// NextBuildNumber allocates the next build number of a build project
// (CODEBUILD_BUILD_NUMBER), counting from 1.
func (s *Service) NextBuildNumber(ctx context.Context, project string) (int64, error) {
	return s.store.NextBuildNumber(ctx, project)
}

// newID is a version 4 UUID, as CodePipeline's execution ids are.
func newID() string { return uuid.NewString() }

// PipelineARN names a pipeline the way CodePipeline's ARNs do:
// arn:aws:codepipeline:REGION:ACCOUNT:NAME with the server's AWS identity.
func (s *Service) PipelineARN(name string) string { return s.aws.PipelineARN(name) }

// transitions is the stored form of a pipeline's disabled inbound transitions.
type transitions map[string]Transition

// Transition is the state of a stage's inbound transition.
type Transition struct {
	Enabled        bool      `json:"enabled"`
	DisabledReason string    `json:"disabledReason,omitempty"`
	DisabledBy     string    `json:"disabledBy,omitempty"`
	LastChangedAt  time.Time `json:"lastChangedAt"`
}

func decodeTransitions(raw []byte) (transitions, error) {
	t := transitions{}
	if len(raw) == 0 {
		return t, nil
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("decode transitions: %w", err)
	}
	return t, nil
}

func decodeExecution(row store.Execution) (*engine.Execution, error) {
	var e engine.Execution
	if err := json.Unmarshal(row.Document, &e); err != nil {
		return nil, fmt.Errorf("decode execution %s: %w", row.ID, err)
	}
	return &e, nil
}

func decodeDeclaration(name string, raw []byte) (*pipeline.Pipeline, error) {
	var p pipeline.Pipeline
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("decode pipeline %s: %w", name, err)
	}
	return &p, nil
}

// decisionDeclaration is decodeDeclaration for decide, which only reads the
// declaration (its mode, its locks): the last one decoded of each pipeline
// is kept and given again while the stored bytes are the same, since
// decoding it was a tenth of a decision's CPU. The value is shared: never
// change it.
func (s *Service) decisionDeclaration(name string, raw []byte) (*pipeline.Pipeline, error) {
	s.declCacheMu.Lock()
	c, ok := s.declCache[name]
	s.declCacheMu.Unlock()
	if ok && bytes.Equal(c.raw, raw) {
		return c.decl, nil
	}
	decl, err := decodeDeclaration(name, raw)
	if err != nil {
		return nil, err
	}
	s.declCacheMu.Lock()
	if s.declCache == nil || len(s.declCache) >= maxDeclCache {
		s.declCache = map[string]decodedDecl{}
	}
	s.declCache[name] = decodedDecl{raw: raw, decl: decl}
	s.declCacheMu.Unlock()
	return decl, nil
}

// maxDeclCache bounds decisionDeclaration's memory: past it, it starts over.
const maxDeclCache = 1000

type decodedDecl struct {
	raw  []byte
	decl *pipeline.Pipeline
}

// executionCache keeps the executions decisions wrote, as the engine left
// them, with the document written: the next decision on an execution whose
// stored document is still that one takes it instead of decoding the
// document again (decoding it was the largest part of a decision's own CPU
// after SQLite's). Taking it removes it: the decision owns it and the engine
// changes it in place; it comes back only once the decision is committed,
// with its new document. A decision that fails leaves nothing behind, and
// a document another replica wrote is decoded afresh.
type executionCache struct {
	mu sync.Mutex
	m  map[string]decidedExecution
}

type decidedExecution struct {
	doc []byte
	e   *engine.Execution
}

// maxExecutionCache bounds the cache: past it, it starts over. Ended
// executions leave it.
const maxExecutionCache = 1000

// take returns row's execution: the one kept for it when it was written as
// row's very document, else decoded.
func (c *executionCache) take(row store.Execution) (*engine.Execution, error) {
	c.mu.Lock()
	d, ok := c.m[row.ID]
	if ok {
		delete(c.m, row.ID)
	}
	c.mu.Unlock()
	if ok && bytes.Equal(d.doc, row.Document) {
		return d.e, nil
	}
	return decodeExecution(row)
}

// keep keeps e, written as doc, for the next decision. e must be referenced
// by nothing else that outlives the decision that wrote it.
func (c *executionCache) keep(e *engine.Execution, doc []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.Status.Terminal() {
		delete(c.m, e.ID)
		return
	}
	if c.m == nil || len(c.m) >= maxExecutionCache {
		c.m = map[string]decidedExecution{}
	}
	c.m[e.ID] = decidedExecution{doc: doc, e: e}
}

// decide runs one happening on one pipeline in one transaction. prepare builds the
// happening inside the transaction, and may add executions the engine must see.
//
// scope names the execution the happening is about ("" when it concerns them
// all). In PARALLEL mode executions never affect one another, so only that one
// is loaded: a decision then costs the same with one execution running or a
// thousand.
func (s *Service) decide(ctx context.Context, name, scope string, prepare func(tx store.Tx, st *engine.State) (engine.Happening, error)) error {
	return s.decideThen(ctx, name, scope, prepare, nil)
}

// decideThen is decide, with then run in the same transaction once the
// decision is written; then returns how many of the decision's new jobs it
// took itself (a worker's next job claimed with its result), which nobody
// else needs waking for. The decision is not returned: the executions it
// changed go on to the next decision (executionCache), which may change
// them at once.
func (s *Service) decideThen(ctx context.Context, name, scope string, prepare func(tx store.Tx, st *engine.State) (engine.Happening, error),
	then func(tx store.Tx, dec engine.Decision) (int, error)) error {
	ctx = logctx.With(ctx, logctx.Pipeline, name, logctx.Execution, scope)
	var dec engine.Decision
	taken := 0
	var queued map[[2]string]time.Time // lock waits before the decision (meter.go)
	// The executions this decision read from the store, which nothing but
	// it holds, and the documents written of those it changed: kept for
	// the next decision once this one is committed.
	var loaded map[*engine.Execution]bool
	var written [][]byte
	err := s.store.Update(ctx, name, func(tx store.Tx) error {
		loaded, written = nil, nil
		row, err := tx.Pipeline(ctx)
		if err != nil {
			return err
		}
		decl, err := s.decisionDeclaration(name, row.Declaration)
		if err != nil {
			return err
		}
		trans, err := decodeTransitions(row.Transitions)
		if err != nil {
			return err
		}
		st := engine.State{Pipeline: engine.Pipeline{
			Name:     name,
			Version:  row.Version,
			Mode:     decl.ExecutionMode,
			Disabled: map[string]string{},
		}}
		for stage, t := range trans {
			if !t.Enabled {
				st.Pipeline.Disabled[stage] = t.DisabledReason
			}
		}
		var rows []store.Execution
		if decl.ExecutionMode == pipeline.Parallel && scope != "" {
			r, err := tx.Execution(ctx, scope)
			switch {
			case err == nil && r.Active:
				rows = []store.Execution{r}
			case err != nil && !errors.Is(err, store.ErrNotFound):
				return err
			}
		} else if rows, err = tx.ActiveExecutions(ctx); err != nil {
			return err
		}
		loaded = make(map[*engine.Execution]bool, len(rows))
		for _, r := range rows {
			e, err := s.decided.take(r)
			if err != nil {
				return err
			}
			loaded[e] = true
			st.Executions = append(st.Executions, e)
		}
		h, err := prepare(tx, &st)
		if err != nil {
			return err
		}
		if st.Locks, err = s.loadLocks(ctx, tx, decl, &st, h); err != nil {
			return err
		}
		now := s.now()
		queued = lockQueueTimes(st.Locks)
		dec, err = engine.Decide(st, h, engine.Env{Now: now, NewID: newID})
		if err != nil {
			return err
		}
		if written, err = s.write(ctx, tx, dec, now); err != nil || then == nil {
			return err
		}
		taken, err = then(tx, dec)
		return err
	})
	if err != nil {
		return err
	}
	// Measured before anyone is told: a client that saw the decision's end
	// finds it in /metrics.
	s.measure(dec, queued)
	if len(dec.Jobs) > taken {
		s.jobsQueued.broadcast()
	}
	if len(dec.Changed) > 0 || len(dec.Cancel) > 0 {
		s.changed.announce()
	}
	if len(dec.Changed) > 0 {
		ids := make([]string, len(dec.Changed))
		for i, e := range dec.Changed {
			ids[i] = e.ID
		}
		s.decidedWake.Notify(ids...)
	}
	if len(dec.Events) > 0 {
		s.logged.Notify(loggedKinds(dec.Events)...)
	}
	// Executions a happening brought (a start's) may be the caller's too:
	// only those read from the store are kept.
	for i, e := range dec.Changed {
		if loaded[e] {
			s.decided.keep(e, written[i])
		}
	}
	return nil
}

// write writes a decision and returns the documents of its changed
// executions, in order.
func (s *Service) write(ctx context.Context, tx store.Tx, dec engine.Decision, now time.Time) ([][]byte, error) {
	docs := make([][]byte, 0, len(dec.Changed))
	for _, e := range dec.Changed {
		doc, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encode execution %s: %w", e.ID, err)
		}
		err = tx.PutExecution(ctx, store.Execution{
			ID: e.ID, Pipeline: e.Pipeline, Seq: e.Seq, Status: string(e.Status),
			Active: !e.Status.Terminal(), TriggerType: e.Trigger.Type, TriggerDetail: e.Trigger.Detail,
			Document: doc, Started: e.StartTime, Updated: e.LastUpdate,
		})
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
	for _, c := range dec.Cancel {
		if err := tx.CancelJob(ctx, c.JobID, c.Reason, now); err != nil {
			return nil, err
		}
	}
	for _, j := range dec.Jobs {
		payload, err := json.Marshal(j)
		if err != nil {
			return nil, fmt.Errorf("encode job %s: %w", j.ID, err)
		}
		err = tx.InsertJob(ctx, store.Job{
			ID: j.ID, ExecutionID: j.ExecutionID, Pipeline: j.Pipeline, Stage: j.Stage, Action: j.Action,
			Attempt: j.Attempt, Provider: j.ActionType.Provider, Payload: payload, Status: store.JobQueued,
			Deadline: j.Deadline, Created: j.CreatedAt, NotBefore: j.NotBefore, Region: s.jobRegion(j),
		})
		if err != nil {
			return nil, err
		}
	}
	for name, l := range dec.Locks {
		doc, err := json.Marshal(l)
		if err != nil {
			return nil, fmt.Errorf("encode lock %s: %w", name, err)
		}
		if err := tx.PutLock(ctx, name, doc, now); err != nil {
			return nil, err
		}
	}
	for _, ev := range dec.Events {
		row, err := s.encodeEvent(ev)
		if err != nil {
			return nil, err
		}
		if err := tx.InsertEvent(ctx, row); err != nil {
			return nil, err
		}
	}
	return docs, nil
}

// RunSweeper turns expired leases and passed deadlines into happenings until ctx
// ends. Both are found in the store, so a restarted server, or another replica,
// picks up what a dead one left.
func (s *Service) RunSweeper(ctx context.Context) {
	t := time.NewTicker(s.sweep)
	defer t.Stop()
	for {
		if err := s.SweepOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("sweep expired jobs", "err", err)
		}
		// Jobs held back until a time (a function's next invocation) become
		// claimable without a decision; waiting claimers look again.
		s.jobsQueued.broadcast()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SweepOnce handles every job whose lease or deadline has passed.
func (s *Service) SweepOnce(ctx context.Context) error {
	jobs, err := s.store.ExpiredJobs(ctx, s.now(), 100)
	if err != nil {
		return err
	}
	var errs []error
	for _, j := range jobs {
		if err := s.expire(ctx, j); err != nil {
			errs = append(errs, fmt.Errorf("expire job %s: %w", j.ID, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) expire(ctx context.Context, j store.Job) error {
	ctx = jobLogContext(ctx, j)
	var ended store.JobStatus // what the sweep made of the job
	err := s.decide(ctx, j.Pipeline, j.ExecutionID, func(tx store.Tx, st *engine.State) (engine.Happening, error) {
		ended = ""
		cur, err := tx.Job(ctx, j.ID)
		if err != nil {
			return nil, err
		}
		now := s.now()
		if cur.Status.Finished() {
			return engine.Reconcile{}, nil
		}
		if !cur.Deadline.IsZero() && cur.Deadline.Before(now) {
			if err := tx.FinishJob(ctx, store.FinishJobParams{ID: j.ID, Status: store.JobTimedOut, Message: "timed out", Now: now}); err != nil {
				return nil, err
			}
			ended = store.JobTimedOut
			return engine.JobTimedOut{JobID: j.ID}, nil
		}
		if cur.Status == store.JobInProgress && cur.LeaseUntil.Before(now) {
			if err := tx.FinishJob(ctx, store.FinishJobParams{ID: j.ID, Status: store.JobLost, Message: "lease expired", Now: now}); err != nil {
				return nil, err
			}
			ended = store.JobLost
			return engine.JobLost{JobID: j.ID}, nil
		}
		return engine.Reconcile{}, nil
	})
	switch {
	case err != nil:
	case ended == store.JobLost:
		s.log.WarnContext(ctx, "job lost: its worker stopped renewing its lease", "worker", j.Worker, "attempt", j.Attempt, "leaseUntil", j.LeaseUntil)
	case ended == store.JobTimedOut:
		s.log.InfoContext(ctx, "job timed out", "attempt", j.Attempt, "deadline", j.Deadline)
	}
	if errors.Is(err, engine.ErrUnknownJob) || errors.Is(err, store.ErrNotFound) {
		// The action moved on meanwhile, or the pipeline was deleted: only the job row
		// is left to close.
		return s.store.Update(ctx, j.Pipeline, func(tx store.Tx) error {
			return tx.FinishJob(ctx, store.FinishJobParams{ID: j.ID, Status: store.JobCancelled, Message: "no longer wanted", Now: s.now()})
		})
	}
	return err
}

// jobLogContext is ctx naming job j in the lines logged with it.
func jobLogContext(ctx context.Context, j store.Job) context.Context {
	return logctx.With(ctx, logctx.Pipeline, j.Pipeline, logctx.Execution, j.ExecutionID,
		logctx.Stage, j.Stage, logctx.Action, j.Action, logctx.Job, j.ID)
}

// StopWaiting ends every long poll (job claims, heartbeats, execution and log
// waits) at once, as if its wait had run out, and makes Stopping ready so that
// event streams end too. The server calls it when shutdown begins, so that its
// HTTP server has no handler left to wait for and no handler outlives the store.
func (s *Service) StopWaiting() { s.stopOnce.Do(func() { close(s.stopping) }) }

// Stopping is closed once StopWaiting has been called.
func (s *Service) Stopping() <-chan struct{} { return s.stopping }
