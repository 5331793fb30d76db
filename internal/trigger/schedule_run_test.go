package trigger_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/trigger"
)

// countingService counts how often the scheduler reads every pipeline, and
// signals once it has looked at the clock (once per due check) enough times.
type countingService struct {
	*service.Service
	reads   atomic.Int64
	looks   atomic.Int64
	enough  int64
	lookedC chan struct{}
	once    sync.Once
}

func (c *countingService) Pipelines(ctx context.Context) ([]service.PipelineInfo, error) {
	c.reads.Add(1)
	return c.Service.Pipelines(ctx)
}

func (c *countingService) Now() time.Time {
	if c.looks.Add(1) >= c.enough {
		c.once.Do(func() { close(c.lookedC) })
	}
	return c.Service.Now()
}

// An idle scheduler must not read every pipeline at every look (it used to,
// every second: with 1,000 pipelines, most of an idle server's CPU). It reads
// them once, again when a declaration changes, and checks only the schedule
// triggers it found in between; a pipeline applied while it runs is seen at
// once, through the service's notification.
func TestSchedulerReadsPipelinesOnlyWhenTheyChange(t *testing.T) {
	f := newFixture(t)
	f.apply("name: plain\nstages:\n  - name: S\n    actions:\n      - name: a\n        provider: Noop\n")
	svc := &countingService{Service: f.svc, enough: 50, lookedC: make(chan struct{})}
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		trigger.NewScheduler(svc).Run(ctx, time.Millisecond)
	}()
	defer func() { cancel(); <-done }()

	// The schedule's first look records its anchor through the service's
	// store: wait for it by watching the trigger's state appear.
	f.apply("name: nightly\nexecutionMode: PARALLEL\nstages:\n  - name: S\n    actions:\n      - name: a\n        provider: Noop\ntriggers:\n  - providerType: Schedule\n    schedule: rate(5 minutes)\n")
	select {
	case <-svc.lookedC:
	case <-time.After(30 * time.Second):
		t.Fatalf("the scheduler did not look at the new schedule trigger 50 times in 30 s (%d looks, %d reads)", svc.looks.Load(), svc.reads.Load())
	}
	if r := svc.reads.Load(); r > 3 {
		t.Fatalf("the scheduler read every pipeline %d times for %d looks; want once at start and once per change", r, svc.looks.Load())
	}
	// The trigger found through the notification fires when its tick is due.
	f.clock.Add(6 * time.Minute)
	timeout := time.After(30 * time.Second)
	for {
		changed := f.svc.Changed() // closed when an execution starts
		if len(f.executions("nightly")) > 0 {
			break
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatal("the schedule trigger applied while the scheduler ran never fired")
		}
	}
}
