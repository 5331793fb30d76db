package e2e

import (
	"strings"
	"testing"
	"time"
)

// A function that answers for its job before its command exits: the log
// holds everything the command printed until it exited, not only what came
// before the answer (issue: "[sluice" and nothing else was seen). It runs in
// the sandbox, as command functions do.
func TestFunctionLogAfterItAnswers(t *testing.T) {
	needSandbox(t)
	t.Parallel()
	s := startServer(t, "--isolation", "auto")
	applyFunction(t, s, "late", `name: late
command:
  - /bin/bash
  - -c
  - |
    cat >/dev/null
    echo "before the answer $((40+2))"
    curl -sf -X POST -H "Authorization: Bearer $SLUICE_JOB_TOKEN" -H 'Content-Type: application/json' \
      -d '{"summary":"answered"}' "$SLUICE_SERVER/api/v1/jobs/$SLUICE_JOB_ID/success" && echo "answered $((40+2))"
    sleep 2 # work the command goes on with after its answer
    echo "after the answer $((40+2))"
`)
	s.applyYAML("late", `name: late
stages:
  - name: Invoke
    actions:
      - name: Call
        provider: Function
        configuration: {FunctionName: late}
`)
	id := s.start("late")
	s.waitEnd("late", id, "Succeeded")
	var log string
	eventually(t, 20*time.Second, "the command's last line in the log", func() bool {
		log = s.ok("logs", "late", id, "Call")
		// The log's first line shows the command itself: look for what only
		// its output holds (the shell's arithmetic done).
		return strings.Contains(log, "after the answer 42")
	})
	wantContains(t, "Call log", log, "[sluice] invoking function late", "before the answer 42", "answered 42", "after the answer 42")
}
