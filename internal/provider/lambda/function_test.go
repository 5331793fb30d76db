//go:build linux

package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sluice-ci/sluice/internal/function"
	"github.com/sluice-ci/sluice/internal/provider"
)

const token = "sjt_job-7.0123456789abcdef"

// lockedBuffer is a log a test reads while a provider may still write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newJob returns a job of a Function action naming fn, with its directories.
func newJob(t *testing.T, fn *function.Function) (*provider.Job, *lockedBuffer) {
	t.Helper()
	dir := t.TempDir()
	work, scratch := filepath.Join(dir, "src"), filepath.Join(dir, "scratch")
	for _, d := range []string{work, scratch} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	log := &lockedBuffer{}
	job := &provider.Job{
		ID: "job-7", Provider: "Function", Configuration: map[string]string{"FunctionName": "fn", "UserParameters": "hello"},
		WorkDir: work, ScratchDir: scratch, Log: log, JobToken: token, ServerURL: "http://sluice.test:8080",
		Env: []string{"PATH=" + os.Getenv("PATH"), "BASE=base", "SLUICE_JOB_ID=job-7"},
	}
	if fn != nil {
		raw, err := json.Marshal(fn)
		if err != nil {
			t.Fatal(err)
		}
		job.Function = raw
	}
	return job, log
}

// writeExecutable writes a script and makes it executable through a child
// process, so that no other test's fork inherits a descriptor open for
// writing on it ("text file busy", golang.org/issue/22315).
func writeExecutable(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("install", "-m", "0755", tmp, path).CombinedOutput(); err != nil {
		t.Fatalf("install %s: %v\n%s", path, err, out)
	}
	os.Remove(tmp)
}

func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fn.sh")
	writeExecutable(t, path, "#!/bin/sh\n"+body)
	return path
}

func commandFunction(program string, args ...string) *function.Function {
	fn := function.New("fn")
	fn.Command = append([]string{program}, args...)
	return fn
}

func TestCommandGetsTheEventAndItsEnvironment(t *testing.T) {
	out := t.TempDir()
	prog := script(t, `cat > "$OUT/event.json"
env > "$OUT/env"
pwd > "$OUT/pwd"
echo "to stdout: $1"
echo "to stderr" >&2
`)
	fn := commandFunction(prog, "arg1")
	fn.Environment = map[string]string{"OUT": out, "BASE": "overridden"}
	job, log := newJob(t, fn)
	job.ContinuationToken = "step2"
	res, err := Provider{}.Run(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Invoked || res.Summary != "function fn invoked; waiting for its answer" {
		t.Fatalf("result = %+v", res)
	}

	var ev Event
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(out, "event.json"))), &ev); err != nil {
		t.Fatal(err)
	}
	d := ev.Job.Data
	if ev.Job.ID != "job-7" || d.ContinuationToken != "step2" || d.ArtifactCredentials.SessionToken != token ||
		d.ActionConfiguration.Configuration.UserParameters != "hello" || d.ActionConfiguration.Configuration.FunctionName != "fn" {
		t.Fatalf("event = %+v", ev)
	}
	env := readFile(t, filepath.Join(out, "env"))
	for _, want := range []string{"BASE=overridden\n", "OUT=" + out + "\n", "SLUICE_SERVER=http://sluice.test:8080\n",
		"SLUICE_JOB_TOKEN=" + token + "\n", "SLUICE_JOB_ID=job-7\n"} {
		if !strings.Contains(env, want) {
			t.Errorf("environment has no %q:\n%s", want, env)
		}
	}
	if strings.Count(env, "BASE=") != 1 {
		t.Errorf("BASE given twice:\n%s", env)
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(out, "pwd"))); got != job.WorkDir {
		t.Errorf("working directory = %s, want the job's %s", got, job.WorkDir)
	}
	l := log.String()
	for _, want := range []string{"[sluice] continuing", "[sluice] invoking function fn: " + prog + " arg1\n", "to stdout: arg1\n", "to stderr\n",
		"[sluice] function fn exited with status 0; waiting for its answer\n"} {
		if !strings.Contains(l, want) {
			t.Errorf("log has no %q:\n%s", want, l)
		}
	}
	if strings.Contains(l, token) {
		t.Errorf("the job token is in the log:\n%s", l)
	}
	// The event file is gone: the token is left nowhere on disk.
	if entries, _ := os.ReadDir(job.ScratchDir); len(entries) != 0 {
		t.Errorf("scratch directory holds %v", entries)
	}
}

