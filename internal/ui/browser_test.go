package ui_test

// End-to-end tests of the console in a real browser: Debian's Chromium,
// headless, driven by chromedp against a real server. Each test saves
// screenshots of what it checked in its artifact directory (go test
// -artifacts -outputdir DIR keeps them; the test log names them).
//
// Chromium is found on the PATH; when it is missing and the test runs as
// root on a machine with apt-get (CI, or ./test.sh), it is installed;
// otherwise the tests are skipped with a message saying so.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sluice-ci/sluice/internal/wire"
)

var (
	chromiumOnce sync.Once
	chromiumPath string
	chromiumWhy  string
)

// chromium returns the browser's path, installing it when it may.
func chromium(t *testing.T) string {
	t.Helper()
	chromiumOnce.Do(func() {
		find := func() string {
			for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
				if p, err := exec.LookPath(name); err == nil {
					return p
				}
			}
			return ""
		}
		if chromiumPath = find(); chromiumPath != "" {
			return
		}
		if _, err := exec.LookPath("apt-get"); err != nil || os.Geteuid() != 0 {
			chromiumWhy = "Chromium is not installed, and this machine cannot install it here (needs root and apt-get): apt-get install chromium"
			return
		}
		t.Log("installing chromium with apt-get (about a minute)")
		for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "chromium"}} {
			cmd := exec.Command("apt-get", args...)
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			if out, err := cmd.CombinedOutput(); err != nil {
				chromiumWhy = fmt.Sprintf("Chromium could not be installed: apt-get %s: %v\n%s", strings.Join(args, " "), err, out)
				return
			}
		}
		if chromiumPath = find(); chromiumPath == "" {
			chromiumWhy = "apt-get installed chromium, but no chromium is on the PATH"
		}
	})
	if chromiumPath == "" {
		t.Skip("browser tests skipped: " + chromiumWhy)
	}
	return chromiumPath
}

// browser is one tab of the package's one headless Chromium, in a browser
// context of its own (its own cookies and storage, as a private window has),
// watching every request the page makes. Starting Chromium costs about a
// second of both cores; a tab costs little, so the tests share one browser
// and can run in parallel.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu       sync.Mutex
	requests []string
	shots    int
}

// stepTimeout bounds each step of a test; the steps wait on the page, never
// on the clock.
const stepTimeout = 30 * time.Second

// The package's browser, started by the first test that asks for one and
// closed by TestMain.
var shared struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
	}
	os.Exit(code)
}

// sharedBrowser starts the package's Chromium once.
func sharedBrowser(path string) (context.Context, error) {
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "sluice-chromium-")
		if err != nil {
			shared.err = err
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("no-first-run", true),
			chromedp.UserDataDir(dir),
			chromedp.WindowSize(1440, 1000),
		)
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(allocCtx)
		shared.ctx = ctx
		shared.cancel = func() {
			cancel()
			cancelAlloc()
			os.RemoveAll(dir)
		}
		shared.err = chromedp.Do(ctx) // starts the browser, with no timeout
	})
	return shared.ctx, shared.err
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	parent, err := sharedBrowser(chromium(t))
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// Opens the tab; every tab starts at the size a desktop console is used at.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1440, 1000)); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	b := &browser{t: t, ctx: ctx, base: base}
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			if ev.Request != nil {
				b.mu.Lock()
				b.requests = append(b.requests, ev.Request.URL)
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(b.checkRequests)
	return b
}

// checkRequests fails the test if the page asked anything of another host:
// the console ships everything it needs.
func (b *browser) checkRequests() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.requests {
		if !strings.HasPrefix(u, b.base+"/") && !strings.HasPrefix(u, "data:") && u != "about:blank" {
			b.t.Errorf("the page requested %s, outside the server", u)
		}
	}
	if len(b.requests) == 0 {
		b.t.Error("no request of the page was seen")
	}
}

// do runs steps, failing the test with what it was doing.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.shot("failed-" + slugOf(what))
		b.t.Fatalf("%s: %v", what, err)
	}
}

func run[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

func slugOf(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(s))
}

// shot saves a screenshot of the whole page in the test's artifact
// directory.
func (b *browser) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.shots++
	path := filepath.Join(b.t.ArtifactDir(), fmt.Sprintf("%02d-%s.png", b.shots, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("save screenshot: %v", err)
		return
	}
	b.t.Logf("screenshot: %s", path)
}

