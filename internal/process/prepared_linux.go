//go:build linux

package process

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// preparedProc is a prepared sandbox's bubblewrap, started as runShell
// starts a sandbox cold (a process group of its own, killed if the worker
// dies).
//
// The job's output does not go through bubblewrap's stdout: bubblewrap's
// init holds what bubblewrap was given until it exits, and it exits last,
// after the kernel has torn the sandbox's namespaces down (milliseconds on
// a busy machine), so the end of that output would wait for the teardown.
// The waiting shell opens a FIFO in the scratch directory as its stdout and
// stderr instead, which only it and the job's processes hold: the output
// ends as the job's last process does, and the teardown happens after.
type preparedProc struct {
	cmd   *exec.Cmd
	setup *os.File // read end of bubblewrap's own stdout and stderr
	ctl   *os.File // write end of the waiting shell's fd 3
	ready *os.File // read end of its fd 4: a byte once it holds the FIFO
	fifo  string
	// hold keeps the FIFO open for reading and writing until the waiting
	// shell holds it: its open does not wait, and it is never at its end
	// while nothing writes yet.
	hold *os.File
	out  *os.File // the FIFO's read end, from take on

	mu     sync.Mutex
	taken  bool // handed to a job (Job)
	ran    bool // runShell took it over: it waits for and reaps it
	reaped bool
}

func startPrepared(args []string, dir string, user *User, fifo string) (_ *preparedProc, err error) {
	var closers []*os.File
	defer func() {
		if err != nil {
			for _, f := range closers {
				f.Close()
			}
		}
	}()
	pipe := func() (r, w *os.File) {
		if err == nil {
			if r, w, err = os.Pipe(); err == nil {
				closers = append(closers, r, w)
			}
		}
		return r, w
	}
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	defer devNull.Close()
	pr, pw := pipe()
	cr, cw := pipe()
	rr, rw := pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		return nil, fmt.Errorf("sandbox: %w", &os.PathError{Op: "mkfifo", Path: fifo, Err: err})
	}
	hold, err := os.OpenFile(fifo, os.O_RDWR|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	closers = append(closers, hold)
	if user != nil {
		// The waiting shell, run as user, opens the FIFO, and the pipe
		// again through /dev/fd/3, which their owner (the worker) would
		// refuse.
		for _, f := range []*os.File{cr, hold} {
			if err = f.Chown(int(user.UID), int(user.GID)); err != nil {
				return nil, fmt.Errorf("sandbox: %w", err)
			}
		}
	}
	cmd := &exec.Cmd{
		Path:       args[0],
		Args:       append(args, fifo),
		Dir:        dir,
		Env:        []string{},
		Stdin:      devNull,
		Stdout:     pw,
		Stderr:     pw,
		ExtraFiles: []*os.File{cr, rw},
		// As runShell's: see there.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	}
	if err = cmd.Start(); err != nil {
		return nil, fmt.Errorf("sandbox: starting %s: %w", args[0], err)
	}
	pw.Close()
	cr.Close()
	rw.Close()
	return &preparedProc{cmd: cmd, setup: pr, ctl: cw, ready: rr, fifo: fifo, hold: hold}, nil
}

// readyTimeout bounds take's wait for a sandbox still being set up, which
// takes milliseconds: a bubblewrap stuck in its set-up would otherwise hold
// the job, which cannot be cancelled while it waits.
var readyTimeout = 30 * time.Second

// take hands the sandbox to a job once its waiting shell holds the FIFO,
// waiting for that if it is still being set up; false when it was handed
// one already or is gone.
func (p *preparedProc) take() bool {
	p.mu.Lock()
	if p.taken || p.reaped || !p.runningLocked() {
		p.mu.Unlock()
		return false
	}
	p.taken = true
	p.mu.Unlock()
	var b [1]byte
	_ = p.ready.SetReadDeadline(time.Now().Add(readyTimeout))
	if n, _ := p.ready.Read(b[:]); n != 1 {
		return false // bubblewrap failed, was killed, or is stuck
	}
	out, err := os.OpenFile(p.fifo, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
	if err != nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out = out
	// From here on only the job's processes hold the FIFO's write end.
	p.hold.Close()
	p.hold = nil
	return true
}

func (p *preparedProc) alive() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.reaped && !p.taken && p.runningLocked()
}

// runningLocked reports whether bubblewrap has not exited, without
// reaping it. Linux gives a zero si_signo when no child has changed state.
func (p *preparedProc) runningLocked() bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, p.cmd.Process.Pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	return err == nil && info.Signo == 0
}

// run gives the process to runShell, which from then on owns its wait and
// the job's output.
func (p *preparedProc) run() (*exec.Cmd, *os.File, *os.File) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ran = true
	out := p.out
	p.out = nil
	return p.cmd, out, p.ctl
}

func (p *preparedProc) pid() int { return p.cmd.Process.Pid }

func (p *preparedProc) discard() {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer func() {
		p.setup.Close()
		p.ready.Close()
	}()
	if p.ran || p.reaped {
		return
	}
	p.reaped = true
	// Not yet reaped, so the pid still names its group.
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	p.ctl.Close()
	_ = p.cmd.Wait()
	// bubblewrap's init dies after it (--die-with-parent), and the waiting
	// shell as the init ends. Until it holds the FIFO the shell holds fd 4;
	// from then on, the FIFO; the init holds bubblewrap's stdout (it closes
	// every other descriptor). The end of each says they are gone.
	if p.hold != nil {
		p.hold.Close()
		p.hold = nil
	}
	drain := func(f *os.File) {
		_ = f.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.Copy(io.Discard, f)
	}
	drain(p.ready)
	out := p.out
	if out == nil {
		out, _ = os.OpenFile(p.fifo, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
	}
	if out != nil {
		drain(out)
		out.Close()
	}
	drain(p.setup)
}
