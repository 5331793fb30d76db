package ui_test

// Browser tests of how the console lays things out at a desktop width
// (1400 px): every stage of a long pipeline is reachable, a gate card shows
// the values its execution resolved, and the dependency graph uses the width
// it has without crossing edges where a drawing without crossings exists.

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sluice-ci/sluice/internal/wire"
)

// manyStagesPipeline has six stages with long names: at 1400 px they do not
// fit side by side.
const manyStagesPipeline = `
name: long
stages:
  - name: Source-checkout-of-everything
    actions: [{name: a, provider: Noop}]
  - name: Build-and-unit-test
    actions: [{name: b, provider: Noop}]
  - name: Integration-tests-on-staging
    actions: [{name: c, provider: Noop}]
  - name: Deploy-to-the-canary-fleet
    actions: [{name: d, provider: Noop}]
  - name: Deploy-to-production-eu
    actions: [{name: e, provider: Noop}]
  - name: Deploy-to-production-us
    actions: [{name: f, provider: Noop}]
`

// visible is a script that scrolls the page down to each element matching
// its selector (as a reader does) and returns those that are not then in
// sight: outside the window's width, or hidden under something else
// (clipped by an ancestor) at their centre. Nothing is scrolled sideways: a
// stage that needs a sideways scroll, which a reader may not know is there
// (scroll bars hide until used), counts as cut off.
const visible = `((sel) => {
  const bad = [];
  for (const el of document.querySelectorAll(sel)) {
    window.scrollTo(0, window.scrollY + el.getBoundingClientRect().top - 10);
    const r = el.getBoundingClientRect();
    const x = r.left + Math.min(r.width / 2, 40), y = r.top + Math.min(r.height / 2, 20);
    const inWindow = r.left >= 0 && r.right <= window.innerWidth + 0.5 && r.width > 0;
    const hit = document.elementFromPoint(x, y);
    if (!inWindow || !hit || !el.contains(hit)) {
      bad.push(el.id + " at " + Math.round(r.left) + ".." + Math.round(r.right) + " (window " + window.innerWidth + ")");
    }
  }
  return bad;
})`

func TestBrowserEveryStageReachable(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.apply(manyStagesPipeline)
	b := newBrowser(t, ts.url)
	b.signIn(ts.admin)
	b.do("open the six-stage pipeline at 1400 px",
		chromedp.EmulateViewport(1400, 900),
		chromedp.Navigate(ts.url+"/ui/pipelines/long"),
		chromedp.WaitVisible(chromedp.CSS(`#stage-Source-checkout-of-everything`)),
	)
	b.shot("six-stages-1400")
	n := run(b, "count stages", chromedp.Evaluate[int](`document.querySelectorAll(".stage").length`))
	if n != 6 {
		t.Fatalf("%d stages drawn, want 6", n)
	}
	bad := run(b, "scroll down to each stage", chromedp.Evaluate[[]string](visible+`(".stage")`))
	if len(bad) > 0 {
		t.Errorf("stages cut off at 1400 px: %v", bad)
	}
	b.shot("six-stages-scrolled")
	// The page itself does not scroll sideways: only the stages do.
	if w := run(b, "page width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`)); !w {
		t.Error("the whole page scrolls sideways at 1400 px")
	}
}

// gatePipelines: deploy gates on infra, with what to do when infra fails
// given as a pipeline variable.
const gatePipelines = `
name: infra
stages:
  - name: Apply
    actions: [{name: tf, provider: Noop}]
---
name: deploy
variables:
  - name: ON_INFRA_FAILURE
    defaultValue: WAIT
  - name: UPSTREAM
    defaultValue: infra
stages:
  - name: WaitForInfra
    actions:
      - name: infra-ready
        provider: PipelineGate
        configuration:
          PipelineName: "#{variables.UPSTREAM}"
          Condition: Succeeded
          OnUpstreamFailure: "#{variables.ON_INFRA_FAILURE}"
  - name: Ship
    actions: [{name: ship, provider: Noop}]
`

