package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

func propertyPipeline(mode pipeline.ExecutionMode) *pipeline.Pipeline {
	return newPipeline(mode,
		stage("Source", noop("src", 1, namespace("S", "CommitId"), outputs("Src"))),
		stage("Build",
			noop("a", 1, inputs("Src"), outputs("Bin")),
			// Fails to resolve when the source did not report a CommitId.
			cmds("b", 1, []string{"test #{S.CommitId}"}, inputs("Src")),
			noop("c", 2, inputs("Bin")),
		),
		stage("Test", noop("t1", 1, maxAttempts(3)), noop("t2", 1)),
		stage("Deploy", noop("deploy", 1, inputs("Bin"))),
	)
}

// TestRandomHappenings drives seeded random sequences of happenings and relies on
// the harness's invariants, checked after every decision: every offered job is for
// an action InProgress under it, the open jobs are exactly those of the running
// actions, and in SUPERSEDED and QUEUED mode no two executions are inside one stage
// (and in SUPERSEDED mode no two wait for one). Once every job is answered, every
// execution must be terminal.
func TestRandomHappenings(t *testing.T) {
	seeds := 150
	if testing.Short() {
		seeds = 20
	}
	for _, mode := range []pipeline.ExecutionMode{pipeline.Superseded, pipeline.Queued, pipeline.Parallel} {
		seen := map[string]int{}
		for seed := range seeds {
			t.Run(fmt.Sprintf("%s/%d", mode, seed), func(t *testing.T) {
				for _, e := range randomRun(t, mode, uint64(seed), propertyPipeline(mode)) {
					seen[e.DetailType[len("CodePipeline "):]+" "+e.State]++
				}
			})
		}
		// The random runs must reach every kind of change, or they prove little.
		want := []string{
			"Pipeline Execution State Change STARTED", "Pipeline Execution State Change SUCCEEDED",
			"Pipeline Execution State Change FAILED", "Pipeline Execution State Change STOPPING",
			"Pipeline Execution State Change STOPPED", "Pipeline Execution State Change RESUMED",
			"Stage Execution State Change STARTED", "Stage Execution State Change FAILED",
			"Stage Execution State Change STOPPED", "Stage Execution State Change RESUMED",
			"Action Execution State Change SUCCEEDED", "Action Execution State Change FAILED",
			"Action Execution State Change ABANDONED",
		}
		if mode == pipeline.Superseded {
			want = append(want, "Pipeline Execution State Change SUPERSEDED")
		}
		for _, w := range want {
			if seen[w] == 0 && !t.Failed() {
				t.Errorf("%s: no random run produced %q; counts %v", mode, w, seen)
			}
		}
	}
}

// conditionsPropertyPipeline is propertyPipeline with every kind of stage
// condition: rules decided at once and rules run as jobs, every result.
func conditionsPropertyPipeline(mode pipeline.ExecutionMode) *pipeline.Pipeline {
	p := propertyPipeline(mode)
	p.Stages[1].OnFailure = &pipeline.FailureConditions{Result: "RETRY", RetryConfiguration: &pipeline.RetryConfiguration{RetryMode: "ALL_ACTIONS"}}
	p.Stages[2].BeforeEntry = &pipeline.BeforeEntryConditions{Conditions: cond("SKIP", varCheck("HasCommit", "#{S.CommitId}", "MATCHES", "c[0-9]*[02468]"))}
	p.Stages[2].OnSuccess = &pipeline.SuccessConditions{Conditions: cond("ROLLBACK", rule("Smoke", pipeline.RuleCommands))}
	p.Stages[3].BeforeEntry = &pipeline.BeforeEntryConditions{Conditions: cond("FAIL", rule("Ready", pipeline.RuleLambdaInvoke, "FunctionName", "ready"), varCheck("Known", "#{S.CommitId}", "NE", ""),
		// Open 40 minutes an hour: entries inside it pass, others wait
		// on a timer job that JobTimedOut decides again.
		rule("Window", pipeline.RuleDeploymentWindow, "Cron", "0 0-39 * ? * * *"))}
	p.Stages[3].OnFailure = &pipeline.FailureConditions{Result: "ROLLBACK", Conditions: cond("", rule("Alarm", pipeline.RuleCloudWatchAlarm, "AlarmName", "errors"))}
	return p
}

// TestRandomHappeningsWithConditions is TestRandomHappenings over a pipeline
// with stage conditions, adding overrides and restarts (every execution
// read back from its JSON document, as a restarted server reads the store)
// to the happenings.
func TestRandomHappeningsWithConditions(t *testing.T) {
	seeds := 150
	if testing.Short() {
		seeds = 20
	}
	for _, mode := range []pipeline.ExecutionMode{pipeline.Superseded, pipeline.Queued, pipeline.Parallel} {
		seen := map[string]int{}
		for seed := range seeds {
			t.Run(fmt.Sprintf("%s/%d", mode, seed), func(t *testing.T) {
				for _, e := range randomRun(t, mode, uint64(seed), conditionsPropertyPipeline(mode)) {
					ev := ev(e)
					if i := strings.IndexAny(ev, "/"); i > 0 && !strings.HasPrefix(ev, "condition") {
						ev = ev[:strings.Index(ev, " ")] + ev[strings.LastIndex(ev, " "):]
					}
					seen[ev]++
				}
			})
		}
		want := []string{
			"stage Test SKIPPED", "stage Build RESUMED", "stage Test FAILED", "stage Deploy FAILED",
			"condition Test/beforeEntry SUCCEEDED", "condition Test/beforeEntry FAILED",
			"condition Test/onSuccess SUCCEEDED", "condition Test/onSuccess FAILED",
			"condition Deploy/beforeEntry FAILED", "condition Deploy/beforeEntry OVERRIDDEN",
			"condition Deploy/onFailure SUCCEEDED", "condition Deploy/onFailure FAILED",
			"rule SUCCEEDED", "rule FAILED", "rule ABANDONED", "pipeline SUCCEEDED",
		}
		for _, w := range want {
			if seen[w] == 0 && !t.Failed() {
				t.Errorf("%s: no random run produced %q; counts %v", mode, w, seen)
			}
		}
	}
}

