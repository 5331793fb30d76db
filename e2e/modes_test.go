package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// waiting reports whether e waits to enter a stage.
func waiting(e execution) bool { return e.WaitingFor != "" }

func TestSupersededMode(t *testing.T) {
	t.Parallel()

	// Stage One blocks the first execution; the two started after it wait to
	// enter stage One, and the newer replaces the older.
	t.Run("AtFirstStage", func(t *testing.T) {
		t.Parallel()
		s := startServer(t)
		s.apply("testdata/superseded.yml")
		dir := s.scratch("gates")
		open := filepath.Join(dir, "open")
		touch(t, open)
		gate := filepath.Join(dir, "go")
		vars := []string{"GATE1=" + gate, "GATE2=" + open}

		first := s.start("superseded", vars...)
		s.waitAction("superseded", first, "Wait1", "InProgress")
		middle := s.start("superseded", vars...)
		s.waitFor("superseded", middle, 30*time.Second, "to wait for stage One", waiting)
		last := s.start("superseded", vars...)

		e := s.waitFor("superseded", middle, 10*time.Second, "to be superseded", execution.terminal)
		wantEqual(t, "middle execution", e.Status, "Superseded")
		wantContains(t, "middle summary", e.StatusSummary, last)
		for _, st := range e.Stages {
			wantEqual(t, "middle stage "+st.Name, st.Status, "NotStarted")
		}
		touch(t, gate)
		s.waitEnd("superseded", first, "Succeeded")
		s.waitEnd("superseded", last, "Succeeded")
	})

	// The first execution holds stage Two; the next two pass stage One and
	// wait for Two in turn.
	t.Run("BetweenStages", func(t *testing.T) {
		t.Parallel()
		s := startServer(t)
		s.apply("testdata/superseded.yml")
		dir := s.scratch("gates")
		open := filepath.Join(dir, "open")
		touch(t, open)
		gate := filepath.Join(dir, "go")
		vars := []string{"GATE1=" + open, "GATE2=" + gate}

		first := s.start("superseded", vars...)
		s.waitAction("superseded", first, "Wait2", "InProgress")
		middle := s.start("superseded", vars...)
		e := s.waitFor("superseded", middle, 30*time.Second, "to wait for stage Two", waiting)
		wantEqual(t, "middle stage One", e.stage(t, "One").Status, "Succeeded")
		wantContains(t, "middle waitingFor", e.WaitingFor, "Two", first)
		last := s.start("superseded", vars...)

		e = s.waitFor("superseded", middle, 30*time.Second, "to be superseded", execution.terminal)
		wantEqual(t, "middle execution", e.Status, "Superseded")
		wantContains(t, "middle summary", e.StatusSummary, last)
		wantEqual(t, "middle stage Two", e.stage(t, "Two").Status, "NotStarted")
		e = s.waitFor("superseded", last, 30*time.Second, "to wait for stage Two", waiting)
		wantEqual(t, "last", e.Status, "InProgress")

		touch(t, gate)
		s.waitEnd("superseded", first, "Succeeded")
		s.waitEnd("superseded", last, "Succeeded")
		var list []executionSummary
		s.json(&list, "executions", "superseded")
		var statuses []string
		for _, x := range list {
			statuses = append(statuses, x.Status)
		}
		wantEqual(t, "statuses, newest first", strings.Join(statuses, " "), "Succeeded Superseded Succeeded")
	})
}

func TestQueuedMode(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.apply("testdata/queued.yml")
	dir := s.scratch("queue")

	var ids []string
	ids = append(ids, s.start("queued", "DIR="+dir))
	s.waitAction("queued", ids[0], "Wait", "InProgress")
	for range 2 {
		id := s.start("queued", "DIR="+dir)
		s.waitFor("queued", id, 30*time.Second, "to wait for stage One", waiting)
		ids = append(ids, id)
	}
	e := s.execution("queued", ids[2])
	wantContains(t, "third waitingFor", e.WaitingFor, "One")

	touch(t, filepath.Join(dir, "go"))
	var starts []time.Time
	for _, id := range ids {
		e := s.waitEnd("queued", id, "Succeeded")
		starts = append(starts, *e.action(t, "Record").StartTime)
	}
	if !slices.IsSortedFunc(starts, func(a, b time.Time) int { return a.Compare(b) }) {
		t.Errorf("stage Two start times %v do not follow the start order", starts)
	}
	wantEqual(t, "order.log", readFile(t, filepath.Join(dir, "order.log")), strings.Join(ids, "\n")+"\n")
}

func TestParallelMode(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.apply("testdata/parallel.yml")
	dir := s.scratch("meet")
	a := s.start("parallel", "DIR="+dir)
	b := s.start("parallel", "DIR="+dir)
	// Each Meet succeeds only if the other execution is in stage One with it.
	for _, id := range []string{a, b} {
		e := s.waitEnd("parallel", id, "Succeeded")
		wantEqual(t, "Meet", e.action(t, "Meet").Status, "Succeeded")
	}
}
