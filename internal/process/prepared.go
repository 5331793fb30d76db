package process

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/sluice-ci/sluice/internal/sandbox"
	"github.com/sluice-ci/sluice/internal/shellword"
)

// A sandbox costs about 3 ms to start (namespaces, mounts, the accounts
// files), which was most of what sandboxing added to a short action. A
// worker therefore starts the sandbox of its next job ahead of the job, while
// it waits for one or while the current one runs: Prepare starts bubblewrap
// with the shape a job will have — its directory and scratch directory
// (empty, made now), the network or not — and inside it a POSIX shell that
// waits on a pipe. When the job comes, RunShell writes to the pipe the few
// lines that start the job's shell (directory, environment, user, script),
// and the waiting shell sources them and execs the job's: from then on the
// process tree, the exit status, the kill on stop and the output are those
// of a sandbox started cold. The output comes through a FIFO in the scratch
// directory rather than bubblewrap's stdout (see preparedProc), so that a
// job's end does not wait for its namespaces' teardown.
//
// A prepared sandbox holds nothing of a job until it is handed one: the job's
// command and environment reach it only through the pipe, which only the
// worker and the waiting shell hold, and the sandbox's processes are in a
// PID namespace of their own that the running job cannot see. It serves one
// job and is never reused: the job's end (bubblewrap's, the PID namespace's
// init, exiting) kills everything it left.

// waitStub is what the prepared sandbox runs, with the FIFO as $1: make it
// stdout and stderr, say so on fd 4, then source the start lines from fd 3
// (dash keeps the file it sources on a descriptor of 10 or more, closed on
// exec), and fail with 125 when the worker closes the pipe without them.
const waitStub = "exec >\"$1\" 2>&1 || exit 124\nprintf r >&4\nexec 4>&-\n. /dev/fd/3\nexit 125\n"

// Prepared is a job's sandbox started ahead of its job.
type Prepared struct {
	// Root is the job's own directory, shown read-write, with its HOME
	// (home) and workspace (src) made in it; Scratch its scratch directory.
	Root, Scratch string
	// Network says whether the sandbox has the host's network.
	Network bool

	iso    *sandbox.Isolation
	home   string
	user   *User
	remove func() // the accounts files
	proc   *preparedProc
}

// Home is the job's private HOME.
func (p *Prepared) Home() string { return p.home }

// Prepare starts the sandbox of a job to come. root (empty, or holding
// only an empty home and src a job left as it found them) becomes the
// job's own directory and scratch (empty) its scratch directory; network
// whether it has the host's network. Hand it to its job with Job, and end it
// with Discard, whether it ran a job or not.
func Prepare(iso *sandbox.Isolation, root, scratch string, network bool) (*Prepared, error) {
	if !iso.Enabled() {
		return nil, fmt.Errorf("sandbox: no sandbox to prepare (%s)", iso.Describe())
	}
	p := &Prepared{Root: root, Scratch: scratch, Network: network, iso: iso, home: filepath.Join(root, "home")}
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{p.home, 0o700}, {filepath.Join(root, "src"), 0o755}} {
		err := os.Mkdir(d.path, d.mode)
		if os.IsExist(err) {
			// Kept from a job that left it empty: a directory, not a link.
			if fi, lerr := os.Lstat(d.path); lerr == nil && fi.IsDir() {
				err = nil
			}
		}
		if err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
	}
	passwd, group, remove, err := iso.WriteAccounts(p.home)
	if err != nil {
		return nil, err
	}
	p.remove = remove
	if iso.Root() {
		// As process.Sandbox does for a job started cold: the job's user
		// owns what it writes, and passes through root.
		if err := giveToJob(root, []string{p.home, filepath.Join(root, "src"), scratch}); err != nil {
			remove()
			return nil, err
		}
		p.user = &User{UID: sandbox.BuildUID, GID: sandbox.BuildGID}
	}
	args := iso.Args(sandbox.Spec{Binds: []string{root, scratch}, Network: network, Passwd: passwd, Group: group})
	if p.user != nil {
		// The waiting shell is the job's user already: setpriv costs a
		// millisecond and a half, which is no longer on the job's path.
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			remove()
			return nil, fmt.Errorf("sandbox: running as uid %d in the sandbox needs setpriv (util-linux), which is not installed: %w", p.user.UID, err)
		}
		args = append(args, setprivArgs(setpriv, p.user)...)
	}
	args = append(args, "/bin/sh", "-c", waitStub, "sh")
	if p.proc, err = startPrepared(args, root, p.user, filepath.Join(scratch, ".sluice-output")); err != nil {
		remove()
		return nil, err
	}
	return p, nil
}

