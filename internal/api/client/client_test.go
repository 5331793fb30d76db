package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sluice-ci/sluice/internal/wire"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/errcode"
)

// serve runs handler on 127.0.0.1 for the test and returns a client of it.
func serve(t *testing.T, token string, handler http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	c := New(srv.URL+"/", token) // a trailing slash is dropped
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// The server's errors come back as *Error with its status, code and message;
// an answer that is not sluice's JSON (a proxy's page) keeps its status and
// says what it was.
func TestErrorsDecodeToCodes(t *testing.T) {
	c := serve(t, "", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/jobs/j1/result":
			writeJSON(w, http.StatusConflict, wire.ErrorBody{Code: "Conflict", Message: "job j1 is no longer yours"})
		case "/api/v1/pipelines/app":
			writeJSON(w, http.StatusNotFound, wire.ErrorBody{Code: "NotFound", Message: "pipeline app not found"})
		default:
			http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
		}
	})
	ctx := context.Background()

	err := c.CompleteJob(ctx, "j1", wire.JobResult{WorkerID: "w"})
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusConflict || e.Code != "Conflict" || e.Message != "job j1 is no longer yours" {
		t.Fatalf("conflict: %#v", err)
	}
	if !IsCode(err, "Conflict") || IsCode(err, "NotFound") || IsCode(errors.New("x"), "Conflict") {
		t.Fatal("IsCode")
	}
	if !IsCode(fmt.Errorf("wrapped: %w", err), "Conflict") {
		t.Fatal("IsCode does not see through wrapping")
	}
	// The server's vocabulary reads the client's errors too.
	if errcode.Of(fmt.Errorf("wrapped: %w", err)) != errcode.Conflict || errcode.Message(err) != "job j1 is no longer yours" {
		t.Fatalf("errcode reads %q %q", errcode.Of(err), errcode.Message(err))
	}

	if _, err := c.Pipeline(ctx, "app"); !IsCode(err, "NotFound") || err.Error() != "pipeline app not found" {
		t.Fatalf("not found: %v", err)
	}

	_, err = c.Pipelines(ctx)
	if !errors.As(err, &e) || e.Status != http.StatusBadGateway || e.Code != "" ||
		!strings.Contains(e.Message, "GET /api/v1/pipelines: 502 Bad Gateway: <html>bad gateway</html>") {
		t.Fatalf("a proxy's page: %#v", err)
	}
	if errcode.Of(err) != errcode.Internal {
		t.Fatalf("a proxy's 502 reads as %q, want Internal", errcode.Of(err))
	}
}

// A server that cannot be reached is an error that is not *Error, naming
// the request.
func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := New(url, "").Pipelines(context.Background())
	var e *Error
	if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), "GET "+url+"/api/v1/pipelines") {
		t.Fatalf("unreachable: %v", err)
	}
}

// Every request carries the token as a bearer token; without one, no
// Authorization header at all.
func TestAuthorizationHeader(t *testing.T) {
	for _, token := range []string{"slc_abc123", ""} {
		var got []string
		var mu sync.Mutex
		c := serve(t, token, func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got = append(got, r.Header.Values("Authorization")...)
			mu.Unlock()
			switch {
			case r.URL.Path == "/api/v1/jobs/claim":
				w.WriteHeader(http.StatusNoContent)
			case strings.HasSuffix(r.URL.Path, "/log"):
				w.WriteHeader(http.StatusNoContent)
			default:
				writeJSON(w, http.StatusOK, map[string]any{})
			}
		})
		ctx := context.Background()
		c.Pipelines(ctx)
		c.ClaimJob(ctx, wire.ClaimRequest{WorkerID: "w", Providers: []string{"Build"}})
		c.AppendLog(ctx, "j", "w", []byte("x"))
		mu.Lock()
		for _, h := range got {
			if token == "" || h != "Bearer "+token {
				t.Errorf("token %q: Authorization %q", token, h)
			}
		}
		if token != "" && len(got) != 3 {
			t.Errorf("token %q: %d of 3 requests carried it", token, len(got))
		}
		mu.Unlock()
	}
}

