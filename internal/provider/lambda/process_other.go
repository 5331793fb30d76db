//go:build !linux

package lambda

import (
	"context"
	"errors"
	"io"
	"os"
	"time"
)

type commandRun struct {
	path    string
	args    []string
	dir     string
	env     []string
	stdin   *os.File
	log     io.Writer
	grace   time.Duration
	timeout time.Duration
	wrap    []string
}

type commandExit struct {
	exitCode int
	stopped  bool
	timedOut bool
}

// runCommand needs process groups, Pdeathsig and waitid(WNOWAIT) to keep its
// promise that nothing a function starts outlives its timeout; only Linux has
// all three. URL functions work everywhere.
func runCommand(context.Context, commandRun) (commandExit, error) {
	return commandExit{}, errors.New("command functions run only on Linux workers")
}
