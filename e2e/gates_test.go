package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/notify"
	"github.com/sluice-ci/sluice/internal/notify/smtpsink"
)

// Pipelines that depend on each other: gates, pipeline triggers, invoke
// actions, locks, manual approvals and self-updates, driven through the CLI.

// heldExecution is the part of `sluice execution get -o json` that actions
// held by the server (gates, approvals, invokes) add to an execution.
type heldExecution struct {
	Status   string        `json:"status"`
	Upstream *executionRef `json:"upstream"`
	Parent   *executionRef `json:"parent"`
	Stages   []struct {
		Name    string       `json:"name"`
		Actions []heldAction `json:"actions"`
	} `json:"stages"`
}

type executionRef struct {
	PipelineName        string `json:"pipelineName"`
	PipelineExecutionID string `json:"pipelineExecutionId"`
	Status              string `json:"status"`
	Stage               string `json:"stage"`
	Action              string `json:"action"`
}

type heldAction struct {
	Name                string `json:"name"`
	Status              string `json:"status"`
	Summary             string `json:"summary"`
	Token               string `json:"token"`
	ExternalExecutionID string `json:"externalExecutionId"`
	Approval            *struct {
		Status     string    `json:"status"`
		Summary    string    `json:"summary"`
		ApprovedBy string    `json:"approvedBy"`
		Time       time.Time `json:"time"`
	} `json:"approval"`
}

func (s *server) heldExecution(name, id string) heldExecution {
	s.t.Helper()
	var e heldExecution
	s.json(&e, "execution", "get", name, id)
	return e
}

// held is action of execution id of pipeline name, as the server holds it.
func (s *server) held(name, id, action string) heldAction {
	s.t.Helper()
	for _, st := range s.heldExecution(name, id).Stages {
		for _, a := range st.Actions {
			if a.Name == action {
				return a
			}
		}
	}
	s.t.Fatalf("execution %s of %s has no action %s", id, name, action)
	return heldAction{}
}

// waitHeld polls action of an execution until cond holds.
func (s *server) waitHeld(name, id, action, what string, cond func(heldAction) bool) heldAction {
	s.t.Helper()
	var a heldAction
	eventually(s.t, 30*time.Second, fmt.Sprintf("action %s of %s execution %s: %s", action, name, id, what), func() bool {
		a = s.held(name, id, action)
		return cond(a)
	})
	return a
}

// waitSummary waits until action is InProgress and says summary.
func (s *server) waitSummary(name, id, action, summary string) heldAction {
	s.t.Helper()
	var last heldAction
	eventually(s.t, 30*time.Second, fmt.Sprintf("action %s of %s execution %s to say %q", action, name, id, summary), func() bool {
		e := s.execution(name, id)
		if e.terminal() {
			s.t.Fatalf("execution %s of %s ended %s (%s) while waiting for %s to say %q:\n%s",
				id, name, e.Status, e.StatusSummary, action, summary, s.cli("execution", "get", name, id).stdout)
		}
		last = s.held(name, id, action)
		return last.Status == "InProgress" && last.Summary == summary
	})
	return last
}

// waitToken waits until the manual approval action of an execution waits for
// an answer, and returns its token.
func (s *server) waitToken(name, id, action string) string {
	s.t.Helper()
	return s.waitHeld(name, id, action, "to wait for an answer", func(a heldAction) bool {
		return a.Status == "InProgress" && a.Token != ""
	}).Token
}

// applyYAML writes a pipeline declaration into a scratch file and applies it.
func (s *server) applyYAML(name, src string) string {
	s.t.Helper()
	file := filepath.Join(s.scratch("pipelines"), name+".yml")
	writeFile(s.t, file, src)
	return s.apply(file)
}

