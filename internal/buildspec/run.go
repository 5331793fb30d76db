package buildspec

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"github.com/sluice-ci/sluice/internal/process"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// RunConfig is what Run needs besides the buildspec.
type RunConfig struct {
	Dir           string            // CODEBUILD_SRC_DIR: the primary source, already extracted
	SecondaryDirs map[string]string // CODEBUILD_SRC_DIR_<id>
	Env           []string          // base environment (PATH, HOME...), KEY=VALUE
	Variables     map[string]string // project/pipeline env vars, override the buildspec's env.variables
	// Secrets maps a variable to its resolved value. They are only passed
	// on as environment; masking them in the log is the caller's job.
	Secrets map[string]string

	// The CODEBUILD_ variables of the same names. BuildID is
	// PROJECT:UUID, BuildARN the build's ARN, BuildNumber the project's
	// count of builds, Initiator codepipeline/PIPELINE for a pipeline's
	// builds.
	BuildID, BuildARN, BuildNumber, Initiator, SourceVersion, ResolvedSourceVersion string
	// Region is AWS_REGION and AWS_DEFAULT_REGION: the region the build
	// runs in. Empty sets neither. The buildspec's variables may override
	// them, as they override any variable of the image.
	Region string

	// ScratchDir is a private directory, outside Dir, for scripts and
	// status files. Empty means a temporary directory removed by Run.
	ScratchDir string
	Log        io.Writer // phase markers + command output; nil discards
	// Sandbox, when set, is the command every phase's shell runs under (a
	// bubblewrap invocation ending in "--").
	Sandbox []string
	// SandboxAs, needed when Sandbox is set and the buildspec has run-as, is
	// the command the phases of a run-as user run under instead: it must let
	// that user reach the build's directories and leave setpriv, which
	// switches to the user inside it, the privileges to do so (see
	// process.Shell.User).
	SandboxAs func(a *Account) ([]string, error)
	// Owned lists the build's own trees besides Dir and the scratch
	// directory, such as its private HOME, that a run-as user is given
	// before its phases. Never the worker's own HOME.
	Owned []string
	// KillGrace is how long processes get between SIGTERM and SIGKILL when
	// ctx ends; zero means 5s.
	KillGrace time.Duration
	// DefaultAccount, when set, is who phases without run-as run as (and
	// run-as of sluice's own user): a sandbox started by root runs builds
	// as an unprivileged account, never as root.
	DefaultAccount *Account
}

// Phase statuses.
const (
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
)

// PhaseResult is one step the build reached. A StepUploadArtifacts entry
// has an empty Status: Run does not upload, the caller does.
type PhaseResult struct {
	Step     Step
	Status   string // SUCCEEDED, FAILED, or "" for UPLOAD_ARTIFACTS
	Message  string // why it failed
	Duration time.Duration
}

// Result is the outcome of a build's phases.
type Result struct {
	Succeeded         bool
	Phases            []PhaseResult
	ExportedVariables map[string]string
	// Message is the first failure, e.g.
	// `phase BUILD: command "make test" exited with code 2`.
	Message string
}

const defaultKillGrace = 5 * time.Second

