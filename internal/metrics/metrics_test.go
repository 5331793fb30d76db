package metrics

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// observe makes on m the observations referenceRegistry makes on the
// client library's metrics of the same names. The test compares the two
// registries' scrapes: before this package wrote the text format itself it
// served the client library's, and scrapers, dashboards and alerts must see
// no difference.
func observe(m *Metrics) {
	m.ExecutionStatus("web", "SUCCEEDED")
	m.ExecutionStatus("web", "SUCCEEDED")
	m.ExecutionStatus(`quo"te\back`, "FAILED")
	m.ActionEnded("Noop", "SUCCEEDED", 0)
	m.ActionEnded("Noop", "SUCCEEDED", 2*time.Second)
	m.ActionEnded("Commands", "FAILED", 5*time.Hour)
	m.ActionEnded("Commands", "FAILED", 250*time.Millisecond) // on a bucket's bound
	m.JobClaimed("Noop", 3*time.Millisecond)
	m.JobClaimed("Noop", -time.Second)
	m.Delivered("webhook", "ok", 12*time.Millisecond, time.Minute)
	m.Delivered("webhook", "retry", 70*time.Second, 0)
	m.Request("StartPipelineExecution", 201, 4*time.Millisecond)
	m.Request("", 0, time.Millisecond)
	m.Leading("reactor", true)
	m.Leading("rules", false)
	add := m.RegionCopies()
	add("eu", 1<<20)
	add("eu", 3)
	m.QueueDepth(func(context.Context) (int, error) { return 7, nil })
}

func referenceRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	cv := func(name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		reg.MustRegister(v)
		return v
	}
	hv := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
		reg.MustRegister(v)
		return v
	}
	ex := cv("sluice_pipeline_executions_total", "Pipeline executions that reached a status (Started, InProgress once per stage retry, Succeeded, Failed, Stopped, Superseded…), by pipeline.", "pipeline", "status")
	ad := hv("sluice_action_duration_seconds", "How long actions ran, from start to their end status, by provider and status.", workBuckets, "provider", "status")
	jw := hv("sluice_job_wait_seconds", "How long a job waited in the queue before a worker claimed it, by provider.", workBuckets, "provider")
	hv("sluice_wait_seconds", "How long executions waited on a gate (kind=gate: a PipelineGate action until it passed or failed) or a lock (kind=lock: from queueing to holding it).", workBuckets, "kind")
	da := hv("sluice_delivery_attempt_seconds", "How long one attempt to deliver a rule target, webhook or notification took, by kind and result (ok, retry, failed).", requestBuckets, "kind", "result")
	df := cv("sluice_delivery_failures_total", "Delivery attempts that failed, by kind and whether the delivery is retried (retry) or given up (failed).", "kind", "result")
	dl := hv("sluice_delivery_latency_seconds", "From queueing a delivery to its success, retries included, by kind.", workBuckets, "kind")
	api := hv("sluice_api_request_seconds", "API requests by operation (the IAM action name) and HTTP status code.", requestBuckets, "operation", "code")
	leader := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sluice_singleton_leader", Help: "1 while this replica runs the singleton loop (reactor, rules, deliveries, schedules, polling, sweeper, retention…), else 0."}, []string{"loop"})
	reg.MustRegister(leader, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	copies := cv("sluice_region_copies_total", "Input artifacts copied from the home region's store into another region's, by region (once per execution, region and artifact).", "region")
	copied := cv("sluice_region_copied_bytes_total", "Bytes of input artifacts copied into other regions' stores, by region.", "region")
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sluice_jobs_queued", Help: "Jobs queued for workers and not yet claimed (-1: the store did not answer)."}, func() float64 { return 7 }))

	ex.WithLabelValues("web", "SUCCEEDED").Inc()
	ex.WithLabelValues("web", "SUCCEEDED").Inc()
	ex.WithLabelValues(`quo"te\back`, "FAILED").Inc()
	ad.WithLabelValues("Noop", "SUCCEEDED").Observe(0)
	ad.WithLabelValues("Noop", "SUCCEEDED").Observe(2)
	ad.WithLabelValues("Commands", "FAILED").Observe(5 * 3600)
	ad.WithLabelValues("Commands", "FAILED").Observe(0.25)
	jw.WithLabelValues("Noop").Observe(0.003)
	jw.WithLabelValues("Noop").Observe(0)
	da.WithLabelValues("webhook", "ok").Observe(0.012)
	dl.WithLabelValues("webhook").Observe(60)
	da.WithLabelValues("webhook", "retry").Observe(70)
	df.WithLabelValues("webhook", "retry").Inc()
	api.WithLabelValues("StartPipelineExecution", "201").Observe(0.004)
	api.WithLabelValues("other", "200").Observe(0.001)
	leader.WithLabelValues("reactor").Set(1)
	leader.WithLabelValues("rules").Set(0)
	copies.WithLabelValues("eu").Inc()
	copied.WithLabelValues("eu").Add(1 << 20)
	copies.WithLabelValues("eu").Inc()
	copied.WithLabelValues("eu").Add(3)
	return reg
}

func scrapeOf(t *testing.T, h http.Handler, gzipped bool) (string, http.Header) {
	t.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	if gzipped {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	var body io.Reader = rec.Body
	if gzipped {
		if rec.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("Accept-Encoding: gzip answered with Content-Encoding %q", rec.Header().Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), rec.Header()
}

// runtimeValue matches the value of a go_* or process_* sample (or of a
// quantile of go_gc_duration_seconds), which change between two scrapes.
var runtimeValue = regexp.MustCompile(`(?m)^((?:go|process)_\S*) \S+$`)

func TestScrapeSameAsPrometheusClient(t *testing.T) {
	m := New()
	observe(m)
	ref := referenceRegistry()
	for _, gz := range []bool{false, true} {
		got, h := scrapeOf(t, m.Handler(), gz)
		want, wantH := scrapeOf(t, promhttp.HandlerFor(ref, promhttp.HandlerOpts{Registry: ref}), gz)
		if h.Get("Content-Type") != wantH.Get("Content-Type") {
			t.Errorf("Content-Type %q, want %q", h.Get("Content-Type"), wantH.Get("Content-Type"))
		}
		// The runtime's and the process's values differ from one scrape to
		// the next: compare their names, labels, HELP and TYPE.
		strip := func(s string) string { return runtimeValue.ReplaceAllString(s, "$1 V") }
		if strip(got) != strip(want) {
			gl, wl := strings.Split(strip(got), "\n"), strings.Split(strip(want), "\n")
			for _, l := range wl {
				if !slices.Contains(gl, l) {
					t.Errorf("missing: %s", l)
				}
			}
			for _, l := range gl {
				if !slices.Contains(wl, l) {
					t.Errorf("extra:   %s", l)
				}
			}
			if !t.Failed() {
				t.Errorf("same lines in another order:\n%s\nwant:\n%s", got, want)
			}
		}
		p := expfmt.NewTextParser(model.LegacyValidation)
		if _, err := p.TextToMetricFamilies(strings.NewReader(got)); err != nil {
			t.Errorf("Prometheus's parser refuses the scrape: %v", err)
		}
	}
}

// A count that fails answers -1, which an alert tells from an empty queue.
func TestQueueDepthUnknown(t *testing.T) {
	m := New()
	m.QueueDepth(func(context.Context) (int, error) { return 0, errors.New("store down") })
	got, _ := scrapeOf(t, m.Handler(), false)
	if !strings.Contains(got, "\nsluice_jobs_queued -1\n") {
		t.Errorf("scrape with the store down:\n%s", got)
	}
}
