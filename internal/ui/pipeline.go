package ui

import (
	"context"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
)

// ---- the list of pipelines ----

type pipelinesPage struct {
	Query     string
	Pipelines []pipelineRow
	// Rows is Pipelines drawn as the table's rows (pipelineRows).
	Rows template.HTML
	// After is the name the page starts after ("" on the first page); Next,
	// when more pipelines follow, the After of the next page.
	After, Next string
	// Isolation says how actions' code is isolated; Sandboxed whether it is.
	Isolation string
	Sandboxed bool
}

func (pipelinesPage) navKey() string  { return "pipelines" }
func (pipelinesPage) liveURL() string { return Prefix + "live" }

type pipelineRow struct {
	Name, Mode string
	Version    int
	Stages     int
	Latest     *engine.Execution
	Updated    time.Time
	// Wait is what the latest execution waits for, when it is in progress.
	Wait waitInfo
}

// pipelinesPerPage is how many pipelines the list shows at once: the page
// is read through the store's name index (as ListPipelines' pages are), so
// its cost does not grow with the number of pipelines.
const pipelinesPerPage = 100

func (s *Server) pipelinesPage(w http.ResponseWriter, r *http.Request, c *call) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	page := pipelinesPage{Query: q, After: r.URL.Query().Get("after")}
	page.Isolation, page.Sandboxed = s.svc.Isolation()
	ps, next, err := s.pipelinesMatching(r.Context(), strings.ToLower(q), page.After, pipelinesPerPage)
	if err != nil {
		return err
	}
	page.Next = next
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	latest, err := s.svc.LatestExecutions(r.Context(), names)
	if err != nil {
		return err
	}
	var locks []service.LockState
	for _, e := range latest {
		if e != nil && e.Status == engine.ExecutionInProgress {
			// Only an execution in progress waits; most pages have none.
			if locks, err = s.svc.Locks(r.Context()); err != nil {
				return err
			}
			break
		}
	}
	for i, p := range ps {
		row := pipelineRow{Name: names[i], Version: p.Version, Mode: string(p.ExecutionMode), Stages: p.Stages, Updated: p.Updated}
		if row.Mode == "" {
			row.Mode = string(pipeline.Superseded)
		}
		if latest[i] != nil {
			row.Latest = latest[i]
			row.Wait = waitOf(row.Latest, locks)
		}
		page.Pipelines = append(page.Pipelines, row)
	}
	page.Rows = pipelineRows(page.Pipelines, c.perm)
	s.render(w, r, c, "pipelines", "Pipelines", page)
	return nil
}

// pipelinesMatching returns, in name order, at most limit pipelines named
// after after whose names contain q (lower case; "" matches all), and the
// after of the next page ("" when none follows). Without q it is one page of
// the store's; a search reads the pipelines page by page until it has
// enough.
func (s *Server) pipelinesMatching(ctx context.Context, q, after string, limit int) ([]service.PipelineSummary, string, error) {
	if q == "" {
		return s.svc.PipelinePage(ctx, after, limit)
	}
	var out []service.PipelineSummary
	for {
		ps, next, err := s.svc.PipelinePage(ctx, after, 500)
		if err != nil {
			return nil, "", err
		}
		for _, p := range ps {
			if !strings.Contains(strings.ToLower(p.Name), q) {
				continue
			}
			if len(out) == limit {
				return out, out[limit-1].Name, nil
			}
			out = append(out, p)
		}
		if next == "" {
			return out, "", nil
		}
		after = next
	}
}

// ---- a pipeline, drawn as its stages ----

// pipelinePage is a pipeline as CodePipeline's console draws it: each stage
// with the latest execution that entered it, the transitions between
// stages, and the executions running or waiting.
type pipelinePage struct {
	Name      string
	Version   int
	Mode      string
	Lock      string
	Variables []pipeline.Variable
	Stages    []stageView
	Running   []*engine.Execution // executions not ended, newest first
	Recent    []*engine.Execution // the latest few, newest first
	Latest    *engine.Execution
	Trigger   *service.TriggerNote
	// Execution is set on an execution's own page: the stages as it ran them.
	Execution *engine.Execution
	Upstream  *engine.Upstream
	// Waits says what each running execution waits for, by id.
	Waits map[string]waitInfo
	// LockHolder says who holds the pipeline's lock now; LockNotes, on an
	// execution's page, whether it holds its locks or is queued for them.
	LockHolder string
	LockNotes  []lockNote
}

func (p pipelinePage) navKey() string  { return "pipelines" }
func (p pipelinePage) liveURL() string { return Prefix + "live?pipeline=" + urlQueryEscape(p.Name) }

// stageView is one stage column.
type stageView struct {
	Name        string
	Status      string // of the stage in ExecutionID ("" when no execution entered it)
	ExecutionID string
	Attempt     int
	Lock        string
	// Groups are the actions by runOrder: each group runs after the one before.
	Groups [][]actionView
	// Transition is the stage's inbound transition; nil for the first stage
	// and on an execution's page.
	Transition *service.Transition
	Waiting    []*engine.Execution
	// CanRetry: the stage failed or stopped in the latest execution to enter
	// it, which ended so.
	CanRetry bool
	First    bool
	// Conditions are the latest evaluations of the stage's conditions, in
	// the order they run (beforeEntry, onSuccess, onFailure).
	Conditions []conditionView
}