// Run runs spec's phases with CodeBuild's phase transitions. The error is
// only for sluice failing to run the build at all; a failing build is a
// Result with Succeeded false. When ctx ends, every process is killed and
// the Result says the build was stopped or timed out.
//
// In version 0.2 the phases share one shell session as far as exported
// variables, the working directory and plain (non-exported) shell variables
// go (bash only for the latter): each phase runs in a shell of its own
// that starts from the state the previous phase's shell left. Shell
// functions, options (set -e, pipefail) and traps do not carry from one
// phase to the next. Within a phase everything is shared. In version 0.1
// every command runs in a subshell of its own, so nothing carries over.
func Run(ctx context.Context, spec *Spec, cfg RunConfig) (Result, error) {
	if spec == nil {
		return Result{}, errors.New("buildspec: no spec")
	}
	if cfg.Dir == "" {
		return Result{}, errors.New("buildspec: no source directory")
	}
	shell, err := shellFor(spec.Env.Shell)
	if err != nil {
		return Result{}, err
	}
	users, err := resolveRunAs(spec, os.Geteuid(), LookupAccount)
	if err != nil {
		return Result{}, err
	}
	if cfg.DefaultAccount != nil {
		for _, n := range PhaseNames {
			if users[n] == nil {
				users[n] = cfg.DefaultAccount
			}
		}
	}
	scratch := cfg.ScratchDir
	if scratch == "" {
		if scratch, err = os.MkdirTemp("", "sluice-build-"); err != nil {
			return Result{}, fmt.Errorf("buildspec: %w", err)
		}
		defer os.RemoveAll(scratch)
	}
	log := cfg.Log
	if log == nil {
		log = io.Discard
	}
	grace := cfg.KillGrace
	if grace <= 0 {
		grace = defaultKillGrace
	}
	r := &runner{
		ctx:     ctx,
		spec:    spec,
		cfg:     cfg,
		shell:   shell,
		bash:    filepath.Base(shell) == "bash",
		scratch: scratch,
		log:     log,
		grace:   grace,
		env:     initialEnv(spec, cfg, time.Now()),
		dir:     cfg.Dir,
		users:   users,
		owner:   int64(os.Geteuid()), // sluice made the trees
	}
	if err := r.checkReach(); err != nil {
		return Result{}, err
	}
	return r.run()
}

func shellFor(s string) (string, error) {
	switch s {
	case "", "bash", "/bin/bash":
		if isExec("/bin/bash") {
			return "/bin/bash", nil
		}
		if s == "" {
			return "/bin/sh", nil
		}
		return "", fmt.Errorf("buildspec: env.shell %s: /bin/bash not found", s)
	case "sh", "/bin/sh":
		return "/bin/sh", nil
	}
	return "", fmt.Errorf("buildspec: env.shell %q is not supported here (bash or /bin/sh)", s)
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// envList is an environment that keeps the order variables were first set in.
type envList struct {
	keys []string
	vals map[string]string
}

func (e *envList) set(k, v string) {
	if e.vals == nil {
		e.vals = map[string]string{}
	}
	if _, ok := e.vals[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[k] = v
}

func (e *envList) setMap(m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e.set(k, m[k])
	}
}

func (e *envList) list() []string {
	out := make([]string, 0, len(e.keys))
	for _, k := range e.keys {
		out = append(out, k+"="+e.vals[k])
	}
	return out
}

func initialEnv(spec *Spec, cfg RunConfig, start time.Time) *envList {
	e := &envList{}
	for _, kv := range cfg.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			e.set(k, v)
		}
	}
	if cfg.Region != "" {
		e.set("AWS_DEFAULT_REGION", cfg.Region)
		e.set("AWS_REGION", cfg.Region)
	}
	e.setMap(spec.Env.Variables)
	e.setMap(cfg.Variables)
	e.setMap(cfg.Secrets)
	e.set("CODEBUILD_SRC_DIR", cfg.Dir)
	ids := make([]string, 0, len(cfg.SecondaryDirs))
	for id := range cfg.SecondaryDirs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		e.set("CODEBUILD_SRC_DIR_"+id, cfg.SecondaryDirs[id])
	}
	e.set("CODEBUILD_BUILD_ID", cfg.BuildID)
	if cfg.BuildARN != "" {
		e.set("CODEBUILD_BUILD_ARN", cfg.BuildARN)
	}
	e.set("CODEBUILD_BUILD_NUMBER", cfg.BuildNumber)
	e.set("CODEBUILD_INITIATOR", cfg.Initiator)
	e.set("CODEBUILD_SOURCE_VERSION", cfg.SourceVersion)
	e.set("CODEBUILD_RESOLVED_SOURCE_VERSION", cfg.ResolvedSourceVersion)
	e.set("CODEBUILD_START_TIME", strconv.FormatInt(start.UnixMilli(), 10))
	e.set("CODEBUILD_BUILD_SUCCEEDING", Succeeding(false))
	e.set("SLUICE_BUILD", "1")
	return e
}

