package awsapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"

	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
)

// Custom action types and their job workers: CodePipeline's job-worker
// protocol. A worker polls for the jobs of a Custom action type; a job it is
// given is handed over at once (the service parks it: no lease, the
// action's timeout bounds it), and the worker answers for it with
// PutJobSuccessResult (with a continuation token to be given the job again
// later, and output variables) or PutJobFailureResult.

func (h *Handler) jobOperations(ops map[string]operation) {
	jobErrs := errorNames{notFound: "JobNotFoundException", conflict: "InvalidJobStateException"}
	typeErrs := errorNames{notFound: "ActionTypeNotFoundException"}
	ops["ListActionTypes"] = operation{action: "ListActionTypes", resource: all, run: h.listActionTypes}
	ops["CreateCustomActionType"] = operation{action: "CreateCustomActionType", resource: all, run: h.createCustomActionType, errs: typeErrs}
	ops["DeleteCustomActionType"] = operation{action: "DeleteCustomActionType", resource: all, run: h.deleteCustomActionType, errs: typeErrs}
	ops["PollForJobs"] = operation{action: "PollForJobs", resource: all, run: h.pollForJobs, errs: typeErrs}
	ops["AcknowledgeJob"] = operation{action: "AcknowledgeJob", resource: jobResource, run: h.acknowledgeJob, errs: jobErrs}
	ops["GetJobDetails"] = operation{action: "AcknowledgeJob", resource: jobResource, run: h.getJobDetails, errs: jobErrs}
	ops["PutJobSuccessResult"] = operation{action: "PutJobSuccessResult", resource: jobResource, run: h.putJobSuccess, errs: jobErrs}
	ops["PutJobFailureResult"] = operation{action: "PutJobFailureResult", resource: jobResource, run: h.putJobFailure, errs: jobErrs}
}

// jobResource is job/ID of the body's jobId.
func jobResource(body []byte) (string, error) {
	var in struct {
		JobID string `json:"jobId"`
	}
	if err := decodeInput(body, &in); err != nil {
		return "", err
	}
	if in.JobID == "" {
		return "", validation("1 validation error detected: Value null at 'jobId' failed to satisfy constraint: Member must not be null")
	}
	return "job/" + in.JobID, nil
}

type actionTypeID struct {
	Category string `json:"category"`
	Owner    string `json:"owner"`
	Provider string `json:"provider"`
	Version  string `json:"version"`
}

type artifactDetails struct {
	MinimumCount int `json:"minimumCount"`
	MaximumCount int `json:"maximumCount"`
}

func (h *Handler) listActionTypes(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		ActionOwnerFilter string `json:"actionOwnerFilter"`
		NextToken         string `json:"nextToken"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if in.NextToken != "" {
		// Everything fits in one page.
		if _, err := decodeToken("actiontypes", in.NextToken); err != nil {
			return nil, err
		}
	}
	types := []map[string]any{}
	if in.ActionOwnerFilter == "" || in.ActionOwnerFilter == pipeline.OwnerAWS {
		for _, name := range pipeline.Providers() {
			info, _ := pipeline.LookupProvider(name)
			if !info.Runnable {
				continue
			}
			for _, cat := range info.Categories {
				types = append(types, map[string]any{
					"id":                            actionTypeID{Category: cat, Owner: info.Owner, Provider: name, Version: "1"},
					"settings":                      map[string]string{},
					"actionConfigurationProperties": []any{},
					"inputArtifactDetails":          bounds(info.MinInputs, info.MaxInputs),
					"outputArtifactDetails":         bounds(info.MinOutputs, info.MaxOutputs),
				})
			}
		}
	}
	if in.ActionOwnerFilter == "" || in.ActionOwnerFilter == pipeline.OwnerCustom {
		custom, err := h.svc.CustomActionTypes(ctx)
		if err != nil {
			return nil, err
		}
		for _, t := range custom {
			types = append(types, h.customTypeView(t))
		}
	}
	return map[string]any{"actionTypes": types}, nil
}

func bounds(lo, hi int) artifactDetails {
	if hi < 0 {
		hi = 5
	}
	return artifactDetails{MinimumCount: max(lo, 0), MaximumCount: hi}
}

// customTypeView is a custom action type as ListActionTypes shows it: the
// declaration as given, with its id.
func (h *Handler) customTypeView(t service.CustomActionType) map[string]any {
	out := map[string]any{}
	_ = json.Unmarshal(t.Document, &out)
	delete(out, "category")
	delete(out, "provider")
	delete(out, "version")
	delete(out, "tags")
	// The declaration's configurationProperties are the type's
	// actionConfigurationProperties.
	if props, ok := out["configurationProperties"]; ok {
		out["actionConfigurationProperties"] = props
		delete(out, "configurationProperties")
	}
	if out["actionConfigurationProperties"] == nil {
		out["actionConfigurationProperties"] = []any{}
	}
	out["id"] = actionTypeID{Category: t.Category, Owner: pipeline.OwnerCustom, Provider: t.Provider, Version: t.Version}
	for _, k := range []string{"inputArtifactDetails", "outputArtifactDetails"} {
		if out[k] == nil {
			out[k] = artifactDetails{MaximumCount: 5}
		}
	}
	if out["settings"] == nil {
		out["settings"] = map[string]string{}
	}
	return out
}

func (h *Handler) createCustomActionType(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		Category string `json:"category"`
		Provider string `json:"provider"`
		Version  string `json:"version"`
		Tags     []tag  `json:"tags"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	t := service.CustomActionType{Category: in.Category, Provider: in.Provider, Version: in.Version, Document: body}
	if err := h.svc.PutCustomActionType(ctx, t); err != nil {
		return nil, err
	}
	out := map[string]any{"actionType": h.customTypeView(t)}
	if len(in.Tags) > 0 {
		out["tags"] = in.Tags
	}
	return out, nil
}

