package event

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/sluice-ci/sluice/internal/connection"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/githost"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
)

// Commit statuses: an execution whose source action read a commit of a git
// host connection's repository (CodeStarSourceConnection, CodeConnections)
// reports on that commit: pending when it starts, then success, failure or
// error when it ends, linking to its console page, under the context the
// pipeline's commitStatus names (sluice/PIPELINE by default). The rule
// runner's follower of the event log, which already reads every execution
// event once and durably, queues one delivery per status (kind
// commitstatus, source commitstatus/PIPELINE/EXECUTION); the deliverer
// sends it with the same retries and backoff as rules' webhooks, for at most
// statusRetryFor, after which it stays as a dead letter. A status that
// cannot be set never touches the execution. After a crash, the event is
// read again (the cursor had not moved) or its delivery is still Pending:
// no final status is lost.

// DeliveryCommitStatus is the kind of commit status deliveries.
const DeliveryCommitStatus = "commitstatus"

// statusRetryFor bounds how long one status is retried.
const statusRetryFor = "1h"

// connectionSources are the source providers that read through a git host
// connection.
var connectionSources = map[string]bool{"CodeStarSourceConnection": true, "CodeConnections": true}

// commitStatusTarget is a commit status delivery's target document.
type commitStatusTarget struct {
	Connection  string        `json:"connection"`
	Repository  string        `json:"repository"`
	Commit      string        `json:"commit"`
	State       githost.State `json:"state"`
	Final       bool          `json:"final"`
	Context     string        `json:"context"`
	Description string        `json:"description"`
	URL         string        `json:"url"`
	Pipeline    string        `json:"pipeline"`
	ExecutionID string        `json:"executionId"`
	RetryFor    string        `json:"retryFor"`
}

// statusOf maps an execution event's state to a commit status.
func statusOf(state string) (githost.State, bool) {
	switch state {
	case "STARTED":
		return githost.StatePending, true
	case "SUCCEEDED":
		return githost.StateSuccess, true
	case "FAILED":
		return githost.StateFailure, true
	case "STOPPED", "SUPERSEDED":
		return githost.StateStopped, true
	}
	return "", false
}

// CommitStatusSource is the deliveries source of an execution's commit
// statuses.
func CommitStatusSource(pipeline, executionID string) string {
	return DeliveryCommitStatus + "/" + pipeline + "/" + executionID
}

// statusEvent queues the commit statuses one event calls for, and reports
// how many.
func (rn *Runner) statusEvent(ctx context.Context, ev service.Event) (int, error) {
	if ev.DetailType != engine.PipelineEvent {
		return 0, nil
	}
	d, ok := ev.Detail.(service.EventDetail)
	if !ok {
		return 0, nil
	}
	state, ok := statusOf(d.State)
	if !ok {
		return 0, nil
	}
	decl, version, err := rn.svc.Declaration(ctx, d.Pipeline)
	if err != nil {
		if service.ErrorCode(err) == service.CodeNotFound {
			return 0, nil // deleted since
		}
		return 0, err
	}
	if !decl.ReportsCommitStatus() || (version == d.Version && !readsConnection(decl)) {
		// An execution of the version stored now runs its actions: without
		// a connection source there is no commit to report on, and the
		// execution need not be read.
		return 0, nil
	}
	e, err := rn.svc.Execution(ctx, d.Pipeline, d.ExecutionID)
	if err != nil {
		if service.ErrorCode(err) == service.CodeNotFound {
			return 0, nil
		}
		return 0, err
	}
	var conns []service.ConnectionInfo
	queued := 0
	for _, st := range e.Stages {
		for _, a := range st.Actions {
			if !connectionSources[a.Decl.ActionTypeID.Provider] {
				continue
			}
			sha := revisionOf(e, a.Decl.Name)
			repo := a.Decl.Configuration["FullRepositoryId"]
			if !isCommit(sha) || repo == "" {
				continue // not started by a commit (yet): nothing to report on
			}
			if conns == nil {
				if conns, err = rn.svc.Connections(ctx); err != nil {
					return queued, err
				}
			}
			c := matchConnection(conns, a.Decl.Configuration["ConnectionArn"])
			if c == nil {
				continue
			}
			// The secret the statuses are written with: the token, or the
			// key of the GitHub App that mints one.
			secret := c.Token
			if c.App != nil {
				secret = c.App.PrivateKeySecret
			}
			if secret == "" {
				continue
			}
			// Statuses are written with the connection's token: only for
			// a pipeline whose role may read it, as its source job must.
			// Otherwise a pipeline's author could have sluice write on any
			// repository the token reaches.
			job := engine.Job{ID: "commitstatus", Pipeline: e.Pipeline, ExecutionID: e.ID, Stage: st.Name, Action: a.Decl.Name,
				ActionType: a.Decl.ActionTypeID, Configuration: a.Decl.Configuration}
			if err := rn.svc.JobRoleAllows(ctx, job, "GetSecretValue", "secret/"+secret); err != nil {
				rn.log.Warn("commit status not set", "pipeline", e.Pipeline, "execution", e.ID, "err", err)
				continue
			}
			t := commitStatusTarget{
				Connection: c.Name, Repository: repo, Commit: sha, State: state, Final: state != githost.StatePending,
				Context: decl.CommitStatusContext(), Description: describeStatus(state, e, d.Summary),
				URL:      rn.svc.Link("/pipelines/" + e.Pipeline + "/executions/" + e.ID),
				Pipeline: e.Pipeline, ExecutionID: e.ID, RetryFor: statusRetryFor,
			}
			raw, err := json.Marshal(t)
			if err != nil {
				return queued, err
			}
			phase := "pending"
			if t.Final {
				phase = "final"
			}
			now := rn.svc.Now()
			err = rn.svc.Store().InsertDelivery(ctx, store.Delivery{
				ID:   CommitStatusSource(e.Pipeline, e.ID) + "/" + a.Decl.Name + "/" + phase,
				Kind: DeliveryCommitStatus, Source: CommitStatusSource(e.Pipeline, e.ID),
				Target: raw, Payload: raw, Status: store.DeliveryPending, Next: now, Created: now, Updated: now,
			})
			if err != nil {
				return queued, err
			}
			queued++
		}
	}
	return queued, nil
}

