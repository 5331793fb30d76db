// Package sandbox decides how code that actions run (Commands, builds,
// command functions, rule function targets) is isolated from the machine
// that runs it, and builds the bubblewrap command that does it.
//
// The job sees a made-up root: the system directories it needs to run tools
// (read-only), a fresh /proc of its own PID namespace, a minimal /dev, empty
// /tmp, /var/tmp and /run, and the directories it was given (its workspace,
// inputs, scratch, HOME) read-write at their own paths. The data directory,
// /root, /home, other jobs and every process outside the sandbox are absent.
// bwrap is the PID namespace's init: when it dies (the job ends, or the worker
// dies and --die-with-parent kills it) the kernel kills everything in the
// namespace, daemons that left the process group included.
//
// When the worker runs as root, the job does not: bwrap creates no user
// namespace (which would map the job's root to the host's, able to read
// 0600 files of root through CAP_DAC_OVERRIDE), and the caller switches to
// BuildUser with setpriv inside it. As any other user, bwrap's user
// namespace maps that user to itself.
package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Isolation modes, as --isolation takes them.
const (
	// Auto isolates with bubblewrap where it works and refuses to run user
	// code where it does not.
	Auto = "auto"
	// Bubblewrap is Auto that also refuses to start without it.
	Bubblewrap = "bubblewrap"
	// None runs user code directly as the worker's user: the operator's
	// explicit choice, said at start and in the console.
	None = "none"
)

// BuildUID and BuildGID are who a job runs as when the worker is root: a
// fixed id no account of a usual system has, so that it owns nothing on the
// host but what sluice gives it (the job's own directories).
const (
	BuildUID  = 65533
	BuildGID  = 65533
	BuildName = "sluice-build"
)

// Isolation is a worker's decision, made once at start.
type Isolation struct {
	// Mode is the configured mode (Auto, Bubblewrap or None).
	Mode string
	// bwrap is the path of a bubblewrap that works here, "" when none does.
	bwrap string
	// reason says why none works.
	reason string
	// hide are directories (the data directory) covered by an empty tmpfs
	// when they lie under a directory the sandbox shows.
	hide []string
	root bool
}

// New decides the isolation for mode ("" means Auto). bwrap is the
// bubblewrap to use, "" to look it up in PATH. hide lists directories the
// sandbox must never show, such as the data directory. It fails only for an
// unknown mode, or for Bubblewrap when bubblewrap does not work here.
func New(mode, bwrap string, hide ...string) (*Isolation, error) {
	mode = strings.ToLower(strings.TrimSpace(mode))
	if mode == "" {
		mode = Auto
	}
	i := &Isolation{Mode: mode, root: os.Geteuid() == 0}
	for _, h := range hide {
		if h == "" {
			continue
		}
		if abs, err := filepath.Abs(h); err == nil {
			i.hide = append(i.hide, abs)
		}
	}
	switch mode {
	case None:
		return i, nil
	case Auto, Bubblewrap:
	default:
		return nil, fmt.Errorf("isolation %q: want %s, %s or %s", mode, Auto, Bubblewrap, None)
	}
	i.bwrap, i.reason = Detect(bwrap)
	if i.bwrap == "" && mode == Bubblewrap {
		return nil, fmt.Errorf("isolation bubblewrap: %s", i.reason)
	}
	return i, nil
}

// Enabled reports whether user code runs in a sandbox.
func (i *Isolation) Enabled() bool { return i != nil && i.bwrap != "" }

// Check is nil when user code may run here: isolated, or unisolated because
// the operator said --isolation none. Otherwise it is the job's failure.
func (i *Isolation) Check() error {
	if i == nil || i.Enabled() || i.Mode == None {
		return nil
	}
	return fmt.Errorf("this worker cannot isolate the action's code (%s), so it does not run it; install bubblewrap, or start the worker with --isolation none to run actions unsandboxed", i.reason)
}

// Describe says in a line which isolation is in force.
func (i *Isolation) Describe() string {
	switch {
	case i == nil || i.Mode == None:
		return "none (--isolation none): actions run unsandboxed as the server's user"
	case i.Enabled():
		s := "bubblewrap (" + i.bwrap + ")"
		if i.root {
			s += ", jobs run as uid " + strconv.Itoa(BuildUID)
		}
		return s
	default:
		return "unavailable (" + i.reason + "): actions that run code are refused; start with --isolation none to run them unsandboxed"
	}
}

// Root reports whether jobs must be switched to BuildUser inside the
// sandbox: the worker is root and bwrap creates no user namespace.
func (i *Isolation) Root() bool { return i.Enabled() && i.root }

