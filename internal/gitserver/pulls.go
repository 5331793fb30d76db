package gitserver

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// What pull requests need of a repository: the commits and the diff between
// two branches, and merges made on the server without a work tree
// (`git merge-tree --write-tree`, git 2.38 and later), as CodeCommit's
// MergePullRequestByFastForward, BySquash and ByThreeWay make them.

// Merge strategies, CodeCommit's names.
const (
	FastForward = "FAST_FORWARD_MERGE"
	Squash      = "SQUASH_MERGE"
	ThreeWay    = "THREE_WAY_MERGE"
)

// ConflictError is a merge refused because the two sides change the same
// files differently; Files names them, sorted as git lists them.
type ConflictError struct {
	Files []string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("the merge conflicts in %d file(s): %s; merge the destination into the source branch, resolve them and push", len(e.Files), strings.Join(e.Files, ", "))
}

// Unwrap makes a conflict ErrExists: it is the state of the branches, which
// the API answers as a conflict (409), not bad input.
func (e *ConflictError) Unwrap() error { return ErrExists }

// MergeRequest asks to merge branch Source into branch Destination.
type MergeRequest struct {
	Repository          string
	Source, Destination string // branch names, without refs/heads/
	Strategy            string // FastForward, Squash or ThreeWay
	// SourceCommit, when set, must be Source's tip: a merge of what the
	// approvers saw, not of what was pushed since.
	SourceCommit string
	// DestinationCommit, when set, must be Destination's tip: the merge
	// moves Destination only from it, so a merge made twice from the same
	// tips lands once.
	DestinationCommit string
	Message           string // the commit message of a squash or three-way merge
	AuthorName        string
	AuthorEmail       string
	Principal         string // who merges, for the push event
}

