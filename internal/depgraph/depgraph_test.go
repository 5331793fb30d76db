package depgraph

import (
	"bytes"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// option changes a declaration built by decl.
type option func(*pipeline.Pipeline)

// decl builds a pipeline in code, so that tests can hold what validation
// would refuse (a pipeline triggering itself).
func decl(name string, opts ...option) *pipeline.Pipeline {
	p := &pipeline.Pipeline{Name: name, Stages: []pipeline.Stage{{Name: "Build", Actions: []pipeline.Action{
		{Name: "noop", ActionTypeID: pipeline.ActionTypeID{Provider: "Noop"}},
	}}}}
	for _, o := range opts {
		o(p)
	}
	p.SetDefaults()
	return p
}

func stage(p *pipeline.Pipeline, name string) *pipeline.Stage {
	for i := range p.Stages {
		if p.Stages[i].Name == name {
			return &p.Stages[i]
		}
	}
	p.Stages = append(p.Stages, pipeline.Stage{Name: name})
	return &p.Stages[len(p.Stages)-1]
}

func action(st, name, provider string, cfg map[string]string) option {
	return func(p *pipeline.Pipeline) {
		s := stage(p, st)
		s.Actions = append(s.Actions, pipeline.Action{Name: name, ActionTypeID: pipeline.ActionTypeID{Provider: provider}, Configuration: cfg})
	}
}

// gate adds a PipelineGate on upstream; kv are more configuration keys and values.
func gate(st, name, upstream string, kv ...string) option {
	cfg := map[string]string{"PipelineName": upstream}
	for i := 0; i+1 < len(kv); i += 2 {
		cfg[kv[i]] = kv[i+1]
	}
	return action(st, name, "PipelineGate", cfg)
}

func invoke(st, name, callee string) option {
	return action(st, name, "Pipeline", map[string]string{"PipelineName": callee})
}

func trigger(upstream string, on ...string) option {
	return func(p *pipeline.Pipeline) {
		p.Triggers = append(p.Triggers, pipeline.Trigger{ProviderType: pipeline.TriggerPipeline,
			Pipeline: &pipeline.PipelineTrigger{Name: upstream, On: on}})
	}
}

func lock(name string) option { return func(p *pipeline.Pipeline) { p.Lock = name } }

func stageLock(st, name string) option {
	return func(p *pipeline.Pipeline) { stage(p, st).Lock = name }
}

// edges writes a graph's edges one a line, as "from -kind-> to: detail".
func edges(g *Graph) []string {
	var out []string
	for _, e := range g.Edges {
		out = append(out, e.From+" -"+string(e.Kind)+"-> "+e.To+": "+e.Detail)
	}
	return out
}

// nodes writes a graph's nodes one a line, as "name kind" and "missing" when so.
func nodes(g *Graph) []string {
	var out []string
	for _, n := range g.Nodes {
		s := n.Name + " " + string(n.Kind)
		if n.Missing {
			s += " missing"
		}
		out = append(out, s)
	}
	return out
}

func TestBuild(t *testing.T) {
	for _, tc := range []struct {
		name  string
		decls []*pipeline.Pipeline
		nodes []string
		edges []string
	}{
		{"no dependencies", []*pipeline.Pipeline{decl("b"), decl("a")},
			[]string{"a pipeline", "b pipeline"}, nil},
		{"gate, with its condition's default", []*pipeline.Pipeline{
			decl("infra"),
			decl("k8s", gate("Deploy", "WaitForInfra", "infra", "OnUpstreamFailure", "WAIT")),
			decl("app", gate("Deploy", "Wait", "infra", "Condition", "Idle")),
		}, []string{"app pipeline", "infra pipeline", "k8s pipeline"}, []string{
			"infra -gate-> app: Deploy/Wait: Idle",
			"infra -gate-> k8s: Deploy/WaitForInfra: Succeeded, on failure WAIT",
		}},
		{"trigger states in their usual order, Succeeded by default", []*pipeline.Pipeline{
			decl("infra"),
			decl("k8s", trigger("infra", "Failed", "Succeeded")),
			decl("app", trigger("infra")),
		}, []string{"app pipeline", "infra pipeline", "k8s pipeline"}, []string{
			"infra -trigger-> app: Succeeded",
			"infra -trigger-> k8s: Succeeded,Failed",
		}},
		{"invoke from caller to callee", []*pipeline.Pipeline{
			decl("release", invoke("Ship", "RunDb", "db")), decl("db"),
		}, []string{"db pipeline", "release pipeline"}, []string{"release -invoke-> db: Ship/RunDb"}},
		{"three pipelines share a lock, at pipeline and stage level", []*pipeline.Pipeline{
			decl("k8s", stageLock("Deploy", "deploy")),
			decl("db", lock("deploy")),
			decl("web", stageLock("Release", "deploy"), stageLock("Build", "build")),
		}, []string{"db pipeline", "k8s pipeline", "web pipeline", "lock:build lock", "lock:deploy lock"}, []string{
			"db -lock-> lock:deploy: pipeline",
			"k8s -lock-> lock:deploy: stage Deploy",
			"web -lock-> lock:build: stage Build",
			"web -lock-> lock:deploy: stage Release",
		}},
		{"missing upstream, trigger and invoke target", []*pipeline.Pipeline{
			decl("k8s", gate("Deploy", "Wait", "infra"), trigger("network"), invoke("Deploy", "Run", "db")),
		}, []string{"db pipeline missing", "infra pipeline missing", "k8s pipeline", "network pipeline missing"}, []string{
			"infra -gate-> k8s: Deploy/Wait: Succeeded",
			"k8s -invoke-> db: Deploy/Run",
			"network -trigger-> k8s: Succeeded",
		}},
		{"dynamic names", []*pipeline.Pipeline{
			decl("k8s", gate("Deploy", "Wait", "#{variables.UPSTREAM}"), invoke("Deploy", "Run", "#{build.Target}")),
		}, []string{"k8s pipeline", "#{build.Target} dynamic", "#{variables.UPSTREAM} dynamic"}, []string{
			"#{variables.UPSTREAM} -gate-> k8s: Deploy/Wait: Succeeded",
			"k8s -invoke-> #{build.Target}: Deploy/Run",
		}},
		{"a custom action named Pipeline is no invoke, nor an empty PipelineName", []*pipeline.Pipeline{
			decl("a", func(p *pipeline.Pipeline) {
				p.Stages[0].Actions = append(p.Stages[0].Actions,
					pipeline.Action{Name: "c", ActionTypeID: pipeline.ActionTypeID{Provider: "Pipeline", Owner: pipeline.OwnerCustom},
						Configuration: map[string]string{"PipelineName": "b"}},
					pipeline.Action{Name: "e", ActionTypeID: pipeline.ActionTypeID{Provider: "Pipeline"}})
			}, func(p *pipeline.Pipeline) {
				p.Triggers = append(p.Triggers, pipeline.Trigger{ProviderType: pipeline.TriggerSchedule, Schedule: "rate(5 minutes)"})
			}),
		}, []string{"a pipeline"}, nil},
		{"a nil declaration is skipped", []*pipeline.Pipeline{nil, decl("a")}, []string{"a pipeline"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := Build(tc.decls)
			if got := nodes(g); !slices.Equal(got, tc.nodes) {
				t.Errorf("nodes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.nodes, "\n"))
			}
			if got := edges(g); !slices.Equal(got, tc.edges) {
				t.Errorf("edges:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.edges, "\n"))
			}
		})
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	decls := []*pipeline.Pipeline{
		decl("k8s", gate("Deploy", "Wait", "infra"), trigger("infra"), stageLock("Deploy", "deploy")),
		decl("db", lock("deploy"), invoke("Build", "Run", "k8s")),
		decl("infra", trigger("net")),
	}
	want := Build(decls)
	for i := range 10 {
		rev := slices.Clone(decls)
		if i%2 == 0 {
			slices.Reverse(rev)
		}
		if got := Build(rev); !reflect.DeepEqual(nodes(got), nodes(want)) || !reflect.DeepEqual(edges(got), edges(want)) {
			t.Fatalf("graph of reordered declarations differs:\n%v\n%v\nwant:\n%v\n%v", nodes(got), edges(got), nodes(want), edges(want))
		}
	}
}

func TestSetStatus(t *testing.T) {
	g := Build([]*pipeline.Pipeline{decl("a", lock("x"), trigger("gone"))})
	g.SetStatus(map[string]string{"a": "Failed", "lock:x": "Succeeded", "gone": "Succeeded"})
	var got []string
	for _, n := range g.Nodes {
		got = append(got, n.Name+"="+n.Status)
	}
	// A missing pipeline may have run before it was deleted: its status is kept.
	want := []string{"a=Failed", "gone=Succeeded", "lock:x="}
	if !slices.Equal(got, want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
}

func TestTriggerCycle(t *testing.T) {
	for _, tc := range []struct {
		name  string
		decls []*pipeline.Pipeline
		want  []string
		kinds string
		text  string
	}{
		{"none", []*pipeline.Pipeline{decl("a"), decl("b", trigger("a"))}, nil, "", ""},
		{"a trigger of itself", []*pipeline.Pipeline{decl("a", trigger("a", "Failed"))},
			[]string{"a", "a"}, "trigger", "a → a (a is started by a's Failed)"},
		{"an invoke of itself", []*pipeline.Pipeline{decl("a", invoke("Run", "Self", "a"))},
			[]string{"a", "a"}, "invoke", "a → a (a invokes a in Run/Self)"},
		{"two triggers", []*pipeline.Pipeline{decl("b", trigger("a")), decl("a", trigger("b"))},
			[]string{"a", "b", "a"}, "trigger", "a → b → a (b is started by a's Succeeded, a is started by b's Succeeded)"},
		{"two invokes", []*pipeline.Pipeline{decl("a", invoke("S", "CallB", "b")), decl("b", invoke("S", "CallA", "a"))},
			[]string{"a", "b", "a"}, "invoke", "a → b → a (a invokes b in S/CallB, b invokes a in S/CallA)"},
		{"three, trigger and invoke", []*pipeline.Pipeline{
			decl("a", invoke("S", "CallB", "b"), trigger("c")),
			decl("b"),
			decl("c", trigger("b", "Succeeded", "Failed")),
		}, []string{"a", "b", "c", "a"}, "trigger and invoke",
			"a → b → c → a (a invokes b in S/CallB, c is started by b's Succeeded or Failed, a is started by c's Succeeded)"},
		{"gates in a loop only wait", []*pipeline.Pipeline{
			decl("a", gate("S", "WaitB", "b")), decl("b", gate("S", "WaitA", "a")),
		}, nil, "", ""},
		{"gate and trigger in a loop", []*pipeline.Pipeline{
			decl("a", gate("S", "WaitB", "b")), decl("b", trigger("a")),
		}, nil, "", ""},
		{"a lock in common is no cycle", []*pipeline.Pipeline{decl("a", lock("l")), decl("b", lock("l"), trigger("a"))}, nil, "", ""},
		{"dynamic names are left out", []*pipeline.Pipeline{
			decl("a", invoke("S", "Call", "#{variables.NEXT}")), decl("b", trigger("a")),
		}, nil, "", ""},
		{"through a missing pipeline there is none", []*pipeline.Pipeline{decl("a", trigger("gone")), decl("b", invoke("S", "C", "gone"))}, nil, "", ""},
		{"through a pipeline not declared yet", []*pipeline.Pipeline{decl("b", trigger("c"), invoke("S", "CallC", "c"))},
			[]string{"b", "c", "b"}, "trigger and invoke", "b → c → b (b invokes c in S/CallC, b is started by c's Succeeded)"},
		{"the first pipeline on a cycle by name, beside an acyclic part", []*pipeline.Pipeline{
			decl("a"), decl("b", trigger("a")), decl("d", trigger("c")), decl("c", trigger("d")),
		}, []string{"c", "d", "c"}, "trigger", "c → d → c (d is started by c's Succeeded, c is started by d's Succeeded)"},
		{"the shortest cycle", []*pipeline.Pipeline{
			decl("a", trigger("c")), decl("b", trigger("a")), decl("c", trigger("b"), trigger("a")),
		}, []string{"a", "c", "a"}, "trigger", "a → c → a (c is started by a's Succeeded, a is started by c's Succeeded)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := TriggerCycle(tc.decls)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("TriggerCycle = %q, want %q", got, tc.want)
			}
			if tc.want == nil {
				return
			}
			c := CycleThrough(tc.decls, tc.want[0])
			if c == nil {
				t.Fatalf("CycleThrough(%s) = nil", tc.want[0])
			}
			if !slices.Equal(c.Path, tc.want) || c.Kinds() != tc.kinds || c.String() != tc.text {
				t.Errorf("CycleThrough(%s) = %q, %s, %s\nwant %q, %s, %s", tc.want[0], c.Path, c.Kinds(), c, tc.want, tc.kinds, tc.text)
			}
		})
	}
}

func TestCycleThrough(t *testing.T) {
	decls := []*pipeline.Pipeline{
		decl("a", trigger("c")),
		decl("b", trigger("a"), invoke("Ship", "CallC", "c")),
		decl("c"),
		decl("x", trigger("y")),
		decl("y", trigger("x")),
		decl("z", trigger("b")),
	}
	for _, tc := range []struct {
		name, field string
		path        []string
	}{
		{"a", "triggers[0].pipeline.name", []string{"a", "b", "c", "a"}},
		{"b", "stages[1].actions[0].configuration.PipelineName", []string{"b", "c", "a", "b"}},
		{"c", "name", []string{"c", "a", "b", "c"}},
		{"z", "", nil}, // downstream of a cycle, not on it
		{"gone", "", nil},
	} {
		c := CycleThrough(decls, tc.name)
		switch {
		case tc.path == nil && c != nil:
			t.Errorf("CycleThrough(%s) = %s, want none", tc.name, c)
		case tc.path == nil:
		case c == nil:
			t.Errorf("CycleThrough(%s) = nil, want %q", tc.name, tc.path)
		case !slices.Equal(c.Path, tc.path) || c.Field(tc.name) != tc.field:
			t.Errorf("CycleThrough(%s) = %q at %s, want %q at %s", tc.name, c.Path, c.Field(tc.name), tc.path, tc.field)
		}
	}
	// A pipeline with no dependencies of its own closes a cycle when others
	// invoke it and are started by its end.
	c := CycleThrough([]*pipeline.Pipeline{decl("a"), decl("b", invoke("S", "CallA", "a"), trigger("a"))}, "a")
	if c == nil || c.Field("a") != "name" || c.String() != "a → b → a (b is started by a's Succeeded, b invokes a in S/CallA)" {
		t.Errorf("CycleThrough(a) = %v, want a → b → a named at name", c)
	}
}

// small is the graph the golden outputs draw, from real pipeline files.
func small(t *testing.T) *Graph {
	t.Helper()
	var decls []*pipeline.Pipeline
	for _, src := range []string{
		`name: infra
stages:
  - name: Apply
    actions: [{name: tf, provider: Noop}]
`,
		`name: k8s
triggers:
  - providerType: Pipeline
    pipeline: {name: infra, on: [Succeeded]}
stages:
  - name: Deploy
    lock: deploy
    actions:
      - name: WaitForInfra
        provider: PipelineGate
        configuration: {PipelineName: infra, Condition: Succeeded, OnUpstreamFailure: WAIT}
      - name: Migrate
        provider: Pipeline
        runOrder: 2
        configuration: {PipelineName: db}
`,
		`name: db
lock: deploy
stages:
  - name: Migrate
    actions:
      - name: WaitForNet
        provider: PipelineGate
        configuration: {PipelineName: network, Condition: Idle}
`,
	} {
		p, err := pipeline.Parse("p.yml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		decls = append(decls, p)
	}
	g := Build(decls)
	g.SetStatus(map[string]string{"infra": "Succeeded", "k8s": "InProgress"})
	return g
}

const wantText = `db
  waits for network (gate Migrate/WaitForNet: Idle)
  uses lock deploy (pipeline)
  invoked by k8s (invoke Deploy/Migrate)
infra [Succeeded]
  waited for by k8s (gate Deploy/WaitForInfra: Succeeded, on failure WAIT)
  starts k8s (trigger on Succeeded)
k8s [InProgress]
  waits for infra (gate Deploy/WaitForInfra: Succeeded, on failure WAIT)
  started by infra (trigger on Succeeded)
  invokes db (invoke Deploy/Migrate)
  uses lock deploy (stage Deploy)
network (missing: referenced but not declared)
  waited for by db (gate Migrate/WaitForNet: Idle)
locks:
  deploy: used by db (pipeline), k8s (stage Deploy)
`

const wantDOT = `digraph sluice {
  rankdir=LR;
  node [fontname="Helvetica"];
  edge [fontname="Helvetica", fontsize=10];
  "db" [label="db", shape=ellipse];
  "infra" [label="infra\nSucceeded", shape=ellipse, style=filled, fillcolor="#c8e6c9"];
  "k8s" [label="k8s\nInProgress", shape=ellipse, style=filled, fillcolor="#bbdefb"];
  "network" [label="network\n(missing)", shape=ellipse, style=dashed];
  "lock:deploy" [label="lock deploy", shape=box];
  "db" -> "lock:deploy" [label="uses pipeline", style=dotted, arrowhead=none];
  "infra" -> "k8s" [label="gate Deploy/WaitForInfra: Succeeded, on failure WAIT", style=solid];
  "infra" -> "k8s" [label="trigger on Succeeded", style=dashed];
  "k8s" -> "db" [label="invoke Deploy/Migrate", style=bold];
  "k8s" -> "lock:deploy" [label="uses stage Deploy", style=dotted, arrowhead=none];
  "network" -> "db" [label="gate Migrate/WaitForNet: Idle", style=solid];
}
`

func TestText(t *testing.T) {
	var buf bytes.Buffer
	if err := small(t).Text(&buf); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != wantText {
		t.Errorf("text:\n%s\nwant:\n%s", got, wantText)
	}
}

func TestTextCorners(t *testing.T) {
	for _, tc := range []struct {
		name  string
		decls []*pipeline.Pipeline
		want  string
	}{
		{"empty", nil, "no pipelines\n"},
		{"alone", []*pipeline.Pipeline{decl("a")}, "a\n  no dependencies\n"},
		{"dynamic", []*pipeline.Pipeline{decl("a", gate("S", "W", "#{variables.UP}"), invoke("S", "Run", "#{variables.NEXT}"))},
			"a\n" +
				"  waits for #{variables.UP} (gate S/W: Succeeded) [dynamic]\n" +
				"  invokes #{variables.NEXT} (invoke S/Run) [dynamic]\n" +
				"note: a pipeline name holding #{...} is known only when its action runs; it is shown as written and left out of the cycle check\n"},
		{"several triggers", []*pipeline.Pipeline{decl("up"), decl("down", trigger("up", "Stopped", "Failed"))},
			"down\n  started by up (trigger on Failed or Stopped)\nup\n  starts down (trigger on Failed or Stopped)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Build(tc.decls).Text(&buf); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tc.want {
				t.Errorf("text:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestDOT(t *testing.T) {
	var buf bytes.Buffer
	if err := small(t).DOT(&buf); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != wantDOT {
		t.Errorf("dot:\n%s\nwant:\n%s", got, wantDOT)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"k8s":              `"k8s"`,
		`#{a."b"}`:         `"#{a.\"b\"}"`,
		`back\slash`:       `"back\\slash"`,
		"two\nlines\r":     `"two\nlines"`,
		"lock:deploy -> x": `"lock:deploy -> x"`,
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestDOTRenders gives the output to Graphviz, when it is installed.
func TestDOTRenders(t *testing.T) {
	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Skip("Graphviz's dot is not installed; the DOT output is checked against golden text only")
	}
	g := small(t)
	// Add what the small graph lacks: a dynamic name with quotes and a
	// backslash, and every status.
	more := Build([]*pipeline.Pipeline{decl("x", gate("S", "W", `#{variables."U\P"}`)), decl("y", trigger("x"))})
	g.Nodes = append(g.Nodes, more.Nodes...)
	g.Edges = append(g.Edges, more.Edges...)
	g.SetStatus(map[string]string{"x": "Failed", "y": "Stopped"})
	var buf bytes.Buffer
	if err := g.DOT(&buf); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dot, "-Tsvg")
	cmd.Stdin = &buf
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("dot -Tsvg: %v\n%s", err, stderr.String())
	}
	if !bytes.Contains(out, []byte("<svg")) || !bytes.Contains(out, []byte("lock deploy")) {
		t.Errorf("dot -Tsvg wrote no drawing of the graph:\n%s", out)
	}
}

// Declaring a lock is not holding it: with the locks' state, the graph says
// which pipeline holds the lock and which is queued for it, where it used to
// say every declaring pipeline "holds" it.
func TestLockHolderAndQueue(t *testing.T) {
	g := small(t)
	g.SetStatus(map[string]string{"infra": "Succeeded", "k8s": "InProgress", "db": "InProgress"})
	g.SetWaiting(map[string]string{"db": "waiting for lock deploy"})
	g.SetLocks(map[string]LockState{"deploy": {
		Holder: &LockUser{Pipeline: "k8s", ExecutionID: "e-k8s"},
		Queue:  []LockUser{{Pipeline: "db", ExecutionID: "e-db"}},
	}})
	var buf bytes.Buffer
	if err := g.Text(&buf); err != nil {
		t.Fatal(err)
	}
	want := `db [InProgress (waiting for lock deploy)]
  waits for network (gate Migrate/WaitForNet: Idle)
  queued for lock deploy (pipeline; position 1, held by k8s)
  invoked by k8s (invoke Deploy/Migrate)
infra [Succeeded]
  waited for by k8s (gate Deploy/WaitForInfra: Succeeded, on failure WAIT)
  starts k8s (trigger on Succeeded)
k8s [InProgress]
  waits for infra (gate Deploy/WaitForInfra: Succeeded, on failure WAIT)
  started by infra (trigger on Succeeded)
  invokes db (invoke Deploy/Migrate)
  holds lock deploy (stage Deploy; execution e-k8s)
network (missing: referenced but not declared)
  waited for by db (gate Migrate/WaitForNet: Idle)
locks:
  deploy: used by db (pipeline), k8s (stage Deploy); held by k8s (execution e-k8s); queued: db (execution e-db)
`
	if got := buf.String(); got != want {
		t.Errorf("text:\n%s\nwant:\n%s", got, want)
	}
	buf.Reset()
	if err := g.DOT(&buf); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		`"db" [label="db\nInProgress\nwaiting for lock deploy", shape=ellipse, style=filled, fillcolor="#bbdefb"];`,
		`"db" -> "lock:deploy" [label="queued #1 pipeline", style=dotted, arrowhead=none];`,
		`"k8s" -> "lock:deploy" [label="holds stage Deploy", style=solid, arrowhead=none];`,
	} {
		if !strings.Contains(buf.String(), line) {
			t.Errorf("DOT has no line %s\n%s", line, buf.String())
		}
	}
}
