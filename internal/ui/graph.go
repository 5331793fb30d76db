package ui

import (
	"cmp"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/sluice-ci/sluice/internal/depgraph"
	"github.com/sluice-ci/sluice/internal/service"
)

// graphPage is the dependency graph between pipelines, drawn as a picture
// (an SVG laid out here, in layers from left to right), with the same edges
// as a table for readers that do not see it, and the locks' holders.
type graphPage struct {
	SVG      template.HTML
	Graph    *depgraph.Graph
	Locks    []service.LockState
	CanLocks bool
}

func (graphPage) navKey() string  { return "graph" }
func (graphPage) liveURL() string { return Prefix + "live" }

func (s *Server) graphPage(w http.ResponseWriter, r *http.Request, c *call) error {
	g, err := s.svc.Graph(r.Context())
	if err != nil {
		return err
	}
	page := graphPage{Graph: g, SVG: drawGraph(g), CanLocks: c.perm.Can(actListLocks, "*")}
	if page.CanLocks {
		if page.Locks, err = s.svc.Locks(r.Context()); err != nil {
			return err
		}
	}
	s.render(w, r, c, "graph", "Dependencies", page)
	return nil
}

// Sizes of the drawing, in SVG user units (pixels at 100 %).
const (
	nodeW    = 184
	nodeH    = 52
	layerGap = 96
	rowGap   = 28
	margin   = 24
	// arcRise is how far above the nodes an edge over several layers
	// bows; the drawing has that much more room at the top.
	arcRise = 36
)

type placed struct {
	node  depgraph.Node
	layer int
	row   int
	x, y  int
}

// layout places the nodes in layers: each node one layer right of the
// furthest node it depends on (edges that close a cycle, which gates may,
// are left out of that), then orders each layer by the mean row of its
// neighbours, a few sweeps each way, so that edges cross less.
func layout(g *depgraph.Graph) (map[string]*placed, int, int) {
	pos := map[string]*placed{}
	for _, n := range g.Nodes {
		pos[n.Name] = &placed{node: n}
	}
	out := map[string][]string{}
	in := map[string][]string{}
	for _, e := range g.Edges {
		if e.From == e.To {
			continue
		}
		out[e.From] = append(out[e.From], e.To)
		in[e.To] = append(in[e.To], e.From)
	}
	// Back edges: found by a depth-first search in the nodes' order.
	back := map[[2]string]bool{}
	state := map[string]int{} // 0 new, 1 on the stack, 2 done
	var visit func(string)
	visit = func(n string) {
		state[n] = 1
		for _, m := range out[n] {
			switch state[m] {
			case 0:
				visit(m)
			case 1:
				back[[2]string{n, m}] = true
			}
		}
		state[n] = 2
	}
	for _, n := range g.Nodes {
		if state[n.Name] == 0 {
			visit(n.Name)
		}
	}
	// Longest path from the sources over the forward edges.
	layer := map[string]int{}
	var depth func(string, map[string]bool) int
	depth = func(n string, seen map[string]bool) int {
		if l, ok := layer[n]; ok {
			return l
		}
		seen[n] = true
		l := 0
		for _, p := range in[n] {
			if back[[2]string{p, n}] || seen[p] {
				continue
			}
			l = max(l, depth(p, seen)+1)
		}
		delete(seen, n)
		layer[n] = l
		return l
	}
	layers := [][]string{}
	for _, n := range g.Nodes {
		l := depth(n.Name, map[string]bool{})
		pos[n.Name].layer = l
		for len(layers) <= l {
			layers = append(layers, nil)
		}
		layers[l] = append(layers[l], n.Name)
	}
	// Order within layers: barycentres of the neighbours' rows.
	rowOf := func(n string) int { return pos[n].row }
	for li := range layers {
		for i, n := range layers[li] {
			pos[n].row = i
		}
	}
	sweep := func(li int, neighbours map[string][]string) {
		type key struct {
			name string
			bc   float64
		}
		ks := make([]key, len(layers[li]))
		for i, n := range layers[li] {
			sum, cnt := 0.0, 0
			for _, m := range neighbours[n] {
				if pos[m].layer != li {
					sum += float64(rowOf(m))
					cnt++
				}
			}
			bc := float64(pos[n].row)
			if cnt > 0 {
				bc = sum / float64(cnt)
			}
			ks[i] = key{n, bc}
		}
		sort.SliceStable(ks, func(i, j int) bool { return ks[i].bc < ks[j].bc })
		for i, k := range ks {
			layers[li][i] = k.name
			pos[k.name].row = i
		}
	}
	for range 4 {
		for li := 1; li < len(layers); li++ {
			sweep(li, in)
		}
		for li := len(layers) - 2; li >= 0; li-- {
			sweep(li, out)
		}
	}
	tallest := 0
	for _, l := range layers {
		tallest = max(tallest, len(l))
	}
	height := margin*2 + arcRise + tallest*nodeH + max(tallest-1, 0)*rowGap
	for li, l := range layers {
		top := margin + arcRise + (tallest-len(l))*(nodeH+rowGap)/2
		for i, n := range l {
			p := pos[n]
			p.x = margin + li*(nodeW+layerGap)
			p.y = top + i*(nodeH+rowGap)
		}
	}
	width := margin*2 + len(layers)*nodeW + max(len(layers)-1, 0)*layerGap
	return pos, max(width, 2*margin+nodeW), max(height, 2*margin+arcRise+nodeH)
}

