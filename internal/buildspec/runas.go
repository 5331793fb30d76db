package buildspec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/sluice-ci/sluice/internal/process"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// Account is a user that run-as names, as this machine knows it.
type Account struct {
	Name     string // as the buildspec wrote it
	UID, GID uint32
	Groups   []uint32 // supplementary groups, the primary one left out
}

func (a *Account) String() string {
	return fmt.Sprintf("%s (uid %d)", a.Name, a.UID)
}

func (a *Account) user() *process.User {
	return &process.User{UID: a.UID, GID: a.GID, Groups: a.Groups}
}

// LookupAccount finds a run-as value in the machine's user database: a user
// name, or a numeric uid. A uid the database does not know is refused like
// an unknown name, so that a typo cannot run the build as a stranger.
func LookupAccount(name string) (*Account, error) {
	u, err := user.Lookup(name)
	if _, numeric := strconv.ParseUint(name, 10, 32); numeric == nil && err != nil {
		u, err = user.LookupId(name)
	}
	var unknownName user.UnknownUserError
	var unknownID user.UnknownUserIdError
	if errors.As(err, &unknownName) || errors.As(err, &unknownID) {
		return nil, errors.New("no such user on this machine (a user name or uid of its user database)")
	}
	if err != nil {
		return nil, fmt.Errorf("looking the user up: %w", err)
	}
	a := &Account{Name: name}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("uid %q is not a number", u.Uid)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("gid %q is not a number", u.Gid)
	}
	a.UID, a.GID = uint32(uid), uint32(gid)
	groups, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("listing its groups: %w", err)
	}
	for _, g := range groups {
		n, err := strconv.ParseUint(g, 10, 32)
		if err == nil && uint32(n) != a.GID {
			a.Groups = append(a.Groups, uint32(n))
		}
	}
	return a, nil
}

// cannotSwitch is the message for a run-as user sluice cannot become: only
// root may change its user ids.
func cannotSwitch(name string, euid int) string {
	return fmt.Sprintf("run-as %s: sluice runs as uid %d and cannot switch users; run the worker as root", name, euid)
}

// resolveRunAs finds the account each declared phase runs as: its own
// run-as, else the buildspec's, else nil for sluice's own user (also when
// run-as names the user sluice already runs as). Every problem is reported
// at once, naming file, line and field, before any command runs.
func resolveRunAs(spec *Spec, euid int, lookup func(string) (*Account, error)) (map[PhaseName]*Account, error) {
	var errs yamlnode.ErrorList
	resolve := func(name string, line int, path string) *Account {
		a, err := lookup(name)
		switch {
		case err != nil:
			errs = append(errs, &yamlnode.Error{File: spec.File, Line: line, Path: path, Msg: fmt.Sprintf("run-as %s: %v", name, err)})
			return nil
		case a.UID == uint32(euid):
			return nil
		case euid != 0:
			errs = append(errs, &yamlnode.Error{File: spec.File, Line: line, Path: path, Msg: cannotSwitch(name, euid)})
			return nil
		}
		return a
	}
	var top *Account
	if spec.RunAs != "" {
		top = resolve(spec.RunAs, spec.RunAsLine, "")
	}
	users := map[PhaseName]*Account{}
	for _, n := range PhaseNames {
		p := spec.Phases.Get(n)
		switch {
		case p == nil:
		case p.RunAs != "":
			users[n] = resolve(p.RunAs, p.RunAsLine, "phases."+string(n))
		default:
			users[n] = top
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return users, nil
}

// ancestors lists the directories above each of paths, from the root down,
// each once: what a user must be able to enter to reach them.
func ancestors(paths ...string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range paths {
		if p == "" {
			continue
		}
		p, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		var chain []string
		for d := filepath.Dir(p); ; d = filepath.Dir(d) {
			chain = append(chain, d)
			if d == filepath.Dir(d) {
				break
			}
		}
		for i := len(chain) - 1; i >= 0; i-- {
			if !seen[chain[i]] {
				seen[chain[i]] = true
				out = append(out, chain[i])
			}
		}
	}
	return out
}

// handOver gives trees to a: the build's own directories become the run-as
// user's, as CodeBuild grants that user access to them.
func handOver(a *Account, trees ...string) error {
	for _, t := range trees {
		if t == "" {
			continue
		}
		if err := process.ChownTree(t, a.UID, a.GID); err != nil {
			return fmt.Errorf("run-as %s: giving it %s: %w", a.Name, t, err)
		}
	}
	return nil
}

// makeReadable lets everyone read trees (as chmod -R a+rX): the secondary
// sources, which a run-as user reads but does not own, as builds of one batch
// share them and may run as different users.
func makeReadable(trees ...string) error {
	for _, t := range trees {
		err := filepath.WalkDir(t, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.Type()&fs.ModeSymlink != 0 {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			mode := fi.Mode().Perm() | 0o444
			if d.IsDir() || mode&0o111 != 0 {
				mode |= 0o111
			}
			if mode == fi.Mode().Perm() {
				return nil
			}
			return os.Chmod(p, mode|fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
		})
		if err != nil {
			return fmt.Errorf("run-as: making %s readable: %w", t, err)
		}
	}
	return nil
}
