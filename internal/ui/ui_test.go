package ui

import (
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/depgraph"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/pipeline"
)

// publicRoutes are the only routes that need no permission: signing in and
// out, and the static files every page loads.
var publicRoutes = []string{
	"GET /ui/static/{file}",
	"GET /ui/signin",
	"POST /ui/signin",
	"POST /ui/signout",
}

// TestEveryRouteHasAnAction walks the route table: every route but the
// public ones names exactly one action, which IAM knows.
func TestEveryRouteHasAnAction(t *testing.T) {
	t.Parallel()
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, rt := range s.routes {
		if seen[rt.pattern] {
			t.Errorf("route %s is registered twice", rt.pattern)
		}
		seen[rt.pattern] = true
		switch {
		case rt.public:
			if !slices.Contains(publicRoutes, rt.pattern) {
				t.Errorf("route %s is public, and is not one of %v", rt.pattern, publicRoutes)
			}
			if rt.action != "" {
				t.Errorf("public route %s names action %s", rt.pattern, rt.action)
			}
		case rt.action == "":
			t.Errorf("route %s has no action name", rt.pattern)
		case !iam.IsAction(rt.action):
			t.Errorf("route %s names action %s, which IAM does not know", rt.pattern, rt.action)
		}
		if strings.HasPrefix(rt.pattern, "POST ") && !rt.public && rt.resource == nil {
			t.Errorf("change %s names no resource", rt.pattern)
		}
	}
	for _, p := range publicRoutes {
		if !seen[p] {
			t.Errorf("public route %s is missing", p)
		}
	}
}