type runner struct {
	ctx     context.Context
	spec    *Spec
	cfg     RunConfig
	shell   string
	bash    bool
	scratch string
	log     io.Writer
	grace   time.Duration

	// env and dir are what the first phase starts with.
	env *envList
	dir string
	// state is the file the last phase dumped its shell state to, or "".
	state string
	// exported holds env.exported-variables as last read.
	exported map[string]string
	seq      int

	// users maps each phase to the run-as account it runs as, or nil for
	// sluice's own user.
	users map[PhaseName]*Account
	// owner is the uid the build's trees belong to (see prepareFor).
	owner int64
	// readable is set once the secondary sources are readable by all.
	readable bool
}

// checkReach makes sure, when phases run directly (not sandboxed) as a
// run-as user, that the user can enter every directory above the build's
// own, before any command runs. A sandbox makes its own view of them.
func (r *runner) checkReach() error {
	if len(r.cfg.Sandbox) > 0 {
		return nil
	}
	trees := append([]string{r.cfg.Dir, r.scratch}, r.cfg.Owned...)
	for _, d := range r.cfg.SecondaryDirs {
		trees = append(trees, d)
	}
	above := ancestors(trees...)
	checked := map[uint32]bool{}
	for _, n := range PhaseNames {
		a := r.users[n]
		if a == nil || checked[a.UID] {
			continue
		}
		checked[a.UID] = true
		blocked, err := process.Unreachable(a.user(), above)
		if err != nil {
			return fmt.Errorf("buildspec: run-as %s: %w", a.Name, err)
		}
		if blocked != "" {
			line, path := r.spec.RunAsLine, ""
			if p := r.spec.Phases.Get(n); p.RunAs != "" {
				line, path = p.RunAsLine, "phases."+string(n)
			}
			return &yamlnode.Error{File: r.spec.File, Line: line, Path: path, Msg: fmt.Sprintf(
				"run-as %s: %s cannot enter %s, above the build's directories; let it through (setfacl -m u:%s:x %s, or chmod o+x %s) or run the build isolated",
				a.Name, a.Name, blocked, a.Name, blocked, blocked)}
		}
	}
	return nil
}

// prepareFor gives the build's trees to the user a phase runs as, a or,
// when a is nil, sluice's own: before each phase they belong to its user, as
// CodeBuild grants the run-as user access to them. That matters for sluice's
// own user too when it is root in a sandbox's user namespace, which cannot
// override the permissions of files a run-as user left. The trees are walked
// only when the user changes.
func (r *runner) prepareFor(a *Account) error {
	to := &Account{Name: "sluice's own user", UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}
	if a != nil {
		to = a
		if !r.readable {
			var dirs []string
			for _, d := range r.cfg.SecondaryDirs {
				dirs = append(dirs, d)
			}
			if err := makeReadable(dirs...); err != nil {
				return err
			}
			r.readable = true
		}
	}
	if r.owner == int64(to.UID) {
		return nil
	}
	if err := handOver(to, append([]string{r.cfg.Dir, r.scratch}, r.cfg.Owned...)...); err != nil {
		return err
	}
	r.owner = int64(to.UID)
	if a != nil {
		r.marker("Running commands as %s", a)
	}
	return nil
}

func (r *runner) marker(format string, args ...any) {
	fmt.Fprintf(r.log, "[Container] %s %s\n", time.Now().Format("2006/01/02 15:04:05"), fmt.Sprintf(format, args...))
}

