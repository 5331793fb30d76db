package engine

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/errcode"
	"github.com/sluice-ci/sluice/internal/pipeline"
)

// Stage conditions (pipeline/conditions.go says what each kind means) are
// decisions of this state machine like any other. An evaluation is part of
// the execution's document (Stage.Entry, Success, Failure), so a restart finds
// it where it was. Each rule of a condition is run as an action of category
// Rule: VariableCheck and DeploymentWindow are decided here at once, from the
// execution's variables and Env.Now; the others (Commands, LambdaInvoke,
// CloudWatchAlarm, Metric) are offered as jobs, which workers run and answer
// as they answer an action's, with the same timeouts, leases and attempts.
//
// A condition is met when every rule succeeds; the first rule that fails
// abandons the others and the condition's result engages, for every kind of
// condition, as CodePipeline says ("when the criteria are not met, the
// specified result engages"): an onFailure condition with a CloudWatchAlarm
// rule rolls back when the alarm is in ALARM.

// ConditionStatus is the status of one evaluation of a stage condition, as
// CodePipeline names them.
type ConditionStatus string

const (
	ConditionInProgress ConditionStatus = "InProgress"
	ConditionSucceeded  ConditionStatus = "Succeeded"
	ConditionFailed     ConditionStatus = "Failed"
	ConditionOverridden ConditionStatus = "Overridden"
	ConditionCancelled  ConditionStatus = "Cancelled"
)

// StageSkipped is the status of a stage an entry condition skipped.
const StageSkipped StageStatus = "Skipped"

// RuleEvent is the event kind of a rule's evaluation changing state.
const RuleEvent = "sluice Rule Execution State Change"

// ConditionEvent is the event kind of a stage condition's evaluation
// changing state.
const ConditionEvent = "sluice Stage Condition State Change"

// MaxAutomaticRetries bounds the automatic retries of one stage run by an
// onFailure RETRY result: after it, the stage fails as it would without.
const MaxAutomaticRetries = 1

// ConditionState is the latest evaluation of one kind of condition of a stage.
type ConditionState struct {
	Kind   string          `json:"kind"`
	Status ConditionStatus `json:"status"`
	// Result is the result that engaged (FAIL, SKIP, ROLLBACK, RETRY), or
	// "" when the condition was met or overridden.
	Result  string `json:"result,omitempty"`
	Summary string `json:"summary,omitempty"`
	// StageAttempt is the attempt of the stage it was evaluated for.
	StageAttempt int `json:"stageAttempt"`
	// Rules are the condition's rules, each run as an action of category Rule.
	Rules        []Action  `json:"ruleExecutions"`
	OverriddenBy string    `json:"overriddenBy,omitempty"`
	StartTime    time.Time `json:"startTime"`
	LastUpdate   time.Time `json:"lastUpdateTime"`
}

// OverrideCondition ends an evaluation in progress as if it were met, as
// CodePipeline's OverrideStageCondition does; Kind is beforeEntry or onSuccess.
type OverrideCondition struct {
	ExecutionID string
	Stage       string
	Kind        string
	By          string
}

func (OverrideCondition) happening() {}

// RollbackRequest asks for a rollback execution of Stage: a condition's
// ROLLBACK result engaged for execution ExecutionID. The engine sees only
// executions that have not ended, so the service finds the target (the last
// execution that succeeded through the stage) and starts the rollback.
type RollbackRequest struct {
	Pipeline    string
	Stage       string
	ExecutionID string
	Reason      string
}

// conditionOf returns the state slot of kind on st.
func (st *Stage) conditionOf(kind string) **ConditionState {
	switch kind {
	case pipeline.ConditionBeforeEntry:
		return &st.Entry
	case pipeline.ConditionOnSuccess:
		return &st.Success
	}
	return &st.Failure
}

// declared reports whether st declares conditions of kind, and returns them
// with the onFailure result.
func (st *Stage) declared(kind string) ([]pipeline.Condition, string, string, bool) {
	decl := pipeline.Stage{BeforeEntry: st.BeforeEntry, OnSuccess: st.OnSuccess, OnFailure: st.OnFailure}
	conds, result, mode := decl.Condition(kind)
	switch kind {
	case pipeline.ConditionBeforeEntry:
		return conds, result, mode, st.BeforeEntry != nil
	case pipeline.ConditionOnSuccess:
		return conds, result, mode, st.OnSuccess != nil
	}
	return conds, result, mode, st.OnFailure != nil
}

