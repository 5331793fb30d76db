package awsapi

import (
	"context"
	"crypto/sha256"
	"errors"
	"maps"
	"slices"
	"strconv"

	"github.com/google/uuid"

	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
)

// requestTokenID is the execution id a start with clientRequestToken token
// gets: a UUID derived from the pipeline, the caller and the token, so that
// the same start asked again answers with the same execution.
func requestTokenID(pipelineName, principal, token string) string {
	sum := sha256.Sum256([]byte("StartPipelineExecution\x00" + pipelineName + "\x00" + principal + "\x00" + token))
	var id uuid.UUID
	copy(id[:], sum[:16])
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id.String()
}

func (h *Handler) startExecution(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		Name      string `json:"name"`
		Variables []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"variables"`
		ClientRequestToken string `json:"clientRequestToken"`
		SourceRevisions    []struct {
			ActionName    string `json:"actionName"`
			RevisionType  string `json:"revisionType"`
			RevisionValue string `json:"revisionValue"`
		} `json:"sourceRevisions"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	req := service.StartRequest{Pipeline: in.Name, Trigger: service.Trigger{Type: "StartPipelineExecution", Detail: c.principal.Name}}
	if len(in.Variables) > 0 {
		req.Variables = map[string]string{}
		for i, v := range in.Variables {
			if v.Name == "" {
				return nil, validation("variables[%d].name: required", i)
			}
			req.Variables[v.Name] = v.Value
		}
	}
	if len(in.SourceRevisions) > 0 {
		for i, r := range in.SourceRevisions {
			if r.ActionName == "" || r.RevisionType == "" || r.RevisionValue == "" {
				return nil, validation("sourceRevisions[%d]: actionName, revisionType and revisionValue are required", i)
			}
			req.Overrides = append(req.Overrides, service.RevisionOverride{ActionName: r.ActionName, RevisionType: r.RevisionType, RevisionValue: r.RevisionValue})
		}
	}
	if in.ClientRequestToken != "" {
		if len(in.ClientRequestToken) > 128 {
			return nil, validation("clientRequestToken: at most 128 characters")
		}
		req.ExecutionID = requestTokenID(in.Name, c.principal.Name, in.ClientRequestToken)
		req.IdempotencyKey = "aws-request-token:" + req.ExecutionID
	}
	e, err := h.svc.StartExecution(ctx, req)
	if errors.Is(err, service.ErrAlreadyStarted) {
		return map[string]string{"pipelineExecutionId": req.ExecutionID}, nil
	}
	if err != nil {
		return nil, err
	}
	return map[string]string{"pipelineExecutionId": e.ID}, nil
}

type execTrigger struct {
	TriggerType   string `json:"triggerType"`
	TriggerDetail string `json:"triggerDetail,omitempty"`
}

type sourceRevision struct {
	ActionName      string `json:"actionName"`
	RevisionID      string `json:"revisionId,omitempty"`
	RevisionSummary string `json:"revisionSummary,omitempty"`
}

type executionSummary struct {
	PipelineExecutionID string           `json:"pipelineExecutionId"`
	Status              string           `json:"status"`
	StatusSummary       string           `json:"statusSummary,omitempty"`
	StartTime           *epoch           `json:"startTime,omitempty"`
	LastUpdateTime      *epoch           `json:"lastUpdateTime,omitempty"`
	SourceRevisions     []sourceRevision `json:"sourceRevisions"`
	Trigger             execTrigger      `json:"trigger"`
	ExecutionMode       string           `json:"executionMode,omitempty"`
	ExecutionType       string           `json:"executionType"`
}

func sourceRevisions(e *service.Execution) []sourceRevision {
	out := []sourceRevision{}
	for _, r := range e.SourceRevisions {
		out = append(out, sourceRevision{ActionName: r.ActionName, RevisionID: r.RevisionID, RevisionSummary: r.RevisionSummary})
	}
	return out
}

