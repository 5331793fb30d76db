package service_test

import (
	"testing"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/service"
)

// TestPipelineStateReadModel: the read model the API and the console both
// show finds each stage's latest execution however far back it is (here
// behind more than one batch of newer executions), says whether it may be
// retried, and carries the newest executions and those still running.
func TestPipelineStateReadModel(t *testing.T) {
	f := newFixture(t)
	f.apply(twoStages)
	fail := func(j *service.ClaimedJob) {
		t.Helper()
		if err := f.svc.CompleteJob(f.ctx, j.Job.ID, j.Worker, service.JobResult{Message: "boom"}); err != nil {
			t.Fatal(err)
		}
	}
	// The one execution that reached Deploy, and failed there.
	deployed := f.start("p")
	f.succeed(f.claim("w"), map[string]string{"VERSION": "1"})
	fail(f.claim("w"))
	// Newer ones fail in Build: more than a batch of them.
	var newest string
	for range service.RecentInState + 3 {
		newest = f.start("p")
		fail(f.claim("w"))
	}
	running := f.start("p")
	st, err := f.svc.PipelineState(f.ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if st.Declaration == nil || st.Declaration.Name != "p" || len(st.Stages) != 2 {
		t.Fatalf("state %+v", st)
	}
	build, deploy := st.Stages[0], st.Stages[1]
	if build.Latest == nil || build.Latest.ID != running || build.Retryable() {
		t.Errorf("Build: latest %v, retryable %v", build.Latest, build.Retryable())
	}
	if deploy.Latest == nil || deploy.Latest.ID != deployed || deploy.Latest.Stages[deploy.Index].Status != engine.StageFailed || !deploy.Retryable() {
		t.Errorf("Deploy: latest %+v", deploy.Latest)
	}
	if len(deploy.Declared.Actions) != 1 || deploy.Declared.Actions[0].Name != "ship" || len(deploy.Actions) != 1 || deploy.Actions[0] != "ship" {
		t.Errorf("Deploy declared %+v, actions %v", deploy.Declared, deploy.Actions)
	}
	if len(st.Recent) != service.RecentInState || st.Recent[0].ID != running || st.Recent[1].ID != newest {
		t.Errorf("recent: %d, first %s", len(st.Recent), st.Recent[0].ID)
	}
	if len(st.Running) != 1 || st.Running[0].ID != running {
		t.Errorf("running: %v", st.Running)
	}
	// A stage that failed in an execution that goes on (or has not ended)
	// is not retryable; one that failed in an ended execution is.
	if service.StageRetryable(st.Running[0], 0) {
		t.Error("a running execution's stage is retryable")
	}
}
