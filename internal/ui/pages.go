package ui

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/audit"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/gitserver"
	"github.com/sluice-ci/sluice/internal/mirror"
	"github.com/sluice-ci/sluice/internal/service"
)

// ---- repositories ----

type reposPage struct {
	Hosted bool
	Base   string
	Repos  []gitserver.Repo
	// Mirrors is each repository's mirrors with their state, by name.
	Mirrors map[string][]mirrorView
}

// mirrorView is a mirror and what happened to it.
type mirrorView struct {
	gitserver.Mirror
	Status mirror.Status
	Seen   bool // the runner has seen it (it has a status)
}

// The page follows every change; its list is read again on each.
func (reposPage) liveURL() string { return Prefix + "live" }

func (reposPage) navKey() string { return "repos" }

func (s *Server) reposPage(w http.ResponseWriter, r *http.Request, c *call) error {
	page := reposPage{Hosted: s.repos != nil, Base: baseURL(r)}
	if s.repos != nil {
		list, err := s.repos.List(r.Context())
		if err != nil {
			return err
		}
		page.Repos = list
		page.Mirrors = map[string][]mirrorView{}
		for _, repo := range list {
			for _, m := range repo.Mirrors {
				v := mirrorView{Mirror: m}
				if s.mirrors != nil {
					v.Status, v.Seen = s.mirrors.Status(repo.Name, m.Name)
				}
				page.Mirrors[repo.Name] = append(page.Mirrors[repo.Name], v)
			}
		}
	}
	s.render(w, r, c, "repos", "Repositories", page)
	return nil
}

// ---- build projects and functions ----

type projectsPage struct{ Projects []service.ProjectInfo }

// The page follows every change; its list is read again on each.
func (projectsPage) liveURL() string { return Prefix + "live" }

func (projectsPage) navKey() string { return "projects" }

func (s *Server) projectsPage(w http.ResponseWriter, r *http.Request, c *call) error {
	ps, err := s.svc.Projects(r.Context())
	if err != nil {
		return err
	}
	s.render(w, r, c, "projects", "Build projects", projectsPage{Projects: ps})
	return nil
}

type functionsPage struct{ Functions []service.FunctionInfo }

// The page follows every change; its list is read again on each.
func (functionsPage) liveURL() string { return Prefix + "live" }

func (functionsPage) navKey() string { return "functions" }

func (s *Server) functionsPage(w http.ResponseWriter, r *http.Request, c *call) error {
	fs, err := s.svc.Functions(r.Context())
	if err != nil {
		return err
	}
	s.render(w, r, c, "functions", "Functions", functionsPage{Functions: fs})
	return nil
}

// ---- deployments ----

// deploymentsShown bounds the deployments listed, newest first.
const deploymentsShown = 30

type deploymentsPage struct {
	Groups      []service.DeployGroupInfo
	Deployments []service.Deployment
}

func (deploymentsPage) liveURL() string { return Prefix + "live" }

func (deploymentsPage) navKey() string { return "deployments" }

func (s *Server) deploymentsPage(w http.ResponseWriter, r *http.Request, c *call) error {
	gs, err := s.svc.DeployGroups(r.Context(), "")
	if err != nil {
		return err
	}
	ds, err := s.svc.Deployments(r.Context(), "", "")
	if err != nil {
		return err
	}
	if len(ds) > deploymentsShown {
		ds = ds[:deploymentsShown]
	}
	s.render(w, r, c, "deployments", "Deployments", deploymentsPage{Groups: gs, Deployments: ds})
	return nil
}

// ---- events ----

const eventsShown = 100

type eventsPage struct {
	Pipeline, Type string
	Types          []string
	Events         []eventRow
	Older          int64 // the next page's bound; 0 when there is none
	Before         int64
}

func (eventsPage) navKey() string { return "events" }
func (p eventsPage) liveURL() string {
	if p.Before != 0 {
		return ""
	}
	if p.Pipeline != "" {
		return Prefix + "live?pipeline=" + urlQueryEscape(p.Pipeline)
	}
	return Prefix + "live"
}

type eventRow struct {
	service.Event
	Pipeline, ExecutionID, Stage, Action, State, Summary string
	Repository, Ref, Commit                              string
}

var eventTypes = []string{
	engine.PipelineEvent, engine.StageEvent, engine.ActionEvent,
	engine.ApprovalEvent, engine.GateEvent, engine.LockEvent, service.RepositoryEvent,
}