// release writes content to path in one step (a rename), so that a command
// polling for the file never reads it half written.
func release(t *testing.T, path, content string) {
	t.Helper()
	writeFile(t, path+".tmp", content)
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// notBefore checks that the time of a later happening is not before that of
// an earlier one.
func notBefore(t *testing.T, what string, later, earlier *time.Time) {
	t.Helper()
	if later == nil || earlier == nil {
		t.Errorf("%s: a time is missing (%v, %v)", what, later, earlier)
		return
	}
	if later.Before(*earlier) {
		t.Errorf("%s: %s is before %s", what, later.Format(time.RFC3339Nano), earlier.Format(time.RFC3339Nano))
	}
}

// The headline scenario, with the pipelines of examples/dependencies: k8s
// waits for infra, is released by infra's end, and follows ON_INFRA_FAILURE
// when infra fails.
func TestPipelineGateWaitsForUpstream(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.apply("../examples/dependencies/infra.yml")
	s.apply("../examples/dependencies/k8s.yml")
	dir := s.scratch("releases")
	rel := func(n int) string { return filepath.Join(dir, fmt.Sprintf("release-%d", n)) }
	startInfra := func(n int) string {
		t.Helper()
		id := s.start("infra", "RELEASE_FILE="+rel(n))
		s.waitAction("infra", id, "apply", "InProgress")
		return id
	}
	waitingFor := func(infra string) string { return "waiting for infra execution " + infra + " (InProgress)" }

	// Started while infra runs, k8s waits at its gate and runs nothing.
	infra1 := startInfra(1)
	k1 := s.start("k8s")
	s.waitSummary("k8s", k1, "infra-ready", waitingFor(infra1))
	e := s.execution("k8s", k1)
	wantEqual(t, "k8s while infra runs", e.Status, "InProgress")
	wantEqual(t, "stage WaitForInfra while infra runs", e.stage(t, "WaitForInfra").Status, "InProgress")
	wantEqual(t, "stage Deploy while infra runs", e.stage(t, "Deploy").Status, "NotStarted")
	wantEqual(t, "kubectl while infra runs", e.actionStatus("kubectl"), "NotStarted")
	wantContains(t, "status k8s", s.ok("status", "k8s"), "infra-ready: InProgress "+waitingFor(infra1))
	// The lists and the graph say what k8s waits for, not just InProgress.
	wantContains(t, "executions k8s", s.ok("executions", "k8s"), k1+"  InProgress (waiting for gate: infra)")
	wantContains(t, "pipeline list", s.ok("pipeline", "list"), k1+" InProgress (waiting for gate: infra)")
	wantContains(t, "graph", s.ok("graph"), "\nk8s [InProgress (waiting for gate: infra)]\n")
	wantContains(t, "execution get k8s", s.ok("execution", "get", "k8s", k1), "execution "+k1+" of k8s (version 1): InProgress (waiting for gate: infra)\n")

	// infra's success releases the gate; k8s proceeds and succeeds.
	release(t, rel(1), "ok")
	upstream := s.waitEnd("infra", infra1, "Succeeded")
	e = s.waitEnd("k8s", k1, "Succeeded")
	gate := e.action(t, "infra-ready")
	wantEqual(t, "gate after infra's success", gate.Summary, "infra execution "+infra1+" succeeded and nothing of infra runs")
	notBefore(t, "kubectl's start after infra's end", e.action(t, "kubectl").StartTime, &upstream.LastUpdateTime)
	wantContains(t, "kubectl log", s.ok("logs", "k8s", k1, "kubectl"), "kubectl apply for execution "+k1)

	// OnUpstreamFailure FAIL: infra's failure fails k8s, naming infra's execution.
	infra2 := startInfra(2)
	k2 := s.start("k8s", "ON_INFRA_FAILURE=FAIL")
	s.waitSummary("k8s", k2, "infra-ready", waitingFor(infra2))
	release(t, rel(2), "broken")
	s.waitEnd("infra", infra2, "Failed")
	e = s.waitEnd("k8s", k2, "Failed")
	gate = e.action(t, "infra-ready")
	wantEqual(t, "gate status after infra's failure (FAIL)", gate.Status, "Failed")
	wantEqual(t, "gate summary after infra's failure (FAIL)", gate.Summary, "infra execution "+infra2+" ended Failed")
	wantContains(t, "k8s summary after infra's failure (FAIL)", e.StatusSummary, infra2)
	wantEqual(t, "kubectl after infra's failure (FAIL)", e.actionStatus("kubectl"), "NotStarted")

	// OnUpstreamFailure WAIT (the example's default): k8s keeps waiting
	// through infra's failure, and proceeds after infra's next success.
	infra3 := startInfra(3)
	k3 := s.start("k8s")
	s.waitSummary("k8s", k3, "infra-ready", waitingFor(infra3))
	release(t, rel(3), "broken")
	s.waitEnd("infra", infra3, "Failed")
	s.waitSummary("k8s", k3, "infra-ready", "waiting for the next successful execution of infra (latest: "+infra3+" Failed)")
	wantEqual(t, "kubectl after infra's failure (WAIT)", s.execution("k8s", k3).actionStatus("kubectl"), "NotStarted")
	infra4 := startInfra(4)
	s.waitSummary("k8s", k3, "infra-ready", waitingFor(infra4))
	release(t, rel(4), "ok")
	upstream = s.waitEnd("infra", infra4, "Succeeded")
	e = s.waitEnd("k8s", k3, "Succeeded")
	wantEqual(t, "gate after infra's next success", e.action(t, "infra-ready").Summary,
		"infra execution "+infra4+" succeeded and nothing of infra runs")
	notBefore(t, "kubectl's start after infra's next success", e.action(t, "kubectl").StartTime, &upstream.LastUpdateTime)
}

const approvalPipeline = `name: release
executionMode: PARALLEL
stages:
  - name: Approve
    actions:
      - name: review
        provider: Manual
        configuration: {CustomData: "check the canary"}
  - name: Deploy
    actions:
      - name: ship
        provider: Commands
        commands: ['echo "shipping #{codepipeline.PipelineExecutionId}"']
`

func TestApprovalThroughCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.applyYAML("release", approvalPipeline)

	// Approve with a comment: the execution goes on and succeeds, and keeps
	// who approved and why.
	id := s.start("release")
	token := s.waitToken("release", id, "review")
	wantEqual(t, "ship while the approval waits", s.execution("release", id).actionStatus("ship"), "NotStarted")
	out := s.ok("approve", "release", id, "Approve", "review", "--comment", "canary is green")
	wantEqual(t, "approve output", strings.TrimSpace(out), "Approve/review of execution "+id+" approved")
	s.waitEnd("release", id, "Succeeded")
	a := s.held("release", id, "review")
	wantEqual(t, "review", a.Status, "Succeeded")
	wantEqual(t, "review summary", a.Summary, "approved by admin: canary is green")
	if a.Approval == nil {
		t.Fatalf("review has no approval after being approved: %+v", a)
	}
	wantEqual(t, "approval status", a.Approval.Status, "Approved")
	wantEqual(t, "approval approvedBy", a.Approval.ApprovedBy, "admin")
	wantEqual(t, "approval summary", a.Approval.Summary, "canary is green")
	wantEqual(t, "token after the answer", a.Token, "")
	wantContains(t, "ship log", s.ok("logs", "release", id, "ship"), "shipping "+id)

	// A second answer is refused, whether the CLI finds the approval answered
	// or the server does (the token given).
	r := s.fails("approve", "release", id, "Approve", "review")
	wantContains(t, "second approve", r.stderr, "approval Approve/review of execution "+id+" was already answered: Approved by admin")
	r = s.fails("reject", "release", id, "Approve", "review", "--approval-token", token, "--comment", "too late")
	wantContains(t, "reject with the answered approval's token", r.stderr, "was already answered: Approved by admin")
	r = s.fails("approve", "release", id, "Deploy", "ship")
	wantContains(t, "approve of a Commands action", r.stderr, "not a manual approval")

	// Reject: the execution fails, saying who rejected it and why.
	id = s.start("release")
	s.waitToken("release", id, "review")
	out = s.ok("reject", "release", id, "Approve", "review", "--comment", "not today")
	wantEqual(t, "reject output", strings.TrimSpace(out), "Approve/review of execution "+id+" rejected")
	e := s.waitEnd("release", id, "Failed")
	wantContains(t, "summary after a rejection", e.StatusSummary, "rejected by admin: not today")
	wantEqual(t, "ship after a rejection", e.actionStatus("ship"), "NotStarted")
	a = s.held("release", id, "review")
	if a.Approval == nil || a.Approval.Status != "Rejected" || a.Approval.ApprovedBy != "admin" || a.Approval.Summary != "not today" {
		t.Errorf("approval after a rejection = %+v", a.Approval)
	}
}

