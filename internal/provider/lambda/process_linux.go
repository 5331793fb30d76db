//go:build linux

package lambda

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sluice-ci/sluice/internal/process"
)

type commandRun struct {
	path  string
	args  []string
	dir   string
	env   []string
	stdin *os.File
	log   io.Writer
	grace time.Duration
	// timeout bounds the command, and what it leaves running in the
	// background after exiting 0, from its start.
	timeout time.Duration
	// wrap, when set, is the sandbox the command runs in (bubblewrap's
	// command ending in "--", and setpriv's when it switches users).
	wrap []string
}

// keepAlive runs a sandboxed function's command, reports its exit status on
// descriptor 3 and, when it is 0, stays until nothing but itself and the
// sandbox's init is left: the sandbox ends when its first process does, and
// what the function left in the background must live on to answer. It uses
// shell builtins only (the glob counts the namespace's processes), besides
// sleep between looks.
const keepAlive = `"$@" 3>&-; rc=$?; printf '%s\n' "$rc" >&3; exec 3>&-; [ "$rc" -eq 0 ] || exit "$rc"; while set -- /proc/[0-9]*; [ "$#" -gt 2 ]; do sleep 1; done`

type commandExit struct {
	exitCode int  // 128+n when signal n killed it
	stopped  bool // ctx ended the run
	timedOut bool // the timeout ended the run
}

// outputGrace is how long the output of a command that exited 0 is read on
// for what its background processes still write before Run returns.
const outputGrace = 100 * time.Millisecond

// lingerPoll is how often sluice looks whether what a function left running
// has ended.
const lingerPoll = 500 * time.Millisecond

// runCommand runs the command in a process group of its own with its output
// in log. When ctx ends or the timeout passes, or the command fails, the whole
// group is killed. When it exits 0, what it started in the background may go
// on (to answer for the job later) until the timeout, when the group is
// killed.
func runCommand(ctx context.Context, r commandRun) (commandExit, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return commandExit{}, err
	}
	cmd := &exec.Cmd{
		Path: r.path, Args: r.args, Dir: r.dir, Env: r.env,
		// *os.File values, not Readers and Writers: os/exec then starts no
		// copying goroutine whose wait could hang on a background process.
		Stdin: r.stdin, Stdout: pw, Stderr: pw,
		SysProcAttr: &syscall.SysProcAttr{
			// One kill(-pgid) reaches every process the function starts.
			Setpgid: true,
			// If the worker dies, so does the command.
			Pdeathsig: syscall.SIGKILL,
		},
	}
	var reported chan int // the sandboxed command's own exit status
	var sr, sw *os.File
	if len(r.wrap) > 0 {
		if sr, sw, err = os.Pipe(); err != nil {
			pr.Close()
			pw.Close()
			return commandExit{}, err
		}
		defer sr.Close()
		cmd.Path = r.wrap[0]
		cmd.Args = append(append(append([]string{}, r.wrap...), "/bin/sh", "-c", keepAlive, "sluice-function", r.path), r.args[1:]...)
		cmd.ExtraFiles = []*os.File{sw}
		reported = make(chan int, 1)
	}
	started := time.Now()
	err = cmd.Start()
	pw.Close()
	if sw != nil {
		sw.Close()
	}
	if err != nil {
		pr.Close()
		return commandExit{}, fmt.Errorf("start %s: %w", r.args[0], err)
	}
	pgid := cmd.Process.Pid
	if reported != nil {
		go func() {
			b, _ := io.ReadAll(sr)
			if code, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				reported <- code
			}
		}()
	}

	copied := make(chan struct{})
	go func() {
		defer close(copied)
		defer pr.Close()
		process.CopyOutput(r.log, pr)
	}()
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		process.WaitExited(pgid)
	}()

	var res commandExit
	timer := time.NewTimer(r.timeout)
	defer timer.Stop()
	select {
	case <-exited:
	case code := <-reported:
		if code == 0 {
			// The command took the event; the sandbox lives on for what it
			// left running, until that ends or the timeout passes.
			go func() {
				select {
				case <-exited:
				case <-time.After(time.Until(started.Add(r.timeout))):
					stop(pgid, exited, r.grace)
					_ = syscall.Kill(-pgid, syscall.SIGKILL)
				}
				cmd.Wait()
				<-copied
			}()
			t := time.NewTimer(outputGrace)
			defer t.Stop()
			select {
			case <-copied:
			case <-t.C:
			}
			return commandExit{}, nil
		}
		<-exited
	case <-ctx.Done():
		res.stopped = true
	case <-timer.C:
		res.timedOut = true
	}
	if res.stopped || res.timedOut {
		select {
		case <-exited:
			// It finished on its own meanwhile; its result stands.
			res.stopped, res.timedOut = false, false
		default:
			stop(pgid, exited, r.grace)
		}
	}
	killed := res.stopped || res.timedOut
	if killed {
		// Not yet reaped, the command's pid still names the group: this
		// reaches exactly what it left behind.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	waitErr := cmd.Wait()
	state := cmd.ProcessState
	if state == nil {
		return res, fmt.Errorf("wait for %s: %w", r.args[0], waitErr)
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.exitCode = 128 + int(ws.Signal())
	} else {
		res.exitCode = state.ExitCode()
	}
	if !killed && res.exitCode != 0 {
		// A failed function answers for nothing: what it left goes too. The
		// group's id stays taken as long as any of it lives.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}

	grace := r.grace
	if !killed && res.exitCode == 0 {
		grace = outputGrace
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-copied:
	case <-t.C:
		// Background processes hold the output open. The caller stops
		// logging it when Run returns; it is read on until they close it, so
		// that none of them blocks or dies writing to a full or closed pipe.
	}
	if !killed && res.exitCode == 0 && syscall.Kill(-pgid, 0) == nil {
		go linger(pgid, started.Add(r.timeout), r.grace)
	}
	return res, nil
}

// linger waits for what a function left running to end, and kills it once
// the deadline passes. It stops watching as soon as the group is empty: its
// id may then be given to another process.
func linger(pgid int, deadline time.Time, grace time.Duration) {
	t := time.NewTicker(lingerPoll)
	defer t.Stop()
	for range t.C {
		if syscall.Kill(-pgid, 0) != nil {
			return
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pgid, syscall.SIGTERM)
			time.Sleep(grace)
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			return
		}
	}
}

// stop asks the process group to end with SIGTERM and forces it with SIGKILL
// after grace.
func stop(pgid int, exited <-chan struct{}, grace time.Duration) {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-exited:
	case <-t.C:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-exited
	}
}