// ClaimJob is a long poll: the worker says how long the server may hold it,
// and "no job" (204) is nil without an error.
func TestClaimJobLongPoll(t *testing.T) {
	var reqs []wire.ClaimRequest
	give := false
	c := serve(t, "", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/jobs/claim" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		var req wire.ClaimRequest
		json.NewDecoder(r.Body).Decode(&req)
		reqs = append(reqs, req)
		if !give {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, http.StatusOK, wire.Job{ID: "j1", PipelineName: "app", HeartbeatSeconds: 10, Region: "eu-west-3", BuildNumber: 4,
			ActionTypeID: wire.ActionTypeID{Category: "Build", Owner: "AWS", Provider: "CodeBuild", Version: "1"}})
	})
	ctx := context.Background()
	j, err := c.ClaimJob(ctx, wire.ClaimRequest{WorkerID: "w1", Providers: []string{"Build", "Commands"}, WaitSeconds: 20})
	if err != nil || j != nil {
		t.Fatalf("no job: %+v, %v", j, err)
	}
	give = true
	j, err = c.ClaimJob(ctx, wire.ClaimRequest{WorkerID: "w1", Providers: []string{"Build"}, WaitSeconds: 20})
	if err != nil || j == nil || j.ID != "j1" || j.ActionTypeID.Provider != "CodeBuild" || j.Region != "eu-west-3" || j.BuildNumber != 4 {
		t.Fatalf("a job: %+v, %v", j, err)
	}
	if len(reqs) != 2 || reqs[0].WorkerID != "w1" || reqs[0].WaitSeconds != 20 || strings.Join(reqs[0].Providers, ",") != "Build,Commands" {
		t.Fatalf("requests %+v", reqs)
	}
}

// A long poll ends when its context does, even while the server holds it.
func TestLongPollEndsWithTheContext(t *testing.T) {
	release := make(chan struct{})
	c := serve(t, "", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
		w.WriteHeader(http.StatusNoContent)
	})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Heartbeat(ctx, "j1", "w1", time.Minute)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the long poll outlived its context")
	}
}

