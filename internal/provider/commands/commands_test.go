//go:build linux

package commands_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sluice-ci/sluice/internal/provider/commands"
)

// shells are the shells every behaviour is checked against: bash is the
// default, dash is what /bin/sh is on Debian and Ubuntu.
var shells = []string{"/bin/bash", "/bin/sh"}

func forEachShell(t *testing.T, f func(t *testing.T, shell string)) {
	t.Helper()
	for _, shell := range shells {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			t.Parallel()
			if _, err := os.Stat(shell); err != nil {
				t.Skipf("no %s: %v", shell, err)
			}
			f(t, shell)
		})
	}
}

// newSpec gives each test its own working directory and only the PATH of
// the test process, so nothing else of its environment reaches the shell.
func newSpec(t *testing.T, shell string, cmds ...string) (commands.Spec, *bytes.Buffer) {
	t.Helper()
	var log bytes.Buffer
	return commands.Spec{
		Dir:      t.TempDir(),
		Commands: cmds,
		Env:      []string{"PATH=" + os.Getenv("PATH")},
		Log:      &log,
		Shell:    shell,
	}, &log
}

func mustRun(t *testing.T, spec commands.Spec) commands.Result {
	t.Helper()
	res, err := commands.Run(t.Context(), spec)
	if err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", err, logOf(spec))
	}
	return res
}

func logOf(spec commands.Spec) string {
	if b, ok := spec.Log.(*bytes.Buffer); ok {
		return b.String()
	}
	return ""
}

func wantFailure(t *testing.T, err error, want commands.Failure) *commands.Failure {
	t.Helper()
	var f *commands.Failure
	if !errors.As(err, &f) {
		t.Fatalf("err = %v (%T), want *Failure", err, err)
	}
	if *f != want {
		t.Fatalf("failure = %+v, want %+v", *f, want)
	}
	return f
}

func wantNoFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s exists (err %v); a command ran that should not have", path, err)
	}
}

func TestSessionStateCarriesAcrossCommands(t *testing.T) {
	forEachShell(t, func(t *testing.T, shell string) {
		spec, _ := newSpec(t, shell,
			"export GREETING=hello",
			"mkdir sub && cd sub",
			"plain=kept",
			`export WHERE="$(pwd)" SEEN="$GREETING-$plain"`,
		)
		spec.OutputVariables = []string{"WHERE", "SEEN"}
		res := mustRun(t, spec)

		dir, err := filepath.EvalSymlinks(spec.Dir)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"WHERE": filepath.Join(dir, "sub"), "SEEN": "hello-kept"}
		if !reflect.DeepEqual(res.OutputVariables, want) {
			t.Fatalf("outputs = %q, want %q", res.OutputVariables, want)
		}
	})
}

func TestFailingCommandStopsTheRun(t *testing.T) {
	forEachShell(t, func(t *testing.T, shell string) {
		spec, log := newSpec(t, shell, "echo one", "sh -c 'exit 3'", "touch ran")
		_, err := commands.Run(t.Context(), spec)

		f := wantFailure(t, err, commands.Failure{Index: 1, Command: "sh -c 'exit 3'", ExitCode: 3})
		if got, want := f.Error(), `command 2 "sh -c 'exit 3'" exited with code 3`; got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
		wantNoFile(t, filepath.Join(spec.Dir, "ran"))
		if got, want := log.String(), "$ echo one\none\n$ sh -c 'exit 3'\n"; got != want {
			t.Errorf("log = %q, want %q", got, want)
		}
	})
}

func TestExitInACommand(t *testing.T) {
	forEachShell(t, func(t *testing.T, shell string) {
		spec, _ := newSpec(t, shell, "true", "exit 7", "touch ran")
		_, err := commands.Run(t.Context(), spec)
		wantFailure(t, err, commands.Failure{Index: 1, Command: "exit 7", ExitCode: 7})
		wantNoFile(t, filepath.Join(spec.Dir, "ran"))
	})
}

