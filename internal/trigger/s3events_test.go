package trigger_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/connection"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/trigger"
)

const s3Secret = "s3-notification-secret"

// s3Source is a pipeline whose S3 source reads drops/KEY through CONN,
// POLL being its PollForSourceChanges.
func s3Source(name, key, conn, poll string) string {
	return fmt.Sprintf(`
name: %s
executionMode: PARALLEL
stages:
  - name: Source
    actions:
      - name: obj
        actionTypeId: {category: Source, owner: AWS, provider: S3, version: "1"}
        configuration: {S3Bucket: drops, S3ObjectKey: %s, Connection: %s, PollForSourceChanges: "%s"}
        outputArtifacts: [code]
  - name: Build
    actions:
      - name: make
        provider: Noop
        inputArtifacts: [code]
`, name, key, conn, poll)
}

func (f *fixture) store(names ...string) {
	f.t.Helper()
	for _, n := range names {
		c := &connection.Connection{Name: n, Kind: connection.KindAWS, Region: "us-east-1", Endpoint: "http://127.0.0.1:1",
			Credentials: connection.Credentials{Secret: "store-keys"}, WebhookSecret: "store-hook"}
		if _, err := f.svc.PutConnection(f.ctx, c); err != nil {
			f.t.Fatal(err)
		}
	}
	for name, v := range map[string]string{"store-hook": s3Secret, "store-keys": `{"accessKeyId":"a","secretAccessKey":"b"}`} {
		if err := f.svc.PutSecret(f.ctx, name, []byte(v)); err != nil {
			f.t.Fatal(err)
		}
	}
}

func notification(event, key, version, sequencer string) []byte {
	return []byte(fmt.Sprintf(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":%q,
"s3":{"bucket":{"name":"drops"},"object":{"key":%q,"size":3,"eTag":"e1","versionId":%q,"sequencer":%q}}}]}`, event, key, version, sequencer))
}

func bearer() http.Header { return http.Header{"Authorization": {"Bearer " + s3Secret}} }

// An object store's notification starts the event-driven pipelines that
// read the object through the connection it came to, once per object
// event, pinned to the version; it leaves polled ones to the poll, ignores
// other connections' and other keys' readers and deletions, and is written
// to the event log as EventBridge's aws.s3 Object Created event.
func TestS3Notifications(t *testing.T) {
	f := newFixture(t)
	f.store("store", "other")
	f.apply(s3Source("evented", "app.zip", "store", "false"))
	f.apply(s3Source("polled", "app.zip", "store", "true"))
	f.apply(s3Source("elsewhere", "app.zip", "other", "false"))
	f.apply(s3Source("otherkey", "lib.zip", "store", "false"))
	h := trigger.NewConnectionWebhooks(f.svc, nil)

	res, err := h.Handle(f.ctx, "store", bearer(), notification("ObjectCreated:Put", "app.zip", "v1", "01"))
	if err != nil || len(res.Started) != 1 || res.Started[0].Pipeline != "evented" {
		t.Fatalf("notification: %+v %v", res, err)
	}
	why := strings.Join(res.Reasons, "\n")
	for _, want := range []string{"polled: action obj polls for changes", "elsewhere: action obj reads the object through another connection"} {
		if !strings.Contains(why, want) {
			t.Errorf("reasons %q, want %q", why, want)
		}
	}
	es := f.executions("evented")
	if len(es) != 1 || es[0].SourceRevisions[0].RevisionID != "v1" || es[0].Trigger.Type != service.TriggerPush {
		t.Fatalf("executions %+v", es)
	}
	for _, name := range []string{"polled", "elsewhere", "otherkey"} {
		if n := len(f.executions(name)); n != 0 {
			t.Errorf("%s started %d times", name, n)
		}
	}
	// A redelivery starts nothing more; a deletion starts nothing.
	if res, err := h.Handle(f.ctx, "store", bearer(), notification("ObjectCreated:Put", "app.zip", "v1", "01")); err != nil || len(res.Started) != 0 {
		t.Errorf("redelivery: %+v %v", res, err)
	}
	if res, err := h.Handle(f.ctx, "store", bearer(), notification("ObjectRemoved:Delete", "app.zip", "v1", "02")); err != nil || len(res.Started) != 0 ||
		!strings.Contains(strings.Join(res.Reasons, ""), "ObjectRemoved:Delete event starts nothing") {
		t.Errorf("deletion: %+v %v", res, err)
	}
	if n := len(f.executions("evented")); n != 1 {
		t.Errorf("evented has %d executions, want 1", n)
	}
	// The event log holds one Object Created event per created object,
	// with the version, as EventBridge's from S3.
	evs, err := f.svc.Events(f.ctx, store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var created []service.Event
	for _, e := range evs {
		if e.Source == "aws.s3" {
			created = append(created, e)
		}
	}
	if len(created) != 2 || created[0].DetailType != "Object Created" || !strings.Contains(string(detailJSON(t, created[0].Detail)), `"version-id":"v1"`) {
		t.Errorf("aws.s3 events %+v", created)
	}
	// A connection that is not an aws one's and a wrong token: refused.
	if _, err := h.Handle(f.ctx, "store", http.Header{"Authorization": {"Bearer nope"}}, notification("ObjectCreated:Put", "app.zip", "v2", "03")); service.ErrorCode(err) != service.CodeUnauthorized {
		t.Errorf("wrong token: %v", err)
	}
	if n := len(f.executions("evented")); n != 1 {
		t.Errorf("a refused notification started something: %d executions", n)
	}
}

// BenchmarkS3NotificationToClaimable measures an object store's event
// notification to the moment its pipeline's source job can be claimed: the
// token check, the parse, matching the S3 source actions of 21 pipelines
// (20 reading other keys), the aws.s3 event's insert, the start's
// transaction on SQLite and the claim. HTTP is not included; the
// notification carries the version id (AWS's do), so no S3 call is made.
func BenchmarkS3NotificationToClaimable(b *testing.B) {
	f := newFixture(b)
	f.store("store")
	f.apply(s3Source("evented", "app.zip", "store", "false"))
	for i := range 20 {
		f.apply(s3Source(fmt.Sprintf("other%d", i), fmt.Sprintf("lib%d.zip", i), "store", "false"))
	}
	h := trigger.NewConnectionWebhooks(f.svc, nil)
	ctx := context.Background()
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		body := notification("ObjectCreated:Put", "app.zip", fmt.Sprintf("v%d", i), fmt.Sprintf("%016x", i))
		t0 := time.Now()
		res, err := h.Handle(ctx, "store", bearer(), body)
		if err != nil || len(res.Started) != 1 {
			b.Fatalf("%+v %v", res, err)
		}
		j, err := f.svc.ClaimJob(ctx, "w", []string{"S3"}, 0)
		if err != nil || j == nil {
			b.Fatalf("claim: %v %v", j, err)
		}
		durations = append(durations, time.Since(t0))
	}
	b.StopTimer()
	reportPercentiles(b, durations)
}

func detailJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
