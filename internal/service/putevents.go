package service

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

// Events put by callers (EventBridge's PutEvents through the AWS-compatible
// endpoint) go into the same log as sluice's own, so that rules match them
// as they match a pipeline's. They are stored with the caller's detail-type
// and an envelope that says whose they are: "putEvents" holds the source,
// resources and detail the caller gave. A caller cannot pose as AWS or as
// sluice: sources starting with "aws." or "sluice." are refused. And their
// stored type is not the caller's detail-type but putEventType+it, so that
// nothing that reacts to sluice's own events by their type (gates, triggers
// of downstream pipelines) can be fed a forged one.
const putEventType = "PutEvents/"

// StoredTypes are the types in the event log under which an event that
// API clients and rules see with detail-type detailType may be stored: its
// own, and PutEvents' for one a caller put (see EventOf).
func StoredTypes(detailType string) []string {
	return []string{detailType, putEventType + detailType}
}

// PutEvent is one entry of PutEvents.
type PutEvent struct {
	Source     string
	DetailType string
	Detail     json.RawMessage // a JSON object
	Resources  []string
	Time       time.Time // zero: now
}

type putEventDocument struct {
	PutEvents *putEventEnvelope `json:"putEvents"`
}

type putEventEnvelope struct {
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
	Principal  string          `json:"principal,omitempty"`
}

// PutEventLimits bound what PutEvents takes, as EventBridge's do.
const (
	MaxPutEventSize = 256 << 10
)

// CheckPutEvent says what is wrong with e, as EventBridge's entry error
// codes do: the code and a message ("" when e is fine).
func CheckPutEvent(e PutEvent) (code, msg string) {
	switch {
	case e.Source == "":
		return "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."
	case e.DetailType == "":
		return "InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."
	case len(e.Detail) == 0:
		return "InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."
	case strings.HasPrefix(e.Source, "aws.") || strings.HasPrefix(e.Source, "sluice."):
		return "NotAuthorizedForSourceException", fmt.Sprintf("Not authorized for the source %s: aws.* and sluice.* are the sources of AWS's and sluice's own events.", e.Source)
	case len(e.Source)+len(e.DetailType)+len(e.Detail) > MaxPutEventSize:
		return "InvalidArgument", "Total size of the entries in the request is over the limit."
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(e.Detail, &obj); err != nil || obj == nil {
		return "MalformedDetail", "Detail is malformed: it must be a JSON object."
	}
	return "", ""
}

// PutEvents writes entries to the event log, each checked with
// CheckPutEvent by the caller; it returns their ids, as events are read
// back (a UUID per event).
func (s *Service) PutEvents(ctx context.Context, principal string, entries []PutEvent) ([]string, error) {
	for _, e := range entries {
		if code, msg := CheckPutEvent(e); code != "" {
			return nil, Errorf(CodeInvalid, "%s", msg)
		}
	}
	return s.putEvents(ctx, principal, entries)
}

// RecordAWSEvent writes an event an AWS service would have sent EventBridge
// (source aws.s3, detail-type "Object Created"), which sluice made itself
// from something it received and authenticated: an object store's event
// notification to an aws connection's webhook. principal says whose it was
// (connection/NAME). Callers never reach this with a source they chose:
// PutEvents keeps refusing aws.* sources.
func (s *Service) RecordAWSEvent(ctx context.Context, principal string, e PutEvent) (string, error) {
	if !strings.HasPrefix(e.Source, "aws.") {
		return "", fmt.Errorf("record aws event: source %q is not an AWS service's", e.Source)
	}
	ids, err := s.putEvents(ctx, principal, []PutEvent{e})
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

func (s *Service) putEvents(ctx context.Context, principal string, entries []PutEvent) ([]string, error) {
	var rows []store.Event
	var ids []string
	for _, e := range entries {
		if e.Resources == nil {
			e.Resources = []string{}
		}
		id := newEventID()
		ids = append(ids, id)
		doc, err := json.Marshal(putEventDocument{PutEvents: &putEventEnvelope{ID: id, DetailType: e.DetailType,
			Source: e.Source, Resources: e.Resources, Detail: e.Detail, Principal: principal}})
		if err != nil {
			return nil, err
		}
		at := e.Time
		if at.IsZero() {
			at = s.now()
		}
		rows = append(rows, store.Event{Time: at, Type: putEventType + e.DetailType, Document: doc})
	}
	err := s.store.UpdateGlobal(ctx, func(tx store.Tx) error {
		for i := range rows {
			if err := tx.InsertEvent(ctx, rows[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.changed.broadcast()
	return ids, nil
}

// putEventOf reads an event PutEvents wrote into ev; false when r is not one.
func putEventOf(r store.Event, ev *Event) bool {
	if !strings.HasPrefix(r.Type, putEventType) {
		return false
	}
	var d putEventDocument
	if err := json.Unmarshal(r.Document, &d); err != nil || d.PutEvents == nil {
		return false
	}
	ev.DetailType = d.PutEvents.DetailType
	ev.ID, ev.Source, ev.Resources, ev.Detail = d.PutEvents.ID, d.PutEvents.Source, d.PutEvents.Resources, d.PutEvents.Detail
	return true
}

// newEventID is a random UUID (version 4), as EventBridge's event ids are.
func newEventID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b[:])
}