func (r *runner) run() (Result, error) {
	res := Result{ExportedVariables: map[string]string{}}
	anyFailed := false
	fail := func(msg string) {
		anyFailed = true
		if res.Message == "" {
			res.Message = msg
		}
	}
	if p := r.spec.Phases.Install; p != nil && len(p.RuntimeVersions) > 0 {
		r.marker("Warning: runtime-versions are ignored: sluice has no managed runtimes to select")
	}
	for step := StepInstall; step != StepFinalizing; {
		if step == StepUploadArtifacts {
			res.Phases = append(res.Phases, PhaseResult{Step: step})
			break
		}
		phase := r.phaseFor(step)
		if phase == nil || (len(phase.Commands) == 0 && len(phase.Finally) == 0) {
			step = Next(step, false, DefaultTransition)
			continue
		}
		pr, stopped, err := r.runPhase(step, phase, anyFailed)
		if err != nil {
			return Result{}, err
		}
		res.Phases = append(res.Phases, pr)
		if stopped != "" {
			fail(stopped)
			break
		}
		failed := pr.Status == StatusFailed
		if failed {
			fail("phase " + string(step) + ": " + pr.Message)
		}
		action := phase.OnFailure.Action
		if action == Retry {
			// Retries are exhausted by now: the default transitions apply.
			action = DefaultTransition
		}
		step = Next(step, failed, action)
	}
	for _, name := range r.spec.Env.ExportedVariables {
		res.ExportedVariables[name] = r.exported[name]
	}
	res.Succeeded = !anyFailed
	return res, nil
}

func (r *runner) phaseFor(s Step) *Phase {
	for _, n := range PhaseNames {
		if StepOf(n) == s {
			return r.spec.Phases.Get(n)
		}
	}
	return nil
}

// runPhase runs a phase, retrying it as its on-failure says. stopped is
// set when ctx ended the build.
func (r *runner) runPhase(step Step, phase *Phase, anyFailed bool) (PhaseResult, string, error) {
	start := time.Now()
	r.marker("Entering phase %s", step)
	retries := 0
	var re *regexp.Regexp
	if phase.OnFailure.Action == Retry {
		retries = phase.OnFailure.Retries
		var err error
		if re, err = regexp.Compile(phase.OnFailure.Pattern); err != nil {
			// Parse has checked it; be safe all the same.
			re = regexp.MustCompile(".*")
		}
	}
	user := r.users[phase.Name]
	if err := r.prepareFor(user); err != nil {
		return PhaseResult{}, "", err
	}
	// A retry starts from the state the phase first started with.
	startState := r.state
	for attempt := 0; ; attempt++ {
		r.state = startState
		out, err := r.attempt(phase, user, anyFailed)
		if err != nil {
			return PhaseResult{}, "", err
		}
		if out.stopped {
			why := "stopped"
			if errors.Is(r.ctx.Err(), context.DeadlineExceeded) {
				why = "timed out"
			}
			msg := "build " + why + " during phase " + string(step)
			r.marker("Phase complete: %s State: FAILED", step)
			r.marker("Phase context status code: CLIENT_ERROR Message: %s", msg)
			return PhaseResult{Step: step, Status: StatusFailed, Message: msg, Duration: time.Since(start)}, msg, nil
		}
		if out.failure == "" {
			r.marker("Phase complete: %s State: SUCCEEDED", step)
			r.marker("Phase context status code:  Message: ")
			return PhaseResult{Step: step, Status: StatusSucceeded, Duration: time.Since(start)}, "", nil
		}
		r.marker("Phase complete: %s State: FAILED", step)
		r.marker("Phase context status code: COMMAND_EXECUTION_ERROR Message: %s", out.codebuildMsg)
		if attempt < retries && re.MatchString(out.codebuildMsg) {
			r.marker("Retrying phase %s (retry %d of %d)", step, attempt+1, retries)
			r.marker("Entering phase %s", step)
			continue
		}
		return PhaseResult{Step: step, Status: StatusFailed, Message: out.failure, Duration: time.Since(start)}, "", nil
	}
}