func TestApprovalSurvivesKill9(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.applyYAML("release", approvalPipeline)
	id := s.start("release")
	token := s.waitToken("release", id, "review")

	s.kill9()
	s.boot()
	// Still waiting, for the same answer.
	wantEqual(t, "token after the restart", s.waitToken("release", id, "review"), token)
	s.ok("approve", "release", id, "Approve", "review", "--comment", "after the crash")
	e := s.waitEnd("release", id, "Succeeded")
	wantEqual(t, "review summary", e.action(t, "review").Summary, "approved by admin: after the crash")
	wantEqual(t, "review attempt", e.action(t, "review").Attempt, 1)
}

// webhookCall is one request the test's webhook receiver got.
type webhookCall struct {
	header http.Header
	body   []byte
}

// approvalMessage is the body of an approval's webhook notification.
type approvalMessage struct {
	ConsoleLink string `json:"consoleLink"`
	Approval    struct {
		PipelineName       string `json:"pipelineName"`
		StageName          string `json:"stageName"`
		ActionName         string `json:"actionName"`
		Token              string `json:"token"`
		ExternalEntityLink string `json:"externalEntityLink"`
		ApprovalReviewLink string `json:"approvalReviewLink"`
		CustomData         string `json:"customData"`
	} `json:"approval"`
	Execution struct {
		ID string `json:"pipelineExecutionId"`
	} `json:"execution"`
}

