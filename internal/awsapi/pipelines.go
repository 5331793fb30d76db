package awsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
)

// operations is the table of operations served: each with the action a
// policy must allow (the native API's name for the same use case) and the
// resource it acts on.
func (h *Handler) operations() map[string]operation {
	execErrs := errorNames{notFound: "PipelineExecutionNotFoundException"}
	ops := map[string]operation{
		"ListPipelines":          {action: "ListPipelines", resource: all, run: h.listPipelines},
		"GetPipeline":            {action: "GetPipeline", resource: resourceOf("name"), run: h.getPipeline},
		"CreatePipeline":         {action: "PutPipeline", resource: resourceOf("pipeline.name"), run: h.putPipeline(true), errs: errorNames{invalid: "InvalidStructureException"}},
		"UpdatePipeline":         {action: "PutPipeline", resource: resourceOf("pipeline.name"), run: h.putPipeline(false), errs: errorNames{invalid: "InvalidStructureException"}},
		"DeletePipeline":         {action: "DeletePipeline", resource: resourceOf("name"), run: h.deletePipeline},
		"GetPipelineState":       {action: "GetPipelineState", resource: resourceOf("name"), run: h.getPipelineState},
		"StartPipelineExecution": {action: "StartPipelineExecution", resource: resourceOf("name"), run: h.startExecution, errs: errorNames{conflict: "ConflictException"}},
		"GetPipelineExecution":   {action: "GetPipelineExecution", resource: resourceOf("pipelineName"), run: h.getExecution, errs: execErrs},
		"ListPipelineExecutions": {action: "ListPipelineExecutions", resource: resourceOf("pipelineName"), run: h.listExecutions},
		"StopPipelineExecution": {action: "StopPipelineExecution", resource: resourceOf("pipelineName"), run: h.stopExecution,
			errs: errorNames{notFound: "PipelineExecutionNotFoundException", conflict: "PipelineExecutionNotStoppableException", invalid: "PipelineExecutionNotStoppableException"}},
		"RetryStageExecution": {action: "RetryStageExecution", resource: resourceOf("pipelineName"), run: h.retryStage,
			errs: errorNames{notFound: "PipelineExecutionNotFoundException", conflict: "StageNotRetryableException", invalid: "StageNotRetryableException"}},
		"PutApprovalResult": {action: "PutApprovalResult", resource: resourceOf("pipelineName"), run: h.putApprovalResult,
			errs: errorNames{notFound: "InvalidApprovalTokenException", conflict: "ApprovalAlreadyCompletedException"}},
		"DisableStageTransition": {action: "DisableStageTransition", resource: resourceOf("pipelineName"), run: h.setTransition(false)},
		"EnableStageTransition":  {action: "EnableStageTransition", resource: resourceOf("pipelineName"), run: h.setTransition(true)},
		"ListActionExecutions":   {action: "ListPipelineExecutions", resource: resourceOf("pipelineName"), run: h.listActionExecutions, errs: execErrs},
	}
	h.jobOperations(ops)
	h.webhookOperations(ops)
	h.tagOperations(ops)
	return ops
}

type pipelineSummary struct {
	Name          string `json:"name"`
	Version       int    `json:"version"`
	PipelineType  string `json:"pipelineType,omitempty"`
	ExecutionMode string `json:"executionMode,omitempty"`
	Created       *epoch `json:"created,omitempty"`
	Updated       *epoch `json:"updated,omitempty"`
}

