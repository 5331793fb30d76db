// Package depgraph draws how sluice pipelines depend on one another: pipeline
// gates (a pipeline waits on another), pipeline triggers (a pipeline is started
// when another ends), invoke actions (a pipeline starts another and follows it)
// and locks (pipelines naming the same lock exclude each other). It reads
// declarations only, and imports nothing of sluice's but pipeline.
//
// Edges point from what comes first, or is waited on, to what follows: for
// "k8s gates on infra" and for "infra's end starts k8s" the edge is
// infra → k8s; an invoke goes from the caller to the pipeline it calls; a lock
// edge goes from each pipeline holding the lock to the lock's own node.
package depgraph

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// NodeKind says what a node stands for.
type NodeKind string

const (
	// NodePipeline is a pipeline, declared or only referenced (Missing).
	NodePipeline NodeKind = "pipeline"
	// NodeDynamic is a PipelineName holding variables (#{...}): which
	// pipeline it names is known only when the action runs. Its node's name
	// is the configuration value as written.
	NodeDynamic NodeKind = "dynamic"
	// NodeLock is a lock; its node's name is "lock:" and the lock's name.
	NodeLock NodeKind = "lock"
)

// EdgeKind says how two nodes depend on each other.
type EdgeKind string

const (
	EdgeGate    EdgeKind = "gate"    // To has a PipelineGate action waiting on From
	EdgeTrigger EdgeKind = "trigger" // From's execution ending starts To
	EdgeInvoke  EdgeKind = "invoke"  // From has a Pipeline invoke action starting To
	EdgeLock    EdgeKind = "lock"    // pipeline From declares lock To (uses it)
)

// Node is a pipeline, a dynamic pipeline name or a lock. Name is unique
// within a graph: pipeline names cannot hold ':' or '#', so "lock:NAME" and
// "#{...}" never collide with them.
type Node struct {
	Name string
	Kind NodeKind
	// Missing marks a pipeline that declarations reference but none declares.
	Missing bool
	// Status is the pipeline's latest execution status, "" when unknown or
	// when it never ran; see SetStatus.
	Status string
	// Waiting says what the pipeline's latest execution, in progress, waits
	// for ("waiting for lock deploy"); see SetWaiting.
	Waiting string
	// Holder and Queue are, for a lock, the execution holding it and those
	// queued for it, first first; see SetLocks.
	Holder *LockUser
	Queue  []LockUser
}

// LockUser is an execution holding a lock or queued for it.
type LockUser struct {
	Pipeline    string
	ExecutionID string
}

// LockState is who holds a lock and who is queued for it.
type LockState struct {
	Holder *LockUser
	Queue  []LockUser
}

// Label is what a reader calls the node: a lock's name without its prefix.
func (n Node) Label() string {
	if n.Kind == NodeLock {
		return strings.TrimPrefix(n.Name, lockPrefix)
	}
	return n.Name
}

// Edge is one dependency. Detail says where it comes from, for a reader:
//
//	gate:    "Deploy/WaitForInfra: Succeeded, on failure WAIT" (the gate
//	         action, its Condition and, when set, its OnUpstreamFailure)
//	trigger: "Succeeded,Failed" (the upstream states that start To)
//	invoke:  "Deploy/RunDb" (the invoke action)
//	lock:    "pipeline" or "stage Deploy" (what holds the lock)
type Edge struct {
	From   string
	To     string
	Kind   EdgeKind
	Detail string

	// field is where the edge is declared, in the declaration of owner:
	// "triggers[0].pipeline.name", "stages[1].actions[0].configuration.PipelineName".
	owner, field string
	// states are a trigger's upstream states, for describing cycles.
	states []string
}

// Graph is the dependency graph of a set of declarations. Nodes and Edges are
// sorted: nodes by kind (pipelines, dynamic names, locks) then name, edges by
// From, To, Kind and Detail.
type Graph struct {
	Nodes []Node
	Edges []Edge
}