func TestCommandKilledBySignal(t *testing.T) {
	forEachShell(t, func(t *testing.T, shell string) {
		spec, _ := newSpec(t, shell, "kill -9 $$", "touch ran")
		_, err := commands.Run(t.Context(), spec)
		wantFailure(t, err, commands.Failure{Index: 0, Command: "kill -9 $$", ExitCode: 128 + 9})
		wantNoFile(t, filepath.Join(spec.Dir, "ran"))
	})
}

func TestSyntaxErrorFailsOnlyItsOwnCommand(t *testing.T) {
	forEachShell(t, func(t *testing.T, shell string) {
		// Pasted into the script, the open quote would swallow the lines
		// after it; each command must fail or succeed on its own.
		spec, _ := newSpec(t, shell, "echo 'unbalanced", "touch ran")
		_, err := commands.Run(t.Context(), spec)
		wantFailure(t, err, commands.Failure{Index: 0, Command: "echo 'unbalanced", ExitCode: 2})
		wantNoFile(t, filepath.Join(spec.Dir, "ran"))
	})
}

func TestUsersShellOptionsAreRespected(t *testing.T) {
	if _, err := os.Stat("/bin/bash"); err != nil {
		t.Skip("no /bin/bash")
	}
	t.Parallel()
	cases := []struct {
		name     string
		commands []string
		failure  *commands.Failure
	}{
		{"pipeline status is the last command's", []string{"false | true"}, nil},
		{"pipefail is the user's to set", []string{"set -o pipefail", "false | true"},
			&commands.Failure{Index: 1, Command: "false | true", ExitCode: 1}},
		{"set -e still stops inside a command", []string{"set -e", "false; touch ran"},
			&commands.Failure{Index: 1, Command: "false; touch ran", ExitCode: 1}},
		{"without set -e a command runs to its end", []string{"false; touch ran"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec, _ := newSpec(t, "/bin/bash", tc.commands...)
			_, err := commands.Run(t.Context(), spec)
			if tc.failure == nil {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				return
			}
			wantFailure(t, err, *tc.failure)
			wantNoFile(t, filepath.Join(spec.Dir, "ran"))
		})
	}
}

func TestMultiLineCommands(t *testing.T) {
	forEachShell(t, func(t *testing.T, shell string) {
		spec, log := newSpec(t, shell,
			"for i in 1 2; do\n  echo line$i\ndone\nexport N=2\n",
			"cat <<EOF\nheredoc $N\nEOF",
		)
		mustRun(t, spec)
		want := "$ for i in 1 2; do\n>   echo line$i\n> done\n> export N=2\nline1\nline2\n" +
			"$ cat <<EOF\n> heredoc $N\n> EOF\nheredoc 2\n"
		if got := log.String(); got != want {
			t.Fatalf("log = %q, want %q", got, want)
		}
	})
}

func TestFailureInsideMultiLineCommand(t *testing.T) {
	forEachShell(t, func(t *testing.T, shell string) {
		block := "if true; then\n  echo inside\n  exit 4\nfi\ntouch ran"
		spec, log := newSpec(t, shell, block, "touch ran")
		_, err := commands.Run(t.Context(), spec)
		f := wantFailure(t, err, commands.Failure{Index: 0, Command: block, ExitCode: 4})
		if got, want := f.Error(), `command 1 "if true; then…" exited with code 4`; got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
		wantNoFile(t, filepath.Join(spec.Dir, "ran"))
		if !strings.HasSuffix(log.String(), "\ninside\n") {
			t.Errorf("log = %q, want the block's output at the end", log.String())
		}
	})
}

