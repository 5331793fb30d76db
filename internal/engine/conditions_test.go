package engine

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

func rule(name, provider string, kv ...string) pipeline.RuleDeclaration {
	r := pipeline.RuleDeclaration{Name: name, RuleTypeID: pipeline.RuleTypeID{Category: "Rule", Owner: "AWS", Provider: provider, Version: "1"}}
	if provider == pipeline.RuleCommands {
		r.Commands = []string{"./check"}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if r.Configuration == nil {
			r.Configuration = map[string]string{}
		}
		r.Configuration[kv[i]] = kv[i+1]
	}
	return r
}

func varCheck(name, variable, op, value string) pipeline.RuleDeclaration {
	return rule(name, pipeline.RuleVariableCheck, "Variable", variable, "Operator", op, "Value", value)
}

func cond(result string, rules ...pipeline.RuleDeclaration) []pipeline.Condition {
	return []pipeline.Condition{{Result: result, Rules: rules}}
}

// condPipeline: Source (namespace S) → Deploy (one action) → After.
func condPipeline(setup func(st *pipeline.Stage)) *pipeline.Pipeline {
	deploy := stage("Deploy", noop("deploy", 1, namespace("D", "Url")))
	setup(&deploy)
	return newPipeline(pipeline.Superseded,
		stage("Source", noop("src", 1, namespace("S", "Branch"))),
		deploy,
		stage("After", noop("after", 1)),
	)
}

func TestEntryConditionPasses(t *testing.T) {
	h := newHarness(t, condPipeline(func(st *pipeline.Stage) {
		st.BeforeEntry = &pipeline.BeforeEntryConditions{Conditions: cond("FAIL", varCheck("OnMain", "#{S.Branch}", "EQ", "main"))}
	}))
	e := h.start(nil)
	d := h.succeed(e, "src", map[string]string{"Branch": "main"})
	wantSlice(t, "events", evs(d.Events), []string{
		"action Source/src SUCCEEDED", "stage Source SUCCEEDED", "stage Deploy STARTED",
		"condition Deploy/beforeEntry STARTED", "rule Deploy/OnMain STARTED", "rule Deploy/OnMain SUCCEEDED",
		"condition Deploy/beforeEntry SUCCEEDED", "action Deploy/deploy STARTED",
	})
	c := stageOf(t, e, "Deploy").Entry
	wantEqual(t, "condition", c.Status, ConditionSucceeded)
	wantContains(t, "rule summary", c.Rules[0].Summary, `#{S.Branch} = "main"`, "holds")
	h.drain()
	wantEqual(t, "status", e.Status, ExecutionSucceeded)
}

func TestEntryConditionFails(t *testing.T) {
	h := newHarness(t, condPipeline(func(st *pipeline.Stage) {
		st.BeforeEntry = &pipeline.BeforeEntryConditions{Conditions: cond("FAIL",
			varCheck("OnMain", "#{S.Branch}", "EQ", "main"), rule("Smoke", pipeline.RuleCommands))}
	}))
	e := h.start(nil)
	d := h.succeed(e, "src", map[string]string{"Branch": "feature/x"})
	// The first rule fails at once; the Commands rule is never offered.
	wantSlice(t, "jobs", jobActions(d.Jobs), nil)
	wantEqual(t, "status", e.Status, ExecutionFailed)
	st := stageOf(t, e, "Deploy")
	wantEqual(t, "stage", st.Status, StageFailed)
	wantEqual(t, "result", st.Entry.Result, "FAIL")
	wantEqual(t, "deploy", act(t, e, "deploy").Status, ActionNotStarted)
	wantEqual(t, "second rule", st.Entry.Rules[1].Status, ActionAbandoned)
	wantContains(t, "summary", e.Summary, "beforeEntry condition of stage Deploy not met", "rule OnMain failed", `"feature/x"`)

	// A retry evaluates the entry condition again, for the new attempt.
	d = h.do(Retry{ExecutionID: e.ID, Stage: "Deploy"})
	wantEqual(t, "status after retry", e.Status, ExecutionFailed)
	wantEqual(t, "attempt", st.Entry.StageAttempt, 2)
}

