package gitsource

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// fetch brings the branch (and the pinned commit) into the private repository
// and returns the commit to build.
//
// CODE_ZIP starts with the branch head alone (depth 1). A pinned commit that
// is not the head is then fetched by id from a hosted repository, whose server
// serves any commit reachable from its refs: it may no longer be on the branch
// when a push was followed by a force-push, and like CodePipeline sluice
// builds what was pinned. Other servers need not allow fetching by id, so for
// GitRemote the branch's whole history is fetched and the commit must be on
// it.
func fetch(ctx context.Context, g *git, src *source) (string, error) {
	shallow := src.format == FormatCodeZip
	branchRef := "refs/remotes/origin/" + src.branch
	refspec := "+refs/heads/" + src.branch + ":" + branchRef
	if src.headRef != "" {
		// A pull request's head, under its source branch's name: the
		// branch may be a fork's, which the repository does not have.
		refspec = "+" + src.headRef + ":" + branchRef
	}

	initArgs := []string{"init", "-q"}
	if shallow {
		initArgs = append(initArgs, "--bare")
	}
	if _, err := g.output(ctx, initArgs...); err != nil {
		return "", err
	}
	// The URL holds no secret: credentials travel in the environment.
	if _, err := g.output(ctx, "remote", "add", "origin", src.remote.url); err != nil {
		return "", err
	}

	if src.headRef != "" {
		g.logf("sluice: fetching pull request head %s (branch %s) of repository %s", src.headRef, src.branch, src.what)
	} else {
		g.logf("sluice: fetching branch %s of repository %s", src.branch, src.what)
	}
	var err error
	if shallow {
		err = g.fetch(ctx, src, "fetch", "--no-tags", "--no-recurse-submodules", "--depth=1", "origin", refspec)
	} else {
		// What git clone takes: every branch, and the tags on them.
		err = g.fetch(ctx, src, "fetch", "--no-recurse-submodules", "origin")
		if err == nil && src.headRef != "" {
			err = g.fetch(ctx, src, "fetch", "--no-tags", "--no-recurse-submodules", "origin", refspec)
		}
	}
	if err != nil {
		return "", err
	}
	head, ok, err := g.resolve(ctx, branchRef)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", failf(ErrBranchNotFound, "branch %s not found in repository %s", src.branch, src.what)
	}
	if src.revision == "" {
		return head, nil
	}

	found := func() (string, bool, error) {
		c, ok, err := g.resolve(ctx, src.revision)
		if err != nil || !ok || src.hosted {
			return c, ok, err
		}
		ok, err = g.isAncestor(ctx, c, branchRef)
		return c, ok, err
	}
	if c, ok, err := found(); err != nil || ok {
		return c, err
	}
	if src.hosted && (len(src.revision) == 40 || len(src.revision) == 64) {
		g.logf("sluice: fetching commit %s", src.revision)
		args := []string{"fetch", "--no-tags", "--no-recurse-submodules"}
		if shallow {
			args = append(args, "--depth=1")
		}
		out, err := g.run(ctx, true, append(args, "origin", src.revision)...)
		switch {
		case ctx.Err() != nil:
			return "", err
		case err == nil:
			if c, ok, err := found(); err != nil || ok {
				return c, err
			}
		case strings.Contains(out.stderr, "not our ref"):
			// The server has no such commit on any ref; its history holds
			// none either.
			return "", failf(ErrCommitNotFound, "commit %s not found in repository %s", src.revision, src.what)
		default:
			if err := classify(out.stderr, src.what, src.branch, src.authHint); errors.Is(err, ErrAuthentication) || errors.Is(err, ErrNetwork) {
				return "", err
			}
		}
	}
	if isShallow, err := g.output(ctx, "rev-parse", "--is-shallow-repository"); err != nil {
		return "", err
	} else if strings.TrimSpace(isShallow) == "true" {
		g.logf("sluice: fetching the history of branch %s", src.branch)
		if err := g.fetch(ctx, src, "fetch", "--no-tags", "--no-recurse-submodules", "--unshallow", "origin", refspec); err != nil {
			return "", err
		}
		if c, ok, err := found(); err != nil || ok {
			return c, err
		}
	}
	if src.hosted {
		return "", failf(ErrCommitNotFound, "commit %s not found in repository %s", src.revision, src.what)
	}
	return "", failf(ErrCommitNotFound, "commit %s is not on branch %s of %s", src.revision, src.branch, src.what)
}

// fetch runs a git fetch with its output in the log, and explains a failure.
func (g *git) fetch(ctx context.Context, src *source, args ...string) error {
	out, err := g.run(ctx, true, args...)
	if err == nil || ctx.Err() != nil {
		return err
	}
	return classify(out.stderr, src.what, src.branch, src.authHint)
}

// resolve returns the commit id name stands for, and false when there is no
// such commit.
func (g *git) resolve(ctx context.Context, name string) (string, bool, error) {
	out, err := g.run(ctx, false, "rev-parse", "--verify", "--quiet", "--end-of-options", name+"^{commit}")
	if ctx.Err() != nil {
		return "", false, ctx.Err()
	}
	if err != nil {
		return "", false, nil
	}
	return strings.TrimSpace(string(out.stdout)), true, nil
}

// isAncestor reports whether commit is reachable from ref.
func (g *git) isAncestor(ctx context.Context, commit, ref string) (bool, error) {
	out, err := g.run(ctx, false, "merge-base", "--is-ancestor", commit, ref)
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	var exit interface{ ExitCode() int }
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return false, nil
	}
	return false, fmt.Errorf("git merge-base: %s", orDefault(lastError(out.stderr), err.Error()))
}

// commit is what the output variables say about a commit.
type commit struct {
	id            string
	message       string
	authorDate    string
	committerDate string
}

// subject is the message's first line, which CodePipeline shows as the
// revision summary.
func (c commit) subject() string {
	first, _, _ := strings.Cut(c.message, "\n")
	return strings.TrimSpace(first)
}

func readCommit(ctx context.Context, g *git, id string) (commit, error) {
	out, err := g.output(ctx, "log", "-1", "--no-show-signature", "--format=%H%x00%aI%x00%cI%x00%B", id, "--")
	if err != nil {
		return commit{}, err
	}
	parts := strings.SplitN(out, "\x00", 4)
	if len(parts) != 4 {
		return commit{}, fmt.Errorf("git log: unexpected output for commit %s", id)
	}
	c := commit{id: parts[0], message: strings.ToValidUTF8(strings.TrimRight(parts[3], "\n"), "\uFFFD")}
	if c.authorDate, err = utc(parts[1]); err != nil {
		return commit{}, fmt.Errorf("commit %s: author date: %w", id, err)
	}
	if c.committerDate, err = utc(parts[2]); err != nil {
		return commit{}, fmt.Errorf("commit %s: committer date: %w", id, err)
	}
	return c, nil
}

// utc turns git's strict ISO 8601 date into RFC 3339 in UTC, as CodePipeline
// shows dates.
func utc(s string) (string, error) {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return "", err
	}
	return t.UTC().Format(time.RFC3339), nil
}