func (b *browser) signIn(token string) {
	b.t.Helper()
	b.do("sign in",
		chromedp.Navigate(b.base+"/ui/pipelines"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Click(chromedp.CSS("#signin-button")),
		chromedp.WaitVisible(chromedp.CSS("#principal")),
	)
}

// text waits for the element and returns its text.
// text reads an element's text in one step inside the page: a live region
// may swap its content between finding a node and reading it, which a query
// followed by a read would trip over. It waits for the element to exist.
func (b *browser) text(sel string) string {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.innerText : null })()`, sel)
	return run(b, "read "+sel, chromedp.Poll[string](js))
}

func TestBrowserStartAndWatch(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.apply(helloPipeline)
	b := newBrowser(t, ts.url)

	b.signIn(ts.admin)
	b.do("see the pipelines", chromedp.WaitVisible(chromedp.CSS(`#pipelines-table tr[data-name="hello"]`)))
	b.shot("pipelines")

	b.do("open the pipeline",
		chromedp.Click(chromedp.CSS(`#pipelines-table a[href="/ui/pipelines/hello"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#stage-Build`)),
		chromedp.WaitVisible(chromedp.CSS(`#stage-Test`)),
		chromedp.WaitVisible(chromedp.CSS(`#transition-Test [data-status="Enabled"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#live-state[data-state="live"]`)),
	)
	if got := b.text("#action-Build-compile .provider"); got != "Commands" {
		t.Errorf("the compile card's provider reads %q", got)
	}
	b.shot("pipeline-before")

	// The page must update without a reload: a mark left on the window
	// survives only if it is not reloaded.
	run(b, "mark the window", chromedp.Evaluate[chromedp.Void](`window.sluiceTestMark = 1`))
	b.do("start an execution with a variable",
		chromedp.Click(chromedp.CSS(`#release`)),
		chromedp.WaitVisible(chromedp.CSS(`#var-GREETING`)),
		chromedp.SetValue(chromedp.CSS(`#var-GREETING`), "bonjour"),
		chromedp.Click(chromedp.CSS(`#start-execution`)),
		chromedp.WaitVisible(chromedp.CSS(`#notice`)),
	)
	if got := b.text("#notice"); !strings.Contains(got, "Started execution") {
		t.Errorf("the notice reads %q", got)
	}
	b.do("watch it succeed live",
		chromedp.WaitVisible(chromedp.CSS(`#action-Build-compile[data-status="Succeeded"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#stage-Test .stage-head [data-status="Succeeded"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.summary-line [data-status="Succeeded"]`)),
	)
	if mark := run(b, "read the mark", chromedp.Evaluate[int](`window.sluiceTestMark || 0`)); mark != 1 {
		t.Error("the page was reloaded to show the execution's progress")
	}
	b.shot("pipeline-succeeded")

	// Execution history, and the pipeline as one execution ran it.
	b.do("open the history",
		chromedp.Click(chromedp.CSS(`#history-link`)),
		chromedp.WaitVisible(chromedp.CSS(`table.executions tbody tr[data-execution]`)),
	)
	b.shot("history")
	b.do("open the execution",
		chromedp.Click(chromedp.CSS(`table.executions tbody tr[data-execution] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#stage-Test .stage-head [data-status="Succeeded"]`)),
	)
	if got := b.text(".facts"); !strings.Contains(got, "GREETING") || !strings.Contains(got, "bonjour") {
		t.Errorf("the execution's facts do not show its variable: %q", got)
	}
	b.shot("execution")

	// A phone's screen: the stages stack.
	b.do("narrow the window", chromedp.EmulateViewport(390, 844), chromedp.Navigate(ts.url+"/ui/pipelines/hello"),
		chromedp.WaitVisible(chromedp.CSS(`#stage-Test`)))
	b.shot("pipeline-phone")
}

