// Package worker runs jobs: it polls the server for a job of the providers it
// has, holds it under a lease with heartbeats, prepares its inputs, runs the
// provider, streams the log, uploads the outputs and reports the result. The
// server's in-process workers and remote `sluice worker` processes are this same
// code, talking to the same HTTP API.
package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/errcode"
	"github.com/sluice-ci/sluice/internal/hostconn"
	"github.com/sluice-ci/sluice/internal/logctx"
	"github.com/sluice-ci/sluice/internal/logmask"
	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/report"
	"github.com/sluice-ci/sluice/internal/wire"
)

// API is the part of the server's API a worker uses.
type API interface {
	ClaimJob(ctx context.Context, req wire.ClaimRequest) (*wire.Job, error)
	Heartbeat(ctx context.Context, jobID, worker string, wait time.Duration) (wire.HeartbeatResult, error)
	CompleteJob(ctx context.Context, jobID string, res wire.JobResult) error
	AppendLog(ctx context.Context, jobID, worker string, data []byte) error
	JobInput(ctx context.Context, jobID, worker, name string) (io.ReadCloser, error)
	PutJobOutput(ctx context.Context, jobID, worker, name string, body io.Reader) error
	JobSecret(ctx context.Context, jobID, worker, name string) ([]byte, error)
	PutJobReport(ctx context.Context, jobID, worker, group string, r *report.Report) error
	JobCache(ctx context.Context, jobID, worker string) (io.ReadCloser, error)
	PutJobCache(ctx context.Context, jobID, worker string, body io.Reader) error
}

// Worker polls for jobs and runs them, one at a time.
type Worker struct {
	ID        string
	API       API
	Providers map[string]provider.Provider
	// WorkRoot holds each job's working directory while it runs.
	WorkRoot string
	// ScratchRoot holds each job's scratch directory (scripts, status files):
	// small files, best on a memory file system. Empty means WorkRoot.
	ScratchRoot string
	// BaseEnv is the environment given to every job's processes, before sluice's
	// own variables are added.
	BaseEnv []string
	Logger  *slog.Logger
	// PollWait is how long one claim request waits on the server for a job.
	PollWait time.Duration
	// LogFlush is how often a running job's log is sent.
	LogFlush time.Duration
	// Region is the region this worker is in ("": the server's home
	// region); it takes that region's jobs only.
	Region string

	// root is the job directory kept from the last job, "" when there is
	// none (see jobRoot).
	root string
	// The sandboxes prepared ahead of jobs (see prepared.go).
	preparedState
}

