package trigger_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store/sqlite"
	"github.com/sluice-ci/sluice/internal/trigger"
)

// These tests drive the triggers over a real service on a real SQLite store,
// with a clock they move by hand.

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	t     testing.TB
	ctx   context.Context
	svc   *service.Service
	clock *clock
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	arts, err := artifact.NewDisk(filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	svc := service.New(st, arts, service.Config{Lease: 30 * time.Second, Now: c.Now})
	return &fixture{t: t, ctx: ctx, svc: svc, clock: c}
}

func (f *fixture) apply(src string) {
	f.t.Helper()
	p, err := pipeline.Parse("p.yml", []byte(src))
	if err != nil {
		f.t.Fatalf("parse: %v", err)
	}
	if _, err := f.svc.ApplyPipeline(f.ctx, p); err != nil {
		f.t.Fatalf("apply: %v", err)
	}
}

func (f *fixture) executions(name string) []*engine.Execution {
	f.t.Helper()
	es, err := f.svc.Executions(f.ctx, name, 0, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	return es
}

const hosted = `
name: app
executionMode: PARALLEL
stages:
  - name: Source
    actions:
      - name: src
        provider: Git
        configuration: {RepositoryName: repo, BranchName: main}
        outputArtifacts: [code]
  - name: Build
    actions:
      - name: make
        provider: Noop
        inputArtifacts: [code]
`

var (
	c1 = strings.Repeat("1", 40)
	c2 = strings.Repeat("2", 40)
)

type heads struct{ head string }

func (h *heads) Head(ctx context.Context, url, branch string, secret []byte) (string, error) {
	return h.head, nil
}

func TestPollStartsOnlyWhenTheHeadMoves(t *testing.T) {
	f := newFixture(t)
	f.apply(strings.Replace(hosted, "provider: Git\n        configuration: {RepositoryName: repo, BranchName: main}",
		"provider: GitRemote\n        configuration: {Url: \"file:///srv/repo.git\", BranchName: main}", 1))
	remote := &heads{head: c1}
	poller := trigger.NewPoller(f.svc, remote)
	for range 2 {
		if err := poller.Once(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(f.executions("app")); n != 0 {
		t.Fatalf("the first look at a branch started %d executions", n)
	}
	remote.head = c2
	for range 2 {
		if err := poller.Once(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	es := f.executions("app")
	if len(es) != 1 || es[0].Trigger.Type != service.TriggerPoll || es[0].SourceRevisions[0].RevisionID != c2 {
		t.Fatalf("after the head moved: %d executions %+v", len(es), es)
	}
}

func TestScheduleFiresOncePerTick(t *testing.T) {
	f := newFixture(t)
	f.apply(`
name: nightly
executionMode: PARALLEL
stages:
  - name: S
    actions:
      - name: a
        provider: Noop
triggers:
  - providerType: Schedule
    schedule: rate(5 minutes)
`)
	sched := trigger.NewScheduler(f.svc)
	tick := func(d time.Duration) int {
		f.clock.Add(d)
		if err := sched.Once(f.ctx); err != nil {
			t.Fatal(err)
		}
		return len(f.executions("nightly"))
	}
	if n := tick(0); n != 0 {
		t.Fatalf("first look started %d", n)
	}
	if n := tick(4 * time.Minute); n != 0 {
		t.Fatalf("before the first tick: %d", n)
	}
	if n := tick(90 * time.Second); n != 1 {
		t.Fatalf("after the first tick: %d", n)
	}
	if n := tick(time.Second); n != 1 {
		t.Fatalf("the same tick fired twice: %d", n)
	}
	// Twenty minutes down: the missed ticks fire once, not four times.
	if n := tick(20 * time.Minute); n != 2 {
		t.Fatalf("after missed ticks: %d", n)
	}
	e := f.executions("nightly")[0]
	if e.Trigger.Type != service.TriggerSchedule || !strings.Contains(e.Trigger.Detail, "rate(5 minutes)") {
		t.Fatalf("trigger = %+v", e.Trigger)
	}
}
