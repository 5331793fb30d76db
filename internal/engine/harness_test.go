package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// t0 is the fake clock's starting time; tests advance it by hand.
var t0 = time.Date(2025, time.March, 1, 12, 0, 0, 0, time.UTC)

var (
	noopType     = pipeline.ActionTypeID{Category: pipeline.CategoryBuild, Owner: pipeline.OwnerAWS, Provider: "Noop", Version: "1"}
	commandsType = pipeline.ActionTypeID{Category: pipeline.CategoryCompute, Owner: pipeline.OwnerAWS, Provider: "Commands", Version: "1"}
)

// ---- building pipelines ----

type actionOpt func(*pipeline.Action)

func noop(name string, runOrder int, opts ...actionOpt) pipeline.Action {
	a := pipeline.Action{Name: name, ActionTypeID: noopType, RunOrder: runOrder}
	for _, o := range opts {
		o(&a)
	}
	return a
}

func cmds(name string, runOrder int, commands []string, opts ...actionOpt) pipeline.Action {
	a := pipeline.Action{Name: name, ActionTypeID: commandsType, RunOrder: runOrder, Commands: commands}
	for _, o := range opts {
		o(&a)
	}
	return a
}

// config sets configuration from key, value pairs.
func config(kv ...string) actionOpt {
	return func(a *pipeline.Action) {
		a.Configuration = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			a.Configuration[kv[i]] = kv[i+1]
		}
	}
}

func namespace(ns string, vars ...string) actionOpt {
	return func(a *pipeline.Action) { a.Namespace, a.OutputVariables = ns, vars }
}

func inputs(names ...string) actionOpt {
	return func(a *pipeline.Action) {
		for _, n := range names {
			a.InputArtifacts = append(a.InputArtifacts, pipeline.InputArtifact{Name: n})
		}
	}
}

func outputs(names ...string) actionOpt {
	return func(a *pipeline.Action) {
		for _, n := range names {
			a.OutputArtifacts = append(a.OutputArtifacts, pipeline.OutputArtifact{Name: n})
		}
	}
}

func timeoutMinutes(m int) actionOpt { return func(a *pipeline.Action) { a.TimeoutInMinutes = m } }
func maxAttempts(n int) actionOpt    { return func(a *pipeline.Action) { a.MaxAttempts = n } }

func stage(name string, actions ...pipeline.Action) pipeline.Stage {
	return pipeline.Stage{Name: name, Actions: actions}
}

func newPipeline(mode pipeline.ExecutionMode, stages ...pipeline.Stage) *pipeline.Pipeline {
	return &pipeline.Pipeline{Name: "app", PipelineType: "V2", ExecutionMode: mode, Stages: stages}
}

// linear is Source → Build → Deploy with one Noop action each.
func linear(mode pipeline.ExecutionMode) *pipeline.Pipeline {
	return newPipeline(mode,
		stage("Source", noop("src", 1)),
		stage("Build", noop("build", 1)),
		stage("Deploy", noop("deploy", 1)),
	)
}

// ---- driving the engine ----

// harness plays the service: it keeps every execution, hands Decide the
// non-terminal ones (plus the target of a stop or retry), keeps the set of open
// jobs (offered and neither answered nor cancelled), and checks the engine's
// invariants after every decision.
type harness struct {
	tb    testing.TB
	decl  *pipeline.Pipeline
	p     Pipeline
	execs []*Execution // every execution started, oldest first
	now   time.Time
	ids   int
	seq   int64

	open      map[string]Job
	events    []Event
	decisions []Decision
	// allExecutions passes terminal executions to Decide as well.
	allExecutions bool
	// locks is shared by harnesses of pipelines that name the same locks.
	locks map[string]*Lock
	// prefix starts execution ids ("exec-" unless set), so that harnesses of
	// different pipelines sharing locks do not reuse ids.
	prefix string
}

func newHarness(tb testing.TB, decl *pipeline.Pipeline) *harness {
	tb.Helper()
	return &harness{
		tb:    tb,
		decl:  decl,
		p:     Pipeline{Name: decl.Name, Version: 1, Mode: decl.ExecutionMode, Disabled: map[string]string{}},
		now:   t0,
		open:  map[string]Job{},
		locks: map[string]*Lock{},
	}
}

