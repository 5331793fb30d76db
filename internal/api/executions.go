package api

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/wire"
)

func (s *Server) startExecution(w http.ResponseWriter, r *http.Request) error {
	var req wire.StartRequest
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			return err
		}
	}
	e, err := s.svc.StartExecution(r.Context(), service.StartRequest{
		Pipeline:        r.PathValue("name"),
		Variables:       req.Variables,
		SourceRevisions: req.SourceRevisions,
		Overrides:       overridesOf(req.SourceRevisionOverrides),
		Trigger:         service.Trigger{Type: "StartPipelineExecution", Detail: Principal(r.Context())},
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, wire.StartResult{PipelineExecutionID: e.ID})
}

func (s *Server) getExecution(w http.ResponseWriter, r *http.Request) error {
	wait, err := waitParam(r)
	if err != nil {
		return err
	}
	var e *service.Execution
	if wait > 0 {
		var since time.Time
		if v := r.URL.Query().Get("since"); v != "" {
			if since, err = time.Parse(time.RFC3339Nano, v); err != nil {
				return service.Errorf(service.CodeInvalid, "since: %q is not an RFC 3339 time", v)
			}
		}
		e, err = s.svc.WaitExecution(r.Context(), r.PathValue("name"), r.PathValue("id"), since, wait)
	} else {
		e, err = s.svc.Execution(r.Context(), r.PathValue("name"), r.PathValue("id"))
	}
	if err != nil {
		return err
	}
	view := executionView(e)
	ws, err := s.svc.ExecutionWaiting(r.Context(), e)
	if err != nil {
		return err
	}
	view.Waiting = waitingView(ws[0])
	return writeJSON(w, http.StatusOK, view)
}

// waitingView is the API's form of what an execution waits for.
func waitingView(w *service.Waiting) *wire.Waiting {
	if w == nil {
		return nil
	}
	return &wire.Waiting{Kind: w.Kind, Name: w.Name, Position: w.Position, HeldBy: w.HeldBy, Label: w.Label(), Detail: w.Detail}
}

func executionView(e *service.Execution) wire.Execution {
	out := wire.Execution{
		PipelineExecutionID: e.ID,
		PipelineName:        e.Pipeline,
		PipelineVersion:     e.Version,
		Status:              string(e.Status),
		StatusSummary:       e.Summary,
		WaitingFor:          e.WaitingFor,
		Trigger:             wire.Trigger{TriggerType: e.Trigger.Type, TriggerDetail: e.Trigger.Detail},
		Variables:           e.Variables,
		StartTime:           e.StartTime,
		LastUpdateTime:      e.LastUpdate,
		Stages:              []wire.StageExecution{},
		SourceRevisions:     sourceRevisionsView(e),
		Lock:                e.Lock,
	}
	if u := e.Upstream; u != nil {
		out.Upstream = &wire.ExecutionRef{PipelineName: u.Pipeline, PipelineExecutionID: u.ExecutionID, Status: string(u.Status)}
	}
	if p := e.Parent; p != nil {
		out.Parent = &wire.ExecutionRef{PipelineName: p.Pipeline, PipelineExecutionID: p.ExecutionID, Stage: p.Stage, Action: p.Action}
	}
	if out.Variables == nil {
		out.Variables = map[string]string{}
	}
	if e.ExecutionType != "" {
		out.ExecutionType = e.ExecutionType
	}
	if rb := e.Rollback; rb != nil {
		out.RollbackMetadata = &wire.RollbackMetadata{RollbackTargetPipelineExecutionID: rb.TargetExecutionID}
	}
	for _, st := range e.Stages {
		cs := wire.StageExecution{Name: st.Name, Status: string(st.Status), Attempt: st.Attempt, Actions: []wire.ActionExecution{}, Lock: st.Lock,
			BeforeEntryConditionState: conditionView(st.Entry), OnSuccessConditionState: conditionView(st.Success),
			OnFailureConditionState: conditionView(st.Failure), AutomaticRetries: st.AutoRetries}
		for _, a := range st.Actions {
			cs.Actions = append(cs.Actions, actionView(a))
		}
		out.Stages = append(out.Stages, cs)
	}
	return out
}

func overridesOf(in []wire.RevisionOverride) []service.RevisionOverride {
	var out []service.RevisionOverride
	for _, o := range in {
		out = append(out, service.RevisionOverride(o))
	}
	return out
}

func sourceRevisionsView(e *service.Execution) []wire.SourceRevision {
	out := []wire.SourceRevision{}
	for _, r := range e.SourceRevisions {
		out = append(out, wire.SourceRevision(r))
	}
	return out
}

