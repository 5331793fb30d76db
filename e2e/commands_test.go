package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type executionSummary struct {
	PipelineExecutionID string    `json:"pipelineExecutionId"`
	PipelineVersion     int       `json:"pipelineVersion"`
	Status              string    `json:"status"`
	StartTime           time.Time `json:"startTime"`
}

func TestCommandsAction(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.apply("testdata/commands.yml")

	// --var overrides one variable; the other keeps its default.
	out := s.ok("start", "commands", "--var", "GREETING=hi", "--wait")
	ls := lines(out)
	if len(ls) != 2 || ls[1] != "Succeeded" {
		t.Fatalf("start --wait printed %q, want the id then Succeeded", out)
	}
	id := ls[0]

	// The documented shape of execution get -o json, key by key.
	raw := s.ok("execution", "get", "commands", id, "-o", "json")
	var doc map[string]any
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatalf("execution get -o json: %v\n%s", err, raw)
	}
	for _, k := range []string{"pipelineExecutionId", "pipelineName", "pipelineVersion", "status", "variables", "stages"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("execution get -o json has no %q:\n%s", k, raw)
		}
	}
	stages, _ := doc["stages"].([]any)
	if len(stages) != 2 {
		t.Fatalf("execution get -o json: stages = %v, want 2", doc["stages"])
	}
	for _, st := range stages {
		st, _ := st.(map[string]any)
		for _, k := range []string{"name", "status", "actions"} {
			if _, ok := st[k]; !ok {
				t.Errorf("a stage has no %q: %v", k, st)
			}
		}
		actions, _ := st["actions"].([]any)
		for _, a := range actions {
			a, _ := a.(map[string]any)
			for _, k := range []string{"name", "status", "attempt", "outputVariables"} {
				if _, ok := a[k]; !ok {
					t.Errorf("action %v has no %q", a["name"], k)
				}
			}
		}
	}

	e := s.execution("commands", id)
	wantEqual(t, "pipelineExecutionId", e.PipelineExecutionID, id)
	wantEqual(t, "pipelineName", e.PipelineName, "commands")
	wantEqual(t, "pipelineVersion", e.PipelineVersion, 1)
	wantEqual(t, "status", e.Status, "Succeeded")
	wantEqual(t, "variables.GREETING", e.Variables["GREETING"], "hi")
	wantEqual(t, "variables.WHO", e.Variables["WHO"], "world")
	for _, st := range e.Stages {
		wantEqual(t, "stage "+st.Name, st.Status, "Succeeded")
		for _, a := range st.Actions {
			wantEqual(t, "action "+a.Name, a.Status, "Succeeded")
			wantEqual(t, "action "+a.Name+" attempt", a.Attempt, 1)
		}
	}
	mk := e.action(t, "Make")
	wantEqual(t, "Make output VERSION", mk.OutputVariables["VERSION"], "1.2.3")
	wantEqual(t, "Make output MESSAGE", mk.OutputVariables["MESSAGE"], "made by Make")
	check := e.action(t, "Check")
	// #{build.VERSION} reached stage Use, and #{codepipeline.PipelineExecutionId} is the id.
	wantEqual(t, "Check output SEEN", check.OutputVariables["SEEN"], "1.2.3@"+id)

	// Artifacts: what the globs matched, nothing else.
	dir := s.scratch("download")
	got := strings.TrimSpace(s.ok("artifact", "download", "commands", id, "src", "--out", dir))
	wantContains(t, "artifact download", got, "src", dir)
	// export on line 1 seen on line 3, after the cd on line 2 took effect.
	wantEqual(t, "sub/version.txt", readFile(t, filepath.Join(dir, "sub", "version.txt")), "v=1.2.3\n")
	wantEqual(t, "docs/greeting.txt", readFile(t, filepath.Join(dir, "docs", "greeting.txt")), "hi world\n")
	wantEqual(t, "docs/exec.txt", readFile(t, filepath.Join(dir, "docs", "exec.txt")), "exec="+id+"\n")
	if _, err := readFileErr(filepath.Join(dir, "loose.txt")); err == nil {
		t.Errorf("loose.txt, which no glob matches, is in the artifact")
	}
	extra := s.scratch("extra")
	s.ok("artifact", "download", "commands", id, "extra", "--out", extra)
	wantEqual(t, "extra docs/greeting.txt", readFile(t, filepath.Join(extra, "docs", "greeting.txt")), "hi world\n")
	r := s.fails("artifact", "download", "commands", id, "nope", "--out", s.scratch("nope"))
	wantContains(t, "download of an unknown artifact", r.stderr, `unknown artifact "nope"`)

	// Logs: the commands as run and their output.
	log := s.ok("logs", "commands", id, "Check")
	wantContains(t, "Check log", log,
		"v=1.2.3\n",
		"extra says hi world\n",
		"from build: 1.2.3 / made by Make\n",
	)
	wantContains(t, "Make log", s.ok("logs", "commands", id, "Make"), "export VERSION=1.2.3")
	wantContains(t, "Make log by STAGE/ACTION", s.ok("logs", "commands", id, "Build/Make"), "export VERSION=1.2.3")

	// Events name the pipeline by the ARN its declaration's metadata gives.
	var meta struct {
		Metadata struct {
			PipelineArn string `json:"pipelineArn"`
		} `json:"metadata"`
	}
	s.json(&meta, "pipeline", "get", "commands")
	var events []event
	s.json(&events, "events", "--pipeline", "commands")
	actionStates := map[string]bool{}
	badARN := 0
	for _, ev := range events {
		if len(ev.Resources) != 1 || ev.Resources[0] != meta.Metadata.PipelineArn {
			if badARN++; badARN == 1 {
				t.Errorf("event %d resources = %q, want [%q] (pipeline get's metadata.pipelineArn)", ev.Seq, ev.Resources, meta.Metadata.PipelineArn)
			}
		}
		if ev.DetailType == "CodePipeline Action Execution State Change" {
			actionStates[fmt.Sprint(ev.Detail["action"], " ", ev.Detail["state"])] = true
		}
	}
	for _, want := range []string{"Make STARTED", "Make SUCCEEDED", "Check STARTED", "Check SUCCEEDED"} {
		if !actionStates[want] {
			t.Errorf("no action event %s among %v", want, actionStates)
		}
	}

	// A second run with the defaults; executions lists newest first.
	id2 := s.start("commands")
	s.waitEnd("commands", id2, "Succeeded")
	wantContains(t, "default-variable log", s.ok("logs", "commands", id2, "Check"), "extra says hello world\n")
	e2 := s.execution("commands", id2)
	wantEqual(t, "second run variables.GREETING", e2.Variables["GREETING"], "hello")
	wantEqual(t, "second run SEEN", e2.action(t, "Check").OutputVariables["SEEN"], "1.2.3@"+id2)

	var list []executionSummary
	s.json(&list, "executions", "commands")
	if len(list) != 2 || list[0].PipelineExecutionID != id2 || list[1].PipelineExecutionID != id {
		t.Fatalf("executions = %+v, want %s then %s", list, id2, id)
	}
	if list[0].StartTime.Before(list[1].StartTime) {
		t.Errorf("executions not newest first: %v before %v", list[0].StartTime, list[1].StartTime)
	}
	for _, x := range list {
		wantEqual(t, "listed status", x.Status, "Succeeded")
		wantEqual(t, "listed version", x.PipelineVersion, 1)
	}
	// An undeclared variable is refused.
	r = s.fails("start", "commands", "--var", "NOPE=1")
	wantContains(t, "start with an undeclared variable", r.stderr, "NOPE")
}