func TestBrowserGateCardShowsResolvedValues(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	for _, doc := range strings.Split(gatePipelines, "\n---\n") {
		ts.apply(doc)
	}
	ctx := context.Background()
	// infra never ran: the gate waits for its first success.
	id, err := ts.api.Start(ctx, "deploy", wire.StartRequest{Variables: map[string]string{"ON_INFRA_FAILURE": "FAIL"}})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitExecution("deploy", id, "the gate to wait", func(e *wire.Execution) bool {
		return actionStatus(e, "WaitForInfra", "infra-ready") == "InProgress"
	})
	b := newBrowser(t, ts.url)
	b.signIn(ts.admin)
	for _, page := range []string{"/ui/pipelines/deploy", "/ui/pipelines/deploy/executions/" + id} {
		b.do("open "+page,
			chromedp.EmulateViewport(1400, 900),
			chromedp.Navigate(ts.url+page),
			chromedp.WaitVisible(chromedp.CSS(`#action-WaitForInfra-infra-ready .gate`)),
		)
		got := b.text("#action-WaitForInfra-infra-ready .gate")
		if strings.Contains(got, "#{") || !strings.Contains(got, "if it fails: FAIL") || !strings.Contains(got, "Waits for pipeline infra") {
			t.Errorf("%s: the gate card reads %q, want this execution's values (infra, FAIL)", page, got)
		}
		b.shot("gate-card")
	}
	b.do("open the list", chromedp.Navigate(ts.url+"/ui/pipelines"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-name="deploy"] .waitfor`)))
	if got := strings.TrimSpace(strings.TrimPrefix(b.text(`tr[data-name="deploy"] .waitfor`), "‖")); got != "gate: infra" {
		t.Errorf("deploy's row says it waits for %q, want its gate", got)
	}
	// Before any execution, the card shows the declaration and says the
	// values are the execution's to resolve.
	ts.apply(strings.Replace(strings.Split(gatePipelines, "\n---\n")[1], "name: deploy", "name: deploy2", 1))
	b.do("open a pipeline that never ran", chromedp.Navigate(ts.url+"/ui/pipelines/deploy2"),
		chromedp.WaitVisible(chromedp.CSS(`#action-WaitForInfra-infra-ready .gate`)))
	if got := b.text("#action-WaitForInfra-infra-ready .gate"); !strings.Contains(got, "#{variables.ON_INFRA_FAILURE}") {
		t.Errorf("a gate that never ran reads %q, want its declaration", got)
	}
}

// graphPipelines can be drawn without crossing edges:
//
//	infra ─gate→ k8s ─gate→ app      infra, k8s ─lock→ prod-cluster
//	network ─gate→ dns ─trigger→ app
//
// and hello and release depend on nothing.
var graphPipelines = []string{
	"name: infra\nlock: prod-cluster\nstages: [{name: S, actions: [{name: x, provider: Noop}]}]\n",
	"name: network\nstages: [{name: S, actions: [{name: x, provider: Noop}]}]\n",
	"name: k8s\nlock: prod-cluster\nstages: [{name: S, actions: [{name: g, provider: PipelineGate, configuration: {PipelineName: infra}}]}]\n",
	"name: dns\nstages: [{name: S, actions: [{name: g, provider: PipelineGate, configuration: {PipelineName: network}}]}]\n",
	"name: app\ntriggers: [{providerType: Pipeline, pipeline: {name: dns}}]\nstages: [{name: S, actions: [{name: g, provider: PipelineGate, configuration: {PipelineName: k8s}}]}]\n",
	"name: hello\nstages: [{name: S, actions: [{name: x, provider: Noop}]}]\n",
	"name: release\nstages: [{name: S, actions: [{name: x, provider: Noop}]}]\n",
}

// graphGeometry measures the drawn graph: how much of the graph's box the
// nodes span, and which pairs of edges cross, from the paths' own
// geometry (each sampled along its length). Edges that share a node meet
// there and are not counted.
const graphGeometry = `(() => {
  const svg = document.querySelector("svg.graph");
  const box = document.querySelector(".graphbox").getBoundingClientRect();
  let minX = Infinity, maxX = -Infinity;
  for (const n of svg.querySelectorAll("rect.node")) {
    const r = n.getBoundingClientRect();
    minX = Math.min(minX, r.left); maxX = Math.max(maxX, r.right);
  }
  const edges = [...svg.querySelectorAll("path.edge")].map(p => {
    const len = p.getTotalLength(), pts = [];
    for (let i = 0; i <= 60; i++) { const q = p.getPointAtLength(len * i / 60); pts.push([q.x, q.y]); }
    return {from: p.dataset.from, to: p.dataset.to, pts};
  });
  const cross = (a, b, c, d) => {
    const o = (p, q, r) => Math.sign((q[0]-p[0])*(r[1]-p[1]) - (q[1]-p[1])*(r[0]-p[0]));
    return o(a,b,c) * o(a,b,d) < 0 && o(c,d,a) * o(c,d,b) < 0;
  };
  const crossings = [];
  for (let i = 0; i < edges.length; i++) for (let j = i + 1; j < edges.length; j++) {
    const e = edges[i], f = edges[j];
    if ([e.from, e.to].some(n => n === f.from || n === f.to)) continue;
    let hit = false;
    for (let k = 0; k < 60 && !hit; k++) for (let l = 0; l < 60 && !hit; l++)
      hit = cross(e.pts[k], e.pts[k+1], f.pts[l], f.pts[l+1]);
    if (hit) crossings.push(e.from + "→" + e.to + " × " + f.from + "→" + f.to);
  }
  return {span: (maxX - minX) / box.width, crossings, edges: edges.length};
})()`

type geometry struct {
	Span      float64  `json:"span"`
	Crossings []string `json:"crossings"`
	Edges     int      `json:"edges"`
}

func TestBrowserGraphLayout(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	for _, p := range graphPipelines {
		ts.apply(p)
	}
	b := newBrowser(t, ts.url)
	b.signIn(ts.admin)
	b.do("open the graph at 1400 px",
		chromedp.EmulateViewport(1400, 900),
		chromedp.Navigate(ts.url+"/ui/graph"),
		chromedp.WaitVisible(chromedp.CSS(`svg.graph [data-node="app"]`)),
	)
	b.shot("graph-1400")
	g := run(b, "measure the graph", chromedp.Evaluate[geometry](graphGeometry))
	if g.Edges != 6 {
		t.Errorf("%d edges drawn, want 6", g.Edges)
	}
	if g.Span <= 0.5 {
		t.Errorf("the nodes span %.0f%% of the graph's width, want more than half", g.Span*100)
	}
	if len(g.Crossings) > 0 {
		t.Errorf("edges cross in a graph that can be drawn without crossings: %v", g.Crossings)
	}
	// The legend says which way a gate's arrow points, and the arrows point
	// that way: from the pipeline waited for to the one that waits.
	if got := b.text(".legend"); !strings.Contains(got, "gate: the pipeline at the arrow's head waits for the one at its tail") {
		t.Errorf("the legend reads %q", got)
	}
	heads := run(b, "find the gates' heads", chromedp.Evaluate[map[string]string](`Object.fromEntries(
	  [...document.querySelectorAll("svg.graph path.e-gate")].map(p => {
	    const end = p.getPointAtLength(p.getTotalLength());
	    const at = [...document.querySelectorAll("svg.graph [data-node]")].find(n => {
	      const r = n.querySelector("rect").getBBox();
	      return end.x >= r.x - 12 && end.x <= r.x + r.width + 12 && end.y >= r.y && end.y <= r.y + r.height;
	    });
	    return [p.dataset.from + "→" + p.dataset.to, at ? at.dataset.node : ""];
	  }))`))
	for edge, want := range map[string]string{"infra→k8s": "k8s", "k8s→app": "app", "network→dns": "dns"} {
		if heads[edge] != want {
			t.Errorf("the gate %s has its head at %q, want at %s, the pipeline that waits", edge, heads[edge], want)
		}
	}
	// Pipelines that depend on nothing are set apart, below the rest.
	apart := run(b, "read the independent pipelines", chromedp.Evaluate[string](`(() => {
	  const sec = document.querySelector("svg.graph .independent");
	  if (!sec) return "";
	  return [...sec.querySelectorAll("[data-node]")].map(n => n.dataset.node).join(",");
	})()`))
	if apart != "hello,release" {
		t.Errorf("the pipelines set apart are %q, want hello,release", apart)
	}
	low := run(b, "compare heights", chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
	  const y = n => document.querySelector('svg.graph [data-node="' + n + '"] rect').getBoundingClientRect().top;
	  return %s;
	})()`, `y("hello") > Math.max(y("app"), y("infra"), y("network"), y("k8s"), y("dns"))`)))
	if !low {
		t.Error("the independent pipelines are not below the dependent ones")
	}
}

// lockPipelines take the same lock: infra holds it while its approval
// waits, so k8s queues for it.
var lockPipelines = []string{`
name: infra
lock: prod-cluster
stages:
  - name: Plan
    actions: [{name: plan, provider: Noop}]
  - name: Approve
    actions: [{name: review, provider: Manual}]
`, `
name: k8s
lock: prod-cluster
stages:
  - name: Deploy
    actions: [{name: apply, provider: Noop}]
`}

// TestBrowserWaitsAndLocks: the console tells the execution holding a lock
// from the one queued for it, and says what each waits for, in the list of
// pipelines, on the pipeline's and the execution's pages and in the graph.
func TestBrowserWaitsAndLocks(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	for _, p := range lockPipelines {
		ts.apply(p)
	}
	ctx := context.Background()
	infra, err := ts.api.Start(ctx, "infra", wire.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitExecution("infra", infra, "the approval", func(e *wire.Execution) bool {
		return actionStatus(e, "Approve", "review") == "InProgress"
	})
	k8s, err := ts.api.Start(ctx, "k8s", wire.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitExecution("k8s", k8s, "the lock", func(e *wire.Execution) bool { return strings.Contains(e.WaitingFor, "lock") })

	b := newBrowser(t, ts.url)
	b.signIn(ts.admin)
	b.do("open the list", chromedp.Navigate(ts.url+"/ui/pipelines"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-name="k8s"] .waitfor`)))
	if got := strings.TrimSpace(strings.TrimPrefix(b.text(`tr[data-name="k8s"] .waitfor`), "‖")); got != "queued for lock prod-cluster" {
		t.Errorf("k8s's row says it waits for %q", got)
	}
	if got := strings.TrimSpace(strings.TrimPrefix(b.text(`tr[data-name="infra"] .waitfor`), "‖")); got != "approval review" {
		t.Errorf("infra's row says it waits for %q", got)
	}
	b.shot("list-waiting")

	b.do("open k8s", chromedp.Navigate(ts.url+"/ui/pipelines/k8s"), chromedp.WaitVisible(chromedp.CSS(`.run .waitfor`)))
	if got := b.text(`.run .waitfor`); !strings.Contains(got, "queued for prod-cluster behind infra (holds it)") {
		t.Errorf("k8s's running execution reads %q", got)
	}
	if got := b.text(`#pipeline-lock`); !strings.Contains(got, "held by infra") {
		t.Errorf("k8s's lock reads %q, want its holder", got)
	}
	b.shot("pipeline-queued")

	b.do("open k8s's execution", chromedp.Navigate(ts.url+"/ui/pipelines/k8s/executions/"+k8s),
		chromedp.WaitVisible(chromedp.CSS(`#execution-locks`)))
	if got := b.text(`#execution-locks [data-lock="prod-cluster"][data-role="queued"]`); !strings.Contains(got, "queued for prod-cluster behind infra") {
		t.Errorf("the queued execution's lock reads %q", got)
	}
	b.do("open infra's execution", chromedp.Navigate(ts.url+"/ui/pipelines/infra/executions/"+infra),
		chromedp.WaitVisible(chromedp.CSS(`#execution-locks`)))
	if got := b.text(`#execution-locks [data-lock="prod-cluster"][data-role="holds"]`); got != "holds prod-cluster" {
		t.Errorf("the holding execution's lock reads %q", got)
	}

	b.do("open the graph", chromedp.Navigate(ts.url+"/ui/graph"), chromedp.WaitVisible(chromedp.CSS(`svg.graph [data-node="k8s"]`)))
	b.shot("graph-waiting")
	edges := run(b, "read the lock edges", chromedp.Evaluate[map[string]string](`Object.fromEntries(
	  [...document.querySelectorAll('svg.graph path.e-lock')].map(p => [p.dataset.from, p.getAttribute("class") + " | " + p.querySelector("title").textContent]))`))
	if got := edges["infra"]; !strings.Contains(got, "held") || !strings.Contains(got, "infra holds lock prod-cluster") {
		t.Errorf("infra's lock edge: %q", got)
	}
	if got := edges["k8s"]; !strings.Contains(got, "queued") || strings.Contains(got, "k8s holds") {
		t.Errorf("k8s's lock edge: %q", got)
	}
	if got := b.text(`table.edges`); strings.Contains(got, "k8s holds") {
		t.Errorf("the edges' table says k8s holds the lock it is queued for: %q", got)
	}
	if got := run(b, "read k8s's node", chromedp.TextContent(chromedp.CSS(`svg.graph [data-node="k8s"] .node-sub`))); !strings.Contains(got, "queued for lock") {
		t.Errorf("k8s's node reads %q", got)
	}
	if got := run(b, "read the lock's node", chromedp.TextContent(chromedp.CSS(`svg.graph [data-node="lock:prod-cluster"] .node-sub`))); !strings.Contains(got, "held by infra") {
		t.Errorf("the lock's node reads %q", got)
	}
}

