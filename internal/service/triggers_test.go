package service_test

import (
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/service/servicetest"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
)

const hosted = servicetest.HostedPipeline

var (
	c1 = strings.Repeat("1", 40)
	c2 = strings.Repeat("2", 40)
	z  = strings.Repeat("0", 40)
)

func (f *fixture) executions(name string) []*engine.Execution {
	f.t.Helper()
	es, err := f.svc.Executions(f.ctx, name, 0, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	return es
}

func (f *fixture) lastTrigger(name string) *service.TriggerNote {
	f.t.Helper()
	n, err := f.svc.LastTrigger(f.ctx, name)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func TestPushStartsPipelineFollowingTheBranch(t *testing.T) {
	f := newFixture(t)
	f.apply(hosted)
	push := service.Push{ID: "p1", Repository: "repo", Principal: "alice", Updates: []service.RefUpdate{{Ref: "refs/heads/main", Old: z, New: c1}}}
	if err := f.svc.HandlePush(f.ctx, push); err != nil {
		t.Fatal(err)
	}
	es := f.executions("app")
	if len(es) != 1 {
		t.Fatalf("%d executions after a push to main", len(es))
	}
	e := es[0]
	if e.Trigger.Type != service.TriggerPush || !strings.Contains(e.Trigger.Detail, "alice") || !strings.Contains(e.Trigger.Detail, "refs/heads/main") {
		t.Fatalf("trigger = %+v", e.Trigger)
	}
	if len(e.SourceRevisions) != 1 || e.SourceRevisions[0].RevisionID != c1 {
		t.Fatalf("source revisions = %+v", e.SourceRevisions)
	}
	j := f.claim("w")
	if j.Job.Revision != c1 {
		t.Fatalf("source job revision = %q", j.Job.Revision)
	}
	// The source action's result becomes the recorded revision and its summary.
	if err := f.svc.CompleteJob(f.ctx, j.Job.ID, "w", service.JobResult{Succeeded: true, Summary: "Fix the build", OutputVariables: map[string]string{"CommitId": c1}}); err != nil {
		t.Fatal(err)
	}
	if got := f.execution("app", e.ID).SourceRevisions[0]; got.RevisionSummary != "Fix the build" {
		t.Fatalf("recorded revision = %+v", got)
	}
	// The push left one repository event per reference.
	evs, err := f.svc.Events(f.ctx, store.EventFilter{Type: service.RepositoryEvent})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("%d repository events", len(evs))
	}
	if d := evs[0].Detail.(service.RepositoryEventDetail); d.Event != "referenceCreated" || d.ReferenceName != "main" || d.CommitID != c1 || d.Sluice.CallerUser != "alice" || d.CallerUserArn != "arn:aws:iam::000000000000:user/alice" {
		t.Fatalf("repository event = %+v", d)
	}
	// The same push handed over again (a replay after a crash) starts nothing more.
	if err := f.svc.HandlePush(f.ctx, push); err != nil {
		t.Fatal(err)
	}
	if n := len(f.executions("app")); n != 1 {
		t.Fatalf("%d executions after a replayed push", n)
	}
	if evs, _ := f.svc.Events(f.ctx, store.EventFilter{Type: service.RepositoryEvent}); len(evs) != 1 {
		t.Fatalf("a replayed push recorded its events again: %d", len(evs))
	}
	// A push to another branch starts nothing, and the pipeline says why.
	other := service.Push{ID: "p2", Repository: "repo", Principal: "bob", Updates: []service.RefUpdate{{Ref: "refs/heads/feature", Old: z, New: c2}}}
	if err := f.svc.HandlePush(f.ctx, other); err != nil {
		t.Fatal(err)
	}
	if n := len(f.executions("app")); n != 1 {
		t.Fatalf("%d executions after a push to another branch", n)
	}
	note := f.lastTrigger("app")
	if note == nil || note.Started || !strings.Contains(note.Reason, "follows branch main") {
		t.Fatalf("note = %+v", note)
	}
	// A push to another repository leaves the pipeline alone, note included.
	if err := f.svc.HandlePush(f.ctx, service.Push{ID: "p3", Repository: "other", Updates: []service.RefUpdate{{Ref: "refs/heads/main", Old: z, New: c2}}}); err != nil {
		t.Fatal(err)
	}
	if n := f.lastTrigger("app"); n.Detail != note.Detail {
		t.Fatalf("a push elsewhere changed the note: %+v", n)
	}
}

func TestPushFilters(t *testing.T) {
	f := newFixture(t)
	f.apply(hosted + `
triggers:
  - providerType: CodeStarSourceConnection
    gitConfiguration:
      sourceActionName: src
      push:
        - branches: {includes: ["release/**"], excludes: ["release/old-*"]}
        - tags: {includes: ["v*"]}
`)
	cases := []struct {
		ref    string
		starts bool
	}{
		{"refs/heads/main", false},
		{"refs/heads/release/1.0", true},
		{"refs/heads/release/old-1", false},
		{"refs/tags/v2.0", true},
		{"refs/tags/nightly", false},
	}
	want := 0
	for i, tc := range cases {
		p := service.Push{ID: "p" + string(rune('a'+i)), Repository: "repo", Principal: "alice", Updates: []service.RefUpdate{{Ref: tc.ref, Old: z, New: c1}}}
		if err := f.svc.HandlePush(f.ctx, p); err != nil {
			t.Fatal(err)
		}
		if tc.starts {
			want++
		}
		if got := len(f.executions("app")); got != want {
			t.Fatalf("after a push to %s: %d executions, want %d", tc.ref, got, want)
		}
		if note := f.lastTrigger("app"); note.Started != tc.starts {
			t.Fatalf("note after %s = %+v", tc.ref, note)
		}
	}
}