// conditionView is one evaluation of a stage's conditions, with its rules.
type conditionView struct {
	Kind string
	*engine.ConditionState
	Rules []actionView
}

// conditionsOf returns the evaluations of stage es of execution e.
func conditionsOf(name string, e *engine.Execution, es *engine.Stage) []conditionView {
	var out []conditionView
	for _, c := range []*engine.ConditionState{es.Entry, es.Success, es.Failure} {
		if c == nil {
			continue
		}
		cv := conditionView{Kind: c.Kind, ConditionState: c}
		for _, r := range c.Rules {
			cv.Rules = append(cv.Rules, newActionView(name, e, es.Name, r))
		}
		out = append(out, cv)
	}
	return out
}

// actionView is one action card.
type actionView struct {
	Pipeline, ExecutionID, Stage string
	engine.Action
	Name, Provider, Category string
	// Kind picks the card: approval, gate, invoke, source or plain.
	Kind        string
	Token       string // a waiting approval's token
	CommitID    string // a source action's revision
	CommitMsg   string
	Config      map[string]string
	HasLog      bool
	ChildPath   string // an invoke's child execution page
	ExecRunning bool
}

func (a actionView) End() time.Time {
	if a.Status == engine.ActionInProgress || a.Status == engine.ActionNotStarted {
		return time.Time{}
	}
	return a.LastUpdate
}

func newActionView(name string, e *engine.Execution, stage string, a engine.Action) actionView {
	v := actionView{Pipeline: name, Stage: stage, Action: a, Name: a.Decl.Name, Provider: a.Decl.ActionTypeID.Provider,
		Category: a.Decl.ActionTypeID.Category, Config: a.Decl.Configuration, Kind: "plain"}
	if e != nil {
		v.ExecutionID = e.ID
		v.ExecRunning = !e.Status.Terminal()
		// The values this execution gives the configuration's #{…}
		// references, as its job got them.
		v.Config = make(map[string]string, len(a.Decl.Configuration))
		for k, val := range a.Decl.Configuration {
			v.Config[k] = engine.ResolveNow(e, val)
		}
	}
	switch {
	case v.Provider == pipeline.ProviderManual:
		v.Kind = "approval"
		if a.Status == engine.ActionInProgress {
			v.Token = a.JobID
		}
	case v.Provider == pipeline.ProviderPipelineGate:
		v.Kind = "gate"
	case v.Provider == pipeline.ProviderPipeline && v.Category == pipeline.CategoryInvoke:
		v.Kind = "invoke"
		if child := v.Config["PipelineName"]; a.ExternalID != "" && child != "" && !strings.Contains(child, "#{") {
			v.ChildPath = urlPath(Prefix+"pipelines", child, "executions", a.ExternalID)
		}
	case v.Category == pipeline.CategorySource:
		v.Kind = "source"
		v.CommitID = a.OutputVariables["CommitId"]
		v.CommitMsg = a.OutputVariables["CommitMessage"]
	}
	// What the server holds itself (approvals, gates, invokes, self-updates)
	// writes no log.
	v.HasLog = a.JobID != "" && !pipeline.IsHeld(v.Provider)
	return v
}

// groupActions splits a stage's actions by runOrder.
func groupActions(actions []actionView) [][]actionView {
	sorted := slices.Clone(actions)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Decl.RunOrder < sorted[j].Decl.RunOrder })
	var out [][]actionView
	for i, a := range sorted {
		if i == 0 || a.Decl.RunOrder != sorted[i-1].Decl.RunOrder {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], a)
	}
	return out
}

// pipelineState gathers a pipeline page from the service's read model of
// the pipeline's state (the one GetPipelineState shows), adding what the
// page says of waits, locks and the last trigger.
func (s *Server) pipelineState(ctx context.Context, name string, canLocks bool) (pipelinePage, error) {
	st, err := s.svc.PipelineState(ctx, name)
	if err != nil {
		return pipelinePage{}, err
	}
	d := st.Declaration
	page := pipelinePage{Name: name, Version: st.Version, Mode: string(d.ExecutionMode), Lock: d.Lock, Variables: d.Variables,
		Recent: st.Recent, Running: st.Running}
	if page.Mode == "" {
		page.Mode = string(pipeline.Superseded)
	}
	if len(page.Recent) > 0 {
		page.Latest = page.Recent[0]
	}
	if err := s.noteWaits(ctx, &page, canLocks); err != nil {
		return pipelinePage{}, err
	}
	if note, err := s.svc.LastTrigger(ctx, name); err == nil {
		page.Trigger = note
	}
	for i, ss := range st.Stages {
		sv := stageView{Name: ss.Name, Lock: ss.Declared.Lock, Waiting: ss.Waiting, First: i == 0}
		if i > 0 {
			t := ss.Transition
			sv.Transition = &t
		}
		var actions []actionView
		if e := ss.Latest; e != nil {
			es := e.Stages[ss.Index]
			sv.Status, sv.ExecutionID, sv.Attempt = string(es.Status), e.ID, es.Attempt
			sv.CanRetry = ss.Retryable()
			sv.Conditions = conditionsOf(name, e, &e.Stages[ss.Index])
			for _, a := range es.Actions {
				actions = append(actions, newActionView(name, e, ss.Name, a))
			}
		} else {
			for _, a := range ss.Declared.Actions {
				actions = append(actions, newActionView(name, nil, ss.Name, engine.Action{Decl: a, Status: engine.ActionNotStarted}))
			}
		}
		sv.Groups = groupActions(actions)
		page.Stages = append(page.Stages, sv)
	}
	return page, nil
}