func TestOutputVariables(t *testing.T) {
	forEachShell(t, func(t *testing.T, shell string) {
		spec, _ := newSpec(t, shell,
			"export PLAIN=value",
			"export TRICKY='a=b\nc=\"d\"\n\n'",
			"export EMPTY=",
			"export UNSAFE=\"$(printf '%s' \"it's\")\"",
		)
		spec.Env = append(spec.Env, "FROM_ENV=given")
		spec.OutputVariables = []string{"PLAIN", "TRICKY", "EMPTY", "UNSAFE", "FROM_ENV"}
		res := mustRun(t, spec)
		want := map[string]string{
			"PLAIN":    "value",
			"TRICKY":   "a=b\nc=\"d\"\n\n",
			"EMPTY":    "",
			"UNSAFE":   "it's",
			"FROM_ENV": "given",
		}
		if !reflect.DeepEqual(res.OutputVariables, want) {
			t.Fatalf("outputs = %q, want %q", res.OutputVariables, want)
		}
	})
}

func TestOutputVariablesSurviveUsersShellOptions(t *testing.T) {
	forEachShell(t, func(t *testing.T, shell string) {
		spec, log := newSpec(t, shell, "set -eux", "export OUT=ok", "set -o noclobber")
		spec.OutputVariables = []string{"OUT"}
		res := mustRun(t, spec)
		if got := res.OutputVariables["OUT"]; got != "ok" {
			t.Fatalf("OUT = %q, want ok", got)
		}
		if strings.Contains(log.String(), "__sluice") {
			t.Errorf("log shows sluice's own bookkeeping:\n%s", log.String())
		}
	})
}

func TestMissingOutputVariables(t *testing.T) {
	forEachShell(t, func(t *testing.T, shell string) {
		spec, _ := newSpec(t, shell, "NOT_EXPORTED=1", "export WAS_SET=1", "unset WAS_SET")
		spec.OutputVariables = []string{"NOT_EXPORTED", "NEVER_SET", "WAS_SET"}
		_, err := commands.Run(t.Context(), spec)

		var verr *commands.OutputVariableError
		if !errors.As(err, &verr) {
			t.Fatalf("err = %v (%T), want *OutputVariableError", err, err)
		}
		want := commands.OutputVariableError{Unset: []string{"NEVER_SET", "WAS_SET"}, NotExported: []string{"NOT_EXPORTED"}}
		if !reflect.DeepEqual(*verr, want) {
			t.Fatalf("error = %+v, want %+v", *verr, want)
		}
		for _, s := range []string{"NEVER_SET, WAS_SET", "export NOT_EXPORTED="} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not mention %q", err, s)
			}
		}
	})
}

func TestInvalidOutputVariableNameRunsNothing(t *testing.T) {
	t.Parallel()
	spec, log := newSpec(t, "", "touch ran")
	spec.OutputVariables = []string{"NOT-A-NAME"}
	if _, err := commands.Run(t.Context(), spec); err == nil || !strings.Contains(err.Error(), "NOT-A-NAME") {
		t.Fatalf("err = %v, want one naming the bad variable", err)
	}
	wantNoFile(t, filepath.Join(spec.Dir, "ran"))
	if log.Len() != 0 {
		t.Errorf("log = %q, want nothing", log.String())
	}
}

func TestNoCommandsStillReadsOutputs(t *testing.T) {
	forEachShell(t, func(t *testing.T, shell string) {
		spec, _ := newSpec(t, shell)
		spec.Env = append(spec.Env, "X=1")
		spec.OutputVariables = []string{"X"}
		if got := mustRun(t, spec).OutputVariables["X"]; got != "1" {
			t.Fatalf("X = %q, want 1", got)
		}
	})
}

func TestExitZeroEndsTheRunSuccessfully(t *testing.T) {
	forEachShell(t, func(t *testing.T, shell string) {
		spec, log := newSpec(t, shell, "echo before", "exit 0", "touch ran")
		mustRun(t, spec)
		wantNoFile(t, filepath.Join(spec.Dir, "ran"))
		if want := "command 2 exited the shell with code 0; 1 later command(s) did not run"; !strings.Contains(log.String(), want) {
			t.Errorf("log = %q, want it to say %q", log.String(), want)
		}

		spec, _ = newSpec(t, shell, "export OUT=1", "exit 0")
		spec.OutputVariables = []string{"OUT"}
		_, err := commands.Run(t.Context(), spec)
		var verr *commands.OutputVariableError
		if !errors.As(err, &verr) || !strings.Contains(err.Error(), `command 2 "exit 0" exited the shell`) {
			t.Fatalf("err = %v, want an *OutputVariableError saying why", err)
		}
	})
}