func (h *harness) newID() string {
	h.ids++
	return fmt.Sprintf("id-%04d", h.ids)
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (h *harness) env() Env { return Env{Now: h.now, NewID: h.newID} }

func (h *harness) tick(d time.Duration) { h.now = h.now.Add(d) }

func (h *harness) exec(id string) *Execution {
	for _, e := range h.execs {
		if e.ID == id {
			return e
		}
	}
	return nil
}

func (h *harness) state(hp Happening) State {
	target := ""
	switch hp := hp.(type) {
	case Retry:
		target = hp.ExecutionID
	case Stop:
		target = hp.ExecutionID
	}
	st := State{Pipeline: h.p, Locks: h.locks}
	for _, e := range h.execs {
		if h.allExecutions || !e.Status.Terminal() || e.ID == target {
			st.Executions = append(st.Executions, e)
		}
	}
	return st
}

// try runs one happening; on success it updates the open jobs and checks invariants.
func (h *harness) try(hp Happening) (Decision, error) {
	h.tb.Helper()
	d, err := Decide(h.state(hp), hp, h.env())
	if err != nil {
		return d, err
	}
	if s, ok := hp.(Start); ok {
		h.execs = append(h.execs, s.Execution)
	}
	if r, ok := hp.(Restart); ok {
		h.execs = append(h.execs, r.Next)
	}
	for _, c := range d.Cancel {
		delete(h.open, c.JobID)
	}
	switch hp := hp.(type) {
	case JobSucceeded:
		delete(h.open, hp.JobID)
	case JobFailed:
		delete(h.open, hp.JobID)
	case JobLost:
		delete(h.open, hp.JobID)
	case JobTimedOut:
		delete(h.open, hp.JobID)
	case ApprovalAnswer:
		delete(h.open, hp.JobID)
	case JobContinued:
		delete(h.open, hp.JobID)
	case Restart:
		delete(h.open, hp.JobID)
	}
	for _, j := range d.Jobs {
		if _, dup := h.open[j.ID]; dup {
			h.tb.Fatalf("job %s offered twice", j.ID)
		}
		h.open[j.ID] = j
	}
	h.events = append(h.events, d.Events...)
	h.decisions = append(h.decisions, d)
	if err := h.invariants(d); err != nil {
		h.tb.Fatalf("after %s: %v", describe(hp), err)
	}
	return d, nil
}

// do runs one happening that must be accepted.
func (h *harness) do(hp Happening) Decision {
	h.tb.Helper()
	d, err := h.try(hp)
	if err != nil {
		h.tb.Fatalf("%s: %v", describe(hp), err)
	}
	return d
}

// start starts a new execution with variables vars.
func (h *harness) start(vars map[string]string) *Execution {
	h.tb.Helper()
	h.seq++
	e, err := NewExecution(h.decl, h.p.Version, fmt.Sprintf("%s%d", cmpOr(h.prefix, "exec-"), h.seq), vars, nil, Trigger{Type: "StartPipelineExecution", Detail: "test"}, h.now)
	if err != nil {
		h.tb.Fatalf("NewExecution: %v", err)
	}
	e.Seq = h.seq
	h.do(Start{Execution: e})
	return e
}

// job returns the open job of the named action of e.
func (h *harness) job(e *Execution, action string) Job {
	h.tb.Helper()
	var found []Job
	for _, j := range h.open {
		if j.ExecutionID == e.ID && j.Action == action {
			found = append(found, j)
		}
	}
	if len(found) != 1 {
		h.tb.Fatalf("execution %s action %s: %d open jobs, want 1 (open: %v)", e.ID, action, len(found), h.openNames())
	}
	return found[0]
}

func (h *harness) hasJob(e *Execution, action string) bool {
	for _, j := range h.open {
		if j.ExecutionID == e.ID && j.Action == action {
			return true
		}
	}
	return false
}

// openNames lists the open jobs as "execution/action", sorted.
func (h *harness) openNames() []string {
	var out []string
	for _, j := range h.open {
		out = append(out, j.ExecutionID+"/"+j.Action)
	}
	slices.Sort(out)
	return out
}

func (h *harness) succeed(e *Execution, action string, vars map[string]string) Decision {
	h.tb.Helper()
	return h.do(JobSucceeded{JobID: h.job(e, action).ID, Summary: "ok", OutputVariables: vars})
}

func (h *harness) fail(e *Execution, action, msg string) Decision {
	h.tb.Helper()
	return h.do(JobFailed{JobID: h.job(e, action).ID, Message: msg})
}

// drain answers every open job with success, oldest job first, until none is left.
func (h *harness) drain() {
	h.tb.Helper()
	for n := 0; len(h.open) > 0; n++ {
		if n > 1000 {
			h.tb.Fatalf("drain does not end; open: %v", h.openNames())
		}
		ids := make([]string, 0, len(h.open))
		for id := range h.open {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		h.do(JobSucceeded{JobID: ids[0], Summary: "ok"})
	}
}

// invariants checks what must hold after every decision.
func (h *harness) invariants(d Decision) error {
	// Every offered job belongs to an action that is InProgress under that job.
	for _, j := range d.Jobs {
		e := h.exec(j.ExecutionID)
		if e == nil {
			return fmt.Errorf("job %s for unknown execution %s", j.ID, j.ExecutionID)
		}
		a := actionIn(e, j.Stage, j.Action)
		if a == nil {
			return fmt.Errorf("job %s for unknown action %s/%s", j.ID, j.Stage, j.Action)
		}
		if a.Status != ActionInProgress || a.JobID != j.ID {
			return fmt.Errorf("job %s offered for action %s/%s that is %s with job %s", j.ID, j.Stage, j.Action, a.Status, a.JobID)
		}
		if e.Status.Terminal() || e.Waiting || e.Stages[e.Current].Name != j.Stage {
			return fmt.Errorf("job %s offered for stage %s of execution %s that is %s, waiting %v, current %d", j.ID, j.Stage, e.ID, e.Status, e.Waiting, e.Current)
		}
	}
	// The open jobs are exactly the jobs of the InProgress actions.
	running := map[string]string{}
	for _, e := range h.execs {
		for si, st := range e.Stages {
			if c := st.evaluating(); c != nil {
				if e.Status.Terminal() || si != e.Current || e.Waiting {
					return fmt.Errorf("execution %s (%s, current %d) evaluates a %s condition of stage %s", e.ID, e.Status, e.Current, c.Kind, st.Name)
				}
				for _, a := range st.Actions {
					if a.Status == ActionInProgress {
						return fmt.Errorf("execution %s runs action %s while it evaluates a %s condition of stage %s", e.ID, a.Decl.Name, c.Kind, st.Name)
					}
				}
			}
			for _, a := range append(rulesOf(&st), st.Actions...) {
				if a.Status != ActionInProgress {
					continue
				}
				if e.Status.Terminal() {
					return fmt.Errorf("execution %s is %s but action %s is InProgress", e.ID, e.Status, a.Decl.Name)
				}
				if si != e.Current || e.Waiting {
					return fmt.Errorf("execution %s has action %s InProgress outside its current stage", e.ID, a.Decl.Name)
				}
				running[a.JobID] = e.ID + "/" + a.Decl.Name
			}
		}
	}
	for id, name := range running {
		if _, ok := h.open[id]; !ok {
			return fmt.Errorf("action %s is InProgress with job %s, which is not open", name, id)
		}
	}
	for id, j := range h.open {
		if _, ok := running[id]; !ok {
			return fmt.Errorf("job %s (%s/%s) is open but its action is not InProgress under it", id, j.ExecutionID, j.Action)
		}
	}
	// One execution per stage unless PARALLEL.
	if h.p.Mode != pipeline.Parallel {
		inside := map[string]string{}
		for _, e := range h.execs {
			if e.Status.Terminal() || e.Waiting || e.Current >= len(e.Stages) {
				continue
			}
			name := e.Stages[e.Current].Name
			if other, ok := inside[name]; ok {
				return fmt.Errorf("executions %s and %s are both inside stage %s in %s mode", other, e.ID, name, h.p.Mode)
			}
			inside[name] = e.ID
		}
	}
	// SUPERSEDED: at most one execution waits for a stage (stopping ones aside).
	if h.p.Mode == pipeline.Superseded {
		waiting := map[string]string{}
		for _, e := range h.execs {
			if e.Status != ExecutionInProgress || !e.Waiting {
				continue
			}
			name := e.Stages[e.Current].Name
			if other, ok := waiting[name]; ok {
				return fmt.Errorf("executions %s and %s both wait for stage %s in SUPERSEDED mode", other, e.ID, name)
			}
			waiting[name] = e.ID
		}
	}
	// Changed executions carry the decision's time.
	for _, e := range d.Changed {
		if !e.LastUpdate.Equal(h.now) {
			return fmt.Errorf("changed execution %s has lastUpdate %v, want %v", e.ID, e.LastUpdate, h.now)
		}
	}
	return nil
}

func actionIn(e *Execution, stageName, action string) *Action {
	for si := range e.Stages {
		if e.Stages[si].Name != stageName {
			continue
		}
		for ai := range e.Stages[si].Actions {
			if e.Stages[si].Actions[ai].Decl.Name == action {
				return &e.Stages[si].Actions[ai]
			}
		}
		// A rule of the condition being evaluated runs under a job too.
		if c := e.Stages[si].evaluating(); c != nil {
			for ri := range c.Rules {
				if c.Rules[ri].Decl.Name == action {
					return &c.Rules[ri]
				}
			}
		}
	}
	return nil
}

// rulesOf returns every rule of every condition state of st.
func rulesOf(st *Stage) []Action {
	var out []Action
	for _, c := range []*ConditionState{st.Entry, st.Success, st.Failure} {
		if c != nil {
			out = append(out, c.Rules...)
		}
	}
	return out
}

// act returns the named action of e, wherever it is.
func act(tb testing.TB, e *Execution, action string) *Action {
	tb.Helper()
	for si := range e.Stages {
		for ai := range e.Stages[si].Actions {
			if e.Stages[si].Actions[ai].Decl.Name == action {
				return &e.Stages[si].Actions[ai]
			}
		}
	}
	tb.Fatalf("execution %s has no action %s", e.ID, action)
	return nil
}

func stageOf(tb testing.TB, e *Execution, name string) *Stage {
	tb.Helper()
	for i := range e.Stages {
		if e.Stages[i].Name == name {
			return &e.Stages[i]
		}
	}
	tb.Fatalf("execution %s has no stage %s", e.ID, name)
	return nil
}

// ev renders an event compactly: "pipeline STARTED", "stage Build FAILED",
// "action Build/compile SUCCEEDED".
func ev(e Event) string {
	switch e.DetailType {
	case PipelineEvent:
		return "pipeline " + e.State
	case StageEvent:
		return "stage " + e.Stage + " " + e.State
	case ActionEvent:
		return "action " + e.Stage + "/" + e.Action + " " + e.State
	case RuleEvent:
		return "rule " + e.Stage + "/" + e.Action + " " + e.State
	case ConditionEvent:
		kind, _, _ := strings.Cut(e.Summary, ":")
		return "condition " + e.Stage + "/" + kind + " " + e.State
	}
	return "unknown " + e.DetailType + " " + e.State
}

func evs(events []Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = ev(e)
	}
	return out
}

// eventsOf renders the events of execution id.
func eventsOf(events []Event, id string) []string {
	var out []string
	for _, e := range events {
		if e.ExecutionID == id {
			out = append(out, ev(e))
		}
	}
	return out
}

func jobActions(jobs []Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.Action
	}
	slices.Sort(out)
	return out
}

func wantErrCode(tb testing.TB, err error, code string) {
	tb.Helper()
	var ee *Error
	if !errors.As(err, &ee) {
		tb.Fatalf("error %v (%T), want *engine.Error with code %s", err, err, code)
	}
	if string(ee.Code) != code {
		tb.Fatalf("error code %s (%s), want %s", ee.Code, ee.Message, code)
	}
}

func wantContains(tb testing.TB, what, got string, subs ...string) {
	tb.Helper()
	for _, s := range subs {
		if !strings.Contains(got, s) {
			tb.Errorf("%s = %q, want it to contain %q", what, got, s)
		}
	}
}

func wantEqual[T comparable](tb testing.TB, what string, got, want T) {
	tb.Helper()
	if got != want {
		tb.Errorf("%s = %v, want %v", what, got, want)
	}
}

func wantSlice(tb testing.TB, what string, got, want []string) {
	tb.Helper()
	if !slices.Equal(got, want) {
		tb.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// describe renders a happening for failure messages.
func describe(hp Happening) string {
	if s, ok := hp.(Start); ok {
		return "Start{" + s.Execution.ID + "}"
	}
	return fmt.Sprintf("%T%+v", hp, hp)
}
