package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

type event struct {
	DetailType string         `json:"detail-type"`
	Seq        int64          `json:"seq"`
	Resources  []string       `json:"resources"`
	Detail     map[string]any `json:"detail"`
}

// killMidAction starts n executions of name, waits until every one runs its
// Sleep action (the command itself, not just the job), kills the server with
// SIGKILL and starts it again on the same data directory.
func killMidAction(t *testing.T, s *server, name string, n int) []string {
	t.Helper()
	dir := s.scratch("marks")
	var ids []string
	for range n {
		ids = append(ids, s.start(name, "DIR="+dir))
	}
	for _, id := range ids {
		e := s.waitAction(name, id, "Sleep", "InProgress")
		wantEqual(t, "stage Slow", e.stage(t, "Slow").Status, "InProgress")
		waitFile(t, filepath.Join(dir, fmt.Sprintf("slow-%s-1", id)))
	}
	oldURL := s.url
	s.kill9()
	s.boot()
	t.Logf("server killed at %s, restarted at %s", oldURL, s.url)
	return ids
}

func TestKill9Durability(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.apply("testdata/durable.yml")
	ids := killMidAction(t, s, "durable", 2)

	for _, id := range ids {
		e := s.waitFor("durable", id, 45*time.Second, "to end", execution.terminal)
		if e.Status != "Succeeded" {
			t.Fatalf("execution %s ended %s (%s), want Succeeded\n%s", id, e.Status, e.StatusSummary, s.cli("execution", "get", "durable", id).stdout)
		}
		wantEqual(t, "Make attempt", e.action(t, "Make").Attempt, 1)
		wantEqual(t, "Sleep attempt (the interrupted action)", e.action(t, "Sleep").Attempt, 2)
		wantEqual(t, "Check attempt", e.action(t, "Check").Attempt, 1)
		for _, st := range e.Stages {
			wantEqual(t, "stage "+st.Name, st.Status, "Succeeded")
		}
		// Stage 1's artifact survived the crash.
		out := s.scratch("artifact-" + id)
		s.ok("artifact", "download", "durable", id, "made", "--out", out)
		wantEqual(t, "made.txt", readFile(t, filepath.Join(out, "made.txt")), "made for "+id+"\n")
	}

	// Every stage of both executions started and succeeded, and so did they.
	var events []event
	s.json(&events, "events", "--pipeline", "durable")
	type key struct{ exec, stage, state string }
	seen := map[key]int{}
	var last int64
	for _, ev := range events {
		if ev.Seq <= last {
			t.Errorf("events out of order: seq %d after %d", ev.Seq, last)
		}
		last = ev.Seq
		id, _ := ev.Detail["execution-id"].(string)
		state, _ := ev.Detail["state"].(string)
		switch ev.DetailType {
		case "CodePipeline Stage Execution State Change":
			stage, _ := ev.Detail["stage"].(string)
			seen[key{id, stage, state}]++
		case "CodePipeline Pipeline Execution State Change":
			seen[key{id, "", state}]++
		}
	}
	for _, id := range ids {
		for _, state := range []string{"STARTED", "SUCCEEDED"} {
			if seen[key{id, "", state}] != 1 {
				t.Errorf("execution %s: %d pipeline %s events, want 1", id, seen[key{id, "", state}], state)
			}
			for _, stage := range []string{"Source", "Slow", "Finish"} {
				if seen[key{id, stage, state}] != 1 {
					t.Errorf("execution %s: %d %s events for stage %s, want 1", id, seen[key{id, stage, state}], state, stage)
				}
			}
		}
	}
}

func TestKill9MaxAttempts(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.apply("testdata/durable-once.yml")
	ids := killMidAction(t, s, "durable-once", 1)

	e := s.waitFor("durable-once", ids[0], 30*time.Second, "to end", execution.terminal)
	wantEqual(t, "execution", e.Status, "Failed")
	sleep := e.action(t, "Sleep")
	wantEqual(t, "Sleep", sleep.Status, "Failed")
	wantEqual(t, "Sleep attempt", sleep.Attempt, 1)
	if !regexp.MustCompile(`(?i)worker.*(lost|lease)|lease.*expired`).MatchString(sleep.Summary) {
		t.Errorf("Sleep summary = %q, want it to say the worker was lost or its lease expired", sleep.Summary)
	}
	wantEqual(t, "stage Finish", e.stage(t, "Finish").Status, "NotStarted")
	// Stage 1's artifact is still there for whoever looks into the failure.
	out := s.scratch("artifact")
	s.ok("artifact", "download", "durable-once", ids[0], "made", "--out", out)
	wantEqual(t, "made.txt", readFile(t, filepath.Join(out, "made.txt")), "made for "+ids[0]+"\n")
}