func TestStdoutAndStderrInterleaveInOrder(t *testing.T) {
	forEachShell(t, func(t *testing.T, shell string) {
		spec, log := newSpec(t, shell, "echo out1; echo err1 >&2; echo out2; echo err2 >&2")
		mustRun(t, spec)
		want := "$ echo out1; echo err1 >&2; echo out2; echo err2 >&2\nout1\nerr1\nout2\nerr2\n"
		if got := log.String(); got != want {
			t.Fatalf("log = %q, want %q", got, want)
		}
	})
}

// signalWriter collects output and closes seen once it contains want, so a
// test can act while the command that wrote it is still running.
type signalWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	was := strings.Contains(w.buf.String(), w.want)
	w.buf.Write(p)
	if !was && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
	}
	return len(p), nil
}

func mkfifo(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLogStreamsWhileCommandsRun(t *testing.T) {
	forEachShell(t, func(t *testing.T, shell string) {
		fifo := mkfifo(t)
		spec, _ := newSpec(t, shell, `echo ready; read x < "$FIFO"; echo "got $x"`)
		spec.Env = append(spec.Env, "FIFO="+fifo)
		w := &signalWriter{want: "ready\n", seen: make(chan struct{})}
		spec.Log = w

		done := make(chan error, 1)
		go func() {
			_, err := commands.Run(t.Context(), spec)
			done <- err
		}()
		select {
		case <-w.seen:
		case err := <-done:
			t.Fatalf("Run returned (%v) before its output reached the log", err)
		case <-time.After(30 * time.Second):
			t.Fatal("output did not reach the log while the command ran")
		}
		// The command is blocked on the fifo: releasing it is what lets
		// Run finish, so the output above cannot have been buffered to the end.
		if err := os.WriteFile(fifo, []byte("go\n"), 0); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if !strings.HasSuffix(w.buf.String(), "ready\ngot go\n") {
			t.Fatalf("log = %q", w.buf.String())
		}
	})
}

func TestLongLines(t *testing.T) {
	t.Parallel()
	const n = 3 << 20
	spec, log := newSpec(t, "", "head -c "+strconv.Itoa(n)+" /dev/zero | tr '\\0' a; echo")
	mustRun(t, spec)
	if !strings.HasSuffix(log.String(), "\n"+strings.Repeat("a", n)+"\n") {
		t.Fatalf("log of %d bytes does not end in the %d-byte line", log.Len(), n)
	}
}

func TestStdinIsEmpty(t *testing.T) {
	forEachShell(t, func(t *testing.T, shell string) {
		spec, _ := newSpec(t, shell, "if read -r line; then exit 9; fi", `test -z "$(cat)"`)
		mustRun(t, spec)
	})
}

func TestEnvironmentIsExactlySpecEnv(t *testing.T) {
	// Not parallel: it sets a variable in this process's environment.
	t.Setenv("SLUICE_COMMANDS_TEST_LEAK", "leaked")
	check := `[ -z "${SLUICE_COMMANDS_TEST_LEAK+set}" ] || exit 5`
	for _, shell := range shells {
		spec, _ := newSpec(t, shell, check, `export SEEN="$GIVEN"`)
		spec.Env = append(spec.Env, "GIVEN=yes")
		spec.OutputVariables = []string{"SEEN"}
		if got := mustRun(t, spec).OutputVariables["SEEN"]; got != "yes" {
			t.Errorf("%s: SEEN = %q, want yes", shell, got)
		}

		// A nil Env is empty, not the worker's.
		spec, _ = newSpec(t, shell, check)
		spec.Env = nil
		mustRun(t, spec)
	}
}

func TestNothingIsLeftInDirOrTempDir(t *testing.T) {
	// Not parallel: it points TMPDIR at a directory of its own, whose name
	// also needs quoting in the script.
	tmp := filepath.Join(t.TempDir(), `it's a "dir" $HOME`)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)

	spec, _ := newSpec(t, "", "touch made", "export OUT=1")
	spec.OutputVariables = []string{"OUT"}
	mustRun(t, spec)

	for dir, want := range map[string][]string{spec.Dir: {"made"}, tmp: nil} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s holds %q, want %q", dir, got, want)
		}
	}
}

