package service

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-ci/sluice/internal/awsid"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/store"
)

// Event is an event as API clients and rules see it: EventBridge's envelope
// around CodePipeline's (or CodeCommit's) detail, field for field as AWS
// sends it, so that a pattern or a handler written for CodePipeline reads it
// the same way. Seq, the event's place in sluice's log, is sluice's own.
type Event struct {
	Version    string    `json:"version"`
	ID         string    `json:"id"`
	DetailType string    `json:"detail-type"`
	Source     string    `json:"source"`
	Account    string    `json:"account"`
	Time       time.Time `json:"time"`
	Region     string    `json:"region"`
	Resources  []string  `json:"resources"`
	// Detail is an EventDetail for pipeline, stage, action, approval, gate
	// and lock events, a RepositoryEventDetail for pushes.
	Detail any   `json:"detail"`
	Seq    int64 `json:"seq"`
}

// MarshalJSON writes the time as EventBridge does, to the second in UTC
// ("2020-01-24T22:03:07Z"), which handlers parse with a fixed layout.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	return json.Marshal(struct {
		plain
		Time string `json:"time"`
	}{plain(e), e.Time.UTC().Format(awsTime)})
}

// The sources of events. Pipeline, stage and action state changes and
// pushes carry AWS's; sluice's own kinds (approvals, gates, locks) and its
// schedules carry sluice's.
const (
	SourceCodePipeline = "aws.codepipeline"
	SourceCodeCommit   = "aws.codecommit"
	SourceSluice       = "sluice.codepipeline" // also what the others said before; see rule.Deprecations
)

const (
	awsTime      = "2006-01-02T15:04:05Z"
	awsStartTime = "2006-01-02T15:04:05.000Z"
)

// RepositoryEvent is the detail type of pushes to hosted repositories.
const RepositoryEvent = "CodeCommit Repository State Change"

// RepositoryEventDetail is the detail of a push event, in CodeCommit's shape.
type RepositoryEventDetail struct {
	CallerUserArn     string `json:"callerUserArn"`
	CommitID          string `json:"commitId,omitempty"`
	Event             string `json:"event"` // referenceCreated, referenceUpdated, referenceDeleted
	OldCommitID       string `json:"oldCommitId,omitempty"`
	ReferenceFullName string `json:"referenceFullName"`
	ReferenceName     string `json:"referenceName"`
	ReferenceType     string `json:"referenceType"` // branch, tag, reference
	RepositoryID      string `json:"repositoryId"`
	RepositoryName    string `json:"repositoryName"`
	// Sluice holds what CodeCommit's events do not have: the push, who
	// made it, and the commits it brought.
	Sluice *PushSluice `json:"sluice,omitempty"`
}

// PushSluice is sluice's own part of a push event.
type PushSluice struct {
	CallerUser string `json:"caller"`
	PushID     string `json:"push-id"`
	// Commits are the commits the update brought, newest first (CodeCommit's
	// users fetch them with GetCommit).
	Commits          []PushCommit `json:"commits,omitempty"`
	CommitsTruncated bool         `json:"commits-truncated,omitempty"`
}

// EventDetail is the detail of a CodePipeline state-change event, with
// CodePipeline's fields; what only sluice knows (the summary, the job, the
// action's attempt, the lock of a lock event) is written under "sluice",
// a name CodePipeline's detail does not use.
type EventDetail struct {
	Pipeline         string           `json:"pipeline"`
	ExecutionID      string           `json:"execution-id"`
	StartTime        string           `json:"start-time,omitempty"`
	ExecutionTrigger *EventTrigger    `json:"execution-trigger,omitempty"`
	Stage            string           `json:"stage,omitempty"`
	Action           string           `json:"action,omitempty"`
	ExecutionResult  *ExecutionResult `json:"execution-result,omitempty"`
	InputArtifacts   []EventArtifact  `json:"input-artifacts,omitempty"`
	OutputArtifacts  []EventArtifact  `json:"output-artifacts,omitempty"`
	State            string           `json:"state"`
	Region           string           `json:"region,omitempty"`
	Type             *EventType       `json:"type,omitempty"`
	Version          int              `json:"version"`
	Attempt          int              `json:"pipeline-execution-attempt,omitempty"`
	StopComments     string           `json:"stop-execution-comments,omitempty"`

	Summary       string `json:"-"`
	JobID         string `json:"-"`
	ActionAttempt int    `json:"-"`
	Lock          string `json:"-"`
}