const lockPrefix = "lock:"

// LockNode is the name of lock's node.
func LockNode(lock string) string { return lockPrefix + lock }

// Build draws the graph of decls. Pipelines that decls reference but do not
// declare become Missing nodes; names holding #{...} become dynamic nodes.
// A nil entry of decls is skipped.
func Build(decls []*pipeline.Pipeline) *Graph {
	g := &Graph{}
	nodes := map[string]*Node{}
	add := func(name string, kind NodeKind) {
		if _, ok := nodes[name]; !ok {
			nodes[name] = &Node{Name: name, Kind: kind}
		}
	}
	declared := map[string]bool{}
	for _, p := range decls {
		if p == nil {
			continue
		}
		declared[p.Name] = true
		add(p.Name, NodePipeline)
	}
	for _, p := range decls {
		if p == nil {
			continue
		}
		for _, e := range edgesOf(p) {
			for _, end := range []string{e.From, e.To} {
				switch {
				case e.Kind == EdgeLock && end == e.To:
					add(end, NodeLock)
				case isDynamic(end):
					add(end, NodeDynamic)
				default:
					add(end, NodePipeline)
				}
			}
			g.Edges = append(g.Edges, e)
		}
	}
	for _, n := range nodes {
		n.Missing = n.Kind == NodePipeline && !declared[n.Name]
		g.Nodes = append(g.Nodes, *n)
	}
	slices.SortFunc(g.Nodes, func(a, b Node) int {
		return cmp.Or(cmp.Compare(kindRank[a.Kind], kindRank[b.Kind]), cmp.Compare(a.Name, b.Name))
	})
	slices.SortFunc(g.Edges, compareEdges)
	g.Edges = slices.CompactFunc(g.Edges, func(a, b Edge) bool { return compareEdges(a, b) == 0 })
	return g
}

var kindRank = map[NodeKind]int{NodePipeline: 0, NodeDynamic: 1, NodeLock: 2}

var edgeRank = map[EdgeKind]int{EdgeGate: 0, EdgeTrigger: 1, EdgeInvoke: 2, EdgeLock: 3}

func compareEdges(a, b Edge) int {
	return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To),
		cmp.Compare(edgeRank[a.Kind], edgeRank[b.Kind]), cmp.Compare(a.Detail, b.Detail))
}

// SetStatus records each pipeline's latest execution status (by pipeline
// name) on its node; names not in status keep no status.
func (g *Graph) SetStatus(status map[string]string) {
	for i := range g.Nodes {
		if g.Nodes[i].Kind == NodePipeline {
			g.Nodes[i].Status = status[g.Nodes[i].Name]
		}
	}
}

// SetWaiting records what each pipeline's latest execution waits for (by
// pipeline name), such as "waiting for lock deploy".
func (g *Graph) SetWaiting(waiting map[string]string) {
	for i := range g.Nodes {
		if g.Nodes[i].Kind == NodePipeline {
			g.Nodes[i].Waiting = waiting[g.Nodes[i].Name]
		}
	}
}

// SetLocks records who holds each lock (by lock name) and who is queued for
// it, so that the graph tells a pipeline that holds a lock from one that only
// declares it, or is queued for it.
func (g *Graph) SetLocks(locks map[string]LockState) {
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if n.Kind != NodeLock {
			continue
		}
		st := locks[n.Label()]
		n.Holder, n.Queue = st.Holder, st.Queue
	}
}

// LockUse is how pipeline uses lock now: "holds" (an execution of it holds
// the lock), "queued" (one is queued for it, at position, 1 being next, with
// heldBy the pipeline holding it) or "" (it only declares the lock).
func (g *Graph) LockUse(pipeline, lock string) (use string, position int, heldBy string) {
	n, ok := g.Node(lock)
	if !ok || n.Kind != NodeLock {
		return "", 0, ""
	}
	if n.Holder != nil {
		heldBy = n.Holder.Pipeline
		if n.Holder.Pipeline == pipeline {
			return "holds", 0, heldBy
		}
	}
	for i, q := range n.Queue {
		if q.Pipeline == pipeline {
			return "queued", i + 1, heldBy
		}
	}
	return "", 0, heldBy
}