var detected sync.Map // bwrap path asked for -> detection

type detection struct{ path, reason string }

// Detect finds bubblewrap (bwrap, "" to look it up in PATH) and makes sure
// it can build a sandbox here, by starting one once: a bwrap that is
// installed but cannot create namespaces (user namespaces off, a container
// without the privileges) is no use. It returns the path, or "" and why not.
func Detect(bwrap string) (string, string) {
	if d, ok := detected.Load(bwrap); ok {
		return d.(detection).path, d.(detection).reason
	}
	path, reason := detect(bwrap)
	detected.Store(bwrap, detection{path, reason})
	return path, reason
}

func detect(bwrap string) (string, string) {
	name := bwrap
	if name == "" {
		name = "bwrap"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", "bubblewrap (bwrap) is not installed"
	}
	root := os.Geteuid() == 0
	if root {
		if _, err := exec.LookPath("setpriv"); err != nil {
			return "", "setpriv (util-linux), which a sandbox started as root needs, is not installed"
		}
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		truePath = "/bin/true"
	}
	args := (&Isolation{bwrap: path, root: root}).view(Spec{})
	cmd := exec.Command(path, append(args[1:], truePath)...)
	cmd.Env = []string{}
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if msg == "" {
			msg = err.Error()
		}
		return "", path + " cannot create a sandbox here: " + msg
	}
	return path, ""
}

// Spec is one sandbox: what the job is given.
type Spec struct {
	// Binds are directories shown read-write at their own paths: the
	// workspace, inputs, scratch, HOME.
	Binds []string
	// ReadOnly are further directories shown read-only at their own paths.
	ReadOnly []string
	// Network keeps the host's network; without it the job has only a
	// loopback of its own.
	Network bool
	// Passwd and Group, when set, are files shown as /etc/passwd and
	// /etc/group (see WriteAccounts).
	Passwd, Group string
}

// systemDirs are what a job needs to run tools, shown read-only when they
// exist; a link (/bin -> usr/bin) is made again as a link.
var systemDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/nix", "/snap", "/run/systemd/resolve"}

// Args is the command a job's program runs under: bwrap and its arguments,
// ending in "--". Nil when user code runs unsandboxed.
func (i *Isolation) Args(s Spec) []string {
	if !i.Enabled() {
		return nil
	}
	return i.view(s)
}

func (i *Isolation) view(s Spec) []string {
	args := []string{i.bwrap}
	if i.root {
		// No user namespace: setpriv, run inside, switches to BuildUser and
		// keeps no capability. Every other namespace is the job's own.
		args = append(args, "--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try")
		if !s.Network {
			args = append(args, "--unshare-net")
		}
	} else {
		args = append(args, "--unshare-all")
		if s.Network {
			args = append(args, "--share-net")
		}
	}
	args = append(args, "--die-with-parent", "--new-session")
	var shown []string
	for _, d := range systemDirs {
		fi, err := os.Lstat(d)
		switch {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			if target, err := os.Readlink(d); err == nil {
				args = append(args, "--symlink", target, d)
			}
		case fi.IsDir():
			if strings.HasPrefix(d, "/run/") {
				continue // added after /run's tmpfs
			}
			args = append(args, "--ro-bind", d, d)
			shown = append(shown, d)
		}
	}
	if s.Passwd != "" {
		args = append(args, "--ro-bind", s.Passwd, "/etc/passwd")
	}
	if s.Group != "" {
		args = append(args, "--ro-bind", s.Group, "/etc/group")
	}
	args = append(args, "--proc", "/proc", "--dev", "/dev",
		"--perms", "1777", "--tmpfs", "/tmp",
		"--perms", "1777", "--tmpfs", "/var/tmp",
		"--perms", "0755", "--tmpfs", "/run")
	if fi, err := os.Stat("/run/systemd/resolve"); err == nil && fi.IsDir() {
		// /etc/resolv.conf links here on systemd machines.
		args = append(args, "--ro-bind", "/run/systemd/resolve", "/run/systemd/resolve")
	}
	made := map[string]bool{"/": true, "/tmp": true, "/var/tmp": true, "/run": true, "/dev": true}
	var covered []string
	for _, h := range i.hide {
		if shownUnder(h, shown) {
			args = append(args, "--perms", "0755", "--tmpfs", h)
			covered = append(covered, h)
			made[h] = true
		}
	}
	dirs := func(p string) {
		// bubblewrap would make the directories down to a bind without
		// search permission for others, which BuildUser needs. Those of
		// a shown directory exist already, unless a cover hides them.
		for _, d := range parents(p) {
			if made[d] || shownUnder(d, shown) && !shownUnder(d, covered) {
				continue
			}
			made[d] = true
			args = append(args, "--perms", "0755", "--dir", d)
		}
	}
	for _, b := range s.ReadOnly {
		dirs(b)
		args = append(args, "--ro-bind", b, b)
	}
	for _, b := range s.Binds {
		dirs(b)
		args = append(args, "--bind", b, b)
		made[b] = true
	}
	return append(args, "--")
}

