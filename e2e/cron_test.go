package e2e

import (
	"strings"
	"testing"
	"time"
)

// never checks, polling for d, that cond stays false: for what must not
// happen, such as a second start of one tick.
func never(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			t.Fatalf("%s", what)
		}
		time.Sleep(poll)
	}
}

// TestScheduleFires waits for a real schedule's tick: cron(* * * * ? *)
// fires at the next minute boundary after the server first sees it, up to a
// minute away, so it runs beside the other tests (it is in a file whose name
// sorts early). TestScheduleValidation checks bad expressions;
// internal/service's tests, with a fake clock, the rest of the semantics.
func TestScheduleFires(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits for the next minute")
	}
	s := startServer(t)
	applied := time.Now().UTC()
	s.apply("testdata/schedule.yml")
	if n := s.lastTrigger("every-minute"); n != nil {
		t.Fatalf("lastTrigger right after apply = %+v, want none", n)
	}

	var note *triggerNote
	eventually(t, 75*time.Second, "the schedule to fire", func() bool {
		note = s.lastTrigger("every-minute")
		return note != nil
	})
	fired := time.Now().UTC()
	t.Logf("applied at %s, fired at %s", applied.Format(time.StampMilli), fired.Format(time.StampMilli))
	e := s.wantStarted("every-minute", *note, 1, "Succeeded")
	wantEqual(t, "trigger type", e.Trigger.TriggerType, "Schedule")
	wantEqual(t, "lastTrigger type", note.TriggerType, "Schedule")
	wantContains(t, "trigger detail", e.Trigger.TriggerDetail, "cron(* * * * ? *)")
	_, tickText, ok := strings.Cut(e.Trigger.TriggerDetail, "tick ")
	tick, err := time.Parse(time.RFC3339, strings.TrimSpace(tickText))
	if !ok || err != nil {
		t.Fatalf("trigger detail %q names no tick (%v)", e.Trigger.TriggerDetail, err)
	}
	if tick.Second() != 0 || tick.Nanosecond() != 0 || tick.Before(applied.Truncate(time.Minute)) || tick.After(fired) {
		t.Errorf("tick %s: want a minute boundary between %s and %s", tick, applied, fired)
	}
	if e.StartTime.Before(tick) {
		t.Errorf("execution started at %s, before its tick %s", e.StartTime, tick)
	}
	wantContains(t, "Say log", s.ok("logs", "every-minute", e.PipelineExecutionID, "Say"), "tick from "+e.PipelineExecutionID)

	// After a crash, the tick that fired does not fire again. The scheduler
	// looks every second; watch for a few looks, well before the next tick.
	s.kill9()
	s.boot()
	window := 2 * time.Second
	if next := tick.Add(time.Minute); time.Now().Add(window + 5*time.Second).After(next) {
		t.Logf("too close to the next tick (%s) to check the restart", next)
		return
	}
	never(t, window, "a second execution for the same tick after a restart", func() bool {
		return len(s.executions("every-minute")) != 1
	})
	if n := s.lastTrigger("every-minute"); n == nil || n.PipelineExecutionID != e.PipelineExecutionID {
		t.Errorf("lastTrigger after the restart = %+v, want still the one that started %s", n, e.PipelineExecutionID)
	}
}
