package process

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sluice-ci/sluice/internal/sandbox"
)

// JobSandbox is how one job's process runs in the worker's sandbox.
type JobSandbox struct {
	Args []string // bubblewrap's command, ending in "--"
	// Prepared, in place of Args, is the sandbox started ahead of the job
	// that it runs in (see Prepared).
	Prepared *Prepared
	User     *User    // who the process runs as inside it; nil for the worker's user
	Env      []string // the job's environment, with its private HOME
	Home     string
	// Close removes what the sandbox needed only to start (call it once
	// the process has started, or when done).
	Close func()
}

// SwitchArgs is setpriv's command that makes the process b.User, for
// wrappers other than RunShell; nil when it runs as the worker's user.
func (b *JobSandbox) SwitchArgs() []string {
	if b.User == nil {
		return nil
	}
	return setprivArgs("setpriv", b.User)
}

// Sandbox makes the sandbox of a job whose own directory is root and whose
// scratch directory is scratch, both shown read-write, with a private HOME
// made in root; readOnly are shown as they are; the network when network is
// set. env is the job's environment.
//
// When the worker is root, the process runs as sandbox.BuildUID, to whom
// scratch, HOME and owned (the directories in root the job writes: its
// workspace and inputs) are given. root itself stays the worker's, so that
// the job cannot swap what sluice writes there as root afterwards (the
// output artifacts) for a link elsewhere.
func Sandbox(iso *sandbox.Isolation, root, scratch string, owned []string, env []string, network bool, readOnly ...string) (*JobSandbox, error) {
	home := filepath.Join(root, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	passwd, group, remove, err := iso.WriteAccounts(home)
	if err != nil {
		return nil, err
	}
	binds := []string{root}
	if scratch != "" && scratch != root {
		binds = append(binds, scratch)
	}
	b := &JobSandbox{Home: home, Env: iso.Env(env, home), Close: remove}
	if iso.Root() {
		give := append([]string{home}, owned...)
		if scratch != "" && scratch != root {
			give = append(give, scratch)
		}
		if err := giveToJob(root, give); err != nil {
			remove()
			return nil, err
		}
		b.User = &User{UID: sandbox.BuildUID, GID: sandbox.BuildGID}
	}
	b.Args = iso.Args(sandbox.Spec{Binds: binds, ReadOnly: readOnly, Network: network, Passwd: passwd, Group: group})
	return b, nil
}

// giveToJob gives the directories of give (those that exist) to
// sandbox.BuildUID, and lets it pass through root to them: it lists
// nothing there and changes nothing.
func giveToJob(root string, give []string) error {
	for _, t := range give {
		if _, err := os.Lstat(t); os.IsNotExist(err) {
			continue
		}
		if err := ChownTree(t, sandbox.BuildUID, sandbox.BuildGID); err != nil {
			return fmt.Errorf("sandbox: giving the job its directories: %w", err)
		}
	}
	if err := os.Chmod(root, 0o711); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}