func (h *Handler) listPipelines(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		NextToken  string `json:"nextToken"`
		MaxResults int    `json:"maxResults"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	limit, err := maxResults(in.MaxResults, 1000, 1000)
	if err != nil {
		return nil, err
	}
	after := ""
	if in.NextToken != "" {
		if after, err = decodeToken("pipelines", in.NextToken); err != nil {
			return nil, err
		}
	}
	// One page through the store's name index, of the summary columns:
	// neither every pipeline nor a declaration is read.
	ps, next, err := h.svc.PipelinePage(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := struct {
		Pipelines []pipelineSummary `json:"pipelines"`
		NextToken string            `json:"nextToken,omitempty"`
	}{Pipelines: make([]pipelineSummary, 0, len(ps))}
	if next != "" {
		out.NextToken = encodeToken("pipelines", next)
	}
	for _, p := range ps {
		out.Pipelines = append(out.Pipelines, pipelineSummary{Name: p.Name, Version: p.Version, PipelineType: p.PipelineType,
			ExecutionMode: string(p.ExecutionMode), Created: ts(p.Created), Updated: ts(p.Updated)})
	}
	return out, nil
}

// declaration is a pipeline as CodePipeline's API writes it: sluice's
// declaration (whose JSON is CodePipeline's shape) with the version, and the
// roleArn and artifactStore that CodePipeline's clients require.
func (h *Handler) declaration(p service.PipelineInfo) (map[string]any, error) {
	raw, err := json.Marshal(p.Declaration)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	role := p.Declaration.Role
	if role == "" {
		role = "default-pipeline"
	}
	delete(m, "role")
	m["roleArn"] = "arn:aws:iam::" + h.id.Account + ":role/" + role
	if len(p.Declaration.ArtifactStores) == 0 {
		// artifactStores, when declared, stands instead: the two are
		// exclusive, as on AWS.
		m["artifactStore"] = map[string]string{"type": "S3", "location": "sluice-artifacts-" + h.id.Region}
	}
	m["version"] = p.Version
	// CodePipeline writes every action's configuration and artifacts, empty
	// or not.
	stages, _ := m["stages"].([]any)
	for _, st := range stages {
		actions, _ := st.(map[string]any)["actions"].([]any)
		for _, a := range actions {
			am := a.(map[string]any)
			if am["configuration"] == nil {
				am["configuration"] = map[string]any{}
			}
			for _, k := range []string{"inputArtifacts", "outputArtifacts"} {
				if am[k] == nil {
					am[k] = []any{}
				}
			}
		}
	}
	return m, nil
}

func (h *Handler) getPipeline(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		Name    string `json:"name"`
		Version *int   `json:"version"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	p, err := h.svc.Pipeline(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	if in.Version != nil && *in.Version != p.Version {
		return nil, &Error{Type: "PipelineVersionNotFoundException", Status: 400,
			Message: "pipeline " + in.Name + " has no version " + strconv.Itoa(*in.Version) + ": sluice serves only the current one, " + strconv.Itoa(p.Version)}
	}
	decl, err := h.declaration(p)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"pipeline": decl,
		"metadata": map[string]any{"pipelineArn": h.id.PipelineARN(p.Declaration.Name), "created": ts(p.Created), "updated": ts(p.Updated)},
	}, nil
}