func shownUnder(d string, shown []string) bool {
	for _, s := range shown {
		if under(d, s) {
			return true
		}
	}
	return false
}

// parents lists the directories above p, from the root down.
func parents(p string) []string {
	var out []string
	for d := filepath.Dir(p); ; d = filepath.Dir(d) {
		out = append([]string{d}, out...)
		if d == filepath.Dir(d) {
			return out
		}
	}
}

// under reports whether p is dir or inside it.
func under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// Env is the environment of a sandboxed job made from base (the worker's
// chosen variables and the job's own): HOME is the job's private one, TMPDIR
// the sandbox's /tmp, USER and LOGNAME who the job runs as.
func (i *Isolation) Env(base []string, home string) []string {
	out := make([]string, 0, len(base)+3)
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME", "TMPDIR", "USER", "LOGNAME":
			continue
		}
		out = append(out, kv)
	}
	if home != "" {
		out = append(out, "HOME="+home)
	}
	if i.Root() {
		out = append(out, "USER="+BuildName, "LOGNAME="+BuildName)
	}
	return out
}

// WriteAccounts writes the /etc/passwd and /etc/group a job sees: the
// host's, with the job's user's entry having home as its home (ssh and git
// look there, not at $HOME), and, for a root worker, BuildUser added. They go
// into a directory of their own, never one the job can write: bubblewrap
// follows links there with the worker's privileges. It returns their paths
// for Spec, and a function that removes them once bubblewrap has started.
func (i *Isolation) WriteAccounts(home string) (passwd, group string, remove func(), err error) {
	uid, gid := os.Getuid(), os.Getgid()
	name := ""
	if i.Root() {
		uid, gid, name = BuildUID, BuildGID, BuildName
	}
	hostPasswd, _ := os.ReadFile("/etc/passwd")
	hostGroup, _ := os.ReadFile("/etc/group")
	var pw strings.Builder
	for _, line := range strings.Split(strings.TrimRight(string(hostPasswd), "\n"), "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 7 && f[2] == strconv.Itoa(uid) {
			if name == "" {
				name = f[0]
			}
			continue
		}
		if line != "" {
			pw.WriteString(line + "\n")
		}
	}
	if name == "" {
		name = BuildName
	}
	fmt.Fprintf(&pw, "%s:x:%d:%d:sluice job:%s:/bin/sh\n", name, uid, gid, home)
	gr := string(hostGroup)
	if i.Root() && !strings.Contains(gr, ":"+strconv.Itoa(BuildGID)+":") {
		gr = strings.TrimRight(gr, "\n") + "\n" + fmt.Sprintf("%s:x:%d:\n", BuildName, BuildGID)
	}
	dir, err := os.MkdirTemp(accountsRoot(), "sluice-accounts-")
	if err != nil {
		return "", "", nil, fmt.Errorf("sandbox: %w", err)
	}
	remove = func() { os.RemoveAll(dir) }
	passwd, group = filepath.Join(dir, "passwd"), filepath.Join(dir, "group")
	if err := os.WriteFile(passwd, []byte(pw.String()), 0o644); err != nil {
		remove()
		return "", "", nil, fmt.Errorf("sandbox: %w", err)
	}
	if err := os.WriteFile(group, []byte(gr), 0o644); err != nil {
		remove()
		return "", "", nil, fmt.Errorf("sandbox: %w", err)
	}
	return passwd, group, remove, nil
}

// accountsRoot is where WriteAccounts makes its directory: a memory file
// system when the machine has one (each directory made and removed on some
// virtual disks costs a millisecond, per sandboxed job), else TMPDIR.
func accountsRoot() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() && fi.Mode()&os.ModeSticky != 0 {
		return "/dev/shm"
	}
	return ""
}

// switchArgs is setpriv's command that makes a root worker's job BuildUID,
// for tests that start a sandbox by hand.
func (i *Isolation) switchArgs() []string {
	if !i.Root() {
		return nil
	}
	return []string{"setpriv", "--reuid=" + strconv.Itoa(BuildUID), "--regid=" + strconv.Itoa(BuildGID), "--clear-groups", "--inh-caps=-all", "--"}
}
