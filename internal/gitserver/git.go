package gitserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/lazyregexp"
)

// run runs git in the repository dir ("" for none) and returns its standard
// output. Variables that would point git elsewhere (GIT_DIR and the like, set
// when sluice itself runs from a hook) are left out of its environment.
func (s *Server) run(ctx context.Context, dir string, args ...string) ([]byte, error) {
	return s.runEnv(ctx, dir, []string{"GIT_TERMINAL_PROMPT=0", "LC_ALL=C"}, args...)
}

// runEnv is run with env (which must hold GIT_TERMINAL_PROMPT=0 and LC_ALL)
// in place of run's own variables.
func (s *Server) runEnv(ctx context.Context, dir string, env []string, args ...string) ([]byte, error) {
	if dir != "" {
		args = append([]string{"--git-dir=" + dir}, args...)
	}
	cmd := exec.CommandContext(ctx, s.git, args...)
	env = append([]string(nil), env...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") && !strings.HasPrefix(kv, "LC_ALL=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, &gitError{args: args, err: err, stderr: strings.TrimSpace(stderr.String())}
	}
	return out, nil
}

type gitError struct {
	args   []string
	err    error
	stderr string
}

func (e *gitError) Error() string {
	msg := fmt.Sprintf("git %s: %v", strings.Join(e.args, " "), e.err)
	if e.stderr != "" {
		msg += ": " + e.stderr
	}
	return msg
}

func (e *gitError) Unwrap() error { return e.err }

// exitCode is git's exit status, or -1 when it did not exit by itself.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

var hexID = lazyregexp.New(`^[0-9a-fA-F]{4,64}$`)

func (s *Server) repoDir(name string) (string, error) {
	if _, err := s.readMeta(name); err != nil {
		return "", err
	}
	return s.dir(name), nil
}

// Head returns the commit id at the tip of a branch; ErrNotFound when the
// repository or the branch does not exist.
func (s *Server) Head(ctx context.Context, name, branch string) (string, error) {
	branch = strings.TrimPrefix(branch, "refs/heads/")
	if err := validBranch(branch); err != nil {
		return "", err
	}
	dir, err := s.repoDir(name)
	if err != nil {
		return "", err
	}
	out, err := s.run(ctx, dir, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch+"^{commit}")
	if exitCode(err) == 1 {
		return "", errorf(ErrNotFound, "branch %s not found in repository %s", branch, name)
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// resolveCommit returns the full id of a commit given by a (possibly
// abbreviated) hexadecimal id.
func (s *Server) resolveCommit(ctx context.Context, name, dir, id string) (string, error) {
	if !hexID.MatchString(id) {
		return "", errorf(ErrInvalid, "commit id %q: must be 4 to 64 hexadecimal digits", id)
	}
	out, err := s.run(ctx, dir, "rev-parse", "--verify", "--quiet", id+"^{commit}")
	if exitCode(err) == 1 || exitCode(err) == 128 {
		return "", errorf(ErrNotFound, "commit %s not found in repository %s", id, name)
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// Commit describes a commit, given by its id (abbreviations are accepted).
func (s *Server) Commit(ctx context.Context, name, id string) (CommitInfo, error) {
	dir, err := s.repoDir(name)
	if err != nil {
		return CommitInfo{}, err
	}
	full, err := s.resolveCommit(ctx, name, dir, id)
	if err != nil {
		return CommitInfo{}, err
	}
	out, err := s.run(ctx, dir, "show", "--no-patch", "--no-show-signature", "--no-notes", "--encoding=UTF-8",
		"--format=%H%x00%an%x00%ae%x00%aI%x00%cI%x00%B", full)
	if err != nil {
		return CommitInfo{}, err
	}
	f := strings.SplitN(string(out), "\x00", 6)
	if len(f) != 6 {
		return CommitInfo{}, fmt.Errorf("git show %s: unexpected output", full)
	}
	ci := CommitInfo{ID: f[0], AuthorName: f[1], AuthorEmail: f[2], Message: strings.TrimRight(f[5], "\n")}
	if ci.AuthorDate, err = time.Parse(time.RFC3339, f[3]); err != nil {
		return CommitInfo{}, fmt.Errorf("commit %s: author date: %w", full, err)
	}
	if ci.CommitterDate, err = time.Parse(time.RFC3339, f[4]); err != nil {
		return CommitInfo{}, fmt.Errorf("commit %s: committer date: %w", full, err)
	}
	return ci, nil
}

// ChangedFiles returns the paths of the files that differ between the trees of
// commits old and new, sorted; a rename counts as both of its paths. With old
// empty or all zeros (a created branch), it returns every file of new.
func (s *Server) ChangedFiles(ctx context.Context, name, old, new string) ([]string, error) {
	dir, err := s.repoDir(name)
	if err != nil {
		return nil, err
	}
	newID, err := s.resolveCommit(ctx, name, dir, new)
	if err != nil {
		return nil, err
	}
	var out []byte
	if old == "" || isZeroID(old) {
		out, err = s.run(ctx, dir, "ls-tree", "-r", "-z", "--name-only", "--full-tree", newID)
	} else {
		oldID, rerr := s.resolveCommit(ctx, name, dir, old)
		if rerr != nil {
			return nil, rerr
		}
		out, err = s.run(ctx, dir, "diff-tree", "-r", "-z", "--name-only", "--no-renames", "--no-commit-id", oldID, newID)
	}
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, p := range strings.Split(string(out), "\x00") {
		if p != "" {
			paths = append(paths, p)
		}
	}
	return paths, nil
}