// Run polls and runs jobs until ctx ends. A job running when ctx ends is
// abandoned by this worker: its lease runs out and the server offers it again.
func (w *Worker) Run(ctx context.Context) error {
	if w.PollWait == 0 {
		w.PollWait = 20 * time.Second
	}
	if w.LogFlush == 0 {
		w.LogFlush = 200 * time.Millisecond
	}
	// Lines about a job name it, its execution, pipeline, stage and action
	// (logctx), from the context runJob makes.
	w.Logger = logctx.Logger(w.Logger)
	providers := make([]string, 0, len(w.Providers))
	for name := range w.Providers {
		providers = append(providers, name)
	}
	slices.Sort(providers)
	defer w.dropRoot()
	w.findPreparer(providers)
	defer w.stopPreparing()
	w.startPreparing(true)
	backoff := 100 * time.Millisecond
	var next *wire.Job // claimed with the last job's result
	for ctx.Err() == nil {
		if next != nil {
			job := next
			next = w.runJob(ctx, job, providers)
			continue
		}
		job, err := w.API.ClaimJob(ctx, wire.ClaimRequest{WorkerID: w.ID, Providers: providers, WaitSeconds: int(w.PollWait / time.Second), Region: w.Region})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			w.Logger.Warn("claim job", "worker", w.ID, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if job == nil {
			continue
		}
		next = w.runJob(ctx, job, providers)
	}
	return nil
}

// runJob runs one claimed job to its end and reports it, asking with the
// result for the next job of providers where the server can give it (see
// nextClaimer); it returns that job, nil when there is none.
func (w *Worker) runJob(ctx context.Context, job *wire.Job, providers []string) *wire.Job {
	ctx = logctx.With(ctx, logctx.Worker, w.ID, logctx.Job, job.ID, logctx.Pipeline, job.PipelineName,
		logctx.Execution, job.PipelineExecutionID, logctx.Stage, job.Stage, logctx.Action, job.Action)
	log := w.Logger
	started := time.Now()
	// The job's prepared sandbox ends after its result is sent.
	defer w.retireUsed()
	jobCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if !job.Deadline.IsZero() {
		var stop context.CancelFunc
		jobCtx, stop = context.WithDeadline(jobCtx, job.Deadline)
		defer stop()
	}

	// Heartbeats run beside the job; a refused one means the job was taken away
	// (stopped, abandoned, timed out) and what it runs must die now.
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		w.heartbeat(jobCtx, job, cancel)
	}()
	defer func() { cancel(nil); <-hbDone }()

	logs := newLogSink(w.API, job.ID, w.ID, w.LogFlush, func(err error) { cancel(err) })
	masked := logmask.New(logs)
	res, runErr := w.execute(jobCtx, job, masked)
	masked.Flush()
	tail := logs.Close()

	if cause := context.Cause(jobCtx); cause != nil && errors.Is(cause, errTakenAway) {
		log.InfoContext(ctx, "job taken away", "reason", cause)
		// The server keeps the end of the log of a job a function answered
		// for while its command still ran; any other job refuses it.
		if len(tail) > 0 {
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			_ = w.API.AppendLog(rctx, job.ID, w.ID, tail)
			rcancel()
		}
		return nil
	}
	if ctx.Err() != nil {
		return nil // this worker is shutting down; the lease runs out and the job is offered again
	}
	result := wire.JobResult{WorkerID: w.ID, Succeeded: runErr == nil, Log: tail}
	if runErr != nil {
		result.FailedArtifacts = res.KeptOutputs
		result.Message = runErr.Error()
		if errors.Is(runErr, context.DeadlineExceeded) {
			result.Message = "action timed out: " + runErr.Error()
		}
	} else {
		result.Summary = res.Summary
		result.OutputVariables = res.OutputVariables
		result.Invoked = res.Invoked
	}
	result.Message, result.Summary = masked.Redact(result.Message), masked.Redact(result.Summary)
	// The result is reported even if the job context ended, with a fresh context:
	// the server must hear of it.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer rcancel()
	next, err := w.report(rctx, job.ID, result, providers)
	if err != nil && !client.IsCode(err, errcode.Conflict) {
		log.ErrorContext(ctx, "report job result", "err", err)
		return next
	}
	log.InfoContext(ctx, "job finished", "succeeded", result.Succeeded, "seconds", time.Since(started).Seconds())
	return next
}

// nextClaimer is the job protocol's result that also claims the worker's
// next job (wire.NextParam), which the server's client has: a short job's
// worker then makes one request between jobs, not two.
type nextClaimer interface {
	CompleteJobAndClaim(ctx context.Context, jobID string, res wire.JobResult, providers []string) (*wire.Job, error)
}