// putPipeline is CreatePipeline (create) or UpdatePipeline: the declaration
// is read, its role resolved and passed as the native API's apply does, and
// applied by the service.
func (h *Handler) putPipeline(create bool) func(context.Context, *call, []byte) (any, error) {
	return func(ctx context.Context, c *call, body []byte) (any, error) {
		op := "UpdatePipeline"
		if create {
			op = "CreatePipeline"
		}
		decl, err := pipeline.ParseWith(op+" request", body, pipeline.RequireRunnable)
		if err != nil {
			return nil, service.Errorf(service.CodeInvalid, "%s", err.Error())
		}
		_, err = h.svc.Pipeline(ctx, decl.Name)
		switch {
		case create && err == nil:
			return nil, &Error{Type: "PipelineNameInUseException", Status: 400, Message: "A pipeline with the name '" + decl.Name + "' already exists"}
		case !create && service.ErrorCode(err) == service.CodeNotFound:
			// As CodePipeline answers (moto, which copies it, says so).
			return nil, &Error{Type: "ResourceNotFoundException", Status: 400, Message: "pipeline " + decl.Name + " does not exist: create it with CreatePipeline"}
		case err != nil && service.ErrorCode(err) != service.CodeNotFound:
			return nil, err
		}
		// As CodePipeline, a Custom action names a declared custom action
		// type (a native apply does not ask: its workers may come later).
		for i, st := range decl.Stages {
			for j, a := range st.Actions {
				id := a.ActionTypeID
				if id.Owner != pipeline.OwnerCustom {
					continue
				}
				if _, err := h.svc.CustomActionType(ctx, id.Category, id.Provider, id.Version); service.ErrorCode(err) == service.CodeNotFound {
					return nil, &Error{Type: "InvalidActionDeclarationException", Status: 400, Message: fmt.Sprintf(
						"stages[%d].actions[%d].actionTypeId: custom action type %s/%s/%s is not declared: create it with CreateCustomActionType", i, j, id.Category, id.Provider, id.Version)}
				} else if err != nil {
					return nil, err
				}
			}
		}
		var tagged struct {
			Tags []tag `json:"tags"`
		}
		_ = json.Unmarshal(body, &tagged)
		if len(tagged.Tags) > service.MaxTags {
			return nil, &Error{Type: "TooManyTagsException", Status: 400, Message: "tags: at most 50"}
		}
		for _, t := range tagged.Tags {
			if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
				return nil, &Error{Type: "InvalidTagsException", Status: 400, Message: "tags: keys are 1 to 128 characters, values at most 256"}
			}
		}
		if decl.Role, err = h.svc.ResolveRole(ctx, decl.Role); err != nil {
			return nil, err
		}
		if err := h.svc.CheckPassRole(ctx, c.principal.Policy, c.principal.Name, "pipeline "+decl.Name, decl.Role); err != nil {
			return nil, err
		}
		if _, err := h.svc.ApplyPipeline(ctx, decl); err != nil {
			return nil, err
		}
		p, err := h.svc.Pipeline(ctx, decl.Name)
		if err != nil {
			return nil, err
		}
		out, err := h.declaration(p)
		if err != nil {
			return nil, err
		}
		var in struct {
			Tags []tag `json:"tags"`
		}
		_ = json.Unmarshal(body, &in)
		if create && len(in.Tags) > 0 {
			add := map[string]string{}
			for _, t := range in.Tags {
				add[t.Key] = t.Value
			}
			if err := h.svc.TagResource(ctx, h.id.PipelineARN(decl.Name), add, nil); err != nil {
				return nil, err
			}
			return map[string]any{"pipeline": out, "tags": in.Tags}, nil
		}
		return map[string]any{"pipeline": out}, nil
	}
}

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func (h *Handler) deletePipeline(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	err := h.svc.DeletePipeline(ctx, in.Name)
	if service.ErrorCode(err) == service.CodeNotFound {
		// CodePipeline answers the deletion of a pipeline that does not
		// exist with success.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// A pipeline made again under the name starts without them.
	tags, err := h.svc.ResourceTags(ctx, h.id.PipelineARN(in.Name))
	if err != nil || len(tags) == 0 {
		return nil, err
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	return nil, h.svc.TagResource(ctx, h.id.PipelineARN(in.Name), nil, keys)
}

func (h *Handler) setTransition(enabled bool) func(context.Context, *call, []byte) (any, error) {
	return func(ctx context.Context, c *call, body []byte) (any, error) {
		var in struct {
			PipelineName   string `json:"pipelineName"`
			StageName      string `json:"stageName"`
			TransitionType string `json:"transitionType"`
			Reason         string `json:"reason"`
		}
		if err := decodeInput(body, &in); err != nil {
			return nil, err
		}
		stage := in.StageName
		switch in.TransitionType {
		case "Inbound":
		case "Outbound":
			// The way out of a stage is the way into the next one.
			p, err := h.svc.Pipeline(ctx, in.PipelineName)
			if err != nil {
				return nil, err
			}
			next := ""
			for i, s := range p.Declaration.Stages {
				if s.Name == in.StageName && i+1 < len(p.Declaration.Stages) {
					next = p.Declaration.Stages[i+1].Name
				}
			}
			if next == "" {
				return nil, &Error{Type: "StageNotFoundException", Status: 400,
					Message: "stage " + in.StageName + " of pipeline " + in.PipelineName + " is not followed by another stage: it has no outbound transition"}
			}
			stage = next
		default:
			return nil, validation("1 validation error detected: Value '%s' at 'transitionType' failed to satisfy constraint: Member must satisfy enum value set: [Inbound, Outbound]", in.TransitionType)
		}
		return nil, h.svc.SetTransition(ctx, in.PipelineName, stage, enabled, in.Reason, c.principal.Name)
	}
}