func (s *Server) pipelinePage(w http.ResponseWriter, r *http.Request, c *call) error {
	page, err := s.pipelineState(r.Context(), r.PathValue("name"), c.perm.Can(actListLocks, "*"))
	if err != nil {
		return err
	}
	s.render(w, r, c, "pipeline", page.Name, page)
	return nil
}

// executionPage draws the pipeline as one execution ran it.
func (s *Server) executionPage(w http.ResponseWriter, r *http.Request, c *call) error {
	name, id := r.PathValue("name"), r.PathValue("id")
	e, err := s.svc.Execution(r.Context(), name, id)
	if err != nil {
		return err
	}
	page := pipelinePage{Name: name, Version: e.Version, Execution: e, Upstream: e.Upstream, Lock: e.Lock}
	for i, es := range e.Stages {
		sv := stageView{Name: es.Name, Status: string(es.Status), ExecutionID: e.ID, Attempt: es.Attempt, Lock: es.Lock, First: i == 0}
		if e.Waiting && e.Current == i && !e.Status.Terminal() {
			sv.Waiting = []*engine.Execution{e}
		}
		sv.CanRetry = service.StageRetryable(e, i)
		sv.Conditions = conditionsOf(name, e, &e.Stages[i])
		var actions []actionView
		for _, a := range es.Actions {
			actions = append(actions, newActionView(name, e, es.Name, a))
		}
		sv.Groups = groupActions(actions)
		page.Stages = append(page.Stages, sv)
	}
	if !e.Status.Terminal() {
		page.Running = []*engine.Execution{e}
	}
	if err := s.noteWaits(r.Context(), &page, c.perm.Can(actListLocks, "*")); err != nil {
		return err
	}
	s.render(w, r, c, "execution", name+" · execution "+short(e.ID), page)
	return nil
}

// noteWaits fills in what the page's running executions wait for and, for a
// reader allowed to list locks, who holds the pipeline's lock. (What an
// execution of this pipeline waits for names the lock's holder, as the
// execution's own waitingFor does.)
func (s *Server) noteWaits(ctx context.Context, page *pipelinePage, canLocks bool) error {
	locks, err := s.svc.Locks(ctx)
	if err != nil {
		return err
	}
	page.Waits = map[string]waitInfo{}
	for _, e := range page.Running {
		if w := waitOf(e, locks); w.Kind != "" {
			page.Waits[e.ID] = w
		}
	}
	if page.Lock != "" && canLocks {
		page.LockHolder = lockHolderOf(page.Lock, locks)
	}
	if page.Execution != nil {
		page.LockNotes = lockNotes(page.Execution, locks)
	}
	return nil
}

// ---- execution history ----

const historyPageSize = 50

type historyPage struct {
	Name       string
	Executions []*engine.Execution
	Before     int64 // this page's bound (0: the newest)
	Older      int64 // the next page's bound, 0 when there is none
}

func (h historyPage) navKey() string { return "pipelines" }
func (h historyPage) liveURL() string {
	if h.Before != 0 {
		return "" // an older page does not change
	}
	return Prefix + "live?pipeline=" + urlQueryEscape(h.Name)
}

func (s *Server) historyPage(w http.ResponseWriter, r *http.Request, c *call) error {
	name := r.PathValue("name")
	var before int64
	if v := r.URL.Query().Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return errorf(service.CodeInvalid, "before: %q is not an execution sequence number", v)
		}
		before = n
	}
	es, err := s.svc.Executions(r.Context(), name, before, historyPageSize+1)
	if err != nil {
		return err
	}
	page := historyPage{Name: name, Before: before}
	if len(es) > historyPageSize {
		es = es[:historyPageSize]
		page.Older = es[len(es)-1].Seq
	}
	page.Executions = es
	s.render(w, r, c, "history", name+" · history", page)
	return nil
}

// executionEnd is when an execution ended, zero while it runs.
func executionEnd(e *engine.Execution) time.Time {
	if e.Status.Terminal() {
		return e.LastUpdate
	}
	return time.Time{}
}

func init() {
	funcs["ended"] = executionEnd
	funcs["running"] = func(e *engine.Execution) bool { return !e.Status.Terminal() }
}