func TestCommandFromPathInItsWorkingDirectory(t *testing.T) {
	bin := t.TempDir()
	writeExecutable(t, filepath.Join(bin, "my-fn"), "#!/bin/sh\npwd\n")
	fn := commandFunction("my-fn")
	fn.WorkingDirectory = "/"
	job, log := newJob(t, fn)
	job.Env = append(job.Env, "PATH="+bin+":/usr/bin:/bin")
	if _, err := (Provider{}).Run(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "\n/\n") {
		t.Fatalf("log:\n%s", log)
	}
}

func TestCommandFailures(t *testing.T) {
	tests := []struct {
		name string
		fn   *function.Function
		want string
	}{
		{"exit status", commandFunction("/bin/sh", "-c", "echo oops; exit 3"), "function fn exited with status 3"},
		{"killed", commandFunction("/bin/sh", "-c", "kill -9 $$"), "function fn exited with status 137"},
		{"not in PATH", commandFunction("no-such-program-here"), `function fn: program "no-such-program-here" not found in PATH (` + os.Getenv("PATH") + ")"},
		{"not found", nil, `configuration FunctionName: function "fn" not found (create it with sluice function apply)`},
		{"bad working directory", func() *function.Function {
			fn := commandFunction("/bin/true")
			fn.WorkingDirectory = "/no/such/dir"
			return fn
		}(), "function fn: working directory /no/such/dir: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job, _ := newJob(t, tt.fn)
			res, err := Provider{}.Run(t.Context(), job)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Run = %+v, %v; want the error %q", res, err, tt.want)
			}
		})
	}
}

// pidWatch holds a pidfd, readable once the process has exited whoever its
// parent is.
type pidWatch struct {
	pid int
	fd  int
}

func watchPid(t *testing.T, pid int) pidWatch {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return pidWatch{pid: pid, fd: fd}
}

// exited reports whether the process exits within timeout.
func (w pidWatch) exited(t *testing.T, timeout time.Duration) bool {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(timeout/time.Millisecond))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
}

func waitPids(t *testing.T, path string) []int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		raw, err := os.ReadFile(path)
		if err == nil && strings.HasSuffix(string(raw), "\n") {
			var pids []int
			for _, f := range strings.Fields(string(raw)) {
				pid, err := strconv.Atoi(f)
				if err != nil {
					t.Fatal(err)
				}
				pids = append(pids, pid)
			}
			return pids
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pids in %s", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCancelKillsTheWholeGroup(t *testing.T) {
	pids := filepath.Join(t.TempDir(), "pids")
	fn := commandFunction("/bin/sh", "-c", `sleep 1000 & echo $$ $! > "$0"; wait`, pids)
	job, _ := newJob(t, fn)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := Provider{KillGrace: time.Second}.Run(ctx, job)
		done <- err
	}()
	var watches []pidWatch
	for _, pid := range waitPids(t, pids) {
		watches = append(watches, watchPid(t, pid))
	}
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.HasPrefix(err.Error(), "function fn stopped: context canceled") {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	for _, w := range watches {
		if !w.exited(t, 5*time.Second) {
			t.Errorf("process %d outlived the cancel", w.pid)
		}
	}
}

