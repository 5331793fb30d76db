// Package metrics holds the Prometheus metrics a sluice server exports at
// /metrics. It knows nothing of sluice's types: the service, the rule runner,
// the API and the replica coordinator report to it through plain calls, so
// that each keeps its own vocabulary and none imports Prometheus.
//
// Every metric's name starts with sluice_. Labels carry only names an
// operator already sees in the console (pipelines, providers, operations),
// never ids: an id per label value would grow the series without bound.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one server's registry and the metrics in it.
type Metrics struct {
	reg *prometheus.Registry

	executions     *prometheus.CounterVec
	actionDuration *prometheus.HistogramVec
	jobWait        *prometheus.HistogramVec
	gateWait       *prometheus.HistogramVec
	delivery       *prometheus.HistogramVec
	deliveryFailed *prometheus.CounterVec
	deliveryAge    *prometheus.HistogramVec
	api            *prometheus.HistogramVec
	leader         *prometheus.GaugeVec
}

// Buckets for work that takes seconds to hours (actions, waits), and for
// requests that take milliseconds to a long poll's minute.
var (
	workBuckets    = []float64{0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600}
	requestBuckets = []float64{0.001, 0.005, 0.025, 0.1, 0.5, 1, 5, 30, 60}
)

// New returns a registry holding sluice's metrics and the Go runtime's and
// process's own.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.executions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_pipeline_executions_total",
		Help: "Pipeline executions that reached a status (Started, InProgress once per stage retry, Succeeded, Failed, Stopped, Superseded…), by pipeline.",
	}, []string{"pipeline", "status"})
	m.actionDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sluice_action_duration_seconds", Buckets: workBuckets,
		Help: "How long actions ran, from start to their end status, by provider and status.",
	}, []string{"provider", "status"})
	m.jobWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sluice_job_wait_seconds", Buckets: workBuckets,
		Help: "How long a job waited in the queue before a worker claimed it, by provider.",
	}, []string{"provider"})
	m.gateWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sluice_wait_seconds", Buckets: workBuckets,
		Help: "How long executions waited on a gate (kind=gate: a PipelineGate action until it passed or failed) or a lock (kind=lock: from queueing to holding it).",
	}, []string{"kind"})
	m.delivery = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sluice_delivery_attempt_seconds", Buckets: requestBuckets,
		Help: "How long one attempt to deliver a rule target, webhook or notification took, by kind and result (ok, retry, failed).",
	}, []string{"kind", "result"})
	m.deliveryFailed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_delivery_failures_total",
		Help: "Delivery attempts that failed, by kind and whether the delivery is retried (retry) or given up (failed).",
	}, []string{"kind", "result"})
	m.deliveryAge = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sluice_delivery_latency_seconds", Buckets: workBuckets,
		Help: "From queueing a delivery to its success, retries included, by kind.",
	}, []string{"kind"})
	m.api = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sluice_api_request_seconds", Buckets: requestBuckets,
		Help: "API requests by operation (the IAM action name) and HTTP status code.",
	}, []string{"operation", "code"})
	m.leader = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "sluice_singleton_leader",
		Help: "1 while this replica runs the singleton loop (reactor, rules, deliveries, schedules, polling, sweeper, retention…), else 0.",
	}, []string{"loop"})
	m.reg.MustRegister(m.executions, m.actionDuration, m.jobWait, m.gateWait, m.delivery, m.deliveryFailed,
		m.deliveryAge, m.api, m.leader,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is the registry, for tests that read a metric's value.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// QueueDepth registers a gauge read at every scrape: the number of jobs
// queued for workers. count answers within the scrape's time; an error
// reports -1, which an alert can tell apart from an empty queue.
func (m *Metrics) QueueDepth(count func(ctx context.Context) (int, error)) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sluice_jobs_queued",
		Help: "Jobs queued for workers and not yet claimed (-1: the store did not answer).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n, err := count(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))
}

// ExecutionStatus counts an execution reaching status.
func (m *Metrics) ExecutionStatus(pipeline, status string) {
	m.executions.WithLabelValues(pipeline, status).Inc()
}

// ActionEnded records an action's run time.
func (m *Metrics) ActionEnded(provider, status string, d time.Duration) {
	m.actionDuration.WithLabelValues(provider, status).Observe(d.Seconds())
}

// JobClaimed records how long a job waited for a worker.
func (m *Metrics) JobClaimed(provider string, waited time.Duration) {
	m.jobWait.WithLabelValues(provider).Observe(max(waited, 0).Seconds())
}

// Waited records a wait on a gate or a lock (kind "gate" or "lock").
func (m *Metrics) Waited(kind string, d time.Duration) {
	m.gateWait.WithLabelValues(kind).Observe(max(d, 0).Seconds())
}

// Delivered records one delivery attempt: result is ok, retry or failed;
// sinceQueued is counted for successes only.
func (m *Metrics) Delivered(kind, result string, attempt, sinceQueued time.Duration) {
	m.delivery.WithLabelValues(kind, result).Observe(attempt.Seconds())
	if result == "ok" {
		m.deliveryAge.WithLabelValues(kind).Observe(max(sinceQueued, 0).Seconds())
	} else {
		m.deliveryFailed.WithLabelValues(kind, result).Inc()
	}
}

// Request records one API request.
func (m *Metrics) Request(operation string, code int, d time.Duration) {
	if operation == "" {
		operation = "other"
	}
	m.api.WithLabelValues(operation, itoa(code)).Observe(d.Seconds())
}

// Leading records whether this replica runs loop.
func (m *Metrics) Leading(loop string, leading bool) {
	v := 0.0
	if leading {
		v = 1
	}
	m.leader.WithLabelValues(loop).Set(v)
}

func itoa(code int) string {
	if code <= 0 {
		code = 200
	}
	var b [3]byte
	for i := 2; i >= 0; i-- {
		b[i] = byte('0' + code%10)
		code /= 10
	}
	return string(b[:])
}