func TestEntryConditionSkips(t *testing.T) {
	h := newHarness(t, condPipeline(func(st *pipeline.Stage) {
		st.BeforeEntry = &pipeline.BeforeEntryConditions{Conditions: cond("SKIP", varCheck("Prod", "#{variables.Env}", "MATCHES", "prod|live"))}
	}))
	h.decl.Variables = []pipeline.Variable{{Name: "Env", DefaultValue: "staging"}}
	e := h.start(nil)
	d := h.succeed(e, "src", nil)
	wantEqual(t, "deploy stage", stageOf(t, e, "Deploy").Status, StageSkipped)
	wantSlice(t, "jobs", jobActions(d.Jobs), []string{"after"})
	h.drain()
	wantEqual(t, "status", e.Status, ExecutionSucceeded)
	wantEqual(t, "deploy", act(t, e, "deploy").Status, ActionNotStarted)

	// MATCHES matches the whole value, as Java's String.matches does.
	e2 := h.start(map[string]string{"Env": "live"})
	h.succeed(e2, "src", nil)
	wantEqual(t, "live enters", stageOf(t, e2, "Deploy").Status, StageInProgress)
	h.drain()
	e3 := h.start(map[string]string{"Env": "preprod"})
	h.succeed(e3, "src", nil)
	wantEqual(t, "preprod skipped", stageOf(t, e3, "Deploy").Status, StageSkipped)
}

func TestDeploymentWindow(t *testing.T) {
	h := newHarness(t, condPipeline(func(st *pipeline.Stage) {
		st.BeforeEntry = &pipeline.BeforeEntryConditions{Conditions: cond("FAIL",
			rule("Hours", pipeline.RuleDeploymentWindow, "Cron", "0 0-59 9-16 ? * MON-FRI *", "TimeZone", "Europe/Berlin"))}
	}))
	// Saturday: outside. The rule waits for the window to open, Monday 09:00
	// in Berlin, as a job no worker claims whose deadline is the opening.
	h.now = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	e := h.start(nil)
	d := h.succeed(e, "src", nil)
	wantEqual(t, "status", e.Status, ExecutionInProgress)
	hours := stageOf(t, e, "Deploy").Entry.Rules[0]
	wantEqual(t, "rule", hours.Status, ActionInProgress)
	wantContains(t, "rule summary", hours.Summary, "waiting for the deployment window", "to open at 2026-12-07T08:00:00Z")
	wantSlice(t, "jobs", jobActions(d.Jobs), []string{"Hours"})
	wantEqual(t, "timer", d.Jobs[0].Deadline, time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC))
	wantEqual(t, "deploy waits", act(t, e, "deploy").Status, ActionNotStarted)

	// A timer that fires early (a clock a little behind) waits again.
	h.now = time.Date(2026, 12, 7, 7, 59, 0, 0, time.UTC)
	d = h.do(JobTimedOut{JobID: d.Jobs[0].ID})
	wantSlice(t, "jobs again", jobActions(d.Jobs), []string{"Hours"})

	// The window opens: the rule passes and the stage runs.
	h.now = time.Date(2026, 12, 7, 8, 0, 5, 0, time.UTC)
	d = h.do(JobTimedOut{JobID: d.Jobs[0].ID})
	wantContains(t, "rule summary", stageOf(t, e, "Deploy").Entry.Rules[0].Summary, "inside the deployment window")
	wantSlice(t, "jobs", jobActions(d.Jobs), []string{"deploy"})
	h.drain()
	wantEqual(t, "status", e.Status, ExecutionSucceeded)

	// Inside the window, nothing waits.
	h.now = time.Date(2026, 12, 8, 8, 30, 0, 0, time.UTC)
	e2 := h.start(nil)
	h.succeed(e2, "src", nil)
	wantEqual(t, "deploy runs", act(t, e2, "deploy").Status, ActionInProgress)
	h.drain()

	// A window that never opens again (its year is past) fails the rule.
	h2 := newHarness(t, condPipeline(func(st *pipeline.Stage) {
		st.BeforeEntry = &pipeline.BeforeEntryConditions{Conditions: cond("FAIL",
			rule("Past", pipeline.RuleDeploymentWindow, "Cron", "0 0 9 ? * MON-FRI 2020"))}
	}))
	h2.now = h.now
	e3 := h2.start(nil)
	h2.succeed(e3, "src", nil)
	wantEqual(t, "status", e3.Status, ExecutionFailed)
	wantContains(t, "summary", e3.Summary, "never opens again")
}

