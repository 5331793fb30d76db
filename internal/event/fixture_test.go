package event_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/service/servicetest"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/event"
	"github.com/sluice-ci/sluice/internal/notify"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
)

// These tests drive rules, deliveries and notifications over a real service
// on a real SQLite store, and play the worker themselves through the job
// protocol, as the service's own tests do.

// clock is moved by hand.
type clock = servicetest.Clock

type fixture struct {
	t      testing.TB
	ctx    context.Context
	svc    *service.Service
	store  store.Store
	runner *event.Runner
	rules  *event.Rules
	clock  *clock
}

// newFixture is a fixture on a clock moved by hand, whose runner runs only
// when a test says so.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	st, arts := servicetest.Stores(t)
	c := servicetest.NewClock()
	svc := service.New(st, arts, service.Config{Lease: 30 * time.Second, Now: c.Now, SecretKey: make([]byte, service.SecretKeySize)})
	runner := event.NewRunner(svc, event.Config{})
	svc.SetApprovalNotifier(runner)
	return &fixture{t: t, ctx: ctx, svc: svc, store: st, runner: runner, rules: event.NewRules(svc), clock: c}
}

// newLiveFixture is a fixture on the real clock whose rule runner and
// deliverer run until the test ends.
func newLiveFixture(t *testing.T, cfg event.Config) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, arts := servicetest.Stores(t)
	if cfg.Deliveries.Backoff.Base == 0 {
		cfg.Deliveries.Backoff = notify.Backoff{Base: time.Millisecond, Max: 20 * time.Millisecond}
	}
	svc := service.New(st, arts, service.Config{
		SecretKey: make([]byte, service.SecretKeySize), BaseURL: "http://sluice.test:8080",
	})
	runner := event.NewRunner(svc, cfg)
	svc.SetApprovalNotifier(runner)
	var wg sync.WaitGroup
	for _, loop := range []func(context.Context){runner.RunRules, runner.RunDeliveries} {
		wg.Add(1)
		go func() { defer wg.Done(); loop(ctx) }()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return &fixture{t: t, ctx: ctx, svc: svc, store: st, runner: runner, rules: event.NewRules(svc), clock: servicetest.NewClockAt(time.Now())}
}

func (f *fixture) apply(src string) {
	f.t.Helper()
	servicetest.Apply(f.t, f.svc, src)
}

func (f *fixture) start(name string) string {
	f.t.Helper()
	e, err := f.svc.StartExecution(f.ctx, service.StartRequest{Pipeline: name})
	if err != nil {
		f.t.Fatalf("start: %v", err)
	}
	return e.ID
}

var allProviders = []string{"Noop", "Commands", "Git", "CodeCommit", "GitRemote"}

// claim takes the next job, which must be there already.
func (f *fixture) claim(worker string) *service.ClaimedJob {
	f.t.Helper()
	j, err := f.svc.ClaimJob(f.ctx, worker, allProviders, 0)
	if err != nil {
		f.t.Fatalf("claim: %v", err)
	}
	if j == nil {
		f.t.Fatal("claim: no job queued")
	}
	return j
}

func (f *fixture) execution(name, id string) *engine.Execution {
	f.t.Helper()
	e, err := f.svc.Execution(f.ctx, name, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

func (f *fixture) action(name, id, action string) *engine.Action {
	f.t.Helper()
	_, a, err := service.FindAction(f.execution(name, id), action)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// react runs the service's reactor until it has read every event.
func (f *fixture) react() {
	f.t.Helper()
	for range 100 {
		n, err := f.svc.ReactOnce(f.ctx)
		if err != nil {
			f.t.Fatalf("react: %v", err)
		}
		if n == 0 {
			return
		}
	}
	f.t.Fatal("the reactor does not settle")
}

const approvalPipeline = servicetest.ApprovalPipeline

func (f *fixture) answer(id string, approved bool, comment string) error {
	a := f.action("release", id, "review")
	return f.svc.PutApprovalResult(f.ctx, service.ApprovalAnswer{Pipeline: "release", Stage: "Approve", Action: "review",
		Token: a.JobID, Approved: approved, Summary: comment, Principal: "alice"})
}
