package trigger

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/sluice-ci/sluice/internal/connection"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
)

// S3 event notifications: an aws connection with a webhookSecret takes its
// object store's event notifications at POST /webhooks/connections/NAME,
// the same address git hosts deliver to. A store cannot sign (versitygw's
// --event-webhook-url and SNS's HTTP subscriptions only send to a URL), so
// the secret travels as the password of basic auth in that URL
// (http://sluice:SECRET@host/webhooks/connections/NAME, which both send as
// an Authorization header) or as a bearer token; it is compared in
// constant time.
//
// A body is an S3 event message ({"Records": [...]}, as S3 and versitygw
// send it), an SNS notification carrying one, or an EventBridge event of
// source aws.s3 and detail-type "Object Created". A created object starts
// every pipeline whose S3 source action reads that bucket and key through
// this connection with PollForSourceChanges false — event-driven, as
// CodePipeline says when an EventBridge rule starts it — pinned to the
// object's version id (its ETag where the bucket keeps no versions). Each
// created object is also written to the event log as the EventBridge event
// S3 would send (source aws.s3, detail-type "Object Created"), so rules
// written for AWS (an AWS::Events::Rule on aws.s3 with the pipeline as its
// target) start their pipelines too, pinned to the same revision; a
// pipeline both paths start gets one execution.

// ObjectVersions finds the version of an S3 source action's object whose
// ETag a notification gives without a version id ("" where the bucket keeps
// no versions), through the action's connection.
type ObjectVersions interface {
	VersionOf(ctx context.Context, pipeline, stage string, a pipeline.Action, etag string) (string, error)
}

// WithObjectVersions makes notifications without a version id be pinned to
// the version v finds.
func (w *ConnectionWebhooks) WithObjectVersions(v ObjectVersions) *ConnectionWebhooks {
	w.versions = v
	return w
}

// s3Record is one object event of a notification.
type s3Record struct {
	Event     string // ObjectCreated:Put, without S3's "s3:" prefix
	Bucket    string
	Keys      []string // the key as sent, and URL-decoded where that differs
	VersionID string
	ETag      string
	Size      int64
	Sequencer string
	RequestID string
	Requester string
	SourceIP  string
}

// Key is the object's key as the notification spelled it.
func (r s3Record) Key() string { return r.Keys[0] }

func (r s3Record) created() bool { return strings.HasPrefix(r.Event, "ObjectCreated:") }

// s3Message is an S3 event message, or an SNS notification of one, or an
// EventBridge event.
type s3Message struct {
	Records []json.RawMessage `json:"Records"`
	// SNS's envelope.
	Type         string `json:"Type"`
	Message      string `json:"Message"`
	SubscribeURL string `json:"SubscribeURL"`
	// S3's test event (sent when a notification is configured).
	Event string `json:"Event"`
	// EventBridge's.
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
}

type s3EventRecord struct {
	EventName         string `json:"eventName"`
	RequestParameters struct {
		SourceIP string `json:"sourceIPAddress"`
	} `json:"requestParameters"`
	ResponseElements struct {
		RequestID string `json:"x-amz-request-id"`
	} `json:"responseElements"`
	UserIdentity struct {
		PrincipalID string `json:"principalId"`
	} `json:"userIdentity"`
	S3 struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key       string  `json:"key"`
			Size      int64   `json:"size"`
			ETag      *string `json:"eTag"`
			VersionID *string `json:"versionId"`
			Sequencer string  `json:"sequencer"`
		} `json:"object"`
	} `json:"s3"`
}

