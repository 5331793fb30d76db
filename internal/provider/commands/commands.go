// Package commands runs the shell lines of a Compute/Commands action.
//
// It knows nothing about pipelines, jobs or the engine: a worker resolves an
// action's configuration into a Spec, calls Run and reports the Result. The
// lines run in one shell session, as CodeBuild runs a buildspec phase, so
// `export` and `cd` in one line are seen by the lines after it.
//
// Errors come in three kinds, so that a worker can tell "the user's commands
// failed" from "sluice failed":
//
//   - *Failure: a command exited non-zero; the remaining commands did not run.
//   - *OutputVariableError: the commands succeeded but did not export a
//     declared output variable.
//   - an error wrapping ctx.Err(): the run was stopped, abandoned or timed out.
//
// Anything else means sluice could not run the commands at all.
package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"github.com/sluice-ci/sluice/internal/process"
)

// DefaultKillGrace is how long a stopped run's processes get between SIGTERM
// and SIGKILL when Spec.KillGrace is zero.
const DefaultKillGrace = process.DefaultKillGrace

// Spec describes one run of an action's commands.
type Spec struct {
	// Dir is the working directory the shell starts in. It is required so
	// that commands never run in the worker's own directory by accident.
	Dir string

	// Commands are shell lines run in order in one shell session. A line may
	// be multi-line text, such as a block scalar from YAML. Each line is
	// checked on its own: the first that exits non-zero ends the run.
	Commands []string

	// Env is the shell's whole environment as KEY=VALUE. Nothing of the
	// worker's environment is added, not even PATH; nil means empty.
	Env []string

	// OutputVariables name environment variables read after the last
	// command. Only exported variables count, as only they are part of the
	// environment; each must be set, or Run fails with
	// *OutputVariableError.
	OutputVariables []string

	// Log receives stdout and stderr of every process, interleaved in the
	// order written, plus a "$ command" line before each command. It is
	// written from one goroutine at a time and never after Run returns.
	// Nil discards the output.
	Log io.Writer

	// Shell is the shell's path, or a name looked up in Env's PATH. Empty
	// means /bin/bash if present, else /bin/sh.
	Shell string

	// KillGrace is how long processes get to exit after SIGTERM when ctx
	// is done, before SIGKILL. It also bounds how long Run waits for the
	// output to close once the shell has exited. Zero means
	// DefaultKillGrace.
	KillGrace time.Duration

	// ScratchDir is an empty private directory, outside Dir, for the script
	// and its bookkeeping files, which Run leaves there. Empty means a new
	// temporary directory, removed when Run returns.
	ScratchDir string

	// Wrap, when set, is the command the shell runs under (a sandbox's
	// bubblewrap, ending in "--"); User, when set, who it runs as (see
	// Shell.Wrap and Shell.User).
	Wrap []string
	User *process.User
	// Prepared, when set, is the sandbox started ahead of the job that the
	// shell runs in, in place of Wrap (see process.Prepared).
	Prepared *process.Prepared
}

// Result is what a successful run produces.
type Result struct {
	// OutputVariables maps each name in Spec.OutputVariables to its value.
	// Values are kept byte for byte, trailing newlines included.
	OutputVariables map[string]string
}