type attemptResult struct {
	stopped bool
	// failure is sluice's message for the first failing command, e.g.
	// `command "make" exited with code 2`; empty when the phase succeeded.
	failure string
	// codebuildMsg is CodeBuild's: "Error while executing command: make.
	// Reason: exit status 2". RETRY patterns are matched against it.
	codebuildMsg string
}

// attempt runs a phase's commands and then its finally commands in one shell,
// as user when it is set.
//
// A phase of a run-as user shares the build's shell session as any phase
// does, since every phase is a shell of its own that starts from the state
// file the previous one left (see Run): exported and plain variables and the
// working directory flow across a change of user too. Files a phase creates
// belong to its user; before each phase the build's trees are given to the
// phase's user (see prepareFor).
func (r *runner) attempt(phase *Phase, user *Account, anyFailed bool) (attemptResult, error) {
	r.seq++
	dir := filepath.Join(r.scratch, "phase."+strconv.Itoa(r.seq))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return attemptResult{}, fmt.Errorf("buildspec: %w", err)
	}
	sc := phaseScript{
		dir:       dir,
		bash:      r.bash,
		separate:  r.spec.SeparateShells(),
		commands:  phase.Commands,
		finally:   phase.Finally,
		exported:  r.spec.Env.ExportedVariables,
		state:     r.state,
		startDir:  r.dir,
		succeding: Succeeding(anyFailed),
	}
	script := filepath.Join(dir, "script.sh")
	if err := os.WriteFile(script, []byte(sc.text()), 0o600); err != nil {
		return attemptResult{}, fmt.Errorf("buildspec: %w", err)
	}
	wrap := r.cfg.Sandbox
	var as *process.User
	if user != nil {
		if err := handOver(user, dir); err != nil {
			return attemptResult{}, err
		}
		if len(wrap) > 0 {
			if r.cfg.SandboxAs == nil {
				return attemptResult{}, fmt.Errorf("buildspec: run-as %s: the sandbox cannot switch users", user.Name)
			}
			var err error
			if wrap, err = r.cfg.SandboxAs(user); err != nil {
				return attemptResult{}, err
			}
		}
		as = user.user()
	}
	env := r.env.list()
	if r.state != "" {
		// The state file restores the environment the last phase left, so
		// start from nothing: a variable it unset stays unset.
		env = []string{}
	}
	out, err := process.RunShell(r.ctx, process.Shell{
		Path:      r.shell,
		Script:    script,
		Dir:       r.dir,
		Env:       env,
		Log:       r.log,
		KillGrace: r.grace,
		Wrap:      wrap,
		User:      as,
	})
	if err != nil {
		return attemptResult{}, err
	}
	if out.OutputLeftOpen {
		fmt.Fprintf(r.log, "sluice: the output was still open %s after the shell exited; a process that left the process group may still be running\n", r.grace)
	}
	if out.Stopped {
		return attemptResult{stopped: true}, nil
	}
	ev, err := sc.readEvents()
	if err != nil {
		return attemptResult{}, err
	}
	if !r.spec.SeparateShells() {
		if _, err := os.Stat(sc.donePath()); err == nil {
			r.state = sc.statePath()
			if b, err := process.ReadOwnFile(sc.pwdPath()); err == nil {
				if d := strings.TrimSuffix(string(b), "\n"); d != "" {
					r.dir = d
				}
			}
		}
	}
	if vals, ok := sc.readExported(); ok {
		r.exported = vals
	}

	// The first failure decides the phase's message.
	var res attemptResult
	for _, e := range ev.failures {
		cmd := sc.command(e.finally, e.index)
		res.failure = fmt.Sprintf("command %q exited with code %d", summarize(cmd), e.code)
		res.codebuildMsg = fmt.Sprintf("Error while executing command: %s. Reason: exit status %d", strings.TrimRight(cmd, "\n"), e.code)
		break
	}
	if !ev.done && res.failure == "" {
		// The shell ended before the end of the script: `exit`, or `set -e`
		// firing. The command that was running is to blame.
		code := out.ExitCode
		if ev.last == nil {
			res.failure = fmt.Sprintf("shell %s exited with code %d before the first command", r.shell, code)
			res.codebuildMsg = res.failure
		} else {
			cmd := sc.command(ev.last.finally, ev.last.index)
			if code == 0 {
				// `exit 0` in a command ends the phase; CodeBuild would go on, but
				// the commands after it did not run, which the user should see.
				fmt.Fprintf(r.log, "sluice: command %q exited the shell with code 0; the rest of the phase did not run\n", summarize(cmd))
				return res, nil
			}
			res.failure = fmt.Sprintf("command %q exited with code %d", summarize(cmd), code)
			res.codebuildMsg = fmt.Sprintf("Error while executing command: %s. Reason: exit status %d", strings.TrimRight(cmd, "\n"), code)
		}
	}
	return res, nil
}

