package event

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/eventpattern"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/rule"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
)

// How the deliverer sends what rules queued, besides webhooks and mail.

// refusal is a delivery that no retry can make go through: the pipeline or
// function is not there, a variable's path is not in the event.
type refusal struct{ error }

func refusef(format string, args ...any) error { return refusal{fmt.Errorf(format, args...)} }

func refused(err error) bool {
	var r refusal
	return errors.As(err, &r)
}

// startForRule starts the pipeline a rule's target names, with variables
// taken from the event; the delivery's id is the start's idempotency key, so
// a delivery sent twice starts one execution.
func (rn *Runner) startForRule(ctx context.Context, d store.Delivery, t ruleTarget) error {
	event, err := eventpattern.DecodeEvent(d.Payload)
	if err != nil {
		return refusef("the event does not decode: %v", err)
	}
	vars := make(map[string]string, len(t.Variables))
	for k, v := range t.Variables {
		if !strings.HasPrefix(v, "$") {
			vars[k] = v
			continue
		}
		val, ok, err := eventpattern.ResolvePath(v, event)
		if err != nil {
			return refusef("variable %s: %v", k, err)
		}
		if !ok {
			return refusef("variable %s: the event has no %s", k, v)
		}
		vars[k] = textOf(val)
	}
	id, _ := event["id"].(string)
	detail := fmt.Sprintf("%s, event %s", rule.ARN(rn.svc.AWS(), t.Rule), id)
	req := service.StartRequest{
		Pipeline:       t.Pipeline,
		Variables:      vars,
		Trigger:        engine.Trigger{Type: service.TriggerPush, Detail: detail},
		IdempotencyKey: "rule-delivery/" + d.ID,
		Note:           &service.TriggerNote{Type: service.TriggerPush, Detail: "rule " + t.Rule + ", event " + id},
	}
	rn.pinObjectRevision(ctx, event, &req)
	_, err = rn.svc.StartExecution(ctx, req)
	switch {
	case err == nil, errors.Is(err, service.ErrAlreadyStarted):
		return nil
	case service.ErrorCode(err) == service.CodeNotFound || service.ErrorCode(err) == service.CodeInvalid:
		return refusef("start pipeline %s: %s", t.Pipeline, service.ErrorMessage(err))
	}
	return err
}

// pinObjectRevision pins the S3 source actions of the pipeline req starts
// that read the object an aws.s3 "Object Created" event is about to the
// event's revision (version id, else ETag), as CodePipeline's S3 source
// does when the EventBridge rule it recommends starts it; the start's key
// is then the one the store's notification uses for the same object
// revision, so the two start one execution.
func (rn *Runner) pinObjectRevision(ctx context.Context, event map[string]any, req *service.StartRequest) {
	if event["source"] != "aws.s3" || event["detail-type"] != "Object Created" {
		return
	}
	detail, _ := event["detail"].(map[string]any)
	bucket, _ := detail["bucket"].(map[string]any)
	object, _ := detail["object"].(map[string]any)
	name, _ := bucket["name"].(string)
	key, _ := object["key"].(string)
	version, _ := object["version-id"].(string)
	etag, _ := object["etag"].(string)
	sequencer, _ := object["sequencer"].(string)
	rev := pipeline.ObjectRevision(version, etag)
	if name == "" || key == "" || rev == "" {
		return
	}
	info, err := rn.svc.Pipeline(ctx, req.Pipeline)
	if err != nil || info.Declaration == nil {
		return // the start says what is wrong with the pipeline
	}
	for i, src := range info.Declaration.ObjectSources(name, key) {
		if i == 0 {
			req.SourceRevisions = map[string]string{}
			req.IdempotencyKey = pipeline.EventStartKey(req.Pipeline, src.Action.Name, rev, sequencer)
		}
		req.SourceRevisions[src.Action.Name] = rev
	}
}