// eventSluice is the "sluice" object of an EventDetail.
type eventSluice struct {
	Summary       string `json:"summary,omitempty"`
	JobID         string `json:"job-id,omitempty"`
	ActionAttempt int    `json:"action-attempt,omitempty"`
	Lock          string `json:"lock,omitempty"`
}

// MarshalJSON writes sluice's own fields under "sluice".
func (d EventDetail) MarshalJSON() ([]byte, error) { return json.Marshal(d.wire()) }

// wire is what MarshalJSON writes: encoded directly (encodeEvent), it
// spares encoding/json checking and compacting MarshalJSON's output again.
func (d EventDetail) wire() any {
	type plain EventDetail
	var own *eventSluice
	if d.Summary != "" || d.JobID != "" || d.ActionAttempt != 0 || d.Lock != "" {
		own = &eventSluice{Summary: d.Summary, JobID: d.JobID, ActionAttempt: d.ActionAttempt, Lock: d.Lock}
	}
	return struct {
		plain
		Sluice *eventSluice `json:"sluice,omitempty"`
	}{plain(d), own}
}

// UnmarshalJSON reads what MarshalJSON writes, and the events stored before
// sluice's own fields moved under "sluice" (summary, job-id and lock at the
// top, pipeline-execution-attempt then counting the action's attempts).
func (d *EventDetail) UnmarshalJSON(b []byte) error {
	type plain EventDetail
	var v struct {
		plain
		Sluice *eventSluice `json:"sluice"`
		// the shape before: sluice's fields at the top
		Summary string `json:"summary"`
		JobID   string `json:"job-id"`
		Lock    string `json:"lock"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = EventDetail(v.plain)
	if v.Sluice != nil {
		d.Summary, d.JobID, d.ActionAttempt, d.Lock = v.Sluice.Summary, v.Sluice.JobID, v.Sluice.ActionAttempt, v.Sluice.Lock
	} else {
		d.Summary, d.JobID, d.Lock = v.Summary, v.JobID, v.Lock
	}
	return nil
}

// ExecutionResult is what an action that ended reports, as CodePipeline's
// action events write it.
type ExecutionResult struct {
	ExternalExecutionURL     string `json:"external-execution-url,omitempty"`
	ExternalExecutionSummary string `json:"external-execution-summary,omitempty"`
	ExternalExecutionID      string `json:"external-execution-id,omitempty"`
	ErrorCode                string `json:"error-code,omitempty"`
}

// EventArtifact is an input or output artifact of an action event, where
// the artifact store keeps it (see artifactLocation).
type EventArtifact struct {
	Name       string     `json:"name"`
	S3Location S3Location `json:"s3location"`
}

// S3Location is a bucket and an object key.
type S3Location struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

// EventTrigger is what started the execution, as CodePipeline's events write it.
type EventTrigger struct {
	Type   string `json:"trigger-type"`
	Detail string `json:"trigger-detail,omitempty"`
}

// EventType is an action's type inside an event.
type EventType struct {
	Owner    string `json:"owner"`
	Provider string `json:"provider"`
	Category string `json:"category"`
	Version  string `json:"version"`
}

// Locator is what an artifact store that lives in a bucket tells about an
// artifact's place in it (artifact/s3 does).
type Locator interface {
	Location(key string) (bucket, object string)
}

// DiskArtifactBucket is the bucket name events give artifacts kept on the
// server's disk: the key is then the file's path under DATA/artifacts (or
// --artifacts DIR).
const DiskArtifactBucket = "sluice-artifacts"

// artifactLocation maps an artifact key onto the bucket and key of an
// event's s3location: the S3-compatible store's bucket and object name
// (prefix included), or DiskArtifactBucket and the key under DATA/artifacts.
func (s *Service) artifactLocation(key string) S3Location {
	if l, ok := s.artifacts.(Locator); ok {
		b, o := l.Location(key)
		return S3Location{Bucket: b, Key: o}
	}
	return S3Location{Bucket: DiskArtifactBucket, Key: key}
}

func (s *Service) eventArtifacts(refs []engine.ArtifactRef) []EventArtifact {
	var out []EventArtifact
	for _, r := range refs {
		out = append(out, EventArtifact{Name: r.Name, S3Location: s.artifactLocation(r.Key)})
	}
	return out
}

func (s *Service) encodeEvent(e engine.Event) (store.Event, error) {
	d := EventDetail{
		Pipeline:    e.Pipeline,
		Version:     e.Version,
		ExecutionID: e.ExecutionID,
		Stage:       e.Stage,
		Action:      e.Action,
		State:       e.State,
		Attempt:     e.ExecutionTry,
		Summary:     e.Summary,
		JobID:       e.JobID,
		Lock:        e.Lock,
	}
	if e.Action != "" {
		d.ActionAttempt = e.Attempt
	}
	if !e.StartTime.IsZero() {
		d.StartTime = e.StartTime.UTC().Format(awsStartTime)
	}
	if e.ActionType != nil {
		d.Type = &EventType{Owner: e.ActionType.Owner, Provider: e.ActionType.Provider, Category: e.ActionType.Category, Version: e.ActionType.Version}
		d.Region = e.ActionRegion
		if d.Region == "" {
			d.Region = s.aws.Region
		}
	}
	switch e.DetailType {
	case engine.PipelineEvent:
		// CodePipeline says what started the execution when it starts (and
		// sluice again on a retry's RESUMED), and why it stops when stopping.
		if e.Trigger.Type != "" && (e.State == "STARTED" || e.State == "RESUMED") {
			d.ExecutionTrigger = &EventTrigger{Type: e.Trigger.Type, Detail: e.Trigger.Detail}
			if e.Trigger.Type == TriggerUser && e.Trigger.Detail != "" && !strings.Contains(e.Trigger.Detail, ":") {
				d.ExecutionTrigger.Detail = s.userARN(e.Trigger.Detail) // who, as CodePipeline names the caller
			}
		}
		if e.State == "STOPPING" {
			d.StopComments = e.Summary
		}
	case engine.ActionEvent:
		d.InputArtifacts = s.eventArtifacts(e.InputArtifacts)
		d.OutputArtifacts = s.eventArtifacts(e.OutputArtifacts)
		if e.State == "SUCCEEDED" || e.State == "FAILED" {
			ext := e.ExternalID // what the action started elsewhere, else the job that ran it
			if ext == "" {
				ext = e.JobID
			}
			d.ExecutionResult = &ExecutionResult{
				ExternalExecutionID:      ext,
				ExternalExecutionSummary: e.Summary,
				ExternalExecutionURL:     s.actionURL(e),
				ErrorCode:                e.ErrorCode,
			}
		}
	case engine.StageEvent:
	default: // sluice's own kinds say what started the execution throughout
		if e.Trigger.Type != "" {
			d.ExecutionTrigger = &EventTrigger{Type: e.Trigger.Type, Detail: e.Trigger.Detail}
		}
	}
	doc, err := json.Marshal(d.wire())
	if err != nil {
		return store.Event{}, err
	}
	return store.Event{Time: e.Time, Type: e.DetailType, Pipeline: e.Pipeline, ExecutionID: e.ExecutionID, Document: doc}, nil
}

// actionURL is the external-execution-url of an action event: the action's
// page in sluice's console, where its log and artifacts are, as
// CodePipeline's point at the CodeBuild build or the CodeDeploy deployment.
func (s *Service) actionURL(e engine.Event) string {
	if s.baseURL == "" {
		return ""
	}
	return s.Link("/pipelines/" + url.PathEscape(e.Pipeline) + "/executions/" + url.PathEscape(e.ExecutionID))
}

// Events lists events in order of their sequence.
func (s *Service) Events(ctx context.Context, f store.EventFilter) ([]Event, error) {
	rows, err := s.store.Events(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]Event, 0, len(rows))
	for _, r := range rows {
		ev, err := s.EventOf(r)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// EventOf is a stored event as API clients and rules see it.
func (s *Service) EventOf(r store.Event) (Event, error) {
	ev := Event{
		ID:         eventUUID(r),
		Seq:        r.Seq,
		Version:    "0",
		DetailType: r.Type,
		Source:     SourceCodePipeline,
		Account:    s.aws.Account,
		Time:       r.Time,
		Region:     s.aws.Region,
		Resources:  []string{s.aws.PipelineARN(r.Pipeline)},
	}
	switch r.Type {
	case RepositoryEvent:
		var d RepositoryEventDetail
		if err := json.Unmarshal(r.Document, &d); err != nil {
			return Event{}, fmt.Errorf("decode event %d: %w", r.Seq, err)
		}
		ev.Source, ev.Resources, ev.Detail = SourceCodeCommit, []string{s.aws.RepositoryARN(d.RepositoryName)}, d
		return ev, nil
	case PullRequestEvent:
		var d PullRequestEventDetail
		if err := json.Unmarshal(r.Document, &d); err != nil {
			return Event{}, fmt.Errorf("decode event %d: %w", r.Seq, err)
		}
		ev.Source, ev.Resources, ev.Detail = SourceCodeCommit, []string{s.aws.RepositoryARN(strings.Join(d.RepositoryNames, ""))}, d
		return ev, nil
	case PullRequestCommentEvent:
		var d PullRequestCommentEventDetail
		if err := json.Unmarshal(r.Document, &d); err != nil {
			return Event{}, fmt.Errorf("decode event %d: %w", r.Seq, err)
		}
		ev.Source, ev.Resources, ev.Detail = SourceCodeCommit, []string{s.aws.RepositoryARN(d.RepositoryName)}, d
		return ev, nil
	case engine.PipelineEvent, engine.StageEvent, engine.ActionEvent:
	default:
		if putEventOf(r, &ev) {
			return ev, nil
		}
		ev.Source = SourceSluice
	}
	var d EventDetail
	if err := json.Unmarshal(r.Document, &d); err != nil {
		return Event{}, fmt.Errorf("decode event %d: %w", r.Seq, err)
	}
	ev.Detail = d
	return ev, nil
}

// eventUUID is an event's id: a UUID, as EventBridge's are, made from the
// event's sequence number and time, so that the same event read twice (by
// the API, by a rule, after a restart) has the same id.
func eventUUID(r store.Event) string {
	h := sha256.Sum256(fmt.Appendf(nil, "sluice-event/%d/%d", r.Seq, r.Time.UnixNano()))
	return formatUUID(h[:16])
}

// NamedUUID is a UUID made from name, the same for the same name: for ids
// AWS gives as UUIDs (CodeCommit's repositoryId, a scheduled event's id).
func NamedUUID(name string) string {
	h := sha256.Sum256([]byte(name))
	return formatUUID(h[:16])
}

func formatUUID(b []byte) string {
	var id uuid.UUID
	copy(id[:], b)
	id[6] = id[6]&0x0f | 0x80 // version 8: made by the application (RFC 9562)
	id[8] = id[8]&0x3f | 0x80
	return id.String()
}

// RepositoryARN names a hosted repository as CodeCommit's ARNs do.
func (s *Service) RepositoryARN(name string) string { return s.aws.RepositoryARN(name) }

// userARN names a sluice principal (a token's name) as IAM names a user,
// as CodeCommit's callerUserArn and CodePipeline's trigger-detail do.
func (s *Service) userARN(principal string) string {
	return "arn:" + awsid.Partition + ":iam::" + s.aws.Account + ":user/" + principal
}

// AWS is the account and region events and ARNs carry.
func (s *Service) AWS() awsid.ID { return s.aws }

// recordPush writes one event per reference a push changed, once per push even
// when the push is handed over again after a crash.
func (s *Service) recordPush(ctx context.Context, p Push) error {
	return s.store.UpdateGlobal(ctx, func(tx store.Tx) error {
		fresh, err := tx.UseKey(ctx, "push-events/"+p.ID, "", s.now())
		if err != nil || !fresh {
			return err
		}
		for _, u := range p.Updates {
			d := RepositoryEventDetail{
				RepositoryName: p.Repository, RepositoryID: NamedUUID("repository/" + p.Repository),
				ReferenceFullName: u.Ref, OldCommitID: u.Old, CommitID: u.New,
				CallerUserArn: s.userARN(p.Principal),
				ReferenceType: "reference", ReferenceName: u.Ref,
				Sluice: &PushSluice{CallerUser: p.Principal, PushID: p.ID, Commits: u.Commits, CommitsTruncated: u.CommitsTruncated},
			}
			switch {
			case strings.Trim(u.Old, "0") == "":
				d.Event = "referenceCreated"
				d.OldCommitID = ""
			case u.deleted():
				d.Event = "referenceDeleted"
				d.CommitID = ""
			default:
				d.Event = "referenceUpdated"
			}
			if b, ok := strings.CutPrefix(u.Ref, "refs/heads/"); ok {
				d.ReferenceType, d.ReferenceName = "branch", b
			} else if t, ok := strings.CutPrefix(u.Ref, "refs/tags/"); ok {
				d.ReferenceType, d.ReferenceName = "tag", t
			}
			doc, err := json.Marshal(d)
			if err != nil {
				return err
			}
			if err := tx.InsertEvent(ctx, store.Event{Time: s.now(), Type: RepositoryEvent, Document: doc}); err != nil {
				return err
			}
		}
		return nil
	})
}
