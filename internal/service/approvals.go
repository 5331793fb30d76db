package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/store"
)

// Manual approvals wait, as held jobs, for PutApprovalResult. The job's id is
// the approval's token: it names one attempt of one action, so an answer meant
// for an earlier attempt (before a retry) cannot approve a later one.

// ApprovalNotification is what receivers of an approval's notification get, in
// the shape of CodePipeline's approval message.
type ApprovalNotification struct {
	Region      string           `json:"region"`
	ConsoleLink string           `json:"consoleLink"`
	Approval    ApprovalRequest  `json:"approval"`
	Execution   NotificationExec `json:"execution"`
}

// ApprovalRequest is the approval part of an ApprovalNotification.
type ApprovalRequest struct {
	PipelineName       string `json:"pipelineName"`
	StageName          string `json:"stageName"`
	ActionName         string `json:"actionName"`
	Token              string `json:"token"`
	Expires            string `json:"expires"`
	ExternalEntityLink string `json:"externalEntityLink,omitempty"`
	ApprovalReviewLink string `json:"approvalReviewLink"`
	CustomData         string `json:"customData,omitempty"`
}

// NotificationExec names the execution waiting, which CodePipeline's message
// leaves to the console link.
type NotificationExec struct {
	ID string `json:"pipelineExecutionId"`
}

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
	_, err = s.decide(ctx, row.Pipeline, row.ExecutionID, func(tx store.Tx, st *engine.State) (engine.Happening, error) {
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

// notificationTarget is where one approval notification goes.
type notificationTarget struct {
	URL    string `json:"url,omitempty"`
	Secret string `json:"secret,omitempty"` // the name of a sluice secret that signs it
	To     string `json:"to,omitempty"`
}

// notifyApproval queues the notifications of an approval that started waiting:
// one delivery per target, keyed by the job so that a replay queues nothing twice.
func (s *Service) notifyApproval(ctx context.Context, row store.Job, j engine.Job) error {
	targets, err := pipeline.ParseNotificationTargets(j.Configuration["NotificationTarget"])
	if err != nil {
		s.log.Warn("approval notification target", "pipeline", j.Pipeline, "action", j.Action, "err", err)
		return nil // checked at apply; a variable may have made it wrong
	}
	if len(targets) == 0 {
		return nil
	}
	n := ApprovalNotification{
		Region:      s.region,
		ConsoleLink: s.link("/pipelines/" + j.Pipeline + "/executions/" + j.ExecutionID),
		Approval: ApprovalRequest{
			PipelineName: j.Pipeline, StageName: j.Stage, ActionName: j.Action, Token: row.ID,
			Expires:            row.Deadline.UTC().Format("2006-01-02T15:04Z"),
			ExternalEntityLink: j.Configuration["ExternalEntityLink"],
			ApprovalReviewLink: s.link("/pipelines/" + j.Pipeline + "/executions/" + j.ExecutionID + "#" + j.Stage + "/" + j.Action),
			CustomData:         j.Configuration["CustomData"],
		},
		Execution: NotificationExec{ID: j.ExecutionID},
	}
	payload, err := json.Marshal(n)
	if err != nil {
		return err
	}
	now := s.now()
	for i, t := range targets {
		kind, target := "webhook", notificationTarget{URL: t.Webhook, Secret: j.Configuration["NotificationSecret"]}
		if t.Email != "" {
			kind, target = "email", notificationTarget{To: t.Email}
		}
		raw, err := json.Marshal(target)
		if err != nil {
			return err
		}
		err = s.store.InsertDelivery(ctx, store.Delivery{
			ID: fmt.Sprintf("approval/%s/%d", row.ID, i), Kind: kind, Source: "approval/" + row.ID,
			Target: raw, Payload: payload, Next: now, Created: now, Updated: now,
		})
		if err != nil {
			return err
		}
	}
	s.deliveriesQueued.broadcast()
	return nil
}

// link is an address of the server's web console.
func (s *Service) link(path string) string {
	return s.baseURL + "/ui" + path
}
