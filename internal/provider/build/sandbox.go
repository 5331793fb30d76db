package build

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/sluice-ci/sluice/internal/buildspec"
	"github.com/sluice-ci/sluice/internal/provider/commands"
)

// sandbox is how a job's builds are isolated with bubblewrap: the host
// read-only, the job's own directories writable, namespaces of their own.
type sandbox struct {
	bwrap   string
	binds   []string // the job's directory and its scratch directory
	network bool

	mu sync.Mutex
	as map[uint32][]string // argsAs, by uid
}

// args is the command the phases of a build run under as sluice's own user.
// Every namespace is the build's own, a user namespace included, so that
// root in the sandbox is not root of the host.
func (s *sandbox) args() []string {
	if s == nil {
		return nil
	}
	args := []string{s.bwrap,
		"--ro-bind", "/", "/",
		"--dev", "/dev",
		"--proc", "/proc",
		"--tmpfs", "/tmp",
	}
	for _, b := range s.binds {
		args = append(args, "--bind", b, b)
	}
	args = append(args, "--unshare-all", "--die-with-parent", "--new-session")
	if s.network {
		args = append(args, "--share-net")
	}
	return append(args, "--")
}

// argsAs is the command the phases of run-as user a run under. It creates no
// user namespace: setpriv, run inside it, must set the real user ids to a's,
// which a namespace that maps only root could not hold; once it has, no
// privilege is left. The other namespaces are the build's own as in args.
//
// Directories above the job's that a cannot enter (the worker's own, mode
// 0700) are covered in the sandbox by an empty tmpfs holding only the path
// down to the job's directories, so a reaches those and nothing else of the
// worker; /tmp is a tmpfs everyone may write, as on a host.
func (s *sandbox) argsAs(a *buildspec.Account) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if args, ok := s.as[a.UID]; ok {
		return args, nil
	}
	args := []string{s.bwrap,
		"--ro-bind", "/", "/",
		"--dev", "/dev",
		"--proc", "/proc",
		"--perms", "1777", "--tmpfs", "/tmp",
	}
	covered := map[string]bool{"/tmp": true}
	made := map[string]bool{}
	var bound []string
	inBound := func(d string) bool {
		for _, b := range bound {
			if under(d, b) {
				return true
			}
		}
		return false
	}
	for _, b := range s.binds {
		cover := ""
		if under(b, "/tmp") {
			cover = "/tmp"
		} else {
			blocked, err := commands.Unreachable(&commands.User{UID: a.UID, GID: a.GID, Groups: a.Groups}, parents(b))
			if err != nil {
				return nil, fmt.Errorf("run-as %s: %w", a.Name, err)
			}
			cover = blocked
		}
		if cover != "" && !covered[cover] {
			covered[cover] = true
			args = append(args, "--perms", "0755", "--tmpfs", cover)
		}
		if cover != "" {
			// bubblewrap would make the directories down to the bind
			// without search permission for others.
			for _, d := range parents(b) {
				// Directories of a bind made before are the host's own.
				if under(d, cover) && d != cover && !made[d] && !inBound(d) {
					made[d] = true
					args = append(args, "--perms", "0755", "--dir", d)
				}
			}
		}
		args = append(args, "--bind", b, b)
		bound = append(bound, b)
	}
	args = append(args, "--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session")
	if !s.network {
		args = append(args, "--unshare-net")
	}
	args = append(args, "--")
	if s.as == nil {
		s.as = map[uint32][]string{}
	}
	s.as[a.UID] = args
	return args, nil
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