// Heartbeat asks the server to hold the call for the wait; Execution's
// long poll sends since and wait.
func TestLongPollParameters(t *testing.T) {
	since := time.Date(2026, 12, 7, 18, 0, 0, 123456789, time.UTC)
	c := serve(t, "", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/jobs/j%201/heartbeat", "/api/v1/jobs/j 1/heartbeat":
			var req wire.HeartbeatRequest
			json.NewDecoder(r.Body).Decode(&req)
			if req.WorkerID != "w1" || req.WaitSeconds != 7.5 {
				t.Errorf("heartbeat request %+v", req)
			}
			writeJSON(w, http.StatusOK, wire.HeartbeatResult{LeaseUntil: since})
		case "/api/v1/pipelines/app/executions/e1":
			q := r.URL.Query()
			if q.Get("since") != since.Format(time.RFC3339Nano) || q.Get("wait") != "10s" {
				t.Errorf("execution query %v", q)
			}
			writeJSON(w, http.StatusOK, map[string]any{"pipelineExecutionId": "e1", "status": "Succeeded"})
		default:
			t.Errorf("unexpected %s", r.URL)
			w.WriteHeader(http.StatusNotFound)
		}
	})
	ctx := context.Background()
	hb, err := c.Heartbeat(ctx, "j 1", "w1", 7500*time.Millisecond)
	if err != nil || !hb.LeaseUntil.Equal(since) {
		t.Fatalf("heartbeat %+v, %v", hb, err)
	}
	if _, err := c.Execution(ctx, "app", "e1", since, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

// Log reads from an offset and says where the next read starts, whether
// the log is complete and of which attempt.
func TestLogChunks(t *testing.T) {
	full := "line 1\nline 2\nline 3\n"
	c := serve(t, "", func(w http.ResponseWriter, r *http.Request) {
		var off int
		fmt.Sscan(r.URL.Query().Get("offset"), &off)
		if r.URL.Path != "/api/v1/pipelines/app/executions/e1/logs/Build%2Fmake" && r.URL.EscapedPath() != "/api/v1/pipelines/app/executions/e1/logs/Build%2Fmake" {
			t.Errorf("path %s", r.URL.EscapedPath())
		}
		end := min(off+7, len(full))
		w.Header().Set("X-Sluice-Attempt", "2")
		if end == len(full) {
			w.Header().Set("X-Sluice-Log-Done", "true")
		}
		io.WriteString(w, full[off:end])
	})
	var got strings.Builder
	var off int64
	for i := 0; ; i++ {
		ch, err := c.Log(context.Background(), "app", "e1", "Build/make", off, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		got.Write(ch.Data)
		if ch.NextOffset != off+int64(len(ch.Data)) || ch.Attempt != 2 {
			t.Fatalf("chunk %+v from %d", ch, off)
		}
		off = ch.NextOffset
		if ch.Done {
			break
		}
		if i > 10 {
			t.Fatal("the log never ended")
		}
	}
	if got.String() != full {
		t.Fatalf("log %q", got.String())
	}
}

// AppendLog and PutJobOutput send their bodies as they are, with the worker
// in the query, escaped.
func TestUploads(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{}
	c := serve(t, "", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got[r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery+" "+r.Header.Get("Content-Type")] = string(body)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	ctx := context.Background()
	if err := c.AppendLog(ctx, "j1", "w 1&x=y", []byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	if err := c.PutJobOutput(ctx, "j1", "w1", "bin", strings.NewReader("PK zip")); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"POST /api/v1/jobs/j1/log?workerId=w+1%26x%3Dy application/octet-stream": "hello\n",
		"PUT /api/v1/jobs/j1/outputs/bin?workerId=w1 application/zip":            "PK zip",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q; all: %q", k, got[k], got)
		}
	}
}

// StreamEvents follows the server's Server-Sent Events; when the stream
// drops it resumes after the last event seen, and it ends with the error
// the callback returns.
func TestStreamEventsResumes(t *testing.T) {
	var mu sync.Mutex
	var afters []string
	c := serve(t, "", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/events/stream" {
			t.Errorf("path %s", r.URL.Path)
		}
		mu.Lock()
		afters = append(afters, r.URL.Query().Get("after"))
		n := len(afters)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		send := func(seq int) {
			raw, _ := json.Marshal(wire.Event{ID: fmt.Sprint(seq), Seq: int64(seq), DetailType: "T"})
			fmt.Fprintf(w, ": keep-alive\n\nid: %d\ndata: %s\n\n", seq, raw)
		}
		if n == 1 {
			send(1)
			send(2)
			return // the connection drops
		}
		send(3)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	stop := errors.New("enough")
	var seqs []int64
	err := c.StreamEvents(context.Background(), EventFilter{Pipeline: "app"}, func(ev wire.Event) error {
		seqs = append(seqs, ev.Seq)
		if ev.Seq == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err %v, want the callback's", err)
	}
	if fmt.Sprint(seqs) != "[1 2 3]" {
		t.Fatalf("events %v", seqs)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(afters) != 2 || afters[0] != "" || afters[1] != "2" {
		t.Fatalf("after= %q, want the resume after 2", afters)
	}
}

// A refusal (4xx) ends the stream at once rather than retrying for ever.
func TestStreamEventsRefused(t *testing.T) {
	calls := 0
	c := serve(t, "", func(w http.ResponseWriter, r *http.Request) {
		calls++
		writeJSON(w, http.StatusForbidden, wire.ErrorBody{Code: "Forbidden", Message: "events:Read denied"})
	})
	err := c.StreamEvents(context.Background(), EventFilter{}, func(wire.Event) error { return nil })
	if !IsCode(err, "Forbidden") || calls != 1 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
}

// A JSON answer the client cannot read is an error naming the request.
func TestUndecodableAnswer(t *testing.T) {
	c := serve(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("{"), 3))
	})
	_, err := c.Pipelines(context.Background())
	if err == nil || !strings.Contains(err.Error(), "GET /api/v1/pipelines: decode answer") {
		t.Fatalf("err %v", err)
	}
}
