package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/process"
)

// The attack suite of docs/SECURITY.md's sandbox: code that a pipeline runs
// (Commands, CodeBuild) tries what an attacker with push access would, through
// the real binary, and is refused; and what builds legitimately need still
// works.

// canary is put in the server's environment, as an SMTP password or cloud key
// would be; no job may see it.
const canary = "e2e-canary-5f2a9c"

func needSandbox(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/bwrap"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("bubblewrap is not installed; test.sh installs it")
		}
		t.Skip("bubblewrap is not installed")
	}
}

// probe is a shell script that prints "LEAK: ..." for everything of the
// server it can reach, then "probe done".
func probe(s *server) string {
	singleServer(s.t, "the probe looks for one server's process and data directory")
	pid := s.cmd.Process.Pid
	d := s.data
	// The markers are split in the script, so that the log's echo of the
	// command itself never holds them.
	return fmt.Sprintf(`leak() { echo "LE""AK: $*"; }
for f in %[1]s/admin.token %[1]s/secret.key %[1]s/sluice.db %[1]s/audit.db /etc/shadow /proc/%[2]d/environ /proc/%[2]d/cmdline; do cat "$f" >/dev/null 2>&1 && leak "read $f"; done
for d in /root /home %[1]s/repos %[1]s/artifacts; do [ -n "$(ls -A "$d" 2>/dev/null)" ] && leak "listed $d"; done
[ "$(ls -A %[1]s/work 2>/dev/null | wc -l)" -le 1 ] || leak "other jobs: $(ls %[1]s/work)"
env | grep -q %[3]s && leak environment
for p in /proc/[0-9]*; do tr '\0' ' ' < $p/cmdline 2>/dev/null | grep -q 'server --data' && leak "process $p"; grep -qs %[3]s $p/environ && leak "environment of $p"; done
echo "probe" "done uid=$(id -u)"`, d, pid, canary)
}

// indent indents a multi-line script for a YAML block scalar.
func indent(script, by string) string {
	return by + strings.ReplaceAll(script, "\n", "\n"+by)
}

// probePipeline is a Commands action and a CodeBuild action each running
// the probe, while another pipeline's job is in progress.
func probePipeline(t *testing.T, s *server) {
	t.Helper()
	script := probe(s)
	projectFile := filepath.Join(s.scratch("projects"), "probe.yml")
	writeFile(t, projectFile, "name: probe\nbuildspec: |\n  version: 0.2\n  phases:\n    build:\n      commands:\n        - |\n"+indent(script, "          ")+"\n")
	s.ok("project", "apply", "-f", projectFile)
	s.applyYAML("probe", `name: probe
stages:
  - name: Run
    actions:
      - name: commands
        provider: Commands
        commands:
          - |
`+indent(script, "            ")+`
          - echo source > main.txt
        outputArtifacts: [{name: code}]
  - name: Build
    actions:
      - name: codebuild
        provider: CodeBuild
        configuration: {ProjectName: probe}
        inputArtifacts: [code]
`)
}