// eventBridgeS3Detail is the detail of EventBridge's aws.s3 events.
type eventBridgeS3Detail struct {
	Version string `json:"version"`
	Bucket  struct {
		Name string `json:"name"`
	} `json:"bucket"`
	Object struct {
		Key       string `json:"key"`
		Size      int64  `json:"size,omitempty"`
		ETag      string `json:"etag,omitempty"`
		VersionID string `json:"version-id,omitempty"`
		Sequencer string `json:"sequencer,omitempty"`
	} `json:"object"`
	RequestID string `json:"request-id,omitempty"`
	Requester string `json:"requester,omitempty"`
	SourceIP  string `json:"source-ip-address,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// maxSNSDepth bounds envelopes within envelopes.
const maxSNSDepth = 2

// parseS3Message reads a notification body into its object records; note,
// when not "", says why a well-formed body holds none.
func parseS3Message(body []byte, depth int) (recs []s3Record, note string, err error) {
	var m s3Message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, "", fmt.Errorf("the body is not JSON: %v", err)
	}
	switch {
	case m.Records != nil:
		for i, raw := range m.Records {
			var r s3EventRecord
			if err := json.Unmarshal(raw, &r); err != nil {
				return nil, "", fmt.Errorf("Records[%d]: %v", i, err)
			}
			if r.EventName == "" || r.S3.Bucket.Name == "" || r.S3.Object.Key == "" {
				return nil, "", fmt.Errorf("Records[%d]: eventName, s3.bucket.name and s3.object.key are required", i)
			}
			rec := s3Record{
				Event: strings.TrimPrefix(r.EventName, "s3:"), Bucket: r.S3.Bucket.Name, Keys: []string{r.S3.Object.Key},
				Size: r.S3.Object.Size, Sequencer: r.S3.Object.Sequencer, RequestID: r.ResponseElements.RequestID,
				Requester: r.UserIdentity.PrincipalID, SourceIP: r.RequestParameters.SourceIP,
			}
			// S3 URL-encodes keys in its messages ("red flower.jpg" comes
			// as "red+flower.jpg"); versitygw sends them as they are.
			// Either spelling may be the action's.
			if k, err := url.QueryUnescape(rec.Key()); err == nil && k != rec.Key() {
				rec.Keys = append(rec.Keys, k)
			}
			if r.S3.Object.VersionID != nil {
				rec.VersionID = *r.S3.Object.VersionID
			}
			if r.S3.Object.ETag != nil {
				rec.ETag = strings.Trim(*r.S3.Object.ETag, `"`)
			}
			recs = append(recs, rec)
		}
		return recs, "", nil
	case m.Type == "Notification" && m.Message != "":
		if depth >= maxSNSDepth {
			return nil, "", errors.New("SNS notifications nest too deep")
		}
		return parseS3Message([]byte(m.Message), depth+1)
	case m.Type == "SubscriptionConfirmation" || m.Type == "UnsubscribeConfirmation":
		return nil, fmt.Sprintf("an SNS %s starts nothing; sluice does not visit its SubscribeURL: confirm the subscription yourself", m.Type), nil
	case m.Event == "s3:TestEvent":
		return nil, "an s3:TestEvent starts nothing", nil
	case m.Source == "aws.s3":
		var d eventBridgeS3Detail
		if err := json.Unmarshal(m.Detail, &d); err != nil {
			return nil, "", fmt.Errorf("detail: %v", err)
		}
		if m.DetailType != "Object Created" {
			return nil, fmt.Sprintf("an aws.s3 %q event starts nothing", m.DetailType), nil
		}
		if d.Bucket.Name == "" || d.Object.Key == "" {
			return nil, "", errors.New("detail.bucket.name and detail.object.key are required")
		}
		return []s3Record{{
			Event: "ObjectCreated:" + d.Reason, Bucket: d.Bucket.Name, Keys: []string{d.Object.Key},
			VersionID: d.Object.VersionID, ETag: strings.Trim(d.Object.ETag, `"`), Size: d.Object.Size,
			Sequencer: d.Object.Sequencer, RequestID: d.RequestID, Requester: d.Requester, SourceIP: d.SourceIP,
		}}, "", nil
	}
	return nil, "", errors.New(`the body is neither an S3 event message ({"Records": [...]}), an SNS notification of one, nor an EventBridge aws.s3 event`)
}

// snsSubscribeURL is the SubscribeURL of an SNS subscription confirmation,
// or "".
func snsSubscribeURL(body []byte) string {
	var m s3Message
	if json.Unmarshal(body, &m) != nil || m.Type != "SubscriptionConfirmation" {
		return ""
	}
	return m.SubscribeURL
}

