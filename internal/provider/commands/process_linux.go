//go:build linux

package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

type shellRun struct {
	shell  string
	script string
	dir    string
	env    []string
	log    io.Writer
	grace  time.Duration
	// wrap, when set, is a command the shell runs under (a sandbox such as
	// bubblewrap): wrap[0] is executed with the rest, then the shell and script.
	wrap []string
}

type shellExit struct {
	// exitCode is the shell's status; 128+n if signal n killed it.
	exitCode int
	// stopped is set when ctx ended the run, as opposed to the shell
	// exiting on its own.
	stopped bool
	// outputLeftOpen is set when some process still held the output open
	// after the whole process group was killed: it must have left the group
	// (setsid, a double fork into a new group) and sluice cannot reach it.
	outputLeftOpen bool
}

// runShell runs the script in a new process group, streams its output to
// log, and returns once the shell has exited, everything left in its group
// is dead, and the output is drained or given up on.
func runShell(ctx context.Context, r shellRun) (shellExit, error) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return shellExit{}, fmt.Errorf("commands: %w", err)
	}
	defer devNull.Close()

	// One pipe for both stdout and stderr keeps their writes in the order
	// they were made. Passing *os.File (not a Writer) means os/exec starts
	// no copying goroutine of its own, whose wait could hang on a
	// grandchild that keeps the pipe open.
	pr, pw, err := os.Pipe()
	if err != nil {
		return shellExit{}, fmt.Errorf("commands: %w", err)
	}
	defer pr.Close()

	cmd := &exec.Cmd{
		Path:   r.shell,
		Args:   []string{r.shell, r.script},
		Dir:    r.dir,
		Env:    r.env,
		Stdin:  devNull,
		Stdout: pw,
		Stderr: pw,
		SysProcAttr: &syscall.SysProcAttr{
			// A group of its own lets one kill(-pgid) reach every process
			// the commands start, and keeps the worker's terminal signals
			// away from them.
			Setpgid: true,
			// If the worker dies, so does the shell, rather than running on
			// unobserved. Pdeathsig follows the thread that forked, which Go
			// ends only when a goroutine exits locked to it; Run never locks.
			Pdeathsig: syscall.SIGKILL,
		},
	}
	if len(r.wrap) > 0 {
		cmd.Path = r.wrap[0]
		cmd.Args = append(append([]string{}, r.wrap...), r.shell, r.script)
	}
	err = cmd.Start()
	// From here on only the shell and its children hold the write end, so
	// EOF on pr means none of them can write any more.
	pw.Close()
	if err != nil {
		return shellExit{}, fmt.Errorf("commands: starting %s: %w", r.shell, err)
	}
	pgid := cmd.Process.Pid

	copied := make(chan struct{})
	go func() {
		defer close(copied)
		copyOutput(r.log, pr)
	}()

	exited := make(chan struct{})
	go func() {
		defer close(exited)
		waitExited(pgid)
	}()

	var res shellExit
	select {
	case <-exited:
	case <-ctx.Done():
		select {
		case <-exited:
			// It finished on its own; its result stands.
		default:
			res.stopped = true
			stop(pgid, exited, copied, r.grace)
		}
	}

	// The shell has exited but is not yet reaped, so its pid still names
	// the group and cannot have been reused: this reaches exactly the
	// background processes the commands left behind.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	waitErr := cmd.Wait()
	state := cmd.ProcessState
	if state == nil {
		return shellExit{}, fmt.Errorf("commands: waiting for %s: %w", r.shell, waitErr)
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.exitCode = 128 + int(ws.Signal())
	} else {
		res.exitCode = state.ExitCode()
	}

	t := time.NewTimer(r.grace)
	defer t.Stop()
	select {
	case <-copied:
	case <-t.C:
		res.outputLeftOpen = true
		if pr.SetReadDeadline(time.Now()) != nil {
			pr.Close()
		}
		<-copied
	}
	return res, nil
}

// stop asks the process group to end with SIGTERM and forces it with SIGKILL
// after grace. Processes that catch SIGTERM get the whole grace period to
// clean up as long as they hold the output open, even if the shell itself
// is already gone.
func stop(pgid int, exited, copied <-chan struct{}, grace time.Duration) {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	for exited != nil || copied != nil {
		select {
		case <-exited:
			exited = nil
		case <-copied:
			copied = nil
		case <-t.C:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			if exited != nil {
				<-exited
			}
			return
		}
	}
}

// waitExited blocks until process pid has exited, without reaping it: as
// long as it is a zombie its pid cannot be given to a new process, so
// signalling the group by that pid stays safe.
func waitExited(pid int) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			// Any other error means there is nothing left to wait for;
			// cmd.Wait reports what happened.
			return
		}
	}
}

// copyOutput streams r to w as it arrives, in chunks rather than lines, so
// output is live and a line of any length passes. After w fails, output is
// still drained, so that the commands never block on a full pipe.
func copyOutput(w io.Writer, r io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 && w != nil {
			if _, werr := w.Write(buf[:n]); werr != nil {
				w = nil
			}
		}
		if err != nil {
			return
		}
	}
}
