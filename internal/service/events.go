package service

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/store"
)

// Event is an event as API clients and rules see it: EventBridge's envelope around
// CodePipeline's detail.
type Event struct {
	ID         string    `json:"id"`
	Seq        int64     `json:"seq"`
	Version    string    `json:"version"`
	DetailType string    `json:"detail-type"`
	Source     string    `json:"source"`
	Time       time.Time `json:"time"`
	Region     string    `json:"region"`
	Resources  []string  `json:"resources"`
	// Detail is an EventDetail for pipeline, stage and action events, a
	// RepositoryEventDetail for pushes.
	Detail any `json:"detail"`
}

// RepositoryEvent is the detail type of pushes to hosted repositories.
const RepositoryEvent = "CodeCommit Repository State Change"

// RepositoryEventDetail is the detail of a push event, in CodeCommit's shape.
type RepositoryEventDetail struct {
	Event             string `json:"event"` // referenceCreated, referenceUpdated, referenceDeleted
	RepositoryName    string `json:"repositoryName"`
	ReferenceType     string `json:"referenceType"` // branch, tag, reference
	ReferenceName     string `json:"referenceName"`
	ReferenceFullName string `json:"referenceFullName"`
	OldCommitID       string `json:"oldCommitId,omitempty"`
	CommitID          string `json:"commitId,omitempty"`
	CallerUser        string `json:"callerUser"`
	PushID            string `json:"pushId"`
	// Commits are the commits the update brought, newest first (sluice's
	// addition: CodeCommit's users fetch them with GetCommit).
	Commits          []PushCommit `json:"commits,omitempty"`
	CommitsTruncated bool         `json:"commitsTruncated,omitempty"`
}

// EventDetail is the detail of a CodePipeline state-change event.
type EventDetail struct {
	Pipeline         string        `json:"pipeline"`
	Version          int           `json:"version"`
	ExecutionID      string        `json:"execution-id"`
	Stage            string        `json:"stage,omitempty"`
	Action           string        `json:"action,omitempty"`
	State            string        `json:"state"`
	Type             *EventType    `json:"type,omitempty"`
	ExecutionTrigger *EventTrigger `json:"execution-trigger,omitempty"`
	Attempt          int           `json:"pipeline-execution-attempt,omitempty"`
	Summary          string        `json:"summary,omitempty"`
	Region           string        `json:"region"`
	// sluice's own: the job behind an action's state, the lock of a lock event.
	JobID string `json:"job-id,omitempty"`
	Lock  string `json:"lock,omitempty"`
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

func (s *Service) encodeEvent(e engine.Event) (store.Event, error) {
	d := EventDetail{
		Pipeline:    e.Pipeline,
		Version:     e.Version,
		ExecutionID: e.ExecutionID,
		Stage:       e.Stage,
		Action:      e.Action,
		State:       e.State,
		Attempt:     e.Attempt,
		Summary:     e.Summary,
		Region:      s.region,
		JobID:       e.JobID,
		Lock:        e.Lock,
	}
	if e.ActionType != nil {
		d.Type = &EventType{Owner: e.ActionType.Owner, Provider: e.ActionType.Provider, Category: e.ActionType.Category, Version: e.ActionType.Version}
	}
	if e.Trigger.Type != "" {
		d.ExecutionTrigger = &EventTrigger{Type: e.Trigger.Type, Detail: e.Trigger.Detail}
	}
	doc, err := json.Marshal(d)
	if err != nil {
		return store.Event{}, err
	}
	return store.Event{Time: e.Time, Type: e.DetailType, Pipeline: e.Pipeline, ExecutionID: e.ExecutionID, Document: doc}, nil
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
		ID:         fmt.Sprintf("%020d", r.Seq),
		Seq:        r.Seq,
		Version:    "0",
		DetailType: r.Type,
		Source:     "sluice.codepipeline",
		Time:       r.Time,
		Region:     s.region,
		Resources:  []string{s.PipelineARN(r.Pipeline)},
	}
	if r.Type == RepositoryEvent {
		var d RepositoryEventDetail
		if err := json.Unmarshal(r.Document, &d); err != nil {
			return Event{}, fmt.Errorf("decode event %d: %w", r.Seq, err)
		}
		ev.Source, ev.Resources, ev.Detail = "sluice.codecommit", []string{s.RepositoryARN(d.RepositoryName)}, d
	} else {
		var d EventDetail
		if err := json.Unmarshal(r.Document, &d); err != nil {
			return Event{}, fmt.Errorf("decode event %d: %w", r.Seq, err)
		}
		ev.Detail = d
	}
	return ev, nil
}

// RepositoryARN names a hosted repository as CodeCommit's ARNs do.
func (s *Service) RepositoryARN(name string) string {
	return "arn:sluice:codecommit:" + s.region + ":local:" + name
}

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
				RepositoryName: p.Repository, ReferenceFullName: u.Ref, OldCommitID: u.Old, CommitID: u.New,
				CallerUser: p.Principal, PushID: p.ID, ReferenceType: "reference", ReferenceName: u.Ref,
				Commits: u.Commits, CommitsTruncated: u.CommitsTruncated,
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
