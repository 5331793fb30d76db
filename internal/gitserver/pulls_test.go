package gitserver

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// pullEnv makes repository app with main (a.txt, b.txt) and a branch feature
// off it, pushed, and returns the work tree.
func pullEnv(t *testing.T) (*env, string) {
	e := newEnv(t)
	e.create("app")
	w := e.work("app", aliceToken)
	e.commit(w, "base", map[string]string{"a.txt": "a\n", "b.txt": "b\n"})
	e.mustGit(w, "push", "-q", "origin", "main")
	e.mustGit(w, "checkout", "-q", "-b", "feature")
	e.commit(w, "feature one", map[string]string{"a.txt": "a from feature\n"})
	e.commit(w, "feature two", map[string]string{"c.txt": "c\n"})
	e.mustGit(w, "push", "-q", "origin", "feature")
	e.rec.take()
	return e, w
}

func TestMergeFastForward(t *testing.T) {
	t.Parallel()
	e, w := pullEnv(t)
	ctx := context.Background()
	src := e.mustGit(w, "rev-parse", "feature")
	if b, err := e.srv.Branches(ctx, "app"); err != nil || !slices.Equal(b, []string{"feature", "main"}) {
		t.Errorf("branches = %v, %v", b, err)
	}
	commits, err := e.srv.CommitsBetween(ctx, "app", "main", "feature", 100)
	if err != nil || len(commits) != 2 || commits[0].Message != "feature two" || commits[1].ID == "" {
		t.Fatalf("commits = %+v, %v", commits, err)
	}
	diff, _, err := e.srv.Diff(ctx, "app", "main", "feature")
	if err != nil || !strings.Contains(diff, "+a from feature") || !strings.Contains(diff, "+++ b/c.txt") {
		t.Fatalf("diff = %q, %v", diff, err)
	}
	tip, err := e.srv.Merge(ctx, MergeRequest{Repository: "app", Source: "feature", Destination: "main", Strategy: FastForward, SourceCommit: src, Principal: "alice"})
	if err != nil || tip != src {
		t.Fatalf("merge = %s, %v; want %s", tip, err, src)
	}
	if head, _ := e.srv.Head(ctx, "app", "main"); head != src {
		t.Errorf("main = %s, want %s", head, src)
	}
	pushes := e.rec.take()
	if len(pushes) != 1 || pushes[0].Principal != "alice" || pushes[0].Updates[0].Ref != "refs/heads/main" || pushes[0].Updates[0].New != src || len(pushes[0].Updates[0].Commits) != 2 {
		t.Errorf("pushes = %+v", pushes)
	}
}

func TestMergeSquashAndThreeWay(t *testing.T) {
	t.Parallel()
	for _, strategy := range []string{Squash, ThreeWay} {
		t.Run(strategy, func(t *testing.T) {
			t.Parallel()
			e, w := pullEnv(t)
			ctx := context.Background()
			// main moves on, touching another file: no fast-forward, no conflict.
			e.mustGit(w, "checkout", "-q", "main")
			oldMain := e.commit(w, "main moves", map[string]string{"b.txt": "b from main\n"})
			e.mustGit(w, "push", "-q", "origin", "main")
			src := e.mustGit(w, "rev-parse", "feature")
			_, err := e.srv.Merge(ctx, MergeRequest{Repository: "app", Source: "feature", Destination: "main", Strategy: FastForward})
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "cannot be fast-forwarded") {
				t.Fatalf("fast-forward = %v, want refused", err)
			}
			_, err = e.srv.Merge(ctx, MergeRequest{Repository: "app", Source: "feature", Destination: "main", Strategy: strategy, SourceCommit: oldMain})
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "moved since") {
				t.Fatalf("merge of a stale source commit = %v, want refused", err)
			}
			tip, err := e.srv.Merge(ctx, MergeRequest{Repository: "app", Source: "feature", Destination: "main", Strategy: strategy,
				Message: "merge feature", AuthorName: "Bob", AuthorEmail: "bob@example.com", SourceCommit: src})
			if err != nil {
				t.Fatal(err)
			}
			e.mustGit(w, "fetch", "-q", "origin")
			if got := e.mustGit(w, "rev-parse", "origin/main"); got != tip {
				t.Fatalf("origin/main = %s, want %s", got, tip)
			}
			parents := strings.Fields(e.mustGit(w, "log", "-1", "--format=%P", tip))
			want := []string{oldMain}
			if strategy == ThreeWay {
				want = []string{oldMain, src}
			}
			if !slices.Equal(parents, want) {
				t.Errorf("parents = %v, want %v", parents, want)
			}
			if got := e.mustGit(w, "log", "-1", "--format=%an <%ae> %s", tip); got != "Bob <bob@example.com> merge feature" {
				t.Errorf("merge commit = %q", got)
			}
			for file, want := range map[string]string{"a.txt": "a from feature", "b.txt": "b from main", "c.txt": "c"} {
				if got := e.mustGit(w, "show", tip+":"+file); got != want {
					t.Errorf("%s = %q, want %q", file, got, want)
				}
			}
		})
	}
}

func TestMergeConflictNamesFiles(t *testing.T) {
	t.Parallel()
	e, w := pullEnv(t)
	ctx := context.Background()
	e.mustGit(w, "checkout", "-q", "main")
	before := e.commit(w, "main changes a too", map[string]string{"a.txt": "a from main\n"})
	e.mustGit(w, "push", "-q", "origin", "main")
	e.rec.take()
	for _, strategy := range []string{Squash, ThreeWay} {
		_, err := e.srv.Merge(ctx, MergeRequest{Repository: "app", Source: "feature", Destination: "main", Strategy: strategy})
		var ce *ConflictError
		if !errors.As(err, &ce) || !slices.Equal(ce.Files, []string{"a.txt"}) || !strings.Contains(err.Error(), "a.txt") {
			t.Fatalf("%s: err = %v, want a conflict in a.txt", strategy, err)
		}
	}
	if head, _ := e.srv.Head(ctx, "app", "main"); head != before {
		t.Errorf("main moved to %s after a refused merge", head)
	}
	if p := e.rec.take(); len(p) != 0 {
		t.Errorf("pushes after a refused merge: %+v", p)
	}
	if _, err := e.srv.Merge(ctx, MergeRequest{Repository: "app", Source: "feature", Destination: "main", Strategy: "OCTOPUS"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown strategy: %v", err)
	}
}
