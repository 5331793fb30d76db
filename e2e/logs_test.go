package e2e

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// follower is a running `sluice logs -f`, read line by line as it prints.
type follower struct {
	t      *testing.T
	lines  chan string
	exited chan error
	stderr syncBuffer
	seen   []string
}

func (s *server) follow(name, id, action string) *follower {
	s.t.Helper()
	cmd := exec.Command(sluiceBin, "logs", name, id, action, "-f")
	cmd.Env = cliEnv(s.url, s.token)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	f := &follower{t: s.t, lines: make(chan string, 100), exited: make(chan error, 1)}
	cmd.Stderr = &f.stderr
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f.lines <- sc.Text()
		}
		close(f.lines)
		f.exited <- cmd.Wait()
	}()
	s.t.Cleanup(func() { cmd.Process.Kill() })
	return f
}

// next returns the next line printed, or false once the output has ended.
func (f *follower) next(what string) (string, bool) {
	f.t.Helper()
	select {
	case l, ok := <-f.lines:
		if ok {
			f.seen = append(f.seen, l)
		}
		return l, ok
	case <-time.After(20 * time.Second):
		f.t.Fatalf("logs -f printed nothing for 20s while waiting for %s; so far:\n%s", what, f.output())
		return "", false
	}
}

// until reads up to a line equal to want and reports whether it came.
func (f *follower) until(want string) bool {
	f.t.Helper()
	for {
		l, ok := f.next(want)
		if !ok {
			return false
		}
		if l == want {
			return true
		}
	}
}

// end reads the rest of the output and returns how the process exited.
func (f *follower) end() error {
	f.t.Helper()
	for {
		if _, ok := f.next("the end of the log"); !ok {
			break
		}
	}
	select {
	case err := <-f.exited:
		return err
	case <-time.After(20 * time.Second):
		f.t.Fatal("logs -f did not exit after its output ended")
		return nil
	}
}

func (f *follower) output() string { return strings.Join(f.seen, "\n") }

// syncBuffer is a buffer a process writes to while a test may read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestLogsFollow(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.apply("testdata/logs.yml")
	dir := s.scratch("gate")
	id := s.start("logs", "DIR="+dir)
	s.waitAction("logs", id, "Talk", "InProgress")

	talk := s.follow("logs", id, "Talk")
	// Later has not started yet: following it waits for it to run.
	later := s.follow("logs", id, "Later")

	// The first line arrives while the action still runs.
	if !talk.until("ready-42") {
		t.Fatalf("logs -f ended before printing ready-42 (stderr %q):\n%s", talk.stderr.String(), talk.output())
	}
	wantEqual(t, "Talk while its first line is followed", s.execution("logs", id).actionStatus("Talk"), "InProgress")

	touch(t, filepath.Join(dir, "go"))
	if !talk.until("done-42") {
		t.Errorf("logs -f ended without printing done-42:\n%s", talk.output())
	}
	if err := talk.end(); err != nil {
		t.Errorf("logs -f exited with %v (stderr %q), want exit 0", err, talk.stderr.String())
	}
	s.waitEnd("logs", id, "Succeeded")

	// Without -f the whole log comes at once, and the same.
	all := s.ok("logs", "logs", id, "Talk")
	wantEqual(t, "logs after the end", strings.TrimRight(all, "\n"), talk.output())
	// logs -f of an action that has ended prints it all and exits.
	wantEqual(t, "logs -f after the end", s.ok("logs", "logs", id, "Talk", "-f"), all)

	// The follower started before Later ran saw its whole log.
	err := later.end()
	if err != nil {
		t.Errorf("logs -f of Later exited with %v (stderr %q), want exit 0", err, later.stderr.String())
	}
	if !strings.Contains(later.output(), "later-42") {
		t.Errorf("logs -f started before Later ran printed %q and exited; want it to wait for Later and print its log (later-42)", later.output())
	}
}
