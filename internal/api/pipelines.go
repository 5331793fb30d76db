package api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/wire"
)

const maxPipelineFile = 4 << 20

// resDeclaredPipeline is pipeline/NAME of the pipeline a PutPipeline body
// declares.
var resDeclaredPipeline = bodyResource("pipeline", maxPipelineFile, func(r *http.Request, data []byte) (string, error) {
	decl, err := pipeline.ParseWith(fileName(r, "pipeline"), data, pipeline.RequireRunnable)
	if err != nil {
		return "", service.Errorf(service.CodeInvalid, "%s", err.Error())
	}
	return decl.Name, nil
})

func (s *Server) applyPipeline(w http.ResponseWriter, r *http.Request) error {
	filename := r.URL.Query().Get("filename")
	if filename == "" {
		filename = "pipeline"
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxPipelineFile+1))
	if err != nil {
		return service.Errorf(service.CodeInvalid, "read request body: %v", err)
	}
	if len(data) > maxPipelineFile {
		return service.Errorf(service.CodeInvalid, "%s: larger than %d bytes", filename, maxPipelineFile)
	}
	decl, err := pipeline.ParseWith(filename, data, pipeline.RequireRunnable)
	if err != nil {
		return service.Errorf(service.CodeInvalid, "%s", err.Error())
	}
	// The pipeline's jobs get the secrets its role allows: applying it hands
	// that role on, which only a caller holding all of it may.
	if decl.Role, err = s.svc.ResolveRole(r.Context(), decl.Role); err != nil {
		return err
	}
	p := caller(r)
	if err := s.svc.CheckPassRole(r.Context(), p.Policy, p.Name, "pipeline "+decl.Name, decl.Role); err != nil {
		return err
	}
	if r.URL.Query().Get("dryRun") == "true" {
		return writeJSON(w, http.StatusOK, wire.ApplyResult{Name: decl.Name})
	}
	res, err := s.svc.ApplyPipeline(r.Context(), decl)
	if err != nil {
		return onLine(filename, data, err)
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, wire.ApplyResult(res))
}

// onLine puts an error the service found about a field of the declaration
// (a cycle of triggers, say) on that field's line of the file, as parse
// errors are: "pipe.yml:12: triggers[0].pipeline.name: ...".
func onLine(filename string, data []byte, err error) error {
	var se *service.Error
	if !errors.As(err, &se) || se.Field == "" {
		return err
	}
	line, written := pipeline.Locate(filename, data, se.Field)
	if line == 0 {
		return err
	}
	msg := se.Msg
	if rest, ok := strings.CutPrefix(msg, se.Field+": "); ok {
		msg = written + ": " + rest
	}
	return &service.Error{Code: se.Code, Msg: fmt.Sprintf("%s:%d: %s", filename, line, msg), Field: se.Field}
}

// maxPipelinesPage is the largest maxResults ListPipelines takes, as
// CodePipeline's.
const maxPipelinesPage = 1000

// listPipelines lists pipelines in name order. With maxResults (1–1000) or
// nextToken it returns one page and, when more follow, the nextToken that
// reads the next one (CodePipeline's paging); with neither, every pipeline.
func (s *Server) listPipelines(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var ps []service.PipelineSummary
	var next string
	var err error
	if q.Has("maxResults") || q.Has("nextToken") {
		limit := 100
		if v := q.Get("maxResults"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxPipelinesPage {
				return service.Errorf(service.CodeInvalid, "maxResults: %q is not a number from 1 to %d", v, maxPipelinesPage)
			}
			limit = n
		}
		after, ok := pipelinesToken(q.Get("nextToken"))
		if !ok {
			return service.Errorf(service.CodeInvalid, "nextToken: not a token a ListPipelines response gave")
		}
		if ps, next, err = s.svc.PipelinePage(r.Context(), after, limit); err != nil {
			return err
		}
	} else if ps, err = s.svc.PipelineSummaries(r.Context()); err != nil {
		return err
	}
	out := struct {
		Pipelines []wire.PipelineSummary `json:"pipelines"`
		NextToken string                 `json:"nextToken,omitempty"`
	}{Pipelines: []wire.PipelineSummary{}}
	if next != "" {
		out.NextToken = pipelinesTokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(next))
	}
	// The latest execution is what ListPipelineExecutions shows: only for
	// the pipelines the caller may list executions of.
	names := make([]string, len(ps))
	for i, p := range ps {
		if mayAlso(r, "ListPipelineExecutions", "pipeline/"+p.Name) {
			names[i] = p.Name
		}
	}
	latest, err := s.svc.LatestExecutions(r.Context(), names)
	if err != nil {
		return err
	}
	waits, err := s.svc.ExecutionWaiting(r.Context(), latest...)
	if err != nil {
		return err
	}
	for i, p := range ps {
		sum := wire.PipelineSummary{
			Name: p.Name, Version: p.Version, ExecutionMode: string(p.ExecutionMode),
			Created: p.Created, Updated: p.Updated,
		}
		if e := latest[i]; e != nil {
			sum.LatestExecution = &wire.LatestExecution{PipelineExecutionID: e.ID, Status: string(e.Status),
				StartTime: e.StartTime, LastUpdateTime: e.LastUpdate, Waiting: waitingView(waits[i])}
		}
		out.Pipelines = append(out.Pipelines, sum)
	}
	return writeJSON(w, http.StatusOK, out)
}