// textOf is a value for a pipeline variable: a string as itself, anything
// else as JSON.
func textOf(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// invokeForRule hands the event (or the transformed input) to a function.
func (rn *Runner) invokeForRule(ctx context.Context, d store.Delivery, t ruleTarget) error {
	inv := rn.functions
	if inv == nil {
		return refusef("this server runs no functions for rules")
	}
	fn, err := rn.svc.Function(ctx, t.Function)
	if service.ErrorCode(err) == service.CodeNotFound {
		return refusef("function %s not found (sluice function apply)", t.Function)
	}
	if err != nil {
		return err
	}
	return inv.InvokeFunction(ctx, fn.Function, d.Payload)
}

// ruleMail writes a rule's delivery as a mail: the transformed input as it
// is, or the event told plainly ("sluice: pipeline app execution 1a2b3c4d
// FAILED", then its fields and the event itself).
func (rn *Runner) ruleMail(d store.Delivery) (subject, text string) {
	var t ruleTarget
	_ = json.Unmarshal(d.Target, &t)
	if t.Transformed {
		var str string
		if json.Unmarshal(d.Payload, &str) == nil {
			return "sluice: rule " + t.Rule, str
		}
		return "sluice: rule " + t.Rule, string(d.Payload)
	}
	var ev struct {
		ID         string          `json:"id"`
		DetailType string          `json:"detail-type"`
		Source     string          `json:"source"`
		Time       time.Time       `json:"time"`
		Resources  []string        `json:"resources"`
		Detail     json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(d.Payload, &ev); err != nil {
		return "sluice: rule " + t.Rule, string(d.Payload)
	}
	var b strings.Builder
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-11s %s\n", k+":", v)
		}
	}
	var det service.EventDetail
	isPipeline := strings.HasPrefix(ev.DetailType, "CodePipeline ") && json.Unmarshal(ev.Detail, &det) == nil && det.Pipeline != ""
	if isPipeline {
		what := "pipeline " + det.Pipeline
		switch {
		case det.Action != "":
			what += " action " + det.Stage + "/" + det.Action
		case det.Stage != "":
			what += " stage " + det.Stage
		}
		subject = fmt.Sprintf("sluice: %s execution %s %s", what, shortID(det.ExecutionID), det.State)
		fmt.Fprintf(&b, "%s of pipeline %s is %s.\n\n", strings.TrimPrefix(ev.DetailType, "CodePipeline "), det.Pipeline, det.State)
		row("Pipeline", fmt.Sprintf("%s (version %d)", det.Pipeline, det.Version))
		row("Execution", det.ExecutionID)
		row("Stage", det.Stage)
		row("Action", det.Action)
		if det.Type != nil {
			row("Provider", det.Type.Provider)
		}
		row("State", det.State)
		row("Summary", det.Summary)
		if det.ExecutionTrigger != nil {
			row("Trigger", strings.TrimSpace(det.ExecutionTrigger.Type+" "+det.ExecutionTrigger.Detail))
		}
		row("Time", ev.Time.UTC().Format(time.RFC3339))
		if det.ExecutionID != "" {
			row("Link", rn.svc.Link(fmt.Sprintf("/pipelines/%s/executions/%s", det.Pipeline, det.ExecutionID)))
		}
	} else if rd, ok := repositoryDetail(ev.DetailType, ev.Detail); ok {
		subject = repositoryMail(&b, rd, ev.Time)
	} else {
		subject = fmt.Sprintf("sluice: rule %s: %s", t.Rule, ev.DetailType)
		fmt.Fprintf(&b, "%s from %s.\n\n", ev.DetailType, ev.Source)
		row("Time", ev.Time.UTC().Format(time.RFC3339))
		row("Resources", strings.Join(ev.Resources, ", "))
	}
	row("Rule", t.Rule)
	row("Event", ev.ID)
	var pretty bytes.Buffer
	if json.Indent(&pretty, d.Payload, "", "  ") == nil {
		fmt.Fprintf(&b, "\nThe event:\n%s\n", pretty.String())
	}
	return subject, b.String()
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// repositoryDetail reads the detail of a push event of a hosted repository.
func repositoryDetail(detailType string, raw json.RawMessage) (service.RepositoryEventDetail, bool) {
	var d service.RepositoryEventDetail
	if detailType != service.RepositoryEvent || json.Unmarshal(raw, &d) != nil || d.RepositoryName == "" {
		return d, false
	}
	return d, true
}

// repositoryMail tells a push event plainly, as CodeCommit's notifications
// do, with the commits it brought: "sluice: repository app: branch main
// updated by ann (2 commits)".
func repositoryMail(b *strings.Builder, d service.RepositoryEventDetail, at time.Time) string {
	var push service.PushSluice
	if d.Sluice != nil {
		push = *d.Sluice
	}
	what := map[string]string{"referenceCreated": "created", "referenceUpdated": "updated", "referenceDeleted": "deleted"}[d.Event]
	if what == "" {
		what = d.Event
	}
	subject := fmt.Sprintf("sluice: repository %s: %s %s %s by %s", d.RepositoryName, d.ReferenceType, d.ReferenceName, what, push.CallerUser)
	if n := len(push.Commits); n > 0 {
		more := ""
		if push.CommitsTruncated {
			more = " or more"
		}
		subject += fmt.Sprintf(" (%d commit%s%s)", n, map[bool]string{true: "", false: "s"}[n == 1], more)
	}
	fmt.Fprintf(b, "%s %s of repository %s was %s by %s.\n\n", d.ReferenceType, d.ReferenceName, d.RepositoryName, what, push.CallerUser)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(b, "%-11s %s\n", k+":", v)
		}
	}
	row("Reference", d.ReferenceFullName)
	row("Old commit", d.OldCommitID)
	row("New commit", d.CommitID)
	row("Time", at.UTC().Format(time.RFC3339))
	if len(push.Commits) > 0 {
		b.WriteString("\nCommits, newest first:\n")
		for _, c := range push.Commits {
			first, _, _ := strings.Cut(c.Message, "\n")
			fmt.Fprintf(b, "  %s %s <%s>: %s\n", shortCommit(c.CommitID), c.Author.Name, c.Author.Email, first)
		}
		if push.CommitsTruncated {
			b.WriteString("  … and older ones\n")
		}
	}
	return subject
}

func shortCommit(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