func (h *Handler) getExecution(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		PipelineName        string `json:"pipelineName"`
		PipelineExecutionID string `json:"pipelineExecutionId"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if in.PipelineExecutionID == "" {
		return nil, validation("1 validation error detected: Value null at 'pipelineExecutionId' failed to satisfy constraint: Member must not be null")
	}
	if _, err := h.svc.Pipeline(ctx, in.PipelineName); err != nil {
		return nil, err
	}
	e, err := h.svc.Execution(ctx, in.PipelineName, in.PipelineExecutionID)
	if err != nil {
		return nil, err
	}
	type variable struct {
		Name          string `json:"name"`
		ResolvedValue string `json:"resolvedValue"`
	}
	type artifactRevision struct {
		Name            string `json:"name"`
		RevisionID      string `json:"revisionId,omitempty"`
		RevisionSummary string `json:"revisionSummary,omitempty"`
	}
	out := struct {
		PipelineName        string             `json:"pipelineName"`
		PipelineVersion     int                `json:"pipelineVersion"`
		PipelineExecutionID string             `json:"pipelineExecutionId"`
		Status              string             `json:"status"`
		StatusSummary       string             `json:"statusSummary,omitempty"`
		ArtifactRevisions   []artifactRevision `json:"artifactRevisions"`
		Variables           []variable         `json:"variables"`
		Trigger             execTrigger        `json:"trigger"`
		ExecutionType       string             `json:"executionType"`
	}{
		PipelineName: e.Pipeline, PipelineVersion: e.Version, PipelineExecutionID: e.ID, Status: string(e.Status),
		StatusSummary: e.Summary, ArtifactRevisions: []artifactRevision{}, Variables: []variable{},
		Trigger: execTrigger{TriggerType: e.Trigger.Type, TriggerDetail: e.Trigger.Detail}, ExecutionType: "STANDARD",
	}
	for _, r := range e.SourceRevisions {
		out.ArtifactRevisions = append(out.ArtifactRevisions, artifactRevision{Name: r.ActionName, RevisionID: r.RevisionID, RevisionSummary: r.RevisionSummary})
	}
	for _, name := range sortedKeys(e.Variables) {
		out.Variables = append(out.Variables, variable{Name: name, ResolvedValue: e.Variables[name]})
	}
	return map[string]any{"pipelineExecution": out}, nil
}

func (h *Handler) listExecutions(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		PipelineName string `json:"pipelineName"`
		MaxResults   int    `json:"maxResults"`
		NextToken    string `json:"nextToken"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	limit, err := maxResults(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	var before int64
	if in.NextToken != "" {
		at, err := decodeToken("executions", in.NextToken)
		if err != nil {
			return nil, err
		}
		if before, err = strconv.ParseInt(at, 10, 64); err != nil || before < 1 {
			_, err = decodeToken("executions", "")
			return nil, err
		}
	}
	p, err := h.svc.Pipeline(ctx, in.PipelineName)
	if err != nil {
		return nil, err
	}
	es, err := h.svc.Executions(ctx, in.PipelineName, before, limit+1)
	if err != nil {
		return nil, err
	}
	out := struct {
		Summaries []executionSummary `json:"pipelineExecutionSummaries"`
		NextToken string             `json:"nextToken,omitempty"`
	}{Summaries: []executionSummary{}}
	for i, e := range es {
		if i == limit {
			out.NextToken = encodeToken("executions", strconv.FormatInt(es[limit-1].Seq, 10))
			break
		}
		out.Summaries = append(out.Summaries, executionSummary{
			PipelineExecutionID: e.ID, Status: string(e.Status), StatusSummary: e.Summary,
			StartTime: ts(e.StartTime), LastUpdateTime: ts(e.LastUpdate), SourceRevisions: sourceRevisions(e),
			Trigger:       execTrigger{TriggerType: e.Trigger.Type, TriggerDetail: e.Trigger.Detail},
			ExecutionMode: string(p.Declaration.ExecutionMode), ExecutionType: "STANDARD",
		})
	}
	return out, nil
}

func (h *Handler) stopExecution(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		PipelineName        string `json:"pipelineName"`
		PipelineExecutionID string `json:"pipelineExecutionId"`
		Abandon             bool   `json:"abandon"`
		Reason              string `json:"reason"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if err := h.checkExecution(ctx, in.PipelineName, in.PipelineExecutionID); err != nil {
		return nil, err
	}
	if err := h.svc.StopExecution(ctx, in.PipelineName, in.PipelineExecutionID, in.Abandon, in.Reason); err != nil {
		return nil, err
	}
	return map[string]string{"pipelineExecutionId": in.PipelineExecutionID}, nil
}

// checkExecution answers PipelineNotFound or PipelineExecutionNotFound
// before an operation on an execution, as CodePipeline does.
func (h *Handler) checkExecution(ctx context.Context, name, id string) error {
	if id == "" {
		return validation("1 validation error detected: Value null at 'pipelineExecutionId' failed to satisfy constraint: Member must not be null")
	}
	if _, err := h.svc.Pipeline(ctx, name); err != nil {
		return err
	}
	if _, err := h.svc.Execution(ctx, name, id); err != nil {
		return err
	}
	return nil
}

func (h *Handler) retryStage(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		PipelineName        string `json:"pipelineName"`
		StageName           string `json:"stageName"`
		PipelineExecutionID string `json:"pipelineExecutionId"`
		RetryMode           string `json:"retryMode"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	all := false
	switch in.RetryMode {
	case "FAILED_ACTIONS":
	case "ALL_ACTIONS":
		all = true
	default:
		return nil, validation("1 validation error detected: Value '%s' at 'retryMode' failed to satisfy constraint: Member must satisfy enum value set: [FAILED_ACTIONS, ALL_ACTIONS]", in.RetryMode)
	}
	if err := h.checkExecution(ctx, in.PipelineName, in.PipelineExecutionID); err != nil {
		return nil, err
	}
	if err := h.svc.RetryStage(ctx, in.PipelineName, in.PipelineExecutionID, in.StageName, all); err != nil {
		return nil, err
	}
	return map[string]string{"pipelineExecutionId": in.PipelineExecutionID}, nil
}

func (h *Handler) putApprovalResult(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		PipelineName string `json:"pipelineName"`
		StageName    string `json:"stageName"`
		ActionName   string `json:"actionName"`
		Result       struct {
			Summary string `json:"summary"`
			Status  string `json:"status"`
		} `json:"result"`
		Token string `json:"token"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	var approved bool
	switch in.Result.Status {
	case "Approved":
		approved = true
	case "Rejected":
	default:
		return nil, validation("1 validation error detected: Value '%s' at 'result.status' failed to satisfy constraint: Member must satisfy enum value set: [Approved, Rejected]", in.Result.Status)
	}
	if _, err := h.svc.Pipeline(ctx, in.PipelineName); err != nil {
		return nil, err
	}
	err := h.svc.PutApprovalResult(ctx, service.ApprovalAnswer{Pipeline: in.PipelineName, Stage: in.StageName, Action: in.ActionName,
		Token: in.Token, Approved: approved, Summary: in.Result.Summary, Principal: c.principal.Name})
	if err != nil {
		return nil, err
	}
	return map[string]any{"approvedAt": ts(h.svc.Now())}, nil
}

type actionExecution struct {
	ActionExecutionID   string        `json:"actionExecutionId,omitempty"`
	Status              string        `json:"status"`
	Summary             string        `json:"summary,omitempty"`
	LastStatusChange    *epoch        `json:"lastStatusChange,omitempty"`
	Token               string        `json:"token,omitempty"`
	ExternalExecutionID string        `json:"externalExecutionId,omitempty"`
	ErrorDetails        *errorDetails `json:"errorDetails,omitempty"`
	LastUpdatedBy       string        `json:"lastUpdatedBy,omitempty"`
}

type errorDetails struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// actionExecutionOf is an action's latest execution as GetPipelineState
// shows it; nil for one that has not started (CodePipeline has no
// NotStarted action status).
func actionExecutionOf(a service.ActionExecution) *actionExecution {
	if a.Status == service.ActionNotStarted || a.Status == "" {
		return nil
	}
	out := &actionExecution{ActionExecutionID: a.JobID, Status: string(a.Status), Summary: a.Summary,
		LastStatusChange: ts(a.LastUpdate), ExternalExecutionID: a.ExternalID}
	if a.Decl.ActionTypeID.Provider == pipeline.ProviderManual && a.Status == service.ActionInProgress {
		out.Token = a.JobID
	}
	if a.Approval != nil {
		out.LastUpdatedBy = a.Approval.By
	}
	if a.Status == service.ActionFailed {
		out.ErrorDetails = &errorDetails{Code: "JobFailed", Message: a.Summary}
	}
	return out
}

func (h *Handler) getPipelineState(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	p, err := h.svc.Pipeline(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	st, err := h.svc.PipelineState(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	type actionState struct {
		ActionName      string           `json:"actionName"`
		LatestExecution *actionExecution `json:"latestExecution,omitempty"`
	}
	type stageExecution struct {
		PipelineExecutionID string `json:"pipelineExecutionId"`
		Status              string `json:"status"`
		Type                string `json:"type"`
	}
	type transitionState struct {
		Enabled        bool   `json:"enabled"`
		LastChangedBy  string `json:"lastChangedBy,omitempty"`
		LastChangedAt  *epoch `json:"lastChangedAt,omitempty"`
		DisabledReason string `json:"disabledReason,omitempty"`
	}
	type stageState struct {
		StageName              string           `json:"stageName"`
		InboundTransitionState *transitionState `json:"inboundTransitionState,omitempty"`
		ActionStates           []actionState    `json:"actionStates"`
		LatestExecution        *stageExecution  `json:"latestExecution,omitempty"`
		InboundExecutions      []stageExecution `json:"inboundExecutions,omitempty"`
	}
	out := struct {
		PipelineName    string       `json:"pipelineName"`
		PipelineVersion int          `json:"pipelineVersion"`
		StageStates     []stageState `json:"stageStates"`
		Created         *epoch       `json:"created,omitempty"`
		Updated         *epoch       `json:"updated,omitempty"`
	}{PipelineName: st.Name, PipelineVersion: st.Version, StageStates: []stageState{}, Created: ts(p.Created), Updated: ts(p.Updated)}
	for i, ss := range st.Stages {
		cs := stageState{StageName: ss.Name, ActionStates: []actionState{}}
		if i > 0 {
			// The first stage has no inbound transition in CodePipeline's answers.
			cs.InboundTransitionState = &transitionState{Enabled: ss.Transition.Enabled, LastChangedBy: ss.Transition.DisabledBy,
				LastChangedAt: ts(ss.Transition.LastChangedAt), DisabledReason: ss.Transition.DisabledReason}
		}
		if ss.Latest != nil {
			cs.LatestExecution = &stageExecution{PipelineExecutionID: ss.Latest.ID, Status: string(ss.Latest.Stages[ss.Index].Status), Type: "STANDARD"}
			for _, a := range ss.Latest.Stages[ss.Index].Actions {
				cs.ActionStates = append(cs.ActionStates, actionState{ActionName: a.Decl.Name, LatestExecution: actionExecutionOf(a)})
			}
		} else {
			for _, name := range ss.Actions {
				cs.ActionStates = append(cs.ActionStates, actionState{ActionName: name})
			}
		}
		for _, w := range ss.Waiting {
			cs.InboundExecutions = append(cs.InboundExecutions, stageExecution{PipelineExecutionID: w.ID, Status: "InProgress", Type: "STANDARD"})
		}
		out.StageStates = append(out.StageStates, cs)
	}
	return out, nil
}

func (h *Handler) listActionExecutions(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		PipelineName string `json:"pipelineName"`
		Filter       struct {
			PipelineExecutionID string `json:"pipelineExecutionId"`
		} `json:"filter"`
		MaxResults int    `json:"maxResults"`
		NextToken  string `json:"nextToken"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	limit, err := maxResults(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	skip := 0
	if in.NextToken != "" {
		at, err := decodeToken("actions", in.NextToken)
		if err != nil {
			return nil, err
		}
		if skip, err = strconv.Atoi(at); err != nil || skip < 0 {
			_, err = decodeToken("actions", "")
			return nil, err
		}
	}
	if _, err := h.svc.Pipeline(ctx, in.PipelineName); err != nil {
		return nil, err
	}
	var es []*service.Execution
	if id := in.Filter.PipelineExecutionID; id != "" {
		e, err := h.svc.Execution(ctx, in.PipelineName, id)
		if err != nil {
			return nil, err
		}
		es = []*service.Execution{e}
	} else if es, err = h.svc.Executions(ctx, in.PipelineName, 0, 100); err != nil {
		return nil, err
	}
	type artifact struct {
		Name string `json:"name"`
	}
	type detail struct {
		PipelineExecutionID string `json:"pipelineExecutionId"`
		ActionExecutionID   string `json:"actionExecutionId"`
		PipelineVersion     int    `json:"pipelineVersion"`
		StageName           string `json:"stageName"`
		ActionName          string `json:"actionName"`
		StartTime           *epoch `json:"startTime,omitempty"`
		LastUpdateTime      *epoch `json:"lastUpdateTime,omitempty"`
		UpdatedBy           string `json:"updatedBy,omitempty"`
		Status              string `json:"status"`
		Input               struct {
			ActionTypeID   pipeline.ActionTypeID `json:"actionTypeId"`
			Configuration  map[string]string     `json:"configuration"`
			Region         string                `json:"region,omitempty"`
			InputArtifacts []artifact            `json:"inputArtifacts"`
			Namespace      string                `json:"namespace,omitempty"`
		} `json:"input"`
		Output struct {
			OutputArtifacts []artifact `json:"outputArtifacts"`
			ExecutionResult *struct {
				ExternalExecutionID      string `json:"externalExecutionId,omitempty"`
				ExternalExecutionSummary string `json:"externalExecutionSummary,omitempty"`
			} `json:"executionResult,omitempty"`
			OutputVariables map[string]string `json:"outputVariables"`
		} `json:"output"`
	}
	var details []detail
	for _, e := range es {
		for _, st := range e.Stages {
			for _, a := range st.Actions {
				if a.Status == service.ActionNotStarted || a.Status == "" {
					continue
				}
				d := detail{PipelineExecutionID: e.ID, ActionExecutionID: a.JobID, PipelineVersion: e.Version, StageName: st.Name,
					ActionName: a.Decl.Name, StartTime: ts(a.StartTime), LastUpdateTime: ts(a.LastUpdate), Status: string(a.Status)}
				if a.Approval != nil {
					d.UpdatedBy = a.Approval.By
				}
				d.Input.ActionTypeID, d.Input.Configuration, d.Input.Region, d.Input.Namespace =
					a.Decl.ActionTypeID, a.Decl.Configuration, a.Decl.Region, a.Decl.Namespace
				if d.Input.Configuration == nil {
					d.Input.Configuration = map[string]string{}
				}
				d.Input.InputArtifacts = []artifact{}
				for _, ia := range a.Decl.InputArtifacts {
					d.Input.InputArtifacts = append(d.Input.InputArtifacts, artifact{Name: ia.Name})
				}
				d.Output.OutputArtifacts = []artifact{}
				for _, oa := range a.OutputArtifacts {
					d.Output.OutputArtifacts = append(d.Output.OutputArtifacts, artifact{Name: oa.Name})
				}
				d.Output.OutputVariables = a.OutputVariables
				if d.Output.OutputVariables == nil {
					d.Output.OutputVariables = map[string]string{}
				}
				if a.Summary != "" || a.ExternalID != "" {
					d.Output.ExecutionResult = &struct {
						ExternalExecutionID      string `json:"externalExecutionId,omitempty"`
						ExternalExecutionSummary string `json:"externalExecutionSummary,omitempty"`
					}{a.ExternalID, a.Summary}
				}
				details = append(details, d)
			}
		}
	}
	out := struct {
		Details   []detail `json:"actionExecutionDetails"`
		NextToken string   `json:"nextToken,omitempty"`
	}{Details: []detail{}}
	if skip < len(details) {
		end := min(skip+limit, len(details))
		out.Details = details[skip:end]
		if end < len(details) {
			out.NextToken = encodeToken("actions", strconv.Itoa(end))
		}
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
