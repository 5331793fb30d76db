package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFailure(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.apply("testdata/failure.yml")

	// start --wait: exit non-zero, print Failed.
	open := s.scratch("open")
	touch(t, filepath.Join(open, "go"))
	r := s.fails("start", "failure", "--var", "DIR="+open, "--wait")
	ls := lines(r.stdout)
	if len(ls) != 2 || ls[1] != "Failed" {
		t.Errorf("start --wait printed %q, want the id then Failed", r.stdout)
	}
	wantContains(t, "start --wait stderr", r.stderr, "Failed", "Broken", `exited with code 3`)

	// Broken fails while Sibling still runs: the stage waits for Sibling.
	dir := s.scratch("gate")
	id := s.start("failure", "DIR="+dir)
	e := s.waitAction("failure", id, "Broken", "Failed")
	wantEqual(t, "Sibling while Broken has failed", e.actionStatus("Sibling"), "InProgress")
	wantEqual(t, "execution while Sibling runs", e.Status, "InProgress")
	wantEqual(t, "stage Build while Sibling runs", e.stage(t, "Build").Status, "InProgress")
	touch(t, filepath.Join(dir, "go"))
	e = s.waitEnd("failure", id, "Failed")

	broken := e.action(t, "Broken")
	wantContains(t, "Broken summary", broken.Summary, "command 2", `sh -c 'exit 3'`, "exited with code 3")
	wantEqual(t, "Sibling", e.action(t, "Sibling").Status, "Succeeded")
	wantEqual(t, "stage Build", e.stage(t, "Build").Status, "Failed")
	wantEqual(t, "stage Deploy", e.stage(t, "Deploy").Status, "NotStarted")
	wantEqual(t, "Ship", e.action(t, "Ship").Status, "NotStarted")
	wantContains(t, "execution summary", e.StatusSummary, "Broken", "exited with code 3")
	sib := e.action(t, "Sibling")
	if sib.LastUpdateTime == nil || sib.LastUpdateTime.After(e.LastUpdateTime) {
		t.Errorf("Sibling ended at %v, after the execution's last update %v", sib.LastUpdateTime, e.LastUpdateTime)
	}
	log := s.ok("logs", "failure", id, "Broken")
	wantContains(t, "Broken log", log, "before\n")
	if strings.Contains(log, "never\n") {
		t.Errorf("the command after the failing one ran:\n%s", log)
	}
	wantContains(t, "Sibling log", s.ok("logs", "failure", id, "Sibling"), "sibling done\n")

	// An unresolvable reference fails its action, naming the reference.
	s.apply("testdata/unresolved.yml")
	id = s.start("unresolved")
	e = s.waitEnd("unresolved", id, "Failed")
	wantEqual(t, "Nothing", e.action(t, "Nothing").Status, "Succeeded")
	use := e.action(t, "Use")
	wantEqual(t, "Use", use.Status, "Failed")
	wantContains(t, "Use summary", use.Summary, "#{nope.X}")
	wantContains(t, "execution summary", e.StatusSummary, "#{nope.X}")
}

func TestRunOrder(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.apply("testdata/runorder.yml")
	dir := s.scratch("meet")
	id := s.start("runorder", "DIR="+dir)
	e := s.waitEnd("runorder", id, "Succeeded")
	a, b, c := e.action(t, "A"), e.action(t, "B"), e.action(t, "C")
	for _, x := range []actionExecution{a, b, c} {
		wantEqual(t, x.Name, x.Status, "Succeeded")
		if x.StartTime == nil || x.LastUpdateTime == nil {
			t.Fatalf("action %s has no start or end time", x.Name)
		}
	}
	if c.StartTime.Before(*a.LastUpdateTime) || c.StartTime.Before(*b.LastUpdateTime) {
		t.Errorf("C (runOrder 2) started at %v, before A (%v) or B (%v) ended", c.StartTime, a.LastUpdateTime, b.LastUpdateTime)
	}
}