func TestApprovalNotifications(t *testing.T) {
	t.Parallel()
	sink, err := smtpsink.New(smtpsink.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	calls := make(chan webhookCall, 8)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		calls <- webhookCall{header: r.Header.Clone(), body: body}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()

	const external = "https://sluice.example.com"
	s := startServer(t, "--smtp-addr", sink.Addr(), "--smtp-tls", "none", "--smtp-from", "sluice@ci.example.com",
		"--external-url", external)
	const secret = "approvals hook secret"
	r := runCLIStdin(t, cliEnv(s.url, s.token), secret+"\n", "secret", "put", "approvals-hook")
	if r.code != 0 {
		t.Fatalf("want exit 0, got %s", r)
	}
	s.applyYAML("notified", `name: notified
stages:
  - name: Approve
    actions:
      - name: review
        provider: Manual
        configuration:
          CustomData: check the canary dashboard first
          ExternalEntityLink: https://grafana.example.com/d/canary
          NotificationTarget: "`+hook.URL+`/approvals, ops@example.com"
          NotificationSecret: approvals-hook
  - name: Deploy
    actions:
      - name: ship
        provider: Commands
        commands: [echo shipped]
`)
	id := s.start("notified")
	token := s.waitToken("notified", id, "review")

	// The mail names pipeline, stage and action, and says how to answer.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msg, err := sink.Next(ctx)
	if err != nil {
		t.Fatalf("no approval mail: %v\n%s", err, s.serverLog())
	}
	wantEqual(t, "mail from", msg.From, "sluice@ci.example.com")
	if !slices.Equal(msg.To, []string{"ops@example.com"}) {
		t.Errorf("mail to %q, want ops@example.com", msg.To)
	}
	subject, err := msg.Subject()
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "mail subject", subject, "Approval needed: notified / Approve / review")
	text, err := msg.Text()
	if err != nil {
		t.Fatal(err)
	}
	wantContains(t, "mail body", text,
		"Pipeline notified is waiting for an approval in stage Approve, action review.",
		"check the canary dashboard first",
		external+"/ui/pipelines/notified/executions/"+id,
		"https://grafana.example.com/d/canary",
		"Execution:  "+id,
		"Token:      "+token,
		"sluice approve notified "+id+" Approve review",
		"sluice reject notified "+id+" Approve review")

	// The webhook's body is signed with the secret and says the same.
	var call webhookCall
	select {
	case call = <-calls:
	case <-ctx.Done():
		t.Fatalf("no approval webhook\n%s", s.serverLog())
	}
	sig := call.header.Get(notify.HeaderSignature)
	if !notify.Verify([]byte(secret), call.body, sig) {
		t.Errorf("webhook signature %q does not verify with the secret; body:\n%s", sig, call.body)
	}
	if notify.Verify([]byte("another secret"), call.body, sig) {
		t.Errorf("webhook signature %q verifies with another secret", sig)
	}
	wantEqual(t, "webhook content type", call.header.Get("Content-Type"), "application/json")
	wantEqual(t, "webhook X-Sluice-Event", call.header.Get("X-Sluice-Event"), "approval")
	if call.header.Get(notify.HeaderDelivery) == "" {
		t.Errorf("webhook without %s", notify.HeaderDelivery)
	}
	var m approvalMessage
	if err := json.Unmarshal(call.body, &m); err != nil {
		t.Fatalf("webhook body: %v\n%s", err, call.body)
	}
	wantEqual(t, "webhook pipelineName", m.Approval.PipelineName, "notified")
	wantEqual(t, "webhook stageName", m.Approval.StageName, "Approve")
	wantEqual(t, "webhook actionName", m.Approval.ActionName, "review")
	wantEqual(t, "webhook token", m.Approval.Token, token)
	wantEqual(t, "webhook customData", m.Approval.CustomData, "check the canary dashboard first")
	wantEqual(t, "webhook externalEntityLink", m.Approval.ExternalEntityLink, "https://grafana.example.com/d/canary")
	wantEqual(t, "webhook execution", m.Execution.ID, id)
	wantContains(t, "webhook approvalReviewLink", m.Approval.ApprovalReviewLink, external+"/ui/pipelines/notified/executions/"+id)
	if secretLeaked := strings.Contains(string(call.body), secret) || strings.Contains(text, secret); secretLeaked {
		t.Errorf("the signing secret is in a notification")
	}

	// The token the notification carries answers the approval.
	s.ok("approve", "notified", id, "Approve", "review", "--approval-token", m.Approval.Token, "--comment", "seen the mail")
	s.waitEnd("notified", id, "Succeeded")
}

