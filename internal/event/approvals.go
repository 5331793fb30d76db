package event

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/store"
)

// Approvals' notifications: when a Manual action starts waiting, the
// service's reactor hands it to NotifyApproval (service.ApprovalNotifier),
// which queues one delivery per notification target; the deliverer sends
// them.

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

// notificationTarget is where one approval notification goes.
type notificationTarget struct {
	URL    string `json:"url,omitempty"`
	Secret string `json:"secret,omitempty"` // the name of a sluice secret that signs it
	To     string `json:"to,omitempty"`
}

// NotifyApproval queues the notifications of an approval that started waiting:
// one delivery per target, keyed by the job so that a replay queues nothing twice.
func (rn *Runner) NotifyApproval(ctx context.Context, row store.Job, j engine.Job) error {
	targets, err := pipeline.ParseNotificationTargets(j.Configuration["NotificationTarget"])
	if err != nil {
		rn.log.Warn("approval notification target", "pipeline", j.Pipeline, "action", j.Action, "err", err)
		return nil // checked at apply; a variable may have made it wrong
	}
	if len(targets) == 0 {
		return nil
	}
	n := ApprovalNotification{
		Region:      rn.svc.Region(),
		ConsoleLink: rn.svc.Link("/pipelines/" + j.Pipeline + "/executions/" + j.ExecutionID),
		Approval: ApprovalRequest{
			PipelineName: j.Pipeline, StageName: j.Stage, ActionName: j.Action, Token: row.ID,
			Expires:            row.Deadline.UTC().Format("2006-01-02T15:04Z"),
			ExternalEntityLink: j.Configuration["ExternalEntityLink"],
			ApprovalReviewLink: rn.svc.Link("/pipelines/" + j.Pipeline + "/executions/" + j.ExecutionID + "#" + j.Stage + "/" + j.Action),
			CustomData:         j.Configuration["CustomData"],
		},
		Execution: NotificationExec{ID: j.ExecutionID},
	}
	payload, err := json.Marshal(n)
	if err != nil {
		return err
	}
	// The server signs webhook notifications with a secret the pipeline
	// names: only when the pipeline's role may read that secret, as a job
	// gets a secret only then. Otherwise a pipeline author (or a repository
	// updating its pipeline) could have bodies of their choosing signed with
	// any secret of the server's. Mail is sent either way.
	secret, signOK := j.Configuration["NotificationSecret"], true
	if secret != "" {
		if err := rn.svc.JobRoleAllows(ctx, j, "GetSecretValue", "secret/"+secret); err != nil {
			signOK = false
			rn.log.Warn("approval notification: webhook targets not notified, the pipeline's role may not sign with NotificationSecret",
				"pipeline", j.Pipeline, "stage", j.Stage, "action", j.Action, "secret", secret, "err", err)
		}
	}
	now := rn.svc.Now()
	for i, t := range targets {
		kind, target := "webhook", notificationTarget{URL: t.Webhook, Secret: secret}
		if t.Email != "" {
			kind, target = "email", notificationTarget{To: t.Email}
		} else if !signOK {
			continue
		}
		raw, err := json.Marshal(target)
		if err != nil {
			return err
		}
		err = rn.svc.Store().InsertDelivery(ctx, store.Delivery{
			ID: fmt.Sprintf("approval/%s/%d", row.ID, i), Kind: kind, Source: "approval/" + row.ID,
			Target: raw, Payload: payload, Next: now, Created: now, Updated: now,
		})
		if err != nil {
			return err
		}
	}
	rn.deliveryQueued()
	return nil
}
