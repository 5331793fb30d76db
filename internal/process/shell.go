package process

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"
)

// DefaultKillGrace is how long a stopped shell's processes get between
// SIGTERM and SIGKILL when Shell.KillGrace is zero.
const DefaultKillGrace = 5 * time.Second

// Shell is a script to run in a process group of its own, for runners that
// write their own scripts (the buildspec runner) but want the same guarantees
// as commands.Run: output streamed in order, everything killed on cancel, no process
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
	// User, when set, runs the shell as that user rather than as sluice's
	// own; only root can ask for it. A shell run directly gets the user's
	// credentials from the kernel as it starts. Under Wrap the switch is made
	// by setpriv (util-linux) run inside the wrapper, right before the shell,
	// so that the wrapper itself keeps the privileges it sets up with (a
	// sandbox's mounts); the wrapper must leave setpriv CAP_SETUID and
	// CAP_SETGID in the real user ids, that is, create no user namespace.
	User *User
	// Prepared, when set, is a sandbox started ahead of the job (see
	// Prepared) that the shell runs in, in place of Wrap; User is still who
	// it runs as. It serves this one shell.
	Prepared *Prepared
}

// User is who a shell runs as: a user id, its primary group and its
// supplementary groups (none when Groups is empty).
type User struct {
	UID, GID uint32
	Groups   []uint32
}

// setprivArgs is the command that switches to u inside a wrapper: real,
// effective and saved ids all change, so the shell cannot switch back, and
// no inheritable capability is left over.
func setprivArgs(setpriv string, u *User) []string {
	args := []string{setpriv, "--reuid=" + strconv.FormatUint(uint64(u.UID), 10), "--regid=" + strconv.FormatUint(uint64(u.GID), 10)}
	if len(u.Groups) == 0 {
		args = append(args, "--clear-groups")
	} else {
		ids := make([]string, len(u.Groups))
		for i, g := range u.Groups {
			ids[i] = strconv.FormatUint(uint64(g), 10)
		}
		args = append(args, "--groups="+strings.Join(ids, ","))
	}
	return append(args, "--inh-caps=-all", "--")
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
	out, err := runShell(ctx, shellRun{shell: s.Path, script: s.Script, dir: s.Dir, env: s.Env, log: s.Log, grace: s.KillGrace, wrap: s.Wrap, user: s.User, prepared: s.Prepared})
	return ShellExit{ExitCode: out.exitCode, Stopped: out.stopped, OutputLeftOpen: out.outputLeftOpen}, err
}