// evaluating returns the condition of st being evaluated, if any.
func (st *Stage) evaluating() *ConditionState {
	for _, c := range []*ConditionState{st.Entry, st.Success, st.Failure} {
		if c != nil && c.Status == ConditionInProgress {
			return c
		}
	}
	return nil
}

// ruleAction is the action a rule runs as. LambdaInvoke runs a sluice
// function as the Lambda action does, Commands as the Commands action does.
func ruleAction(r pipeline.RuleDeclaration) pipeline.Action {
	provider := r.RuleTypeID.Provider
	if provider == pipeline.RuleLambdaInvoke {
		provider = pipeline.ProviderLambda
	}
	return pipeline.Action{
		Name:             r.Name,
		ActionTypeID:     pipeline.ActionTypeID{Category: pipeline.RuleCategory, Owner: pipeline.OwnerAWS, Provider: provider, Version: "1"},
		RunOrder:         1,
		Configuration:    r.Configuration,
		Commands:         r.Commands,
		InputArtifacts:   r.InputArtifacts,
		Region:           r.Region,
		RoleArn:          r.RoleArn,
		TimeoutInMinutes: r.TimeoutInMinutes,
	}
}

// IsRule reports whether a is a condition's rule rather than a stage's action.
func IsRule(a pipeline.Action) bool { return a.ActionTypeID.Category == pipeline.RuleCategory }

// beginCondition starts evaluating st's conditions of kind. It reports
// false when st declares none (or only onFailure's bare result), so there is
// nothing to evaluate.
func (d *decider) beginCondition(e *Execution, st *Stage, kind string) bool {
	conds, _, _, ok := st.declared(kind)
	if !ok || len(conds) == 0 {
		return false
	}
	c := &ConditionState{Kind: kind, Status: ConditionInProgress, StageAttempt: st.Attempt, StartTime: d.env.Now, LastUpdate: d.env.Now}
	for _, cond := range conds {
		for _, r := range cond.Rules {
			c.Rules = append(c.Rules, Action{Decl: ruleAction(r), Status: ActionNotStarted})
		}
	}
	*st.conditionOf(kind) = c
	d.touch(e)
	d.emit(e, ConditionEvent, st.Name, nil, "STARTED", kind)
	for i := range c.Rules {
		a := &c.Rules[i]
		switch a.Decl.ActionTypeID.Provider {
		case pipeline.RuleDeploymentWindow:
			d.window(e, st, a)
		case pipeline.RuleVariableCheck:
			a.Status = ActionInProgress
			a.Attempt, a.StartTime, a.LastUpdate = 1, d.env.Now, d.env.Now
			d.emitAction(e, a, "STARTED", "")
			ok, msg := d.evaluateInline(e, a.Decl)
			a.Summary = msg
			if ok {
				a.Status = ActionSucceeded
				d.emitAction(e, a, "SUCCEEDED", msg)
			} else {
				a.Status = ActionFailed
				d.emitAction(e, a, "FAILED", msg)
			}
		default:
			d.offer(e, st, a)
		}
		if a.Status == ActionFailed {
			break // the condition is decided; the rest need not run
		}
	}
	return true
}

// evaluateInline decides a rule that needs no worker.
func (d *decider) evaluateInline(e *Execution, r pipeline.Action) (bool, string) {
	cfg := r.Configuration
	switch r.ActionTypeID.Provider {
	case pipeline.RuleVariableCheck:
		lookup := variableLookup(e)
		v, err := pipeline.Resolve(cfg["Variable"], lookup)
		if err != nil {
			return false, fmt.Sprintf("%s: %v", cfg["Variable"], err)
		}
		want, err := pipeline.Resolve(cfg["Value"], lookup)
		if err != nil {
			return false, fmt.Sprintf("Value: %v", err)
		}
		var met bool
		switch cfg["Operator"] {
		case "EQ":
			met = v == want
		case "NE":
			met = v != want
		case "CONTAINS":
			met = strings.Contains(v, want)
		case "MATCHES":
			// Java's String.matches, which CodePipeline uses, matches the
			// whole value.
			re, err := regexp.Compile(`^(?:` + want + `)$`)
			if err != nil {
				return false, fmt.Sprintf("Value %q is not a regular expression: %v", want, err)
			}
			met = re.MatchString(v)
		default:
			return false, fmt.Sprintf("unknown operator %q", cfg["Operator"])
		}
		verdict := "holds"
		if !met {
			verdict = "does not hold"
		}
		return met, fmt.Sprintf("%s = %q: %s %s %q %s", cfg["Variable"], v, cfg["Variable"], cfg["Operator"], want, verdict)
	}
	return false, "rule type " + r.ActionTypeID.Provider + " cannot be decided here"
}

