//go:build linux

package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
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
	// user, when set, is who the shell runs as (see Shell.User).
	user *User
	// prepared, when set, is the sandbox started ahead that the shell runs
	// in, in place of wrap (see Prepared).
	prepared *Prepared
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
	start := startShell
	if r.prepared != nil {
		start = startInPrepared
	}
	cmd, pr, err := start(r)
	if err != nil {
		return shellExit{}, err
	}
	defer pr.Close()
	pgid := cmd.Process.Pid

	copied := make(chan struct{})
	go func() {
		defer close(copied)
		CopyOutput(r.log, pr)
	}()

	exited := make(chan struct{})
	go func() {
		defer close(exited)
		WaitExited(pgid)
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

// startShell starts the shell (under r.wrap when set) and returns it with
// the read end of its output.
func startShell(r shellRun) (*exec.Cmd, *os.File, error) {
	devNull, err := openDevNull()
	if err != nil {
		return nil, nil, fmt.Errorf("commands: %w", err)
	}

	// One pipe for both stdout and stderr keeps their writes in the order
	// they were made. Passing *os.File (not a Writer) means os/exec starts
	// no copying goroutine of its own, whose wait could hang on a
	// grandchild that keeps the pipe open.
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("commands: %w", err)
	}

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
		cmd.Args = append([]string{}, r.wrap...)
		if r.user != nil {
			setpriv, err := exec.LookPath("setpriv")
			if err != nil {
				pw.Close()
				pr.Close()
				return nil, nil, fmt.Errorf("commands: running as uid %d under %s needs setpriv (util-linux), which is not installed: %w", r.user.UID, r.wrap[0], err)
			}
			cmd.Args = append(cmd.Args, setprivArgs(setpriv, r.user)...)
		}
		cmd.Args = append(cmd.Args, r.shell, r.script)
	} else if r.user != nil {
		cmd.SysProcAttr.Credential = r.user.credential()
	}
	err = cmd.Start()
	// From here on only the shell and its children hold the write end, so
	// EOF on pr means none of them can write any more.
	pw.Close()
	if err != nil {
		pr.Close()
		return nil, nil, fmt.Errorf("commands: starting %s: %w", r.shell, err)
	}
	return cmd, pr, nil
}

// startInPrepared starts the shell in r.prepared, the sandbox started ahead
// of the job (see Prepared): it hands the waiting shell the lines that exec
// the job's shell, and takes over bubblewrap's process and output as if it
// had just started it.
func startInPrepared(r shellRun) (*exec.Cmd, *os.File, error) {
	// The waiting shell runs as r.user already (see Prepare).
	lines, err := startLines(func() (string, error) { return exec.LookPath("env") }, r.dir, r.env, []string{r.shell, r.script})
	if err != nil {
		r.prepared.Discard()
		return nil, nil, fmt.Errorf("commands: starting %s in the prepared sandbox needs env (coreutils): %w", r.shell, err)
	}
	cmd, out, ctl := r.prepared.proc.run()
	// Closing the pipe ends the source: the shell never waits for more.
	// Lines that fit in the empty pipe are written at once, here: a
	// goroutine would wait for the Go scheduler, which on a busy machine
	// took milliseconds. Larger ones are written as the shell reads, beside
	// the wait for it.
	if len(lines) <= pipeRoom {
		_, _ = ctl.Write(lines)
		ctl.Close()
		return cmd, out, nil
	}
	go func() {
		_, _ = ctl.Write(lines)
		ctl.Close()
	}()
	return cmd, out, nil
}

// pipeRoom is what a new pipe takes without a reader: Linux gives it 16
// pages.
const pipeRoom = 16 * 4096

func (u *User) credential() *syscall.Credential {
	return &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: append([]uint32{}, u.Groups...)}
}