func TestRuleJobsAndOverride(t *testing.T) {
	h := newHarness(t, condPipeline(func(st *pipeline.Stage) {
		st.BeforeEntry = &pipeline.BeforeEntryConditions{Conditions: cond("FAIL",
			rule("Smoke", pipeline.RuleCommands), rule("Hook", pipeline.RuleLambdaInvoke, "FunctionName", "gate", "UserParameters", "#{S.Branch}"))}
	}))
	e := h.start(nil)
	d := h.succeed(e, "src", map[string]string{"Branch": "main"})
	wantSlice(t, "jobs", jobActions(d.Jobs), []string{"Hook", "Smoke"})
	hook := h.job(e, "Hook")
	wantEqual(t, "hook provider", hook.ActionType.Provider, pipeline.ProviderLambda)
	wantEqual(t, "hook category", hook.ActionType.Category, "Rule")
	wantEqual(t, "hook parameters resolved", hook.Configuration["UserParameters"], "main")

	// One rule answers; the other is still running, so nothing moves.
	h.succeed(e, "Smoke", nil)
	wantEqual(t, "deploy waits", act(t, e, "deploy").Status, ActionNotStarted)

	// Someone allowed overrides the condition: the running rule is
	// abandoned, its job cancelled, and the stage runs.
	d = h.do(OverrideCondition{ExecutionID: e.ID, Stage: "Deploy", Kind: "beforeEntry", By: "alice"})
	wantSlice(t, "cancelled", []string{d.Cancel[0].JobID}, []string{hook.ID})
	c := stageOf(t, e, "Deploy").Entry
	wantEqual(t, "condition", c.Status, ConditionOverridden)
	wantEqual(t, "overridden by", c.OverriddenBy, "alice")
	wantSlice(t, "jobs after override", jobActions(d.Jobs), []string{"deploy"})

	// Nothing left to override now.
	_, err := h.try(OverrideCondition{ExecutionID: e.ID, Stage: "Deploy", Kind: "beforeEntry"})
	wantErrCode(t, err, "Conflict")
	_, err = h.try(OverrideCondition{ExecutionID: e.ID, Stage: "Deploy", Kind: "onFailure"})
	wantErrCode(t, err, "Invalid")
}

func TestRuleJobFailsCondition(t *testing.T) {
	h := newHarness(t, condPipeline(func(st *pipeline.Stage) {
		st.OnSuccess = &pipeline.SuccessConditions{Conditions: cond("FAIL", rule("Smoke", pipeline.RuleCommands), rule("Alarm", pipeline.RuleCloudWatchAlarm, "AlarmName", "errors"))}
	}))
	e := h.start(nil)
	h.succeed(e, "src", nil)
	d := h.succeed(e, "deploy", nil)
	wantSlice(t, "rule jobs", jobActions(d.Jobs), []string{"Alarm", "Smoke"})
	alarm := h.job(e, "Alarm")
	d = h.fail(e, "Smoke", "exit status 1")
	wantSlice(t, "cancelled", []string{d.Cancel[0].JobID}, []string{alarm.ID})
	wantEqual(t, "status", e.Status, ExecutionFailed)
	wantContains(t, "summary", e.Summary, "onSuccess condition of stage Deploy not met: rule Smoke failed: exit status 1")
	wantEqual(t, "rollbacks", len(d.Rollbacks), 0)
}