func actionView(a service.ActionExecution) wire.ActionExecution {
	av := wire.ActionExecution{
		Name:            a.Decl.Name,
		Provider:        a.Decl.ActionTypeID.Provider,
		Category:        a.Decl.ActionTypeID.Category,
		RunOrder:        a.Decl.RunOrder,
		Status:          string(a.Status),
		Summary:         a.Summary,
		Attempt:         a.Attempt,
		OutputVariables: a.OutputVariables,
		Configuration:   a.Decl.Configuration,

		ExternalExecutionID: a.ExternalID,
	}
	if a.Decl.ActionTypeID.Provider == pipeline.ProviderManual && a.Status == service.ActionInProgress {
		av.Token = a.JobID
	}
	if ap := a.Approval; ap != nil {
		av.Approval = &wire.Approval{Status: ap.Status, Summary: ap.Summary, ApprovedBy: ap.By, Time: ap.Time}
	}
	if !a.StartTime.IsZero() {
		t := a.StartTime
		av.StartTime = &t
	}
	if !a.LastUpdate.IsZero() {
		t := a.LastUpdate
		av.LastUpdateTime = &t
	}
	for _, o := range a.OutputArtifacts {
		av.OutputArtifacts = append(av.OutputArtifacts, o.Name)
	}
	for _, o := range a.FailedArtifacts {
		av.FailedArtifacts = append(av.FailedArtifacts, o.Name)
		av.FailedAttempt = a.FailedAttempt
	}
	return av
}

func (s *Server) listExecutions(w http.ResponseWriter, r *http.Request) error {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return service.Errorf(service.CodeInvalid, "limit: %q is not a number from 1 to 1000", v)
		}
		limit = n
	}
	var before int64
	if v := r.URL.Query().Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return service.Errorf(service.CodeInvalid, "before: %q is not a number", v)
		}
		before = n
	}
	es, err := s.svc.Executions(r.Context(), r.PathValue("name"), before, limit)
	if err != nil {
		return err
	}
	out := struct {
		Executions []wire.ExecutionSummary `json:"pipelineExecutionSummaries"`
	}{Executions: []wire.ExecutionSummary{}}
	waits, err := s.svc.ExecutionWaiting(r.Context(), es...)
	if err != nil {
		return err
	}
	for i, e := range es {
		sum := wire.ExecutionSummary{
			Waiting:             waitingView(waits[i]),
			PipelineExecutionID: e.ID, PipelineVersion: e.Version, Status: string(e.Status), StatusSummary: e.Summary,
			Trigger:         wire.Trigger{TriggerType: e.Trigger.Type, TriggerDetail: e.Trigger.Detail},
			SourceRevisions: sourceRevisionsView(e),
			StartTime:       e.StartTime, LastUpdateTime: e.LastUpdate,
			ExecutionType: e.ExecutionType,
		}
		if rb := e.Rollback; rb != nil {
			sum.RollbackMetadata = &wire.RollbackMetadata{RollbackTargetPipelineExecutionID: rb.TargetExecutionID}
		}
		out.Executions = append(out.Executions, sum)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) stopExecution(w http.ResponseWriter, r *http.Request) error {
	var req wire.StopRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := s.svc.StopExecution(r.Context(), r.PathValue("name"), r.PathValue("id"), req.Abandon, req.Reason); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) retryStage(w http.ResponseWriter, r *http.Request) error {
	var req wire.RetryRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Stage == "" {
		return service.Errorf(service.CodeInvalid, "stageName: required")
	}
	if err := s.svc.RetryStage(r.Context(), r.PathValue("name"), r.PathValue("id"), req.Stage, req.All); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) actionLog(w http.ResponseWriter, r *http.Request) error {
	wait, err := waitParam(r)
	if err != nil {
		return err
	}
	var offset int64
	if v := r.URL.Query().Get("offset"); v != "" {
		if offset, err = strconv.ParseInt(v, 10, 64); err != nil || offset < 0 {
			return service.Errorf(service.CodeInvalid, "offset: %q is not a byte offset", v)
		}
	}
	l, err := s.svc.ActionLog(r.Context(), r.PathValue("name"), r.PathValue("id"), r.PathValue("action"), offset, wait)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Sluice-Log-Done", strconv.FormatBool(l.Done))
	w.Header().Set("X-Sluice-Attempt", strconv.Itoa(l.Attempt))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(l.Data)
	return nil
}

// FailedAttemptHeader on an artifact download names the failed attempt of its
// action that uploaded it; an artifact of a succeeded action has none.
const FailedAttemptHeader = client.FailedAttemptHeader

func (s *Server) downloadArtifact(w http.ResponseWriter, r *http.Request) error {
	a, err := s.svc.OpenArtifact(r.Context(), r.PathValue("name"), r.PathValue("id"), r.PathValue("artifact"))
	if err != nil {
		return serveZip(w, nil, err, "artifact "+r.PathValue("artifact"))
	}
	if a.Failed {
		// Kept from a failed attempt for debugging; clients say so.
		w.Header().Set(FailedAttemptHeader, strconv.Itoa(a.Attempt))
	}
	return serveZip(w, a, nil, "artifact "+r.PathValue("artifact"))
}

// serveZip streams an artifact opened with err, naming what in a not-found answer.
func serveZip(w http.ResponseWriter, rc io.ReadCloser, err error, what string) error {
	if errors.Is(err, artifact.ErrNotFound) {
		return service.Errorf(service.CodeNotFound, "%s is missing from the artifact store", what)
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/zip")
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, rc)
	return nil
}
