// Package mirror runs the mirrors of hosted repositories: a push mirror is
// pushed to after every accepted push (and once at start, so that nothing
// pushed while the server was down is missed); a pull mirror is fetched
// every interval. A failed attempt is retried with exponential backoff
// (2 s doubling to 5 minutes) until it succeeds, and what happened is kept
// for `sluice repo mirror list` and the console. The git commands are
// gitserver's; the passwords come from sluice secrets.
package mirror

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sluice-ci/sluice/internal/gitserver"
)

// Repos are the hosted repositories and their mirrors' git commands
// (gitserver.Server).
type Repos interface {
	List(ctx context.Context) ([]gitserver.Repo, error)
	PushMirror(ctx context.Context, name string, m gitserver.Mirror, password string) error
	PullMirror(ctx context.Context, name string, m gitserver.Mirror, password string) (int, error)
}

// Secrets reads the secret holding a mirror's password (the service).
type Secrets interface {
	MirrorSecret(ctx context.Context, name string) ([]byte, error)
}

// Shared keeps the mirrors' statuses where every replica reads them (the
// store): the mirrors run on one replica, and `sluice repo mirror list`
// through another shows what that one did.
type Shared interface {
	PutMirrorStatus(ctx context.Context, key string, raw []byte) error
	MirrorStatus(ctx context.Context, key string) ([]byte, error) // nil when there is none
}

// Status is what happened to one mirror.
type Status struct {
	Direction   string // gitserver.MirrorPush or MirrorPull
	LastAttempt time.Time
	LastSuccess time.Time
	LastError   string // of the last attempt, "" when it succeeded
	Failures    int    // attempts failed in a row
	NextAttempt time.Time
	// Pending says a push mirror has changes not yet pushed.
	Pending bool
}

// Backoff bounds.
const (
	firstRetry = 2 * time.Second
	maxRetry   = 5 * time.Minute
	// attemptTimeout bounds one push or fetch.
	attemptTimeout = 10 * time.Minute
)

// Runner runs the mirrors. Its methods may be called from many goroutines.
type Runner struct {
	repos   Repos
	secrets Secrets
	log     *slog.Logger

	mu     sync.Mutex
	state  map[string]*Status // by REPO/MIRROR, while Run runs here
	wake   chan struct{}
	shared Shared // nil: one server, whose state is all there is
}

// SetShared makes the runner record each mirror's status in sh after every
// attempt, and read it there for mirrors it does not run. Call it before
// Run.
func (r *Runner) SetShared(sh Shared) { r.shared = sh }

// New makes a runner; Run runs it.
func New(repos Repos, secrets Secrets, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{repos: repos, secrets: secrets, log: log, state: map[string]*Status{}, wake: make(chan struct{}, 1)}
}

func key(repo, mirror string) string { return repo + "/" + mirror }

// Pushed says repository repo changed: its push mirrors are due.
func (r *Runner) Pushed(repo string) {
	// A push mirror added since the last pass has no state yet: the pass
	// that finds it treats it as pending.
	r.due(func(k string) bool { return strings.HasPrefix(k, repo+"/") })
}

// PushedAll says any repository may have changed: every push mirror is due.
func (r *Runner) PushedAll() { r.due(func(string) bool { return true }) }

// due makes the push mirrors whose keys match due now, and wakes Run.
func (r *Runner) due(match func(key string) bool) {
	r.mu.Lock()
	for k, st := range r.state {
		if st.Direction == gitserver.MirrorPush && match(k) {
			st.Pending = true
			st.NextAttempt = time.Time{}
		}
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Status returns the state of repository repo's mirror, and whether it
// was seen yet.
func (r *Runner) Status(repo, mirror string) (Status, bool) {
	r.mu.Lock()
	st, ok := r.state[key(repo, mirror)]
	var local Status
	if ok {
		local = *st
	}
	r.mu.Unlock()
	if ok || r.shared == nil {
		return local, ok
	}
	// Another replica runs the mirrors: what it recorded.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	raw, err := r.shared.MirrorStatus(ctx, key(repo, mirror))
	if err != nil || raw == nil {
		return Status{}, false
	}
	var shared Status
	if json.Unmarshal(raw, &shared) != nil {
		return Status{}, false
	}
	return shared, true
}

// Run syncs mirrors as they become due until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	defer func() {
		// Another replica may run them next: its record is the one to show.
		r.mu.Lock()
		clear(r.state)
		r.mu.Unlock()
	}()
	for {
		r.pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-r.wake:
		}
	}
}