func TestShellLookup(t *testing.T) {
	t.Parallel()
	spec, _ := newSpec(t, "sh", `export OUT="$(readlink /proc/$$/exe)"`)
	spec.OutputVariables = []string{"OUT"}
	want, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	if got := mustRun(t, spec).OutputVariables["OUT"]; got != want {
		t.Errorf("shell is %q, want %q", got, want)
	}

	for _, shell := range []string{"no-such-shell-anywhere", "./sh"} {
		spec, _ := newSpec(t, shell, "true")
		if _, err := commands.Run(t.Context(), spec); err == nil || !strings.Contains(err.Error(), shell) {
			t.Errorf("shell %q: err = %v, want one naming the shell", shell, err)
		}
	}
}

// startedPids runs spec in the background and returns the pids its commands
// write to the fifo in $FIFO, one line, once they are running.
func startedPids(t *testing.T, ctx context.Context, spec commands.Spec, fifo string) ([]int, <-chan error) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := commands.Run(ctx, spec)
		done <- err
	}()
	// Opening a fifo for reading blocks until the command opens it to
	// write, so this returns only once the processes exist.
	f, err := os.Open(fifo)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		t.Fatalf("reading pids: %v", err)
	}
	var pids []int
	for _, field := range strings.Fields(line) {
		pid, err := strconv.Atoi(field)
		if err != nil {
			t.Fatalf("pid %q: %v", field, err)
		}
		pids = append(pids, pid)
	}
	return pids, done
}

// pidWatch holds a pidfd, which becomes readable when the process exits
// whoever its parent is, so a test can wait for a death without polling.
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

func (w pidWatch) wantExited(t *testing.T) {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
	for {
		// The bound only keeps a broken build from hanging; a correct one
		// finds the process dead at once.
		n, err := unix.Poll(fds, 30_000)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("process %d is still running", w.pid)
		}
		return
	}
}

