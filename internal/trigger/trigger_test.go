package trigger_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/service/servicetest"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/trigger"
)

// These tests drive the triggers over a real service on a real SQLite store,
// with a clock they move by hand.

// clock is moved by hand.
type clock = servicetest.Clock

type fixture struct {
	t     testing.TB
	ctx   context.Context
	svc   *service.Service
	clock *clock
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	st, arts := servicetest.Stores(t)
	c := servicetest.NewClock()
	svc := service.New(st, arts, service.Config{Lease: 30 * time.Second, Now: c.Now, SecretKey: make([]byte, service.SecretKeySize)})
	return &fixture{t: t, ctx: ctx, svc: svc, clock: c}
}

func (f *fixture) apply(src string) {
	f.t.Helper()
	servicetest.Apply(f.t, f.svc, src)
}

func (f *fixture) executions(name string) []*engine.Execution {
	f.t.Helper()
	es, err := f.svc.Executions(f.ctx, name, 0, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	return es
}

const hosted = servicetest.HostedPipeline

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
