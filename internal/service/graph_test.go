package service_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
)

// depPipeline is a one-action pipeline named name with extra YAML at the
// top level (triggers, lock) and in its one stage's actions.
func depPipeline(name, top, actions string) string {
	return fmt.Sprintf(`name: %s
%s
stages:
  - name: Deploy
    actions:
      - name: run
        provider: Commands
        commands: ["true"]
%s`, name, top, actions)
}

func triggeredBy(upstream string) string {
	return "triggers:\n  - providerType: Pipeline\n    pipeline: {name: " + upstream + ", on: [Succeeded]}"
}

func invoking(callee string) string {
	return "      - name: Call\n        provider: Pipeline\n        runOrder: 2\n        configuration: {PipelineName: " + callee + "}\n"
}

func gating(upstream string) string {
	return "      - name: Wait\n        provider: PipelineGate\n        configuration: {PipelineName: " + upstream + "}\n"
}

// applyErr applies src and returns the error the service answers.
func (f *fixture) applyErr(src string) error {
	f.t.Helper()
	p, err := pipeline.Parse("p.yml", []byte(src))
	if err != nil {
		f.t.Fatalf("parse: %v", err)
	}
	_, err = f.svc.ApplyPipeline(f.ctx, p)
	return err
}

func TestApplyRefusesACycleOfStarts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before []string // applied first, in order
		apply  string   // then this, refused
		want   string
	}{
		{"trigger closing a trigger cycle on update",
			[]string{depPipeline("a", "", ""), depPipeline("b", triggeredBy("a"), "")},
			depPipeline("a", triggeredBy("b"), ""),
			"triggers[0].pipeline.name: pipeline trigger cycle: a → b → a (b is started by a's Succeeded, a is started by b's Succeeded)"},
		{"a new pipeline closing a cycle it declares",
			[]string{depPipeline("b", "", invoking("c"))},
			depPipeline("c", "", invoking("b")),
			"stages[0].actions[1].configuration.PipelineName: pipeline invoke cycle: c → b → c (c invokes b in Deploy/Call, b invokes c in Deploy/Call)"},
		{"a cycle through a pipeline not declared yet",
			nil,
			depPipeline("b", triggeredBy("c"), invoking("c")),
			"stages[0].actions[1].configuration.PipelineName: pipeline trigger and invoke cycle: b → c → b (b invokes c in Deploy/Call, b is started by c's Succeeded)"},
		{"invokes",
			[]string{depPipeline("a", "", ""), depPipeline("b", "", invoking("a"))},
			depPipeline("a", "", invoking("b")),
			"stages[0].actions[1].configuration.PipelineName: pipeline invoke cycle: a → b → a (a invokes b in Deploy/Call, b invokes a in Deploy/Call)"},
		{"three pipelines",
			[]string{depPipeline("a", "", ""), depPipeline("b", triggeredBy("a"), ""), depPipeline("c", triggeredBy("b"), "")},
			depPipeline("a", triggeredBy("c"), ""),
			"triggers[0].pipeline.name: pipeline trigger cycle: a → b → c → a (b is started by a's Succeeded, c is started by b's Succeeded, a is started by c's Succeeded)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			for _, src := range tc.before {
				f.apply(src)
			}
			name := strings.TrimPrefix(strings.SplitN(tc.apply, "\n", 2)[0], "name: ")
			before, notYet := f.svc.Pipeline(f.ctx, name)

			err := f.applyErr(tc.apply)
			if service.ErrorCode(err) != service.CodeInvalid || err.Error() != tc.want {
				t.Fatalf("apply: %v (code %s)\nwant: %s", err, service.ErrorCode(err), tc.want)
			}
			after, err := f.svc.Pipeline(f.ctx, name)
			if notYet != nil {
				if service.ErrorCode(err) != service.CodeNotFound {
					t.Fatalf("pipeline %s was created by a refused apply: %+v %v", name, after, err)
				}
				return
			}
			if err != nil || after.Version != before.Version || !bytes.Equal(after.Declaration.Canonical(), before.Declaration.Canonical()) {
				t.Fatalf("pipeline %s after a refused apply: version %d (was %d), %v", name, after.Version, before.Version, err)
			}
		})
	}
}