func TestSuccessConditionRollsBack(t *testing.T) {
	h := newHarness(t, condPipeline(func(st *pipeline.Stage) {
		st.OnSuccess = &pipeline.SuccessConditions{Conditions: cond("ROLLBACK", varCheck("Healthy", "#{D.Url}", "CONTAINS", "https://"))}
	}))
	e := h.start(nil)
	h.succeed(e, "src", nil)
	d := h.succeed(e, "deploy", map[string]string{"Url": "http://insecure"})
	wantEqual(t, "status", e.Status, ExecutionFailed)
	wantEqual(t, "result", stageOf(t, e, "Deploy").Success.Result, "ROLLBACK")
	if len(d.Rollbacks) != 1 || d.Rollbacks[0].Stage != "Deploy" || d.Rollbacks[0].ExecutionID != e.ID {
		t.Fatalf("rollbacks = %+v", d.Rollbacks)
	}

	// A passing success condition lets the stage succeed.
	e2 := h.start(nil)
	h.succeed(e2, "src", nil)
	h.succeed(e2, "deploy", map[string]string{"Url": "https://shop"})
	wantEqual(t, "deploy stage", stageOf(t, e2, "Deploy").Status, StageSucceeded)
	h.drain()
	wantEqual(t, "status", e2.Status, ExecutionSucceeded)
}

func TestFailureRollsBack(t *testing.T) {
	h := newHarness(t, condPipeline(func(st *pipeline.Stage) {
		st.OnFailure = &pipeline.FailureConditions{Result: "ROLLBACK"}
	}))
	e := h.start(nil)
	h.succeed(e, "src", nil)
	d := h.fail(e, "deploy", "boom")
	wantEqual(t, "status", e.Status, ExecutionFailed)
	wantContains(t, "summary", e.Summary, "action deploy failed: boom")
	if len(d.Rollbacks) != 1 {
		t.Fatalf("rollbacks = %+v", d.Rollbacks)
	}
}

// TestFailureConditionDecidesRollback: with a condition, onFailure's result
// engages only when the condition is not met (the alarm rule fails because
// the alarm is in ALARM).
func TestFailureConditionDecidesRollback(t *testing.T) {
	h := newHarness(t, condPipeline(func(st *pipeline.Stage) {
		st.OnFailure = &pipeline.FailureConditions{Result: "ROLLBACK", Conditions: cond("", rule("InAlarm", pipeline.RuleCloudWatchAlarm, "AlarmName", "errors"))}
	}))
	e := h.start(nil)
	h.succeed(e, "src", nil)
	d := h.fail(e, "deploy", "boom")
	wantSlice(t, "jobs", jobActions(d.Jobs), []string{"InAlarm"})
	wantEqual(t, "still in progress", e.Status, ExecutionInProgress)
	d = h.fail(e, "InAlarm", "alarm errors is in ALARM")
	wantEqual(t, "status", e.Status, ExecutionFailed)
	wantEqual(t, "rollback", len(d.Rollbacks), 1)

	e2 := h.start(nil)
	h.succeed(e2, "src", nil)
	h.fail(e2, "deploy", "boom")
	d = h.succeed(e2, "InAlarm", nil)
	wantEqual(t, "status", e2.Status, ExecutionFailed)
	wantEqual(t, "no rollback", len(d.Rollbacks), 0)
}

