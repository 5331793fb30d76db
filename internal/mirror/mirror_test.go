package mirror

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/gitserver"
)

// scripted is a Repos whose mirror commands fail while fail is set, and
// count their runs.
type scripted struct {
	repos        []gitserver.Repo
	fail         bool
	pushes, pull int
	password     string
}

func (s *scripted) List(context.Context) ([]gitserver.Repo, error) { return s.repos, nil }

func (s *scripted) PushMirror(_ context.Context, _ string, _ gitserver.Mirror, password string) error {
	s.pushes++
	s.password = password
	if s.fail {
		return errors.New("remote down")
	}
	return nil
}

func (s *scripted) PullMirror(context.Context, string, gitserver.Mirror, string) (int, error) {
	s.pull++
	if s.fail {
		return 0, errors.New("remote down")
	}
	return 1, nil
}

type secrets map[string]string

func (s secrets) MirrorSecret(_ context.Context, name string) ([]byte, error) {
	v, ok := s[name]
	if !ok {
		return nil, errors.New("secret " + name + " not found")
	}
	return []byte(v), nil
}

// TestPushMirrorRetries: a push mirror runs at first sight, is retried
// after a failure only once its backoff has passed, keeps its changes
// pending meanwhile, and runs again after the next push.
func TestPushMirrorRetries(t *testing.T) {
	ctx := context.Background()
	repos := &scripted{repos: []gitserver.Repo{{Name: "app", Mirrors: []gitserver.Mirror{
		{Name: "backup", URL: "https://x/y", Direction: gitserver.MirrorPush, PasswordSecret: "tok"}}}}}
	r := New(repos, secrets{"tok": "s3cret"}, nil)

	repos.fail = true
	r.pass(ctx)
	st, _ := r.Status("app", "backup")
	if repos.pushes != 1 || st.Failures != 1 || !st.Pending || st.LastError != "remote down" || repos.password != "s3cret" {
		t.Fatalf("after a failure: pushes %d, status %+v, password %q", repos.pushes, st, repos.password)
	}
	if wait := time.Until(st.NextAttempt); wait <= 0 || wait > firstRetry {
		t.Errorf("next attempt in %s, want within %s", wait, firstRetry)
	}
	r.pass(ctx) // before the backoff: nothing
	if repos.pushes != 1 {
		t.Fatalf("retried before its backoff: %d pushes", repos.pushes)
	}
	r.state["app/backup"].NextAttempt = time.Now().Add(-time.Millisecond) // the backoff has passed
	r.pass(ctx)
	st, _ = r.Status("app", "backup")
	if repos.pushes != 2 || st.Failures != 2 || time.Until(st.NextAttempt) <= firstRetry {
		t.Fatalf("second failure: pushes %d, status %+v (the backoff should double)", repos.pushes, st)
	}

	repos.fail = false
	r.state["app/backup"].NextAttempt = time.Time{}
	r.pass(ctx)
	st, _ = r.Status("app", "backup")
	if repos.pushes != 3 || st.Failures != 0 || st.Pending || st.LastError != "" || st.LastSuccess.IsZero() {
		t.Fatalf("after the remote came back: pushes %d, status %+v", repos.pushes, st)
	}
	r.pass(ctx) // nothing pending: nothing to do
	if repos.pushes != 3 {
		t.Fatalf("pushed with nothing pending: %d", repos.pushes)
	}
	r.Pushed("app")
	r.pass(ctx)
	if repos.pushes != 4 {
		t.Fatalf("a push did not run the mirror: %d pushes", repos.pushes)
	}
	r.Pushed("other") // another repository's push
	r.pass(ctx)
	if repos.pushes != 4 {
		t.Fatalf("another repository's push ran the mirror: %d pushes", repos.pushes)
	}
}

// TestPullMirrorInterval: a pull mirror fetches at first sight, then once
// its interval has passed; a missing secret is a failure, shown.
func TestPullMirrorInterval(t *testing.T) {
	ctx := context.Background()
	repos := &scripted{repos: []gitserver.Repo{{Name: "app", Mirrors: []gitserver.Mirror{
		{Name: "up", URL: "https://x/y", Direction: gitserver.MirrorPull, Interval: time.Hour},
		{Name: "locked", URL: "https://x/z", Direction: gitserver.MirrorPull, Interval: time.Hour, PasswordSecret: "gone"}}}}}
	r := New(repos, secrets{}, nil)
	r.pass(ctx)
	r.pass(ctx)
	if repos.pull != 1 {
		t.Fatalf("fetches within the interval: %d, want 1", repos.pull)
	}
	if st, _ := r.Status("app", "locked"); st.Failures != 1 || st.LastError == "" {
		t.Errorf("a mirror whose secret is gone: %+v", st)
	}
	r.state["app/up"].LastAttempt = time.Now().Add(-time.Hour)
	r.pass(ctx)
	if repos.pull != 2 {
		t.Fatalf("no fetch once the interval passed: %d", repos.pull)
	}
	// A mirror deleted is forgotten.
	repos.repos[0].Mirrors = repos.repos[0].Mirrors[:1]
	r.pass(ctx)
	if _, ok := r.Status("app", "locked"); ok {
		t.Errorf("a deleted mirror still has a status")
	}
}
