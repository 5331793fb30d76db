package logctx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/logctx"
)

func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// A line logged with a context names what the context carries; a line's
// own attribute, or its logger's, wins over the context's; nested With
// replaces a key; empty ids are left out; a line without a context or an
// unwrapped logger gets nothing.
func TestContextAttributesReachTheLine(t *testing.T) {
	var buf bytes.Buffer
	log := logctx.Logger(slog.New(slog.NewJSONHandler(&buf, nil)))
	if logctx.Logger(log) != log {
		t.Fatal("wrapping twice made a second wrapper")
	}
	ctx := logctx.With(context.Background(), logctx.Pipeline, "p", logctx.Execution, "e1", logctx.Job, "")
	ctx = logctx.With(ctx, logctx.Execution, "e2", logctx.Action, "build")
	log.InfoContext(ctx, "one")
	log.InfoContext(ctx, "two", logctx.Pipeline, "own")
	log.With(logctx.Action, "logger's").InfoContext(ctx, "three")
	log.Info("four")
	got := lines(t, &buf)
	want := []map[string]string{
		{"pipeline": "p", "execution_id": "e2", "action": "build"},
		{"pipeline": "own", "execution_id": "e2", "action": "build"},
		{"pipeline": "p", "execution_id": "e2", "action": "logger's"},
		{},
	}
	for i, w := range want {
		for k, v := range w {
			if got[i][k] != v {
				t.Errorf("line %d: %s = %v, want %q (%v)", i, k, got[i][k], v, got[i])
			}
		}
		if _, ok := got[i]["job_id"]; ok {
			t.Errorf("line %d names an empty job id: %v", i, got[i])
		}
		if i == 3 && len(got[i]) != 3 { // time, level, msg
			t.Errorf("a line without context: %v", got[i])
		}
	}
	if n := strings.Count(buf.String(), `"pipeline"`); n != 3 {
		t.Errorf("pipeline named %d times in 4 lines, want 3 (never twice in a line)", n)
	}
}