func randomRun(t *testing.T, mode pipeline.ExecutionMode, seed uint64, decl *pipeline.Pipeline) []Event {
	r := rand.New(rand.NewPCG(seed, uint64(len(mode))))
	conditions := decl.Stages[1].OnFailure != nil
	h := newHarness(t, decl)
	const maxExecutions, steps = 5, 80
	var seen []string // every job id ever offered

	openIDs := func() []string {
		ids := make([]string, 0, len(h.open))
		for id := range h.open {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		return ids
	}
	pickExec := func(ok func(*Execution) bool) *Execution {
		var c []*Execution
		for _, e := range h.execs {
			if ok(e) {
				c = append(c, e)
			}
		}
		if len(c) == 0 {
			return nil
		}
		return c[r.IntN(len(c))]
	}
	refusal := func(what string, err error) {
		var ee *Error
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("%s: unexpected error %v", what, err)
		}
	}

	for step := range steps {
		h.tick(time.Duration(r.IntN(120)) * time.Second)
		n := len(h.decisions)
		if conditions && r.IntN(8) == 0 {
			if r.IntN(2) == 0 {
				// A restart: every execution as the store gives it back.
				for i, e := range h.execs {
					doc, err := json.Marshal(e)
					if err != nil {
						t.Fatal(err)
					}
					var back Execution
					if err := json.Unmarshal(doc, &back); err != nil {
						t.Fatal(err)
					}
					h.execs[i] = &back
				}
				h.do(Reconcile{})
				continue
			}
			e := pickExec(func(e *Execution) bool { return !e.Status.Terminal() && !e.Waiting && e.Current < len(e.Stages) })
			if e == nil {
				continue
			}
			kind := []string{"beforeEntry", "onSuccess"}[r.IntN(2)]
			_, err := h.try(OverrideCondition{ExecutionID: e.ID, Stage: e.Stages[e.Current].Name, Kind: kind, By: "random"})
			refusal("override", err)
			continue
		}
		switch k := r.IntN(100); {
		case k < 15 && len(h.execs) < maxExecutions:
			h.start(nil)
		case k < 70 && len(h.open) > 0:
			ids := openIDs()
			id := ids[r.IntN(len(ids))]
			var hp Happening
			switch x := r.IntN(20); {
			case x < 12:
				vars := map[string]string{"CommitId": fmt.Sprintf("c%d", step)}
				if r.IntN(6) == 0 {
					vars = nil
				}
				hp = JobSucceeded{JobID: id, OutputVariables: vars}
			case x < 15:
				hp = JobFailed{JobID: id, Message: "boom"}
			case x < 18:
				hp = JobLost{JobID: id}
			default:
				hp = JobTimedOut{JobID: id}
			}
			h.do(hp)
		case k < 78:
			e := pickExec(func(e *Execution) bool { return true })
			if e == nil {
				continue
			}
			_, err := h.try(Stop{ExecutionID: e.ID, Abandon: r.IntN(2) == 0, Reason: "random"})
			refusal("stop", err)
			if err != nil && !e.Status.Terminal() && e.Status != ExecutionStopping {
				t.Fatalf("stop of %s execution %s refused: %v", e.Status, e.ID, err)
			}
		case k < 86:
			e := pickExec(func(e *Execution) bool {
				return e.Status == ExecutionFailed || e.Status == ExecutionStopped
			})
			if e == nil || e.Current >= len(e.Stages) {
				continue
			}
			_, err := h.try(Retry{ExecutionID: e.ID, Stage: e.Stages[e.Current].Name, All: r.IntN(2) == 0})
			refusal("retry", err)
		case k < 94:
			st := decl.Stages[1+r.IntN(len(decl.Stages)-1)].Name
			if _, ok := h.p.Disabled[st]; ok {
				delete(h.p.Disabled, st)
			} else {
				h.p.Disabled[st] = "random"
			}
			h.do(Reconcile{})
		default:
			// A stale or duplicate report of a job no longer open.
			var stale []string
			for _, id := range seen {
				if _, open := h.open[id]; !open {
					stale = append(stale, id)
				}
			}
			if len(stale) == 0 {
				continue
			}
			if _, err := h.try(JobSucceeded{JobID: stale[r.IntN(len(stale))]}); !errors.Is(err, ErrUnknownJob) {
				t.Fatalf("stale report: err %v, want ErrUnknownJob", err)
			}
		}
		for _, d := range h.decisions[n:] {
			for _, j := range d.Jobs {
				seen = append(seen, j.ID)
			}
		}
	}

	// Enable every transition and answer every job: everything must end.
	clear(h.p.Disabled)
	h.do(Reconcile{})
	h.drain()
	for _, e := range h.execs {
		if !e.Status.Terminal() {
			t.Errorf("execution %s is %s (waiting %v: %s) with no job left", e.ID, e.Status, e.Waiting, e.WaitingFor)
		}
	}
	return h.events
}
