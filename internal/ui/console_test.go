package ui_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/errcode"
	"github.com/sluice-ci/sluice/internal/wire"
)

func TestSignInRequired(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	b := newBrowserless(t, ts.url)

	resp, _ := b.get("/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("GET /: %s to %q, want a redirect to /ui/", resp.Status, resp.Header.Get("Location"))
	}
	resp, _ = b.get("/ui/pipelines/hello?x=1")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/signin?next=") {
		t.Fatalf("GET a page signed out: %s to %q, want the sign-in form", resp.Status, loc)
	}
	// A link followed from another site comes without the SameSite=Strict
	// cookie: the page asks itself again, from this site.
	req, _ := http.NewRequest(http.MethodGet, ts.url+"/ui/pipelines/hello", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := b.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("a cross-site link: %s, want the page that asks again", resp.Status)
	}
	// Scripts get 401, not a redirect.
	resp, _ = b.get("/ui/pipelines?fragment=live")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("fragment signed out: %s, want 401", resp.Status)
	}

	// A wrong token, and a form not sent by the sign-in page, are refused.
	b.get("/ui/signin")
	resp, body := b.post("/ui/signin", url.Values{"csrf": {b.csrf}, "token": {"sluice_nope"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "No token of this server matches it") {
		t.Fatalf("wrong token: %s", resp.Status)
	}
	b.get("/ui/signin")
	resp, _ = b.post("/ui/signin", url.Values{"csrf": {"forged"}, "token": {ts.admin}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in without its CSRF token: %s, want 403", resp.Status)
	}

	b.get("/ui/signin")
	resp, _ = b.post("/ui/signin", url.Values{"csrf": {b.csrf}, "token": {ts.admin}, "next": {"https://evil.example/"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/pipelines" {
		t.Fatalf("sign in: %s to %q, want /ui/pipelines (never another site)", resp.Status, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "sluice_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/ui" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/ui", session)
	}
	resp, body = b.get("/ui/pipelines")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="principal">admin<`) {
		t.Fatalf("signed in: %s", resp.Status)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}

	// Sign out ends the session on the server.
	resp, _ = b.post("/ui/signout", url.Values{"csrf": {b.csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %s", resp.Status)
	}
	b.http.Jar.SetCookies(mustURL(ts.url+"/ui/"), []*http.Cookie{session})
	if resp, _ := b.get("/ui/pipelines"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("old session after sign out: %s, want a redirect to sign in", resp.Status)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestRevokedTokenEndsSession(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	tok := ts.token("alice", "operator")
	b := newBrowserless(t, ts.url)
	b.signIn(tok)
	if resp, _ := b.get("/ui/pipelines"); resp.StatusCode != http.StatusOK {
		t.Fatalf("signed in: %s", resp.Status)
	}
	if err := deleteToken(ts, "alice"); err != nil {
		t.Fatal(err)
	}
	resp, _ := b.get("/ui/pipelines")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "revoked=1") {
		t.Fatalf("after revocation: %s to %q, want the sign-in form saying why", resp.Status, loc)
	}
}

func deleteToken(ts *testServer, name string) error {
	req, _ := http.NewRequest(http.MethodDelete, ts.url+"/api/v1/tokens/"+name, nil)
	req.Header.Set("Authorization", "Bearer "+ts.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return &url.Error{Op: "DELETE", URL: req.URL.String(), Err: http.ErrNotSupported}
	}
	return nil
}

func TestChangesNeedCSRF(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.apply(helloPipeline)
	b := newBrowserless(t, ts.url)
	b.signIn(ts.admin)

	resp, body := b.post("/ui/pipelines/hello/start", url.Values{}, "Accept", "application/json")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "CSRF") {
		t.Fatalf("start without the CSRF token: %s %s", resp.Status, body)
	}
	resp, _ = b.post("/ui/pipelines/hello/start", url.Values{"csrf": {b.csrf}}, "Origin", "https://evil.example")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("start from another origin: %s, want 403", resp.Status)
	}
	if es, _ := ts.api.Executions(context.Background(), "hello", 10); len(es) != 0 {
		t.Fatalf("a refused start started %d executions", len(es))
	}
	// The same form with its token works, without JavaScript: 303 back.
	resp, _ = b.post("/ui/pipelines/hello/start", url.Values{"csrf": {b.csrf}, "var.GREETING": {"bonjour"}, "back": {"/ui/pipelines/hello"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/pipelines/hello" {
		t.Fatalf("start: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	es, err := ts.api.Executions(context.Background(), "hello", 10)
	if err != nil || len(es) != 1 {
		t.Fatalf("executions %v %v", es, err)
	}
	e := ts.waitExecution("hello", es[0].PipelineExecutionID, "success", func(e *wire.Execution) bool { return e.Status == "Succeeded" })
	if e.Variables["GREETING"] != "bonjour" || e.Trigger.TriggerDetail != "admin" {
		t.Fatalf("execution variables %v trigger %+v", e.Variables, e.Trigger)
	}
	// The flash message is shown once, on the page the form went back to.
	_, page := b.get("/ui/pipelines/hello")
	if !strings.Contains(page, "Started execution "+e.PipelineExecutionID) {
		t.Fatal("no message after the start")
	}
	if _, again := b.get("/ui/pipelines/hello"); strings.Contains(again, "Started execution") {
		t.Fatal("the message is shown twice")
	}
}

var postForm = regexp.MustCompile(`<form method="post" action="([^"]+)"`)

// TestViewerSeesNoControls: a principal with the viewer policy is offered no
// control that changes anything, and the server refuses each change made by
// hand, with a valid session and CSRF token.
func TestViewerSeesNoControls(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.apply(releasePipeline)
	ctx := context.Background()
	id, err := ts.api.Start(ctx, "release", wire.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	e := ts.waitExecution("release", id, "the approval", func(e *wire.Execution) bool {
		return actionStatus(e, "Approve", "review") == "InProgress"
	})
	var token string
	for _, st := range e.Stages {
		for _, a := range st.Actions {
			if a.Token != "" {
				token = a.Token
			}
		}
	}

	admin := newBrowserless(t, ts.url)
	admin.signIn(ts.admin)
	_, adminPage := admin.get("/ui/pipelines/release")
	for _, want := range []string{"/ui/pipelines/release/start", "/ui/pipelines/release/approvals", "/ui/pipelines/release/transitions/Approve/disable", "/ui/pipelines/release/executions/" + id + "/stop"} {
		if !strings.Contains(adminPage, `action="`+want+`"`) {
			t.Errorf("admin is not offered %s", want)
		}
	}

	viewer := newBrowserless(t, ts.url)
	viewer.signIn(ts.token("val", "viewer"))
	for _, page := range []string{"/ui/pipelines", "/ui/pipelines/release", "/ui/pipelines/release/executions", "/ui/pipelines/release/executions/" + id,
		"/ui/pipelines/release/executions/" + id + "/logs/Build/compile", "/ui/graph", "/ui/events", "/ui/repos", "/ui/projects", "/ui/functions", "/ui/connections", "/ui/rules", "/ui/audit"} {
		resp, body := viewer.get(page)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("viewer GET %s: %s", page, resp.Status)
			continue
		}
		for _, m := range postForm.FindAllStringSubmatch(body, -1) {
			if m[1] != "/ui/signout" {
				t.Errorf("viewer is offered %s on %s", m[1], page)
			}
		}
		for _, word := range []string{`value="Approved"`, `value="Rejected"`, "Release change", "Disable…", "Retry failed", "Stop execution", "Enable transition"} {
			if strings.Contains(body, word) {
				t.Errorf("viewer sees %q on %s", word, page)
			}
		}
	}
	// The same changes, made by hand with the viewer's own session and CSRF
	// token, are refused by the server.
	for path, form := range map[string]url.Values{
		"/ui/pipelines/release/start":                       {},
		"/ui/pipelines/release/executions/" + id + "/stop":  {"mode": {"abandon"}},
		"/ui/pipelines/release/executions/" + id + "/retry": {"stage": {"Build"}},
		"/ui/pipelines/release/transitions/Approve/disable": {"reason": {"no"}},
		"/ui/pipelines/release/transitions/Approve/enable":  {},
		"/ui/pipelines/release/approvals":                   {"stage": {"Approve"}, "actionName": {"review"}, "token": {token}, "result": {"Approved"}},
	} {
		form.Set("csrf", viewer.csrf)
		resp, body := viewer.post(path, form)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "policy viewer") {
			t.Errorf("viewer POST %s: %s, want 403 naming the policy", path, resp.Status)
		}
		// A script gets the API's error body: code and message.
		resp, body = viewer.post(path, form, "Accept", "application/json")
		var eb errcode.Body
		if resp.StatusCode != http.StatusForbidden || json.Unmarshal([]byte(body), &eb) != nil ||
			eb.Code != errcode.Forbidden || !strings.Contains(eb.Message, "policy viewer") {
			t.Errorf("viewer POST %s as a script: %s %s", path, resp.Status, body)
		}
	}
	st, err := ts.api.Execution(ctx, "release", id, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "InProgress" || actionStatus(st, "Approve", "review") != "InProgress" {
		t.Fatalf("a refused change changed the execution: %s, approval %s", st.Status, actionStatus(st, "Approve", "review"))
	}
	state, err := ts.api.State(ctx, "release")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range state.StageStates {
		if !s.InboundTransitionState.Enabled {
			t.Fatalf("a refused change disabled the transition into %s", s.StageName)
		}
	}

	// An approver may answer the approval, and nothing else.
	approver := newBrowserless(t, ts.url)
	approver.signIn(ts.token("ann", "approver"))
	_, page := approver.get("/ui/pipelines/release")
	forms := postForm.FindAllStringSubmatch(page, -1)
	var offered []string
	for _, m := range forms {
		offered = append(offered, m[1])
	}
	if len(offered) != 2 || offered[1] != "/ui/pipelines/release/approvals" {
		t.Fatalf("approver is offered %v, want sign out and the approval only", offered)
	}
	resp, body := approver.post("/ui/pipelines/release/approvals", url.Values{"csrf": {approver.csrf}, "stage": {"Approve"}, "actionName": {"review"},
		"token": {token}, "result": {"Approved"}, "comment": {"canary is green"}}, "Accept", "application/json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("approver approves: %s %s", resp.Status, body)
	}
	done := ts.waitExecution("release", id, "success", func(e *wire.Execution) bool { return e.Status == "Succeeded" })
	for _, st := range done.Stages {
		for _, a := range st.Actions {
			if a.Approval != nil && (a.Approval.ApprovedBy != "ann" || a.Approval.Summary != "canary is green") {
				t.Fatalf("approval %+v", a.Approval)
			}
		}
	}
}

// TestLiveStream: a change to a pipeline reaches a page's stream.
func TestLiveStream(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.apply(helloPipeline)
	b := newBrowserless(t, ts.url)
	b.signIn(ts.admin)
	_, page := b.get("/ui/pipelines/hello")
	m := regexp.MustCompile(`data-live-stream="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the pipeline page names no stream")
	}
	stream := strings.ReplaceAll(m[1], "&amp;", "&")
	if !strings.Contains(stream, "pipeline=hello") || !strings.Contains(stream, "after=") {
		t.Fatalf("stream %q", stream)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.url+stream, nil)
	resp, err := b.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	if _, err := ts.api.Start(ctx, "hello", wire.StartRequest{}); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data: ") && strings.Contains(sc.Text(), `"STARTED"`) {
			break
		}
	}
	if sc.Err() != nil {
		t.Fatalf("no STARTED message on the stream: %v", sc.Err())
	}
	// The fragment the page fetches then is the live part only.
	resp2, frag := b.get("/ui/pipelines/hello?fragment=live")
	if resp2.StatusCode != http.StatusOK || strings.Contains(frag, "<html") || !strings.Contains(frag, `class="stages"`) {
		t.Fatalf("fragment: %s\n%.300s", resp2.Status, frag)
	}
}

// TestPagesRender walks every page with data on it.
func TestPagesRender(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.apply(helloPipeline)
	ts.apply(releasePipeline)
	ts.apply(`
name: downstream
lock: shared
triggers:
  - providerType: Pipeline
    pipeline: {name: hello, on: [Succeeded]}
stages:
  - name: Wait
    actions:
      - name: gate
        provider: PipelineGate
        configuration: {PipelineName: release, Condition: Succeeded}
  - name: Deploy
    lock: db
    actions:
      - name: ship
        provider: Commands
        commands: ["echo ok"]
`)
	ctx := context.Background()
	if _, err := ts.api.CreateRepo(ctx, "app", "the app"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.api.ApplyRule(ctx, "rule.yml", []byte(ruleFile)); err != nil {
		t.Fatal(err)
	}
	id, err := ts.api.Start(ctx, "hello", wire.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitExecution("hello", id, "success", func(e *wire.Execution) bool { return e.Status == "Succeeded" })
	b := newBrowserless(t, ts.url)
	b.signIn(ts.admin)
	for page, want := range map[string][]string{
		"/ui/pipelines":                        {"hello", "release", "downstream"},
		"/ui/pipelines?q=rel":                  {"release"},
		"/ui/pipelines/hello":                  {`data-stage="Build"`, `data-stage="Test"`, "Succeeded", "transition-Test"},
		"/ui/pipelines/hello/executions":       {id[:8]},
		"/ui/pipelines/hello/executions/" + id: {"StartPipelineExecution", "GREETING"},
		"/ui/pipelines/hello/executions/" + id + "/logs/Build/compile": {"hi compiled"},
		"/ui/pipelines/downstream":                                     {"Waits for pipeline", "release"},
		"/ui/graph":                                                    {"<svg", `data-node="hello"`, `data-node="lock:shared"`, "downstream waits for release"},
		"/ui/events":                                                   {"CodePipeline Pipeline Execution State Change"},
		"/ui/events?pipeline=hello&type=CodePipeline+Action+Execution+State+Change": {"compile"},
		"/ui/repos":     {"/git/app.git", "the app"},
		"/ui/projects":  {"No build projects"},
		"/ui/functions": {"No functions"},
		"/ui/rules":     {"Rules"},
		"/ui/audit":     {"Audit trail"},
	} {
		resp, body := b.get(page)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", page, resp.Status)
			continue
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: no %q", page, w)
			}
		}
	}
	if resp, body := b.get("/ui/pipelines?q=rel"); resp.StatusCode == http.StatusOK && strings.Contains(body, `data-name="hello"`) {
		t.Error("the search shows pipelines that do not match")
	}
	if resp, _ := b.get("/ui/pipelines/nope"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a missing pipeline: %s", resp.Status)
	}
	// Changes made in the console are in the audit trail.
	b.post("/ui/pipelines/hello/transitions/Test/disable", url.Values{"csrf": {b.csrf}, "reason": {"freeze"}})
	_, audit := b.get("/ui/audit?operation=DisableStageTransition")
	if !strings.Contains(audit, "pipeline/hello") || !strings.Contains(audit, "via=console") {
		t.Error("the console's change is not in the audit trail")
	}
}

// TestSourceRevisions: a push to a hosted repository starts the pipeline,
// and the pipeline's page shows the revision with its commit message.
func TestSourceRevisions(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	ts := startServer(t)
	ctx := context.Background()
	if _, err := ts.api.CreateRepo(ctx, "app", ""); err != nil {
		t.Fatal(err)
	}
	ts.apply(`
name: app
stages:
  - name: Source
    actions:
      - name: src
        provider: Git
        configuration: {RepositoryName: app, BranchName: main}
        outputArtifacts: [code]
  - name: Build
    actions:
      - name: build
        provider: Commands
        inputArtifacts: [code]
        commands: ["cat README"]
`)
	work := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.com",
			"GIT_COMMITTER_NAME=Ada", "GIT_COMMITTER_EMAIL=ada@example.com", "GIT_TERMINAL_PROMPT=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(work, "README"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", "README")
	git("commit", "-q", "-m", "Add the readme\n\nWith a body that is not shown.")
	u := mustURL(ts.url + "/git/app.git")
	u.User = url.UserPassword("ada", ts.admin)
	git("push", "-q", u.String(), "main")

	var id string
	for deadline := time.Now().Add(20 * time.Second); id == ""; {
		es, err := ts.api.Executions(ctx, "app", 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) > 0 {
			id = es[0].PipelineExecutionID
		}
		if time.Now().After(deadline) {
			t.Fatal("the push started nothing")
		}
	}
	ts.waitExecution("app", id, "success", func(e *wire.Execution) bool { return e.Status == "Succeeded" })
	b := newBrowserless(t, ts.url)
	b.signIn(ts.admin)
	for _, page := range []string{"/ui/pipelines/app", "/ui/pipelines/app/executions", "/ui/pipelines/app/executions/" + id} {
		_, body := b.get(page)
		if !strings.Contains(body, "Add the readme") || strings.Contains(body, "With a body") {
			t.Errorf("%s does not show the commit's subject (only)", page)
		}
	}
}

const ruleFile = `name: hello-done
description: tell ops when hello succeeds
eventPattern:
  detail-type: [CodePipeline Pipeline Execution State Change]
  detail: {pipeline: [hello], state: [SUCCEEDED]}
targets:
  - webhook: {url: "http://ops.example/hook"}
`

// TestListPagesAreLive: every list page follows the event stream and has the
// fragment its live region fetches.
func TestListPagesAreLive(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	b := newBrowserless(t, ts.url)
	b.signIn(ts.admin)
	for _, page := range []string{"/ui/repos", "/ui/projects", "/ui/functions", "/ui/connections", "/ui/rules", "/ui/audit"} {
		resp, body := b.get(page)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-live-stream="/ui/live`) || !strings.Contains(body, `data-live="`) {
			t.Errorf("%s: %s, not live", page, resp.Status)
			continue
		}
		resp, frag := b.get(page + "?fragment=live")
		if resp.StatusCode != http.StatusOK || strings.Contains(frag, "<html") {
			t.Errorf("%s?fragment=live: %s\n%.200s", page, resp.Status, frag)
		}
	}
}

// TestConditionsShown: the pipeline and execution pages show each stage
// condition's evaluation with its rules' results, and a rollback execution
// names what it rolls back to.
func TestConditionsShown(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ctx := context.Background()
	ts.apply(`
name: gated
variables: [{name: Target, defaultValue: dev}]
stages:
  - name: Build
    actions:
      - {name: build, provider: Noop}
  - name: Deploy
    actions:
      - {name: ship, provider: Noop}
    beforeEntry:
      conditions:
        - result: SKIP
          rules:
            - name: OnlyProd
              ruleTypeId: {category: Rule, owner: AWS, provider: VariableCheck, version: "1"}
              configuration: {Variable: "#{variables.Target}", Operator: EQ, Value: prod}
`)
	skipped, err := ts.api.Start(ctx, "gated", wire.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitExecution("gated", skipped, "success", func(e *wire.Execution) bool { return e.Status == "Succeeded" })
	shipped, err := ts.api.Start(ctx, "gated", wire.StartRequest{Variables: map[string]string{"Target": "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitExecution("gated", shipped, "success", func(e *wire.Execution) bool { return e.Status == "Succeeded" })
	b := newBrowserless(t, ts.url)
	b.signIn(ts.admin)
	_, body := b.get("/ui/pipelines/gated")
	if !strings.Contains(body, `data-rule="OnlyProd" data-status="Succeeded"`) {
		t.Error("pipeline page does not show the latest entry condition's rule")
	}
	rb, err := ts.api.Rollback(ctx, "gated", wire.RollbackRequest{StageName: "Deploy", TargetPipelineExecutionID: shipped})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitExecution("gated", rb, "success", func(e *wire.Execution) bool { return e.Status == "Succeeded" })

	_, body = b.get("/ui/pipelines/gated/executions/" + skipped)
	for _, want := range []string{`data-condition="beforeEntry"`, `data-rule="OnlyProd" data-status="Failed"`, `<strong class="result">SKIP</strong>`,
		`#{variables.Target} = &#34;dev&#34;`, `data-status="Skipped"`} {
		if !strings.Contains(body, want) {
			t.Errorf("execution page lacks %s", want)
		}
	}
	_, body = b.get("/ui/pipelines/gated/executions/" + rb)
	if !strings.Contains(body, `class="rollback">ROLLBACK: rolls back to`) || !strings.Contains(body, shipped[:8]) {
		t.Error("rollback execution page does not name its target")
	}
}