func (h *Handler) deleteCustomActionType(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		Category string `json:"category"`
		Provider string `json:"provider"`
		Version  string `json:"version"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	return nil, h.svc.DeleteCustomActionType(ctx, in.Category, in.Provider, in.Version)
}

// nonce is the nonce PollForJobs gives with a job, which AcknowledgeJob
// must bring back: derived from the job's own token, so it needs no
// storage and proves the worker was given the job.
func (h *Handler) nonce(jobID string) string {
	sum := sha256.Sum256([]byte("AcknowledgeJob nonce\x00" + h.svc.JobToken(jobID)))
	return hex.EncodeToString(sum[:16])
}

// jobData is a job as a worker is given it: CodePipeline's JobData.
func (h *Handler) jobData(j service.Job) map[string]any {
	// The worker's S3 client gets and puts them at ArtifactPrefix with
	// the job's artifactCredentials (artifacts.go).
	location := func(name string) map[string]any {
		return map[string]any{"type": "S3", "s3Location": map[string]string{"bucketName": ArtifactBucket, "objectKey": j.ID + "/" + name}}
	}
	inputs := []map[string]any{}
	for _, a := range j.InputArtifacts {
		inputs = append(inputs, map[string]any{"name": a.Name, "location": location(a.Name)})
	}
	outputs := []map[string]any{}
	for _, a := range j.OutputArtifacts {
		outputs = append(outputs, map[string]any{"name": a.Name, "location": location(a.Name)})
	}
	creds := h.jobCredentials(j.ID)
	cfg := j.Configuration
	if cfg == nil {
		cfg = map[string]string{}
	}
	data := map[string]any{
		"actionTypeId":        actionTypeID{Category: j.ActionType.Category, Owner: j.ActionType.Owner, Provider: j.ActionType.Provider, Version: j.ActionType.Version},
		"actionConfiguration": map[string]any{"configuration": cfg},
		"pipelineContext": map[string]any{
			"pipelineName":        j.Pipeline,
			"stage":               map[string]string{"name": j.Stage},
			"action":              map[string]string{"name": j.Action, "actionExecutionId": j.ID},
			"pipelineArn":         h.id.PipelineARN(j.Pipeline),
			"pipelineExecutionId": j.ExecutionID,
		},
		"inputArtifacts":  inputs,
		"outputArtifacts": outputs,
		"artifactCredentials": map[string]string{
			"accessKeyId": creds.AccessKeyID, "secretAccessKey": creds.SecretAccessKey, "sessionToken": creds.SessionToken,
		},
	}
	if j.ContinuationToken != "" {
		data["continuationToken"] = j.ContinuationToken
	}
	return data
}

func (h *Handler) pollForJobs(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		ActionTypeID *actionTypeID     `json:"actionTypeId"`
		MaxBatchSize int               `json:"maxBatchSize"`
		QueryParam   map[string]string `json:"queryParam"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if in.ActionTypeID == nil {
		return nil, validation("1 validation error detected: Value null at 'actionTypeId' failed to satisfy constraint: Member must not be null")
	}
	id := *in.ActionTypeID
	if id.Owner != pipeline.OwnerCustom {
		return nil, validation("actionTypeId.owner: job workers poll for Custom action types, not %q", id.Owner)
	}
	n, err := maxResults(in.MaxBatchSize, 1, 100)
	if err != nil {
		return nil, err
	}
	if len(in.QueryParam) > 0 {
		// Jobs are claimed by provider; one cannot be looked at and left.
		return nil, validation("queryParam: sluice does not filter jobs by configuration yet; poll without it")
	}
	if _, err := h.svc.CustomActionType(ctx, id.Category, id.Provider, id.Version); err != nil {
		return nil, err
	}
	worker := "aws/" + c.principal.Name
	jobs := []map[string]any{}
	for len(jobs) < n {
		claimed, err := h.svc.ClaimJob(ctx, worker, []string{id.Provider}, 0)
		if err != nil {
			return nil, err
		}
		if claimed == nil {
			break
		}
		j := claimed.Job
		// Handed over: the worker answers for it through the API, as a
		// function does, so the lease is not the worker's to renew.
		if err := h.svc.CompleteJob(ctx, j.ID, worker, service.JobResult{Invoked: true, Summary: "given to job worker " + c.principal.Name}); err != nil {
			return nil, err
		}
		jobs = append(jobs, map[string]any{"id": j.ID, "data": h.jobData(j), "nonce": h.nonce(j.ID), "accountId": h.id.Account})
	}
	return map[string]any{"jobs": jobs}, nil
}