var edgeStyle = map[depgraph.EdgeKind]string{
	depgraph.EdgeGate:    "e-gate",
	depgraph.EdgeTrigger: "e-trigger",
	depgraph.EdgeInvoke:  "e-invoke",
	depgraph.EdgeLock:    "e-lock",
}

// drawGraph writes the graph as an inline SVG.
func drawGraph(g *depgraph.Graph) template.HTML {
	if len(g.Nodes) == 0 {
		return ""
	}
	pos, width, height := layout(g)
	var b strings.Builder
	esc := html.EscapeString
	fmt.Fprintf(&b, `<svg class="graph" id="dependency-graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="group" aria-labelledby="graph-title">`,
		width, height, width, height)
	b.WriteString(`<title id="graph-title">How pipelines depend on one another</title>`)
	b.WriteString(`<defs>`)
	for _, k := range []string{"gate", "trigger", "invoke"} {
		fmt.Fprintf(&b, `<marker id="arrow-%s" class="m-%s" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>`, k, k)
	}
	b.WriteString(`</defs>`)
	// Edges first, so nodes are drawn over them.
	edges := slices.Clone(g.Edges)
	slices.SortStableFunc(edges, func(a, b depgraph.Edge) int { return cmp.Compare(edgeStyle[a.Kind], edgeStyle[b.Kind]) })
	for _, e := range edges {
		from, to := pos[e.From], pos[e.To]
		if from == nil || to == nil {
			continue
		}
		x1, y1 := from.x+nodeW, from.y+nodeH/2
		x2, y2 := to.x, to.y+nodeH/2
		var d string
		switch {
		case to.layer == from.layer+1:
			mx := (x1 + x2) / 2
			d = fmt.Sprintf("M%d,%d C%d,%d %d,%d %d,%d", x1, y1, mx, y1, mx, y2, x2, y2)
		case to.layer > from.layer:
			// Over the layers in between: bow above the nodes it passes.
			top := min(from.y, to.y) - arcRise
			d = fmt.Sprintf("M%d,%d C%d,%d %d,%d %d,%d", x1, from.y+nodeH/3, x1+layerGap, top, x2-layerGap, top, x2, to.y+nodeH/3)
		default:
			// Backwards or within a layer: loop around below the nodes.
			low := max(from.y, to.y) + nodeH + rowGap/2
			d = fmt.Sprintf("M%d,%d C%d,%d %d,%d %d,%d", from.x+nodeW/2, from.y+nodeH, from.x+nodeW/2, low+rowGap, to.x+nodeW/2, low+rowGap, to.x+nodeW/2, to.y+nodeH)
		}
		marker := ""
		if e.Kind != depgraph.EdgeLock {
			marker = fmt.Sprintf(` marker-end="url(#arrow-%s)"`, e.Kind)
		}
		fmt.Fprintf(&b, `<path class="edge %s" d="%s"%s><title>%s</title></path>`, edgeStyle[e.Kind], d, marker, esc(edgeText(e)))
		if e.Kind != depgraph.EdgeLock {
			lx, ly := (x1+x2)/2, (y1+y2)/2-6
			if to.layer > from.layer+1 {
				ly = min(from.y, to.y) - arcRise*3/4
			}
			if to.layer <= from.layer {
				lx, ly = (from.x+to.x+nodeW)/2, max(from.y, to.y)+nodeH+rowGap
			}
			fmt.Fprintf(&b, `<text class="edge-label" x="%d" y="%d" text-anchor="middle">%s</text>`, lx, ly, esc(string(e.Kind)))
		}
	}
	for _, n := range g.Nodes {
		p := pos[n.Name]
		label := n.Label()
		if len([]rune(label)) > 22 {
			label = string([]rune(label)[:21]) + "…"
		}
		var sub, cls, href string
		switch {
		case n.Kind == depgraph.NodeLock:
			sub, cls = "lock", "n-lock"
		case n.Kind == depgraph.NodeDynamic:
			sub, cls = "named at run time", "n-dynamic"
		case n.Missing:
			sub, cls = "not declared", "n-missing"
		default:
			info, ok := statuses[n.Status]
			if !ok {
				info = statusInfo{"idle", "–"}
			}
			word := n.Status
			if word == "" {
				word = "Never run"
			}
			sub, cls = info.icon+" "+spaced(word), "n-pipeline st-"+info.class
			href = urlPath(Prefix+"pipelines", n.Name)
		}
		title := n.Label() + ": " + sub
		if href != "" {
			fmt.Fprintf(&b, `<a href="%s" class="node-link" data-node="%s">`, esc(href), esc(n.Name))
		} else {
			fmt.Fprintf(&b, `<g data-node="%s">`, esc(n.Name))
		}
		rx := 8
		if n.Kind == depgraph.NodeLock {
			rx = 26
		}
		fmt.Fprintf(&b, `<title>%s</title><rect class="node %s" x="%d" y="%d" width="%d" height="%d" rx="%d"/>`, esc(title), cls, p.x, p.y, nodeW, nodeH, rx)
		fmt.Fprintf(&b, `<text class="node-name" x="%d" y="%d">%s</text>`, p.x+12, p.y+21, esc(label))
		fmt.Fprintf(&b, `<text class="node-sub" x="%d" y="%d">%s</text>`, p.x+12, p.y+40, esc(sub))
		if href != "" {
			b.WriteString(`</a>`)
		} else {
			b.WriteString(`</g>`)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// edgeText says what an edge means, in words.
func edgeText(e depgraph.Edge) string {
	from := strings.TrimPrefix(e.From, "lock:")
	to := strings.TrimPrefix(e.To, "lock:")
	switch e.Kind {
	case depgraph.EdgeGate:
		return to + " waits for " + from + " (" + e.Detail + ")"
	case depgraph.EdgeTrigger:
		return from + " ending " + strings.ReplaceAll(e.Detail, ",", " or ") + " starts " + to
	case depgraph.EdgeInvoke:
		return from + " invokes " + to + " in " + e.Detail
	case depgraph.EdgeLock:
		return from + " holds lock " + to + " (" + e.Detail + ")"
	}
	return from + " → " + to
}

func init() {
	funcs["edgetext"] = edgeText
	funcs["nodelabel"] = func(n string) string { return strings.TrimPrefix(n, "lock:") }
}