// TestLockHoldersNeedListLocks: a reader allowed the graph and the pipeline
// but not ListLocks is not told who holds a lock (the graph's lock node and
// edges, the pipeline's lock line); an admin is.
func TestLockHoldersNeedListLocks(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	for _, p := range lockPipelines {
		ts.apply(p)
	}
	ctx := context.Background()
	infra, err := ts.api.Start(ctx, "infra", wire.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitExecution("infra", infra, "the approval", func(e *wire.Execution) bool {
		return actionStatus(e, "Approve", "review") == "InProgress"
	})
	tok, err := ts.api.CreateTokenWith(ctx, wire.CreateTokenRequest{Name: "looker", Policy: "looker.yml", PolicyDocument: `
Statement:
  - Effect: Allow
    Action: [sluice:GetPipelineGraph, sluice:ListPipelines, sluice:GetPipelineState, sluice:ListPipelineExecutions, sluice:GetEventStream]
    Resource: "*"
`})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		token string
		see   bool
	}{{tok.Token, false}, {ts.admin, true}} {
		b := newBrowserless(t, ts.url)
		b.signIn(c.token)
		_, graph := b.get("/ui/graph")
		_, page := b.get("/ui/pipelines/k8s")
		for what, body := range map[string]string{"graph": graph, "k8s's page": page} {
			if strings.Contains(body, "held by infra") != c.see {
				t.Errorf("%s, token %s: shows the lock's holder: %v, want %v", what, map[bool]string{true: "admin", false: "looker"}[c.see], !c.see, c.see)
			}
		}
		if !strings.Contains(graph, `data-node="lock:prod-cluster"`) {
			t.Error("the graph has no lock node")
		}
	}
}
