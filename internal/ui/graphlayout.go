package ui

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sluice-ci/sluice/internal/depgraph"
)

// Sizes of the drawing, in SVG user units (pixels at 100 %).
const (
	nodeW  = 190
	nodeH  = 52
	rowGap = 28
	margin = 24
	// dummyH is the room an edge passing through a layer takes in it.
	dummyH = 12
	// The gap between layers grows to spread the drawing over graphWidth,
	// the width of the console's content at a desktop's 1400 px, within
	// these bounds.
	minLayerGap = 96
	maxLayerGap = 400
	graphWidth  = 1320
	// apartGap separates the pipelines without dependencies from the rest.
	apartGap    = 40
	apartTitle  = 26
	apartColGap = 24
)

type point struct{ x, y int }

// placed is where a node is drawn. Layer is -1 for a node set apart (it has
// no edge to any other node).
type placed struct {
	node  depgraph.Node
	layer int
	row   int
	x, y  int
}

// drawing is a laid-out graph.
type drawing struct {
	pos map[string]*placed
	// routes[i] is the line g.Edges[i] follows, from its From to its To;
	// nil for an edge that is not drawn (from a node to itself).
	routes [][]point
	// apart are the nodes with no dependencies, drawn in rows below the
	// others from apartY on.
	apart         []string
	apartY        int
	width, height int
	layers        int
}

// link is a directed pair of nodes.
type link struct{ from, to string }

