// Package lambda is the Function provider, CodePipeline's Lambda invoke
// action (provider names Function and Lambda) over sluice's functions: it
// hands the job event to the function the action names (a command it starts,
// or a URL it POSTs to) and returns as soon as the function has taken it. The
// function then answers for the job itself, through the API, with the job
// token the event carries: success (with output variables), failure, or a
// continuation token to be invoked again with.
package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sluice-ci/sluice/internal/function"
	"github.com/sluice-ci/sluice/internal/process"
	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/sandbox"
)

// Provider is the Function provider.
type Provider struct {
	// HTTP sends the event to URL functions; nil means a client of its own
	// (no proxy from the environment).
	HTTP *http.Client
	// KillGrace is how long a command's processes get between SIGTERM and
	// SIGKILL when it is stopped; 0 means DefaultKillGrace.
	KillGrace time.Duration
	// CACertFile is given to command functions as SLUICE_CA_CERT, so that
	// `sluice job success` trusts the server's self-signed certificate as
	// the worker does; "" gives nothing.
	CACertFile string
	// Isolation is the worker's sandbox, which command functions run in,
	// with the network (they answer through the API); nil runs them directly.
	Isolation *sandbox.Isolation
}

// sandboxed puts a command function in p's sandbox: root is its own
// directory, scratch its scratch directory, owned what it writes in root
// (see process.Sandbox), dir its working directory (shown
// read-only when it is not inside root), program the program it runs (shown
// read-only, wherever it is installed). It returns the wrapper and the
// environment to run with, or nil and env when p isolates nothing, and what
// to call once the command has started.
func (p Provider) sandboxed(root, scratch string, owned []string, dir, program string, env []string) ([]string, []string, func(), error) {
	if err := p.Isolation.Check(); err != nil {
		return nil, nil, nil, err
	}
	if !p.Isolation.Enabled() {
		return nil, env, func() {}, nil
	}
	var ro []string
	if rel, err := filepath.Rel(root, dir); err != nil || strings.HasPrefix(rel, "..") {
		ro = append(ro, dir)
	}
	if p.CACertFile != "" {
		ro = append(ro, p.CACertFile)
	}
	if filepath.IsAbs(program) {
		// The function's program, wherever it is installed, read-only.
		ro = append(ro, program)
	}
	box, err := process.Sandbox(p.Isolation, root, scratch, owned, env, true, ro...)
	if err != nil {
		return nil, nil, nil, err
	}
	return append(box.Args, box.SwitchArgs()...), box.Env, box.Close, nil
}

// DefaultKillGrace is the KillGrace a zero Provider uses.
const DefaultKillGrace = 5 * time.Second

var defaultHTTP = &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}}

// Run implements provider.Provider.
func (p Provider) Run(ctx context.Context, job *provider.Job) (provider.Result, error) {
	name := job.Configuration["FunctionName"]
	if job.Configuration["Connection"] != "" {
		return p.invokeAWS(ctx, job)
	}
	if job.Function == nil {
		return provider.Result{}, fmt.Errorf("configuration FunctionName: function %q not found (create it with sluice function apply)", name)
	}
	var fn function.Function
	if err := json.Unmarshal(job.Function, &fn); err != nil {
		return provider.Result{}, fmt.Errorf("function %s: %w", name, err)
	}
	if err := fn.Validate(); err != nil {
		return provider.Result{}, fmt.Errorf("function %s: %v", name, err)
	}
	if job.JobToken == "" || job.ServerURL == "" {
		return provider.Result{}, fmt.Errorf("function %s: the worker gave no job token or server URL to answer with", fn.Name)
	}
	event, err := json.Marshal(NewEvent(job))
	if err != nil {
		return provider.Result{}, err
	}
	log := &syncWriter{w: job.Log}
	defer log.detach()
	if job.ContinuationToken != "" {
		fmt.Fprintf(log, "[sluice] continuing: the function asked to be invoked again with a continuation token\n")
	}
	timeout := time.Duration(fn.TimeoutInMinutes) * time.Minute
	if fn.URL != "" {
		return p.post(ctx, job, &fn, event, timeout, log)
	}
	return p.command(ctx, job, &fn, event, timeout, log)
}

// errTimeout ends an invocation that outlived its function's timeoutInMinutes.
var errTimeout = errors.New("the function's timeout passed")

// invoked is the result of a function that took its event.
func invoked(fn *function.Function) provider.Result {
	return provider.Result{Invoked: true, Summary: fmt.Sprintf("function %s invoked; waiting for its answer", fn.Name)}
}