func (s *Server) eventsPage(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	page := eventsPage{Pipeline: strings.TrimSpace(q.Get("pipeline")), Type: q.Get("type"), Types: eventTypes}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return errorf(service.CodeInvalid, "before: %q is not an event sequence number", v)
		}
		page.Before = n
	}
	evs, older, err := s.newestEvents(r.Context(), service.EventFilter{Pipeline: page.Pipeline, Type: page.Type}, page.Before, eventsShown)
	if err != nil {
		return err
	}
	page.Older = older
	for _, ev := range evs {
		row := eventRow{Event: ev}
		switch d := ev.Detail.(type) {
		case service.EventDetail:
			row.Pipeline, row.ExecutionID, row.Stage, row.Action, row.State, row.Summary = d.Pipeline, d.ExecutionID, d.Stage, d.Action, d.State, d.Summary
		case service.RepositoryEventDetail:
			row.Repository, row.Ref, row.Commit, row.State = d.RepositoryName, d.ReferenceFullName, d.CommitID, d.Event
		}
		page.Events = append(page.Events, row)
	}
	s.render(w, r, c, "events", "Events", page)
	return nil
}

// eventWindow is how many sequence numbers one look back at the event log
// spans; maxWindows bounds the looks of one page, for filters that match
// little.
const (
	eventWindow = 500
	maxWindows  = 40
)

// newestEvents returns up to n events matching f with sequence numbers
// below before (0: the newest), newest first, and the bound of the next
// older page (0 when there is nothing older). The event log reads forwards
// only, so it is read backwards a window at a time.
func (s *Server) newestEvents(ctx context.Context, f service.EventFilter, before int64, n int) ([]service.Event, int64, error) {
	hi := before - 1
	if before == 0 {
		var err error
		if hi, err = s.latestSeq(ctx); err != nil {
			return nil, 0, err
		}
	}
	lowest, err := s.firstSeq(ctx)
	if err != nil || lowest == 0 {
		return nil, 0, err
	}
	var out []service.Event
	for i := 0; i < maxWindows && hi >= lowest && len(out) < n; i++ {
		lo := max(hi-eventWindow, lowest-1)
		f.AfterSeq, f.Limit = lo, eventWindow
		evs, err := s.svc.Events(ctx, f)
		if err != nil {
			return nil, 0, err
		}
		var win []service.Event
		for _, ev := range evs {
			if ev.Seq <= hi {
				win = append(win, ev)
			}
		}
		slices.Reverse(win)
		out = append(out, win...)
		hi = lo
	}
	var older int64
	if len(out) > n {
		out = out[:n]
	}
	if len(out) == n {
		older = out[n-1].Seq
	} else if hi >= lowest {
		older = hi + 1
	}
	return out, older, nil
}

// firstSeq is the sequence number of the oldest event kept, 0 when there is
// none.
func (s *Server) firstSeq(ctx context.Context) (int64, error) {
	evs, err := s.svc.Events(ctx, service.EventFilter{Limit: 1})
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	return evs[0].Seq, nil
}

// latestSeq is the sequence number of the newest event, 0 when there is
// none: one look at the end of the event log's index (every live page asks,
// before it reads what it shows).
func (s *Server) latestSeq(ctx context.Context) (int64, error) {
	evs, err := s.svc.Events(ctx, service.EventFilter{Limit: 1, Newest: true})
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	return evs[0].Seq, nil
}

// ---- the audit trail ----

type auditPage struct {
	Available                   bool
	Principal, Operation, Since string
	Denied                      bool
	Records                     []audit.Record
	Older                       int64
}

// The page follows every change; its list is read again on each.
func (auditPage) liveURL() string { return Prefix + "live" }

func (auditPage) navKey() string { return "audit" }

const auditShown = 100

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	page := auditPage{Available: s.audit != nil, Principal: strings.TrimSpace(q.Get("principal")),
		Operation: strings.TrimSpace(q.Get("operation")), Since: strings.TrimSpace(q.Get("since")), Denied: q.Get("denied") != ""}
	if s.audit != nil {
		f := audit.Filter{Principal: page.Principal, Operation: page.Operation, Denied: page.Denied, Limit: auditShown + 1}
		if page.Since != "" {
			if t, err := time.Parse(time.RFC3339, page.Since); err == nil {
				f.Since = t
			} else if age, err := audit.ParseAge(page.Since); err == nil {
				f.Since = time.Now().Add(-age)
			} else {
				return errorf(service.CodeInvalid, "since: %q is neither an RFC 3339 time nor an age such as 1h or 7d", page.Since)
			}
		}
		if v := q.Get("before"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return errorf(service.CodeInvalid, "before: %q is not a record id", v)
			}
			f.Before = n
		}
		recs, err := s.audit.Query(r.Context(), f)
		if err != nil {
			return err
		}
		if len(recs) > auditShown {
			recs = recs[:auditShown]
			page.Older = recs[len(recs)-1].ID
		}
		page.Records = recs
	}
	s.render(w, r, c, "audit", "Audit trail", page)
	return nil
}

func init() {
	funcs["params"] = func(p map[string]string) string {
		keys := make([]string, 0, len(p))
		for k := range p {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var b strings.Builder
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k + "=" + p[k])
		}
		return b.String()
	}
	funcs["envsummary"] = func(n int) string {
		if n == 1 {
			return "1 variable"
		}
		return strconv.Itoa(n) + " variables"
	}
}
