package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/access"

	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/wire"
)

const maxLogChunk = 4 << 20

// resClaimRegion is the region a worker claims jobs in, region/NAME (the
// home region's name when the request names none): a token whose policy
// allows sluice:PollForJobs on region/eu-west-1 alone is a worker of that
// region, and cannot take another region's jobs (and their inputs and
// secrets) by saying it is elsewhere.
func (s *Server) resClaimRegion() resourceFunc {
	return bodyResource("region", 1<<20, func(_ *http.Request, body []byte) (string, error) {
		var req wire.ClaimRequest
		if err := json.Unmarshal(body, &req); err != nil {
			return "", service.Errorf(service.CodeInvalid, "request body: %v", err)
		}
		if req.Region == "" {
			return s.svc.Region(), nil
		}
		return req.Region, nil
	})
}

func (s *Server) claimJob(w http.ResponseWriter, r *http.Request) error {
	var req wire.ClaimRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.WaitSeconds < 0 || req.WaitSeconds > 60 {
		return service.Errorf(service.CodeInvalid, "waitSeconds: must be from 0 to 60")
	}
	cj, err := s.svc.ClaimJobIn(r.Context(), req.WorkerID, req.Region, req.Providers, time.Duration(req.WaitSeconds)*time.Second)
	if err != nil {
		return err
	}
	if cj == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	out, err := s.wireJob(r, cj)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// wireJob is a claimed job as its worker is given it.
func (s *Server) wireJob(r *http.Request, cj *service.ClaimedJob) (wire.Job, error) {
	j := cj.Job
	out := wire.Job{
		ID: j.ID, PipelineExecutionID: j.ExecutionID, PipelineName: j.Pipeline, Stage: j.Stage, Action: j.Action,
		Attempt: j.Attempt,
		ActionTypeID: wire.ActionTypeID{
			Category: j.ActionType.Category, Owner: j.ActionType.Owner, Provider: j.ActionType.Provider, Version: j.ActionType.Version,
		},
		Configuration: j.Configuration, Revision: j.Revision, Commands: j.Commands, Variables: j.Variables,
		OutputVariables: j.OutputVariables, Deadline: j.Deadline, LeaseUntil: cj.LeaseUntil,
		HeartbeatSeconds: cj.Heartbeat.Seconds(), Region: s.svc.JobRegion(j),
	}
	if pipeline.IsBuild(j.ActionType.Provider) {
		// The project as it is now, as CodeBuild reads it when a build starts.
		// A missing one leaves Project empty, and the provider says so.
		if info, err := s.svc.Project(r.Context(), j.Configuration["ProjectName"]); err == nil {
			if out.Project, err = json.Marshal(info.Project); err != nil {
				return out, err
			}
			// Each attempt is a build of its own, with its own number.
			if out.BuildNumber, err = s.svc.NextBuildNumber(r.Context(), info.Project.Name); err != nil {
				return out, err
			}
		}
	}
	if pipeline.IsFunction(j.ActionType.Provider) {
		// As for projects: a missing function leaves Function empty.
		if info, err := s.svc.Function(r.Context(), j.Configuration["FunctionName"]); err == nil {
			if out.Function, err = json.Marshal(info.Function); err != nil {
				return out, err
			}
		}
		out.JobToken, out.ContinuationToken = s.svc.JobToken(j.ID), j.ContinuationToken
	}
	for _, a := range j.InputArtifacts {
		out.InputArtifacts = append(out.InputArtifacts, wire.Artifact{Name: a.Name})
	}
	for _, a := range j.OutputArtifacts {
		out.OutputArtifacts = append(out.OutputArtifacts, wire.Artifact{Name: a.Name, Files: a.Files})
	}
	return out, nil
}

func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) error {
	var req wire.HeartbeatRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.WaitSeconds < 0 || req.WaitSeconds > 60 {
		return service.Errorf(service.CodeInvalid, "waitSeconds: must be from 0 to 60")
	}
	wait := time.Duration(req.WaitSeconds * float64(time.Second))
	until, err := s.svc.Heartbeat(r.Context(), r.PathValue("id"), req.WorkerID, wait)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wire.HeartbeatResult{LeaseUntil: until})
}

