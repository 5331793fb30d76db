package worker

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/report"
	"github.com/sluice-ci/sluice/internal/wire"
)

// fakeAPI is a scripted server: each method answers from what the test set
// and records what the worker sent. Its zero value has no job to give.
type fakeAPI struct {
	mu sync.Mutex

	jobs      []*wire.Job // given out in order by ClaimJob
	claimErrs []error     // returned by the first ClaimJob calls
	claims    int

	heartbeat func(n int) error // answers the n-th heartbeat (from 1); nil: OK
	beats     int

	appendErr func(n int) error // answers the n-th AppendLog (from 1); nil: OK
	appends   [][]byte

	completeErrs []error // returned by the first CompleteJob calls
	completes    int
	results      []wire.JobResult
	completed    chan wire.JobResult

	inputs  map[string][]byte // input artifacts (zips) by name
	outputs map[string][]byte // uploaded outputs by name
	secrets map[string][]byte

	// calls names each call as it is made ("claim", "append"), for tests
	// to wait on; calls beyond its buffer are not signalled.
	calls chan string
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{completed: make(chan wire.JobResult, 10), outputs: map[string][]byte{}, calls: make(chan string, 1000)}
}

func (f *fakeAPI) signal(call string) {
	select {
	case f.calls <- call:
	default:
	}
}

// waitCall waits for the next call of the kind named.
func (f *fakeAPI) waitCall(t *testing.T, call string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case c := <-f.calls:
			if c == call {
				return
			}
		case <-deadline:
			t.Fatalf("no %s call", call)
		}
	}
}

func (f *fakeAPI) ClaimJob(ctx context.Context, req wire.ClaimRequest) (*wire.Job, error) {
	f.mu.Lock()
	f.claims++
	f.signal("claim")
	if len(f.claimErrs) > 0 {
		err := f.claimErrs[0]
		f.claimErrs = f.claimErrs[1:]
		f.mu.Unlock()
		return nil, err
	}
	if len(f.jobs) > 0 {
		j := f.jobs[0]
		f.jobs = f.jobs[1:]
		f.mu.Unlock()
		return j, nil
	}
	f.mu.Unlock()
	// No job: hold the poll as the server does, until the worker stops.
	<-ctx.Done()
	return nil, ctx.Err()
}

func (f *fakeAPI) Heartbeat(ctx context.Context, jobID, worker string, wait time.Duration) (wire.HeartbeatResult, error) {
	f.mu.Lock()
	f.beats++
	n, answer := f.beats, f.heartbeat
	f.mu.Unlock()
	if answer != nil {
		if err := answer(n); err != nil {
			return wire.HeartbeatResult{}, err
		}
	}
	// A lease renewed: the server holds the call until the wait passes.
	select {
	case <-ctx.Done():
	case <-time.After(wait):
	}
	return wire.HeartbeatResult{LeaseUntil: time.Now().Add(time.Minute)}, ctx.Err()
}

func (f *fakeAPI) CompleteJob(ctx context.Context, jobID string, res wire.JobResult) error {
	f.mu.Lock()
	f.completes++
	if len(f.completeErrs) > 0 {
		err := f.completeErrs[0]
		f.completeErrs = f.completeErrs[1:]
		f.mu.Unlock()
		return err
	}
	f.results = append(f.results, res)
	f.mu.Unlock()
	f.completed <- res
	return nil
}

func (f *fakeAPI) AppendLog(ctx context.Context, jobID, worker string, data []byte) error {
	defer f.signal("append")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.appendErr != nil {
		if err := f.appendErr(len(f.appends) + 1); err != nil {
			f.appends = append(f.appends, nil) // an attempt, nothing kept
			return err
		}
	}
	f.appends = append(f.appends, bytes.Clone(data))
	return nil
}

// sent is the log the server kept, in order.
func (f *fakeAPI) sent() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	for _, a := range f.appends {
		b.Write(a)
	}
	return b.String()
}