// eventBridgeReason is an Object Created event's reason for S3's event name.
func eventBridgeReason(event string) string {
	switch strings.TrimPrefix(event, "ObjectCreated:") {
	case "Put":
		return "PutObject"
	case "Post":
		return "POST Object"
	case "Copy":
		return "CopyObject"
	case "CompleteMultipartUpload":
		return "CompleteMultipartUpload"
	}
	return strings.TrimPrefix(event, "ObjectCreated:")
}

// checkStoreToken checks a notification's credentials against the
// connection's webhook secret: the password of basic auth, or a bearer
// token.
func checkStoreToken(hdr http.Header, secret []byte) error {
	auth := hdr.Get("Authorization")
	var got string
	switch scheme, rest, _ := strings.Cut(auth, " "); {
	case auth == "":
		return errors.New("the notification carries no credentials: put the connection's webhook secret in the notification URL (http://sluice:SECRET@HOST/webhooks/connections/NAME) or send it as a bearer token")
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return errors.New("the basic credentials do not decode")
		}
		_, pass, _ := strings.Cut(string(raw), ":")
		got = pass
	case strings.EqualFold(scheme, "Bearer"):
		got = strings.TrimSpace(rest)
	default:
		return fmt.Errorf("authorization scheme %q is not basic or bearer", scheme)
	}
	if subtle.ConstantTimeCompare([]byte(got), secret) != 1 {
		return errors.New("the credentials do not match the connection's webhook secret")
	}
	return nil
}

// s3Notifications checks and acts on a notification to aws connection c.
func (w *ConnectionWebhooks) s3Notifications(ctx context.Context, c *connection.Connection, hdr http.Header, body []byte) (HostWebhookResult, error) {
	secret, err := w.webhookSecret(ctx, c)
	if err != nil {
		return HostWebhookResult{}, err
	}
	if err := checkStoreToken(hdr, secret); err != nil {
		return HostWebhookResult{}, service.Errorf(service.CodeUnauthorized, "connection %s: %v", c.Name, err)
	}
	recs, note, err := parseS3Message(body, 0)
	if err != nil {
		return HostWebhookResult{}, service.Errorf(service.CodeInvalid, "connection %s: %v", c.Name, err)
	}
	if u := snsSubscribeURL(body); u != "" {
		// Not visited by the server (a URL from a request is not one to
		// fetch blindly): the operator confirms it once.
		w.svc.Logger().Info("SNS subscription confirmation for an aws connection's notifications: open its SubscribeURL once to confirm", "connection", c.Name, "subscribeURL", u)
	}
	res := HostWebhookResult{Event: "s3:TestEvent", Started: []StartedExecution{}}
	if note != "" {
		res.Reasons = append(res.Reasons, note)
		return res, nil
	}
	var names []string
	var errs []error
	for _, rec := range recs {
		names = append(names, "s3:"+rec.Event)
		if err := w.s3Record(ctx, c, rec, &res); err != nil {
			errs = append(errs, err)
		}
	}
	res.Event = strings.Join(names, ",")
	return res, errors.Join(errs...)
}

