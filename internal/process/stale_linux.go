package process

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// KillStale kills the sandboxes left behind under root by an earlier worker
// that was killed outright: bubblewrap's namespace child waits for its
// parent during set-up, before it sets its parent-death signal, so a worker
// killed in those milliseconds leaves it blocked for good (it never runs
// job code). A worker calls this before it makes anything under root, when
// no sandbox of its own can be there yet. Only bubblewrap processes of this
// user with an argument under root are touched. It returns how many it
// killed.
func KillStale(root string) int {
	root = filepath.Clean(root)
	if root == "/" || root == "." {
		return 0
	}
	uid := os.Geteuid()
	killed := 0
	for _, pid := range Matching(func(cmdline []byte) bool { return staleSandbox(cmdline, root) }) {
		if fi, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err != nil || ownerOf(fi) != uid {
			continue
		}
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed++
		}
	}
	return killed
}

// Matching returns the processes, other than this one, whose command line
// (its arguments, each ended by a NUL) satisfies match.
func Matching(match func(cmdline []byte) bool) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && match(cmdline) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func ownerOf(fi os.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// staleSandbox tells whether a process's command line is bubblewrap's with
// an argument naming root or something under it.
func staleSandbox(cmdline []byte, root string) bool {
	args := bytes.Split(bytes.TrimRight(cmdline, "\x00"), []byte{0})
	if len(args) == 0 || filepath.Base(string(args[0])) != "bwrap" {
		return false
	}
	prefix := root + string(filepath.Separator)
	for _, a := range args[1:] {
		if s := string(a); s == root || len(s) > len(prefix) && s[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}

// KillStaleAlone is KillStale for a worker that may share root with other
// live workers (each job has a directory of its own there): it kills only
// when no other worker holds root, since a live one's sandboxes look like
// leftovers. From then on this worker holds root (a shared lock on a file
// in it) until release, so that one started later spares its sandboxes.
func KillStaleAlone(root string) (killed int, release func(), err error) {
	f, err := os.OpenFile(filepath.Join(root, ".sluice-worker.lock"), os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return 0, nil, fmt.Errorf("hold the work directory: %w", err)
	}
	fd := int(f.Fd())
	// Exclusive while it kills: no other worker starts a sandbox
	// meanwhile. Then shared, as every live worker holds it.
	if syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB) == nil {
		killed = KillStale(root)
	}
	if err := syscall.Flock(fd, syscall.LOCK_SH); err != nil {
		f.Close()
		return 0, nil, fmt.Errorf("hold the work directory: %w", err)
	}
	return killed, func() { f.Close() }, nil
}