// TestTemplatesAskKnownActions: the controls' permission checks name
// actions IAM knows, so a misspelt one cannot hide a control for everybody.
func TestTemplatesAskKnownActions(t *testing.T) {
	t.Parallel()
	ask := regexp.MustCompile(`Perm\.(?:On|Can) "([A-Za-z]+)"`)
	n := 0
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(templateFS, path)
		if err != nil {
			return err
		}
		for _, m := range ask.FindAllStringSubmatch(string(data), -1) {
			n++
			if !iam.IsAction(m[1]) {
				t.Errorf("%s asks for action %s, which IAM does not know", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 8 {
		t.Fatalf("found %d permission checks in the templates; the pattern is out of date", n)
	}
	for _, a := range []string{actListReports, actListLocks, actListRuleFailures, actGetArtifact} {
		if !iam.IsAction(a) {
			t.Errorf("the console asks for %s, which IAM does not know", a)
		}
	}
}

func TestSplitPhases(t *testing.T) {
	t.Parallel()
	log := "preparing\n" +
		"[Container] 2026/01/02 10:00:00 Entering phase INSTALL\n" +
		"installing\n" +
		"[Container] 2026/01/02 10:00:01 Phase complete: INSTALL State: SUCCEEDED\n" +
		"[Container] 2026/01/02 10:00:01 Entering phase BUILD\n" +
		"boom\n" +
		"[Container] 2026/01/02 10:00:02 Phase complete: BUILD State: FAILED\n" +
		"[Container] 2026/01/02 10:00:02 Retrying phase BUILD (retry 1 of 1)\n" +
		"[Container] 2026/01/02 10:00:02 Entering phase BUILD\n" +
		"ok now\n" +
		"[Container] 2026/01/02 10:00:03 Phase complete: BUILD State: SUCCEEDED\n" +
		"[build1] [Container] 2026/01/02 10:00:03 Entering phase POST_BUILD\n" +
		"[build1] done\n"
	got := splitPhases(log)
	want := []struct{ name, status, text string }{
		{"", "", "preparing\n"},
		{"INSTALL", "SUCCEEDED", "installing"},
		{"BUILD", "FAILED", "boom\n"},
		{"BUILD", "SUCCEEDED", "ok now"},
		{"POST_BUILD", "", "[build1] done\n"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d sections, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Name != w.name || got[i].Status != w.status || !strings.Contains(got[i].Text, w.text) {
			t.Errorf("section %d: %q %q %q, want %q %q containing %q", i, got[i].Name, got[i].Status, got[i].Text, w.name, w.status, w.text)
		}
	}
	if plain := splitPhases("just output\n"); len(plain) != 1 || plain[0].Name != "" {
		t.Errorf("a log without phases: %+v", plain)
	}
	if s := cleanLog([]byte("\x1b[31mred\x1b[0m \xff")); s != "red \uFFFD" {
		t.Errorf("cleanLog = %q", s)
	}
}

func TestGraphLayout(t *testing.T) {
	t.Parallel()
	decl := func(yml string) *pipeline.Pipeline {
		p, err := pipeline.Parse("p.yml", []byte(yml))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	g := depgraph.Build([]*pipeline.Pipeline{
		decl("name: a\nlock: L\nstages: [{name: S, actions: [{name: x, provider: Noop}]}]\n"),
		decl("name: b\nstages: [{name: S, actions: [{name: g, provider: PipelineGate, configuration: {PipelineName: a}}]}]\n"),
		// c and a gate on each other: a cycle of gates is allowed.
		decl("name: c\nlock: L\ntriggers: [{providerType: Pipeline, pipeline: {name: b}}]\nstages: [{name: S, actions: [{name: g, provider: PipelineGate, configuration: {PipelineName: b}}]}]\n"),
	})
	g.SetStatus(map[string]string{"a": "Succeeded", "b": "Failed"})
	d := layout(g)
	pos, w, h := d.pos, d.width, d.height
	if pos["a"].layer >= pos["b"].layer || pos["b"].layer >= pos["c"].layer {
		t.Errorf("layers a %d, b %d, c %d: want each after what it depends on", pos["a"].layer, pos["b"].layer, pos["c"].layer)
	}
	for n1, p1 := range pos {
		if p1.x < 0 || p1.y < 0 || p1.x+nodeW > w || p1.y+nodeH > h {
			t.Errorf("node %s at %d,%d is outside the %dx%d drawing", n1, p1.x, p1.y, w, h)
		}
		for n2, p2 := range pos {
			if n1 < n2 && p1.x < p2.x+nodeW && p2.x < p1.x+nodeW && p1.y < p2.y+nodeH && p2.y < p1.y+nodeH {
				t.Errorf("nodes %s and %s overlap", n1, n2)
			}
		}
	}
	svg := string(drawGraph(g, graphNotes{}))
	for _, want := range []string{`data-node="a"`, `data-node="lock:L"`, `href="/ui/pipelines/b"`, "✗ Failed", "✓ Succeeded", `class="edge e-gate"`, `class="edge e-trigger"`, `class="edge e-lock"`} {
		if !strings.Contains(svg, want) {
			t.Errorf("the drawing has no %s", want)
		}
	}
	if drawGraph(&depgraph.Graph{}, graphNotes{}) != "" {
		t.Error("an empty graph is drawn")
	}
}

// TestGraphLayoutCrossings: layers ordered to cross nowhere when a drawing
// without crossings exists, edges over several layers routed through the
// layers between (not over the nodes), and a cycle of gates drawn too.
func TestGraphLayoutCrossings(t *testing.T) {
	t.Parallel()
	decl := func(yml string) *pipeline.Pipeline {
		p, err := pipeline.Parse("p.yml", []byte(yml))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	gate := func(name, on string) string {
		return "name: " + name + "\nstages: [{name: S, actions: [{name: g, provider: PipelineGate, configuration: {PipelineName: " + on + "}}]}]\n"
	}
	// Declared in an order that crosses: a1 and a2 feed b2 and b1 the other
	// way round, and a1 reaches d over three layers.
	g := depgraph.Build([]*pipeline.Pipeline{
		decl("name: a1\nstages: [{name: S, actions: [{name: x, provider: Noop}]}]\n"),
		decl("name: a2\nstages: [{name: S, actions: [{name: x, provider: Noop}]}]\n"),
		decl(gate("b1", "a2")), decl(gate("b2", "a1")),
		decl(gate("c1", "b1")), decl(gate("c2", "b2")),
		decl("name: d\ntriggers: [{providerType: Pipeline, pipeline: {name: a1}}]\nstages: [{name: S, actions: [{name: g, provider: PipelineGate, configuration: {PipelineName: c2}}]}]\n"),
		decl("name: alone\nstages: [{name: S, actions: [{name: x, provider: Noop}]}]\n"),
	})
	d := layout(g)
	type seg struct{ a, b point }
	var segs [][]seg
	var ends [][2]string
	for i, e := range g.Edges {
		var ss []seg
		for k := 0; k+1 < len(d.routes[i]); k++ {
			ss = append(ss, seg{d.routes[i][k], d.routes[i][k+1]})
		}
		segs = append(segs, ss)
		ends = append(ends, [2]string{e.From, e.To})
	}
	orient := func(p, q, r point) int {
		v := (q.x-p.x)*(r.y-p.y) - (q.y-p.y)*(r.x-p.x)
		switch {
		case v > 0:
			return 1
		case v < 0:
			return -1
		}
		return 0
	}
	crossings := 0
	for i := range segs {
		for j := i + 1; j < len(segs); j++ {
			if ends[i][0] == ends[j][0] || ends[i][0] == ends[j][1] || ends[i][1] == ends[j][0] || ends[i][1] == ends[j][1] {
				continue
			}
			for _, s1 := range segs[i] {
				for _, s2 := range segs[j] {
					if orient(s1.a, s1.b, s2.a)*orient(s1.a, s1.b, s2.b) < 0 && orient(s2.a, s2.b, s1.a)*orient(s2.a, s2.b, s1.b) < 0 {
						crossings++
						t.Errorf("%s→%s crosses %s→%s", ends[i][0], ends[i][1], ends[j][0], ends[j][1])
					}
				}
			}
		}
	}
	if d.pos["alone"].layer != -1 || d.pos["alone"].y <= d.pos["d"].y {
		t.Errorf("alone is at layer %d, y %d: want it set apart, below", d.pos["alone"].layer, d.pos["alone"].y)
	}
	// The long edge a1 → d passes through the layers between, clear of
	// every node there.
	for i, e := range g.Edges {
		if e.From != "a1" || e.To != "d" {
			continue
		}
		if len(d.routes[i]) != 2+2*2 {
			t.Errorf("a1 → d has %d points, want 6 (through 2 layers)", len(d.routes[i]))
		}
		for _, pt := range d.routes[i][1 : len(d.routes[i])-1] {
			for name, p := range d.pos {
				if pt.x >= p.x && pt.x <= p.x+nodeW && pt.y >= p.y && pt.y <= p.y+nodeH && p.layer >= 0 {
					t.Errorf("a1 → d passes through node %s at %v", name, pt)
				}
			}
		}
	}
	// The nodes spread over the drawing's width.
	minX, maxX := d.width, 0
	for _, p := range d.pos {
		minX, maxX = min(minX, p.x), max(maxX, p.x+nodeW)
	}
	if float64(maxX-minX) < 0.8*float64(d.width) {
		t.Errorf("the nodes span %d of %d units", maxX-minX, d.width)
	}
}

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/ui/pipelines/x":       "/ui/pipelines/x",
		"https://evil.example/": "/ui/pipelines",
		"//evil.example/ui/":    "/ui/pipelines",
		"/ui/\\evil":            "/ui/pipelines",
		"/api/v1/pipelines":     "/ui/pipelines",
		"/ui/signin?next=/ui/x": "/ui/pipelines",
		"":                      "/ui/pipelines",
		"/ui/events?pipeline=a": "/ui/events?pipeline=a",
		"/ui/live?pipeline=a":   "/ui/pipelines",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// An action the server holds writes no log, so its card offers none; one a
// worker ran does. PipelineUpdate is held too, though its card is plain.
func TestHeldActionsOfferNoLog(t *testing.T) {
	for provider, want := range map[string]bool{
		pipeline.ProviderManual: false, pipeline.ProviderPipelineGate: false, pipeline.ProviderPipeline: false,
		pipeline.ProviderPipelineUpdate: false,
		pipeline.ProviderCommands:       true, pipeline.ProviderGit: true, pipeline.ProviderFunction: true,
	} {
		info, _ := pipeline.LookupProvider(provider)
		a := engine.Action{JobID: "j1", Status: engine.ActionSucceeded, Decl: pipeline.Action{Name: "a",
			ActionTypeID: pipeline.ActionTypeID{Category: info.Category, Owner: pipeline.OwnerAWS, Provider: provider}}}
		if got := newActionView("app", nil, "S", a).HasLog; got != want {
			t.Errorf("%s: HasLog = %v, want %v", provider, got, want)
		}
	}
}