// post sends the event to a URL function: a 2xx answer means the function
// took it.
func (p Provider) post(ctx context.Context, job *provider.Job, fn *function.Function, event []byte, timeout time.Duration, log io.Writer) (provider.Result, error) {
	u, err := url.Parse(fn.URL)
	if err != nil {
		return provider.Result{}, fmt.Errorf("function %s: %w", fn.Name, err)
	}
	shown := u.Redacted()
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fn.URL, bytes.NewReader(event))
	if err != nil {
		return provider.Result{}, fmt.Errorf("function %s: %w", fn.Name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Sluice-Job-Token", job.JobToken)
	req.Header.Set("X-Sluice-Server", job.ServerURL)
	req.Header.Set("X-Sluice-Job-Id", job.ID)
	fmt.Fprintf(log, "[sluice] invoking function %s: POST %s\n", fn.Name, shown)
	hc := p.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(context.Cause(ctx), errTimeout) {
			return provider.Result{}, fmt.Errorf("function %s: POST %s: no answer within %d minutes (its timeoutInMinutes)", fn.Name, shown, fn.TimeoutInMinutes)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may hold credentials; it is named below without them
		}
		return provider.Result{}, fmt.Errorf("function %s: POST %s: %w", fn.Name, shown, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	fmt.Fprintf(log, "[sluice] %s answered %s\n", shown, resp.Status)
	if b := strings.TrimSpace(string(body)); b != "" {
		fmt.Fprintf(log, "%s\n", b)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return provider.Result{}, fmt.Errorf("function %s: POST %s: %s", fn.Name, shown, resp.Status)
	}
	return invoked(fn), nil
}

// command starts a command function with the event on its standard input.
// Exit status 0 means the function took the event; whatever it left running
// in the background may go on until the function's timeout, to answer later.
func (p Provider) command(ctx context.Context, job *provider.Job, fn *function.Function, event []byte, timeout time.Duration, log *syncWriter) (provider.Result, error) {
	dir := fn.WorkingDirectory
	if dir == "" {
		dir = job.WorkDir
	}
	if err := checkDir(dir); err != nil {
		return provider.Result{}, fmt.Errorf("function %s: working directory %s: %w", fn.Name, dir, err)
	}
	env := slices.Clone(job.Env)
	for _, k := range sortedKeys(fn.Environment) {
		env = append(env, k+"="+fn.Environment[k])
	}
	env = append(env, "SLUICE_SERVER="+job.ServerURL, "SLUICE_JOB_TOKEN="+job.JobToken, "SLUICE_JOB_ID="+job.ID)
	env = append(env, p.awsEnv(ctx, job, fn, log)...)
	if p.CACertFile != "" {
		env = append(env, "SLUICE_CA_CERT="+p.CACertFile)
	}
	program, err := lookPath(fn.Command[0], env)
	if err != nil {
		return provider.Result{}, fmt.Errorf("function %s: %w", fn.Name, err)
	}
	root := filepath.Dir(job.WorkDir)
	wrap, env, done, err := p.sandboxed(root, job.ScratchDir, []string{job.WorkDir, filepath.Join(root, "inputs")}, dir, program, env)
	if err != nil {
		return provider.Result{}, fmt.Errorf("function %s: %w", fn.Name, err)
	}
	defer done()
	stdin, err := eventFile(job.ScratchDir, event)
	if err != nil {
		return provider.Result{}, fmt.Errorf("function %s: %w", fn.Name, err)
	}
	defer stdin.Close()
	grace := p.KillGrace
	if grace <= 0 {
		grace = DefaultKillGrace
	}
	fmt.Fprintf(log, "[sluice] invoking function %s: %s\n", fn.Name, strings.Join(fn.Command, " "))
	res, err := runCommand(ctx, commandRun{
		path: program, args: fn.Command, dir: dir, env: env, stdin: stdin, log: log,
		grace: grace, timeout: timeout, wrap: wrap,
	})
	if err != nil {
		return provider.Result{}, fmt.Errorf("function %s: %w", fn.Name, err)
	}
	switch {
	case res.timedOut:
		return provider.Result{}, fmt.Errorf("function %s did not finish within %d minutes (its timeoutInMinutes) and was killed", fn.Name, fn.TimeoutInMinutes)
	case res.stopped:
		return provider.Result{}, fmt.Errorf("function %s stopped: %w", fn.Name, context.Cause(ctx))
	case res.exitCode != 0:
		return provider.Result{}, fmt.Errorf("function %s exited with status %d", fn.Name, res.exitCode)
	}
	fmt.Fprintf(log, "[sluice] function %s exited with status 0; waiting for its answer\n", fn.Name)
	return invoked(fn), nil
}

// eventFile holds the event for the command's standard input: a file with no
// name (removed once open), so the job token in it is left nowhere on disk.
func eventFile(dir string, event []byte) (*os.File, error) {
	f, err := os.CreateTemp(dir, "event-*.json")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	if _, err := f.Write(event); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkDir says plainly why dir cannot be a working directory: os/exec names
// the program, not the directory, when it cannot enter it.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	if err == nil && !fi.IsDir() {
		return errors.New("not a directory")
	}
	return err
}

// lookPath finds program as the command's own PATH would, not the worker's.
func lookPath(program string, env []string) (string, error) {
	if strings.Contains(program, "/") {
		return program, nil // relative ones are relative to the working directory
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, program)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("program %q not found in PATH (%s)", program, path)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// syncWriter serialises writes to the job's log, from the provider and from
// the command's output, and is cut off when Run returns: what a function left
// running in the background writes after that goes nowhere.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return len(p), nil
	}
	return s.w.Write(p)
}

func (s *syncWriter) detach() {
	s.mu.Lock()
	s.w = nil
	s.mu.Unlock()
}