func TestSandboxRefusesAttacks(t *testing.T) {
	needSandbox(t)
	t.Parallel()
	s := startServerEnv(t, []string{"SLUICE_SMTP_PASSWORD=" + canary, "AWS_SECRET_ACCESS_KEY=" + canary}, "--isolation", "auto")
	wantContains(t, "start log", s.serverLog(), "isolation=\"bubblewrap")

	// Another job in progress while the probe runs: its workspace must stay
	// out of sight.
	hold := s.scratch("hold")
	s.applyYAML("other", `name: other
stages:
  - name: Wait
    actions:
      - name: wait
        provider: Noop
  - name: Hold
    actions:
      - name: hold
        provider: Commands
        configuration: {Network: "false"}
        commands:
          - echo other-secret > secret.txt
          - while ! test -e `+hold+`/release; do sleep 0.1; done
`)
	other := s.start("other")
	probePipeline(t, s)
	id := s.start("probe")
	s.waitEnd("probe", id, "Succeeded")
	for _, action := range []string{"commands", "codebuild"} {
		log := s.ok("logs", "probe", id, action)
		wantContains(t, action+" log", log, "probe done uid=")
		if strings.Contains(log, "LEAK:") {
			t.Errorf("%s reached the server's things:\n%s", action, log)
		}
		if os.Geteuid() == 0 && !strings.Contains(log, "probe done uid=65533") {
			t.Errorf("%s ran as root's namespace, not the build user:\n%s", action, log)
		}
	}
	wantContains(t, "sluice status", s.ok("status", "probe"), "isolation of the server's workers: bubblewrap")
	// The held job cannot see the release file (outside its sandbox): it is
	// still running; stop it.
	s.ok("stop", "other", other, "--abandon")

	// An operator cannot turn a variable into the admin token.
	op := strings.TrimSpace(s.ok("token", "create", "ops", "--policy", "operator"))
	s.apply("../examples/hello.yml")
	r := runCLI(t, cliEnv(s.url, op), "start", "hello", "--var", "GREETING=$(cat "+s.data+"/admin.token)", "--wait")
	if r.code != 0 {
		t.Fatalf("the operator's start: %s", r)
	}
	hello := lines(r.stdout)[0]
	for _, action := range []string{"compile", "check"} {
		if log := s.ok("logs", "hello", hello, action); strings.Contains(log, s.token) {
			t.Fatalf("the admin token is in %s's log:\n%s", action, log)
		}
	}
	out := s.scratch("hello-bin")
	s.ok("artifact", "download", "hello", hello, "bin", "--out", out)
	if msg := readFile(t, filepath.Join(out, "out", "message.txt")); strings.Contains(msg, s.token) {
		t.Fatalf("the admin token is in the artifact: %q", msg)
	}
}

// lineServer is a TCP server on the loopback that jobs talk to: each
// connection says who it is in its first line.
type lineServer struct {
	ln    net.Listener
	conns chan *lineConn
	mu    sync.Mutex
	seen  []string
}

type lineConn struct {
	hello string
	c     net.Conn
	r     *bufio.Reader
}

func newLineServer(t *testing.T) *lineServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ls := &lineServer{ln: ln, conns: make(chan *lineConn, 16)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r := bufio.NewReader(c)
			line, err := r.ReadString('\n')
			if err != nil {
				c.Close()
				continue
			}
			line = strings.TrimSpace(line)
			ls.mu.Lock()
			ls.seen = append(ls.seen, line)
			ls.mu.Unlock()
			ls.conns <- &lineConn{hello: line, c: c, r: r}
		}
	}()
	return ls
}

func (ls *lineServer) port() int { return ls.ln.Addr().(*net.TCPAddr).Port }

// next waits for the next connection, which must say want (or more).
func (ls *lineServer) next(t *testing.T, want string) *lineConn {
	t.Helper()
	select {
	case c := <-ls.conns:
		if !strings.HasPrefix(c.hello, want) {
			t.Fatalf("a job said %q, want %q…", c.hello, want)
		}
		t.Cleanup(func() { c.c.Close() })
		return c
	case <-time.After(45 * time.Second):
		t.Fatalf("no job said %q", want)
	}
	return nil
}

// closed waits until the process at the other end is gone: its end of the
// connection closes when it dies. A process left running holds it open, and
// the wait times out.
func (c *lineConn) closed(t *testing.T, what string) {
	t.Helper()
	c.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		line, err := c.r.ReadString('\n')
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("%s is still running: %v", what, err)
		}
		if strings.TrimSpace(line) != "" {
			t.Fatalf("%s said %q", what, line)
		}
	}
}