func summarize(c string) string {
	c = strings.TrimRight(c, "\r\n")
	first, _, cut := strings.Cut(c, "\n")
	if r := []rune(first); len(r) > 80 {
		first, cut = string(r[:80]), true
	}
	if cut {
		first += "…"
	}
	return first
}

// phaseScript is the shell program of one phase attempt. Like the commands
// package's script, it hands each command to eval and checks $? with a plain
// case (never `cmd || ...`, which would turn off a user's set -e), records
// which command it starts in an events file before running it, and uses no
// traps, which belong to the user. Only POSIX sh is used, bar the
// bash-only dump of plain shell variables.
type phaseScript struct {
	dir               string
	bash, separate    bool
	commands, finally []string
	exported          []string
	state             string // state file to restore, or ""
	startDir          string
	succeding         string
}

func (sc *phaseScript) eventsPath() string   { return filepath.Join(sc.dir, "events") }
func (sc *phaseScript) statePath() string    { return filepath.Join(sc.dir, "state.sh") }
func (sc *phaseScript) pwdPath() string      { return filepath.Join(sc.dir, "pwd") }
func (sc *phaseScript) varPath(i int) string { return filepath.Join(sc.dir, "var."+strconv.Itoa(i)) }
func (sc *phaseScript) donePath() string     { return filepath.Join(sc.dir, "vars.done") }

func (sc *phaseScript) command(finally bool, i int) string {
	if finally {
		return sc.finally[i]
	}
	return sc.commands[i]
}