func TestBrowserFailingActionLog(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ctx := context.Background()
	if _, err := ts.api.ApplyProject(ctx, "unit.yml", []byte(`
name: unit
isolation: none
buildspec: |
  version: 0.2
  phases:
    install:
      commands:
        - echo installing
    build:
      commands:
        - mkdir -p reports
        - printf '<testsuite name="unit" tests="3"><testcase classname="app" name="adds"/><testcase classname="app" name="divides"><failure message="expected 2, got 3">divides_test.go:12</failure></testcase><testcase classname="app" name="later"><skipped/></testcase></testsuite>' > reports/junit.xml
        - echo boom-marker
        - exit 3
  reports:
    unit-tests:
      files: [reports/junit.xml]
      file-format: JUNITXML
`)); err != nil {
		t.Fatal(err)
	}
	ts.apply(`
name: broken
stages:
  - name: Source
    actions:
      - name: src
        provider: Commands
        commands: ["echo source > f.txt"]
        outputArtifacts: [{name: code, files: ["**"]}]
  - name: Test
    actions:
      - name: unit
        provider: CodeBuild
        configuration: {ProjectName: unit}
        inputArtifacts: [code]
`)
	id, err := ts.api.Start(ctx, "broken", wire.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitExecution("broken", id, "failure", func(e *wire.Execution) bool { return e.Status == "Failed" })

	b := newBrowser(t, ts.url)
	b.signIn(ts.admin)
	b.do("see the failed action",
		chromedp.Navigate(ts.url+"/ui/pipelines/broken"),
		chromedp.WaitVisible(chromedp.CSS(`#action-Test-unit[data-status="Failed"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#retry-failed-Test`)),
	)
	b.shot("failed-pipeline")
	b.do("open its log",
		chromedp.Click(chromedp.CSS(`#action-Test-unit a.logs`)),
		chromedp.WaitVisible(chromedp.CSS(`#log details.phase[data-phase="BUILD"] [data-status="FAILED"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#log details.phase[data-phase="INSTALL"] [data-status="SUCCEEDED"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.cases tr.failed`)),
	)
	if got := b.text(`#log details.phase[data-phase="BUILD"] pre`); !strings.Contains(got, "boom-marker") {
		t.Errorf("the BUILD phase does not hold the command's output: %q", got)
	}
	if got := b.text(`table.cases tr.failed`); !strings.Contains(got, "divides") || !strings.Contains(got, "expected 2, got 3") {
		t.Errorf("the failed test's row reads %q", got)
	}
	if got := b.text(`.report .counts`); !strings.Contains(got, "1 passed") || !strings.Contains(got, "1 failed") || !strings.Contains(got, "1 skipped") {
		t.Errorf("the report's counts read %q", got)
	}
	b.shot("failed-log")
}

func TestBrowserLogFollowsLive(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	gate := t.TempDir()
	ts.apply(fmt.Sprintf(`
name: slow
stages:
  - name: Run
    actions:
      - name: work
        provider: Commands
        commands:
          - echo started-marker
          - while [ ! -e %[1]s/go ]; do sleep 0.02; done
          - echo finished-marker
          - while [ ! -e %[1]s/end ]; do sleep 0.02; done
`, gate))
	ctx := context.Background()
	id, err := ts.api.Start(ctx, "slow", wire.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the action runs and has written its first line.
	ts.waitExecution("slow", id, "the action to run", func(e *wire.Execution) bool { return actionStatus(e, "Run", "work") == "InProgress" })
	for {
		l, err := ts.api.Log(ctx, "slow", id, "work", 0, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(l.Data), "started-marker") {
			break
		}
	}
	b := newBrowser(t, ts.url)
	b.signIn(ts.admin)
	b.do("open the running action's log",
		chromedp.Navigate(ts.url+"/ui/pipelines/slow/executions/"+id+"/logs/Run/work"),
		chromedp.WaitVisible(chromedp.CSS(`#action-status [data-status="InProgress"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#following`)),
	)
	run(b, "mark the window", chromedp.Evaluate[chromedp.Void](`window.sluiceTestMark = 1`))
	if err := os.WriteFile(filepath.Join(gate, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	b.do("see the new line arrive", chromedp.WaitVisible(`//div[@id="log"]//pre[contains(., "finished-marker")]`))
	if mark := run(b, "read the mark", chromedp.Evaluate[int](`window.sluiceTestMark || 0`)); mark != 1 {
		t.Error("the page was reloaded to show more of the log")
	}
	b.shot("log-following")
	if err := os.WriteFile(filepath.Join(gate, "end"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	b.do("see the action end", chromedp.WaitVisible(chromedp.CSS(`#action-status [data-status="Succeeded"]`)))
	b.shot("log-done")
}

func TestBrowserApproval(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.apply(releasePipeline)
	id, err := ts.api.Start(context.Background(), "release", wire.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, ts.url)
	b.signIn(ts.admin)
	b.do("see the approval waiting",
		chromedp.Navigate(ts.url+"/ui/pipelines/release"),
		chromedp.WaitVisible(chromedp.CSS(`#approve-Approve-review`)),
	)
	if got := b.text("#action-Approve-review .custom"); got != "Check the canary dashboard first" {
		t.Errorf("the approval's custom data reads %q", got)
	}
	b.shot("approval-waiting")
	b.do("approve it with a comment",
		chromedp.SendKeys(chromedp.CSS(`#comment-Approve-review`), "canary is green"),
		chromedp.Click(chromedp.CSS(`#approve-Approve-review`)),
		chromedp.WaitVisible(chromedp.CSS(`#action-Approve-review[data-status="Succeeded"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#action-Deploy-ship[data-status="Succeeded"]`)),
	)
	if got := b.text("#action-Approve-review .answer"); !strings.Contains(got, "Approved by admin") || !strings.Contains(got, "canary is green") {
		t.Errorf("the answered approval reads %q", got)
	}
	b.shot("approval-approved")
	e := ts.waitExecution("release", id, "success", func(e *wire.Execution) bool { return e.Status == "Succeeded" })
	_ = e
}

func TestBrowserTransition(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.apply(helloPipeline)
	b := newBrowser(t, ts.url)
	b.signIn(ts.admin)
	b.do("disable the transition into Test",
		chromedp.Navigate(ts.url+"/ui/pipelines/hello"),
		chromedp.Click(chromedp.CSS(`#disable-open-Test`)),
		chromedp.WaitVisible(chromedp.CSS(`#disable-reason-Test`)),
		chromedp.SendKeys(chromedp.CSS(`#disable-reason-Test`), "freeze for the release"),
		chromedp.Click(chromedp.CSS(`#disable-Test`)),
		chromedp.WaitVisible(chromedp.CSS(`#transition-Test [data-status="Disabled"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#enable-Test`)),
	)
	if got := b.text("#transition-Test .reason"); !strings.Contains(got, "freeze for the release") || !strings.Contains(got, "admin") {
		t.Errorf("the disabled transition reads %q", got)
	}
	ctx := context.Background()
	state, err := ts.api.State(ctx, "hello")
	if err != nil || state.StageStates[1].InboundTransitionState.Enabled {
		t.Fatalf("the transition is not disabled on the server: %v", err)
	}
	// An execution now waits at the transition, and the page says so.
	if _, err := ts.api.Start(ctx, "hello", wire.StartRequest{}); err != nil {
		t.Fatal(err)
	}
	b.do("see the execution wait", chromedp.WaitVisible(chromedp.CSS(`#transition-Test .waiting`)),
		chromedp.WaitVisible(chromedp.CSS(`#stage-Build .stage-head [data-status="Succeeded"]`)))
	b.shot("transition-disabled")
	b.do("enable it again",
		chromedp.Click(chromedp.CSS(`#enable-Test`)),
		chromedp.WaitVisible(chromedp.CSS(`#transition-Test [data-status="Enabled"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#stage-Test .stage-head [data-status="Succeeded"]`)),
	)
	b.shot("transition-enabled")
	if state, err := ts.api.State(ctx, "hello"); err != nil || !state.StageStates[1].InboundTransitionState.Enabled {
		t.Fatalf("the transition is not enabled on the server: %v", err)
	}
}

func TestBrowserDependencyGraph(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.apply(helloPipeline)
	ts.apply(releasePipeline)
	ts.apply(`
name: k8s
lock: prod-cluster
triggers:
  - providerType: Pipeline
    pipeline: {name: hello, on: [Succeeded]}
stages:
  - name: WaitForRelease
    actions:
      - name: release-ready
        provider: PipelineGate
        configuration: {PipelineName: release, Condition: Succeeded}
  - name: Deploy
    actions:
      - name: db
        provider: Pipeline
        configuration: {PipelineName: migrate}
`)
	// migrate must not need k8s's lock: k8s would wait for it forever, and the
	// apply refuses that.
	ts.apply(`
name: migrate
stages:
  - name: Run
    actions:
      - name: up
        provider: Commands
        commands: ["echo migrated"]
`)
	id, err := ts.api.Start(context.Background(), "hello", wire.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitExecution("hello", id, "success", func(e *wire.Execution) bool { return e.Status == "Succeeded" })

	b := newBrowser(t, ts.url)
	b.signIn(ts.admin)
	b.do("open the graph",
		chromedp.Navigate(ts.url+"/ui/graph"),
		chromedp.WaitVisible(chromedp.CSS(`svg.graph [data-node="k8s"]`)),
		chromedp.WaitVisible(chromedp.CSS(`svg.graph [data-node="lock:prod-cluster"]`)),
		chromedp.WaitVisible(chromedp.CSS(`svg.graph path.e-gate`)),
		chromedp.WaitVisible(chromedp.CSS(`svg.graph path.e-trigger`)),
		chromedp.WaitVisible(chromedp.CSS(`svg.graph path.e-invoke`)),
		chromedp.WaitVisible(chromedp.CSS(`svg.graph path.e-lock`)),
	)
	if got := run(b, "read hello's node", chromedp.TextContent(chromedp.CSS(`svg.graph [data-node="hello"] .node-sub`))); !strings.Contains(got, "Succeeded") {
		t.Errorf("hello's node reads %q, want its latest status", got)
	}
	if got := b.text("table.edges"); !strings.Contains(got, "k8s waits for release") || !strings.Contains(got, "k8s invokes migrate") {
		t.Errorf("the edges read %q", got)
	}
	b.shot("graph")
	b.do("open a pipeline from the graph",
		chromedp.Click(chromedp.CSS(`svg.graph a[data-node="k8s"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#action-WaitForRelease-release-ready`)),
	)
	if got := b.text("#action-WaitForRelease-release-ready .gate"); !strings.Contains(got, "Waits for pipeline release") {
		t.Errorf("the gate card reads %q", got)
	}
}

func TestBrowserViewerHasNoControls(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.apply(releasePipeline)
	id, err := ts.api.Start(context.Background(), "release", wire.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitExecution("release", id, "the approval", func(e *wire.Execution) bool {
		return actionStatus(e, "Approve", "review") == "InProgress"
	})
	b := newBrowser(t, ts.url)
	b.signIn(ts.token("val", "viewer"))
	b.do("open the pipeline as a viewer",
		chromedp.Navigate(ts.url+"/ui/pipelines/release"),
		chromedp.WaitVisible(chromedp.CSS(`#action-Approve-review[data-status="InProgress"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#transition-Deploy [data-status="Enabled"]`)),
	)
	forms := run(b, "count forms", chromedp.Nodes(chromedp.CSSAll(`form[method="post"]`)))
	if len(forms) != 1 {
		t.Errorf("the viewer is offered %d forms that change something, want only sign out", len(forms)-1)
	}
	buttons := run(b, "count buttons", chromedp.Nodes(chromedp.CSSAll(`main button`), chromedp.AtLeast(0)))
	if len(buttons) != 0 {
		t.Errorf("the viewer sees %d buttons in the page", len(buttons))
	}
	b.shot("viewer")
}

func TestBrowserConsolePages(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.apply(helloPipeline)
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

	b := newBrowser(t, ts.url)
	b.signIn(ts.admin)
	b.do("see the repositories",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/ui/repos"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#clone-app`)),
	)
	if got := b.text("#clone-app"); got != ts.url+"/git/app.git" {
		t.Errorf("the clone URL reads %q", got)
	}
	b.shot("repos")
	b.do("filter the events",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/ui/events"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#ev-pipeline`)),
		chromedp.SendKeys(chromedp.CSS(`#ev-pipeline`), "hello"),
		chromedp.SetValue(chromedp.CSS(`#ev-type`), "CodePipeline Stage Execution State Change"),
		chromedp.Click(chromedp.CSS(`.filters button`)),
		chromedp.WaitVisible(chromedp.CSS(`#ev-pipeline[value="hello"]`)), // the filtered page
		chromedp.WaitVisible(chromedp.CSS(`table.events tbody tr[data-seq]`)),
	)
	if got := b.text("table.events tbody"); !strings.Contains(got, "Build") || strings.Contains(got, "compile") {
		t.Errorf("the filtered events read %q, want stage events only", got)
	}
	b.shot("events")
	b.do("filter the audit trail",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/ui/audit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#au-operation`)),
		chromedp.SendKeys(chromedp.CSS(`#au-operation`), "StartPipelineExecution"),
		chromedp.Click(chromedp.CSS(`.filters button`)),
		chromedp.WaitVisible(chromedp.CSS(`#au-operation[value="StartPipelineExecution"]`)), // the filtered page
		chromedp.WaitVisible(chromedp.CSS(`table.audit tbody tr`)),
	)
	if got := b.text("table.audit tbody"); !strings.Contains(got, "StartPipelineExecution") || !strings.Contains(got, "pipeline/hello") || strings.Contains(got, "CreateRepository") {
		t.Errorf("the filtered audit trail reads %q", got)
	}
	b.shot("audit")
	b.do("see the rules",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/ui/rules"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#rule-hello-done`)),
	)
	b.shot("rules")
}

// TestBrowserOverrideCondition: a stage waits on its entry condition (a
// Commands rule that does not end); the console shows the rule running, and
// overriding the condition from the page lets the stage run.
func TestBrowserOverrideCondition(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	gate := t.TempDir()
	ts.apply(fmt.Sprintf(`
name: guarded
stages:
  - name: Build
    actions:
      - {name: build, provider: Noop}
  - name: Deploy
    actions:
      - {name: ship, provider: Noop}
    beforeEntry:
      conditions:
        - result: FAIL
          rules:
            - name: Slow
              ruleTypeId: {category: Rule, owner: AWS, provider: Commands, version: "1"}
              commands: ["while [ ! -e %s/never ]; do sleep 0.05; done"]
`, gate))
	id, err := ts.api.Start(context.Background(), "guarded", wire.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, ts.url)
	b.signIn(ts.admin)
	b.do("see the rule running",
		chromedp.Navigate(ts.url+"/ui/pipelines/guarded/executions/"+id),
		chromedp.WaitVisible(chromedp.CSS(`#stage-Deploy [data-condition="beforeEntry"] [data-rule="Slow"][data-status="InProgress"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#override-Deploy-beforeEntry`)),
	)
	b.shot("condition-in-progress")
	b.do("override it",
		chromedp.Click(chromedp.CSS(`#override-Deploy-beforeEntry`)),
		chromedp.WaitVisible(chromedp.CSS(`#stage-Deploy [data-condition="beforeEntry"] [data-status="Overridden"]`)),
	)
	e := ts.waitExecution("guarded", id, "success", func(e *wire.Execution) bool { return e.Status == "Succeeded" })
	if c := e.Stages[1].BeforeEntryConditionState; c == nil || c.Status != "Overridden" || c.OverriddenBy == "" {
		t.Errorf("entry condition = %+v", c)
	}
}

// TestBrowserPipelinesPaged: the pipeline list shows a page of pipelines at
// a time, in name order, with a link to the next page; a search looks
// through every page, not only the first.
func TestBrowserPipelinesPaged(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	const n = 105 // one page of 100, and a second of 5
	for i := range n {
		ts.apply(fmt.Sprintf("name: p%03d\nstages:\n  - name: S\n    actions:\n      - name: a\n        provider: Noop\n", i))
	}
	b := newBrowser(t, ts.url)
	b.signIn(ts.admin)
	b.do("open the list",
		chromedp.Navigate(ts.url+"/ui/pipelines"),
		chromedp.WaitVisible(chromedp.CSS(`#pipelines-table tr[data-name="p000"]`)),
	)
	rows := run(b, "count the first page's rows", chromedp.Nodes(chromedp.CSSAll(`#pipelines-table tbody tr[data-name]`)))
	if len(rows) != 100 {
		t.Errorf("the first page shows %d pipelines, want 100", len(rows))
	}
	if last := rows[len(rows)-1].AttributeValue("data-name"); last != "p099" {
		t.Errorf("the first page ends with %q, want p099", last)
	}
	b.do("follow the next page",
		chromedp.Click(chromedp.CSS(`#next-page`)),
		chromedp.WaitVisible(chromedp.CSS(`#pipelines-table tr[data-name="p104"]`)),
	)
	rows = run(b, "count the second page's rows", chromedp.Nodes(chromedp.CSSAll(`#pipelines-table tbody tr[data-name]`)))
	if len(rows) != 5 || rows[0].AttributeValue("data-name") != "p100" {
		t.Errorf("the second page shows %d pipelines from %q, want 5 from p100", len(rows), rows[0].AttributeValue("data-name"))
	}
	if nodes := run(b, "look for a next link", chromedp.Nodes(chromedp.CSSAll(`#next-page`), chromedp.AtLeast(0))); len(nodes) != 0 {
		t.Errorf("the last page links to a next one")
	}
	b.shot("pipelines-page-2")
	b.do("search a name on the second page",
		chromedp.Navigate(ts.url+"/ui/pipelines?q=p103"),
		chromedp.WaitVisible(chromedp.CSS(`#pipelines-table tr[data-name="p103"]`)),
	)
	if rows := run(b, "count the matches", chromedp.Nodes(chromedp.CSSAll(`#pipelines-table tbody tr[data-name]`))); len(rows) != 1 {
		t.Errorf("searching p103 shows %d pipelines, want 1", len(rows))
	}
}