func (ls *lineServer) count(prefix string) int {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	n := 0
	for _, l := range ls.seen {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// daemonPipeline's action says "run N" and starts a daemon that leaves its
// process group and session, which says "daemon N" and would say "late N"
// once answered; the action waits for "go", then says "effect N" (its side
// effect) and ends.
func daemonPipeline(s *server, port int) {
	s.applyYAML("daemon", fmt.Sprintf(`name: daemon
stages:
  - name: Run
    actions:
      - name: daemon
        provider: Commands
        commands:
          - |
            exec 3<>/dev/tcp/127.0.0.1/%[1]d
            echo "run $SLUICE_ATTEMPT" >&3
            setsid bash -c 'exec 4<>/dev/tcp/127.0.0.1/%[1]d; echo "daemon $SLUICE_ATTEMPT" >&4; read x <&4; exec 5<>/dev/tcp/127.0.0.1/%[1]d; echo "late $SLUICE_ATTEMPT" >&5' </dev/null >/dev/null 2>&1 &
            read go <&3
            exec 5<>/dev/tcp/127.0.0.1/%[1]d
            echo "effect $SLUICE_ATTEMPT" >&5
`, port))
}

func TestJobProcessesDieWithTheJob(t *testing.T) {
	needSandbox(t)
	t.Parallel()
	s := startServer(t, "--isolation", "auto")
	ls := newLineServer(t) // the network is on by default: the job reaches it
	daemonPipeline(s, ls.port())
	id := s.start("daemon")
	run := ls.next(t, "run 1")
	daemon := ls.next(t, "daemon 1")
	fmt.Fprintln(run.c, "go")
	ls.next(t, "effect 1")
	s.waitEnd("daemon", id, "Succeeded")
	daemon.closed(t, "the daemon the job started")
	if n := ls.count("late"); n != 0 {
		t.Fatalf("the daemon outlived its job")
	}
}

func TestJobProcessesDieWithTheWorker(t *testing.T) {
	needSandbox(t)
	t.Parallel()
	s := startServer(t, "--isolation", "auto")
	ls := newLineServer(t)
	daemonPipeline(s, ls.port())
	id := s.start("daemon")
	run := ls.next(t, "run 1")
	daemon := ls.next(t, "daemon 1")
	s.kill9()
	// Before anything can offer the job again, the first attempt is dead,
	// daemon included.
	run.closed(t, "the killed worker's job")
	daemon.closed(t, "the daemon of the killed worker's job")
	s.boot()
	run2 := ls.next(t, "run 2")
	ls.next(t, "daemon 2")
	fmt.Fprintln(run2.c, "go")
	ls.next(t, "effect 2")
	e := s.waitEnd("daemon", id, "Succeeded")
	wantEqual(t, "attempt", e.action(t, "daemon").Attempt, 2)
	if n := ls.count("effect"); n != 1 {
		t.Fatalf("the side effect happened %d times, want once", n)
	}
	if n := ls.count("late"); n != 0 {
		t.Fatalf("a daemon outlived its job")
	}
}

// What builds need: the network (a server on the host's loopback), artifacts
// in and out; and an action may turn the network off.
func TestSandboxLegitimateUses(t *testing.T) {
	needSandbox(t)
	t.Parallel()
	s := startServer(t, "--isolation", "auto")
	ls := newLineServer(t)
	projectFile := filepath.Join(s.scratch("projects"), "net.yml")
	writeFile(t, projectFile, fmt.Sprintf(`name: net
buildspec: |
  version: 0.2
  phases:
    build:
      commands:
        - test "$(cat main.txt)" = source
        - bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d; echo "build $HOME" >&3'
        - mkdir -p $HOME/.cache && echo cached > $HOME/.cache/x
        - echo built > out.txt
  artifacts:
    files: [out.txt]
  cache:
    paths: ['$HOME/.cache/**/*']
`, ls.port()))
	s.ok("project", "apply", "-f", projectFile)
	s.applyYAML("net", fmt.Sprintf(`name: net
stages:
  - name: Run
    actions:
      - name: offline
        provider: Commands
        configuration: {Network: "false"}
        commands:
          - (exec 3<>/dev/tcp/127.0.0.1/%[1]d) 2>/dev/null && echo NET-REACHED || echo NET-BLOCKED
          - echo source > main.txt
        outputArtifacts: [{name: code}]
  - name: Build
    actions:
      - name: build
        provider: CodeBuild
        configuration: {ProjectName: net}
        inputArtifacts: [code]
        outputArtifacts: [{name: bin}]
`, ls.port()))
	workDir := "build " + s.data + "/work/"
	if s.replicas != nil {
		workDir = "build /" // under the data directory of whichever replica's worker took the job
	}
	id := s.start("net")
	ls.next(t, workDir)
	s.waitEnd("net", id, "Succeeded")
	wantContains(t, "offline log", s.ok("logs", "net", id, "offline"), "NET-BLOCKED")
	out := s.scratch("net-bin")
	s.ok("artifact", "download", "net", id, "bin", "--out", out)
	wantEqual(t, "out.txt", readFile(t, filepath.Join(out, "out.txt")), "built\n")
	// The cache the first build kept comes back in the second.
	id2 := s.start("net")
	ls.next(t, workDir)
	s.waitEnd("net", id2, "Succeeded")
	wantContains(t, "second build's log", s.ok("logs", "net", id2, "build"), "cache restored")
}

// Without a sandbox, by the operator's choice: the same probe runs and does
// reach the server's things (which shows the probe can tell), and the server
// says so at start and in `sluice status`.
func TestIsolationNone(t *testing.T) {
	t.Parallel()
	s := startServerEnv(t, []string{"SLUICE_SMTP_PASSWORD=" + canary}, "--isolation", "none")
	startLogSays(t, s, `isolation="none (--isolation none): actions run unsandboxed`, "actions that run code are not sandboxed")
	probePipeline(t, s)
	id := s.start("probe")
	s.waitEnd("probe", id, "Succeeded")
	wantContains(t, "the unsandboxed probe", s.ok("logs", "probe", id, "commands"), "LEAK: read "+s.data+"/admin.token", "LEAK: read /proc/")
	wantContains(t, "sluice status", s.ok("status", "probe"), "WARNING: isolation of the server's workers: none")
}

// startLogSays waits for the server's start log to hold every want: the
// warning is written just after the line the harness waits for.
func startLogSays(t *testing.T, s *server, wants ...string) {
	t.Helper()
	eventually(t, 10*time.Second, "the start log to say "+strings.Join(wants, " and "), func() bool {
		log := s.serverLog()
		for _, w := range wants {
			if !strings.Contains(log, w) {
				return false
			}
		}
		return true
	})
}

// A machine where no sandbox can be made (played by a bwrap that is not
// there): actions that run code are refused, saying how to allow them;
// the rest runs.
func TestIsolationUnavailable(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--isolation", "auto", "--bwrap", "/nonexistent/bwrap")
	startLogSays(t, s, "actions that run code are not sandboxed", "bubblewrap (bwrap) is not installed")
	s.applyYAML("refused", `name: refused
stages:
  - name: Run
    actions:
      - name: noop
        provider: Noop
  - name: Code
    actions:
      - name: commands
        provider: Commands
        commands: [echo ran]
`)
	id := s.start("refused")
	e := s.waitEnd("refused", id, "Failed")
	wantEqual(t, "noop", e.actionStatus("noop"), "Succeeded")
	wantContains(t, "the refusal", e.action(t, "commands").Summary, "cannot isolate the action's code", "--isolation none")
	wantContains(t, "sluice status", s.ok("status", "refused"), "WARNING: isolation of the server's workers: unavailable")
	// --isolation bubblewrap refuses to start at all.
	r := runCLI(t, cliEnv("", ""), "server", "--data", s.scratch("other-data"), "--addr", "127.0.0.1:0", "--isolation", "bubblewrap", "--bwrap", "/nonexistent/bwrap")
	if r.code == 0 || !strings.Contains(r.stderr, "isolation bubblewrap: bubblewrap (bwrap) is not installed") {
		t.Fatalf("--isolation bubblewrap without bwrap: %s", r)
	}
}

// Links planted for sluice to follow with the worker's privileges after the
// job: an output variable's file turned into a link to /etc/shadow by an EXIT
// trap (after the shell wrote it), and the outputs directory swapped for a
// link to a directory of the host.
func TestSandboxLinkTricks(t *testing.T) {
	needSandbox(t)
	t.Parallel()
	s := startServer(t, "--isolation", "auto")
	planted := s.scratch("planted")
	s.applyYAML("tricks", `name: tricks
stages:
  - name: Run
    actions:
      - name: output
        provider: Commands
        outputVariables: [X]
        commands:
          - export X=plain
          - trap 'ln -sf /etc/shadow "$(dirname "$0")/output.0"' EXIT
  - name: Again
    actions:
      - name: outputs
        provider: Commands
        commands:
          - echo data > f.txt
          - rm -rf ../outputs; ln -s `+planted+` ../outputs || true
        outputArtifacts: [{name: out}]
`)
	id := s.start("tricks")
	e := s.waitFor("tricks", id, 30*time.Second, "to end", execution.terminal)
	for _, st := range e.Stages {
		for _, a := range st.Actions {
			for k, v := range a.OutputVariables {
				if strings.Contains(v, "root:") {
					t.Fatalf("action %s's variable %s holds /etc/shadow: %q", a.Name, k, v)
				}
			}
		}
	}
	wantContains(t, "the output action", e.action(t, "output").Summary+e.StatusSummary, "output variable")
	entries, err := os.ReadDir(planted)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("sluice wrote into the host's directory the job linked to: %v", entries)
	}
}

// remoteWorker is a `sluice worker` process.
type remoteWorker struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

func startWorker(t *testing.T, s *server, tokenFile, name string, extra ...string) *remoteWorker {
	t.Helper()
	return startWorkerArgs(t, s, tokenFile, name, append([]string{"--concurrency", "1", "--isolation", "auto"}, extra...)...)
}

// startWorkerArgs starts `sluice worker` against s with flags added.
func startWorkerArgs(t *testing.T, s *server, tokenFile, name string, flags ...string) *remoteWorker {
	t.Helper()
	log := filepath.Join(s.base, name+".log")
	logf, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	if !slices.Contains(flags, "--work-dir") {
		// The test's own directory, not the worker's temporary one: the
		// cleanup kills the worker, which leaves what it would remove,
		// and sandboxes it was setting up (bubblewrap's known limit).
		work := t.TempDir()
		flags = append(flags, "--work-dir", work)
		t.Cleanup(func() { process.KillStale(work) })
	}
	cmd := exec.Command(sluiceBin, append([]string{"worker", "--server", s.url, "--token-file", tokenFile, "--id", name}, flags...)...)
	cmd.Env = cliEnv("", "")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &remoteWorker{cmd: cmd, done: make(chan struct{}), log: log}
	go func() { cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-w.done
		if t.Failed() {
			b, _ := os.ReadFile(log)
			t.Logf("worker %s log:\n%s", name, b)
		}
	})
	return w
}

