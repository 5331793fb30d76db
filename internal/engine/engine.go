package engine

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/pipeline"
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
type JobFailed struct {
	JobID   string
	Message string
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

func (Start) happening()        {}
func (JobSucceeded) happening() {}
func (JobFailed) happening()    {}
func (JobLost) happening()      {}
func (JobTimedOut) happening()  {}
func (Stop) happening()         {}
func (Retry) happening()        {}
func (Reconcile) happening()    {}

// Error is a refusal of a request that does not fit the executions' state, with a
// message safe to show to the user.
type Error struct {
	Code string // "NotFound", "Conflict" or "Invalid"
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func conflict(format string, args ...any) error {
	return &Error{Code: "Conflict", Msg: fmt.Sprintf(format, args...)}
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
func NewExecution(decl *pipeline.Pipeline, version int, id string, vars map[string]string, trigger Trigger, now time.Time) (*Execution, error) {
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
		return nil, &Error{Code: "Invalid", Msg: fmt.Sprintf("pipeline %s declares no variable %s", decl.Name, strings.Join(unknown, ", "))}
	}
	e := &Execution{
		ID:         id,
		Pipeline:   decl.Name,
		Version:    version,
		Status:     ExecutionInProgress,
		Trigger:    trigger,
		Variables:  resolved,
		Waiting:    true,
		StartTime:  now,
		LastUpdate: now,
	}
	for _, s := range decl.Stages {
		st := Stage{Name: s.Name, Status: StageNotStarted}
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
		p:       s.Pipeline,
		env:     env,
		changed: map[*Execution]bool{},
	}
	if d.p.Mode == "" {
		d.p.Mode = pipeline.Superseded // CodePipeline's default
	}
	d.execs = slices.Clone(s.Executions)
	if st, ok := h.(Start); ok {
		d.execs = append(d.execs, st.Execution)
	}
	sort.SliceStable(d.execs, func(i, j int) bool { return d.execs[i].Seq < d.execs[j].Seq })

	if err := d.apply(h); err != nil {
		return Decision{}, err
	}
	d.reconcile()

	out := Decision{Jobs: d.jobs, Cancel: d.cancel, Events: d.events}
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
		a.LastUpdate = d.env.Now
		d.touch(e)
		d.emitAction(e, a, "SUCCEEDED", h.Summary)
		return nil
	case JobFailed:
		e, a, err := d.findJob(h.JobID)
		if err != nil {
			return err
		}
		d.failAction(e, a, h.Message)
		return nil
	case JobTimedOut:
		e, a, err := d.findJob(h.JobID)
		if err != nil {
			return err
		}
		d.cancel = append(d.cancel, CancelJob{JobID: a.JobID, Reason: "timed out"})
		d.failAction(e, a, fmt.Sprintf("action timed out after %s", formatDuration(timeoutOf(a.Decl))))
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
	return nil, nil, ErrUnknownJob
}

func (d *decider) find(id string) (*Execution, error) {
	for _, e := range d.execs {
		if e.ID == id {
			return e, nil
		}
	}
	return nil, &Error{Code: "NotFound", Msg: fmt.Sprintf("execution %s of pipeline %s not found", id, d.p.Name)}
}

func (d *decider) stop(h Stop) error {
	e, err := d.find(h.ExecutionID)
	if err != nil {
		return err
	}
	switch {
	case e.Status == ExecutionInProgress:
	case e.Status == ExecutionStopping && h.Abandon:
		// Upgrading a stop-and-wait to an abandon is allowed, as in CodePipeline.
	default:
		return conflict("execution %s is %s; only an execution in progress can be stopped", e.ID, e.Status)
	}
	e.StopReason = h.Reason
	d.touch(e)
	if h.Abandon {
		e.StopMode = StopAndAbandon
	} else {
		e.StopMode = StopAndWait
	}
	if e.Status != ExecutionStopping {
		e.Status = ExecutionStopping
		d.emit(e, PipelineEvent, "", nil, "STOPPING", h.Reason)
	}
	if !e.Waiting && e.Current < len(e.Stages) {
		st := &e.Stages[e.Current]
		if st.Status == StageInProgress {
			st.Status = StageStopping
			d.emit(e, StageEvent, st.Name, nil, "STOPPING", h.Reason)
		}
		if h.Abandon {
			for i := range st.Actions {
				a := &st.Actions[i]
				if a.Status != ActionInProgress {
					continue
				}
				a.Status = ActionAbandoned
				a.Summary = "abandoned: " + orDefault(h.Reason, "the execution was stopped")
				a.LastUpdate = d.env.Now
				d.cancel = append(d.cancel, CancelJob{JobID: a.JobID, Reason: "abandoned"})
				d.emitAction(e, a, "ABANDONED", a.Summary)
			}
		}
	}
	return nil
}

func (d *decider) retry(h Retry) error {
	e, err := d.find(h.ExecutionID)
	if err != nil {
		return err
	}
	if e.Status != ExecutionFailed && e.Status != ExecutionStopped {
		return conflict("execution %s is %s; only a failed or stopped execution can be retried", e.ID, e.Status)
	}
	if e.Waiting || e.Current >= len(e.Stages) || e.Stages[e.Current].Name != h.Stage {
		return conflict("stage %s of execution %s did not fail or stop; nothing to retry there", h.Stage, e.ID)
	}
	st := &e.Stages[e.Current]
	if st.Status != StageFailed && st.Status != StageStopped {
		return conflict("stage %s of execution %s is %s; only a failed or stopped stage can be retried", h.Stage, e.ID, st.Status)
	}
	if e.Version != d.p.Version {
		return conflict("pipeline %s was updated to version %d after execution %s started on version %d; start a new execution instead", d.p.Name, d.p.Version, e.ID, e.Version)
	}
	if d.p.Mode != pipeline.Parallel {
		if other := d.occupant(st.Name, e); other != nil {
			return conflict("stage %s is occupied by execution %s; retry once it has left the stage", st.Name, other.ID)
		}
	}
	// Actions not started yet count as work to retry: a stage stopped between
	// runOrder groups has no failed action but still has actions to run.
	reset := 0
	for i := range st.Actions {
		a := &st.Actions[i]
		if h.All || a.Status == ActionFailed || a.Status == ActionAbandoned || a.Status == ActionNotStarted {
			reset++
			a.Status = ActionNotStarted
			a.Summary = ""
			a.OutputVariables = nil
			a.OutputArtifacts = nil
		}
	}
	if reset == 0 {
		return conflict("stage %s of execution %s has no failed or unfinished action to retry; retry all actions instead", h.Stage, e.ID)
	}
	e.Status = ExecutionInProgress
	e.StopMode = ""
	e.StopReason = ""
	e.Summary = ""
	st.Status = StageInProgress
	st.Attempt++
	d.touch(e)
	d.emit(e, PipelineEvent, "", nil, "RESUMED", "")
	d.emit(e, StageEvent, st.Name, nil, "RESUMED", "")
	return nil
}

// reconcile advances every execution, oldest first, until none can move: one
// execution leaving a stage may let another one in.
func (d *decider) reconcile() {
	for range 4 * (len(d.execs) + 1) * (maxStages(d.execs) + 2) {
		moved := false
		for _, e := range d.execs {
			if d.advance(e) {
				moved = true
			}
		}
		if !moved {
			return
		}
	}
}

func maxStages(execs []*Execution) int {
	n := 0
	for _, e := range execs {
		n = max(n, len(e.Stages))
	}
	return n
}

// advance makes one step of progress for e, if it can, and reports whether it did.
func (d *decider) advance(e *Execution) bool {
	if e.Status.Terminal() {
		return false
	}
	if e.Waiting {
		if e.Status == ExecutionStopping {
			e.Status = ExecutionStopped
			e.Waiting = false
			e.WaitingFor = ""
			e.Summary = orDefault(e.StopReason, "stopped")
			d.touch(e)
			d.emit(e, PipelineEvent, "", nil, "STOPPED", e.StopReason)
			return true
		}
		return d.tryEnter(e)
	}
	st := &e.Stages[e.Current]
	var running, failed, notStarted, abandoned int
	for _, a := range st.Actions {
		switch a.Status {
		case ActionInProgress:
			running++
		case ActionFailed:
			failed++
		case ActionNotStarted:
			notStarted++
		case ActionAbandoned:
			abandoned++
		}
	}
	switch {
	case running > 0:
		return false
	case e.Status == ExecutionStopping:
		st.Status = StageStopped
		e.Status = ExecutionStopped
		e.Summary = orDefault(e.StopReason, "stopped")
		d.touch(e)
		d.emit(e, StageEvent, st.Name, nil, "STOPPED", e.StopReason)
		d.emit(e, PipelineEvent, "", nil, "STOPPED", e.StopReason)
		return true
	case failed > 0 || abandoned > 0:
		st.Status = StageFailed
		e.Status = ExecutionFailed
		e.Summary = failureSummary(st)
		d.touch(e)
		d.emit(e, StageEvent, st.Name, nil, "FAILED", e.Summary)
		d.emit(e, PipelineEvent, "", nil, "FAILED", e.Summary)
		return true
	case notStarted > 0:
		d.startNextGroup(e, st)
		return true
	}
	st.Status = StageSucceeded
	d.touch(e)
	d.emit(e, StageEvent, st.Name, nil, "SUCCEEDED", "")
	e.Current++
	if e.Current == len(e.Stages) {
		e.Status = ExecutionSucceeded
		d.emit(e, PipelineEvent, "", nil, "SUCCEEDED", "")
		return true
	}
	e.Waiting = true
	d.supersedeWaiting(e)
	return true
}

// tryEnter lets a waiting execution into its next stage when the transition is
// enabled and the execution mode allows it.
func (d *decider) tryEnter(e *Execution) bool {
	st := &e.Stages[e.Current]
	waitingFor := ""
	if reason, disabled := d.p.Disabled[st.Name]; disabled && e.Current > 0 {
		waitingFor = fmt.Sprintf("transition to stage %s is disabled", st.Name)
		if reason != "" {
			waitingFor += ": " + reason
		}
	} else if d.p.Mode != pipeline.Parallel {
		if other := d.occupant(st.Name, e); other != nil {
			waitingFor = fmt.Sprintf("stage %s is occupied by execution %s", st.Name, other.ID)
		} else if d.p.Mode == pipeline.Queued {
			if first := d.firstWaiting(st.Name); first != nil && first != e {
				waitingFor = fmt.Sprintf("queued behind execution %s for stage %s", first.ID, st.Name)
			}
		}
	}
	if waitingFor != "" {
		if e.WaitingFor != waitingFor {
			e.WaitingFor = waitingFor
			d.touch(e)
		}
		return false
	}
	e.Waiting = false
	e.WaitingFor = ""
	st.Status = StageInProgress
	if st.Attempt == 0 {
		st.Attempt = 1
	}
	d.touch(e)
	d.emit(e, StageEvent, st.Name, nil, "STARTED", "")
	return true
}

// occupant returns the execution other than e that is inside the stage named name.
func (d *decider) occupant(name string, e *Execution) *Execution {
	for _, o := range d.execs {
		if o == e || o.Status.Terminal() || o.Waiting || o.Current >= len(o.Stages) {
			continue
		}
		if o.Stages[o.Current].Name == name {
			return o
		}
	}
	return nil
}

func (d *decider) firstWaiting(name string) *Execution {
	for _, o := range d.execs { // sorted by Seq
		if !o.Status.Terminal() && o.Waiting && o.Stages[o.Current].Name == name {
			return o
		}
	}
	return nil
}

// supersedeWaiting applies SUPERSEDED mode when e starts waiting for a stage: only
// the newest execution waits at a stage, older ones end Superseded.
func (d *decider) supersedeWaiting(e *Execution) {
	if d.p.Mode != pipeline.Superseded {
		return
	}
	name := e.Stages[e.Current].Name
	var newest *Execution
	for _, o := range d.execs {
		if !o.Status.Terminal() && o.Waiting && o.Stages[o.Current].Name == name {
			if newest == nil || o.Seq > newest.Seq {
				newest = o
			}
		}
	}
	for _, o := range d.execs {
		if o == newest || o.Status.Terminal() || !o.Waiting || o.Stages[o.Current].Name != name {
			continue
		}
		if o.Status == ExecutionStopping {
			continue // it is about to stop on its own
		}
		o.Status = ExecutionSuperseded
		o.Waiting = false
		o.WaitingFor = ""
		o.Summary = fmt.Sprintf("superseded by execution %s", newest.ID)
		d.touch(o)
		d.emit(o, PipelineEvent, "", nil, "SUPERSEDED", o.Summary)
	}
}

// startNextGroup starts every not-started action of the lowest runOrder that has any.
func (d *decider) startNextGroup(e *Execution, st *Stage) {
	order, found := 0, false
	for _, a := range st.Actions {
		if a.Status == ActionNotStarted && (!found || runOrderOf(a.Decl) < order) {
			order, found = runOrderOf(a.Decl), true
		}
	}
	for i := range st.Actions {
		a := &st.Actions[i]
		if a.Status == ActionNotStarted && runOrderOf(a.Decl) == order {
			a.RunAttempts = 0
			d.offer(e, st, a)
		}
	}
}

// offer creates a job for a, resolving its variables and input artifacts; what
// cannot be resolved fails the action at once.
func (d *decider) offer(e *Execution, st *Stage, a *Action) {
	d.touch(e)
	first := a.Status != ActionInProgress
	a.Status = ActionInProgress
	a.Summary = ""
	a.Attempt++
	a.RunAttempts++
	a.JobID = d.env.NewID()
	a.LastUpdate = d.env.Now
	if first {
		a.StartTime = d.env.Now
		d.emitAction(e, a, "STARTED", "")
	}

	lookup := variableLookup(e)
	var problems []string
	config := make(map[string]string, len(a.Decl.Configuration))
	for _, k := range slices.Sorted(maps.Keys(a.Decl.Configuration)) {
		v, err := pipeline.Resolve(a.Decl.Configuration[k], lookup)
		if err != nil {
			problems = append(problems, fmt.Sprintf("configuration %s: %v", k, err))
		}
		config[k] = v
	}
	commands := make([]string, len(a.Decl.Commands))
	for i, c := range a.Decl.Commands {
		v, err := pipeline.Resolve(c, lookup)
		if err != nil {
			problems = append(problems, fmt.Sprintf("commands[%d]: %v", i, err))
		}
		commands[i] = v
	}
	var inputs []ArtifactRef
	for _, in := range a.Decl.InputArtifacts {
		ref, ok := findArtifact(e, in.Name)
		if !ok {
			problems = append(problems, fmt.Sprintf("input artifact %s was not produced by an earlier action", in.Name))
			continue
		}
		inputs = append(inputs, ref)
	}
	if len(problems) > 0 {
		d.failAction(e, a, strings.Join(problems, "; "))
		return
	}
	var outputs []OutputArtifact
	for _, o := range a.Decl.OutputArtifacts {
		outputs = append(outputs, OutputArtifact{Name: o.Name, Files: o.Files, Key: ArtifactKey(e.ID, o.Name, a.JobID)})
	}
	timeout := timeoutOf(a.Decl)
	d.jobs = append(d.jobs, Job{
		ID:              a.JobID,
		ExecutionID:     e.ID,
		Pipeline:        e.Pipeline,
		Stage:           st.Name,
		Action:          a.Decl.Name,
		Attempt:         a.Attempt,
		ActionType:      a.Decl.ActionTypeID,
		Configuration:   config,
		Commands:        commands,
		Variables:       maps.Clone(e.Variables),
		InputArtifacts:  inputs,
		OutputArtifacts: outputs,
		OutputVariables: slices.Clone(a.Decl.OutputVariables),
		Timeout:         timeout,
		Deadline:        a.StartTime.Add(timeout),
		CreatedAt:       d.env.Now,
	})
}

func (d *decider) failAction(e *Execution, a *Action, msg string) {
	a.Status = ActionFailed
	a.Summary = msg
	a.LastUpdate = d.env.Now
	d.touch(e)
	d.emitAction(e, a, "FAILED", msg)
}

// ArtifactKey is where the artifact name produced by job jobID of execution id is
// stored. The job is part of the key so that artifacts stay immutable across retries.
func ArtifactKey(executionID, name, jobID string) string {
	return executionID + "/" + name + "/" + jobID + ".zip"
}

func findArtifact(e *Execution, name string) (ArtifactRef, bool) {
	for _, st := range e.Stages {
		for _, a := range st.Actions {
			if a.Status != ActionSucceeded {
				continue
			}
			for _, o := range a.OutputArtifacts {
				if o.Name == name {
					return o, true
				}
			}
		}
	}
	return ArtifactRef{}, false
}

// variableLookup resolves #{namespace.name} for e: pipeline variables, the
// codepipeline namespace, and the output variables of succeeded actions.
func variableLookup(e *Execution) func(ns, name string) (string, bool) {
	return func(ns, name string) (string, bool) {
		switch ns {
		case "variables":
			v, ok := e.Variables[name]
			return v, ok
		case "codepipeline":
			switch name {
			case "PipelineExecutionId":
				return e.ID, true
			case "PipelineName":
				return e.Pipeline, true
			}
			return "", false
		}
		for _, st := range e.Stages {
			for _, a := range st.Actions {
				if a.Decl.Namespace == ns && a.Status == ActionSucceeded {
					v, ok := a.OutputVariables[name]
					return v, ok
				}
			}
		}
		return "", false
	}
}

// runOrderOf reads an unset runOrder as 1, as validation does.
func runOrderOf(a pipeline.Action) int {
	if a.RunOrder == 0 {
		return 1
	}
	return a.RunOrder
}

func timeoutOf(a pipeline.Action) time.Duration {
	if a.TimeoutInMinutes > 0 {
		return time.Duration(a.TimeoutInMinutes) * time.Minute
	}
	return DefaultTimeout
}

func failureSummary(st *Stage) string {
	var parts []string
	for _, a := range st.Actions {
		if a.Status == ActionFailed || a.Status == ActionAbandoned {
			parts = append(parts, fmt.Sprintf("action %s %s: %s", a.Decl.Name, strings.ToLower(string(a.Status)), a.Summary))
		}
	}
	return fmt.Sprintf("stage %s failed: %s", st.Name, strings.Join(parts, "; "))
}

func (d *decider) touch(e *Execution) { d.changed[e] = true }

func (d *decider) emit(e *Execution, kind, stage string, a *Action, state, summary string) {
	ev := Event{
		DetailType:  kind,
		Time:        d.env.Now,
		Pipeline:    e.Pipeline,
		Version:     e.Version,
		ExecutionID: e.ID,
		Stage:       stage,
		State:       state,
		Trigger:     e.Trigger,
		Summary:     summary,
	}
	if a != nil {
		t := a.Decl.ActionTypeID
		ev.Action = a.Decl.Name
		ev.ActionType = &t
		ev.Attempt = a.Attempt
	}
	d.events = append(d.events, ev)
}

func (d *decider) emitAction(e *Execution, a *Action, state, summary string) {
	d.emit(e, ActionEvent, e.Stages[e.Current].Name, a, state, summary)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func formatDuration(t time.Duration) string {
	if t%time.Minute == 0 {
		m := int(t / time.Minute)
		if m == 1 {
			return "1 minute"
		}
		return fmt.Sprintf("%d minutes", m)
	}
	return t.String()
}
