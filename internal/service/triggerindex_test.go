package service_test

import (
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/service/servicetest"
)

// runInfra runs infra to its end, succeeding or failing, and lets the
// reactor read what it wrote.
func (f *fixture) runInfra(succeed bool) {
	f.t.Helper()
	f.start("infra")
	j := f.claim("w1")
	if j.Job.Pipeline != "infra" {
		f.t.Fatalf("claimed a job of %s, want infra", j.Job.Pipeline)
	}
	if succeed {
		f.succeed(j, nil)
	} else if err := f.svc.CompleteJob(f.ctx, j.Job.ID, j.Worker, service.JobResult{Message: "boom"}); err != nil {
		f.t.Fatal(err)
	}
	f.react()
}

// wantTriggered takes the job of the execution infra's end started in app.
func (f *fixture) wantTriggered() {
	f.t.Helper()
	j := f.claim("w1")
	if j.Job.Pipeline != "app" {
		f.t.Fatalf("claimed a job of %s, want app", j.Job.Pipeline)
	}
	if e := f.execution("app", j.Job.ExecutionID); e.Trigger.Type != "PipelineTrigger" {
		f.t.Fatalf("app started by %+v", e.Trigger)
	}
	f.succeed(j, nil)
	f.react()
}

func appFollowing(on string) string {
	return "name: app\ntriggers: [{providerType: Pipeline, pipeline: {name: infra, on: [" + on + "]}}]\n" +
		"stages: [{name: S, actions: [{name: a, provider: Commands, commands: [x]}]}]\n"
}

// The reactor knows which pipelines follow which from an index it keeps:
// a downstream pipeline declared, changed or deleted after the index was
// built is followed as declared now.
func TestPipelineTriggerFollowsDeclarationChanges(t *testing.T) {
	f := newFixture(t)
	f.apply(infraPipeline)
	f.apply("name: other\ntriggers: [{providerType: Pipeline, pipeline: {name: elsewhere}}]\nstages: [{name: S, actions: [{name: a, provider: Commands, commands: [x]}]}]\n")
	f.runInfra(true) // builds the index: nothing follows infra
	f.noJob()

	f.apply(appFollowing("Succeeded")) // declared afterwards
	f.runInfra(true)
	f.wantTriggered()

	f.apply(appFollowing("Failed")) // changed: a success no longer starts it
	f.runInfra(true)
	f.noJob()
	f.runInfra(false)
	f.wantTriggered()

	f.apply("name: app\nstages: [{name: S, actions: [{name: a, provider: Commands, commands: [x]}]}]\n") // its trigger removed
	f.runInfra(false)
	f.noJob()

	f.apply(appFollowing("Failed"))
	f.runInfra(false)
	f.wantTriggered()
	if err := f.svc.DeletePipeline(f.ctx, "app"); err != nil { // deleted
		t.Fatal(err)
	}
	f.runInfra(false)
	f.noJob()
}

// A declaration another service on the same store applied is followed:
// at once when that service's announcement arrives (Wake, as replicas on
// PostgreSQL get it), and without one within a minute; a service started
// afterwards follows it from the first execution's end.
func TestPipelineTriggerDeclaredByAnotherService(t *testing.T) {
	f := newFixture(t)
	other := service.New(f.store, nil, service.Config{Lease: 30 * time.Second, Now: f.clock.Now})
	f.apply(infraPipeline)
	f.runInfra(true) // builds the index: nothing follows infra
	f.noJob()

	servicetest.Apply(t, other, appFollowing("Succeeded"))
	f.svc.Wake(service.ChangePipelines)
	f.runInfra(true)
	f.wantTriggered()

	servicetest.Apply(t, other, appFollowing("Failed"))
	f.svc.Wake("") // after missing announcements: anything may have changed
	f.runInfra(false)
	f.wantTriggered()

	if err := other.DeletePipeline(f.ctx, "app"); err != nil {
		t.Fatal(err)
	}
	f.svc.Wake(service.ChangePipelines)
	f.runInfra(false)
	f.noJob()

	// No announcement: the index is read again within a minute.
	servicetest.Apply(t, other, appFollowing("Failed"))
	f.clock.Add(time.Minute)
	f.runInfra(false)
	f.wantTriggered()

	// A restart: a new service on the store follows it too.
	f.svc = service.New(f.store, nil, service.Config{Lease: 30 * time.Second, Now: f.clock.Now})
	f.runInfra(false)
	f.wantTriggered()
}