// lockState is one line of `sluice locks`.
type lockState struct {
	holder  string   // PIPELINE/EXECUTION, "" when free
	waiting []string // PIPELINE/EXECUTION, in order
}

// lock reads lock name from `sluice locks`; a lock not listed is free.
func (s *server) lock(name string) lockState {
	s.t.Helper()
	out := s.ok("locks")
	ls := lines(out)
	if len(ls) == 0 || !strings.HasPrefix(ls[0], "LOCK") {
		s.t.Fatalf("sluice locks printed no header:\n%s", out)
	}
	for _, l := range ls[1:] {
		f := strings.Fields(l)
		if len(f) < 4 || f[0] != name {
			continue
		}
		var st lockState
		if f[1] != "-" {
			st.holder = f[1]
		}
		for _, w := range f[3:] {
			if w = strings.TrimSuffix(w, ","); w != "-" {
				st.waiting = append(st.waiting, w)
			}
		}
		return st
	}
	return lockState{}
}

// waitLock waits until lock name is held by holder with waiting in its queue.
func (s *server) waitLock(name, holder string, waiting ...string) {
	s.t.Helper()
	var st lockState
	eventually(s.t, 30*time.Second, fmt.Sprintf("lock %s to be held by %q with %q waiting", name, holder, waiting), func() bool {
		st = s.lock(name)
		return st.holder == holder && slices.Equal(st.waiting, waiting)
	})
}

