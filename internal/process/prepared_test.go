//go:build linux

package process_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/process"
	"github.com/sluice-ci/sluice/internal/sandbox"
)

func isolation(t *testing.T) *sandbox.Isolation {
	t.Helper()
	if path, _ := sandbox.Detect(""); path == "" {
		t.Skip("bubblewrap does not work here")
	}
	iso, err := sandbox.New(sandbox.Auto, "")
	if err != nil {
		t.Fatal(err)
	}
	return iso
}

// prepare starts a prepared sandbox in fresh directories, discarded at the
// test's end.
func prepare(t *testing.T, iso *sandbox.Isolation, network bool) *process.Prepared {
	t.Helper()
	p, err := process.Prepare(iso, t.TempDir(), t.TempDir(), network)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Discard)
	return p
}

// runIn runs script in p as commands.Run would, and returns its exit and log.
func runIn(t *testing.T, ctx context.Context, p *process.Prepared, env []string, script string) (process.ShellExit, string) {
	t.Helper()
	box, err := p.Job([]string{filepath.Join(p.Root, "src")}, env)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(p.Scratch, "script.sh")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	out, err := process.RunShell(ctx, process.Shell{Path: "/bin/sh", Script: path, Dir: filepath.Join(p.Root, "src"), Env: box.Env,
		Log: &log, KillGrace: time.Second, User: box.User, Prepared: box.Prepared})
	if err != nil {
		t.Fatal(err)
	}
	return out, log.String()
}

// processesWith lists the processes whose command line holds marker.
func processesWith(marker string) []int {
	return process.Matching(func(cmdline []byte) bool { return bytes.Contains(cmdline, []byte(marker)) })
}

// The job runs exactly as in a sandbox started cold: its directory, its
// environment and nothing else (odd names and values kept byte for byte,
// whether the waiting shell sets them or env(1) does), its user, none of
// the waiting shell's descriptors, its exit status.
func TestPreparedRunsTheJob(t *testing.T) {
	iso := isolation(t)
	value := "it's \"quoted\"\n$HOME `x`"
	for _, env := range [][]string{
		{"PATH=/usr/bin:/bin", "ODD=" + value, "EMPTY=", "IFS=a b"},
		{"PATH=/usr/bin:/bin", "ODD=" + value, "A.B=1", "-X=2"},
	} {
		p := prepare(t, iso, true)
		out, log := runIn(t, context.Background(), p, env,
			`cp /proc/$$/environ environ; echo "pwd=$(pwd)"; echo "uid=$(id -u)"; ls -l /proc/$$/fd; exit 3`)
		if out.ExitCode != 3 || out.Stopped {
			t.Fatalf("exit %+v, want 3\n%s", out, log)
		}
		uid := os.Getuid()
		if iso.Root() {
			uid = sandbox.BuildUID
		}
		for _, want := range []string{"pwd=" + filepath.Join(p.Root, "src") + "\n", "uid=" + strconv.Itoa(uid) + "\n"} {
			if !strings.Contains(log, want) {
				t.Errorf("log lacks %q:\n%s", want, log)
			}
		}
		// Nothing of the waiting shell stays: its descriptors to the
		// pipes (fd 3 and 4; the job's shell's own are 10 and up).
		if strings.Contains(log, " 3 -> ") || strings.Contains(log, " 4 -> ") {
			t.Errorf("the job has the waiting shell's fd 3 or 4:\n%s", log)
		}
		b, err := os.ReadFile(filepath.Join(p.Root, "src", "environ"))
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
		want := append(slices.Clone(env), "HOME="+p.Home())
		if iso.Root() {
			want = append(want, "USER="+sandbox.BuildName, "LOGNAME="+sandbox.BuildName)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("environment\n%q\nwant\n%q", got, want)
		}
		if _, err := p.Job(nil, nil); err == nil {
			t.Fatal("a prepared sandbox took a second job")
		}
	}
}