// report sends a job's result, again and again while the server cannot be
// reached or fails (a restart, a proxy's 502) until ctx ends: a result lost
// to a blip would leave a finished job to run out its lease and be run
// again. An answer the server meant (a conflict, a refusal) ends it. With
// providers, the next job is asked for with the result, and returned.
func (w *Worker) report(ctx context.Context, jobID string, result wire.JobResult, providers []string) (*wire.Job, error) {
	backoff := 100 * time.Millisecond
	nc, combined := w.API.(nextClaimer)
	for {
		var next *wire.Job
		var err error
		if combined && len(providers) > 0 {
			result.NextRegion = w.Region
			next, err = nc.CompleteJobAndClaim(ctx, jobID, result, providers)
		} else {
			err = w.API.CompleteJob(ctx, jobID, result)
		}
		if err == nil || !transient(err) {
			return next, err
		}
		w.Logger.WarnContext(ctx, "report job result, will retry", "err", err)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// transient reports whether err may go away if the call is made again: the
// server was not reached, or answered with a server-side failure.
func transient(err error) bool {
	var e *client.Error
	if !errors.As(err, &e) {
		return true
	}
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

var errTakenAway = errors.New("job taken away")

// answered reports whether a heartbeat was refused because the job ended with
// an answer (the server's "job X has ended (Succeeded)"), not because it was
// cancelled or given to another worker.
func answered(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "has ended (Succeeded)") || strings.Contains(msg, "has ended (Failed)")
}

// firstHeartbeat is how long a job runs before its first heartbeat. A stop asked
// before then reaches the job when that heartbeat is answered.
const firstHeartbeat = 250 * time.Millisecond

// heartbeat renews the job's lease until ctx ends. Each call is held by the
// server until the job is taken away or the interval passes, so a stop reaches
// the job at once; a failed call is retried after a pause.
func (w *Worker) heartbeat(ctx context.Context, job *wire.Job, cancel context.CancelCauseFunc) {
	every := time.Duration(job.HeartbeatSeconds * float64(time.Second))
	if every <= 0 {
		every = 10 * time.Second
	}
	// The claim has just granted the lease: most short actions are over before a
	// first heartbeat is needed, and it would only compete with them for the CPU.
	select {
	case <-ctx.Done():
		return
	case <-time.After(min(every, firstHeartbeat)):
	}
	for ctx.Err() == nil {
		started := time.Now()
		_, err := w.API.Heartbeat(ctx, job.ID, w.ID, every)
		if job.JobToken != "" && client.IsCode(err, errcode.Conflict) && answered(err) {
			// The function answered for its job while its command still
			// runs: the command goes on to its end (or the job's
			// deadline), its output still logged.
			return
		}
		if client.IsCode(err, errcode.Conflict) || client.IsCode(err, errcode.NotFound) {
			cancel(fmt.Errorf("%w: %v", errTakenAway, err))
			return
		}
		if err != nil && ctx.Err() == nil {
			w.Logger.WarnContext(ctx, "heartbeat", "err", err)
		}
		// Never call faster than once a second in a row, whatever the server does.
		if pause := time.Second - time.Since(started); pause > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(pause):
			}
		}
	}
}

