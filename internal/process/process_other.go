//go:build !linux

package process

import (
	"context"
	"errors"
	"io"
	"os"
	"time"
)

type shellRun struct {
	shell  string
	script string
	dir    string
	env    []string
	log    io.Writer
	grace  time.Duration
	wrap   []string
	user   *User

	prepared *Prepared
}

// preparedProc needs what runShell needs; see prepared_linux.go.
type preparedProc struct{}

func startPrepared([]string, string, *User, string) (*preparedProc, error) {
	return nil, errors.New("sandbox: only supported on Linux")
}
func (*preparedProc) take() bool  { return false }
func (*preparedProc) alive() bool { return false }
func (*preparedProc) pid() int    { return 0 }
func (*preparedProc) discard()    {}

type shellExit struct {
	exitCode       int
	stopped        bool
	outputLeftOpen bool
}

// runShell needs process groups, Pdeathsig and waitid(WNOWAIT) to keep its
// promise that no process outlives a run; only Linux has all three.
func runShell(context.Context, shellRun) (shellExit, error) {
	return shellExit{}, errors.New("commands: only supported on Linux")
}

// Unreachable needs to run a process as another user; see process_linux.go.
func Unreachable(*User, []string) (string, error) {
	return "", errors.New("commands: only supported on Linux")
}

// ChownTree is Linux-only, as switching users is; see process_linux.go.
func ChownTree(string, uint32, uint32) error {
	return errors.New("commands: only supported on Linux")
}

// ReadOwnFile reads a bookkeeping file a job's shell wrote.
func ReadOwnFile(path string) ([]byte, error) { return os.ReadFile(path) }

// OpenOwnFile opens a bookkeeping file a job's shell wrote.
func OpenOwnFile(path string) (*os.File, error) { return os.Open(path) }

// KillStale does nothing here: sandboxes are bubblewrap's, on Linux only.
func KillStale(root string) int { return 0 }

// KillStaleAlone does nothing here either.
func KillStaleAlone(root string) (int, func(), error) { return 0, func() {}, nil }

// Matching finds nothing here: it reads Linux's /proc.
func Matching(match func(cmdline []byte) bool) []int { return nil }
