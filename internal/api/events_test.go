package api_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/api"
	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/auth"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/store/sqlite"
	"github.com/sluice-ci/sluice/internal/wire"
)

// TestEventStream follows the Server-Sent Events stream over real HTTP: events
// written before and after the stream opened arrive in order, and a client
// that reconnects with the last id it saw gets only what came after.
func TestEventStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	arts, err := artifact.NewDisk(filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(st, arts, service.Config{Lease: 30 * time.Second})
	if err := st.PutToken(ctx, store.Token{Name: "reader", Hash: auth.HashToken("read-token"), Policy: iam.PolicyRead}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(svc, st, nil, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	p, err := pipeline.Parse("p.yml", []byte("name: app\nstages: [{name: S, actions: [{name: a, provider: Noop}]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ApplyPipeline(ctx, p); err != nil {
		t.Fatal(err)
	}
	first, err := svc.StartExecution(ctx, service.StartRequest{Pipeline: "app"})
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(srv.URL, "read-token")
	got := make(chan wire.Event, 100)
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- c.StreamEvents(sctx, client.EventFilter{Pipeline: "app"}, func(e wire.Event) error {
			got <- e
			return nil
		})
	}()
	next := func() wire.Event {
		t.Helper()
		select {
		case e := <-got:
			return e
		case <-ctx.Done():
			t.Fatal("no event arrived")
		}
		return wire.Event{}
	}
	// Written before: the execution's start, its stage, its action.
	var last int64
	for _, want := range []string{"CodePipeline Pipeline Execution State Change", "CodePipeline Stage Execution State Change", "CodePipeline Action Execution State Change"} {
		e := next()
		if e.DetailType != want || e.Detail["execution-id"] != first.ID || e.Seq <= last {
			t.Fatalf("event %d %s %v, want %s of %s", e.Seq, e.DetailType, e.Detail["execution-id"], want, first.ID)
		}
		last = e.Seq
	}
	// Written after the stream opened.
	second, err := svc.StartExecution(ctx, service.StartRequest{Pipeline: "app"})
	if err != nil {
		t.Fatal(err)
	}
	if e := next(); e.Detail["execution-id"] != second.ID || e.Detail["state"] != "STARTED" {
		t.Fatalf("live event %+v", e)
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("stream ended with %v", err)
	}
	// Resuming after the first execution's events gives the second's only.
	rctx, rstop := context.WithCancel(ctx)
	defer rstop()
	var resumed []wire.Event
	err = c.StreamEvents(rctx, client.EventFilter{Pipeline: "app", After: last}, func(e wire.Event) error {
		resumed = append(resumed, e)
		if len(resumed) == 1 { // second waits for the stage first holds: its start alone
			return errors.New("enough")
		}
		return nil
	})
	if err == nil || err.Error() != "enough" {
		t.Fatalf("resumed stream: %v", err)
	}
	for _, e := range resumed {
		if e.Detail["execution-id"] != second.ID {
			t.Fatalf("resumed with an event of %v", e.Detail["execution-id"])
		}
	}
}