func TestAutomaticRetry(t *testing.T) {
	for _, mode := range []string{pipeline.RetryFailedActions, pipeline.RetryAllActions} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, newPipeline(pipeline.Superseded,
				stage("Source", noop("src", 1)),
				func() pipeline.Stage {
					st := stage("Deploy", noop("a", 1), noop("b", 1))
					st.OnFailure = &pipeline.FailureConditions{Result: "RETRY", RetryConfiguration: &pipeline.RetryConfiguration{RetryMode: mode}}
					return st
				}(),
			))
			e := h.start(nil)
			h.succeed(e, "src", nil)
			h.succeed(e, "a", nil)
			d := h.fail(e, "b", "flaky")
			want := []string{"b"}
			if mode == pipeline.RetryAllActions {
				want = []string{"a", "b"}
			}
			wantSlice(t, "retried", jobActions(d.Jobs), want)
			st := stageOf(t, e, "Deploy")
			wantEqual(t, "stage attempt", st.Attempt, 2)
			wantEqual(t, "automatic retries", st.AutoRetries, 1)
			wantEqual(t, "b attempt", h.job(e, "b").Attempt, 2)
			wantEqual(t, "status", e.Status, ExecutionInProgress)

			// The retry succeeds on the second attempt.
			h.drain()
			wantEqual(t, "status", e.Status, ExecutionSucceeded)

			// Another execution fails twice: its one retry runs out, and the
			// stage fails as it would without.
			e2 := h.start(nil)
			h.succeed(e2, "src", nil)
			h.succeed(e2, "a", nil)
			h.fail(e2, "b", "flaky")
			if mode == pipeline.RetryAllActions {
				h.succeed(e2, "a", nil)
			}
			d = h.fail(e2, "b", "still flaky")
			wantEqual(t, "status", e2.Status, ExecutionFailed)
			wantContains(t, "summary", e2.Summary, "action b failed: still flaky")
			wantContains(t, "condition", stageOf(t, e2, "Deploy").Failure.Summary, "no retry left")
			wantEqual(t, "b attempts", act(t, e2, "b").Attempt, 2)
		})
	}
}

func TestStopDuringCondition(t *testing.T) {
	h := newHarness(t, condPipeline(func(st *pipeline.Stage) {
		st.BeforeEntry = &pipeline.BeforeEntryConditions{Conditions: cond("FAIL", rule("Smoke", pipeline.RuleCommands))}
	}))
	e := h.start(nil)
	h.succeed(e, "src", nil)
	smoke := h.job(e, "Smoke")
	d := h.do(Stop{ExecutionID: e.ID, Reason: "not today"})
	wantEqual(t, "status", e.Status, ExecutionStopped)
	wantSlice(t, "cancelled", []string{d.Cancel[0].JobID}, []string{smoke.ID})
	wantEqual(t, "condition", stageOf(t, e, "Deploy").Entry.Status, ConditionCancelled)
	// The rule's late answer is dropped.
	_, err := h.try(JobSucceeded{JobID: smoke.ID})
	if err != ErrUnknownJob {
		t.Fatalf("late rule answer: %v", err)
	}
}

// TestRestartDuringCondition: an evaluation is part of the execution's
// document; read back as a restarted server reads it, it goes on.
func TestRestartDuringCondition(t *testing.T) {
	h := newHarness(t, condPipeline(func(st *pipeline.Stage) {
		st.OnSuccess = &pipeline.SuccessConditions{Conditions: cond("FAIL", rule("Smoke", pipeline.RuleCommands))}
	}))
	e := h.start(nil)
	h.succeed(e, "src", nil)
	h.succeed(e, "deploy", nil)
	smoke := h.job(e, "Smoke")

	doc, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var back Execution
	if err := json.Unmarshal(doc, &back); err != nil {
		t.Fatal(err)
	}
	h.execs[0] = &back
	h.do(JobSucceeded{JobID: smoke.ID, Summary: "healthy"})
	wantEqual(t, "deploy stage", stageOf(t, &back, "Deploy").Status, StageSucceeded)
	wantEqual(t, "condition", stageOf(t, &back, "Deploy").Success.Status, ConditionSucceeded)
	h.drain()
	wantEqual(t, "status", back.Status, ExecutionSucceeded)
}