func TestStopAndWait(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.apply("testdata/stop.yml")
	dir := s.scratch("gate")
	id := s.start("stop", "DIR="+dir)
	waitFile(t, filepath.Join(dir, "started"))

	out := s.ok("stop", "stop", id, "--reason", "enough")
	wantContains(t, "stop output", out, id)
	e := s.execution("stop", id)
	wantEqual(t, "execution after stop", e.Status, "Stopping")
	wantEqual(t, "Work after stop", e.actionStatus("Work"), "InProgress")

	// The running command goes on to its end.
	touch(t, filepath.Join(dir, "go"))
	e = s.waitEnd("stop", id, "Stopped")
	wantEqual(t, "Work", e.action(t, "Work").Status, "Succeeded")
	wantEqual(t, "stage Deploy", e.stage(t, "Deploy").Status, "NotStarted")
	wantEqual(t, "Ship", e.action(t, "Ship").Status, "NotStarted")
	wantContains(t, "execution summary", e.StatusSummary, "enough")
	wantContains(t, "Work log", s.ok("logs", "stop", id, "Work"), "finished\n")

	// A stopped execution cannot be stopped again.
	r := s.fails("stop", "stop", id)
	wantContains(t, "second stop", r.stderr, "Stopped")
}

func TestStopAbandon(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.apply("testdata/abandon.yml")
	dir := s.scratch("pid")
	id := s.start("abandon", "DIR="+dir)
	pidFile := filepath.Join(dir, "pid")
	waitFile(t, pidFile)
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, pidFile)))
	if err != nil {
		t.Fatal(err)
	}
	if !alive(pid) {
		t.Fatalf("sleep (pid %d) is not running before the stop", pid)
	}

	s.ok("stop", "abandon", id, "--abandon", "--reason", "taking too long")
	// Well before the sleep's 300 seconds.
	e := s.waitFor("abandon", id, 15*time.Second, "to end", execution.terminal)
	wantEqual(t, "execution", e.Status, "Stopped")
	hang := e.action(t, "Hang")
	wantEqual(t, "Hang", hang.Status, "Abandoned")
	wantContains(t, "Hang summary", hang.Summary, "taking too long")
	wantEqual(t, "stage Deploy", e.stage(t, "Deploy").Status, "NotStarted")
	eventually(t, 15*time.Second, "sleep (pid "+strconv.Itoa(pid)+") to be gone", func() bool { return !alive(pid) })
}

// alive reports whether pid is a running process. A zombie is not running:
// where PID 1 does not reap orphans, a killed process's entry can stay.
func alive(pid int) bool {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// pid (comm) state ...; comm may hold spaces, so look after the last ')'.
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return true
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}

func TestRetry(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.apply("testdata/retry.yml")

	// Failed actions only.
	dir := s.scratch("once")
	id := s.start("retry", "DIR="+dir)
	e := s.waitEnd("retry", id, "Failed")
	wantEqual(t, "Flaky", e.action(t, "Flaky").Status, "Failed")
	wantEqual(t, "Steady", e.action(t, "Steady").Status, "Succeeded")
	wantEqual(t, "stage Deploy", e.stage(t, "Deploy").Status, "NotStarted")

	wantContains(t, "retry output", s.ok("retry", "retry", id, "Build"), "Build")
	e = s.waitEnd("retry", id, "Succeeded")
	wantEqual(t, "Flaky attempt after retry", e.action(t, "Flaky").Attempt, 2)
	wantEqual(t, "Steady attempt after retry", e.action(t, "Steady").Attempt, 1)
	wantEqual(t, "stage Build attempt", e.stage(t, "Build").Attempt, 2)
	wantEqual(t, "Ship", e.action(t, "Ship").Status, "Succeeded")
	wantEqual(t, "steady.log", readFile(t, filepath.Join(dir, "steady.log")), "attempt 1\n")
	wantContains(t, "Flaky log", s.ok("logs", "retry", id, "Flaky"), "second time lucky")
	var list []executionSummary
	s.json(&list, "executions", "retry")
	if len(list) != 1 || list[0].PipelineExecutionID != id {
		t.Errorf("executions = %+v, want only %s: a retry continues the same execution", list, id)
	}
	// A succeeded execution has nothing to retry.
	r := s.fails("retry", "retry", id, "Build")
	wantContains(t, "retry of a succeeded execution", r.stderr, "Succeeded")

	// --all re-runs the succeeded sibling too.
	dir = s.scratch("all")
	id = s.start("retry", "DIR="+dir)
	s.waitEnd("retry", id, "Failed")
	s.ok("retry", "retry", id, "Build", "--all")
	e = s.waitEnd("retry", id, "Succeeded")
	wantEqual(t, "Flaky attempt after retry --all", e.action(t, "Flaky").Attempt, 2)
	wantEqual(t, "Steady attempt after retry --all", e.action(t, "Steady").Attempt, 2)
	wantEqual(t, "steady.log", readFile(t, filepath.Join(dir, "steady.log")), "attempt 1\nattempt 2\n")
}

