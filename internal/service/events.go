package service

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/store"
)

// Event is an event as API clients and rules see it: EventBridge's envelope around
// CodePipeline's detail.
type Event struct {
	ID         string      `json:"id"`
	Seq        int64       `json:"seq"`
	Version    string      `json:"version"`
	DetailType string      `json:"detail-type"`
	Source     string      `json:"source"`
	Time       time.Time   `json:"time"`
	Region     string      `json:"region"`
	Resources  []string    `json:"resources"`
	Detail     EventDetail `json:"detail"`
}

// EventDetail is the detail of a CodePipeline state-change event.
type EventDetail struct {
	Pipeline         string          `json:"pipeline"`
	Version          int             `json:"version"`
	ExecutionID      string          `json:"execution-id"`
	Stage            string          `json:"stage,omitempty"`
	Action           string          `json:"action,omitempty"`
	State            string          `json:"state"`
	Type             *EventType      `json:"type,omitempty"`
	ExecutionTrigger *engine.Trigger `json:"execution-trigger,omitempty"`
	Attempt          int             `json:"pipeline-execution-attempt,omitempty"`
	Summary          string          `json:"summary,omitempty"`
	Region           string          `json:"region"`
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
	}
	if e.ActionType != nil {
		d.Type = &EventType{Owner: e.ActionType.Owner, Provider: e.ActionType.Provider, Category: e.ActionType.Category, Version: e.ActionType.Version}
	}
	if e.DetailType == engine.PipelineEvent {
		t := e.Trigger
		d.ExecutionTrigger = &t
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
		ev := Event{
			ID:         fmt.Sprintf("%020d", r.Seq),
			Seq:        r.Seq,
			Version:    "0",
			DetailType: r.Type,
			Source:     "sluice.pipeline",
			Time:       r.Time,
			Region:     s.region,
			Resources:  []string{s.PipelineARN(r.Pipeline)},
		}
		if err := json.Unmarshal(r.Document, &ev.Detail); err != nil {
			return nil, fmt.Errorf("decode event %d: %w", r.Seq, err)
		}
		out = append(out, ev)
	}
	return out, nil
}