// jobResult records a job's result. With ?next=PROVIDER,… (wire.NextParam)
// it is also the worker's claim of its next job, without waiting: the
// answer is that job (200), or 204 when none is queued, as a claim's. A
// server that predates the parameter ignores it and answers 204, so a
// worker asking for it works with old servers as with new ones.
func (s *Server) jobResult(w http.ResponseWriter, r *http.Request) error {
	var req wire.JobResult
	if err := decode(r, &req); err != nil {
		return err
	}
	var next []string
	if v := r.URL.Query().Get(wire.NextParam); v != "" {
		next = strings.Split(v, ",")
		// Asking for the next job is a claim, which the caller's policy
		// must allow as a claim's: PollForJobs on the region the worker
		// claims in (see resClaimRegion). Refused, nothing is done.
		region := req.NextRegion
		if region == "" {
			region = s.svc.Region()
		}
		if err := caller(r).Authorize("PollForJobs", "region/"+region); err != nil {
			ci := callInfoFrom(r.Context())
			ci.Denied, ci.Err = true, service.ErrorMessage(err)
			return err
		}
	}
	cj, err := s.svc.CompleteAndClaim(r.Context(), r.PathValue("id"), req.WorkerID, req.NextRegion, service.JobResult{
		Succeeded: req.Succeeded, Summary: req.Summary, Message: req.Message, OutputVariables: req.OutputVariables,
		Log: req.Log, Invoked: req.Invoked, FailedArtifacts: req.FailedArtifacts,
	}, next)
	if err != nil {
		return err
	}
	if cj == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	// The trail keeps which job the worker took with this result.
	callInfoFrom(r.Context()).setParam("nextJobId", cj.Job.ID)
	out, err := s.wireJob(r, cj)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) appendLog(w http.ResponseWriter, r *http.Request) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxLogChunk+1))
	if err != nil {
		return service.Errorf(service.CodeInvalid, "read log: %v", err)
	}
	if len(data) > maxLogChunk {
		return service.Errorf(service.CodeInvalid, "log chunk larger than %d bytes", maxLogChunk)
	}
	if err := s.svc.AppendLog(r.Context(), r.PathValue("id"), r.URL.Query().Get("workerId"), data); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// jobPrincipalPrefix names the principal of a job token: "job/ID".
const jobPrincipalPrefix = access.JobPrincipalPrefix

// holder is who claims to hold a job: the worker a request names, or, for a
// request made with the job's own token, the job token itself.
func holder(r *http.Request) string {
	if strings.HasPrefix(Principal(r.Context()), jobPrincipalPrefix) {
		return service.JobTokenHolder
	}
	return r.URL.Query().Get("workerId")
}

func (s *Server) jobSuccess(w http.ResponseWriter, r *http.Request) error {
	var req wire.JobSuccess
	if err := decode(r, &req); err != nil {
		return err
	}
	err := s.svc.PutJobSuccessResult(r.Context(), r.PathValue("id"), service.FunctionSuccess{
		ContinuationToken: req.ContinuationToken, OutputVariables: req.OutputVariables, Summary: req.Summary,
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) jobFailure(w http.ResponseWriter, r *http.Request) error {
	var req wire.JobFailure
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := s.svc.PutJobFailureResult(r.Context(), r.PathValue("id"), req.Message); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) jobInput(w http.ResponseWriter, r *http.Request) error {
	rc, err := s.svc.OpenInput(r.Context(), r.PathValue("id"), holder(r), r.PathValue("artifact"))
	return serveZip(w, rc, err, "input artifact "+r.PathValue("artifact"))
}

func (s *Server) jobOutput(w http.ResponseWriter, r *http.Request) error {
	n, err := s.svc.PutOutput(r.Context(), r.PathValue("id"), holder(r), r.PathValue("artifact"), r.Body)
	if err != nil {
		return err
	}
	w.Header().Set("X-Sluice-Size", strconv.FormatInt(n, 10))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := service.EventFilter{Pipeline: q.Get("pipeline"), Type: q.Get("type"), Limit: 1000, Newest: q.Get("newest") == "true"}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return service.Errorf(service.CodeInvalid, "after: %q is not an event sequence number", v)
		}
		f.AfterSeq = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return service.Errorf(service.CodeInvalid, "limit: %q is not a number from 1 to 10000", v)
		}
		f.Limit = n
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return service.Errorf(service.CodeInvalid, "since: %q is not an RFC 3339 time", v)
		}
		f.Since = t
	}
	evs, err := s.svc.Events(r.Context(), f)
	if err != nil {
		return err
	}
	out := struct {
		Events []service.Event `json:"events"`
	}{Events: evs}
	if out.Events == nil {
		out.Events = []service.Event{}
	}
	return writeJSON(w, http.StatusOK, out)
}