// window decides a DeploymentWindow rule a, which is InProgress or about to
// be: inside the window it succeeds; outside, it waits for the window to
// open, as CodePipeline's does. The wait is a job no worker claims (no
// worker runs DeploymentWindow) whose deadline is the opening: the sweeper
// turns the deadline into JobTimedOut, and the engine decides again then, so
// the wait is durable and follows Env.Now, never a sleep.
func (d *decider) window(e *Execution, st *Stage, a *Action) {
	cfg := a.Decl.Configuration
	now := d.env.Now
	first := a.Status != ActionInProgress
	if first {
		a.Status = ActionInProgress
		a.Attempt, a.StartTime = 1, now
		d.emitAction(e, a, "STARTED", "")
	}
	a.LastUpdate = now
	in, next, err := pipeline.InWindow(cfg["Cron"], cfg["TimeZone"], now)
	stamp := now.UTC().Format(time.RFC3339)
	switch {
	case err != nil:
		d.failAction(e, a, err.Error())
	case in:
		a.Status = ActionSucceeded
		a.Summary = fmt.Sprintf("%s is inside the deployment window %s", stamp, cfg["Cron"])
		d.emitAction(e, a, "SUCCEEDED", a.Summary)
	case next.IsZero():
		d.failAction(e, a, fmt.Sprintf("%s is outside the deployment window %s, which never opens again", stamp, cfg["Cron"]))
	default:
		d.offer(e, st, a)
		j := &d.jobs[len(d.jobs)-1]
		j.Deadline = next.UTC()
		a.Summary = fmt.Sprintf("waiting for the deployment window %s to open at %s", cfg["Cron"], next.UTC().Format(time.RFC3339))
	}
	d.touch(e)
}

// conditionStep moves an evaluation in progress on: it ends it once a rule
// failed or every rule succeeded. It reports whether anything changed.
func (d *decider) conditionStep(e *Execution, st *Stage, c *ConditionState) bool {
	var running, failed int
	var failedRule *Action
	for i := range c.Rules {
		switch c.Rules[i].Status {
		case ActionInProgress:
			running++
		case ActionFailed, ActionAbandoned:
			failed++
			if failedRule == nil {
				failedRule = &c.Rules[i]
			}
		case ActionNotStarted:
			running++ // only left so when an earlier rule already failed
		}
	}
	if failed == 0 && running > 0 {
		return false
	}
	c.LastUpdate = d.env.Now
	d.touch(e)
	if failed == 0 {
		c.Status = ConditionSucceeded
		c.Summary = fmt.Sprintf("all %s passed", plural(len(c.Rules), "rule"))
		d.emit(e, ConditionEvent, st.Name, nil, "SUCCEEDED", c.Kind+": "+c.Summary)
		return true
	}
	for i := range c.Rules {
		a := &c.Rules[i]
		switch a.Status {
		case ActionInProgress:
			a.Status = ActionAbandoned
			a.Summary = fmt.Sprintf("abandoned: rule %s failed", failedRule.Decl.Name)
			a.LastUpdate = d.env.Now
			d.cancel = append(d.cancel, CancelJob{JobID: a.JobID, Reason: "condition decided"})
			d.emitAction(e, a, "ABANDONED", a.Summary)
		case ActionNotStarted:
			a.Status = ActionAbandoned
			a.Summary = fmt.Sprintf("not run: rule %s failed", failedRule.Decl.Name)
		}
	}
	c.Status = ConditionFailed
	c.Summary = fmt.Sprintf("rule %s failed: %s", failedRule.Decl.Name, failedRule.Summary)
	d.emit(e, ConditionEvent, st.Name, nil, "FAILED", c.Kind+": "+c.Summary)
	return true
}

// cancelCondition ends an evaluation in progress because its execution
// stops or leaves the stage: its running rules are abandoned.
func (d *decider) cancelCondition(e *Execution, st *Stage, reason string) {
	c := st.evaluating()
	if c == nil {
		return
	}
	for i := range c.Rules {
		a := &c.Rules[i]
		if a.Status == ActionInProgress {
			a.Status = ActionAbandoned
			a.Summary = "abandoned: " + reason
			a.LastUpdate = d.env.Now
			d.cancel = append(d.cancel, CancelJob{JobID: a.JobID, Reason: "abandoned"})
			d.emitAction(e, a, "ABANDONED", a.Summary)
		}
	}
	c.Status = ConditionCancelled
	c.Summary = reason
	c.LastUpdate = d.env.Now
	d.touch(e)
	d.emit(e, ConditionEvent, st.Name, nil, "CANCELLED", c.Kind+": "+reason)
}