func (sc *phaseScript) text() string {
	var b strings.Builder
	w := func(s string) { b.WriteString(s); b.WriteString("\n") }
	w("# Generated by sluice: one phase of a buildspec.")
	if sc.state != "" {
		// Readonly variables bash sets itself cannot be assigned; that is
		// the only error expected here.
		w(". " + shq(sc.state) + " 2>/dev/null")
		w("cd -- " + shq(sc.startDir) + " || exit 125")
	}
	w("export CODEBUILD_BUILD_SUCCEEDING=" + sc.succeding)
	events := shq(sc.eventsPath())
	w("__sluice_ok=1")
	block := func(kind string, cmds []string, guarded bool) {
		for i, c := range cmds {
			if guarded {
				w("case $__sluice_ok in 1)")
			}
			w("printf '%s\\n' " + shq(kind+" "+strconv.Itoa(i)) + " >> " + events)
			if sc.bash {
				w("printf '[Container] %(%Y/%m/%d %H:%M:%S)T Running command %s\\n' -1 " + shq(strings.TrimRight(c, "\n")))
			} else {
				w("printf '[Container] %s Running command %s\\n' \"$(date '+%Y/%m/%d %H:%M:%S' 2>/dev/null)\" " + shq(strings.TrimRight(c, "\n")))
			}
			if sc.separate {
				w("( eval " + shq(c) + " )")
			} else {
				w("eval " + shq(c))
			}
			w("__sluice_rc=$?")
			w("case $__sluice_rc in 0) ;; *) __sluice_ok=0; printf '%s\\n' " + shq("fail "+kind+" "+strconv.Itoa(i)) + "\" $__sluice_rc\" >> " + events + " ;; esac")
			if guarded {
				w(";; esac")
			}
		}
	}
	block("c", sc.commands, true)
	// finally runs whatever the commands did; each of its commands runs
	// until one fails, as CodeBuild's finally block does.
	w("__sluice_ok=1")
	block("f", sc.finally, true)
	w("printf '%s\\n' done >> " + events)
	w("set +vx")
	if !sc.separate {
		w("pwd >| " + shq(sc.pwdPath()))
		w("export -p >| " + shq(sc.statePath()))
		if sc.bash {
			// Plain shell variables too, as the commands of one session
			// would see them; exported and readonly ones, arrays' specials
			// and bash's own variables are left out. Builtins only: the
			// commands may have changed PATH.
			w("for __sluice_n in $(compgen -v); do")
			w("  case $__sluice_n in BASH*|FUNCNAME|GROUPS|PIPESTATUS|DIRSTACK|RANDOM|SRANDOM|SECONDS|LINENO|EPOCH*|HISTCMD|OPTIND|OPTERR|OPTARG|_|__sluice_*|PWD|OLDPWD|SHLVL|COMP*|IFS|PS[0-9]|PPID|UID|EUID|HOSTNAME|HOSTTYPE|MACHTYPE|OSTYPE|HIST*|MAILCHECK|COLUMNS|LINES) continue ;; esac")
			w("  case ${!__sluice_n@a} in *[xrn]*) continue ;; esac")
			w("  declare -p -- \"$__sluice_n\" 2>/dev/null")
			w("done >> " + shq(sc.statePath()))
		}
	}
	for i, name := range sc.exported {
		if !identifierRE.MatchString(name) {
			continue
		}
		w("if [ -n \"${" + name + "+set}\" ]; then printf '%s' \"$" + name + "\" >| " + shq(sc.varPath(i)) + "; fi")
	}
	w(": >| " + shq(sc.donePath()))
	w("case $__sluice_ok in 1) exit 0 ;; *) exit 1 ;; esac")
	return b.String()
}

var identifierRE = lazyregexp.New(`^[A-Za-z_][A-Za-z0-9_]*$`)

type event struct {
	finally bool
	index   int
	code    int
}

type events struct {
	last     *event // the last command started
	failures []event
	done     bool
}

func (sc *phaseScript) readEvents() (events, error) {
	var ev events
	f, err := process.OpenOwnFile(sc.eventsPath())
	if errors.Is(err, os.ErrNotExist) {
		return ev, nil
	}
	if err != nil {
		return ev, fmt.Errorf("buildspec: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fs := strings.Fields(s.Text())
		switch {
		case len(fs) == 1 && fs[0] == "done":
			ev.done = true
		case len(fs) == 2:
			i, _ := strconv.Atoi(fs[1])
			ev.last = &event{finally: fs[0] == "f", index: i}
		case len(fs) == 4 && fs[0] == "fail":
			i, _ := strconv.Atoi(fs[2])
			code, _ := strconv.Atoi(fs[3])
			ev.failures = append(ev.failures, event{finally: fs[1] == "f", index: i, code: code})
		}
	}
	return ev, s.Err()
}

// readExported returns env.exported-variables as the phase's shell left
// them, or false if the shell ended before it could write them.
func (sc *phaseScript) readExported() (map[string]string, bool) {
	if _, err := os.Stat(sc.donePath()); err != nil {
		return nil, false
	}
	vals := map[string]string{}
	for i, name := range sc.exported {
		if b, err := process.ReadOwnFile(sc.varPath(i)); err == nil {
			vals[name] = string(b)
		}
	}
	return vals, true
}

func shq(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
