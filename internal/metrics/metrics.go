// Package metrics holds the Prometheus metrics a sluice server exports at
// /metrics. It knows nothing of sluice's types: the service, the rule runner,
// the API and the replica coordinator report to it through plain calls, so
// that each keeps its own vocabulary. It serves Prometheus's text format
// itself (text.go says why).
//
// Every metric's name starts with sluice_. Labels carry only names an
// operator already sees in the console (pipelines, providers, operations),
// never ids: an id per label value would grow the series without bound.
package metrics

import (
	"context"
	"net/http"
	"time"
)

// Metrics is one server's registry and the metrics in it.
type Metrics struct {
	reg *registry

	executions     *vec
	actionDuration *vec
	jobWait        *vec
	gateWait       *vec
	delivery       *vec
	deliveryFailed *vec
	deliveryAge    *vec
	api            *vec
	leader         *vec
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
	r := &registry{}
	m := &Metrics{reg: r}
	m.executions = r.newVec("sluice_pipeline_executions_total",
		"Pipeline executions that reached a status (Started, InProgress once per stage retry, Succeeded, Failed, Stopped, Superseded…), by pipeline.",
		counter, nil, "pipeline", "status")
	m.actionDuration = r.newVec("sluice_action_duration_seconds",
		"How long actions ran, from start to their end status, by provider and status.",
		histogram, workBuckets, "provider", "status")
	m.jobWait = r.newVec("sluice_job_wait_seconds",
		"How long a job waited in the queue before a worker claimed it, by provider.",
		histogram, workBuckets, "provider")
	m.gateWait = r.newVec("sluice_wait_seconds",
		"How long executions waited on a gate (kind=gate: a PipelineGate action until it passed or failed) or a lock (kind=lock: from queueing to holding it).",
		histogram, workBuckets, "kind")
	m.delivery = r.newVec("sluice_delivery_attempt_seconds",
		"How long one attempt to deliver a rule target, webhook or notification took, by kind and result (ok, retry, failed).",
		histogram, requestBuckets, "kind", "result")
	m.deliveryFailed = r.newVec("sluice_delivery_failures_total",
		"Delivery attempts that failed, by kind and whether the delivery is retried (retry) or given up (failed).",
		counter, nil, "kind", "result")
	m.deliveryAge = r.newVec("sluice_delivery_latency_seconds",
		"From queueing a delivery to its success, retries included, by kind.",
		histogram, workBuckets, "kind")
	m.api = r.newVec("sluice_api_request_seconds",
		"API requests by operation (the IAM action name) and HTTP status code.",
		histogram, requestBuckets, "operation", "code")
	m.leader = r.newVec("sluice_singleton_leader",
		"1 while this replica runs the singleton loop (reactor, rules, deliveries, schedules, polling, sweeper, retention…), else 0.",
		gauge, nil, "loop")
	r.goCollector()
	r.processCollector()
	r.handlerErrors = r.newVec("promhttp_metric_handler_errors_total",
		"Total number of internal errors encountered by the promhttp metric handler.", counter, nil, "cause")
	r.handlerErrors.add(0, "encoding")
	r.handlerErrors.add(0, "gathering")
	return m
}

// Handler serves the registry in Prometheus's text format.
func (m *Metrics) Handler() http.Handler { return m.reg }

// QueueDepth registers a gauge read at every scrape: the number of jobs
// queued for workers. count answers within the scrape's time; an error
// reports -1, which an alert can tell apart from an empty queue.
func (m *Metrics) QueueDepth(count func(ctx context.Context) (int, error)) {
	m.reg.constant("sluice_jobs_queued", "Jobs queued for workers and not yet claimed (-1: the store did not answer).", gauge, func() (float64, bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n, err := count(ctx)
		if err != nil {
			return -1, true
		}
		return float64(n), true
	})
}

// ExecutionStatus counts an execution reaching status.
func (m *Metrics) ExecutionStatus(pipeline, status string) {
	m.executions.add(1, pipeline, status)
}

// ActionEnded records an action's run time.
func (m *Metrics) ActionEnded(provider, status string, d time.Duration) {
	m.actionDuration.observe(d.Seconds(), provider, status)
}

// JobClaimed records how long a job waited for a worker.
func (m *Metrics) JobClaimed(provider string, waited time.Duration) {
	m.jobWait.observe(max(waited, 0).Seconds(), provider)
}

// Waited records a wait on a gate or a lock (kind "gate" or "lock").
func (m *Metrics) Waited(kind string, d time.Duration) {
	m.gateWait.observe(max(d, 0).Seconds(), kind)
}

// Delivered records one delivery attempt: result is ok, retry or failed;
// sinceQueued is counted for successes only.
func (m *Metrics) Delivered(kind, result string, attempt, sinceQueued time.Duration) {
	m.delivery.observe(attempt.Seconds(), kind, result)
	if result == "ok" {
		m.deliveryAge.observe(max(sinceQueued, 0).Seconds(), kind)
	} else {
		m.deliveryFailed.add(1, kind, result)
	}
}

// Request records one API request.
func (m *Metrics) Request(operation string, code int, d time.Duration) {
	if operation == "" {
		operation = "other"
	}
	m.api.observe(d.Seconds(), operation, itoa(code))
}

// Leading records whether this replica runs loop.
func (m *Metrics) Leading(loop string, leading bool) {
	v := 0.0
	if leading {
		v = 1
	}
	m.leader.set(v, loop)
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
