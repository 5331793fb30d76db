package wire

// Graph is GET /api/v1/graph?format=json: how pipelines depend on one another.
type Graph struct {
	Nodes []GraphNode `json:"nodes"`
	Edges []GraphEdge `json:"edges"`
}

// GraphNode is a pipeline (kind "pipeline"), a pipeline name known only at run
// time (kind "dynamic", named as written, #{...} included) or a lock (kind
// "lock", named "lock:NAME"). Missing marks a pipeline referenced but not
// declared; Status is a pipeline's latest execution status, "" if it never ran.
type GraphNode struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Status  string `json:"status"`
	Missing bool   `json:"missing"`
	// Waiting is what a pipeline's latest execution, in progress, waits for:
	// "waiting for lock deploy", "waiting for gate: infra", "waiting for approval".
	Waiting string `json:"waiting,omitempty"`
	// Holder and Queue are, for a lock, the execution holding it and those
	// queued for it, next first.
	Holder *ExecutionRef  `json:"holder,omitempty"`
	Queue  []ExecutionRef `json:"queue,omitempty"`
}

// GraphEdge points from what comes first to what follows: Kind "gate" (To
// waits on From), "trigger" (From's end starts To), "invoke" (From starts To
// and waits for it) or "lock" (pipeline From holds lock To). Detail says
// where it is declared: the action as STAGE/ACTION and its condition, the
// upstream states ("Succeeded,Failed"), or "pipeline" / "stage NAME" for a lock.
type GraphEdge struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
	// State is, for a lock edge, "holds" when an execution of From holds the
	// lock now, "queued" when one is queued for it (Position 1 is next), and
	// "" when From only declares it.
	State    string `json:"state,omitempty"`
	Position int    `json:"position,omitempty"`
}