// MergeBase returns the best common ancestor of two commits, "" when they
// have none.
func (s *Server) MergeBase(ctx context.Context, name, a, b string) (string, error) {
	dir, err := s.repoDir(name)
	if err != nil {
		return "", err
	}
	out, err := s.run(ctx, dir, "merge-base", a, b)
	if exitCode(err) == 1 {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// CommitsBetween lists the commits reachable from head and not from base,
// newest first, at most max of them.
func (s *Server) CommitsBetween(ctx context.Context, name, base, head string, max int) ([]CommitInfo, error) {
	dir, err := s.repoDir(name)
	if err != nil {
		return nil, err
	}
	rng := head
	if base != "" {
		rng = base + ".." + head
	}
	out, err := s.run(ctx, dir, "log", "--no-show-signature", "--no-notes", "--encoding=UTF-8", fmt.Sprintf("--max-count=%d", max),
		"--format=%H%x00%an%x00%ae%x00%aI%x00%cI%x00%s%x1e", rng, "--")
	if err != nil {
		return nil, err
	}
	var list []CommitInfo
	for _, rec := range strings.Split(string(out), "\x1e") {
		rec = strings.TrimLeft(rec, "\n")
		if rec == "" {
			continue
		}
		f := strings.SplitN(rec, "\x00", 6)
		if len(f) != 6 {
			return nil, fmt.Errorf("git log %s: unexpected output", rng)
		}
		ci := CommitInfo{ID: f[0], AuthorName: f[1], AuthorEmail: f[2], Message: f[5]}
		ci.AuthorDate, _ = time.Parse(time.RFC3339, f[3])
		ci.CommitterDate, _ = time.Parse(time.RFC3339, f[4])
		list = append(list, ci)
	}
	return list, nil
}

// maxDiff bounds the diff a pull request shows.
const maxDiff = 4 << 20

// Diff returns the unified diff of what head changes since its merge base
// with base (`git diff base...head`), as a pull request shows it; truncated
// says it was cut at 4 MiB.
func (s *Server) Diff(ctx context.Context, name, base, head string) (diff string, truncated bool, err error) {
	dir, err := s.repoDir(name)
	if err != nil {
		return "", false, err
	}
	out, err := s.run(ctx, dir, "diff", "--no-color", "--no-ext-diff", "--no-textconv", base+"..."+head, "--")
	if err != nil {
		return "", false, err
	}
	if len(out) > maxDiff {
		return string(out[:maxDiff]), true, nil
	}
	return string(out), false, nil
}

// FileAt returns whether path exists in the tree of commit.
func (s *Server) FileAt(ctx context.Context, name, commit, path string) (bool, error) {
	dir, err := s.repoDir(name)
	if err != nil {
		return false, err
	}
	_, err = s.run(ctx, dir, "cat-file", "-e", commit+":"+path)
	if exitCode(err) == 128 || exitCode(err) == 1 {
		return false, nil
	}
	return err == nil, err
}

// IsAncestor reports whether commit a is an ancestor of (or is) commit b.
func (s *Server) IsAncestor(ctx context.Context, name, a, b string) (bool, error) {
	dir, err := s.repoDir(name)
	if err != nil {
		return false, err
	}
	_, err = s.run(ctx, dir, "merge-base", "--is-ancestor", a, b)
	if exitCode(err) == 1 {
		return false, nil
	}
	return err == nil, err
}

// Merge merges Source into Destination and moves Destination to the result,
// only if Destination has not moved meanwhile (update-ref with the old value).
// It returns the new tip of Destination. A conflict is a *ConflictError; a
// fast-forward that is not possible is ErrInvalid. The push is reported to
// onPush, as a push over git would be, so pipelines that follow the
// destination branch start.
func (s *Server) Merge(ctx context.Context, m MergeRequest) (string, error) {
	dir, err := s.repoDir(m.Repository)
	if err != nil {
		return "", err
	}
	dest, err := s.Head(ctx, m.Repository, m.Destination)
	if err != nil {
		return "", err
	}
	src, err := s.Head(ctx, m.Repository, m.Source)
	if err != nil {
		return "", err
	}
	if m.SourceCommit != "" && m.SourceCommit != src {
		return "", errorf(ErrInvalid, "branch %s is at %s, not %s: it moved since; look at the pull request again", m.Source, short(src), short(m.SourceCommit))
	}
	if m.DestinationCommit != "" && m.DestinationCommit != dest {
		return "", errorf(ErrExists, "branch %s is at %s, not %s: it moved since; look at the pull request again", m.Destination, short(dest), short(m.DestinationCommit))
	}
	var tip string
	switch m.Strategy {
	case FastForward:
		ok, err := s.IsAncestor(ctx, m.Repository, dest, src)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", errorf(ErrInvalid, "%s cannot be fast-forwarded to %s: it has commits %s lacks; merge by squash or three-way", m.Destination, m.Source, m.Source)
		}
		tip = src
	case Squash, ThreeWay:
		out, err := s.run(ctx, dir, "merge-tree", "--write-tree", "-z", "--name-only", "--no-messages", dest, src)
		fields := strings.Split(string(out), "\x00")
		if exitCode(err) == 1 {
			var files []string
			for _, f := range fields[1:] {
				if f != "" {
					files = append(files, f)
				}
			}
			return "", &ConflictError{Files: files}
		}
		if err != nil {
			return "", err
		}
		tree := strings.TrimSpace(fields[0])
		// A merge that would change nothing (the source's changes are in the
		// destination already: merged by hand, or by an earlier squash) is
		// refused rather than recorded as an empty commit.
		if destTree, err := s.run(ctx, dir, "rev-parse", dest+"^{tree}"); err != nil {
			return "", err
		} else if strings.TrimSpace(string(destTree)) == tree {
			return "", errorf(ErrInvalid, "%s has the changes of %s already: there is nothing to merge", m.Destination, m.Source)
		}
		args := []string{"commit-tree", tree, "-p", dest}
		if m.Strategy == ThreeWay {
			args = append(args, "-p", src)
		}
		msg := m.Message
		if msg == "" {
			msg = fmt.Sprintf("Merge branch %s into %s", m.Source, m.Destination)
		}
		args = append(args, "-m", msg)
		name, email := m.AuthorName, m.AuthorEmail
		if name == "" {
			name = "sluice"
		}
		if email == "" {
			email = "sluice@localhost"
		}
		env := []string{"GIT_TERMINAL_PROMPT=0", "LC_ALL=C",
			"GIT_AUTHOR_NAME=" + name, "GIT_AUTHOR_EMAIL=" + email,
			"GIT_COMMITTER_NAME=" + name, "GIT_COMMITTER_EMAIL=" + email}
		out, err = s.runEnv(ctx, dir, env, args...)
		if err != nil {
			return "", err
		}
		tip = strings.TrimSpace(string(out))
	default:
		return "", errorf(ErrInvalid, "mergeOption: %q is not one of %s, %s, %s", m.Strategy, FastForward, Squash, ThreeWay)
	}
	ref := "refs/heads/" + m.Destination
	if tip != dest {
		if _, err := s.run(ctx, dir, "update-ref", "-m", "sluice: merge "+m.Source, ref, tip, dest); err != nil {
			return "", errorf(ErrExists, "%s moved during the merge: try again", m.Destination)
		}
		if s.onPush != nil {
			u := RefUpdate{Ref: ref, Old: dest, New: tip}
			p := Push{Repository: m.Repository, Principal: m.Principal, Updates: []RefUpdate{u}, At: time.Now(), ID: newPushID(time.Now())}
			if commits, truncated, err := s.pushedCommits(ctx, p, u); err == nil {
				p.Updates[0].Commits, p.Updates[0].CommitsTruncated = commits, truncated
			}
			if err := s.onPush(ctx, p); err != nil {
				return tip, fmt.Errorf("merged as %s, but reporting the push failed: %w", short(tip), err)
			}
		}
	}
	return tip, nil
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// Branches lists a repository's branches by name.
func (s *Server) Branches(ctx context.Context, name string) ([]string, error) {
	dir, err := s.repoDir(name)
	if err != nil {
		return nil, err
	}
	out, err := s.run(ctx, dir, "for-each-ref", "--format=%(refname:lstrip=2)", "refs/heads/")
	if err != nil {
		return nil, err
	}
	var list []string
	for _, b := range strings.Split(string(out), "\n") {
		if b != "" {
			list = append(list, b)
		}
	}
	return list, nil
}
