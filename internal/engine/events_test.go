package engine

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

func TestEvents(t *testing.T) {
	start := []string{"pipeline STARTED", "stage Source STARTED", "action Source/src STARTED", "action Source/src SUCCEEDED", "stage Source SUCCEEDED", "stage Build STARTED", "action Build/build STARTED"}
	rest := []string{"action Build/build SUCCEEDED", "stage Build SUCCEEDED", "stage Deploy STARTED", "action Deploy/deploy STARTED", "action Deploy/deploy SUCCEEDED", "stage Deploy SUCCEEDED", "pipeline SUCCEEDED"}
	cat := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		run  func(h *harness) *Execution
		want []string
	}{
		{
			name: "success",
			run: func(h *harness) *Execution {
				e := h.start(nil)
				h.drain()
				return e
			},
			want: cat(start, rest),
		},
		{
			name: "failure",
			run: func(h *harness) *Execution {
				e := h.start(nil)
				h.succeed(e, "src", nil)
				h.fail(e, "build", "boom")
				return e
			},
			want: cat(start, []string{"action Build/build FAILED", "stage Build FAILED", "pipeline FAILED"}),
		},
		{
			name: "stop and wait",
			run: func(h *harness) *Execution {
				e := h.start(nil)
				h.succeed(e, "src", nil)
				h.do(Stop{ExecutionID: e.ID, Reason: "r"})
				h.succeed(e, "build", nil)
				return e
			},
			want: cat(start, []string{"pipeline STOPPING", "stage Build STOPPING", "action Build/build SUCCEEDED", "stage Build STOPPED", "pipeline STOPPED"}),
		},
		{
			name: "abandon",
			run: func(h *harness) *Execution {
				e := h.start(nil)
				h.succeed(e, "src", nil)
				h.do(Stop{ExecutionID: e.ID, Abandon: true})
				return e
			},
			want: cat(start, []string{"pipeline STOPPING", "stage Build STOPPING", "action Build/build ABANDONED", "stage Build STOPPED", "pipeline STOPPED"}),
		},
		{
			name: "retry",
			run: func(h *harness) *Execution {
				e := h.start(nil)
				h.succeed(e, "src", nil)
				h.fail(e, "build", "boom")
				h.do(Retry{ExecutionID: e.ID, Stage: "Build"})
				h.drain()
				return e
			},
			want: cat(start, []string{"action Build/build FAILED", "stage Build FAILED", "pipeline FAILED", "pipeline RESUMED", "stage Build RESUMED", "action Build/build STARTED"}, rest),
		},
		{
			name: "superseded",
			run: func(h *harness) *Execution {
				h.p.Disabled["Build"] = ""
				e := h.start(nil)
				h.succeed(e, "src", nil)
				newer := h.start(nil)
				h.succeed(newer, "src", nil)
				return e
			},
			want: []string{"pipeline STARTED", "stage Source STARTED", "action Source/src STARTED", "action Source/src SUCCEEDED", "stage Source SUCCEEDED", "pipeline SUPERSEDED"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			decl := linear(pipeline.Superseded)
			h := newHarness(t, decl)
			e := tc.run(h)
			wantSlice(t, "events", eventsOf(h.events, e.ID), tc.want)
			for _, ev := range h.events {
				if ev.ExecutionID != e.ID {
					continue
				}
				wantEqual(t, "pipeline", ev.Pipeline, "app")
				wantEqual(t, "version", ev.Version, 1)
				wantEqual(t, "trigger", ev.Trigger, e.Trigger)
				switch ev.DetailType {
				case PipelineEvent:
					if ev.Stage != "" || ev.Action != "" || ev.ActionType != nil {
						t.Errorf("pipeline event with stage/action: %+v", ev)
					}
					if ev.State == "FAILED" || ev.State == "SUPERSEDED" {
						if ev.Summary == "" {
							t.Errorf("pipeline %s event without a summary", ev.State)
						}
						if strings.ToUpper(string(e.Status)) == ev.State {
							wantEqual(t, "summary of "+ev.State, ev.Summary, e.Summary)
						}
					}
				case StageEvent:
					if ev.Stage == "" || ev.Action != "" || ev.ActionType != nil {
						t.Errorf("stage event: %+v", ev)
					}
				case ActionEvent:
					if ev.Stage == "" || ev.Action == "" || ev.ActionType == nil || *ev.ActionType != noopType || ev.Attempt < 1 {
						t.Errorf("action event: %+v", ev)
					}
				default:
					t.Errorf("detail type %q", ev.DetailType)
				}
			}
		})
	}
}

func TestEventDetailTypes(t *testing.T) {
	// The detail types are CodePipeline's EventBridge ones, word for word.
	wantEqual(t, "pipeline", PipelineEvent, "CodePipeline Pipeline Execution State Change")
	wantEqual(t, "stage", StageEvent, "CodePipeline Stage Execution State Change")
	wantEqual(t, "action", ActionEvent, "CodePipeline Action Execution State Change")
}

