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
// dies), with its output pipe kept for the job's log and the pipe its
// waiting shell reads the job's start from.
type preparedProc struct {
	cmd *exec.Cmd
	out *os.File // read end of bubblewrap's stdout and stderr
	ctl *os.File // write end of the waiting shell's fd 3

	mu     sync.Mutex
	taken  bool // handed to a job (Job)
	ran    bool // runShell took it over: it waits for and reaps it
	reaped bool
}

func startPrepared(args []string, dir string, user *User) (*preparedProc, error) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	defer devNull.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	cr, cw, err := os.Pipe()
	if err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	if user != nil {
		// The waiting shell, run as user, opens the pipe again through
		// /dev/fd/3, which the pipe's owner (the worker) would refuse.
		if err := cr.Chown(int(user.UID), int(user.GID)); err != nil {
			pr.Close()
			pw.Close()
			cr.Close()
			cw.Close()
			return nil, fmt.Errorf("sandbox: %w", err)
		}
	}
	cmd := &exec.Cmd{
		Path:       args[0],
		Args:       args,
		Dir:        dir,
		Env:        []string{},
		Stdin:      devNull,
		Stdout:     pw,
		Stderr:     pw,
		ExtraFiles: []*os.File{cr},
		// As runShell's: see there.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	}
	err = cmd.Start()
	pw.Close()
	cr.Close()
	if err != nil {
		pr.Close()
		cw.Close()
		return nil, fmt.Errorf("sandbox: starting %s: %w", args[0], err)
	}
	return &preparedProc{cmd: cmd, out: pr, ctl: cw}, nil
}

func (p *preparedProc) take() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.taken || p.reaped || !p.runningLocked() {
		return false
	}
	p.taken = true
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

// run gives the process to runShell, which from then on owns its wait.
func (p *preparedProc) run() (*exec.Cmd, *os.File, *os.File) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ran = true
	return p.cmd, p.out, p.ctl
}

func (p *preparedProc) pid() int { return p.cmd.Process.Pid }

func (p *preparedProc) discard() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ran || p.reaped {
		return
	}
	p.reaped = true
	// Not yet reaped, so the pid still names its group.
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	p.ctl.Close()
	_ = p.cmd.Wait()
	// bubblewrap's init and the waiting shell die after it (the init on
	// --die-with-parent, the shell as the init ends); both hold the
	// output, so its end says they are gone.
	_ = p.out.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.Copy(io.Discard, p.out)
	p.out.Close()
}
