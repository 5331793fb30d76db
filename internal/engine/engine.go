package engine

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/errcode"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// Pipeline is what the engine needs to know of a pipeline beyond its executions.
type Pipeline struct {
	Name    string
	Version int // the current version; a retry needs the execution to be on it
	Mode    pipeline.ExecutionMode
	// Disabled holds the stages whose inbound transition is disabled, with the reason.
	Disabled map[string]string
}

// State is everything Decide looks at: a pipeline and all its executions that are
// not terminal, plus, for a retry, the execution being retried.
type State struct {
	Pipeline   Pipeline
	Executions []*Execution
	// Locks holds every lock the executions or the pipeline name, shared with
	// other pipelines; a missing entry is a free lock with nobody waiting.
	Locks map[string]*Lock
}

// Env gives Decide the time and the identifiers it may use, so that it stays
// deterministic under test.
type Env struct {
	Now   time.Time
	NewID func() string
}

// Decision is what the service applies in one transaction.
type Decision struct {
	Changed []*Execution // executions whose document changed, new ones included
	Jobs    []Job        // jobs to offer to workers
	Cancel  []CancelJob  // jobs to withdraw or kill
	Events  []Event
	Locks   map[string]*Lock // locks whose holder or queue changed
	// Rollbacks are the rollback executions conditions asked for.
	Rollbacks []RollbackRequest
}

// Happening is one thing that happened to a pipeline.
type Happening interface{ happening() }

// Start begins a new execution, made with NewExecution.
type Start struct{ Execution *Execution }

// JobSucceeded reports a job's success.
type JobSucceeded struct {
	JobID           string
	Summary         string
	OutputVariables map[string]string
}

// JobFailed reports a job's failure; Message is shown as the action's summary.
// Artifacts names the declared outputs the worker uploaded despite the
// failure (a build whose upload phase ran); they are kept as the action's
// FailedArtifacts.
type JobFailed struct {
	JobID     string
	Message   string
	Artifacts []string
}

// JobLost reports that the worker holding a job stopped renewing its lease.
type JobLost struct{ JobID string }

// JobTimedOut reports that a job ran past its action's timeout.
type JobTimedOut struct{ JobID string }

// Stop asks an execution to stop, letting running actions finish or abandoning them.
type Stop struct {
	ExecutionID string
	Abandon     bool
	Reason      string
}

// Retry re-runs the failed (or, with All, every) action of a failed or stopped
// stage in the same execution.
type Retry struct {
	ExecutionID string
	Stage       string
	All         bool
}

// Reconcile moves every execution as far as it can go; it follows a change outside
// the executions, such as a transition being enabled.
type Reconcile struct{}

func (Start) happening()          {}
func (JobSucceeded) happening()   {}
func (JobFailed) happening()      {}
func (JobLost) happening()        {}
func (JobTimedOut) happening()    {}
func (Stop) happening()           {}
func (Retry) happening()          {}
func (Reconcile) happening()      {}
func (ActionProgress) happening() {}
func (ApprovalAnswer) happening() {}
func (JobContinued) happening()   {}
func (Restart) happening()        {}

// Error is a refusal of a request that does not fit the executions' state, with a
// message safe to show to the user; its code is NotFound, Conflict or Invalid.
type Error = errcode.Error

func conflict(format string, args ...any) error {
	return errcode.Errorf(errcode.Conflict, format, args...)
}

// ErrUnknownJob is returned for a job result that matches no running action: the
// action was abandoned, timed out or superseded meanwhile, or the report is a
// duplicate. The service drops such results.
var ErrUnknownJob = errors.New("job is not running in any execution")

// DefaultTimeout is an action's timeout when its declaration gives none.
const DefaultTimeout = 60 * time.Minute

// DefaultMaxAttempts is how many times an action's job is offered when workers
// vanish: once more after the first, as the job protocol promises.
const DefaultMaxAttempts = 2

// NewExecution builds an execution of version of decl, with the pipeline variables'
// defaults overridden by vars. A variable that the pipeline does not declare is an
// error, as in CodePipeline.
//
// revisions pins source actions to commits (action name → commit id); each must
// name a Source action of decl.
func NewExecution(decl *pipeline.Pipeline, version int, id string, vars map[string]string, revisions map[string]string, trigger Trigger, now time.Time) (*Execution, error) {
	return NewExecutionWith(decl, version, id, vars, Overrides(revisions), trigger, now)
}

