package engine

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// BenchmarkDecideActionSuccess measures one JobSucceeded → next job decision on a
// pipeline of ten actions run one after another (one per stage, each consuming the
// artifact of the one before). Starting executions and answering the last action
// are left out of the timing.
func BenchmarkDecideActionSuccess(b *testing.B) {
	const actions = 10
	var stages []pipeline.Stage
	for i := range actions {
		opts := []actionOpt{outputs(fmt.Sprintf("Art%d", i))}
		if i > 0 {
			opts = append(opts, inputs(fmt.Sprintf("Art%d", i-1)))
		}
		stages = append(stages, stage(fmt.Sprintf("Stage%d", i), noop(fmt.Sprintf("action%d", i), 1, opts...)))
	}
	decl := newPipeline(pipeline.Superseded, stages...)
	p := Pipeline{Name: decl.Name, Version: 1, Mode: decl.ExecutionMode}
	ids := 0
	env := Env{Now: t0, NewID: func() string { ids++; return "id-" + strconv.Itoa(ids) }}

	var e *Execution
	var job Job
	var seq int64
	begin := func() {
		seq++
		var err error
		e, err = NewExecution(decl, 1, "exec-"+strconv.FormatInt(seq, 10), nil, nil, Trigger{Type: "StartPipelineExecution"}, t0)
		if err != nil {
			b.Fatal(err)
		}
		e.Seq = seq
		d, err := Decide(State{Pipeline: p}, Start{Execution: e}, env)
		if err != nil || len(d.Jobs) != 1 {
			b.Fatalf("start: %v, %d jobs", err, len(d.Jobs))
		}
		job = d.Jobs[0]
	}
	begin()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; {
		st := State{Pipeline: p, Executions: []*Execution{e}}
		h := JobSucceeded{JobID: job.ID, Summary: "ok"}
		if job.Stage == stages[actions-1].Name {
			b.StopTimer()
			if _, err := Decide(st, h, env); err != nil || e.Status != ExecutionSucceeded {
				b.Fatalf("last action: %v, status %s", err, e.Status)
			}
			begin()
			b.StartTimer()
			continue
		}
		d, err := Decide(st, h, env)
		if err != nil || len(d.Jobs) != 1 {
			b.Fatalf("decide: %v, %d jobs", err, len(d.Jobs))
		}
		job = d.Jobs[0]
		i++
	}
}

// BenchmarkDecideEntryCondition is the engine's pure decision when a stage
// with an entry condition whose rules pass at once (a VariableCheck and an
// always-open DeploymentWindow) is entered: the previous stage's last
// action succeeds → the condition is evaluated → the stage's first job.
func BenchmarkDecideEntryCondition(b *testing.B) {
	for _, tc := range []struct {
		name string
		cond bool
	}{{"without", false}, {"with", true}} {
		b.Run(tc.name, func(b *testing.B) {
			deploy := stage("Deploy", noop("deploy", 1))
			if tc.cond {
				deploy.BeforeEntry = &pipeline.BeforeEntryConditions{Conditions: cond("FAIL",
					varCheck("Target", "#{S.Branch}", "MATCHES", "main|release"),
					rule("Always", pipeline.RuleDeploymentWindow, "Cron", "0 * * ? * * *"))}
			}
			decl := newPipeline(pipeline.Parallel, stage("Source", noop("src", 1, namespace("S", "Branch"))), deploy)
			env := Env{Now: t0, NewID: func() string { return "j" }}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				e, _ := NewExecution(decl, 1, "e", nil, nil, Trigger{}, t0)
				st := State{Pipeline: Pipeline{Name: "p", Version: 1, Mode: pipeline.Parallel}}
				d, _ := Decide(st, Start{Execution: e}, env)
				st.Executions = []*Execution{e}
				b.StartTimer()
				d, err := Decide(st, JobSucceeded{JobID: d.Jobs[0].ID, OutputVariables: map[string]string{"Branch": "main"}}, env)
				if err != nil || len(d.Jobs) != 1 || d.Jobs[0].Action != "deploy" {
					b.Fatalf("decision: %v, jobs %v", err, jobActions(d.Jobs))
				}
			}
		})
	}
}