type pipelineState struct {
	PipelineName string `json:"pipelineName"`
	StageStates  []struct {
		StageName              string `json:"stageName"`
		InboundTransitionState struct {
			Enabled        bool   `json:"enabled"`
			DisabledReason string `json:"disabledReason"`
		} `json:"inboundTransitionState"`
		LatestExecution *struct {
			PipelineExecutionID string `json:"pipelineExecutionId"`
			Status              string `json:"status"`
		} `json:"latestExecution"`
		Waiting []struct {
			PipelineExecutionID string `json:"pipelineExecutionId"`
			Reason              string `json:"reason"`
		} `json:"waiting"`
	} `json:"stageStates"`
}

func TestTransitions(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.apply("testdata/transitions.yml")
	wantContains(t, "disable", s.ok("transition", "disable", "transitions", "Deploy", "--reason", "freeze"), "Deploy", "disabled")

	id := s.start("transitions")
	e := s.waitFor("transitions", id, 30*time.Second, "to wait before Deploy", func(e execution) bool {
		return e.WaitingFor != ""
	})
	wantEqual(t, "execution", e.Status, "InProgress")
	wantContains(t, "waitingFor", e.WaitingFor, "Deploy", "disabled", "freeze")
	wantEqual(t, "stage Build", e.stage(t, "Build").Status, "Succeeded")
	wantEqual(t, "stage Deploy", e.stage(t, "Deploy").Status, "NotStarted")
	wantContains(t, "execution get", s.ok("execution", "get", "transitions", id), "freeze")

	var st pipelineState
	s.json(&st, "status", "transitions")
	if len(st.StageStates) != 2 {
		t.Fatalf("status: %+v", st)
	}
	build, deploy := st.StageStates[0], st.StageStates[1]
	wantEqual(t, "Build inbound enabled", build.InboundTransitionState.Enabled, true)
	wantEqual(t, "Deploy inbound enabled", deploy.InboundTransitionState.Enabled, false)
	wantEqual(t, "Deploy disabledReason", deploy.InboundTransitionState.DisabledReason, "freeze")
	if len(deploy.Waiting) != 1 || deploy.Waiting[0].PipelineExecutionID != id {
		t.Errorf("Deploy waiting = %+v, want %s", deploy.Waiting, id)
	}
	if build.LatestExecution == nil || build.LatestExecution.PipelineExecutionID != id || build.LatestExecution.Status != "Succeeded" {
		t.Errorf("Build latestExecution = %+v, want %s Succeeded", build.LatestExecution, id)
	}
	wantContains(t, "status", s.ok("status", "transitions"), "disabled: freeze")

	wantContains(t, "enable", s.ok("transition", "enable", "transitions", "Deploy"), "Deploy", "enabled")
	e = s.waitEnd("transitions", id, "Succeeded")
	wantEqual(t, "stage Deploy", e.stage(t, "Deploy").Status, "Succeeded")
	st = pipelineState{}
	s.json(&st, "status", "transitions")
	wantEqual(t, "Deploy inbound enabled after enable", st.StageStates[1].InboundTransitionState.Enabled, true)

	// A transition into an unknown stage is refused.
	r := s.fails("transition", "disable", "transitions", "Nope", "--reason", "x")
	wantContains(t, "disable of an unknown stage", r.stderr, "Nope")
}