func TestEventTimesAndAttempts(t *testing.T) {
	h := newHarness(t, linear(pipeline.Superseded))
	e := h.start(nil)
	h.tick(time.Minute)
	h.do(JobLost{JobID: h.job(e, "src").ID})
	h.tick(time.Minute)
	d := h.succeed(e, "src", nil)
	for _, ev := range d.Events {
		wantEqual(t, ev.State+" time", ev.Time, h.now)
	}
	wantEqual(t, "attempt on the action event", d.Events[0].Attempt, 2)
	wantEqual(t, "start time kept", e.StartTime, t0)
	wantEqual(t, "last update", e.LastUpdate, h.now)
}

// script drives a fixed mix of happenings through several executions.
func script(h *harness) {
	h.start(map[string]string{"Env": "prod"})
	h.start(nil)
	h.start(map[string]string{"Env": "dev"})
	e1, e2, e3 := h.execs[0], h.execs[1], h.execs[2]
	h.tick(time.Second)
	h.succeed(e1, "src", map[string]string{"CommitId": "c1", "Branch": "main"})
	h.tick(time.Second)
	h.fail(e1, "lint", "style")
	h.succeed(e1, "unit", nil)
	h.do(Retry{ExecutionID: e1.ID, Stage: "Build"})
	h.do(JobLost{JobID: h.job(e1, "lint").ID})
	h.succeed(e2, "src", map[string]string{"CommitId": "c2", "Branch": "main"})
	h.tick(time.Second)
	h.do(Stop{ExecutionID: e3.ID})
	h.drain()
}

func scriptPipeline() *pipeline.Pipeline {
	p := newPipeline(pipeline.Queued,
		stage("Source", noop("src", 1, namespace("S", "CommitId", "Branch"), outputs("Src"))),
		stage("Build",
			cmds("unit", 1, []string{"test #{S.CommitId}"}, inputs("Src"), config("a", "#{variables.Env}", "b", "2", "c", "#{S.Branch}", "d", "4", "e", "5", "f", "6", "g", "#{codepipeline.PipelineExecutionId}")),
			cmds("lint", 1, []string{"lint"}, inputs("Src"), outputs("Report")),
			noop("pkg", 2, inputs("Src", "Report"), outputs("Pkg")),
		),
		stage("Deploy", noop("deploy", 1, inputs("Pkg"))),
	)
	p.Variables = []pipeline.Variable{{Name: "Env", DefaultValue: "staging"}}
	return p
}

func decisionJSON(t testing.TB, d Decision) string {
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDeterminism(t *testing.T) {
	var runs [2][]string
	var finals [2]string
	for i := range runs {
		h := newHarness(t, scriptPipeline())
		script(h)
		for _, d := range h.decisions {
			runs[i] = append(runs[i], decisionJSON(t, d))
		}
		b, _ := json.Marshal(h.execs)
		finals[i] = string(b)
	}
	if len(runs[0]) != len(runs[1]) {
		t.Fatalf("%d decisions, then %d", len(runs[0]), len(runs[1]))
	}
	for i := range runs[0] {
		if runs[0][i] != runs[1][i] {
			t.Fatalf("decision %d differs:\n%s\n%s", i, runs[0][i], runs[1][i])
		}
	}
	if finals[0] != finals[1] {
		t.Errorf("final executions differ")
	}
}

func TestDecideSameStateSameDecision(t *testing.T) {
	// Decide on two copies of one state with the same happening and environment.
	h := newHarness(t, scriptPipeline())
	h.start(nil)
	h.start(nil)
	e1 := h.execs[0]
	h.succeed(e1, "src", map[string]string{"CommitId": "c1", "Branch": "main"})
	doc, err := json.Marshal(h.execs)
	if err != nil {
		t.Fatal(err)
	}
	happenings := []Happening{
		JobSucceeded{JobID: h.job(e1, "unit").ID, OutputVariables: map[string]string{"x": "1"}},
		JobFailed{JobID: h.job(e1, "lint").ID, Message: "m"},
		JobLost{JobID: h.job(e1, "lint").ID},
		Stop{ExecutionID: e1.ID, Abandon: true},
		Reconcile{},
	}
	for _, hp := range happenings {
		t.Run(fmt.Sprintf("%T", hp), func(t *testing.T) {
			var out [2]string
			for i := range out {
				var execs []*Execution
				if err := json.Unmarshal(doc, &execs); err != nil {
					t.Fatal(err)
				}
				n := 0
				env := Env{Now: t0.Add(time.Hour), NewID: func() string { n++; return fmt.Sprintf("j%d", n) }}
				d, err := Decide(State{Pipeline: h.p, Executions: execs}, hp, env)
				if err != nil {
					t.Fatal(err)
				}
				out[i] = decisionJSON(t, d)
			}
			if out[0] != out[1] {
				t.Errorf("decisions differ:\n%s\n%s", out[0], out[1])
			}
		})
	}
}