func TestLockSharedByThreePipelines(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	names := []string{"lk-a", "lk-b", "lk-c"}
	for _, name := range names {
		s.applyYAML(name, `name: `+name+`
lock: deploy
executionMode: PARALLEL
variables: [{name: DIR}]
stages:
  - name: Deploy
    actions:
      - name: ship
        provider: Commands
        commands:
          - 'touch "#{variables.DIR}/started-#{codepipeline.PipelineName}"'
          - 'for i in $(seq 600); do [ -e "#{variables.DIR}/go-#{codepipeline.PipelineName}" ] && exit 0; sleep 0.1; done; exit 1'
  - name: Verify
    actions:
      - name: check
        provider: Commands
        commands: [echo checked]
`)
	}
	dir := s.scratch("lock")
	ids := map[string]string{}
	ref := func(name string) string { return name + "/" + ids[name] }
	for _, name := range names {
		ids[name] = s.start(name, "DIR="+dir)
	}

	// One holds, two wait in the order they were started; each gets the lock
	// in turn when the one before has ended.
	for i, name := range names {
		var waiting []string
		for _, w := range names[i+1:] {
			waiting = append(waiting, ref(w))
		}
		s.waitLock("deploy", ref(name), waiting...)
		waitFile(t, filepath.Join(dir, "started-"+name))
		for _, w := range names[i+1:] {
			if _, err := os.Stat(filepath.Join(dir, "started-"+w)); err == nil {
				t.Errorf("%s started while %s holds the lock", w, name)
			}
			e := s.execution(w, ids[w])
			wantEqual(t, w+" while "+name+" holds the lock", e.Status, "InProgress")
			wantEqual(t, w+"'s ship while "+name+" holds the lock", e.actionStatus("ship"), "NotStarted")
			wantContains(t, w+" waitingFor", e.WaitingFor, "lock deploy")
			// The lists say what it waits for, and the graph who holds
			// the lock and who is only queued for it.
			wantContains(t, "sluice executions "+w, s.ok("executions", w), ids[w]+"  InProgress (waiting for lock deploy)")
			wantContains(t, "sluice pipeline list", s.ok("pipeline", "list"), ids[w]+" InProgress (waiting for lock deploy)")
		}
		if i == 0 {
			wantContains(t, "sluice graph while "+name+" holds the lock", s.ok("graph"),
				"lk-a [InProgress]\n  holds lock deploy (pipeline; execution "+ids["lk-a"]+")\n",
				"lk-b [InProgress (waiting for lock deploy)]\n  queued for lock deploy (pipeline; position 1, held by lk-a)\n",
				"lk-c [InProgress (waiting for lock deploy)]\n  queued for lock deploy (pipeline; position 2, held by lk-a)\n")
		}
		touch(t, filepath.Join(dir, "go-"+name))
		s.waitEnd(name, ids[name], "Succeeded")
	}
	s.waitLock("deploy", "")

	// The lock was held across both stages: each pipeline's first action
	// started only after the previous pipeline had ended.
	for i := 1; i < len(names); i++ {
		prev, next := s.execution(names[i-1], ids[names[i-1]]), s.execution(names[i], ids[names[i]])
		notBefore(t, names[i]+" after "+names[i-1], next.action(t, "ship").StartTime, prev.action(t, "check").LastUpdateTime)
	}
}

func TestPipelineTrigger(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.applyYAML("base", `name: base
variables:
  - {name: REGION, defaultValue: eu-west-1}
  - {name: OUTCOME, defaultValue: ok}
stages:
  - name: Apply
    actions:
      - name: tf
        provider: Commands
        commands: ['test "#{variables.OUTCOME}" = ok']
`)
	s.applyYAML("app", `name: app
triggers:
  - providerType: Pipeline
    pipeline: {name: base, on: [Succeeded]}
stages:
  - name: Deploy
    actions:
      - name: ship
        provider: Commands
        commands:
          - 'echo "upstream=#{upstream.PipelineExecutionId} from=#{upstream.PipelineName} status=#{upstream.Status} region=#{upstream.REGION}"'
`)

	// base succeeds: app starts by itself, knowing which execution started it.
	b1 := s.start("base")
	s.waitEnd("base", b1, "Succeeded")
	note := s.nextTrigger("app", nil)
	wantEqual(t, "lastTrigger type", note.TriggerType, "PipelineTrigger")
	e := s.wantStarted("app", note, 1, "Succeeded")
	wantEqual(t, "trigger type", e.Trigger.TriggerType, "PipelineTrigger")
	wantContains(t, "trigger detail", e.Trigger.TriggerDetail, "base", b1)
	if up := s.heldExecution("app", e.PipelineExecutionID).Upstream; up == nil || up.PipelineName != "base" || up.PipelineExecutionID != b1 {
		t.Errorf("upstream of app = %+v, want base %s", up, b1)
	}
	wantContains(t, "ship log", s.ok("logs", "app", e.PipelineExecutionID, "ship"),
		"upstream="+b1+" from=base status=Succeeded region=eu-west-1")

	// A failure of base starts nothing: the reactor reads base's ends in
	// order, so once the next success has started app, the failure was seen.
	b2 := s.start("base", "OUTCOME=broken")
	s.waitEnd("base", b2, "Failed")
	b3 := s.start("base", "REGION=us-east-1")
	s.waitEnd("base", b3, "Succeeded")
	note = s.nextTrigger("app", &note)
	e = s.wantStarted("app", note, 2, "Succeeded")
	wantContains(t, "ship log after the second success", s.ok("logs", "app", e.PipelineExecutionID, "ship"),
		"upstream="+b3+" from=base status=Succeeded region=us-east-1")
}