func TestCancelKillsTheWholeProcessTree(t *testing.T) {
	forEachShell(t, func(t *testing.T, shell string) {
		fifo := mkfifo(t)
		spec, log := newSpec(t, shell, "echo first", `sh -c 'sleep 1000 & echo $$ $! > "$FIFO"; wait'`, "touch ran")
		spec.Env = append(spec.Env, "FIFO="+fifo)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()

		pids, done := startedPids(t, ctx, spec, fifo)
		if len(pids) != 2 {
			t.Fatalf("pids = %v, want the child shell's and the grandchild sleep's", pids)
		}
		child, grandchild := watchPid(t, pids[0]), watchPid(t, pids[1])
		cancel()
		err := <-done

		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if !strings.Contains(err.Error(), "command 2") {
			t.Errorf("err = %q, want it to name the running command", err)
		}
		child.wantExited(t)
		grandchild.wantExited(t)
		wantNoFile(t, filepath.Join(spec.Dir, "ran"))
		if !strings.HasPrefix(log.String(), "$ echo first\nfirst\n") {
			t.Errorf("log = %q", log.String())
		}
	})
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	spec, _ := newSpec(t, "", "sleep 1000")
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := commands.Run(ctx, spec); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

func TestAlreadyCancelledRunsNothing(t *testing.T) {
	t.Parallel()
	spec, _ := newSpec(t, "", "touch ran")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := commands.Run(ctx, spec); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	wantNoFile(t, filepath.Join(spec.Dir, "ran"))
}

func TestStopGivesTrapsTimeToCleanUp(t *testing.T) {
	forEachShell(t, func(t *testing.T, shell string) {
		fifo := mkfifo(t)
		spec, log := newSpec(t, shell,
			`trap 'echo cleaning up; exit 1' TERM`,
			// The pid comes from the process the signal must reach: a
			// shell signalled before it forks sleep would run its trap
			// only once sleep was done.
			`sh -c 'echo $$ > "$FIFO"; exec sleep 1000'`,
		)
		spec.Env = append(spec.Env, "FIFO="+fifo)
		spec.KillGrace = time.Minute
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()

		_, done := startedPids(t, ctx, spec, fifo)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if !strings.HasSuffix(log.String(), "cleaning up\n") {
			t.Fatalf("log = %q, want the trap's output", log.String())
		}
	})
}

func TestStopKillsWhatIgnoresSIGTERM(t *testing.T) {
	forEachShell(t, func(t *testing.T, shell string) {
		fifo := mkfifo(t)
		// The ignored disposition is inherited, so sleep ignores SIGTERM too.
		spec, _ := newSpec(t, shell, `trap '' TERM; sleep 1000 & echo $! > "$FIFO"; wait`)
		spec.Env = append(spec.Env, "FIFO="+fifo)
		spec.KillGrace = 50 * time.Millisecond
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()

		pids, done := startedPids(t, ctx, spec, fifo)
		sleep := watchPid(t, pids[0])
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		sleep.wantExited(t)
	})
}

func TestBackgroundProcessesDieWithTheShell(t *testing.T) {
	forEachShell(t, func(t *testing.T, shell string) {
		fifo := mkfifo(t)
		// The background sleep keeps the output open; Run must not wait
		// for it to end on its own.
		spec, _ := newSpec(t, shell, `sleep 1000 & echo $! > "$FIFO"`, "export OUT=done")
		spec.Env = append(spec.Env, "FIFO="+fifo)
		spec.OutputVariables = []string{"OUT"}
		spec.KillGrace = time.Minute

		var sleep pidWatch
		pids, done := startedPids(t, t.Context(), spec, fifo)
		sleep = watchPid(t, pids[0])
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		sleep.wantExited(t)
	})
}

func TestProcessThatLeftTheGroupDoesNotHangRun(t *testing.T) {
	if _, err := os.Stat("/usr/bin/setsid"); err != nil {
		t.Skip("no setsid")
	}
	forEachShell(t, func(t *testing.T, shell string) {
		fifo := mkfifo(t)
		// The daemon holds the output open from a session of its own, out
		// of reach of the group kill; the shell waits until it is there.
		spec, log := newSpec(t, shell,
			`setsid sh -c 'echo $$ > "$FIFO"; exec sleep 1000' & read pid < "$FIFO"; echo "$pid" > daemon.pid`,
		)
		spec.Env = append(spec.Env, "FIFO="+fifo)
		spec.KillGrace = 50 * time.Millisecond
		t.Cleanup(func() {
			b, err := os.ReadFile(filepath.Join(spec.Dir, "daemon.pid"))
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil && pid > 1 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		})

		if _, err := commands.Run(t.Context(), spec); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if !strings.Contains(log.String(), "left the process group") {
			t.Errorf("log = %q, want a note about the process left behind", log.String())
		}
	})
}

func TestFailureError(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 100)
	cases := []struct {
		command string
		want    string
	}{
		{"make test", `command 3 "make test" exited with code 2`},
		{"make test\n", `command 3 "make test" exited with code 2`},
		{"make \\\n  test", `command 3 "make \\…" exited with code 2`},
		{long, `command 3 "` + long[:80] + `…" exited with code 2`},
		{strings.Repeat("é", 81), `command 3 "` + strings.Repeat("é", 80) + `…" exited with code 2`},
	}
	for _, tc := range cases {
		f := &commands.Failure{Index: 2, Command: tc.command, ExitCode: 2}
		if got := f.Error(); got != tc.want {
			t.Errorf("Error() for %q = %q, want %q", tc.command, got, tc.want)
		}
	}
}
