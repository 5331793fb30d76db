package build

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluice-ci/sluice/internal/buildspec"
	"github.com/sluice-ci/sluice/internal/sandbox"
)

// box is how a job's builds are isolated: the worker's sandbox (see package
// sandbox) showing the job's own directories read-write.
type box struct {
	iso   *sandbox.Isolation
	spec  sandbox.Spec
	close func() // removes the accounts files
}

// Close removes what the sandbox kept for the build's phases.
func (s *box) Close() {
	if s != nil && s.close != nil {
		s.close()
	}
}

// args is the command the phases of a build run under.
func (s *box) args() []string {
	if s == nil {
		return nil
	}
	return s.iso.Args(s.spec)
}

// argsAs is the command the phases of run-as user a run under. Only a root
// worker can switch users, and its sandbox creates no user namespace, so
// that setpriv inside it can; its view is the same as args'.
func (s *box) argsAs(a *buildspec.Account) ([]string, error) {
	if !s.iso.Root() {
		return nil, fmt.Errorf("run-as %s: the sandbox cannot switch users unless the worker runs as root", a.Name)
	}
	return s.args(), nil
}

// switches reports whether the build's phases run as sandbox.BuildUID (a
// root worker's sandbox) rather than as the worker's user.
func (s *box) switches() bool { return s != nil && s.iso.Root() }

// under reports whether p is dir or inside it.
func under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// letThrough lets every user search (not list) the directories from each of
// paths up to the job's own top directories (its directory and its scratch
// directory, made 0700 by the worker), so that a run-as user can reach the
// trees it is given. Directories above those are the worker's: a sandbox
// covers them, and a build run directly says when the user cannot pass.
func letThrough(tops []string, paths ...string) error {
	for _, p := range paths {
		if p == "" {
			continue
		}
		top := ""
		for _, t := range tops {
			if t != "" && under(p, t) {
				top = t
			}
		}
		if top == "" {
			continue
		}
		for d := filepath.Dir(p); under(d, top); d = filepath.Dir(d) {
			fi, err := os.Stat(d)
			if err != nil {
				return fmt.Errorf("run-as: %w", err)
			}
			if mode := fi.Mode(); mode.Perm()&0o111 != 0o111 {
				if err := os.Chmod(d, mode.Perm()|0o111|mode&(os.ModeSetgid|os.ModeSticky)); err != nil {
					return fmt.Errorf("run-as: %w", err)
				}
			}
			if d == top {
				break
			}
		}
	}
	return nil
}