// Job hands the sandbox to its job: owned (the job's directories in Root
// it writes, such as inputs unpacked since Prepare) become its user's, and
// env its environment, with its private HOME. The JobSandbox runs one shell
// (RunShell) and cannot be handed to another job.
func (p *Prepared) Job(owned, env []string) (*JobSandbox, error) {
	if !p.proc.take() {
		return nil, fmt.Errorf("sandbox: the prepared sandbox was handed a job already, or is gone")
	}
	if p.user != nil {
		if err := giveToJob(p.Root, owned); err != nil {
			return nil, err
		}
	}
	return &JobSandbox{Prepared: p, User: p.user, Env: p.iso.Env(env, p.home), Home: p.home, Close: func() {}}, nil
}

// Alive reports whether the sandbox still waits for its job; one whose
// bubblewrap failed or was killed is no use.
func (p *Prepared) Alive() bool { return p.proc.alive() }

// Discard ends the sandbox: it kills what still runs in it (the waiting
// shell when it had no job) and waits for it, and removes the accounts
// files. The job's directories are the caller's to remove.
func (p *Prepared) Discard() {
	p.proc.discard()
	if p.remove != nil {
		p.remove()
	}
}

// PID is bubblewrap's process id, for tests that make sure it is gone.
func (p *Prepared) PID() int { return p.proc.pid() }

// startLines are what the waiting shell sources to start the job's shell:
// its descriptor to the pipe closed, the job's directory, the job's
// environment and nothing else, and an exec of the shell. The environment
// is set by the waiting shell itself, which saves an exec: it started with
// none, and once its own PWD and OLDPWD are unset it passes on exactly what
// it exports. A name the shell cannot export (not an identifier, or one it
// treats specially: shellSpecial) makes it go through env(1) (envPath)
// instead.
func startLines(envPath func() (string, error), dir string, env, shellArgs []string) ([]byte, error) {
	var b strings.Builder
	b.WriteString("exec 3<&-\n")
	b.WriteString("cd -- " + shellword.Quote(dir) + " || exit 126\n")
	b.WriteString("unset PWD OLDPWD\n")
	exports := true
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		exports = exports && identifier(name) && !shellSpecial[name]
	}
	if exports {
		for _, kv := range env {
			name, value, _ := strings.Cut(kv, "=")
			b.WriteString("export " + name + "=" + shellword.Quote(value) + "\n")
		}
		b.WriteString("exec")
	} else {
		path, err := envPath()
		if err != nil {
			return nil, err
		}
		b.WriteString("exec " + shellword.Quote(path) + " -i --")
		for _, kv := range env {
			b.WriteString(" " + shellword.Quote(kv))
		}
	}
	for _, a := range shellArgs {
		b.WriteString(" " + shellword.Quote(a))
	}
	b.WriteString("\nexit 126\n")
	return []byte(b.String()), nil
}

// shellSpecial are names the waiting shell does not export as given: dash
// refuses an OPTIND that is not a number ("Illegal number", the shell
// exits), and a bash as /bin/sh refuses its read-only variables. The job's
// shell may take them (bash resets OPTIND and keeps the environment's
// value for its children), so they go through env(1).
var shellSpecial = map[string]bool{
	"OPTIND": true, "PPID": true, "UID": true, "EUID": true, "SHELLOPTS": true, "BASHOPTS": true, "BASH_VERSINFO": true,
}

// identifier reports whether name is a shell variable name.
func identifier(name string) bool {
	for i, c := range name {
		if c != '_' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return name != ""
}