func TestInvokePipeline(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.applyYAML("child", `name: child
variables:
  - {name: TAG, defaultValue: none}
  - {name: DIR}
stages:
  - name: Run
    actions:
      - name: work
        provider: Commands
        commands:
          - 'echo "child got #{variables.TAG}"'
          - 'for i in $(seq 600); do [ -e "#{variables.DIR}/go" ] && exit 0; sleep 0.1; done; exit 1'
`)
	s.applyYAML("parent", `name: parent
variables: [{name: DIR}]
stages:
  - name: Call
    actions:
      - name: invoke
        provider: Pipeline
        namespace: child
        configuration:
          PipelineName: child
          Variables: '{"TAG": "build-#{codepipeline.PipelineExecutionId}", "DIR": "#{variables.DIR}"}'
  - name: After
    actions:
      - name: report
        provider: Commands
        commands:
          - 'echo "child=#{child.PipelineExecutionId} tag=#{child.TAG} status=#{child.Status}"'
`)
	dir := s.scratch("invoke")
	parent := s.start("parent", "DIR="+dir)

	// The invoke action starts the child with the variables it resolved, and
	// waits for it.
	invoke := s.waitHeld("parent", parent, "invoke", "to start the child", func(a heldAction) bool { return a.ExternalExecutionID != "" })
	child := invoke.ExternalExecutionID
	wantEqual(t, "invoke status", invoke.Status, "InProgress")
	wantEqual(t, "invoke summary", invoke.Summary, "started execution "+child+" of pipeline child")
	s.waitAction("child", child, "work", "InProgress")
	c := s.execution("child", child)
	wantEqual(t, "child trigger", c.Trigger.TriggerType, "PipelineInvoke")
	wantEqual(t, "child TAG", c.Variables["TAG"], "build-"+parent)
	if p := s.heldExecution("child", child).Parent; p == nil || p.PipelineName != "parent" || p.PipelineExecutionID != parent {
		t.Errorf("parent of the child = %+v, want parent %s", p, parent)
	}
	e := s.execution("parent", parent)
	wantEqual(t, "parent while the child runs", e.Status, "InProgress")
	wantEqual(t, "report while the child runs", e.actionStatus("report"), "NotStarted")

	// The child's success ends the invoke; the next action sees its variables.
	touch(t, filepath.Join(dir, "go"))
	c = s.waitEnd("child", child, "Succeeded")
	e = s.waitEnd("parent", parent, "Succeeded")
	wantEqual(t, "invoke summary after the child", e.action(t, "invoke").Summary, "pipeline child execution "+child+" succeeded")
	notBefore(t, "report after the child's end", e.action(t, "report").StartTime, &c.LastUpdateTime)
	wantContains(t, "child log", s.ok("logs", "child", child, "work"), "child got build-"+parent)
	wantContains(t, "report log", s.ok("logs", "parent", parent, "report"),
		"child="+child+" tag=build-"+parent+" status=Succeeded")
}

// selfUpdatePipeline is a pipeline that reads its own definition from its
// source repository; ship says which version of it runs.
func selfUpdatePipeline(version string) string {
	return `name: selfie
stages:
  - name: Source
    actions:
      - name: src
        provider: Git
        configuration: {RepositoryName: selfie, BranchName: main}
        outputArtifacts: [code]
  - name: Update
    actions:
      - name: update
        provider: PipelineUpdate
        inputArtifacts: [code]
        configuration: {DefinitionPath: pipeline.yml}
  - name: Deploy
    actions:
      - name: ship
        provider: Commands
        commands: ['echo "shipping ` + version + `"']
`
}

// pipelineVersion is the version `sluice pipeline get` reports.
func (s *server) pipelineVersion(name string) int {
	s.t.Helper()
	var p struct {
		Metadata struct {
			Version int `json:"version"`
		} `json:"metadata"`
	}
	s.json(&p, "pipeline", "get", name)
	return p.Metadata.Version
}