// NewExecutionWith is NewExecution with typed source revision overrides
// (CodePipeline's sourceRevisions of StartPipelineExecution); see
// pinRevisions for what each type may pin.
func NewExecutionWith(decl *pipeline.Pipeline, version int, id string, vars map[string]string, overrides []RevisionOverride, trigger Trigger, now time.Time) (*Execution, error) {
	resolved := make(map[string]string, len(decl.Variables))
	declared := make(map[string]bool, len(decl.Variables))
	for _, v := range decl.Variables {
		declared[v.Name] = true
		resolved[v.Name] = v.DefaultValue
	}
	var unknown []string
	for k, v := range vars {
		if !declared[k] {
			unknown = append(unknown, k)
			continue
		}
		resolved[k] = v
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		msg := fmt.Sprintf("pipeline %s declares no variable %s", decl.Name, strings.Join(unknown, ", "))
		if len(unknown) == 1 {
			var names []string
			for _, v := range decl.Variables {
				names = append(names, v.Name)
			}
			var hints yamlnode.Hints
			msg += hints.DidYouMean(unknown[0], names)
		}
		return nil, errcode.Errorf(errcode.Invalid, "%s", msg)
	}
	pinned, err := pinRevisions(decl, overrides)
	if err != nil {
		return nil, err
	}
	e := &Execution{
		SourceRevisions: pinned,
		ID:              id,
		Pipeline:        decl.Name,
		Version:         version,
		Status:          ExecutionInProgress,
		Trigger:         trigger,
		Variables:       resolved,
		Waiting:         true,
		StartTime:       now,
		LastUpdate:      now,
		Lock:            decl.Lock,
	}
	for _, s := range decl.Stages {
		b, sc, f := s.Conditions()
		st := Stage{Name: s.Name, Status: StageNotStarted, Lock: s.Lock, BeforeEntry: b, OnSuccess: sc, OnFailure: f}
		for _, a := range s.Actions {
			st.Actions = append(st.Actions, Action{Decl: a, Status: ActionNotStarted})
		}
		e.Stages = append(e.Stages, st)
	}
	return e, nil
}

// Decide applies h to s and returns what changed. It mutates the executions in s.
func Decide(s State, h Happening, env Env) (Decision, error) {
	d := &decider{
		p:            s.Pipeline,
		env:          env,
		changed:      map[*Execution]bool{},
		locks:        s.Locks,
		locksChanged: map[string]bool{},
	}
	if d.locks == nil {
		d.locks = map[string]*Lock{}
	}
	if d.p.Mode == "" {
		d.p.Mode = pipeline.Superseded // CodePipeline's default
	}
	d.execs = slices.Clone(s.Executions)
	switch h := h.(type) {
	case Start:
		d.execs = append(d.execs, h.Execution)
	case Restart:
		d.execs = append(d.execs, h.Next)
	}
	sort.SliceStable(d.execs, func(i, j int) bool { return d.execs[i].Seq < d.execs[j].Seq })

	if err := d.apply(h); err != nil {
		return Decision{}, err
	}
	d.reconcile()

	out := Decision{Jobs: d.jobs, Cancel: d.cancel, Events: d.events, Rollbacks: d.rollbacks}
	for name := range d.locksChanged {
		if out.Locks == nil {
			out.Locks = map[string]*Lock{}
		}
		out.Locks[name] = d.lock(name)
	}
	for _, e := range d.execs {
		if d.changed[e] {
			e.LastUpdate = env.Now
			out.Changed = append(out.Changed, e)
		}
	}
	return out, nil
}

type decider struct {
	p       Pipeline
	env     Env
	execs   []*Execution
	changed map[*Execution]bool
	jobs    []Job
	cancel  []CancelJob
	events  []Event
	// rollbacks are asked for by conditions' ROLLBACK results.
	rollbacks []RollbackRequest

	locks        map[string]*Lock
	locksChanged map[string]bool
}

