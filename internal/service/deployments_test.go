package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/errcode"
	"github.com/sluice-ci/sluice/internal/service"
)

func deployFixture(t *testing.T, config string, agents ...string) *fixture {
	f := newFixture(t)
	src := "applicationName: shop\ndeploymentGroupName: prod\ntargets: {agentGroup: web}\nautoRollbackConfiguration: {enabled: true}\ndeploymentConfigName: " + config + "\n"
	if _, err := f.svc.ApplyDeployGroup(f.ctx, "g.yml", []byte(src)); err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		if err := f.svc.RegisterAgent(f.ctx, service.DeployAgent{ID: a, Group: "web"}); err != nil {
			t.Fatal(err)
		}
	}
	// An agent of another group is no target.
	f.svc.RegisterAgent(f.ctx, service.DeployAgent{ID: "db-1", Group: "db"})
	return f
}

func claim(t *testing.T, f *fixture, agent string) *service.HostTask {
	t.Helper()
	task, err := f.svc.ClaimHostDeployment(f.ctx, service.DeployAgent{ID: agent, Group: "web"})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// HalfAtATime over four agents: two at a time; the third waits until one of
// the first two is done.
func TestDeploymentBatches(t *testing.T) {
	f := deployFixture(t, "CodeDeployDefault.HalfAtATime", "a1", "a2", "a3", "a4")
	d, err := f.svc.CreateDeployment(f.ctx, "shop", "prod", "test", strings.NewReader("zip"))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Hosts) != 4 || d.Plan.Batch != 2 {
		t.Fatalf("%+v", d)
	}
	if task, err := f.svc.ClaimHostDeployment(f.ctx, service.DeployAgent{ID: "db-1", Group: "db"}); task != nil || err != nil {
		t.Fatalf("an agent of another group got a host: %+v %v", task, err)
	}
	t1, t2 := claim(t, f, "a1"), claim(t, f, "a2")
	if t1 == nil || t2 == nil || t1.DeploymentID != d.ID || t1.GroupID == "" {
		t.Fatalf("%+v %+v", t1, t2)
	}
	if claim(t, f, "a3") != nil {
		t.Fatal("a third host started in a batch of two")
	}
	// An agent asks only for its own host's revision.
	if _, err := f.svc.HostRevision(f.ctx, d.ID, "a4"); errcode.Of(err) != errcode.Conflict {
		t.Fatalf("revision for a host not started: %v", err)
	}
	if _, err := f.svc.HostRevision(f.ctx, d.ID, "db-1"); errcode.Of(err) != errcode.Forbidden {
		t.Fatalf("revision for a stranger: %v", err)
	}
	must(t, f.svc.HostResult(f.ctx, d.ID, "a1", true, "", []service.HostEvent{{Event: "Install", Status: "Succeeded"}}))
	if claim(t, f, "a3") == nil {
		t.Fatal("a3 did not start when a1 finished")
	}
	must(t, f.svc.HostResult(f.ctx, d.ID, "a2", true, "", nil))
	if claim(t, f, "a4") == nil {
		t.Fatal("a4 did not start")
	}
	must(t, f.svc.HostResult(f.ctx, d.ID, "a3", true, "", nil))
	must(t, f.svc.HostResult(f.ctx, d.ID, "a4", true, "", nil))
	got, _ := f.svc.GetDeployment(f.ctx, d.ID)
	if got.Status != "Succeeded" || got.Hosts[0].Events[0].Event != "Install" {
		t.Fatalf("%+v", got)
	}
	// A result for a finished host is refused.
	if err := f.svc.HostResult(f.ctx, d.ID, "a1", false, "late", nil); errcode.Of(err) != errcode.Conflict {
		t.Fatalf("late result: %v", err)
	}
}

