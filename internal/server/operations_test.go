package server_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/wire"
)

const noopPipe = `
name: metered
stages:
  - name: Only
    actions:
      - name: nothing
        provider: Noop
`

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// sample finds one sample's value in Prometheus's text format.
func sample(t *testing.T, text, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no sample %s in:\n%s", series, grepSluice(text))
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func grepSluice(text string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "sluice_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestMetricsAndReadiness(t *testing.T) {
	c, url := startServer(t)
	ctx := context.Background()

	// Run, started in the background, may not have begun its work yet
	// (on a loaded machine): until it has, the only answer is "starting".
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		code, body := get(t, url+"/readyz", "")
		if code == 200 && body == "ready\n" {
			break
		}
		if body != "not ready: starting\n" || time.Now().After(deadline) {
			t.Fatalf("/readyz: %d %q", code, body)
		}
	}
	// Metrics name pipelines: a stranger gets nothing, a worker's token
	// is not allowed sluice:GetMetrics, a viewer's is.
	if code, _ := get(t, url+"/metrics", ""); code != 401 {
		t.Fatalf("/metrics without a token: %d, want 401", code)
	}
	worker, err := c.CreateToken(ctx, "a-worker", "worker")
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, url+"/metrics", worker.Token); code != 403 {
		t.Fatalf("/metrics with a worker's token: %d, want 403", code)
	}
	scraper, err := c.CreateToken(ctx, "prometheus", "viewer")
	if err != nil {
		t.Fatal(err)
	}

	if _, err := c.ApplyPipeline(ctx, "metered.yml", []byte(noopPipe), false); err != nil {
		t.Fatal(err)
	}
	id, err := c.Start(ctx, "metered", wire.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if e := waitEnd(t, c, "metered", id); e.Status != "Succeeded" {
		t.Fatalf("execution: %s %s", e.Status, e.StatusSummary)
	}
	code, text := get(t, url+"/metrics", scraper.Token)
	if code != 200 {
		t.Fatalf("/metrics: %d\n%s", code, text)
	}
	if v := sample(t, text, `sluice_pipeline_executions_total{pipeline="metered",status="SUCCEEDED"}`); v != 1 {
		t.Errorf("succeeded executions: %v, want 1", v)
	}
	if v := sample(t, text, `sluice_action_duration_seconds_count{provider="Noop",status="SUCCEEDED"}`); v != 1 {
		t.Errorf("Noop actions timed: %v, want 1", v)
	}
	if v := sample(t, text, `sluice_job_wait_seconds_count{provider="Noop"}`); v != 1 {
		t.Errorf("Noop jobs claimed: %v, want 1", v)
	}
	if v := sample(t, text, `sluice_api_request_seconds_count{code="201",operation="StartPipelineExecution"}`); v != 1 {
		t.Errorf("StartPipelineExecution requests: %v, want 1", v)
	}
	if v := sample(t, text, `sluice_jobs_queued`); v != 0 {
		t.Errorf("jobs queued after the execution ended: %v", v)
	}
	// On SQLite this server is the only one: it runs every singleton loop
	// (retention ends at once: events are kept for ever here).
	for _, loop := range []string{"reactor", "rules", "deliveries", "sweeper", "schedules", "poller"} {
		if v := sample(t, text, `sluice_singleton_leader{loop="`+loop+`"}`); v != 1 {
			t.Errorf("leader of %s: %v, want 1", loop, v)
		}
	}
}
