package service_test

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/service/servicetest"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
)

// react runs the reactor until it has read every event, as the server's
// reactor loop does after each change.
func (f *fixture) react() {
	f.t.Helper()
	for range 100 {
		n, err := f.svc.ReactOnce(f.ctx)
		if err != nil {
			f.t.Fatalf("react: %v", err)
		}
		if n == 0 {
			return
		}
	}
	f.t.Fatal("the reactor does not settle")
}

func (f *fixture) action(name, id, action string) *engine.Action {
	f.t.Helper()
	_, a, err := service.FindAction(f.execution(name, id), action)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

func (f *fixture) wantStatus(name, id string, want engine.ExecutionStatus) {
	f.t.Helper()
	if e := f.execution(name, id); e.Status != want {
		f.t.Fatalf("%s execution %s is %s (%s), want %s", name, id, e.Status, e.Summary, want)
	}
}

const infraPipeline = `
name: infra
stages:
  - name: Deploy
    actions:
      - name: apply
        provider: Commands
        commands: [terraform apply]
`

func gatedPipeline(onFailure string) string {
	return `
name: k8s
stages:
  - name: Wait
    actions:
      - name: infra-ready
        provider: PipelineGate
        configuration: {PipelineName: infra, OnUpstreamFailure: ` + onFailure + `}
  - name: Deploy
    actions:
      - name: kubectl
        provider: Commands
        commands: [kubectl apply]
`
}

func TestGateReleasedByUpstreamSuccess(t *testing.T) {
	f := newFixture(t)
	f.apply(infraPipeline)
	f.apply(gatedPipeline("WAIT"))
	infra := f.start("infra")
	k8s := f.start("k8s")
	f.react()
	gate := f.action("k8s", k8s, "infra-ready")
	if gate.Status != engine.ActionInProgress || gate.Summary != "waiting for infra execution "+infra+" (InProgress)" {
		t.Fatalf("gate %s: %q", gate.Status, gate.Summary)
	}
	j := f.claim("w1") // infra's job; the gate holds no worker
	if j.Job.Pipeline != "infra" {
		t.Fatalf("claimed %s/%s", j.Job.Pipeline, j.Job.Action)
	}
	f.noJob()
	f.succeed(j, nil)
	f.react()
	gate = f.action("k8s", k8s, "infra-ready")
	if gate.Status != engine.ActionSucceeded || !strings.Contains(gate.Summary, "infra execution "+infra+" succeeded") {
		t.Fatalf("gate %s: %q", gate.Status, gate.Summary)
	}
	if j := f.claim("w1"); j.Job.Action != "kubectl" {
		t.Fatalf("after the gate: %s", j.Job.Action)
	}
}

func TestGateOnUpstreamFailure(t *testing.T) {
	for _, mode := range []string{"FAIL", "WAIT"} {
		t.Run(mode, func(t *testing.T) {
			f := newFixture(t)
			f.apply(infraPipeline)
			f.apply(gatedPipeline(mode))
			infra := f.start("infra")
			k8s := f.start("k8s")
			f.react()
			j := f.claim("w1")
			if err := f.svc.CompleteJob(f.ctx, j.Job.ID, j.Worker, service.JobResult{Message: "boom"}); err != nil {
				t.Fatal(err)
			}
			f.react()
			gate := f.action("k8s", k8s, "infra-ready")
			if mode == "FAIL" {
				f.wantStatus("k8s", k8s, engine.ExecutionFailed)
				if want := "infra execution " + infra + " ended Failed"; gate.Summary != want {
					t.Fatalf("gate summary %q, want %q", gate.Summary, want)
				}
				return
			}
			if want := "waiting for the next successful execution of infra (latest: " + infra + " Failed)"; gate.Summary != want {
				t.Fatalf("gate summary %q, want %q", gate.Summary, want)
			}
			again := f.start("infra")
			f.react()
			if gate = f.action("k8s", k8s, "infra-ready"); gate.Summary != "waiting for infra execution "+again+" (InProgress)" {
				t.Fatalf("gate summary %q", gate.Summary)
			}
			f.succeed(f.claim("w1"), nil)
			f.react()
			if j := f.claim("w1"); j.Job.Pipeline != "k8s" || j.Job.Action != "kubectl" {
				t.Fatalf("after infra's success: %s/%s", j.Job.Pipeline, j.Job.Action)
			}
		})
	}
}

func TestGateIdleAndMissingUpstream(t *testing.T) {
	f := newFixture(t)
	f.apply(infraPipeline)
	f.apply(strings.Replace(gatedPipeline("WAIT"), "OnUpstreamFailure: WAIT", "Condition: Idle", 1))
	k8s := f.start("k8s")
	f.react() // infra never ran and runs nothing: idle
	if gate := f.action("k8s", k8s, "infra-ready"); gate.Status != engine.ActionSucceeded || gate.Summary != "pipeline infra is idle" {
		t.Fatalf("gate %s: %q", gate.Status, gate.Summary)
	}
	f.apply(strings.Replace(gatedPipeline("WAIT"), "PipelineName: infra", "PipelineName: nowhere", 1))
	again := f.start("k8s")
	f.react()
	f.wantStatus("k8s", again, engine.ExecutionFailed)
}

func TestPipelineTriggerStartsDownstreamOnce(t *testing.T) {
	f := newFixture(t)
	f.apply(strings.Replace(infraPipeline, "name: infra\n", "name: infra\nvariables: [{name: REGION, defaultValue: eu-west-1}]\n", 1))
	f.apply(`
name: app
triggers:
  - providerType: Pipeline
    pipeline: {name: infra, on: [Succeeded]}
stages:
  - name: Deploy
    actions:
      - name: ship
        provider: Commands
        commands: ["ship #{upstream.PipelineName} #{upstream.PipelineExecutionId} #{upstream.REGION}"]
`)
	infra := f.start("infra")
	f.succeed(f.claim("w1"), nil)
	f.react()
	j := f.claim("w1")
	if want := "ship infra " + infra + " eu-west-1"; j.Job.Pipeline != "app" || j.Job.Commands[0] != want {
		t.Fatalf("downstream job %s: %q, want %q", j.Job.Pipeline, j.Job.Commands, want)
	}
	e := f.execution("app", j.Job.ExecutionID)
	if e.Trigger.Type != "PipelineTrigger" || e.Upstream == nil || e.Upstream.ExecutionID != infra {
		t.Fatalf("trigger %+v upstream %+v", e.Trigger, e.Upstream)
	}
	// Reading the events again (a crash before the cursor moved) starts nothing twice.
	if err := f.store.SetCursor(f.ctx, "reactor", 0, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.react()
	execs, err := f.svc.Executions(f.ctx, "app", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(execs) != 1 {
		t.Fatalf("app has %d executions after a replay, want 1", len(execs))
	}
	// A failure triggers nothing: only Succeeded is followed.
	f.start("infra")
	j = f.claim("w1")
	if err := f.svc.CompleteJob(f.ctx, j.Job.ID, j.Worker, service.JobResult{Message: "boom"}); err != nil {
		t.Fatal(err)
	}
	f.react()
	f.noJob()
}

func TestInvokeFollowsTheChild(t *testing.T) {
	for _, childFails := range []bool{false, true} {
		f := newFixture(t)
		f.apply(`
name: child
variables: [{name: TAG, defaultValue: none}]
stages:
  - name: Run
    actions:
      - name: work
        provider: Commands
        commands: ["work #{variables.TAG}"]
`)
		f.apply(`
name: parent
stages:
  - name: Call
    actions:
      - name: invoke
        provider: Pipeline
        namespace: child
        configuration: {PipelineName: child, Variables: '{"TAG": "#{codepipeline.PipelineName}"}'}
  - name: After
    actions:
      - name: report
        provider: Commands
        commands: ["report #{child.PipelineExecutionId} #{child.TAG}"]
`)
		parent := f.start("parent")
		f.react()
		a := f.action("parent", parent, "invoke")
		if a.ExternalID == "" || a.Status != engine.ActionInProgress {
			t.Fatalf("invoke %s, external %q", a.Status, a.ExternalID)
		}
		j := f.claim("w1")
		if j.Job.Pipeline != "child" || j.Job.Commands[0] != "work parent" {
			t.Fatalf("child job %s %q", j.Job.Pipeline, j.Job.Commands)
		}
		child := f.execution("child", j.Job.ExecutionID)
		if child.Parent == nil || child.Parent.ExecutionID != parent || child.Trigger.Type != "PipelineInvoke" {
			t.Fatalf("child parent %+v trigger %+v", child.Parent, child.Trigger)
		}
		if childFails {
			if err := f.svc.CompleteJob(f.ctx, j.Job.ID, j.Worker, service.JobResult{Message: "no"}); err != nil {
				t.Fatal(err)
			}
			f.react()
			f.wantStatus("parent", parent, engine.ExecutionFailed)
			if got := f.action("parent", parent, "invoke").Summary; !strings.Contains(got, "pipeline child execution "+child.ID+" ended Failed") {
				t.Fatalf("invoke summary %q", got)
			}
			continue
		}
		f.succeed(j, nil)
		f.react()
		j = f.claim("w1")
		if want := "report " + child.ID + " parent"; j.Job.Commands[0] != want {
			t.Fatalf("after the invoke: %q, want %q", j.Job.Commands[0], want)
		}
	}
}

const approvalPipeline = servicetest.ApprovalPipeline

func (f *fixture) answer(id string, approved bool, comment string) error {
	a := f.action("release", id, "review")
	return f.svc.PutApprovalResult(f.ctx, service.ApprovalAnswer{Pipeline: "release", Stage: "Approve", Action: "review",
		Token: a.JobID, Approved: approved, Summary: comment, Principal: "alice"})
}

func TestApprovalAnswers(t *testing.T) {
	f := newFixture(t)
	f.apply(approvalPipeline)
	id := f.start("release")
	f.react()
	f.noJob() // an approval holds no worker
	token := f.action("release", id, "review").JobID
	err := f.svc.PutApprovalResult(f.ctx, service.ApprovalAnswer{Pipeline: "release", Stage: "Approve", Action: "other", Token: token, Approved: true, Principal: "alice"})
	if service.ErrorCode(err) != service.CodeInvalid {
		t.Fatalf("answer naming the wrong action: %v", err)
	}
	if err := f.answer(id, true, "canary is green"); err != nil {
		t.Fatal(err)
	}
	a := f.action("release", id, "review")
	if a.Status != engine.ActionSucceeded || a.Approval == nil || a.Approval.By != "alice" || a.Approval.Summary != "canary is green" {
		t.Fatalf("approval %s %+v", a.Status, a.Approval)
	}
	err = f.answer(id, false, "too late")
	if service.ErrorCode(err) != service.CodeConflict || !strings.Contains(err.Error(), "already answered: Approved by alice") {
		t.Fatalf("second answer: %v", err)
	}
	f.succeed(f.claim("w1"), nil)
	f.wantStatus("release", id, engine.ExecutionSucceeded)

	rejected := f.start("release")
	if err := f.answer(rejected, false, "not today"); err != nil {
		t.Fatal(err)
	}
	f.wantStatus("release", rejected, engine.ExecutionFailed)
	if got := f.execution("release", rejected).Summary; !strings.Contains(got, "rejected by alice: not today") {
		t.Fatalf("summary %q", got)
	}
}

func TestApprovalOfStoppedExecutionAndEarlierAttempt(t *testing.T) {
	f := newFixture(t)
	f.apply(approvalPipeline)
	id := f.start("release")
	first := f.action("release", id, "review").JobID
	if err := f.svc.StopExecution(f.ctx, "release", id, true, "changed my mind"); err != nil {
		t.Fatal(err)
	}
	err := f.svc.PutApprovalResult(f.ctx, service.ApprovalAnswer{Pipeline: "release", Stage: "Approve", Action: "review", Token: first, Approved: true, Principal: "bob"})
	if service.ErrorCode(err) != service.CodeConflict || !strings.Contains(err.Error(), "was stopped") {
		t.Fatalf("answer for a stopped execution: %v", err)
	}
	// A retry asks again, with a new token; the old one answers nothing.
	if err := f.svc.RetryStage(f.ctx, "release", id, "Approve", false); err != nil {
		t.Fatal(err)
	}
	err = f.svc.PutApprovalResult(f.ctx, service.ApprovalAnswer{Pipeline: "release", Stage: "Approve", Action: "review", Token: first, Approved: true, Principal: "bob"})
	if service.ErrorCode(err) != service.CodeConflict || !strings.Contains(err.Error(), "earlier attempt") {
		t.Fatalf("answer with the first attempt's token: %v", err)
	}
	if err := f.answer(id, true, "now"); err != nil {
		t.Fatal(err)
	}
}

func TestApprovalTimesOut(t *testing.T) {
	f := newFixture(t)
	f.apply(strings.Replace(approvalPipeline, "        configuration: {CustomData: \"check the canary\"}\n", "        timeoutInMinutes: 30\n", 1))
	id := f.start("release")
	f.clock.Add(31 * 60 * 1e9)
	if err := f.svc.SweepOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.wantStatus("release", id, engine.ExecutionFailed)
	if got := f.action("release", id, "review").Summary; got != "approval timed out after 30 minutes without an answer" {
		t.Fatalf("summary %q", got)
	}
	if err := f.answer(id, true, ""); service.ErrorCode(err) != service.CodeConflict {
		t.Fatalf("answer after the timeout: %v", err)
	}
}

func TestLocksSharedByThreePipelines(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"a", "b", "c"} {
		f.apply(`
name: ` + name + `
lock: deploy-env
stages:
  - name: Deploy
    actions:
      - name: ship
        provider: Commands
        commands: [ship ` + name + `]
`)
	}
	ids := map[string]string{}
	for _, name := range []string{"a", "b", "c"} {
		ids[name] = f.start(name)
	}
	f.react()
	for _, want := range []string{"a", "b", "c"} {
		j := f.claim("w1")
		if j.Job.Pipeline != want {
			t.Fatalf("lock given to %s, want %s", j.Job.Pipeline, want)
		}
		f.noJob()
		locks, err := f.svc.Locks(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(locks) != 1 || locks[0].Holder == nil || locks[0].Holder.Pipeline != want {
			t.Fatalf("locks %+v", locks)
		}
		if want != "c" {
			if e := f.execution("c", ids["c"]); !strings.Contains(e.WaitingFor, "waiting for lock deploy-env") {
				t.Fatalf("c waits for %q", e.WaitingFor)
			}
		}
		f.succeed(j, nil)
		f.react()
	}
	locks, _ := f.svc.Locks(f.ctx)
	if locks[0].Holder != nil || len(locks[0].Queue) != 0 {
		t.Fatalf("lock after all ended: %+v", locks[0])
	}
}

func TestSelfUpdate(t *testing.T) {
	const v1 = `name: selfie
variables: [{name: ENV, defaultValue: dev}]
stages:
  - name: Source
    actions:
      - name: fetch
        provider: Commands
        commands: [fetch]
        outputArtifacts: [{name: src, files: ["**/*"]}]
  - name: Update
    actions:
      - name: update
        provider: PipelineUpdate
        inputArtifacts: [src]
        configuration: {DefinitionPath: ci/pipeline.yml}
  - name: Deploy
    actions:
      - name: ship
        provider: Commands
        commands: ["ship v1"]
`
	run := func(f *fixture, definition string) (string, *service.ClaimedJob) {
		id := f.start("selfie")
		j := f.claim("w1")
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("ci/pipeline.yml")
		w.Write([]byte(definition))
		zw.Close()
		if _, err := f.svc.PutOutput(f.ctx, j.Job.ID, j.Worker, "src", &buf); err != nil {
			t.Fatal(err)
		}
		f.succeed(j, nil)
		f.react()
		return id, j
	}
	t.Run("unchanged", func(t *testing.T) {
		f := newFixture(t)
		f.apply(v1)
		id, _ := run(f, v1)
		if a := f.action("selfie", id, "update"); a.Status != engine.ActionSucceeded || !strings.Contains(a.Summary, "which this execution runs") {
			t.Fatalf("update %s: %q", a.Status, a.Summary)
		}
		if j := f.claim("w1"); j.Job.Commands[0] != "ship v1" {
			t.Fatalf("deploy runs %q", j.Job.Commands)
		}
	})
	t.Run("changed", func(t *testing.T) {
		f := newFixture(t)
		f.apply(v1)
		id, _ := run(f, strings.Replace(v1, "ship v1", "ship v2", 1))
		old := f.execution("selfie", id)
		if old.Status != engine.ExecutionSuperseded || !strings.Contains(old.Summary, "on pipeline version 2") {
			t.Fatalf("old execution %s: %q", old.Status, old.Summary)
		}
		info, err := f.svc.Pipeline(f.ctx, "selfie")
		if err != nil || info.Version != 2 {
			t.Fatalf("version %d, %v", info.Version, err)
		}
		// The restarted execution runs version 2 from the top, with the same variables.
		j := f.claim("w1")
		next := f.execution("selfie", j.Job.ExecutionID)
		if next.ID == id || next.Version != 2 || next.Trigger.Type != "PipelineUpdate" || next.Variables["ENV"] != "dev" {
			t.Fatalf("next execution %s v%d trigger %+v vars %v", next.ID, next.Version, next.Trigger, next.Variables)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		f := newFixture(t)
		f.apply(v1)
		id, _ := run(f, strings.Replace(v1, "provider: Commands\n        commands: [\"ship v1\"]", "provider: Comands", 1))
		f.wantStatus("selfie", id, engine.ExecutionFailed)
		if a := f.action("selfie", id, "update"); !strings.Contains(a.Summary, "invalid pipeline definition: ci/pipeline.yml:") {
			t.Fatalf("update summary %q", a.Summary)
		}
		if info, _ := f.svc.Pipeline(f.ctx, "selfie"); info.Version != 1 {
			t.Fatalf("an invalid definition changed the pipeline to version %d", info.Version)
		}
	})
}

func TestLockOfDeletedPipelineIsReleased(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"gone", "next"} {
		f.apply("name: " + name + "\nlock: shared\nstages:\n  - name: S\n    actions:\n      - name: a\n        provider: Commands\n        commands: [x]\n")
	}
	f.start("gone")
	next := f.start("next")
	f.react()
	if e := f.execution("next", next); !strings.Contains(e.WaitingFor, "waiting for lock shared") {
		t.Fatalf("next waits for %q", e.WaitingFor)
	}
	if err := f.svc.DeletePipeline(f.ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	j := f.claim("w1")
	if j.Job.Pipeline != "next" {
		t.Fatalf("claimed %s", j.Job.Pipeline)
	}
}

func TestPipelineTriggerForgottenWithItsPipeline(t *testing.T) {
	f := newFixture(t)
	f.apply(infraPipeline)
	withTrigger := "name: app\ntriggers: [{providerType: Pipeline, pipeline: {name: infra}}]\nstages: [{name: S, actions: [{name: a, provider: Commands, commands: [x]}]}]\n"
	without := "name: app\nstages: [{name: S, actions: [{name: a, provider: Commands, commands: [x]}]}]\n"
	runInfra := func() {
		f.start("infra")
		f.succeed(f.claim("w1"), nil)
		f.react()
	}
	f.apply(withTrigger)
	runInfra()
	if j := f.claim("w1"); j.Job.Pipeline != "app" {
		t.Fatalf("claimed %s", j.Job.Pipeline)
	}
	if err := f.svc.DeletePipeline(f.ctx, "app"); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Second)
	f.apply(without) // version 1 again, with no trigger
	runInfra()
	f.noJob()
}

func TestTransitionChangesAreEvents(t *testing.T) {
	f := newFixture(t)
	f.apply(twoStages)
	if err := f.svc.SetTransition(f.ctx, "p", "Deploy", false, "freeze", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetTransition(f.ctx, "p", "Deploy", true, "", "alice"); err != nil {
		t.Fatal(err)
	}
	evs, err := f.svc.Events(f.ctx, store.EventFilter{Type: service.TransitionEvent})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("%d transition events, want 2", len(evs))
	}
	d0, d1 := evs[0].Detail.(service.EventDetail), evs[1].Detail.(service.EventDetail)
	if d0.Stage != "Deploy" || d0.State != "DISABLED" || d0.Summary != "freeze" || d1.State != "ENABLED" {
		t.Fatalf("events %+v %+v", d0, d1)
	}
}

func TestInvokeUnderASharedLockRefused(t *testing.T) {
	f := newFixture(t)
	f.apply("name: migrate\nlock: prod\nstages: [{name: S, actions: [{name: a, provider: Commands, commands: [x]}]}]\n")
	p, err := pipeline.Parse("k8s.yml", []byte("name: k8s\nstages:\n  - name: Deploy\n    lock: prod\n    actions: [{name: db, provider: Pipeline, configuration: {PipelineName: migrate}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.ApplyPipeline(f.ctx, p)
	if service.ErrorCode(err) != service.CodeInvalid || !strings.Contains(err.Error(), "its action Deploy/db holds lock prod while it invokes pipeline migrate, which needs the same lock") {
		t.Fatalf("apply: %v", err)
	}
	if _, err := f.svc.Pipeline(f.ctx, "k8s"); service.ErrorCode(err) != service.CodeNotFound {
		t.Fatalf("the refused pipeline was stored: %v", err)
	}
	// Another lock is fine.
	p.Stages[0].Lock = "other"
	if _, err := f.svc.ApplyPipeline(f.ctx, p); err != nil {
		t.Fatal(err)
	}
}