// Unreachable returns the first of dirs that u cannot enter, or "" when it
// can enter them all. It asks the kernel by starting a shell as u that tries
// each in turn, so that every rule the kernel applies (mode bits, groups,
// ACLs, mount options) counts, rather than sluice's reading of mode bits.
// Only root can ask about another user.
func Unreachable(u *User, dirs []string) (string, error) {
	if len(dirs) == 0 {
		return "", nil
	}
	const script = `for d do cd -- "$d" 2>/dev/null || { printf '%s' "$d"; exit 1; }; done`
	cmd := exec.Command("/bin/sh", append([]string{"-c", script, "sh"}, dirs...)...)
	cmd.Dir = "/"
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: u.credential()}
	out, err := cmd.Output()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return "", nil
	case errors.As(err, &exit) && exit.ExitCode() == 1 && len(out) > 0:
		return string(out), nil
	}
	return "", fmt.Errorf("commands: checking what uid %d can reach: %w", u.UID, err)
}

// ChownTree gives the tree at root, root included, to uid and gid without
// ever following a symbolic link: every directory is opened with O_NOFOLLOW
// relative to its parent's descriptor, so a process of the tree's previous
// owner still running (one that left its process group) cannot turn the walk
// outside the tree by swapping a directory for a link while it goes.
func ChownTree(root string, uid, gid uint32) error {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
		return chownErr(root, unix.Fchownat(unix.AT_FDCWD, root, int(uid), int(gid), unix.AT_SYMLINK_NOFOLLOW))
	}
	if err != nil {
		return chownErr(root, err)
	}
	defer unix.Close(fd)
	if err := unix.Fchown(fd, int(uid), int(gid)); err != nil {
		return chownErr(root, err)
	}
	return chownDir(fd, root, int(uid), int(gid))
}

func chownDir(fd int, path string, uid, gid int) error {
	dup, err := unix.Dup(fd)
	if err != nil {
		return chownErr(path, err)
	}
	dir := os.NewFile(uintptr(dup), path)
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return chownErr(path, err)
	}
	for _, name := range names {
		p := path + "/" + name
		sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		switch {
		case err == nil:
			err = unix.Fchown(sub, uid, gid)
			if err == nil {
				err = chownDir(sub, p, uid, gid)
			}
			unix.Close(sub)
			if err != nil {
				return chownErr(p, err)
			}
		case errors.Is(err, unix.ENOENT):
			// Removed since it was listed.
		case errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP):
			// Not a directory, or a link: its own inode, never what it names.
			if err := unix.Fchownat(fd, name, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil && !errors.Is(err, unix.ENOENT) {
				return chownErr(p, err)
			}
		default:
			return chownErr(p, err)
		}
	}
	return nil
}

func chownErr(path string, err error) error {
	var pe *os.PathError
	if err == nil || errors.As(err, &pe) {
		return err
	}
	return &os.PathError{Op: "chown", Path: path, Err: err}
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

// WaitExited blocks until process pid has exited, without reaping it: as
// long as it is a zombie its pid cannot be given to a new process, so
// signalling the group by that pid stays safe.
func WaitExited(pid int) {
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

// openDevNull is /dev/null opened once for reading, every shell's stdin:
// each gets its own copy of the descriptor, and reads nothing from it.
var openDevNull = sync.OnceValues(func() (*os.File, error) { return os.Open(os.DevNull) })

// copyBuffers are CopyOutput's buffers, kept from one run to the next: a
// short action's whole output fits in one, and making it anew for every
// action was most of what a run allocated.
var copyBuffers = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// CopyOutput streams r to w as it arrives, in chunks rather than lines, so
// output is live and a line of any length passes. After w fails, output is
// still drained, so that the commands never block on a full pipe.
func CopyOutput(w io.Writer, r io.Reader) {
	pooled := copyBuffers.Get().(*[32 << 10]byte)
	defer copyBuffers.Put(pooled)
	buf := pooled[:]
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

// OpenOwnFile opens a bookkeeping file a job's shell wrote (a status, an
// output variable) without following a link: the job, running as another
// user, owns the directory and could put there a link to a file only sluice
// may read, for sluice to read it back into the job's results.
func OpenOwnFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &os.PathError{Op: "open", Path: path, Err: errors.New("not a regular file")}
	}
	return f, nil
}

// ReadOwnFile reads a file OpenOwnFile opens.
func ReadOwnFile(path string) ([]byte, error) {
	f, err := OpenOwnFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