// layout lays g out as a layered drawing (Sugiyama's method): edges that
// close a cycle (gates may) are turned round; each node goes one layer right
// of the furthest node it depends on (longest path), and a node nothing
// points to moves right up to its nearest successor; an edge over several
// layers passes through a placeholder in each layer between; then each
// layer is ordered by the barycentre of its neighbours, sweeping down and
// up, with adjacent swaps, keeping the order with the fewest crossings.
// Nodes without any edge are set apart, in rows below.
func layout(g *depgraph.Graph) *drawing {
	d := &drawing{pos: map[string]*placed{}, routes: make([][]point, len(g.Edges))}
	for _, n := range g.Nodes {
		d.pos[n.Name] = &placed{node: n}
	}
	linked := map[string]bool{}
	out := map[string][]string{}
	for _, e := range g.Edges {
		if e.From == e.To || d.pos[e.From] == nil || d.pos[e.To] == nil {
			continue
		}
		linked[e.From], linked[e.To] = true, true
		if !slices.Contains(out[e.From], e.To) {
			out[e.From] = append(out[e.From], e.To)
		}
	}
	var nodes []string
	for _, n := range g.Nodes {
		if linked[n.Name] {
			nodes = append(nodes, n.Name)
		} else {
			d.apart = append(d.apart, n.Name)
			d.pos[n.Name].layer = -1
		}
	}

	// Back edges, found by a depth-first search in the nodes' order.
	back := map[link]bool{}
	state := map[string]int{} // 0 new, 1 on the stack, 2 done
	var visit func(string)
	visit = func(n string) {
		state[n] = 1
		for _, m := range out[n] {
			switch state[m] {
			case 0:
				visit(m)
			case 1:
				back[link{n, m}] = true
			}
		}
		state[n] = 2
	}
	for _, n := range nodes {
		if state[n] == 0 {
			visit(n)
		}
	}
	orient := func(e depgraph.Edge) (link, bool) {
		if back[link{e.From, e.To}] {
			return link{e.To, e.From}, true
		}
		return link{e.From, e.To}, false
	}
	var pairs []link
	fwd, rev := map[string][]string{}, map[string][]string{}
	for _, e := range g.Edges {
		if e.From == e.To || !linked[e.From] {
			continue
		}
		l, _ := orient(e)
		if slices.Contains(pairs, l) {
			continue
		}
		pairs = append(pairs, l)
		fwd[l.from] = append(fwd[l.from], l.to)
		rev[l.to] = append(rev[l.to], l.from)
	}

	// Layers: the longest path from a source.
	layer := map[string]int{}
	var depth func(string) int
	depth = func(n string) int {
		if l, ok := layer[n]; ok {
			return l
		}
		l := 0
		for _, p := range rev[n] {
			l = max(l, depth(p)+1)
		}
		layer[n] = l
		return l
	}
	for _, n := range nodes {
		depth(n)
	}
	for _, n := range nodes {
		if len(rev[n]) == 0 && len(fwd[n]) > 0 {
			nearest := -1
			for _, m := range fwd[n] {
				if nearest < 0 || layer[m] < nearest {
					nearest = layer[m]
				}
			}
			layer[n] = nearest - 1
		}
	}
	nl := 0
	for _, n := range nodes {
		nl = max(nl, layer[n]+1)
	}
	d.layers = nl
	layers := make([][]string, nl)
	for _, n := range nodes {
		layers[layer[n]] = append(layers[layer[n]], n)
	}
	// Placeholders for edges over several layers; chains[pair] is the path
	// of an edge through them.
	up, down := map[string][]string{}, map[string][]string{}
	chains := map[link][]string{}
	dummy := map[string]bool{}
	for _, l := range pairs {
		path := []string{l.from}
		for k := layer[l.from] + 1; k < layer[l.to]; k++ {
			dn := fmt.Sprintf("\x00%s\x00%s\x00%d", l.from, l.to, k)
			dummy[dn] = true
			layer[dn] = k
			layers[k] = append(layers[k], dn)
			path = append(path, dn)
		}
		path = append(path, l.to)
		for i := 0; i+1 < len(path); i++ {
			down[path[i]] = append(down[path[i]], path[i+1])
			up[path[i+1]] = append(up[path[i+1]], path[i])
		}
		chains[l] = path
	}

	order := orderLayers(layers, up, down)
	for k, l := range order {
		for i, n := range l {
			if p := d.pos[n]; p != nil {
				p.layer, p.row = k, i
			}
		}
	}

	// Coordinates: layers spread over the width, each centred vertically.
	gap := minLayerGap
	if nl > 1 {
		gap = min(max((graphWidth-2*margin-nl*nodeW)/(nl-1), minLayerGap), maxLayerGap)
	}
	contentW := 0
	if nl > 0 {
		contentW = 2*margin + nl*nodeW + (nl-1)*gap
	}
	d.width = max(contentW, graphWidth)
	offX := (d.width - contentW) / 2
	height := func(n string) int {
		if dummy[n] {
			return dummyH
		}
		return nodeH
	}
	colH := func(l []string) int {
		h := 0
		for i, n := range l {
			if i > 0 {
				h += rowGap
			}
			h += height(n)
		}
		return h
	}
	tallest := 0
	for _, l := range order {
		tallest = max(tallest, colH(l))
	}
	through := map[string]point{} // a placeholder's centre
	for k, l := range order {
		x := offX + margin + k*(nodeW+gap)
		y := margin + (tallest-colH(l))/2
		for _, n := range l {
			if dummy[n] {
				through[n] = point{x, y + dummyH/2}
			} else {
				d.pos[n].x, d.pos[n].y = x, y
			}
			y += height(n) + rowGap
		}
	}
	y := margin
	if nl > 0 {
		y = margin + tallest + apartGap
	}
	if len(d.apart) > 0 {
		d.apartY = y
		y += apartTitle
		cols := max(1, (d.width-2*margin+apartColGap)/(nodeW+apartColGap))
		for i, n := range d.apart {
			p := d.pos[n]
			p.x = margin + (i%cols)*(nodeW+apartColGap)
			p.y = y + (i/cols)*(nodeH+rowGap)
		}
		rows := (len(d.apart) + cols - 1) / cols
		y += rows*(nodeH+rowGap) - rowGap
	} else if nl > 0 {
		y -= apartGap
	}
	d.height = y + margin

	// Routes: out of the right side of the earlier node, through the
	// placeholders, into the left side of the later one. Edges between the
	// same two nodes are drawn a little apart.
	parallel := map[link][]int{}
	for i, e := range g.Edges {
		if e.From == e.To || !linked[e.From] {
			continue
		}
		l, _ := orient(e)
		parallel[l] = append(parallel[l], i)
	}
	for i, e := range g.Edges {
		if e.From == e.To || !linked[e.From] {
			continue
		}
		l, reversed := orient(e)
		from, to := d.pos[l.from], d.pos[l.to]
		same := parallel[l]
		shift := (slices.Index(same, i)*2 - (len(same) - 1)) * 5
		pts := []point{{from.x + nodeW, from.y + nodeH/2 + shift}}
		chain := chains[l]
		for _, dn := range chain[1 : len(chain)-1] {
			c := through[dn]
			pts = append(pts, point{c.x, c.y + shift}, point{c.x + nodeW, c.y + shift})
		}
		pts = append(pts, point{to.x, to.y + nodeH/2 + shift})
		if reversed {
			slices.Reverse(pts)
		}
		d.routes[i] = pts
	}
	return d
}