// s3Record records one object event as EventBridge's and starts the
// event-driven pipelines that read its object through c.
func (w *ConnectionWebhooks) s3Record(ctx context.Context, c *connection.Connection, rec s3Record, res *HostWebhookResult) error {
	where := "s3://" + rec.Bucket + "/" + rec.Key()
	if !rec.created() {
		res.Reasons = append(res.Reasons, fmt.Sprintf("%s: an %s event starts nothing", where, rec.Event))
		return nil
	}
	if pipeline.ObjectRevision(rec.VersionID, rec.ETag) == "" {
		res.Reasons = append(res.Reasons, where+": the notification has neither a versionId nor an eTag, so no revision to build")
		return nil
	}
	infos, err := w.svc.Pipelines(ctx)
	if err != nil {
		return err
	}
	type match struct {
		decl *pipeline.Pipeline
		src  pipeline.ObjectSource
	}
	var matches []match
	followed := false
	for _, info := range infos {
		decl := info.Declaration
		var reasons []string
		for _, key := range rec.Keys {
			for _, src := range decl.ObjectSources(rec.Bucket, key) {
				followed = true
				a := src.Action
				if !src.EventDriven() {
					reasons = append(reasons, fmt.Sprintf("action %s polls for changes (PollForSourceChanges is not false), so notifications leave it to the poll", a.Name))
					continue
				}
				name, err := w.svc.ActionConnectionName(ctx, decl.Name, src.Stage, a)
				if err != nil || name != c.Name {
					reasons = append(reasons, fmt.Sprintf("action %s reads the object through another connection", a.Name))
					continue
				}
				matches = append(matches, match{decl, src})
			}
		}
		if len(reasons) > 0 {
			res.Reasons = append(res.Reasons, decl.Name+": "+strings.Join(reasons, "; "))
		}
	}
	if !followed {
		res.Reasons = append(res.Reasons, fmt.Sprintf("no pipeline's S3 source action reads %s", where))
	}
	// A store that gives the ETag alone (versitygw) still wrote a version
	// in a bucket that keeps them: find it, through the connection of an
	// action that reads the object, so that the start is pinned to it
	// however soon the object changes again.
	if rec.VersionID == "" && w.versions != nil && len(matches) > 0 {
		m := matches[0]
		v, err := w.versions.VersionOf(ctx, m.decl.Name, m.src.Stage, m.src.Action, rec.ETag)
		if err != nil {
			res.Reasons = append(res.Reasons, fmt.Sprintf("%s: the version of ETag %s cannot be found (%v); pinned to the ETag", where, rec.ETag, err))
		}
		rec.VersionID = v
	}
	if err := w.recordObjectCreated(ctx, c, rec); err != nil {
		return err
	}
	rev := pipeline.ObjectRevision(rec.VersionID, rec.ETag)
	detail := fmt.Sprintf("s3:%s of %s revision %s (connection %s)", rec.Event, where, rev, c.Name)
	var errs []error
	for _, m := range matches {
		a := m.src.Action
		e, err := w.svc.StartExecution(ctx, service.StartRequest{
			Pipeline:        m.decl.Name,
			SourceRevisions: map[string]string{a.Name: rev},
			Trigger:         engine.Trigger{Type: service.TriggerPush, Detail: detail},
			IdempotencyKey:  pipeline.EventStartKey(m.decl.Name, a.Name, rev, rec.Sequencer),
			Note:            &service.TriggerNote{Type: service.TriggerPush, Detail: detail},
		})
		switch {
		case errors.Is(err, service.ErrAlreadyStarted):
			res.Reasons = append(res.Reasons, fmt.Sprintf("%s: action %s: revision %s was started already", m.decl.Name, a.Name, rev))
		case err != nil:
			errs = append(errs, fmt.Errorf("pipeline %s: %w", m.decl.Name, err))
		default:
			res.Started = append(res.Started, StartedExecution{m.decl.Name, e.ID})
		}
	}
	return errors.Join(errs...)
}

// recordObjectCreated writes the EventBridge event S3 sends for a created
// object, for rules to match.
func (w *ConnectionWebhooks) recordObjectCreated(ctx context.Context, c *connection.Connection, rec s3Record) error {
	var d eventBridgeS3Detail
	d.Version = "0"
	d.Bucket.Name = rec.Bucket
	d.Object.Key, d.Object.Size, d.Object.ETag, d.Object.Sequencer = rec.Keys[len(rec.Keys)-1], rec.Size, rec.ETag, rec.Sequencer
	if rec.VersionID != "null" {
		d.Object.VersionID = rec.VersionID
	}
	d.RequestID, d.Requester, d.SourceIP, d.Reason = rec.RequestID, rec.Requester, rec.SourceIP, eventBridgeReason(rec.Event)
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	_, err = w.svc.RecordAWSEvent(ctx, "connection/"+c.Name, service.PutEvent{
		Source: "aws.s3", DetailType: "Object Created", Detail: raw, Resources: []string{"arn:aws:s3:::" + rec.Bucket},
	})
	return err
}