// execute prepares the job's directories and inputs, runs the provider and
// uploads its outputs.
func (w *Worker) execute(ctx context.Context, job *wire.Job, logs *logmask.Writer) (provider.Result, error) {
	p, ok := w.Providers[job.ActionTypeID.Provider]
	if !ok {
		return provider.Result{}, fmt.Errorf("worker %s has no provider %s", w.ID, job.ActionTypeID.Provider)
	}
	var box *prepared
	if sp, ok := p.(preparer); ok {
		if network, ok := sp.PreparedNetwork(job.Configuration); ok {
			box = w.takePrepared(ctx, network)
		}
	}
	var root string
	var fresh bool
	if box != nil {
		// Its directories are fresh, src made; runJob removes them.
		w.used, root = box, box.root
	} else {
		var err error
		if root, fresh, err = w.jobRoot(); err != nil {
			return provider.Result{}, fmt.Errorf("create working directory: %w", err)
		}
		defer w.releaseRoot()
	}
	pj := &provider.Job{
		ID: job.ID, Pipeline: job.PipelineName, ExecutionID: job.PipelineExecutionID, Stage: job.Stage, Action: job.Action,
		Attempt: job.Attempt, Provider: job.ActionTypeID.Provider,
		Configuration: job.Configuration, Revision: job.Revision, Project: job.Project, Commands: job.Commands, Variables: job.Variables, OutputVariables: job.OutputVariables,
		WorkDir: filepath.Join(root, "src"), InputDirs: map[string]string{}, Log: logs,
		Region: job.Region, BuildNumber: job.BuildNumber,
		LoadCache: func(ctx context.Context) (io.ReadCloser, error) {
			rc, err := w.API.JobCache(ctx, job.ID, w.ID)
			if client.IsCode(err, errcode.NotFound) {
				return nil, fmt.Errorf("%w: %v", fs.ErrNotExist, err)
			}
			return rc, err
		},
		SaveCache: func(ctx context.Context, body io.Reader) error {
			return w.API.PutJobCache(ctx, job.ID, w.ID, body)
		},
		Report: func(ctx context.Context, group string, r *report.Report) error {
			return w.API.PutJobReport(ctx, job.ID, w.ID, group, r)
		},
		Secret: func(ctx context.Context, name string) ([]byte, error) {
			value, err := w.API.JobSecret(ctx, job.ID, w.ID, name)
			if err == nil {
				// From now on the value is masked in the job's log.
				logs.Add(value)
			}
			return value, err
		},
	}
	pj.AWS = w.awsConnections(job, logs)
	if api, ok := w.API.(jobDeploymentAPI); ok && job.ActionTypeID.Provider == "CodeDeploy" {
		pj.Deployments = jobDeployments{api: api, job: job.ID, worker: w.ID}
	}
	pj.GitHost = w.gitConnection(job, logs)
	if job.JobToken != "" {
		// A function's job token must never reach the log.
		logs.Add([]byte(job.JobToken))
		pj.Function, pj.JobToken, pj.ContinuationToken = job.Function, job.JobToken, job.ContinuationToken
		if api, ok := w.API.(interface{ BaseURL() string }); ok {
			pj.ServerURL = api.BaseURL()
		}
	}
	if fresh {
		if err := os.Mkdir(pj.WorkDir, 0o755); err != nil {
			return provider.Result{}, fmt.Errorf("create working directory: %w", err)
		}
	}
	for i, in := range job.InputArtifacts {
		dir := pj.WorkDir
		if i > 0 {
			dir = filepath.Join(root, "inputs", in.Name)
		}
		if err := w.fetchInput(ctx, job, in.Name, root, dir); err != nil {
			return provider.Result{}, err
		}
		pj.Inputs = append(pj.Inputs, in.Name)
		pj.InputDirs[in.Name] = dir
	}
	if len(job.OutputArtifacts) > 0 {
		if err := os.Mkdir(filepath.Join(root, "outputs"), 0o755); err != nil {
			return provider.Result{}, err
		}
	}
	if box != nil {
		pj.ScratchDir, pj.Prepared = box.scratch, box.box
	} else {
		scratchRoot := w.ScratchRoot
		if scratchRoot == "" {
			scratchRoot = root
		}
		var err error
		if pj.ScratchDir, err = os.MkdirTemp(scratchRoot, "scratch-"); err != nil {
			return provider.Result{}, fmt.Errorf("create scratch directory: %w", err)
		}
		defer os.RemoveAll(pj.ScratchDir)
	}
	for _, o := range job.OutputArtifacts {
		pj.Outputs = append(pj.Outputs, provider.Output{Name: o.Name, Files: o.Files, Path: filepath.Join(root, "outputs", o.Name+".zip")})
	}
	pj.Env = w.env(job, pj)

	res, err := p.Run(ctx, pj)
	if err != nil {
		res.KeptOutputs = w.putKeptOutputs(ctx, job, pj, res.KeptOutputs)
		return res, err
	}
	if res.Invoked {
		return res, nil // an invoked function uploads its outputs itself
	}
	for _, o := range pj.Outputs {
		if err := w.putOutput(ctx, job, o); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (w *Worker) fetchInput(ctx context.Context, job *wire.Job, name, root, dir string) error {
	rc, err := w.API.JobInput(ctx, job.ID, w.ID, name)
	if err != nil {
		return fmt.Errorf("input artifact %s: %w", name, err)
	}
	defer rc.Close()
	f, err := os.CreateTemp(root, "input-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := io.Copy(f, rc); err != nil {
		return fmt.Errorf("input artifact %s: download: %w", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := artifact.UnzipFile(ctx, f.Name(), dir); err != nil {
		return fmt.Errorf("input artifact %s: %w", name, err)
	}
	return nil
}

func (w *Worker) putOutput(ctx context.Context, job *wire.Job, o provider.Output) error {
	f, err := os.Open(o.Path)
	if err != nil {
		return fmt.Errorf("output artifact %s was not produced: %w", o.Name, err)
	}
	defer f.Close()
	if err := w.API.PutJobOutput(ctx, job.ID, w.ID, o.Name, f); err != nil {
		return fmt.Errorf("upload output artifact %s: %w", o.Name, err)
	}
	return nil
}

// putKeptOutputs uploads the outputs a failed run kept and returns the names
// uploaded. A failure here is logged, not reported: the action has already
// failed for its own reason.
func (w *Worker) putKeptOutputs(ctx context.Context, job *wire.Job, pj *provider.Job, names []string) []string {
	var done []string
	for _, o := range pj.Outputs {
		if !slices.Contains(names, o.Name) || ctx.Err() != nil {
			continue
		}
		if err := w.putOutput(ctx, job, o); err != nil {
			fmt.Fprintf(pj.Log, "[sluice] output artifact %s of the failed attempt not kept: %v\n", o.Name, err)
			continue
		}
		done = append(done, o.Name)
	}
	return done
}

// env is the job's process environment: the worker's base, then sluice's own
// variables, with CodeBuild's names for the source directories as well, since
// CodePipeline's Commands action runs on CodeBuild and scripts use them.
func (w *Worker) env(job *wire.Job, pj *provider.Job) []string {
	env := slices.Clone(w.BaseEnv)
	add := func(k, v string) { env = append(env, k+"="+v) }
	add("SLUICE_PIPELINE_NAME", job.PipelineName)
	add("SLUICE_PIPELINE_EXECUTION_ID", job.PipelineExecutionID)
	add("SLUICE_STAGE_NAME", job.Stage)
	add("SLUICE_ACTION_NAME", job.Action)
	add("SLUICE_JOB_ID", job.ID)
	add("SLUICE_ATTEMPT", strconv.Itoa(job.Attempt))
	add("SLUICE_SRC_DIR", pj.WorkDir)
	add("CODEBUILD_SRC_DIR", pj.WorkDir)
	for _, name := range pj.Inputs {
		add("SLUICE_SRC_DIR_"+envName(name), pj.InputDirs[name])
		add("CODEBUILD_SRC_DIR_"+envName(name), pj.InputDirs[name])
	}
	return env
}

// envName makes an artifact name usable in a variable name.
func envName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// DefaultScratchRoot returns a directory on a memory file system for jobs'
// scratch files, or "" when the machine has none: on some disks each small file
// costs a quarter of a millisecond, which short actions feel.
func DefaultScratchRoot() string {
	for _, dir := range []string{"/dev/shm"} {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() && unix.Access(dir, unix.W_OK) == nil {
			return dir
		}
	}
	return ""
}

// DefaultBaseEnv picks the variables of the worker's own environment that jobs
// need to find programs; everything else, credentials included, stays out.
func DefaultBaseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ", "TMPDIR", "SHELL"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// logSink buffers a job's log and sends it in chunks, so a chatty build does not
// make a request per line.
type logSink struct {
	api    API
	job    string
	worker string
	onLost func(error)

	mu     sync.Mutex // guards buf
	buf    []byte
	sendMu sync.Mutex // keeps chunks in order when a full buffer and the ticker both flush
	stop   chan struct{}
	done   chan struct{}
}

const logChunk = 256 << 10

// maxBacklog bounds the log kept while the server cannot take it: past it,
// the oldest part is dropped, and the log says how much.
const maxBacklog = 16 * logChunk

func newLogSink(api API, job, worker string, every time.Duration, onLost func(error)) *logSink {
	s := &logSink{api: api, job: job, worker: worker, onLost: onLost, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				// What is left goes with the result, unless there is more than
				// a chunk of it.
				s.mu.Lock()
				big := len(s.buf) > logChunk
				s.mu.Unlock()
				if big {
					s.flush()
				}
				return
			case <-t.C:
				s.flush()
			}
		}
	}()
	return s
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.buf = append(s.buf, p...)
	big := len(s.buf) >= logChunk
	s.mu.Unlock()
	if big {
		s.flush()
	}
	return len(p), nil
}

func (s *logSink) flush() {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	data := s.buf
	s.buf = nil
	s.mu.Unlock()
	for len(data) > 0 {
		n := min(len(data), logChunk)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := s.api.AppendLog(ctx, s.job, s.worker, data[:n])
		cancel()
		if client.IsCode(err, errcode.Conflict) {
			s.onLost(fmt.Errorf("%w: %v", errTakenAway, err))
			return
		}
		if err != nil && transient(err) {
			// Kept, in order, for the next flush (or the result) rather
			// than lost to a blip.
			s.requeue(data)
			return
		}
		data = data[n:]
	}
}

// requeue puts data back before what was written since, keeping at most
// maxBacklog bytes: the newest, after a note of what was dropped.
func (s *logSink) requeue(data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := append(slices.Clip(data), s.buf...)
	if over := len(all) - maxBacklog; over > 0 {
		note := fmt.Sprintf("[sluice: %d bytes of log lost while the server could not take them]\n", over)
		all = append([]byte(note), all[over:]...)
	}
	s.buf = all
}

// Close stops the sink and returns what it has not sent yet, at most one chunk,
// for the caller to send with the job's result.
func (s *logSink) Close() []byte {
	close(s.stop)
	<-s.done
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	tail := s.buf
	s.buf = nil
	if over := len(tail) - logChunk; over > 0 {
		// The server could not take the rest before the job ended; the
		// result carries one chunk, the newest.
		note := fmt.Sprintf("[sluice: %d bytes of log lost while the server could not take them]\n", over+100)
		tail = append([]byte(note), tail[over+100:]...)
	}
	return tail
}

// connectionAPI is the job protocol's connection call, which the server's
// client has (test fakes may not).
type connectionAPI interface {
	JobConnection(ctx context.Context, jobID, worker, name string) (awsconn.Settings, error)
}

// awsConnections is a job's provider.Job.AWS: it asks the server for the
// connection (its keys reach this worker only), masks every key in the job's
// log from then on, and opens it, assuming its role. Each connection is
// opened once per job.
func (w *Worker) awsConnections(job *wire.Job, logs *logmask.Writer) func(ctx context.Context, name string) (*awsconn.Conn, error) {
	api, ok := w.API.(connectionAPI)
	if !ok {
		return nil
	}
	var mu sync.Mutex
	opened := map[string]*awsconn.Conn{}
	return func(ctx context.Context, name string) (*awsconn.Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		if c := opened[name]; c != nil {
			return c, nil
		}
		g, err := api.JobConnection(ctx, job.ID, w.ID, name)
		if err != nil {
			if name == "" {
				return nil, fmt.Errorf("aws connection: %w", err)
			}
			return nil, fmt.Errorf("connection %s: %w", name, err)
		}
		for _, v := range g.Values() {
			logs.Add([]byte(v))
		}
		c, err := awsconn.Open(ctx, g, awsconn.SessionNameFor(job.ID))
		if err != nil {
			return nil, err
		}
		opened[name] = c
		return c, nil
	}
}

// gitConnectionAPI is the job protocol's git host connection call.
type gitConnectionAPI interface {
	JobGitConnection(ctx context.Context, jobID, worker string) (hostconn.Settings, error)
}

// gitConnection is a job's provider.Job.GitHost: it asks the server for
// the git host connection the job's configuration names, and masks its
// token in the job's log from then on.
func (w *Worker) gitConnection(job *wire.Job, logs *logmask.Writer) func(ctx context.Context) (hostconn.Settings, error) {
	api, ok := w.API.(gitConnectionAPI)
	if !ok {
		return nil
	}
	return func(ctx context.Context) (hostconn.Settings, error) {
		g, err := api.JobGitConnection(ctx, job.ID, w.ID)
		if err != nil {
			return hostconn.Settings{}, err
		}
		for _, v := range g.Values() {
			logs.Add([]byte(v))
		}
		return g, nil
	}
}