// orderLayers orders the nodes within each layer to reduce crossings; up and
// down are each node's neighbours in the layer before and after.
func orderLayers(layers [][]string, up, down map[string][]string) [][]string {
	cur := make([][]string, len(layers))
	for k := range layers {
		cur[k] = slices.Clone(layers[k])
	}
	pos := map[string]int{}
	index := func() {
		for _, l := range cur {
			for i, n := range l {
				pos[n] = i
			}
		}
	}
	index()
	// crossBetween counts the crossings of the edges from layer k to k+1.
	crossBetween := func(k int) int {
		type seg struct{ a, b int }
		var segs []seg
		for _, u := range cur[k] {
			for _, v := range down[u] {
				segs = append(segs, seg{pos[u], pos[v]})
			}
		}
		c := 0
		for i := range segs {
			for j := i + 1; j < len(segs); j++ {
				if (segs[i].a-segs[j].a)*(segs[i].b-segs[j].b) < 0 {
					c++
				}
			}
		}
		return c
	}
	total := func() int {
		c := 0
		for k := 0; k+1 < len(cur); k++ {
			c += crossBetween(k)
		}
		return c
	}
	sortBy := func(k int, nb map[string][]string) {
		bc := map[string]float64{}
		for _, n := range cur[k] {
			bc[n] = float64(pos[n])
			if ns := nb[n]; len(ns) > 0 {
				sum := 0
				for _, m := range ns {
					sum += pos[m]
				}
				bc[n] = float64(sum) / float64(len(ns))
			}
		}
		sort.SliceStable(cur[k], func(i, j int) bool { return bc[cur[k][i]] < bc[cur[k][j]] })
		for i, n := range cur[k] {
			pos[n] = i
		}
	}
	// pairCross counts the crossings between the edges of u and of v, with u
	// to the left of v.
	pairCross := func(u, v string) int {
		c := 0
		for _, nb := range []map[string][]string{up, down} {
			for _, a := range nb[u] {
				for _, b := range nb[v] {
					if pos[a] > pos[b] {
						c++
					}
				}
			}
		}
		return c
	}
	transpose := func() {
		for improved, pass := true, 0; improved && pass < 8; pass++ {
			improved = false
			for k := range cur {
				for i := 0; i+1 < len(cur[k]); i++ {
					u, v := cur[k][i], cur[k][i+1]
					if pairCross(v, u) < pairCross(u, v) {
						cur[k][i], cur[k][i+1] = v, u
						pos[u], pos[v] = i+1, i
						improved = true
					}
				}
			}
		}
	}
	clone := func() [][]string {
		out := make([][]string, len(cur))
		for k := range cur {
			out[k] = slices.Clone(cur[k])
		}
		return out
	}
	transpose()
	best, bestC := clone(), total()
	for it := 0; it < 16 && bestC > 0; it++ {
		if it%2 == 0 {
			for k := 1; k < len(cur); k++ {
				sortBy(k, up)
			}
		} else {
			for k := len(cur) - 2; k >= 0; k-- {
				sortBy(k, down)
			}
		}
		transpose()
		if c := total(); c < bestC {
			best, bestC = clone(), c
		}
	}
	return best
}

// pathData is an SVG path through pts: straight through a layer, a curve
// across the gap between two layers.
func pathData(pts []point) string {
	var b strings.Builder
	fmt.Fprintf(&b, "M%d,%d", pts[0].x, pts[0].y)
	for i := 1; i < len(pts); i++ {
		a, c := pts[i-1], pts[i]
		if a.y == c.y {
			fmt.Fprintf(&b, " L%d,%d", c.x, c.y)
			continue
		}
		mx := (a.x + c.x) / 2
		fmt.Fprintf(&b, " C%d,%d %d,%d %d,%d", mx, a.y, mx, c.y, c.x, c.y)
	}
	return b.String()
}
