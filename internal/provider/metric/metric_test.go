package metric

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/provider"
)

// startPrometheus runs a real Prometheus server on 127.0.0.1 for the test
// (Debian's package: apt-get install prometheus), or skips the test when
// there is none. The queries below need no scrape: vector() and time() are
// evaluated by Prometheus's PromQL engine itself.
func startPrometheus(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not found: install it (apt-get install prometheus) to run the Metric rule's tests")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global: {scrape_interval: 1h}\nscrape_configs: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--config.file="+cfg, "--web.listen-address="+addr,
		"--storage.tsdb.path="+filepath.Join(dir, "data"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		<-exited
	})
	url := "http://" + addr
	// Wait for it to be ready, asking its readiness endpoint.
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		select {
		case <-exited:
			t.Fatalf("prometheus exited: %s", log.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after a minute: %s", log.String())
		}
	}
}

func run(t *testing.T, p Provider, cfg map[string]string) (provider.Result, error) {
	t.Helper()
	var log bytes.Buffer
	return p.Run(context.Background(), &provider.Job{Configuration: cfg, Log: &log})
}

func TestAgainstPrometheus(t *testing.T) {
	prom := startPrometheus(t)
	rule := func(query, op, threshold string) map[string]string {
		return map[string]string{"Endpoint": prom, "Query": query, "Operator": op, "Threshold": threshold}
	}
	res, err := run(t, Provider{}, rule("vector(0.2)", "LT", "0.5"))
	if err != nil || res.Summary != "vector(0.2) = 0.2: LT 0.5 holds" {
		t.Fatalf("passing query: %+v, %v", res, err)
	}
	if _, err := run(t, Provider{}, rule("scalar(vector(7))", "GE", "7")); err != nil {
		t.Fatalf("scalar: %v", err)
	}
	_, err = run(t, Provider{}, rule("vector(2)", "LT", "0.5"))
	if err == nil || err.Error() != "vector(2) = 2: 2 LT 0.5 does not hold" {
		t.Fatalf("failing query: %v", err)
	}
	// Every series must hold.
	_, err = run(t, Provider{}, rule(`label_replace(vector(1), "i", "a", "", "") or label_replace(vector(9), "i", "b", "", "")`, "LT", "5"))
	if err == nil || !strings.Contains(err.Error(), "= [1 9]: 9 LT 5 does not hold") {
		t.Fatalf("two series: %v", err)
	}
	// With a WaitTime the query runs again until it holds: time() passes a
	// moment a second ahead.
	ahead := strconv.FormatFloat(float64(time.Now().Add(time.Second).UnixMilli())/1000, 'f', 3, 64)
	cfg := rule("time()", "GT", ahead)
	cfg["WaitTime"] = "1"
	if _, err := run(t, Provider{PollInterval: 100 * time.Millisecond}, cfg); err != nil {
		t.Fatalf("waiting query: %v", err)
	}
	for _, tc := range []struct{ query, want string }{
		{"sum(no_such_metric)", "no data: the query returned no series"},
		{"vector(", "bad_data: "},
		{"prometheus_build_info[5m]", "a matrix result cannot be compared"},
	} {
		_, err := run(t, Provider{}, rule(tc.query, "LT", "1"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.query, err, tc.want)
		}
	}
}

// TestEndpointIsNotAReader: a pipeline author who points the rule at a page
// that is not Prometheus (the server's own, say) learns its status code and
// nothing of its content; credentials in the URL are refused before any
// request.
func TestEndpointIsNotAReader(t *testing.T) {
	prom := startPrometheus(t)
	_, err := run(t, Provider{}, map[string]string{"Endpoint": prom + "/graph", "Query": "up", "Operator": "LT", "Threshold": "1"})
	if err == nil || !strings.Contains(err.Error(), "answered") || strings.Contains(err.Error(), "<") {
		t.Fatalf("non-Prometheus page: %v", err)
	}
	_, err = run(t, Provider{}, map[string]string{"Endpoint": strings.Replace(prom, "http://", "http://user:secret@", 1), "Query": "up", "Operator": "LT", "Threshold": "1"})
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("credentials in the endpoint: %v", err)
	}
	_, err = run(t, Provider{}, map[string]string{"Endpoint": "file:///etc/passwd", "Query": "up", "Operator": "LT", "Threshold": "1"})
	if err == nil || !strings.Contains(err.Error(), "not an http") {
		t.Fatalf("file endpoint: %v", err)
	}
}