// pass runs every mirror that is due, one after another.
func (r *Runner) pass(ctx context.Context) {
	repos, err := r.repos.List(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("mirrors: list repositories", "err", err)
		}
		return
	}
	now := time.Now()
	seen := map[string]bool{}
	type job struct {
		repo string
		m    gitserver.Mirror
	}
	var due []job
	r.mu.Lock()
	for _, repo := range repos {
		for _, m := range repo.Mirrors {
			k := key(repo.Name, m.Name)
			seen[k] = true
			st, ok := r.state[k]
			if !ok {
				// New (or the server started): a push mirror has everything
				// to push, a pull mirror everything to fetch.
				st = &Status{Direction: m.Direction, Pending: m.Direction == gitserver.MirrorPush}
				r.state[k] = st
			}
			switch {
			case now.Before(st.NextAttempt):
			case m.Direction == gitserver.MirrorPush && st.Pending:
				due = append(due, job{repo.Name, m})
			case m.Direction == gitserver.MirrorPull && (st.LastAttempt.IsZero() || st.Failures > 0 || !now.Before(st.LastAttempt.Add(m.Interval))):
				due = append(due, job{repo.Name, m})
			}
		}
	}
	for k := range r.state {
		if !seen[k] {
			delete(r.state, k) // the mirror, or its repository, was deleted
		}
	}
	r.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return key(due[i].repo, due[i].m.Name) < key(due[j].repo, due[j].m.Name) })
	for _, j := range due {
		if ctx.Err() != nil {
			return
		}
		r.sync(ctx, j.repo, j.m)
	}
}

// sync runs one mirror once and notes the outcome.
func (r *Runner) sync(ctx context.Context, repo string, m gitserver.Mirror) {
	k := key(repo, m.Name)
	r.mu.Lock()
	if st, ok := r.state[k]; ok {
		st.Pending = false // a push arriving from now on sets it again
	}
	r.mu.Unlock()
	start := time.Now()
	err := r.attempt(ctx, repo, m)
	if ctx.Err() != nil && err != nil {
		err = nil // shutting down: not the mirror's failure; the next start syncs it
		r.mu.Lock()
		if st, ok := r.state[k]; ok && m.Direction == gitserver.MirrorPush {
			st.Pending = true
		}
		r.mu.Unlock()
		return
	}
	r.mu.Lock()
	st, ok := r.state[k]
	if !ok {
		r.mu.Unlock()
		return
	}
	r.outcome(repo, m, st, start, err)
	recorded := *st
	r.mu.Unlock()
	if r.shared != nil {
		raw, _ := json.Marshal(recorded)
		if err := r.shared.PutMirrorStatus(ctx, k, raw); err != nil && ctx.Err() == nil {
			r.log.Warn("mirror: record its status", "repository", repo, "mirror", m.Name, "err", err)
		}
	}
}

// outcome notes how an attempt that started at start ended; r.mu is held.
func (r *Runner) outcome(repo string, m gitserver.Mirror, st *Status, start time.Time, err error) {
	st.LastAttempt = start
	if err == nil {
		st.LastSuccess, st.LastError, st.Failures, st.NextAttempt = time.Now(), "", 0, time.Time{}
		return
	}
	st.Failures++
	st.LastError = err.Error()
	if m.Direction == gitserver.MirrorPush {
		st.Pending = true
	}
	wait := firstRetry << min(st.Failures-1, 10)
	if wait > maxRetry {
		wait = maxRetry
	}
	st.NextAttempt = time.Now().Add(wait)
	r.log.Warn("mirror failed; will retry", "repository", repo, "mirror", m.Name, "direction", m.Direction,
		"failures", st.Failures, "retry", st.NextAttempt.Format(time.RFC3339), "err", err)
}

func (r *Runner) attempt(ctx context.Context, repo string, m gitserver.Mirror) error {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	password := ""
	if m.PasswordSecret != "" {
		v, err := r.secrets.MirrorSecret(ctx, m.PasswordSecret)
		if err != nil {
			return errors.New("password secret " + m.PasswordSecret + ": " + err.Error())
		}
		password = string(v)
	}
	if m.Direction == gitserver.MirrorPull {
		n, err := r.repos.PullMirror(ctx, repo, m, password)
		if err == nil && n > 0 {
			r.log.Info("pull mirror fetched", "repository", repo, "mirror", m.Name, "references", n)
		}
		return err
	}
	return r.repos.PushMirror(ctx, repo, m, password)
}
