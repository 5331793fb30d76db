package event_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/event"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/notify"
	"github.com/sluice-ci/sluice/internal/notify/smtpsink"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/service/servicetest"
	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/store/sqlite"
)

// TestApprovalNotifications sends an approval's notification to a real SMTP
// server and a real webhook receiver, both on 127.0.0.1, through the
// deliverer the server runs; the webhook fails once first, so the retry is
// exercised too. Then the service is closed and a new one opened on the same
// store, as after a restart, and the approval is answered there.
func TestApprovalNotifications(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink, err := smtpsink.New(smtpsink.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()

	type hit struct {
		body   []byte
		signed bool
	}
	hits := make(chan hit, 4)
	secret := []byte("hook-secret")
	failed := false
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !failed {
			failed = true
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		hits <- hit{body: body, signed: notify.Verify(secret, body, r.Header.Get("X-Sluice-Signature-256"))}
	}))
	defer hook.Close()

	dir := t.TempDir()
	open := func() *fixture {
		st, err := sqlite.Open(ctx, filepath.Join(dir, "sluice.db"))
		if err != nil {
			t.Fatal(err)
		}
		arts, err := artifact.NewDisk(filepath.Join(dir, "artifacts"))
		if err != nil {
			t.Fatal(err)
		}
		svc := service.New(st, arts, service.Config{
			SecretKey: make([]byte, service.SecretKeySize), BaseURL: "http://sluice.test:8080",
		})
		runner := event.NewRunner(svc, event.Config{Deliveries: event.DeliveryConfig{
			SMTP:    notify.SMTP{Addr: sink.Addr(), From: "sluice@example.com", TLS: notify.TLSNone},
			Backoff: notify.Backoff{Base: time.Millisecond, Max: 10 * time.Millisecond},
		}})
		svc.SetApprovalNotifier(runner)
		return &fixture{t: t, ctx: ctx, svc: svc, store: st, runner: runner, rules: event.NewRules(svc), clock: servicetest.NewClockAt(time.Now())}
	}
	f := open()
	svc, st := f.svc, f.store
	if err := svc.PutSecret(ctx, "hook", secret); err != nil {
		t.Fatal(err)
	}
	f.apply(strings.Replace(approvalPipeline, `configuration: {CustomData: "check the canary"}`,
		`configuration: {CustomData: "check the canary", ExternalEntityLink: "https://grafana.example/d/1", NotificationTarget: "`+hook.URL+`, ops@example.com", NotificationSecret: hook}`, 1))
	id := f.start("release")
	f.react()
	dctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { f.runner.RunDeliveries(dctx); close(done) }()

	wait, waitCancel := context.WithTimeout(ctx, 30*time.Second)
	defer waitCancel()
	msg, err := sink.Next(wait)
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := msg.Subject()
	text, _ := msg.Text()
	if subject != "Approval needed: release / Approve / review" || msg.To[0] != "ops@example.com" ||
		!strings.Contains(text, "check the canary") || !strings.Contains(text, "sluice approve release "+id+" Approve review") {
		t.Fatalf("mail to %v, subject %q:\n%s", msg.To, subject, text)
	}
	var h hit
	select {
	case h = <-hits:
	case <-wait.Done():
		t.Fatal("the webhook never got the notification")
	}
	if !h.signed {
		t.Fatal("the webhook's signature does not verify")
	}
	var n event.ApprovalNotification
	if err := json.Unmarshal(h.body, &n); err != nil {
		t.Fatal(err)
	}
	token := f.action("release", id, "review").JobID
	a := n.Approval
	if a.PipelineName != "release" || a.StageName != "Approve" || a.ActionName != "review" || a.Token != token ||
		a.CustomData != "check the canary" || a.ExternalEntityLink != "https://grafana.example/d/1" ||
		a.ApprovalReviewLink != "http://sluice.test:8080/ui/pipelines/release/executions/"+id+"#Approve/review" || a.Expires == "" {
		t.Fatalf("notification %+v", n)
	}
	// The receiver has the message; the deliverer records that just after.
	// Wait for the record (an observable state, polled with a bound).
	var deliveries []store.Delivery
	for tick := time.NewTicker(5 * time.Millisecond); ; <-tick.C {
		deliveries, err = f.runner.Deliveries(ctx, "approval/"+token, 10)
		if err != nil {
			t.Fatal(err)
		}
		pending := 0
		for _, d := range deliveries {
			if d.Status == store.DeliveryPending {
				pending++
			}
		}
		if pending == 0 || wait.Err() != nil {
			tick.Stop()
			break
		}
	}
	stop()
	<-done
	if len(deliveries) != 2 {
		t.Fatalf("%d deliveries, want 2", len(deliveries))
	}
	for _, d := range deliveries {
		if d.Status != store.DeliveryDelivered {
			t.Fatalf("delivery %s is %s (%s)", d.ID, d.Status, d.LastError)
		}
		if d.Kind == "webhook" && d.Attempts != 2 {
			t.Fatalf("webhook delivered in %d attempts, want 2 (one refused)", d.Attempts)
		}
	}

	// Restart: a new service on the same store answers the same approval.
	st.Close()
	f2 := open()
	defer f2.store.Close()
	if err := f2.answer(id, true, "after a restart"); err != nil {
		t.Fatal(err)
	}
	if got := f2.action("release", id, "review"); got.Status != engine.ActionSucceeded {
		t.Fatalf("approval %s after restart", got.Status)
	}
}

// TestApprovalNotificationSecretNeedsTheRole: the server signs an approval's
// webhook notification with the pipeline's NotificationSecret only when the
// pipeline's role may read that secret; otherwise the webhook gets nothing
// (it would receive bodies the author chose, signed with a secret the author
// may not read), and the mail still goes.
func TestApprovalNotificationSecretNeedsTheRole(t *testing.T) {
	for _, tc := range []struct {
		name, grant string
		webhooks    int
	}{
		{"role reads the secret", "secret/hook", 1},
		{"role reads another secret", "secret/other", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if err := f.svc.PutSecret(f.ctx, "hook", []byte("s3cret")); err != nil {
				t.Fatal(err)
			}
			admin, _ := iam.ReadyMade("admin")
			doc := `{"Statement":[{"Effect":"Allow","Action":"sluice:GetSecretValue","Resource":"` + tc.grant + `"}]}`
			if _, err := f.svc.PutPolicy(f.ctx, service.PolicyRequest{Name: "notifier", Filename: "notifier.json", Document: []byte(doc), Holder: admin, HolderName: "admin"}); err != nil {
				t.Fatal(err)
			}
			f.apply("role: notifier\n" + strings.Replace(approvalPipeline, `configuration: {CustomData: "check the canary"}`,
				`configuration: {CustomData: "check the canary", NotificationTarget: "http://127.0.0.1:9/hook, ops@example.com", NotificationSecret: hook}`, 1))
			id := f.start("release")
			f.react()
			token := f.action("release", id, "review").JobID
			ds, err := f.runner.Deliveries(f.ctx, "approval/"+token, 10)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, d := range ds {
				kinds[d.Kind]++
			}
			if kinds["email"] != 1 || kinds["webhook"] != tc.webhooks {
				t.Fatalf("deliveries queued: %v, want 1 email and %d webhook", kinds, tc.webhooks)
			}
		})
	}
}