// engaged is the result the condition evaluation c engages, or "".
func engaged(st *Stage, c *ConditionState) string {
	conds, failureResult, _, _ := st.declared(c.Kind)
	if len(conds) == 0 {
		return failureResult
	}
	return pipeline.ConditionResult(c.Kind, conds[0], failureResult)
}

// override applies an OverrideCondition.
func (d *decider) override(h OverrideCondition) error {
	e, err := d.find(h.ExecutionID)
	if err != nil {
		return err
	}
	if h.Kind != pipeline.ConditionBeforeEntry && h.Kind != pipeline.ConditionOnSuccess {
		return errcode.Errorf(errcode.Invalid, "conditionType: only beforeEntry and onSuccess conditions can be overridden, not %q", h.Kind)
	}
	if e.Status.Terminal() || e.Waiting || e.Current >= len(e.Stages) || e.Stages[e.Current].Name != h.Stage {
		return conflict("execution %s is not in stage %s; only a condition being evaluated can be overridden", e.ID, h.Stage)
	}
	st := &e.Stages[e.Current]
	c := *st.conditionOf(h.Kind)
	if c == nil || c.Status != ConditionInProgress {
		return conflict("the %s condition of stage %s is not being evaluated in execution %s; nothing to override", h.Kind, h.Stage, e.ID)
	}
	for i := range c.Rules {
		a := &c.Rules[i]
		if a.Status == ActionInProgress || a.Status == ActionNotStarted {
			if a.Status == ActionInProgress {
				d.cancel = append(d.cancel, CancelJob{JobID: a.JobID, Reason: "condition overridden"})
			}
			a.Status = ActionAbandoned
			a.Summary = "abandoned: the condition was overridden by " + orDefault(h.By, "someone")
			a.LastUpdate = d.env.Now
			d.emitAction(e, a, "ABANDONED", a.Summary)
		}
	}
	c.Status = ConditionOverridden
	c.OverriddenBy = h.By
	c.Summary = "overridden by " + orDefault(h.By, "someone")
	c.LastUpdate = d.env.Now
	d.touch(e)
	d.emit(e, ConditionEvent, st.Name, nil, "OVERRIDDEN", h.Kind+": "+c.Summary)
	return nil
}

// passed reports whether c lets the stage go on: met or overridden.
func (c *ConditionState) passed() bool {
	return c != nil && (c.Status == ConditionSucceeded || c.Status == ConditionOverridden)
}

// settled reports whether c was evaluated for the stage's current attempt
// and is over.
func (c *ConditionState) settled(attempt int) bool {
	return c != nil && c.StageAttempt == attempt && c.Status != ConditionInProgress
}

// stageAdvance runs the condition logic of one step of advance for e inside
// st. It returns handled=true when it made the step (moved reports whether
// anything changed); otherwise advance goes on as without conditions.
func (d *decider) stageAdvance(e *Execution, st *Stage, running, failed, notStarted, abandoned int) (handled, moved bool) {
	if c := st.evaluating(); c != nil {
		if e.Status == ExecutionStopping {
			d.cancelCondition(e, st, orDefault(e.StopReason, "the execution was stopped"))
			return false, true // advance ends the stage Stopped
		}
		if !d.conditionStep(e, st, c) {
			return true, false
		}
		return true, d.conditionDone(e, st, c)
	}
	if e.Status == ExecutionStopping || running > 0 || e.Rollback != nil {
		// A rollback runs its stage as it was declared, without the
		// conditions that would start another one.
		return false, false
	}
	allNotStarted := notStarted == len(st.Actions)
	switch {
	case allNotStarted && st.BeforeEntry != nil && !st.Entry.settled(st.Attempt) && !st.Entry.passed():
		if d.beginCondition(e, st, pipeline.ConditionBeforeEntry) {
			return true, true
		}
	case failed > 0 || abandoned > 0:
		if st.OnFailure == nil || st.Failure.settled(st.Attempt) {
			return false, false
		}
		if d.beginCondition(e, st, pipeline.ConditionOnFailure) {
			return true, true
		}
		// A bare onFailure result engages on every failure.
		return true, d.engage(e, st, &ConditionState{Kind: pipeline.ConditionOnFailure, StageAttempt: st.Attempt, Status: ConditionSucceeded}, st.OnFailure.Result)
	case notStarted == 0 && st.OnSuccess != nil && !st.Success.settled(st.Attempt):
		if d.beginCondition(e, st, pipeline.ConditionOnSuccess) {
			return true, true
		}
	}
	return false, false
}

