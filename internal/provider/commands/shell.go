package commands

import (
	"context"
	"io"
	"time"
)

// Shell is a script to run in a process group of its own, for runners that
// write their own scripts (the buildspec runner) but want the same guarantees
// as Run: output streamed in order, everything killed on cancel, no process
// left behind when the shell exits.
type Shell struct {
	Path      string
	Script    string
	Dir       string
	Env       []string
	Log       io.Writer
	KillGrace time.Duration
	// Wrap, when set, runs the shell under another command, such as a sandbox:
	// Wrap[0] is executed with Wrap[1:], then the shell and the script.
	Wrap []string
}

// ShellExit is how a Shell ended.
type ShellExit struct {
	ExitCode       int  // 128+n when signal n killed the shell
	Stopped        bool // ctx ended the run
	OutputLeftOpen bool // a process that left the group still held the output
}

// RunShell runs s and waits until the shell and everything in its process
// group are gone and the output is drained (or given up on after KillGrace).
func RunShell(ctx context.Context, s Shell) (ShellExit, error) {
	if s.KillGrace <= 0 {
		s.KillGrace = DefaultKillGrace
	}
	if s.Log == nil {
		s.Log = io.Discard
	}
	out, err := runShell(ctx, shellRun{shell: s.Path, script: s.Script, dir: s.Dir, env: s.Env, log: s.Log, grace: s.KillGrace, wrap: s.Wrap})
	return ShellExit{ExitCode: out.exitCode, Stopped: out.stopped, OutputLeftOpen: out.outputLeftOpen}, err
}