// OneAtATime: a failure on a host that is not the last stops the
// deployment, and the group rolls back to the last revision that
// succeeded; an agent that stops answering fails its host.
func TestDeploymentFailureRollbackAndLostAgent(t *testing.T) {
	f := deployFixture(t, "CodeDeployDefault.OneAtATime", "a1", "a2", "a3")
	first, _ := f.svc.CreateDeployment(f.ctx, "shop", "prod", "test", strings.NewReader("v1"))
	for _, a := range []string{"a1", "a2", "a3"} {
		if claim(t, f, a) == nil {
			t.Fatalf("%s got nothing", a)
		}
		must(t, f.svc.HostResult(f.ctx, first.ID, a, true, "", nil))
	}
	second, _ := f.svc.CreateDeployment(f.ctx, "shop", "prod", "test", strings.NewReader("v2"))
	claim(t, f, "a1")
	f.clock.Add(time.Second)
	must(t, f.svc.HostResult(f.ctx, second.ID, "a1", false, "ValidateService failed", nil))
	got, _ := f.svc.GetDeployment(f.ctx, second.ID)
	if got.Status != "Failed" || got.Hosts[1].Status != "Skipped" || got.RolledBack == "" {
		t.Fatalf("%+v", got)
	}
	rb, err := f.svc.GetDeployment(f.ctx, got.RolledBack)
	if err != nil || rb.SHA256 != first.SHA256 || rb.RollbackOf != second.ID || rb.Status != "InProgress" {
		t.Fatalf("rollback %+v %v", rb, err)
	}
	// a1 takes the rollback, then stops answering: its lease runs out.
	if task := claim(t, f, "a1"); task == nil || task.DeploymentID != rb.ID {
		t.Fatalf("rollback task %+v", task)
	}
	f.clock.Add(31 * time.Second)
	rb, _ = f.svc.GetDeployment(f.ctx, rb.ID)
	if rb.Hosts[0].Status != "Failed" || rb.Hosts[0].Message != "the agent stopped answering" || rb.Status != "Failed" {
		t.Fatalf("lost agent: %+v", rb)
	}
	if _, err := f.svc.HostHeartbeat(f.ctx, rb.ID, "a1"); errcode.Of(err) != errcode.Conflict {
		t.Fatalf("heartbeat after the lease: %v", err)
	}
	if rb.RolledBack != "" {
		t.Fatal("a failed rollback rolled back again")
	}
	// The agents are stale now: a new deployment has nobody to go to.
	if _, err := f.svc.CreateDeployment(f.ctx, "shop", "prod", "test", strings.NewReader("v3")); errcode.Of(err) != errcode.Conflict || !strings.Contains(err.Error(), "no agents") {
		t.Fatalf("no live agents: %v", err)
	}
	list, _ := f.svc.Deployments(f.ctx, "shop", "prod")
	if len(list) != 3 || list[0].ID != rb.ID {
		t.Fatalf("history: %d", len(list))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A worker deploys only for the CodeDeploy job it holds, to the group that
// job's configuration names, and follows only that job's deployments.
func TestJobDeployments(t *testing.T) {
	f := deployFixture(t, "CodeDeployDefault.AllAtOnce", "a1")
	f.apply(`name: ship
stages:
  - name: Build
    actions:
      - name: Make
        provider: Noop
        outputArtifacts: [app]
  - name: Deploy
    actions:
      - name: Shop
        provider: CodeDeploy
        configuration: {ApplicationName: shop, DeploymentGroupName: prod}
        inputArtifacts: [app]
`)
	f.start("ship")
	build := f.claim("w1")
	if _, err := f.svc.CreateJobDeployment(f.ctx, build.Job.ID, "w1", strings.NewReader("zip")); errcode.Of(err) != errcode.Forbidden {
		t.Fatalf("a Noop job deploying: %v", err)
	}
	f.succeed(build, nil)
	f.react()
	job := f.claim("w1")
	if _, err := f.svc.CreateJobDeployment(f.ctx, job.Job.ID, "w2", strings.NewReader("zip")); errcode.Of(err) != errcode.Conflict {
		t.Fatalf("a worker not holding the job: %v", err)
	}
	d, err := f.svc.CreateJobDeployment(f.ctx, job.Job.ID, "w1", strings.NewReader("zip"))
	if err != nil || d.Application != "shop" || d.Group != "prod" || !strings.HasPrefix(d.Creator, "pipeline/ship/") {
		t.Fatalf("%+v %v", d, err)
	}
	if got, err := f.svc.JobDeployment(f.ctx, job.Job.ID, "w1", d.ID); err != nil || got.ID != d.ID {
		t.Fatalf("follow: %v", err)
	}
	other, _ := f.svc.CreateDeployment(f.ctx, "shop", "prod", "api", strings.NewReader("x"))
	if _, err := f.svc.JobDeployment(f.ctx, job.Job.ID, "w1", other.ID); errcode.Of(err) != errcode.Forbidden {
		t.Fatalf("another deployment: %v", err)
	}
}
