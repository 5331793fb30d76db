package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakeAPI answers GET path with body, as the server would.
func fakeAPI(t *testing.T, routes map[string]any) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := routes[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("SLUICE_SERVER", srv.URL)
	t.Setenv("SLUICE_TOKEN", "t")
}

// A running execution's duration is how long it has run, not the 0–2 ms
// between its start and its last update; and the list says what it waits for.
func TestExecutionsListRunningAndWaiting(t *testing.T) {
	start := time.Now().Add(-3*time.Minute - 12*time.Second)
	fakeAPI(t, map[string]any{"/api/v1/pipelines/app/executions": map[string]any{"pipelineExecutionSummaries": []map[string]any{
		{"pipelineExecutionId": "run1", "status": "InProgress", "trigger": map[string]any{"triggerType": "StartPipelineExecution"},
			"startTime": start, "lastUpdateTime": start.Add(time.Millisecond),
			"waiting": map[string]any{"kind": "lock", "name": "prod-cluster", "label": "waiting for lock prod-cluster"}},
		{"pipelineExecutionId": "done1", "status": "Succeeded", "trigger": map[string]any{"triggerType": "StartPipelineExecution"},
			"startTime": start, "lastUpdateTime": start.Add(1500 * time.Millisecond)},
	}}})
	out, _ := runCLI(t, 0, "executions", "app")
	lines := strings.Split(out, "\n")
	if len(lines) < 3 {
		t.Fatalf("executions:\n%s", out)
	}
	if !strings.Contains(lines[1], "InProgress (waiting for lock prod-cluster)") || !strings.Contains(lines[1], "running 3m1") {
		t.Errorf("running execution's line: %q", lines[1])
	}
	if strings.Contains(lines[1], "ms") {
		t.Errorf("running execution shows a duration in ms: %q", lines[1])
	}
	if !strings.HasSuffix(strings.TrimSpace(lines[2]), "1.5s") {
		t.Errorf("ended execution's line: %q", lines[2])
	}
}

// A multi-line action summary takes one line of the table, marked as cut;
// -o json keeps it whole.
func TestExecutionGetMultiLineSummary(t *testing.T) {
	summary := "tests failed: 3 of 120\nTestA: boom\nTestB: bang"
	fakeAPI(t, map[string]any{"/api/v1/pipelines/app/executions/e1": map[string]any{
		"pipelineExecutionId": "e1", "pipelineName": "app", "status": "Failed", "statusSummary": "stage Test failed\nsee the log",
		"stages": []map[string]any{{"name": "Test", "status": "Failed", "attempt": 1, "actions": []map[string]any{
			{"name": "unit", "status": "Failed", "attempt": 1, "summary": summary},
			{"name": "lint", "status": "Succeeded", "attempt": 1, "summary": "clean"},
		}}},
	}})
	out, _ := runCLI(t, 0, "execution", "get", "app", "e1")
	unit := false
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "unit" {
			unit = strings.HasSuffix(l, "Failed     1        tests failed: 3 of 120 …")
		}
	}
	if !unit {
		t.Errorf("the unit action's line does not end with the summary's first line and …:\n%s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "TestA") || strings.HasPrefix(l, "TestB") {
			t.Errorf("a summary's later line broke out of its place: %q\n%s", l, out)
		}
	}
	js, _ := runCLI(t, 0, "execution", "get", "app", "e1", "-o", "json")
	var e struct {
		Stages []struct {
			Actions []struct{ Summary string } `json:"actions"`
		} `json:"stages"`
	}
	if err := json.Unmarshal([]byte(js), &e); err != nil || e.Stages[0].Actions[0].Summary != summary {
		t.Errorf("-o json summary = %+v (%v)", e, err)
	}
}