func (f *fakeAPI) JobInput(ctx context.Context, jobID, worker, name string) (io.ReadCloser, error) {
	data, ok := f.inputs[name]
	if !ok {
		return nil, &client.Error{Status: http.StatusNotFound, Code: "NotFound", Message: "no input " + name}
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (f *fakeAPI) PutJobOutput(ctx context.Context, jobID, worker, name string, body io.Reader) error {
	data, err := io.ReadAll(body)
	f.mu.Lock()
	f.outputs[name] = data
	f.mu.Unlock()
	return err
}

func (f *fakeAPI) JobSecret(ctx context.Context, jobID, worker, name string) ([]byte, error) {
	if v, ok := f.secrets[name]; ok {
		return v, nil
	}
	return nil, &client.Error{Status: http.StatusForbidden, Code: "Forbidden", Message: "secret " + name}
}

func (f *fakeAPI) PutJobReport(ctx context.Context, jobID, worker, group string, r *report.Report) error {
	return nil
}

func (f *fakeAPI) JobCache(ctx context.Context, jobID, worker string) (io.ReadCloser, error) {
	return nil, &client.Error{Status: http.StatusNotFound, Code: "NotFound", Message: "no cache"}
}

func (f *fakeAPI) PutJobCache(ctx context.Context, jobID, worker string, body io.Reader) error {
	return nil
}

var (
	errConflict    = &client.Error{Status: http.StatusConflict, Code: "Conflict", Message: "job taken away"}
	errUnavailable = &client.Error{Status: http.StatusBadGateway, Message: "502 Bad Gateway"}
	errRefused     = errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
)

// startWorker runs a worker over api with the providers until the test ends.
func startWorker(t *testing.T, api API, providers map[string]provider.Provider) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &Worker{ID: "w1", API: api, Providers: providers, WorkRoot: t.TempDir(), LogFlush: time.Hour}
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func waitResult(t *testing.T, api *fakeAPI) wire.JobResult {
	t.Helper()
	select {
	case r := <-api.completed:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("no result reported")
		return wire.JobResult{}
	}
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A job claimed is run with its input in place, its output uploaded and
// its result reported, the log with it; a secret the job read is masked in
// the log and in the result's message.
func TestRunReportsTheResult(t *testing.T) {
	api := newFakeAPI()
	api.inputs = map[string][]byte{"src": zipOf(t, map[string]string{"in.txt": "hello"})}
	api.secrets = map[string][]byte{"token": []byte("s3cret")}
	api.jobs = []*wire.Job{{
		ID: "j1", PipelineName: "app", Action: "make", Attempt: 1, ActionTypeID: wire.ActionTypeID{Provider: "Fake"},
		InputArtifacts: []wire.Artifact{{Name: "src"}}, OutputArtifacts: []wire.Artifact{{Name: "out"}},
		Region: "eu-west-3", BuildNumber: 7,
	}}
	var got *provider.Job
	startWorker(t, api, map[string]provider.Provider{"Fake": provider.Func(func(ctx context.Context, j *provider.Job) (provider.Result, error) {
		got = j
		in, err := os.ReadFile(filepath.Join(j.WorkDir, "in.txt"))
		if err != nil {
			return provider.Result{}, err
		}
		secret, err := j.Secret(ctx, "token")
		if err != nil {
			return provider.Result{}, err
		}
		io.WriteString(j.Log, "read "+string(in)+" with "+string(secret)+"\n")
		if err := os.WriteFile(j.Outputs[0].Path, []byte("zip bytes"), 0o644); err != nil {
			return provider.Result{}, err
		}
		return provider.Result{Summary: "made it", OutputVariables: map[string]string{"V": "1"}}, nil
	})})
	res := waitResult(t, api)
	if !res.Succeeded || res.WorkerID != "w1" || res.Summary != "made it" || res.OutputVariables["V"] != "1" {
		t.Fatalf("result %+v", res)
	}
	if log := string(res.Log) + api.sent(); log != "read hello with ***\n" {
		t.Fatalf("log %q: want the secret masked", log)
	}
	if string(api.outputs["out"]) != "zip bytes" {
		t.Fatalf("outputs %q", api.outputs)
	}
	if got.Region != "eu-west-3" || got.BuildNumber != 7 || got.Pipeline != "app" {
		t.Fatalf("the provider's job: region %q, build number %d, pipeline %q", got.Region, got.BuildNumber, got.Pipeline)
	}
}

// A failing provider's message is the result's, with secrets masked.
func TestRunReportsAFailure(t *testing.T) {
	api := newFakeAPI()
	api.secrets = map[string][]byte{"token": []byte("s3cret")}
	api.jobs = []*wire.Job{{ID: "j1", ActionTypeID: wire.ActionTypeID{Provider: "Fake"}}}
	startWorker(t, api, map[string]provider.Provider{"Fake": provider.Func(func(ctx context.Context, j *provider.Job) (provider.Result, error) {
		s, _ := j.Secret(ctx, "token")
		return provider.Result{}, errors.New("bad token " + string(s))
	})})
	res := waitResult(t, api)
	if res.Succeeded || res.Message != "bad token ***" {
		t.Fatalf("result %+v", res)
	}
}

// A job whose deadline has passed is stopped and reported as timed out.
func TestRunTimesOut(t *testing.T) {
	api := newFakeAPI()
	api.jobs = []*wire.Job{{ID: "j1", ActionTypeID: wire.ActionTypeID{Provider: "Fake"}, Deadline: time.Now().Add(-time.Second)}}
	startWorker(t, api, map[string]provider.Provider{"Fake": provider.Func(func(ctx context.Context, j *provider.Job) (provider.Result, error) {
		<-ctx.Done()
		return provider.Result{}, ctx.Err()
	})})
	res := waitResult(t, api)
	if res.Succeeded || !strings.HasPrefix(res.Message, "action timed out: ") {
		t.Fatalf("result %+v", res)
	}
}

// A heartbeat answered "taken away" (the execution was stopped, or the job
// given to another worker) kills what the job runs, and the worker reports
// nothing: the job is no longer its own. A heartbeat that fails on the way
// is made again.
func TestHeartbeatTakenAwayKillsTheJob(t *testing.T) {
	api := newFakeAPI()
	api.jobs = []*wire.Job{{ID: "j1", ActionTypeID: wire.ActionTypeID{Provider: "Fake"}, HeartbeatSeconds: 0.01}}
	api.heartbeat = func(n int) error {
		if n == 1 {
			return errRefused
		}
		return errConflict
	}
	killed := make(chan error, 1)
	startWorker(t, api, map[string]provider.Provider{"Fake": provider.Func(func(ctx context.Context, j *provider.Job) (provider.Result, error) {
		<-ctx.Done()
		killed <- context.Cause(ctx)
		return provider.Result{}, ctx.Err()
	})})
	select {
	case cause := <-killed:
		if !errors.Is(cause, errTakenAway) {
			t.Fatalf("the job ended for %v, want taken away", cause)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the job kept running after it was taken away")
	}
	api.mu.Lock()
	beats := api.beats
	api.mu.Unlock()
	if beats != 2 {
		t.Fatalf("%d heartbeats, want 2 (one failed on the way, one answered Conflict)", beats)
	}
	// The worker goes back to polling without reporting the job.
	api.waitCall(t, "claim") // the claim that got the job
	api.waitCall(t, "claim") // the next poll, after the job ended
	api.mu.Lock()
	defer api.mu.Unlock()
	if api.completes != 0 {
		t.Fatalf("a job taken away was reported: %+v", api.results)
	}
}

// A claim that fails (the server restarting) is made again.
func TestClaimRetriedAfterErrors(t *testing.T) {
	api := newFakeAPI()
	api.claimErrs = []error{errRefused, errUnavailable}
	api.jobs = []*wire.Job{{ID: "j1", ActionTypeID: wire.ActionTypeID{Provider: "Fake"}}}
	startWorker(t, api, map[string]provider.Provider{"Fake": provider.Func(func(ctx context.Context, j *provider.Job) (provider.Result, error) {
		return provider.Result{Summary: "ok"}, nil
	})})
	if res := waitResult(t, api); !res.Succeeded {
		t.Fatalf("result %+v", res)
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if api.claims < 3 {
		t.Fatalf("%d claims, want the two failed ones and the one that got the job", api.claims)
	}
}

// A result the server could not take at once (a restart, a proxy's 502) is
// sent again until it is; one it refused is not.
func TestResultRetriedOnTransientErrors(t *testing.T) {
	api := newFakeAPI()
	api.completeErrs = []error{errRefused, errUnavailable}
	api.jobs = []*wire.Job{{ID: "j1", ActionTypeID: wire.ActionTypeID{Provider: "Fake"}}}
	startWorker(t, api, map[string]provider.Provider{"Fake": provider.Func(func(ctx context.Context, j *provider.Job) (provider.Result, error) {
		return provider.Result{Summary: "ok"}, nil
	})})
	if res := waitResult(t, api); !res.Succeeded || res.Summary != "ok" {
		t.Fatalf("result %+v", res)
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if api.completes != 3 || len(api.results) != 1 {
		t.Fatalf("%d attempts, %d results; want 3 attempts, 1 result", api.completes, len(api.results))
	}

	for _, tc := range []struct {
		err  error
		want bool
	}{
		{errRefused, true}, {errUnavailable, true},
		{&client.Error{Status: http.StatusTooManyRequests, Code: "Throttled"}, true},
		{errConflict, false}, {&client.Error{Status: http.StatusBadRequest, Code: "Invalid"}, false},
		{&client.Error{Status: http.StatusForbidden, Code: "Forbidden"}, false},
	} {
		if got := transient(tc.err); got != tc.want {
			t.Errorf("transient(%v) = %v", tc.err, got)
		}
	}
}

// The log sink sends nothing for small writes until it is flushed: what is
// left when the job ends goes back to the caller to send with the result.
// A full chunk is sent at once, in order.
func TestLogSinkBatches(t *testing.T) {
	api := newFakeAPI()
	s := newLogSink(api, "j1", "w1", time.Hour, func(error) { t.Error("lost") })
	for range 100 {
		io.WriteString(s, "line\n")
	}
	if len(api.appends) != 0 {
		t.Fatalf("%d requests for 100 short lines before a flush", len(api.appends))
	}
	if tail := s.Close(); string(tail) != strings.Repeat("line\n", 100) {
		t.Fatalf("tail %d bytes, want the 100 lines", len(tail))
	}

	api = newFakeAPI()
	s = newLogSink(api, "j1", "w1", time.Hour, func(error) { t.Error("lost") })
	big := bytes.Repeat([]byte("x"), logChunk+10)
	s.Write(big)
	s.Write([]byte("end\n"))
	if len(api.appends) != 2 || len(api.appends[0]) != logChunk || len(api.appends[1]) != 10 {
		t.Fatalf("a write past a chunk: %d requests, want a chunk and the rest", len(api.appends))
	}
	tail := s.Close()
	if got := api.sent() + string(tail); got != string(big)+"end\n" {
		t.Fatalf("log out of order or lost: %d bytes, want %d", len(got), len(big)+4)
	}
}

// The ticker flushes what was written.
func TestLogSinkFlushesOnTick(t *testing.T) {
	api := newFakeAPI()
	s := newLogSink(api, "j1", "w1", time.Millisecond, func(error) { t.Error("lost") })
	io.WriteString(s, "hello\n")
	api.waitCall(t, "append")
	if got := api.sent(); got != "hello\n" {
		t.Fatalf("sent %q", got)
	}
	if tail := s.Close(); len(tail) != 0 {
		t.Fatalf("tail %q after a flush", tail)
	}
}

// A log request that fails on the way loses nothing: the data goes with the
// next flush, in order.
func TestLogSinkKeepsTheLogThroughErrors(t *testing.T) {
	api := newFakeAPI()
	api.appendErr = func(n int) error {
		if n == 1 {
			return errUnavailable
		}
		return nil
	}
	s := newLogSink(api, "j1", "w1", time.Hour, func(error) { t.Error("lost") })
	io.WriteString(s, "first\n")
	s.flush() // fails: kept
	io.WriteString(s, "second\n")
	s.flush()
	if got := api.sent(); got != "first\nsecond\n" {
		t.Fatalf("sent %q, want both lines in order", got)
	}
	if tail := s.Close(); len(tail) != 0 {
		t.Fatalf("tail %q", tail)
	}
}

// While the server cannot take the log, the sink keeps a bounded backlog
// and says what it dropped; the result's tail is at most a chunk.
func TestLogSinkBoundsItsBacklog(t *testing.T) {
	api := newFakeAPI()
	api.appendErr = func(int) error { return errRefused }
	s := newLogSink(api, "j1", "w1", time.Hour, func(error) { t.Error("lost") })
	for range 20 {
		s.Write(bytes.Repeat([]byte("y"), logChunk))
	}
	s.mu.Lock()
	backlog := len(s.buf)
	s.mu.Unlock()
	if backlog > maxBacklog+200 {
		t.Fatalf("backlog %d bytes, want at most about %d", backlog, maxBacklog)
	}
	tail := s.Close()
	if len(tail) > logChunk || !strings.HasPrefix(string(tail), "[sluice: ") {
		t.Fatalf("tail %d bytes starting %.40q", len(tail), tail)
	}
}

// A log request answered Conflict means the job was taken away.
func TestLogSinkConflictTakesTheJobAway(t *testing.T) {
	api := newFakeAPI()
	api.appendErr = func(int) error { return errConflict }
	var lost error
	s := newLogSink(api, "j1", "w1", time.Hour, func(err error) { lost = err })
	io.WriteString(s, "x")
	s.flush()
	s.Close()
	if !errors.Is(lost, errTakenAway) {
		t.Fatalf("lost = %v", lost)
	}
}