// conditionDone acts on a finished evaluation c.
func (d *decider) conditionDone(e *Execution, st *Stage, c *ConditionState) bool {
	if c.passed() {
		// beforeEntry: advance starts the actions; onSuccess: it ends the
		// stage Succeeded; onFailure: it fails the stage as it would without.
		return true
	}
	return d.engage(e, st, c, engaged(st, c))
}

// engage applies result to st, whose condition c decided it.
func (d *decider) engage(e *Execution, st *Stage, c *ConditionState, result string) bool {
	c.Result = result
	d.touch(e)
	why := fmt.Sprintf("%s condition of stage %s", c.Kind, st.Name)
	if c.Summary != "" && c.Kind != pipeline.ConditionOnFailure {
		why += " not met: " + c.Summary
	}
	switch result {
	case pipeline.ResultSkip:
		st.Status = StageSkipped
		d.emit(e, StageEvent, st.Name, nil, "SKIPPED", why)
		d.leaveStage(e)
		return true
	case pipeline.ResultRetry:
		if st.AutoRetries >= MaxAutomaticRetries {
			c.Result = ""
			c.Summary = strings.TrimSpace(c.Summary + fmt.Sprintf(" (no retry left: %s already made)", plural(st.AutoRetries, "automatic retry")))
			c.Summary = strings.TrimSpace(c.Summary)
			*st.conditionOf(pipeline.ConditionOnFailure) = c
			return true // advance fails the stage as it would without
		}
		all := false
		if _, _, mode, _ := st.declared(pipeline.ConditionOnFailure); mode == pipeline.RetryAllActions {
			all = true
		}
		*st.conditionOf(pipeline.ConditionOnFailure) = c
		st.AutoRetries++
		st.Attempt++
		for i := range st.Actions {
			a := &st.Actions[i]
			if all || a.Status == ActionFailed || a.Status == ActionAbandoned {
				a.Status = ActionNotStarted
				a.OutputVariables = nil
				a.OutputArtifacts = nil
			}
		}
		// An onSuccess condition is evaluated again for the new attempt;
		// the entry condition, passed, is not.
		st.Success = nil
		d.emit(e, StageEvent, st.Name, nil, "RESUMED", fmt.Sprintf("automatic retry %d of %d after: %s", st.AutoRetries, MaxAutomaticRetries, failureSummary(st)))
		return true
	case pipeline.ResultFail, pipeline.ResultRollback:
		if c.Kind == pipeline.ConditionOnFailure {
			// The stage failed already; failing it is advance's to do.
			*st.conditionOf(c.Kind) = c
		}
		st.Status = StageFailed
		e.Status = ExecutionFailed
		if c.Kind == pipeline.ConditionOnFailure {
			e.Summary = failureSummary(st)
		} else {
			e.Summary = why
		}
		d.emit(e, StageEvent, st.Name, nil, "FAILED", e.Summary)
		d.emit(e, PipelineEvent, "", nil, "FAILED", e.Summary)
		if result == pipeline.ResultRollback {
			// The reactor starts the rollback from this event, once.
			d.emit(e, ConditionEvent, st.Name, nil, "ROLLBACK", c.Kind+": "+why)
			d.rollbacks = append(d.rollbacks, RollbackRequest{Pipeline: e.Pipeline, Stage: st.Name, ExecutionID: e.ID, Reason: why})
		}
		return true
	}
	return true
}

// leaveStage moves e past its current stage, which ended Succeeded or
// Skipped, as advance does.
func (d *decider) leaveStage(e *Execution) {
	e.Current++
	if e.Current == len(e.Stages) || (e.Rollback != nil && e.Current > e.Rollback.Stage) {
		e.Status = ExecutionSucceeded
		d.emit(e, PipelineEvent, "", nil, "SUCCEEDED", "")
		return
	}
	e.Waiting = true
	d.supersedeWaiting(e)
}

// findRuleJob finds the running rule whose current job is jobID.
func (d *decider) findRuleJob(jobID string) (*Execution, *Action) {
	for _, e := range d.execs {
		if e.Status.Terminal() || e.Waiting || e.Current >= len(e.Stages) {
			continue
		}
		c := e.Stages[e.Current].evaluating()
		if c == nil {
			continue
		}
		for i := range c.Rules {
			if a := &c.Rules[i]; a.JobID == jobID && a.Status == ActionInProgress {
				return e, a
			}
		}
	}
	return nil, nil
}
