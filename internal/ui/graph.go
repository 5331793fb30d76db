package ui

import (
	"cmp"
	"context"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/sluice-ci/sluice/internal/depgraph"
	"github.com/sluice-ci/sluice/internal/engine"
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
	page := graphPage{Graph: g, CanLocks: c.perm.Can(actListLocks, "*")}
	locks, err := s.svc.Locks(r.Context())
	if err != nil {
		return err
	}
	if page.CanLocks {
		page.Locks = locks
	}
	notes, err := s.graphNotes(r.Context(), g, locks)
	if !page.CanLocks {
		// Who holds each lock, and who queues, is ListLocks's to show.
		notes.locks = nil
	}
	if err != nil {
		return err
	}
	page.SVG = drawGraph(g, notes)
	s.render(w, r, c, "graph", "Dependencies", page)
	return nil
}

// graphNotes is the live state drawn over the declarations: what the
// latest execution of each pipeline waits for, and who holds each lock and
// who is queued for it.
type graphNotes struct {
	wait  map[string]waitInfo
	locks map[string]engine.Lock
}

func (s *Server) graphNotes(ctx context.Context, g *depgraph.Graph, locks []service.LockState) (graphNotes, error) {
	n := graphNotes{wait: map[string]waitInfo{}, locks: map[string]engine.Lock{}}
	for _, l := range locks {
		n.locks[l.Name] = l.Lock
	}
	for _, node := range g.Nodes {
		if node.Kind != depgraph.NodePipeline || node.Missing || node.Status != string(engine.ExecutionInProgress) {
			continue
		}
		latest, err := s.svc.Executions(ctx, node.Name, 0, 1)
		if err != nil {
			if service.ErrorCode(err) == service.CodeNotFound {
				continue
			}
			return n, err
		}
		if len(latest) > 0 {
			if w := waitOf(latest[0], locks); w.Kind != "" {
				n.wait[node.Name] = w
			}
		}
	}
	return n, nil
}

var edgeStyle = map[depgraph.EdgeKind]string{
	depgraph.EdgeGate:    "e-gate",
	depgraph.EdgeTrigger: "e-trigger",
	depgraph.EdgeInvoke:  "e-invoke",
	depgraph.EdgeLock:    "e-lock",
}

// drawGraph writes the graph as an inline SVG. It is drawn for the width of
// a desktop's console and scales to the page's width (see app.css).
func drawGraph(g *depgraph.Graph, notes graphNotes) template.HTML {
	if len(g.Nodes) == 0 {
		return ""
	}
	d := layout(g)
	var b strings.Builder
	esc := html.EscapeString
	fmt.Fprintf(&b, `<svg class="graph" id="dependency-graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="group" aria-labelledby="graph-title">`,
		d.width, d.height, d.width, d.height)
	b.WriteString(`<title id="graph-title">How pipelines depend on one another</title>`)
	b.WriteString(`<defs>`)
	for _, k := range []string{"gate", "trigger", "invoke"} {
		fmt.Fprintf(&b, `<marker id="arrow-%s" class="m-%s" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>`, k, k)
	}
	b.WriteString(`</defs>`)
	// Edges first, so nodes are drawn over them.
	order := make([]int, len(g.Edges))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, c int) int { return cmp.Compare(edgeStyle[g.Edges[a].Kind], edgeStyle[g.Edges[c].Kind]) })
	for _, i := range order {
		e, pts := g.Edges[i], d.routes[i]
		if pts == nil {
			continue
		}
		cls, title := "edge "+edgeStyle[e.Kind], edgeText(e)
		marker := ""
		if e.Kind == depgraph.EdgeLock {
			// Who holds the lock now, and who is queued for it.
			lock := strings.TrimPrefix(e.To, "lock:")
			held, queued := lockRole(lock, notes.locks[lock], e.From)
			switch {
			case held != "":
				cls += " held"
				title = e.From + " holds lock " + strings.TrimPrefix(e.To, "lock:") + " now (execution " + short(held) + ")"
			case queued != "":
				cls += " queued"
				title = e.From + " is " + queued
			}
		} else {
			marker = fmt.Sprintf(` marker-end="url(#arrow-%s)"`, e.Kind)
		}
		fmt.Fprintf(&b, `<path class="%s" data-from="%s" data-to="%s" d="%s"%s><title>%s</title></path>`,
			cls, esc(e.From), esc(e.To), pathData(pts), marker, esc(title))
		if e.Kind != depgraph.EdgeLock {
			// The label sits on the last stretch, next to the arrow's head.
			a, c := pts[len(pts)-2], pts[len(pts)-1]
			fmt.Fprintf(&b, `<text class="edge-label" x="%d" y="%d" text-anchor="middle">%s</text>`, (a.x+c.x)/2, (a.y+c.y)/2-6, esc(string(e.Kind)))
		}
	}
	drawNode := func(n depgraph.Node) {
		p := d.pos[n.Name]
		label := n.Label()
		if len([]rune(label)) > 23 {
			label = string([]rune(label)[:22]) + "…"
		}
		var sub, cls, href, more string
		switch {
		case n.Kind == depgraph.NodeLock:
			sub, cls = "lock", "n-lock"
			if l, known := notes.locks[n.Label()]; notes.locks != nil {
				sub = "lock · free"
				if known && l.Holder != nil {
					sub = "lock · held by " + l.Holder.Pipeline
					cls += " taken"
				}
				if len(l.Queue) > 0 {
					sub += fmt.Sprintf(", %d queued", len(l.Queue))
				}
			}
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
			if w, ok := notes.wait[n.Name]; ok {
				sub, cls, more = "‖ "+w.Short, "n-pipeline st-wait", ": "+w.Long
			}
			href = urlPath(Prefix+"pipelines", n.Name)
		}
		title := n.Label() + ": " + sub + more
		if r := []rune(sub); len(r) > 26 {
			sub = string(r[:25]) + "…"
		}
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
	for _, n := range g.Nodes {
		if d.pos[n.Name].layer >= 0 {
			drawNode(n)
		}
	}
	if len(d.apart) > 0 {
		b.WriteString(`<g class="independent">`)
		if d.layers > 0 {
			fmt.Fprintf(&b, `<line class="apart-rule" x1="%d" y1="%d" x2="%d" y2="%d"/>`, margin, d.apartY-apartGap/2, d.width-margin, d.apartY-apartGap/2)
		}
		fmt.Fprintf(&b, `<text class="apart-title" x="%d" y="%d">No dependencies</text>`, margin, d.apartY+14)
		for _, name := range d.apart {
			drawNode(d.pos[name].node)
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// lockRole says whether pipeline holds lock l now (the holding execution)
// or is queued for it (in words: "queued for L behind P").
func lockRole(lock string, l engine.Lock, pipeline string) (held, queued string) {
	if l.Holder != nil && l.Holder.Pipeline == pipeline {
		return l.Holder.ExecutionID, ""
	}
	for i, q := range l.Queue {
		if q.Pipeline == pipeline {
			return "", queuedPhrase(lock, aheadInQueue(l, i))
		}
	}
	return "", ""
}

// edgeText says what an edge means, in words. A lock edge says what the
// declaration says (the pipeline takes the lock when it runs), not who
// holds it now: the drawing and the lock table say that.
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
		return from + " takes lock " + to + " while it runs (" + e.Detail + ")"
	}
	return from + " → " + to
}

func init() {
	funcs["edgetext"] = edgeText
	funcs["nodelabel"] = func(n string) string { return strings.TrimPrefix(n, "lock:") }
}