// Run runs spec's commands and waits for them to finish.
//
// When ctx is done, Run sends SIGTERM to every process the shell started,
// SIGKILL after spec.KillGrace, and returns an error for which
// errors.Is(err, ctx.Err()) holds. Processes the commands leave running in
// the background are killed when the shell exits, however it exits.
func Run(ctx context.Context, spec Spec) (Result, error) {
	if err := spec.validate(); err != nil {
		return Result{}, err
	}
	shell, err := spec.shellPath()
	if err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("commands: not started: %w", err)
	}

	// The script and its bookkeeping live outside Dir so that they are not
	// swept into the action's output artifacts, and cannot collide with
	// files the commands make.
	tmp := spec.ScratchDir
	if tmp == "" {
		if tmp, err = os.MkdirTemp("", "sluice-commands-"); err != nil {
			return Result{}, fmt.Errorf("commands: %w", err)
		}
		defer os.RemoveAll(tmp)
	}

	sc := newScript(tmp, spec.Commands, spec.OutputVariables)
	scriptPath := filepath.Join(tmp, "script.sh")
	if err := os.WriteFile(scriptPath, []byte(sc.text()), 0o600); err != nil {
		return Result{}, fmt.Errorf("commands: %w", err)
	}
	if spec.User != nil {
		// The shell reads it, and writes its bookkeeping beside it, as User.
		for _, p := range []string{tmp, scriptPath} {
			if err := os.Chown(p, int(spec.User.UID), int(spec.User.GID)); err != nil {
				return Result{}, fmt.Errorf("commands: %w", err)
			}
		}
	}

	log := spec.Log
	if log == nil {
		log = io.Discard
	}
	grace := spec.KillGrace
	if grace <= 0 {
		grace = DefaultKillGrace
	}
	env := spec.Env
	if env == nil {
		// os/exec gives a nil Env the worker's environment.
		env = []string{}
	}

	out, err := process.RunShell(ctx, process.Shell{
		Path:      shell,
		Script:    scriptPath,
		Dir:       spec.Dir,
		Env:       env,
		Log:       log,
		KillGrace: grace,
		Wrap:      spec.Wrap,
		User:      spec.User,
		Prepared:  spec.Prepared,
	})
	if err != nil {
		return Result{}, err
	}
	// The output copier has finished, so Run may write to log itself.
	if out.OutputLeftOpen {
		fmt.Fprintf(log, "sluice: the output was still open %s after the shell exited; a process that left the process group may still be running\n", grace)
	}

	n := len(spec.Commands)
	index, started := sc.readStatus()
	if out.Stopped {
		if started && index < n {
			return Result{}, fmt.Errorf("commands: stopped during command %d %q: %w", index+1, summary(spec.Commands[index]), ctx.Err())
		}
		return Result{}, fmt.Errorf("commands: stopped: %w", ctx.Err())
	}
	switch {
	case !started:
		return Result{}, fmt.Errorf("commands: shell %s exited with code %d before the first command", shell, out.ExitCode)
	case index < n && out.ExitCode != 0:
		return Result{}, &Failure{Index: index, Command: spec.Commands[index], ExitCode: out.ExitCode}
	case index < n:
		// A line that runs `exit 0` ends the job successfully, as in GitLab
		// CI; the user asked for it, but say so, since it is easy to miss.
		skipped := n - index - 1
		fmt.Fprintf(log, "sluice: command %d exited the shell with code 0; %d later command(s) did not run\n", index+1, skipped)
		if len(spec.OutputVariables) > 0 {
			return Result{}, fmt.Errorf("commands: command %d %q exited the shell before output variables could be read: %w",
				index+1, summary(spec.Commands[index]), &OutputVariableError{Unset: spec.OutputVariables})
		}
		return Result{OutputVariables: map[string]string{}}, nil
	case out.ExitCode != 0:
		// The commands all succeeded, so something ended the shell while it
		// read the output variables: an EXIT trap of the user's calling
		// exit, or a signal from outside.
		return Result{}, fmt.Errorf("commands: shell exited with code %d after the last command succeeded", out.ExitCode)
	}
	return sc.readOutputs()
}

// identifier is what both bash and POSIX sh accept as a variable name.
var identifier = lazyregexp.New(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (s Spec) validate() error {
	if s.Dir == "" {
		return errors.New("commands: no working directory")
	}
	for i, c := range s.Commands {
		// A shell script cannot carry a NUL byte; bash would silently drop
		// it and run something other than what was written.
		if strings.IndexByte(c, 0) >= 0 {
			return fmt.Errorf("commands: command %d contains a NUL byte", i+1)
		}
	}
	for _, name := range s.OutputVariables {
		if !identifier.MatchString(name) {
			return fmt.Errorf("commands: output variable %q is not a valid shell variable name", name)
		}
	}
	return nil
}

func (s Spec) shellPath() (string, error) {
	switch {
	case s.Shell == "":
		if isExecutable("/bin/bash") {
			return "/bin/bash", nil
		}
		return "/bin/sh", nil
	case filepath.IsAbs(s.Shell):
		return s.Shell, nil
	case strings.ContainsRune(s.Shell, '/'):
		return "", fmt.Errorf("commands: shell %q: want an absolute path or a name to look up in PATH", s.Shell)
	}
	// The job's PATH, not the worker's: the shell belongs to the job.
	var path string
	for _, kv := range s.Env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, s.Shell)
		if isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("commands: shell %q not found in the job's PATH", s.Shell)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// readStatus reports the index of the last command the script started, or
// len(commands) once they all succeeded.
func (sc *script) readStatus() (index int, ok bool) {
	b, err := process.ReadOwnFile(sc.statusPath())
	if err != nil {
		return 0, false
	}
	i, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || i < 0 || i > len(sc.commands) {
		return 0, false
	}
	return i, true
}

func (sc *script) readOutputs() (Result, error) {
	res := Result{OutputVariables: make(map[string]string, len(sc.outputs))}
	var verr OutputVariableError
	for i, name := range sc.outputs {
		value, err := process.ReadOwnFile(sc.outputPath(i))
		if errors.Is(err, os.ErrNotExist) {
			verr.Unset = append(verr.Unset, name)
			continue
		}
		if err != nil {
			return Result{}, fmt.Errorf("commands: reading output variable %s: %w", name, err)
		}
		if _, err := os.Stat(sc.exportedPath(i)); err != nil {
			verr.NotExported = append(verr.NotExported, name)
			continue
		}
		res.OutputVariables[name] = string(value)
	}
	if len(verr.Unset) > 0 || len(verr.NotExported) > 0 {
		return Result{}, &verr
	}
	return res, nil
}
