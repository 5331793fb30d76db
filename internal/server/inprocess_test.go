package server_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/server"
	"github.com/sluice-ci/sluice/internal/wire"
)

// TestInProcessCallsAsHTTP: a call through the in-process workers' client
// is authorized, refused, answered and audited exactly as the same call
// over HTTP, whose token it carries.
func TestInProcessCallsAsHTTP(t *testing.T) {
	s, admin, _ := runServer(t, func(c *server.Config) { c.Workers = 0 })
	ctx := context.Background()
	// A token that may not claim jobs (a viewer's), and one that may.
	viewer, err := admin.CreateToken(ctx, "not-a-worker", "viewer")
	if err != nil {
		t.Fatal(err)
	}
	worker, err := admin.CreateToken(ctx, "a-worker", "worker")
	if err != nil {
		t.Fatal(err)
	}
	claim := wire.ClaimRequest{WorkerID: "w1", Providers: []string{"Noop"}}
	for _, tc := range []struct {
		name, token, principal string
		refused                bool
	}{
		{"refused", viewer.Token, "not-a-worker", true},
		{"allowed", worker.Token, "a-worker", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var errs [2]error
			for i, c := range []*client.Client{client.New(s.URL(), tc.token), s.InProcessClient(tc.token)} {
				job, err := c.ClaimJob(ctx, claim)
				if job != nil {
					t.Fatalf("claimed %s with no pipeline started", job.ID)
				}
				errs[i] = err
			}
			if tc.refused {
				var overHTTP, inProc *client.Error
				if !errors.As(errs[0], &overHTTP) || !errors.As(errs[1], &inProc) {
					t.Fatalf("want both refused with a server error, got over HTTP %v, in process %v", errs[0], errs[1])
				}
				if *overHTTP != *inProc || overHTTP.Status != 403 {
					t.Fatalf("refusals differ, or are not 403:\nover HTTP:  %+v\nin process: %+v", *overHTTP, *inProc)
				}
			} else if errs[0] != nil || errs[1] != nil {
				t.Fatalf("over HTTP %v, in process %v", errs[0], errs[1])
			}
			list, err := admin.Audit(ctx, client.AuditQuery{Principal: tc.principal, Operation: "PollForJobs"})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Records) != 2 {
				t.Fatalf("%d records of the two calls, want 2: %+v", len(list.Records), list.Records)
			}
			a, b := list.Records[0], list.Records[1]
			if a.RequestID == b.RequestID {
				t.Fatal("two calls recorded under one request id")
			}
			// What may differ: the record's own identity and timing.
			a.ID, a.Time, a.RequestID, a.DurationMS = 0, b.Time, "", 0
			b.ID, b.RequestID, b.DurationMS = 0, "", 0
			if !equalRecords(a, b) {
				t.Fatalf("audit records differ:\n%+v\n%+v", a, b)
			}
			if a.SourceAddress != "127.0.0.1" || a.Principal != tc.principal || (a.Outcome == "denied") != tc.refused {
				t.Fatalf("record %+v: want source 127.0.0.1, principal %s, refused %v", a, tc.principal, tc.refused)
			}
		})
	}
}

func equalRecords(a, b wire.AuditRecord) bool {
	pa, pb := a.Parameters, b.Parameters
	a.Parameters, b.Parameters = nil, nil
	if len(pa) != len(pb) {
		return false
	}
	for k, v := range pa {
		if pb[k] != v {
			return false
		}
	}
	return a.Principal == b.Principal && a.SourceAddress == b.SourceAddress && a.UserAgent == b.UserAgent &&
		a.Operation == b.Operation && a.Resource == b.Resource && a.Outcome == b.Outcome && a.Error == b.Error && a.Status == b.Status
}

// TestInProcessLongPollEndsAtShutdown: a claim waiting in its long poll
// through the in-process client ends when the server shuts down, and the
// shutdown does not wait on it.
func TestInProcessLongPollEndsAtShutdown(t *testing.T) {
	var log syncLog
	s, admin, stop := runServer(t, func(c *server.Config) {
		c.Workers = 0
		c.Logger = slog.New(slog.NewTextHandler(&log, nil))
	})
	worker, err := admin.CreateToken(context.Background(), "poller", "worker")
	if err != nil {
		t.Fatal(err)
	}
	// The poll's own context never ends: only the shutdown can end it.
	polled := make(chan error, 1)
	go func() {
		_, err := s.InProcessClient(worker.Token).ClaimJob(context.Background(), wire.ClaimRequest{WorkerID: "w", Providers: []string{"Noop"}, WaitSeconds: 60})
		polled <- err
	}()
	// Whether the poll is already waiting or still on its way, the
	// shutdown must end it, and leave no in-process request behind.
	if err := stop(); err != nil {
		t.Fatalf("server: %v", err)
	}
	select {
	case <-polled:
	case <-time.After(time.Minute):
		t.Fatal("the in-process long poll outlived the server's shutdown")
	}
	if strings.Contains(log.String(), "in-process requests still running") {
		t.Fatalf("shutdown waited on in-process requests:\n%s", log.String())
	}
}
