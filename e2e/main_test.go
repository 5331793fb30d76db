// Package e2e drives the real sluice binary: each test starts its own server on
// a temporary data directory and talks to it only through the CLI, the way a
// user or a script would.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sluiceBin is the binary built once by TestMain.
var sluiceBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "sluice-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	sluiceBin = filepath.Join(dir, "sluice")
	build := exec.Command("go", "build", "-o", sluiceBin, "./cmd/sluice")
	build.Dir = ".." // the module root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/sluice: %v\n%s", err, out)
		return 1
	}
	code := m.Run()
	// The replica tests' PostgreSQL is a daemon of its own (pg_ctl): it
	// would outlive this binary.
	if pgSrv != nil {
		pgSrv.Stop()
	}
	return code
}

// poll is how often eventually checks its condition.
const poll = 50 * time.Millisecond

// eventually polls cond until it holds, failing the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(poll)
	}
}

// server is one `sluice server` process and its data directory. A server can be
// killed and started again on the same directory.
type server struct {
	t     *testing.T
	base  string // holds data/, the server's logs and the tests' scratch dirs
	data  string
	url   string
	token string
	cmd   *exec.Cmd
	done  chan struct{} // closed when the process has exited
	runs  int
	flags []string            // extra flags for every start of the server
	env   []string            // extra environment for every start of the server
	cred  *syscall.Credential // who the server runs as; nil for the test's user

	// In replica mode (replicamode_test.go) the server is the replicas
	// behind front, a round-robin proxy at url.
	replicas []*server
	front    *roundRobin
	repos    string // the shared --repos of the replicas
}

// reposDir is where the server keeps its hosted repositories.
func (s *server) reposDir() string {
	if s.repos != "" {
		return s.repos
	}
	return filepath.Join(s.data, "repos")
}

// startServer starts a server on a fresh data directory, with flags added to
// the usual ones (e.g. "--poll-interval", "200ms"); it is killed when the test
// ends.
func startServer(t *testing.T, flags ...string) *server {
	t.Helper()
	return startServerEnv(t, nil, flags...)
}

// startServerEnv is startServer with env added to the server's environment.
func startServerEnv(t *testing.T, env []string, flags ...string) *server {
	t.Helper()
	if n := e2eReplicas(); n > 1 {
		return startReplicated(t, n, env, flags...)
	}
	base, err := os.MkdirTemp("", "sluice-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, base: base, data: filepath.Join(base, "data"), flags: flags, env: env}
	t.Cleanup(func() {
		s.shutdown()
		if t.Failed() {
			s.dumpLogs()
		}
		// Best effort: a process the test left behind may still hold a file.
		os.RemoveAll(base)
	})
	s.boot()
	return s
}

// boot runs the server on s.data and waits until it has written its URL.
func (s *server) boot() {
	t := s.t
	t.Helper()
	if s.replicas != nil {
		for _, r := range s.replicas {
			r.boot()
		}
		s.front.set(s.replicas)
		return
	}
	urlFile := filepath.Join(s.data, "server.url")
	if err := os.Remove(urlFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	s.runs++
	logf, err := os.Create(filepath.Join(s.base, fmt.Sprintf("server-%d.log", s.runs)))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	args := []string{"server", "--data", s.data, "--addr", "127.0.0.1:0",
		"--workers", "2", "--lease", "2s", "--sweep-interval", "200ms"}
	if !slices.Contains(s.flags, "--isolation") {
		// Most tests share files with their pipelines' commands through
		// directories of the test (markers, release files), which a
		// sandbox hides; the sandbox's own tests (sandbox_test.go,
		// quickstart_test.go) ask for it.
		args = append(args, "--isolation", "none")
	}
	cmd := exec.Command(sluiceBin, append(args, s.flags...)...)
	cmd.Env = append(cliEnv("", ""), s.env...)
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done

	var raw []byte
	eventually(t, 20*time.Second, "the server to write "+urlFile, func() bool {
		select {
		case <-done:
			s.dumpLogs()
			t.Fatalf("server exited before listening: %v", cmd.ProcessState)
		default:
		}
		raw, err = os.ReadFile(urlFile)
		return err == nil && len(bytes.TrimSpace(raw)) > 0
	})
	s.url = strings.TrimSpace(string(raw))
	tok, err := os.ReadFile(filepath.Join(s.data, "admin.token"))
	if err != nil {
		t.Fatalf("server is listening but: %v", err)
	}
	s.token = strings.TrimSpace(string(tok))
}

// kill9 kills the server the hard way and waits for the process to be gone.
func (s *server) kill9() {
	s.t.Helper()
	if s.replicas != nil {
		for _, r := range s.replicas {
			r.kill9()
		}
		return
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Fatalf("kill -9 server: %v", err)
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.t.Fatal("server did not die after SIGKILL")
	}
}

// shutdown stops the server gracefully, then by force.
func (s *server) shutdown() {
	for _, r := range s.replicas {
		r.shutdown()
	}
	if s.cmd == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.t.Logf("server did not stop within 15s of SIGTERM; killing it")
		s.cmd.Process.Kill()
		<-s.done
	}
}

func (s *server) dumpLogs() {
	for _, r := range s.replicas {
		r.dumpLogs()
	}
	for i := 1; i <= s.runs; i++ {
		raw, _ := os.ReadFile(filepath.Join(s.base, fmt.Sprintf("server-%d.log", i)))
		lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
		if len(lines) > 80 {
			lines = lines[len(lines)-80:]
		}
		s.t.Logf("server log (run %d), last %d lines:\n%s", i, len(lines), strings.Join(lines, "\n"))
	}
}

// scratch makes a new directory for files a test's pipelines and the test share.
func (s *server) scratch(name string) string {
	s.t.Helper()
	dir := filepath.Join(s.base, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.t.Fatal(err)
	}
	return dir
}

// cliEnv is the environment of a CLI or server process: the test's own without
// any SLUICE_ variable, plus SLUICE_SERVER and SLUICE_TOKEN when given.
func cliEnv(url, token string) []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "SLUICE_") })
	if url != "" {
		env = append(env, "SLUICE_SERVER="+url)
	}
	if token != "" {
		env = append(env, "SLUICE_TOKEN="+token)
	}
	return env
}