// A remote worker isolates as the server does: its job's daemon dies when the
// worker is killed, the job offered again runs once, and the worker's token,
// given in a file, is in no command line.
func TestRemoteWorkerKilled(t *testing.T) {
	needSandbox(t)
	t.Parallel()
	s := startServer(t, "--workers", "0", "--isolation", "auto")
	token := strings.TrimSpace(s.ok("token", "create", "remote", "--policy", "worker"))
	tokenFile := filepath.Join(s.scratch("worker"), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ls := newLineServer(t)
	daemonPipeline(s, ls.port())
	w1 := startWorker(t, s, tokenFile, "w1")
	id := s.start("daemon")
	run := ls.next(t, "run 1")
	daemon := ls.next(t, "daemon 1")
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", w1.cmd.Process.Pid))
	if err != nil || strings.Contains(string(cmdline), token) {
		t.Fatalf("the worker's command line %q holds its token (%v)", cmdline, err)
	}
	wantContains(t, "worker log", readFile(t, w1.log), `isolation="bubblewrap`)
	w1.cmd.Process.Kill()
	<-w1.done
	run.closed(t, "the killed worker's job")
	daemon.closed(t, "the daemon of the killed worker's job")
	startWorker(t, s, tokenFile, "w2")
	run2 := ls.next(t, "run 2")
	ls.next(t, "daemon 2")
	fmt.Fprintln(run2.c, "go")
	ls.next(t, "effect 2")
	e := s.waitEnd("daemon", id, "Succeeded")
	wantEqual(t, "attempt", e.action(t, "daemon").Attempt, 2)
	if n := ls.count("effect"); n != 1 {
		t.Fatalf("the side effect happened %d times, want once", n)
	}
}

// A rule's function target runs in the server's process's sandbox too: it
// reaches the network (here the test's loopback server) but not the data
// directory or the server's environment.
func TestRuleFunctionTargetSandboxed(t *testing.T) {
	needSandbox(t)
	t.Parallel()
	s := startServerEnv(t, []string{"SLUICE_SMTP_PASSWORD=" + canary}, "--isolation", "auto")
	ls := newLineServer(t)
	applyFunction(t, s, "peek", fmt.Sprintf(`name: peek
command:
  - /bin/bash
  - -c
  - |
    exec 3<>/dev/tcp/127.0.0.1/%d
    seen=sealed
    cat %s/admin.token >/dev/null 2>&1 && seen=admin.token
    grep -qs %s /proc/[0-9]*/environ && seen=environment
    echo "rule $seen uid=$(id -u)" >&3
`, ls.port(), s.data, canary))
	s.applyYAML("app", "name: app\nstages:\n  - name: Run\n    actions:\n      - name: noop\n        provider: Noop\n")
	ruleFile := filepath.Join(s.scratch("rules"), "rule.yml")
	writeFile(t, ruleFile, `name: peek
eventPattern:
  detail-type: [CodePipeline Pipeline Execution State Change]
  detail: {pipeline: [app], state: [SUCCEEDED]}
targets:
  - function: {name: peek}
`)
	s.ok("rule", "apply", "-f", ruleFile)
	// A rule sees the events after it was applied, to the millisecond: start
	// until one execution's success reaches it.
	id := s.start("app")
	s.waitEnd("app", id, "Succeeded")
	var c *lineConn
	select {
	case c = <-ls.conns:
	case <-time.After(10 * time.Second):
		id = s.start("app")
		s.waitEnd("app", id, "Succeeded")
		c = ls.next(t, "rule")
	}
	want := "rule sealed uid="
	if os.Geteuid() == 0 {
		want += "65533"
	}
	if !strings.HasPrefix(c.hello, want) {
		t.Fatalf("the rule's function said %q, want %q…", c.hello, want)
	}
}

// A server run as an ordinary user (as most are) isolates through a user
// namespace: the same probe finds nothing, and the job runs as that user.
func TestSandboxAsOrdinaryUser(t *testing.T) {
	needSandbox(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to start the server as another user")
	}
	singleServer(t, "starts one server of its own as another user")
	if path, _ := exec.LookPath("bwrap"); path != "" {
		probe := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", path, "--unshare-all", "--ro-bind", "/", "/", "true")
		if out, err := probe.CombinedOutput(); err != nil {
			t.Skipf("user namespaces are not available to ordinary users here: %v %s", err, out)
		}
	}
	t.Parallel()
	base, err := os.MkdirTemp("", "sluice-e2e-user-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(base, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	// The user runs the binary the tests built.
	if err := os.Chmod(filepath.Dir(sluiceBin), 0o755); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, base: base, data: filepath.Join(base, "data"), flags: []string{"--isolation", "auto"},
		env: []string{"SLUICE_SMTP_PASSWORD=" + canary}, cred: &syscall.Credential{Uid: 65534, Gid: 65534}}
	t.Cleanup(func() {
		s.shutdown()
		if t.Failed() {
			s.dumpLogs()
		}
		os.RemoveAll(base)
	})
	s.boot()
	probePipeline(t, s)
	id := s.start("probe")
	s.waitEnd("probe", id, "Succeeded")
	for _, action := range []string{"commands", "codebuild"} {
		log := s.ok("logs", "probe", id, action)
		wantContains(t, action+" log", log, "probe done uid=65534")
		if strings.Contains(log, "LEAK:") {
			t.Errorf("%s reached the server's things:\n%s", action, log)
		}
	}
}