// Node returns the node named name.
func (g *Graph) Node(name string) (Node, bool) {
	for _, n := range g.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}

func isDynamic(name string) bool { return strings.Contains(name, "#{") }

// Provider names of the actions that make edges.
const (
	providerGate   = pipeline.ProviderPipelineGate
	providerInvoke = pipeline.ProviderPipeline
)

// isAction reports whether a is an action of sluice's provider name; a custom
// action that happens to share the name is not.
func isAction(a *pipeline.Action, provider string) bool {
	id := a.ActionTypeID
	return id.Provider == provider && (id.Owner == "" || id.Owner == pipeline.OwnerAWS)
}

// edgesOf lists the edges p's declaration makes: its gates and triggers
// (into p), its invokes (out of p) and its locks.
func edgesOf(p *pipeline.Pipeline) []Edge {
	var out []Edge
	for i, t := range p.Triggers {
		if t.ProviderType != pipeline.TriggerPipeline || t.Pipeline == nil || t.Pipeline.Name == "" {
			continue
		}
		states := triggerStates(t.Pipeline.On)
		out = append(out, Edge{
			From: t.Pipeline.Name, To: p.Name, Kind: EdgeTrigger, Detail: strings.Join(states, ","),
			owner: p.Name, field: fmt.Sprintf("triggers[%d].pipeline.name", i), states: states,
		})
	}
	if p.Lock != "" {
		out = append(out, Edge{From: p.Name, To: LockNode(p.Lock), Kind: EdgeLock, Detail: "pipeline",
			owner: p.Name, field: "lock"})
	}
	for si := range p.Stages {
		st := &p.Stages[si]
		if st.Lock != "" {
			out = append(out, Edge{From: p.Name, To: LockNode(st.Lock), Kind: EdgeLock, Detail: "stage " + st.Name,
				owner: p.Name, field: fmt.Sprintf("stages[%d].lock", si)})
		}
		for ai := range st.Actions {
			a := &st.Actions[ai]
			target := a.Configuration[pipeline.ConfigPipelineName]
			if target == "" {
				continue
			}
			field := fmt.Sprintf("stages[%d].actions[%d].configuration.%s", si, ai, pipeline.ConfigPipelineName)
			where := st.Name + "/" + a.Name
			switch {
			case isAction(a, providerGate):
				out = append(out, Edge{From: target, To: p.Name, Kind: EdgeGate, Detail: gateDetail(where, a.Configuration),
					owner: p.Name, field: field})
			case isAction(a, providerInvoke):
				out = append(out, Edge{From: p.Name, To: target, Kind: EdgeInvoke, Detail: where,
					owner: p.Name, field: field})
			}
		}
	}
	return out
}

// triggerStates returns the upstream states of a pipeline trigger in
// pipeline.UpstreamStates's order, Succeeded when none is given.
func triggerStates(on []string) []string {
	if len(on) == 0 {
		return []string{pipeline.UpstreamStates[0]}
	}
	var out []string
	for _, s := range pipeline.UpstreamStates {
		if slices.Contains(on, s) {
			out = append(out, s)
		}
	}
	// States validation would refuse are kept, after the known ones, so
	// that the graph shows what was declared.
	for _, s := range on {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func gateDetail(where string, cfg map[string]string) string {
	cond := cfg["Condition"]
	if cond == "" {
		cond = pipeline.DefaultGateCondition
	}
	d := where + ": " + cond
	if f := cfg["OnUpstreamFailure"]; f != "" {
		d += ", on failure " + f
	}
	return d
}