// A prepared sandbox ended without a job leaves no process: bubblewrap and
// the shell waiting in it are gone.
func TestPreparedDiscardLeavesNoProcess(t *testing.T) {
	iso := isolation(t)
	p, err := process.Prepare(iso, t.TempDir(), t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	// bubblewrap's arguments name Root, the waiting shell's its FIFO in
	// Scratch.
	deadline := time.Now().Add(10 * time.Second)
	for len(processesWith(p.Root)) == 0 || len(processesWith(p.Scratch)) < 2 || !p.Alive() {
		if time.Now().After(deadline) {
			t.Fatal("the prepared sandbox did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	pid := p.PID()
	p.Discard()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("bubblewrap %d still there: %v", pid, err)
	}
	if left := append(processesWith(p.Root), processesWith(p.Scratch)...); len(left) > 0 {
		for _, pid := range left {
			b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
			c, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
			w, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/wchan")
			t.Logf("%d: %q wchan %s\n%s", pid, c, w, b[:300])
		}
		t.Fatalf("processes left: %v", left)
	}
	if p.Alive() {
		t.Fatal("a discarded sandbox says it is alive")
	}
}

// The attacker is a job's code. While it runs, the worker prepares the next
// job's sandbox beside it: the job must not see that sandbox's processes
// (the waiting shell, which will receive the next job's command and
// environment), its pipe or its directories; and what it leaves behind
// (a daemon that left its process group, files in /tmp) must be gone or
// out of sight for the next job.
func TestPreparedAttackerCannotReachTheNextJob(t *testing.T) {
	iso := isolation(t)
	this := prepare(t, iso, true)
	next := prepare(t, iso, true)
	const daemon = "987654"
	script := `
found=0
for d in /proc/[0-9]*; do
	if tr '\0' ' ' < $d/cmdline 2>/dev/null | grep -q '` + next.Root + `'; then echo "saw the next sandbox in $d"; found=1; fi
done
for d in ` + next.Root + ` ` + next.Scratch + `; do
	if ls -d "$d" 2>/dev/null; then echo "saw $d"; found=1; fi
done
setsid sleep ` + daemon + ` </dev/null >/dev/null 2>&1 &
echo left > /tmp/left-behind
echo done $found`
	out, log := runIn(t, context.Background(), this, []string{"PATH=/usr/bin:/bin"}, script)
	if out.ExitCode != 0 || !strings.Contains(log, "done 0") {
		t.Fatalf("the job saw the next job's sandbox (exit %d):\n%s", out.ExitCode, log)
	}
	// bubblewrap reports the job's exit as its shell exits; the kernel
	// kills the rest of the PID namespace as its init ends, just after.
	deadline := time.Now().Add(10 * time.Second)
	for left := processesWith("sleep\x00" + daemon); len(left) > 0; left = processesWith("sleep\x00" + daemon) {
		if time.Now().After(deadline) {
			t.Fatalf("the job's daemon outlived it: %v", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
	out, log = runIn(t, context.Background(), next, []string{"PATH=/usr/bin:/bin", "SECRET=next-job"},
		`test ! -e /tmp/left-behind && ! pgrep -f `+daemon+` && echo clean`)
	if out.ExitCode != 0 || !strings.Contains(log, "clean") {
		t.Fatalf("the next job saw what the last one left (exit %d):\n%s", out.ExitCode, log)
	}
}

// A sandbox prepared without the network has only its own loopback; one
// with it has the host's interfaces.
func TestPreparedNetwork(t *testing.T) {
	iso := isolation(t)
	host, err := os.ReadDir("/sys/class/net")
	if err != nil || len(host) < 2 {
		t.Skip("the host has no interface but loopback")
	}
	for _, network := range []bool{false, true} {
		p := prepare(t, iso, network)
		out, log := runIn(t, context.Background(), p, []string{"PATH=/usr/bin:/bin"}, `tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\n' ' '`)
		if out.ExitCode != 0 {
			t.Fatalf("exit %d\n%s", out.ExitCode, log)
		}
		if got := strings.TrimSpace(log) == "lo"; got == network {
			t.Errorf("network %v: interfaces %q", network, log)
		}
	}
}

// Stopping a job in a prepared sandbox kills it as a cold one's stop does.
func TestPreparedStop(t *testing.T) {
	iso := isolation(t)
	p := prepare(t, iso, true)
	box, err := p.Job([]string{filepath.Join(p.Root, "src")}, []string{"PATH=/usr/bin:/bin"})
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(p.Scratch, "script.sh")
	if err := os.WriteFile(script, []byte("echo started; sleep 600"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := &stopOn{marker: "started", stop: cancel}
	out, err := process.RunShell(ctx, process.Shell{Path: "/bin/sh", Script: script, Dir: filepath.Join(p.Root, "src"), Env: box.Env,
		Log: log, KillGrace: time.Second, User: box.User, Prepared: box.Prepared})
	if err != nil || !out.Stopped {
		t.Fatalf("exit %+v, %v\n%s", out, err, log.b.String())
	}
	if left := append(processesWith(p.Root), processesWith(p.Scratch)...); len(left) > 0 {
		t.Fatalf("processes left: %v", left)
	}
}

// stopOn is a log that calls stop once it has been written marker.
type stopOn struct {
	b      bytes.Buffer
	marker string
	stop   func()
}

func (s *stopOn) Write(p []byte) (int, error) {
	s.b.Write(p)
	if strings.Contains(s.b.String(), s.marker) {
		s.stop()
	}
	return len(p), nil
}

// A variable the waiting shell (dash) treats specially reaches the job as
// it reaches one started cold: dash refuses `export OPTIND=x` ("Illegal
// number") and exited with 2 before the job's shell ran, which bash, the
// jobs' usual shell, takes as it is.
func TestPreparedShellSpecialNames(t *testing.T) {
	iso := isolation(t)
	if _, err := os.Stat("/bin/bash"); err != nil {
		t.Skip("no /bin/bash")
	}
	p := prepare(t, iso, true)
	box, err := p.Job([]string{filepath.Join(p.Root, "src")}, []string{"PATH=/usr/bin:/bin", "OPTIND=x", "UID=y"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(p.Scratch, "script.sh")
	if err := os.WriteFile(path, []byte(`tr '\0' '\n' </proc/$$/environ | sort; exit 3`), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	out, err := process.RunShell(context.Background(), process.Shell{Path: "/bin/bash", Script: path, Dir: filepath.Join(p.Root, "src"), Env: box.Env,
		Log: &log, KillGrace: time.Second, User: box.User, Prepared: box.Prepared})
	if err != nil {
		t.Fatal(err)
	}
	if out.ExitCode != 3 {
		t.Fatalf("exit %+v, want 3\n%s", out, log.String())
	}
	for _, want := range []string{"OPTIND=x\n", "UID=y\n"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the job's environment lacks %q:\n%s", want, log.String())
		}
	}
}