func TestRollbackExecution(t *testing.T) {
	decl := newPipeline(pipeline.Superseded,
		stage("Source", noop("src", 1, namespace("S", "CommitId"), outputs("Src"))),
		stage("Deploy", noop("deploy", 1, inputs("Src"))),
		stage("After", noop("after", 1)),
	)
	h := newHarness(t, decl)
	good := h.start(nil)
	h.succeed(good, "src", map[string]string{"CommitId": "c1"})
	goodSrc := act(t, good, "src").OutputArtifacts[0].Key
	h.drain()
	wantEqual(t, "good", good.Status, ExecutionSucceeded)

	bad := h.start(nil)
	h.succeed(bad, "src", map[string]string{"CommitId": "c2"})
	h.fail(bad, "deploy", "broken release")

	rb, err := NewRollback(good, decl, 1, "Deploy", "rb-1", Trigger{Type: "ManualRollback", Detail: "alice"}, h.now)
	if err != nil {
		t.Fatal(err)
	}
	h.seq++
	rb.Seq = h.seq
	d := h.do(Start{Execution: rb})
	wantEqual(t, "type", rb.ExecutionType, ExecutionRollback)
	wantEqual(t, "target", rb.Rollback.TargetExecutionID, good.ID)
	// Only the rolled-back stage runs, with the target's artifact.
	wantSlice(t, "jobs", jobActions(d.Jobs), []string{"deploy"})
	wantEqual(t, "input", h.job(rb, "deploy").InputArtifacts[0].Key, goodSrc)
	h.drain()
	wantEqual(t, "rollback", rb.Status, ExecutionSucceeded)
	wantEqual(t, "after not run", act(t, rb, "after").Status, ActionNotStarted)

	// Refusals: a stage the target did not succeed through; a changed structure.
	if _, err := NewRollback(bad, decl, 1, "Deploy", "rb-2", Trigger{}, h.now); err == nil {
		t.Error("rollback to a failed stage accepted")
	}
	changed := newPipeline(pipeline.Superseded,
		stage("Source", noop("src", 1, namespace("S", "CommitId"), outputs("Src"))),
		stage("Deploy", noop("deploy", 1, inputs("Src")), noop("migrate", 2)),
		stage("After", noop("after", 1)),
	)
	_, err = NewRollback(good, changed, 2, "Deploy", "rb-3", Trigger{}, h.now)
	wantErrCode(t, err, "Conflict")
	wantContains(t, "refusal", err.Error(), "structure changed", "stage Deploy had 1 actions, it has 2 now")
}

// TestRuleErrors: a rule that cannot be evaluated (its variable has no value
// in this execution) or whose job times out fails its condition, naming why.
func TestRuleErrors(t *testing.T) {
	h := newHarness(t, condPipeline(func(st *pipeline.Stage) {
		st.BeforeEntry = &pipeline.BeforeEntryConditions{Conditions: cond("FAIL", varCheck("OnMain", "#{S.Branch}", "EQ", "main"))}
		st.OnSuccess = &pipeline.SuccessConditions{Conditions: cond("FAIL", rule("Slow", pipeline.RuleCommands))}
	}))
	e := h.start(nil)
	h.succeed(e, "src", nil) // no Branch output variable
	wantEqual(t, "status", e.Status, ExecutionFailed)
	wantContains(t, "summary", e.Summary, "rule OnMain failed", "unresolved variable #{S.Branch}")

	e2 := h.start(nil)
	h.succeed(e2, "src", map[string]string{"Branch": "main"})
	h.succeed(e2, "deploy", nil)
	slow := h.job(e2, "Slow")
	h.do(JobTimedOut{JobID: slow.ID})
	wantEqual(t, "status", e2.Status, ExecutionFailed)
	wantContains(t, "summary", e2.Summary, "onSuccess condition of stage Deploy not met", "rule Slow failed: rule timed out after 1 hour")
}