// readsConnection reports whether a pipeline has a source action that
// reads through a git host connection.
func readsConnection(decl *pipeline.Pipeline) bool {
	for _, st := range decl.Stages {
		for _, a := range st.Actions {
			if connectionSources[a.ActionTypeID.Provider] {
				return true
			}
		}
	}
	return false
}

func revisionOf(e *engine.Execution, action string) string {
	for _, r := range e.SourceRevisions {
		if r.ActionName == action {
			return r.RevisionID
		}
	}
	return ""
}

func isCommit(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	return strings.Trim(s, "0123456789abcdef") == "" && strings.Trim(s, "0") != ""
}

func matchConnection(conns []service.ConnectionInfo, arn string) *connection.Connection {
	for i := range conns {
		c := &conns[i].Connection
		if c.IsGitHost() && c.MatchesARN(arn) {
			return c
		}
	}
	return nil
}

func describeStatus(s githost.State, e *engine.Execution, summary string) string {
	switch s {
	case githost.StatePending:
		return "Running " + e.Pipeline
	case githost.StateSuccess:
		return e.Pipeline + " succeeded"
	case githost.StateFailure:
		if summary != "" {
			return e.Pipeline + " failed: " + summary
		}
		return e.Pipeline + " failed"
	}
	return e.Pipeline + " was stopped"
}

// errPendingFirst defers a final status while its action's pending status
// is still to be settled.
var errPendingFirst = errors.New("waiting for the pending status to be sent or dropped first")

// sendCommitStatus sets one commit status. Hosts keep the latest status per
// context, so the two statuses of an action must arrive in order: a pending
// status whose final one is already queued is dropped (it would hide the
// verdict), and a final status waits, retried, while the pending one is
// still Pending (it may be on its way).
func (rn *Runner) sendCommitStatus(ctx context.Context, d store.Delivery) error {
	var t commitStatusTarget
	if err := json.Unmarshal(d.Target, &t); err != nil {
		return refusef("decode commit status %s: %v", d.ID, err)
	}
	action := strings.TrimSuffix(strings.TrimSuffix(d.ID, "/final"), "/pending")
	others, err := rn.svc.Store().Deliveries(ctx, d.Source, 50)
	if err != nil {
		return err
	}
	for _, o := range others {
		switch {
		case !t.Final && o.ID == action+"/final":
			return nil // the verdict is on its way, or there
		case t.Final && o.ID == action+"/pending" && o.Status == store.DeliveryPending:
			return errPendingFirst
		}
	}
	info, err := rn.svc.Connection(ctx, t.Connection)
	if err != nil {
		if service.ErrorCode(err) == service.CodeNotFound {
			return refusef("connection %s was deleted", t.Connection)
		}
		return err
	}
	cl, err := info.Connection.OpenHostClient(ctx, rn.svc, rn.cfg.HTTPClient)
	if err != nil {
		return refusef("%v", err)
	}
	err = cl.SetStatus(ctx, t.Repository, t.Commit, githost.Status{State: t.State, Context: t.Context, Description: t.Description, TargetURL: t.URL})
	if githost.IsPermanent(err) {
		return refusef("%s %s of %s: %v", t.Context, t.State, t.Repository, err)
	}
	return err
}

// CommitStatuses lists the commit statuses an execution queued, newest
// first, with how sending them went.
func (rn *Runner) CommitStatuses(ctx context.Context, pipeline, executionID string) ([]store.Delivery, error) {
	return rn.svc.Store().Deliveries(ctx, CommitStatusSource(pipeline, executionID), 100)
}