func TestTimeoutKillsTheCommand(t *testing.T) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	start := time.Now()
	res, err := runCommand(t.Context(), commandRun{
		path: "/bin/sh", args: []string{"sh", "-c", "sleep 1000"}, env: []string{}, stdin: devNull, log: io.Discard,
		grace: time.Second, timeout: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.timedOut || res.stopped || time.Since(start) > 5*time.Second {
		t.Fatalf("result = %+v after %s", res, time.Since(start))
	}
}

// What a function leaves running after exiting 0 may answer later, until the
// function's timeout, when it is killed.
func TestBackgroundOutlivesTheCommandUntilTheTimeout(t *testing.T) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	pids := filepath.Join(t.TempDir(), "pids")
	log := &lockedBuffer{}
	start := time.Now()
	res, err := runCommand(t.Context(), commandRun{
		path: "/bin/sh", args: []string{"sh", "-c", `(echo late; sleep 1000) & echo $! > "$0"; echo early`, pids},
		env: []string{}, stdin: devNull, log: log, grace: 100 * time.Millisecond, timeout: 1500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res != (commandExit{}) || time.Since(start) > time.Second {
		t.Fatalf("result = %+v after %s, want exit 0 at once", res, time.Since(start))
	}
	w := watchPid(t, waitPids(t, pids)[0])
	if w.exited(t, 500*time.Millisecond) {
		t.Fatal("the background process died with the command")
	}
	if !w.exited(t, 5*time.Second) {
		t.Fatal("the background process outlived the timeout")
	}
	if l := log.String(); !strings.Contains(l, "early\n") {
		t.Errorf("log = %q", l)
	}
}

func urlFunction(u string) *function.Function {
	fn := function.New("hook")
	fn.URL = u
	return fn
}

func TestURLFunction(t *testing.T) {
	type request struct {
		header http.Header
		body   []byte
	}
	got := make(chan request, 1)
	status := http.StatusAccepted
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- request{r.Header.Clone(), body}
		w.WriteHeader(status)
		io.WriteString(w, "queued\n")
	}))
	defer srv.Close()

	job, log := newJob(t, urlFunction(srv.URL+"/invoke"))
	job.Configuration["FunctionName"] = "hook"
	res, err := Provider{}.Run(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Invoked || res.Summary != "function hook invoked; waiting for its answer" {
		t.Fatalf("result = %+v", res)
	}
	req := <-got
	for k, want := range map[string]string{"Content-Type": "application/json", "X-Sluice-Job-Token": token,
		"X-Sluice-Server": "http://sluice.test:8080", "X-Sluice-Job-Id": "job-7"} {
		if v := req.header.Get(k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
	var ev Event
	if err := json.Unmarshal(req.body, &ev); err != nil || ev.Job.ID != "job-7" || ev.Job.Data.ArtifactCredentials.SessionToken != token {
		t.Fatalf("event = %+v, %v", ev, err)
	}
	l := log.String()
	if !strings.Contains(l, "[sluice] "+srv.URL+"/invoke answered 202 Accepted\nqueued\n") || strings.Contains(l, token) {
		t.Errorf("log:\n%s", l)
	}

	status = http.StatusInternalServerError
	job, _ = newJob(t, urlFunction(srv.URL+"/invoke"))
	_, err = Provider{}.Run(t.Context(), job)
	<-got
	if want := "function hook: POST " + srv.URL + "/invoke: 500 Internal Server Error"; err == nil || err.Error() != want {
		t.Fatalf("Run = %v, want %s", err, want)
	}

	// Credentials in the URL are not repeated in messages.
	srv.Close()
	job, _ = newJob(t, urlFunction("http://user:secret@"+strings.TrimPrefix(srv.URL, "http://")+"/x"))
	_, err = Provider{}.Run(t.Context(), job)
	if err == nil || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "POST http://user:xxxxx@") {
		t.Fatalf("Run = %v", err)
	}
}

func TestNoTokenNoRun(t *testing.T) {
	job, _ := newJob(t, commandFunction("/bin/true"))
	job.JobToken = ""
	if _, err := (Provider{}).Run(t.Context(), job); err == nil || err.Error() != "function fn: the worker gave no job token or server URL to answer with" {
		t.Fatalf("Run = %v", err)
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