func (h *Handler) acknowledgeJob(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		JobID string `json:"jobId"`
		Nonce string `json:"nonce"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	_, running, err := h.svc.JobDetails(ctx, in.JobID)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(in.Nonce), []byte(h.nonce(in.JobID))) != 1 {
		return nil, &Error{Type: "InvalidNonceException", Status: 400, Message: "The nonce was specified in an invalid format: give the nonce PollForJobs returned with the job"}
	}
	status := "InProgress"
	if !running {
		status = "Succeeded"
	}
	return map[string]string{"status": status}, nil
}

func (h *Handler) getJobDetails(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		JobID string `json:"jobId"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	j, _, err := h.svc.JobDetails(ctx, in.JobID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"jobDetails": map[string]any{"id": j.ID, "data": h.jobData(j), "accountId": h.id.Account}}, nil
}

func (h *Handler) putJobSuccess(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		JobID             string `json:"jobId"`
		ContinuationToken string `json:"continuationToken"`
		ExecutionDetails  *struct {
			Summary             string `json:"summary"`
			ExternalExecutionID string `json:"externalExecutionId"`
			PercentComplete     int    `json:"percentComplete"`
		} `json:"executionDetails"`
		OutputVariables map[string]string `json:"outputVariables"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	res := service.FunctionSuccess{ContinuationToken: in.ContinuationToken, OutputVariables: in.OutputVariables}
	if d := in.ExecutionDetails; d != nil {
		res.Summary = d.Summary
	}
	return nil, h.svc.PutJobSuccessResult(ctx, in.JobID, res)
}

func (h *Handler) putJobFailure(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		JobID          string `json:"jobId"`
		FailureDetails *struct {
			Type                string `json:"type"`
			Message             string `json:"message"`
			ExternalExecutionID string `json:"externalExecutionId"`
		} `json:"failureDetails"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if in.FailureDetails == nil || in.FailureDetails.Message == "" {
		return nil, validation("1 validation error detected: Value null at 'failureDetails.message' failed to satisfy constraint: Member must not be null")
	}
	msg := in.FailureDetails.Message
	if in.FailureDetails.Type != "" {
		msg = in.FailureDetails.Type + ": " + msg
	}
	return nil, h.svc.PutJobFailureResult(ctx, in.JobID, msg)
}