// result is how one CLI run ended.
type result struct {
	args   []string
	stdout string
	stderr string
	code   int
}

func (r result) String() string {
	return fmt.Sprintf("sluice %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// runCLI runs the binary with env and args.
func runCLI(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runCLIStdin(t, env, "", args...)
}

// runCLIStdin runs the binary with env and args, and stdin as its input.
func runCLIStdin(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sluiceBin, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		r.code = exitErr.ExitCode()
	default:
		t.Fatalf("sluice %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("sluice %s: still running after 60s", strings.Join(args, " "))
	}
	return r
}

// cli runs the CLI against s as its admin.
func (s *server) cli(args ...string) result {
	s.t.Helper()
	return runCLI(s.t, cliEnv(s.url, s.token), args...)
}

// ok runs the CLI and fails the test unless it exits 0; it returns stdout.
func (s *server) ok(args ...string) string {
	s.t.Helper()
	r := s.cli(args...)
	if r.code != 0 {
		s.t.Fatalf("want exit 0, got %s", r)
	}
	return r.stdout
}

// fails runs the CLI and fails the test if it exits 0.
func (s *server) fails(args ...string) result {
	s.t.Helper()
	r := s.cli(args...)
	if r.code == 0 {
		s.t.Fatalf("want a non-zero exit, got %s", r)
	}
	return r
}

// json runs the CLI with -o json and decodes its output into v.
func (s *server) json(v any, args ...string) {
	s.t.Helper()
	out := s.ok(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		s.t.Fatalf("sluice %s -o json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// apply applies a pipeline file and returns what the CLI printed.
func (s *server) apply(file string) string {
	s.t.Helper()
	return strings.TrimSpace(s.ok("pipeline", "apply", "-f", file))
}

// start starts an execution and returns its id.
func (s *server) start(name string, vars ...string) string {
	s.t.Helper()
	args := []string{"start", name}
	for _, v := range vars {
		args = append(args, "--var", v)
	}
	out := strings.TrimSpace(s.ok(args...))
	if out == "" || strings.ContainsAny(out, " \n") {
		s.t.Fatalf("sluice start printed %q, want an execution id", out)
	}
	return out
}

// execution is `sluice execution get -o json`.
type execution struct {
	PipelineExecutionID string            `json:"pipelineExecutionId"`
	PipelineName        string            `json:"pipelineName"`
	PipelineVersion     int               `json:"pipelineVersion"`
	Status              string            `json:"status"`
	StatusSummary       string            `json:"statusSummary"`
	WaitingFor          string            `json:"waitingFor"`
	Variables           map[string]string `json:"variables"`
	Trigger             trigger           `json:"trigger"`
	SourceRevisions     []sourceRevision  `json:"sourceRevisions"`
	StartTime           time.Time         `json:"startTime"`
	LastUpdateTime      time.Time         `json:"lastUpdateTime"`
	Stages              []stageExecution  `json:"stages"`
}

// trigger is what started an execution.
type trigger struct {
	TriggerType   string `json:"triggerType"`
	TriggerDetail string `json:"triggerDetail"`
}

// sourceRevision is the commit a source action of an execution ran.
type sourceRevision struct {
	ActionName      string `json:"actionName"`
	RevisionID      string `json:"revisionId"`
	RevisionSummary string `json:"revisionSummary"`
	ObjectKey       string `json:"objectKey"`
}

type stageExecution struct {
	Name    string            `json:"name"`
	Status  string            `json:"status"`
	Attempt int               `json:"attempt"`
	Actions []actionExecution `json:"actions"`
}

type actionExecution struct {
	Name            string            `json:"name"`
	Status          string            `json:"status"`
	Summary         string            `json:"summary"`
	Attempt         int               `json:"attempt"`
	StartTime       *time.Time        `json:"startTime"`
	LastUpdateTime  *time.Time        `json:"lastUpdateTime"`
	OutputVariables map[string]string `json:"outputVariables"`
}

func (e execution) terminal() bool {
	switch e.Status {
	case "Succeeded", "Failed", "Stopped", "Superseded":
		return true
	}
	return false
}

func (e execution) stage(t *testing.T, name string) stageExecution {
	t.Helper()
	for _, st := range e.Stages {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("execution %s has no stage %s", e.PipelineExecutionID, name)
	return stageExecution{}
}

// action finds an action by name in any stage.
func (e execution) action(t *testing.T, name string) actionExecution {
	t.Helper()
	for _, st := range e.Stages {
		for _, a := range st.Actions {
			if a.Name == name {
				return a
			}
		}
	}
	t.Fatalf("execution %s has no action %s", e.PipelineExecutionID, name)
	return actionExecution{}
}

// actionStatus is the status of action name, for use inside conditions.
func (e execution) actionStatus(name string) string {
	for _, st := range e.Stages {
		for _, a := range st.Actions {
			if a.Name == name {
				return a.Status
			}
		}
	}
	return ""
}

func (s *server) execution(name, id string) execution {
	s.t.Helper()
	var e execution
	s.json(&e, "execution", "get", name, id)
	return e
}

// waitFor polls an execution until cond holds.
func (s *server) waitFor(name, id string, timeout time.Duration, what string, cond func(execution) bool) execution {
	s.t.Helper()
	var e execution
	eventually(s.t, timeout, fmt.Sprintf("execution %s of %s: %s", id, name, what), func() bool {
		e = s.execution(name, id)
		return cond(e)
	})
	return e
}

// waitEnd waits until the execution ends and checks that it ended with want.
func (s *server) waitEnd(name, id, want string) execution {
	s.t.Helper()
	e := s.waitFor(name, id, 30*time.Second, "to end", execution.terminal)
	if e.Status != want {
		s.t.Fatalf("execution %s of %s ended %s (%s), want %s\n%s", id, name, e.Status, e.StatusSummary, want, s.cli("execution", "get", name, id).stdout)
	}
	return e
}

// waitAction waits until action reaches status.
func (s *server) waitAction(name, id, action, status string) execution {
	s.t.Helper()
	return s.waitFor(name, id, 30*time.Second, fmt.Sprintf("action %s to be %s", action, status), func(e execution) bool {
		if e.terminal() && e.actionStatus(action) != status {
			s.t.Fatalf("execution ended %s (%s) before action %s was %s:\n%s", e.Status, e.StatusSummary, action, status,
				s.cli("execution", "get", name, id).stdout)
		}
		return e.actionStatus(action) == status
	})
}

// waitFile waits for a file the pipeline's commands create.
func waitFile(t *testing.T, path string) {
	t.Helper()
	eventually(t, 30*time.Second, path+" to exist", func() bool {
		_, err := os.Stat(path)
		return err == nil
	})
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func wantContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q, want it to contain %q", what, got, w)
		}
	}
}

func wantEqual[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// lines splits output into its non-empty lines.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func readFileErr(path string) (string, error) {
	raw, err := os.ReadFile(path)
	return string(raw), err
}