func TestSelfUpdatingPipeline(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	g := newGit(t, s)
	work := filepath.Join(s.scratch("git"), "work")
	s.ok("repo", "create", "selfie")
	s.applyYAML("selfie", selfUpdatePipeline("v1"))
	g.initRepo(work)
	g.run(work, "remote", "add", "origin", s.gitURL("selfie"))

	// The definition in the repository is the one applied: nothing changes.
	g.commit(work, "v1", map[string]string{"pipeline.yml": selfUpdatePipeline("v1")})
	g.run(work, "push", "-q", "origin", "main")
	note := s.nextTrigger("selfie", nil)
	e := s.wantStarted("selfie", note, 1, "Succeeded")
	wantEqual(t, "update summary (same definition)", e.action(t, "update").Summary,
		"the definition in pipeline.yml is version 1, which this execution runs")
	wantContains(t, "ship log (v1)", s.ok("logs", "selfie", e.PipelineExecutionID, "ship"), "shipping v1")

	// A changed definition: the running execution ends Superseded and a new
	// execution runs version 2 from the top.
	c2 := g.commit(work, "v2", map[string]string{"pipeline.yml": selfUpdatePipeline("v2")})
	g.run(work, "push", "-q", "origin", "main")
	note = s.nextTrigger("selfie", &note)
	old := s.waitEnd("selfie", note.PipelineExecutionID, "Superseded")
	wantEqual(t, "version of the superseded execution", old.PipelineVersion, 1)
	wantEqual(t, "update of the superseded execution", old.action(t, "update").Status, "Succeeded")
	wantEqual(t, "ship of the superseded execution", old.actionStatus("ship"), "NotStarted")
	es := s.executions("selfie")
	if len(es) != 3 || es[1].PipelineExecutionID != old.PipelineExecutionID {
		t.Fatalf("executions of selfie = %+v, want 3, the newest after %s", es, old.PipelineExecutionID)
	}
	next := es[0].PipelineExecutionID
	wantContains(t, "summary of the superseded execution", old.StatusSummary, next, "version 2")
	e = s.waitEnd("selfie", next, "Succeeded")
	wantEqual(t, "version of the new execution", e.PipelineVersion, 2)
	wantEqual(t, "trigger of the new execution", e.Trigger.TriggerType, "PipelineUpdate")
	wantRevision(t, e, "src", c2, "v2")
	wantContains(t, "ship log (v2)", s.ok("logs", "selfie", next, "ship"), "shipping v2")
	wantEqual(t, "pipeline version after the update", s.pipelineVersion("selfie"), 2)

	// An invalid definition fails the update with the parse error and leaves
	// the pipeline as it was.
	bad := strings.Replace(selfUpdatePipeline("v3"), "provider: Commands", "provider: Comands", 1)
	g.commit(work, "broken", map[string]string{"pipeline.yml": bad})
	g.run(work, "push", "-q", "origin", "main")
	note = s.nextTrigger("selfie", &note)
	e = s.wantStarted("selfie", note, 4, "Failed")
	update := e.action(t, "update")
	wantEqual(t, "update of a broken definition", update.Status, "Failed")
	wantContains(t, "update summary (broken definition)", update.Summary,
		"invalid pipeline definition: pipeline.yml:", `unknown provider "Comands"`)
	wantEqual(t, "ship after a broken definition", e.actionStatus("ship"), "NotStarted")
	wantEqual(t, "pipeline version after a broken definition", s.pipelineVersion("selfie"), 2)

	// Code in the repository cannot choose its pipeline's role (which
	// decides the secrets its jobs get): that is for whoever applies it.
	g.commit(work, "take admin", map[string]string{"pipeline.yml": "role: admin\n" + selfUpdatePipeline("v4")})
	g.run(work, "push", "-q", "origin", "main")
	note = s.nextTrigger("selfie", &note)
	e = s.wantStarted("selfie", note, 5, "Failed")
	wantContains(t, "update summary (a new role)", e.action(t, "update").Summary,
		`pipeline.yml changes the pipeline's role from "" to "admin"; a definition in a repository cannot change its role`)
	wantEqual(t, "pipeline version after a new role", s.pipelineVersion("selfie"), 2)
}