// pipelinesTokenPrefix begins ListPipelines' nextToken: the last name of the
// page, base64url-encoded after it.
const pipelinesTokenPrefix = "p1."

// pipelinesToken reads a nextToken into the name the next page starts
// after; "" is the first page.
func pipelinesToken(tok string) (string, bool) {
	if tok == "" {
		return "", true
	}
	rest, ok := strings.CutPrefix(tok, pipelinesTokenPrefix)
	if !ok {
		return "", false
	}
	name, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(name) == 0 {
		return "", false
	}
	return string(name), true
}

func (s *Server) getPipeline(w http.ResponseWriter, r *http.Request) error {
	p, err := s.svc.Pipeline(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	doc := pipeline.Document{Pipeline: *p.Declaration, Metadata: &pipeline.Metadata{
		PipelineArn: s.svc.PipelineARN(p.Declaration.Name),
		Created:     p.Created.Format(time.RFC3339),
		Updated:     p.Updated.Format(time.RFC3339),
		Version:     p.Version,
	}}
	return writeJSON(w, http.StatusOK, doc)
}

func (s *Server) deletePipeline(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeletePipeline(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setTransition is EnableStageTransition (enabled) or DisableStageTransition:
// two routes, so that a policy can allow one and not the other. The body's
// enabled field, if any, is the route's to say.
func (s *Server) setTransition(enabled bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req wire.TransitionRequest
		if r.ContentLength != 0 {
			if err := decode(r, &req); err != nil {
				return err
			}
		}
		err := s.svc.SetTransition(r.Context(), r.PathValue("name"), r.PathValue("stage"), enabled, req.Reason, Principal(r.Context()))
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (s *Server) pipelineState(w http.ResponseWriter, r *http.Request) error {
	st, err := s.svc.PipelineState(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	out := wire.PipelineState{PipelineName: st.Name, PipelineVersion: st.Version}
	out.Isolation, out.Sandboxed = s.svc.Isolation()
	note, err := s.svc.LastTrigger(r.Context(), st.Name)
	if err != nil {
		return err
	}
	if note != nil {
		out.LastTrigger = &wire.TriggerNote{
			Time: note.Time, TriggerType: note.Type, TriggerDetail: note.Detail,
			Started: note.Started, PipelineExecutionID: note.ExecutionID, Reason: note.Reason,
		}
	}
	for _, ss := range st.Stages {
		cs := wire.StageState{
			StageName: ss.Name,
			InboundTransitionState: wire.TransitionState{
				Enabled:        ss.Transition.Enabled,
				DisabledReason: ss.Transition.DisabledReason,
				LastChangedBy:  ss.Transition.DisabledBy,
			},
			ActionStates: []wire.ActionState{},
		}
		if !ss.Transition.LastChangedAt.IsZero() {
			t := ss.Transition.LastChangedAt
			cs.InboundTransitionState.LastChangedAt = &t
		}
		if ss.Latest != nil {
			cs.LatestExecution = &wire.StageLatest{PipelineExecutionID: ss.Latest.ID, Status: string(ss.Latest.Stages[ss.Index].Status)}
			lst := &ss.Latest.Stages[ss.Index]
			cs.BeforeEntryConditionState = conditionView(lst.Entry)
			cs.OnSuccessConditionState = conditionView(lst.Success)
			cs.OnFailureConditionState = conditionView(lst.Failure)
			for _, a := range ss.Latest.Stages[ss.Index].Actions {
				av := actionView(a)
				cs.ActionStates = append(cs.ActionStates, wire.ActionState{ActionName: a.Decl.Name, LatestExecution: &av})
			}
		} else {
			for _, name := range ss.Actions {
				cs.ActionStates = append(cs.ActionStates, wire.ActionState{ActionName: name})
			}
		}
		for _, wt := range ss.Waiting {
			cs.Waiting = append(cs.Waiting, wire.WaitingExecution{PipelineExecutionID: wt.ID, Reason: wt.WaitingFor})
		}
		out.StageStates = append(out.StageStates, cs)
	}
	return writeJSON(w, http.StatusOK, out)
}
