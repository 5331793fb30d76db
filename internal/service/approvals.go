package service

import (
	"context"
	"errors"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/store"
)

// Manual approvals wait, as held jobs, for PutApprovalResult. The job's id is
// the approval's token: it names one attempt of one action, so an answer meant
// for an earlier attempt (before a retry) cannot approve a later one.

// ApprovalAnswer is a PutApprovalResult request.
type ApprovalAnswer struct {
	Pipeline, Stage, Action string
	Token                   string
	Approved                bool
	Summary                 string
	Principal               string
}

// CanAnswerApproval is the one place in the service that decides who may
// answer an approval: principals allowed sluice:PutApprovalResult on
// pipeline/NAME. The API's permission check has already asked the caller's
// policy exactly that before any answer reaches here (see api.handle), so what
// is left to refuse is an answer with no principal at all, one that did not
// come through the API's check.
func CanAnswerApproval(principal, pipelineName string) bool { return principal != "" }

// PutApprovalResult answers a manual approval.
func (s *Service) PutApprovalResult(ctx context.Context, a ApprovalAnswer) error {
	if !CanAnswerApproval(a.Principal, a.Pipeline) {
		return Errorf(CodeForbidden, "%s may not answer approvals of pipeline %s (sluice:PutApprovalResult)", a.Principal, a.Pipeline)
	}
	if len(a.Summary) > 512 {
		return Errorf(CodeInvalid, "summary: at most 512 characters")
	}
	if a.Token == "" {
		return Errorf(CodeInvalid, "token: required; it is the approval's token, shown by `sluice status` and in the notification")
	}
	row, err := s.store.Job(ctx, a.Token)
	if err != nil || row.Pipeline != a.Pipeline || row.Provider != providerManual {
		return Errorf(CodeNotFound, "pipeline %s has no approval with token %s", a.Pipeline, a.Token)
	}
	if row.Stage != a.Stage || row.Action != a.Action {
		return Errorf(CodeInvalid, "token %s belongs to approval %s/%s, not %s/%s", a.Token, row.Stage, row.Action, a.Stage, a.Action)
	}
	if row.Status != store.JobQueued {
		return s.approvalClosed(ctx, row)
	}
	err = s.decide(ctx, row.Pipeline, row.ExecutionID, func(tx store.Tx, st *engine.State) (engine.Happening, error) {
		cur, err := tx.Job(ctx, row.ID)
		if err != nil {
			return nil, err
		}
		if cur.Status != store.JobQueued {
			return nil, s.approvalClosed(ctx, cur)
		}
		status, verb := store.JobSucceeded, "approved"
		if !a.Approved {
			status, verb = store.JobFailed, "rejected"
		}
		if err := tx.FinishJob(ctx, store.FinishJobParams{ID: row.ID, Status: status, Message: verb + " by " + a.Principal, Now: s.now()}); err != nil {
			return nil, err
		}
		return engine.ApprovalAnswer{JobID: row.ID, Approved: a.Approved, By: a.Principal, Comment: a.Summary}, nil
	})
	if errors.Is(err, engine.ErrUnknownJob) {
		return s.approvalClosed(ctx, row)
	}
	return err
}

// approvalClosed explains why an approval can no longer be answered.
func (s *Service) approvalClosed(ctx context.Context, row store.Job) error {
	er, err := s.store.Execution(ctx, row.ExecutionID)
	if err != nil {
		return Errorf(CodeConflict, "approval %s/%s is no longer waiting", row.Stage, row.Action)
	}
	e, err := decodeExecution(er)
	if err != nil {
		return err
	}
	_, a, err := FindAction(e, row.Stage+"/"+row.Action)
	if err == nil && a.JobID == row.ID && a.Approval != nil {
		return Errorf(CodeConflict, "approval %s/%s of execution %s was already answered: %s by %s at %s",
			row.Stage, row.Action, e.ID, a.Approval.Status, a.Approval.By, a.Approval.Time.Format(time.RFC3339))
	}
	switch e.Status {
	case engine.ExecutionSuperseded:
		return Errorf(CodeConflict, "execution %s was superseded (%s); its approval %s/%s can no longer be answered", e.ID, e.Summary, row.Stage, row.Action)
	case engine.ExecutionStopped, engine.ExecutionStopping:
		return Errorf(CodeConflict, "execution %s was stopped; its approval %s/%s can no longer be answered", e.ID, row.Stage, row.Action)
	}
	if err == nil && a.JobID != row.ID {
		return Errorf(CodeConflict, "token %s is for an earlier attempt of approval %s/%s; answer the current one", row.ID, row.Stage, row.Action)
	}
	return Errorf(CodeConflict, "approval %s/%s of execution %s is no longer waiting (%s: %s)", row.Stage, row.Action, e.ID, row.Status, row.Message)
}
