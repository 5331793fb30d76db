package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRuleDeliveriesSurviveKill9: a rule sends app's successes to a webhook
// receiver in this process, which holds the first deliveries open; the
// server is killed with SIGKILL while they hang, and started again on the
// same data directory. Every success must reach the receiver at least once:
// queued deliveries are in the database before they are sent, and the rule
// runner's cursor moves only after it queued them.
func TestRuleDeliveriesSurviveKill9(t *testing.T) {
	t.Parallel()
	const held = 4 // as many as the deliverer sends at once: the rest wait queued
	var (
		mu       sync.Mutex
		got      = map[string]int{} // execution id → deliveries answered 200
		arrivals atomic.Int32
		blocked  = make(chan struct{}, held)
		release  = make(chan struct{})
	)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if arrivals.Add(1) <= held {
			blocked <- struct{}{}
			select { // until the test lets go, or the server dies
			case <-release:
			case <-r.Context().Done():
			}
			http.Error(w, "not now", http.StatusServiceUnavailable)
			return
		}
		var ev struct {
			DetailType string `json:"detail-type"`
			Detail     struct {
				ExecutionID string `json:"execution-id"`
				State       string `json:"state"`
			} `json:"detail"`
		}
		if err := json.Unmarshal(body, &ev); err != nil || ev.Detail.State != "SUCCEEDED" {
			t.Errorf("receiver: unexpected body %s (%v)", body, err)
		}
		mu.Lock()
		got[ev.Detail.ExecutionID]++
		mu.Unlock()
	}))
	defer recv.Close()

	s := startServer(t)
	dir := s.scratch("rules")
	app := filepath.Join(dir, "app.yml")
	writeFile(t, app, "name: app\nexecutionMode: PARALLEL\nstages:\n  - name: Run\n    actions:\n      - name: noop\n        provider: Noop\n")
	s.apply(app)
	ruleFile := filepath.Join(dir, "rule.yml")
	writeFile(t, ruleFile, `name: app-succeeded
eventPattern:
  detail-type: [CodePipeline Pipeline Execution State Change]
  detail: {pipeline: [app], state: [SUCCEEDED]}
targets:
  - webhook: {url: "`+recv.URL+`/sluice"}
`)
	wantEqual(t, "rule apply", strings.TrimSpace(s.ok("rule", "apply", "-f", ruleFile)), "rule app-succeeded created")

	var ids []string
	for range 8 {
		ids = append(ids, s.start("app"))
	}
	for range held {
		select {
		case <-blocked:
		case <-time.After(45 * time.Second):
			t.Fatalf("only %d deliveries reached the receiver", arrivals.Load())
		}
	}
	s.kill9()
	close(release)
	s.boot()

	eventually(t, 60*time.Second, "every success delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			if got[id] == 0 {
				return false
			}
		}
		return true
	})
	for _, id := range ids {
		e := s.execution("app", id)
		wantEqual(t, "execution "+id, e.Status, "Succeeded")
	}
	t.Logf("%d requests reached the receiver for %d successes (%d held when the server was killed)", arrivals.Load(), len(ids), held)

	// The CLI's view of the rule.
	wantContains(t, "rule list", s.ok("rule", "list"), "app-succeeded", "ENABLED", "webhook "+recv.URL+"/sluice")
	wantContains(t, "rule get", s.ok("rule", "get", "app-succeeded"), "State:", "ENABLED", `"pipeline": [`, "retried for 24h")
	wantContains(t, "rule failures", s.ok("rule", "failures", "app-succeeded"), "rule app-succeeded: no failed deliveries")
	wantEqual(t, "rule delete", strings.TrimSpace(s.ok("rule", "delete", "app-succeeded")), "rule app-succeeded deleted")
	r := s.fails("rule", "get", "app-succeeded")
	wantContains(t, "rule get after delete", r.stderr, "rule app-succeeded not found")
}
