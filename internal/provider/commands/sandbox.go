package commands

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sluice-ci/sluice/internal/sandbox"
)

// JobSandbox is how one job's process runs in the worker's sandbox.
type JobSandbox struct {
	Args []string // bubblewrap's command, ending in "--"
	User *User    // who the process runs as inside it; nil for the worker's user
	Env  []string // the job's environment, with its private HOME
	Home string
}

// SwitchArgs is setpriv's command that makes the process b.User, for
// wrappers other than RunShell; nil when it runs as the worker's user.
func (b *JobSandbox) SwitchArgs() []string {
	if b.User == nil {
		return nil
	}
	return setprivArgs("setpriv", b.User)
}

// Sandbox makes the sandbox of a job whose own directory is root (workspace,
// inputs, outputs; a private HOME is made in it) and whose scratch directory
// is scratch, both read-write; readOnly are shown as they are; the network
// when network is set. env is the job's environment. When the worker is
// root, root and scratch are given to sandbox.BuildUID, who the process runs
// as.
func Sandbox(iso *sandbox.Isolation, root, scratch string, env []string, network bool, readOnly ...string) (*JobSandbox, error) {
	home := filepath.Join(root, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	acct := filepath.Join(root, "etc")
	if err := os.MkdirAll(acct, 0o755); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	passwd, group, err := iso.WriteAccounts(acct, home)
	if err != nil {
		return nil, err
	}
	binds := []string{root}
	if scratch != "" && scratch != root {
		binds = append(binds, scratch)
	}
	b := &JobSandbox{Home: home, Env: iso.Env(env, home)}
	if iso.Root() {
		for _, t := range binds {
			if err := ChownTree(t, sandbox.BuildUID, sandbox.BuildGID); err != nil {
				return nil, fmt.Errorf("sandbox: giving the job its directories: %w", err)
			}
		}
		// The accounts stay root's: the job reads them, never changes them.
		for _, f := range []string{acct, passwd, group} {
			if err := os.Lchown(f, 0, 0); err != nil {
				return nil, fmt.Errorf("sandbox: %w", err)
			}
		}
		b.User = &User{UID: sandbox.BuildUID, GID: sandbox.BuildGID}
	}
	b.Args = iso.Args(sandbox.Spec{Binds: binds, ReadOnly: readOnly, Network: network, Passwd: passwd, Group: group})
	return b, nil
}