func (d *decider) apply(h Happening) error {
	switch h := h.(type) {
	case Start:
		e := h.Execution
		d.touch(e)
		d.emit(e, PipelineEvent, "", nil, "STARTED", "")
		// A new execution arrives to wait for the first stage: in SUPERSEDED mode
		// it replaces an older one waiting there.
		d.supersedeWaiting(e)
		return nil
	case JobSucceeded:
		e, a, err := d.findJob(h.JobID)
		if err != nil {
			return err
		}
		a.Status = ActionSucceeded
		a.Summary = h.Summary
		a.OutputVariables = h.OutputVariables
		a.OutputArtifacts = nil
		for _, o := range a.Decl.OutputArtifacts {
			a.OutputArtifacts = append(a.OutputArtifacts, ArtifactRef{Name: o.Name, Key: ArtifactKey(e.ID, o.Name, a.JobID)})
		}
		a.FailedArtifacts, a.FailedAttempt = nil, 0
		a.LastUpdate = d.env.Now
		recordRevision(e, a)
		d.touch(e)
		if a.Decl.ActionTypeID.Provider == pipeline.ProviderPipelineGate {
			d.emit(e, GateEvent, e.Stages[e.Current].Name, a, "RELEASED", h.Summary)
		}
		d.emitAction(e, a, "SUCCEEDED", h.Summary)
		return nil
	case JobFailed:
		e, a, err := d.findJob(h.JobID)
		if err != nil {
			return err
		}
		a.FailedArtifacts, a.FailedAttempt = nil, 0
		for _, o := range a.Decl.OutputArtifacts {
			if slices.Contains(h.Artifacts, o.Name) {
				a.FailedArtifacts = append(a.FailedArtifacts, ArtifactRef{Name: o.Name, Key: ArtifactKey(e.ID, o.Name, a.JobID)})
				a.FailedAttempt = a.Attempt
			}
		}
		d.failAction(e, a, h.Message)
		return nil
	case JobTimedOut:
		e, a, err := d.findJob(h.JobID)
		if err != nil {
			return err
		}
		d.cancel = append(d.cancel, CancelJob{JobID: a.JobID, Reason: "timed out"})
		if IsRule(a.Decl) && a.Decl.ActionTypeID.Provider == pipeline.RuleDeploymentWindow {
			// The deadline of a window's wait is its opening: decide again.
			d.window(e, &e.Stages[e.Current], a)
			return nil
		}
		d.failAction(e, a, timeoutMessage(a.Decl))
		return nil
	case JobLost:
		e, a, err := d.findJob(h.JobID)
		if err != nil {
			return err
		}
		d.cancel = append(d.cancel, CancelJob{JobID: a.JobID, Reason: "lease expired"})
		max := a.Decl.MaxAttempts
		if max == 0 {
			max = DefaultMaxAttempts
		}
		if e.Status == ExecutionStopping {
			a.Status = ActionAbandoned
			a.Summary = "the worker running it was lost while the execution was stopping"
			a.LastUpdate = d.env.Now
			d.touch(e)
			d.emitAction(e, a, "ABANDONED", a.Summary)
			return nil
		}
		if a.RunAttempts >= max {
			d.failAction(e, a, fmt.Sprintf("the worker running attempt %d stopped renewing its lease; gave up after %s", a.Attempt, plural(a.RunAttempts, "attempt")))
			return nil
		}
		d.offer(e, &e.Stages[e.Current], a)
		return nil
	case Stop:
		return d.stop(h)
	case Retry:
		return d.retry(h)
	case Reconcile:
		return nil
	case ActionProgress:
		return d.progress(h)
	case ApprovalAnswer:
		return d.answer(h)
	case JobContinued:
		return d.continued(h)
	case Restart:
		return d.restart(h)
	case OverrideCondition:
		return d.override(h)
	}
	return fmt.Errorf("engine: unknown happening %T", h)
}

// findJob finds the running action whose current job is jobID.
func (d *decider) findJob(jobID string) (*Execution, *Action, error) {
	for _, e := range d.execs {
		if e.Status.Terminal() || e.Waiting || e.Current >= len(e.Stages) {
			continue
		}
		st := &e.Stages[e.Current]
		for i := range st.Actions {
			a := &st.Actions[i]
			if a.JobID == jobID && a.Status == ActionInProgress {
				return e, a, nil
			}
		}
	}
	if e, a := d.findRuleJob(jobID); a != nil {
		return e, a, nil
	}
	return nil, nil, ErrUnknownJob
}

func (d *decider) find(id string) (*Execution, error) {
	for _, e := range d.execs {
		if e.ID == id {
			return e, nil
		}
	}
	return nil, errcode.Errorf(errcode.NotFound, "execution %s of pipeline %s not found", id, d.p.Name)
}

// sourceProvider is the provider of the source action name, or "".
func sourceProvider(decl *pipeline.Pipeline, name string) string {
	for _, st := range decl.Stages {
		for _, a := range st.Actions {
			if a.Name == name && a.ActionTypeID.Category == pipeline.CategorySource {
				return a.ActionTypeID.Provider
			}
		}
	}
	return ""
}

// isObjectRevision reports whether s can be an S3 object's version id or
// ETag: printable ASCII without spaces.
func isObjectRevision(s string) bool {
	if s == "" || len(s) > 1024 {
		return false
	}
	for _, c := range s {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

func isSourceAction(decl *pipeline.Pipeline, name string) bool {
	for _, st := range decl.Stages {
		for _, a := range st.Actions {
			if a.Name == name && a.ActionTypeID.Category == pipeline.CategorySource {
				return true
			}
		}
	}
	return false
}

// isImageDigest reports whether s is a sha256 manifest digest.
func isImageDigest(s string) bool {
	hex, ok := strings.CutPrefix(s, "sha256:")
	return ok && len(hex) == 64 && isRevisionID(hex) && strings.ToLower(hex) == hex
}

// isRevisionID reports whether s can be a commit id, full or abbreviated.
func isRevisionID(s string) bool {
	if len(s) < 4 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
