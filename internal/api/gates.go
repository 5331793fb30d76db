package api

import (
	"net/http"

	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/wire"
)

func (s *Server) gateRoutes() {
	s.handle("POST /api/v1/pipelines/{name}/approvals", "PutApprovalResult", resPipeline, s.putApprovalResult)
	s.handle("GET /api/v1/locks", "ListLocks", resAll, s.listLocks)
}

func (s *Server) putApprovalResult(w http.ResponseWriter, r *http.Request) error {
	var req wire.ApprovalResult
	if err := decode(r, &req); err != nil {
		return err
	}
	var approved bool
	switch req.Result.Status {
	case "Approved":
		approved = true
	case "Rejected":
	default:
		return service.Errorf(service.CodeInvalid, "result.status: %q is not Approved or Rejected", req.Result.Status)
	}
	err := s.svc.PutApprovalResult(r.Context(), service.ApprovalAnswer{
		Pipeline: r.PathValue("name"), Stage: req.StageName, Action: req.ActionName, Token: req.Token,
		Approved: approved, Summary: req.Result.Summary, Principal: Principal(r.Context()),
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listLocks(w http.ResponseWriter, r *http.Request) error {
	locks, err := s.svc.Locks(r.Context())
	if err != nil {
		return err
	}
	out := []wire.LockState{}
	for _, l := range locks {
		ls := wire.LockState{Name: l.Name, Queue: []wire.ExecutionRef{}}
		if h := l.Holder; h != nil {
			since := h.Since
			ls.Holder, ls.Since = &wire.ExecutionRef{PipelineName: h.Pipeline, PipelineExecutionID: h.ExecutionID}, &since
		}
		for _, q := range l.Queue {
			ls.Queue = append(ls.Queue, wire.ExecutionRef{PipelineName: q.Pipeline, PipelineExecutionID: q.ExecutionID})
		}
		out = append(out, ls)
	}
	return writeJSON(w, http.StatusOK, out)
}
