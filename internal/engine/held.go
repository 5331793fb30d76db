package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// Some actions are not run by a worker but held by the server while they wait
// for something outside the pipeline: a person's answer (Manual), another
// pipeline's state (PipelineGate), an invoked execution (Pipeline); or while it
// changes the pipeline (PipelineUpdate). pipeline's provider table marks them
// Held. Their jobs are offered like any other, so that timeouts and the
// record of attempts work the same, but no worker claims them; the service
// answers them with the happenings below. A function (Function, Lambda) is
// claimed by a worker that invokes it, then answers through the same
// happenings (JobContinued) when it calls back.

// ActionProgress changes what a running action says while it waits, without
// ending it.
type ActionProgress struct {
	JobID      string
	Summary    string
	ExternalID string // "" keeps the one recorded
}

// ApprovalAnswer is a person's answer to a Manual action.
type ApprovalAnswer struct {
	JobID    string
	Approved bool
	By       string
	Comment  string
}

// JobContinued is a function's answer that it is not done: the action stays in
// progress and its function is invoked again, with Token, no sooner than After.
type JobContinued struct {
	JobID   string
	Token   string
	After   time.Duration
	Summary string
}

// Restart ends a self-updating action: the action succeeds, its execution ends
// Superseded, and Next (an execution of the new pipeline version, made with
// NewExecution) starts in its place.
type Restart struct {
	JobID   string
	Summary string
	Next    *Execution
}

func (d *decider) progress(h ActionProgress) error {
	e, a, err := d.findJob(h.JobID)
	if err != nil {
		return err
	}
	if a.Summary == h.Summary && (h.ExternalID == "" || a.ExternalID == h.ExternalID) {
		return nil
	}
	a.Summary = h.Summary
	if h.ExternalID != "" {
		a.ExternalID = h.ExternalID
	}
	a.LastUpdate = d.env.Now
	d.touch(e)
	if a.Decl.ActionTypeID.Provider == pipeline.ProviderPipelineGate {
		d.emit(e, GateEvent, e.Stages[e.Current].Name, a, "WAITING", h.Summary)
	}
	return nil
}

func (d *decider) answer(h ApprovalAnswer) error {
	e, a, err := d.findJob(h.JobID)
	if err != nil {
		return err
	}
	status, verb := "Approved", "approved"
	if !h.Approved {
		status, verb = "Rejected", "rejected"
	}
	a.Approval = &Approval{Status: status, Summary: h.Comment, By: h.By, Time: d.env.Now}
	summary := fmt.Sprintf("%s by %s", verb, h.By)
	if h.Comment != "" {
		summary += ": " + h.Comment
	}
	d.emit(e, ApprovalEvent, e.Stages[e.Current].Name, a, strings.ToUpper(status), summary)
	if !h.Approved {
		d.failAction(e, a, summary)
		return nil
	}
	a.Status = ActionSucceeded
	a.Summary = summary
	a.LastUpdate = d.env.Now
	d.touch(e)
	d.emitAction(e, a, "SUCCEEDED", summary)
	return nil
}

func (d *decider) continued(h JobContinued) error {
	e, a, err := d.findJob(h.JobID)
	if err != nil {
		return err
	}
	// A continuation is progress, not a lost worker: it does not count
	// against maxAttempts.
	a.RunAttempts = 0
	d.offer(e, &e.Stages[e.Current], a)
	if a.Status != ActionInProgress {
		return nil // offer failed the action (a variable no longer resolves)
	}
	j := &d.jobs[len(d.jobs)-1]
	j.ContinuationToken = h.Token
	j.NotBefore = d.env.Now.Add(h.After)
	a.Summary = orDefault(h.Summary, fmt.Sprintf("continues at %s", j.NotBefore.UTC().Format(time.RFC3339)))
	return nil
}

func (d *decider) restart(h Restart) error {
	e, a, err := d.findJob(h.JobID)
	if err != nil {
		return err
	}
	a.Status = ActionSucceeded
	a.Summary = h.Summary
	a.LastUpdate = d.env.Now
	d.emitAction(e, a, "SUCCEEDED", h.Summary)
	st := &e.Stages[e.Current]
	for i := range st.Actions {
		o := &st.Actions[i]
		if o.Status == ActionInProgress {
			o.Status = ActionAbandoned
			o.Summary = "abandoned: the pipeline was updated and restarted"
			o.LastUpdate = d.env.Now
			d.cancel = append(d.cancel, CancelJob{JobID: o.JobID, Reason: "pipeline updated"})
			d.emitAction(e, o, "ABANDONED", o.Summary)
		}
	}
	st.Status = StageSucceeded
	e.Status = ExecutionSuperseded
	e.Waiting = false
	e.WaitingFor = ""
	e.Summary = fmt.Sprintf("superseded by execution %s on pipeline version %d: %s", h.Next.ID, h.Next.Version, h.Summary)
	d.touch(e)
	d.emit(e, StageEvent, st.Name, nil, "SUCCEEDED", "")
	d.emit(e, PipelineEvent, "", nil, "SUPERSEDED", e.Summary)

	d.touch(h.Next)
	d.emit(h.Next, PipelineEvent, "", nil, "STARTED", "")
	d.supersedeWaiting(h.Next)
	return nil
}

// Default timeouts of the actions that wait on people and other pipelines.
const (
	DefaultApprovalTimeout = 7 * 24 * time.Hour
	DefaultGateTimeout     = 7 * 24 * time.Hour
)

func timeoutOf(a pipeline.Action) time.Duration {
	if a.TimeoutInMinutes > 0 {
		return time.Duration(a.TimeoutInMinutes) * time.Minute
	}
	switch a.ActionTypeID.Provider {
	case pipeline.ProviderManual:
		return DefaultApprovalTimeout
	case pipeline.ProviderPipelineGate:
		return DefaultGateTimeout
	}
	return DefaultTimeout
}

func timeoutMessage(a pipeline.Action) string {
	t := formatDuration(timeoutOf(a))
	switch a.ActionTypeID.Provider {
	case pipeline.ProviderManual:
		return fmt.Sprintf("approval timed out after %s without an answer", t)
	case pipeline.ProviderPipelineGate:
		return fmt.Sprintf("gate timed out after %s still waiting for pipeline %s", t, a.Configuration[pipeline.ConfigPipelineName])
	case pipeline.ProviderFunction, pipeline.ProviderLambda:
		return fmt.Sprintf("function %s did not answer within %s", a.Configuration["FunctionName"], t)
	}
	if IsRule(a) {
		return "rule timed out after " + t
	}
	return "action timed out after " + t
}

// upstreamLookup resolves #{upstream.NAME}.
func upstreamLookup(u *Upstream, name string) (string, bool) {
	if u == nil {
		return "", false
	}
	switch name {
	case "PipelineName":
		return u.Pipeline, true
	case "PipelineExecutionId":
		return u.ExecutionID, true
	case "Status":
		return string(u.Status), true
	case "RevisionId":
		if len(u.SourceRevisions) > 0 {
			return u.SourceRevisions[0].RevisionID, true
		}
		return "", false
	}
	if action, ok := strings.CutPrefix(name, "RevisionId_"); ok {
		for _, r := range u.SourceRevisions {
			if r.ActionName == action {
				return r.RevisionID, true
			}
		}
		return "", false
	}
	v, ok := u.Variables[name]
	return v, ok
}