func TestApplyAllowsGatesInACycleAndUnchangedApplies(t *testing.T) {
	f := newFixture(t)
	f.apply(depPipeline("a", "", gating("b")))
	f.apply(depPipeline("b", triggeredBy("a"), gating("a")))
	// An apply that changes nothing is not checked again.
	if r := f.apply(depPipeline("b", triggeredBy("a"), gating("a"))); r.Changed {
		t.Fatalf("identical apply = %+v", r)
	}
	// A dynamic name is known only at run time, so it closes no cycle.
	dynamic := depPipeline("b", triggeredBy("a")+"\nvariables: [{name: NEXT, defaultValue: a}]", invoking("'#{variables.NEXT}'"))
	if r := f.apply(dynamic); !r.Changed {
		t.Fatalf("apply with a dynamic invoke = %+v", r)
	}
}

func TestGraph(t *testing.T) {
	f := newFixture(t)
	f.apply(depPipeline("infra", "", ""))
	f.apply(depPipeline("k8s", triggeredBy("infra")+"\nlock: deploy", gating("infra")))
	f.apply(depPipeline("db", "lock: deploy", ""))

	g, err := f.svc.Graph(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range g.Nodes {
		if n.Status != "" {
			t.Errorf("node %s has status %q before any execution", n.Name, n.Status)
		}
	}

	id := f.start("infra")
	j := f.claim("w")
	f.succeed(j, nil)
	if e := f.execution("infra", id); e.Status != "Succeeded" {
		t.Fatalf("infra ended %s", e.Status)
	}
	g, err = f.svc.Graph(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := g.Text(&buf); err != nil {
		t.Fatal(err)
	}
	want := `db
  uses lock deploy (pipeline)
infra [Succeeded]
  waited for by k8s (gate Deploy/Wait: Succeeded)
  starts k8s (trigger on Succeeded)
k8s
  waits for infra (gate Deploy/Wait: Succeeded)
  started by infra (trigger on Succeeded)
  uses lock deploy (pipeline)
locks:
  deploy: used by db (pipeline), k8s (pipeline)
`
	if got := buf.String(); got != want {
		t.Errorf("graph:\n%s\nwant:\n%s", got, want)
	}
}

// The graph and the lists tell the pipeline holding a lock from the one
// queued for it, and say what a waiting execution waits for: "InProgress"
// alone read the same for both.
func TestGraphAndListsSayWhoHoldsAndWhoWaits(t *testing.T) {
	f := newFixture(t)
	f.apply(depPipeline("k8s", "lock: deploy", ""))
	f.apply(depPipeline("db", "lock: deploy", ""))
	f.apply(`name: release
stages:
  - name: Approve
    actions:
      - {name: review, provider: Manual}
`)
	holder := f.start("k8s")
	queued := f.start("db")
	review := f.start("release")

	g, err := f.svc.Graph(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := g.Text(&buf); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"db [InProgress (waiting for lock deploy)]\n  queued for lock deploy (pipeline; position 1, held by k8s)\n",
		"k8s [InProgress]\n  holds lock deploy (pipeline; execution " + holder + ")\n",
		"release [InProgress (waiting for approval)]\n",
		"  deploy: used by db (pipeline), k8s (pipeline); held by k8s (execution " + holder + "); queued: db (execution " + queued + ")\n",
	} {
		if !strings.Contains(buf.String(), line) {
			t.Errorf("graph lacks %q:\n%s", line, buf.String())
		}
	}

	es := []*engine.Execution{f.execution("k8s", holder), f.execution("db", queued), f.execution("release", review)}
	ws, err := f.svc.ExecutionWaiting(f.ctx, es...)
	if err != nil {
		t.Fatal(err)
	}
	if ws[0] != nil {
		t.Errorf("k8s, holding the lock and running, waits for %+v", ws[0])
	}
	if w := ws[1]; w == nil || w.Kind != service.WaitLock || w.Name != "deploy" || w.Position != 1 || w.HeldBy != "k8s" || w.Label() != "waiting for lock deploy" {
		t.Errorf("db waits for %+v", w)
	}
	if w := ws[2]; w == nil || w.Kind != service.WaitApproval || w.Name != "Approve/review" || w.Label() != "waiting for approval" {
		t.Errorf("release waits for %+v", w)
	}
}
