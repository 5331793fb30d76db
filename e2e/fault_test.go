package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The fault test of several replicas (issue 20): two replicas and three
// remote workers on one PostgreSQL, executions with a gate, a lock shared
// across pipelines, manual approvals and a rule delivering their events,
// pushes to one branch through both replicas, and a schedule. Mid-run the
// replica running the singleton work and one worker are killed with
// kill -9, then PostgreSQL restarts. Afterwards every execution ended as it
// should, no job ran twice at once and no two held the lock at once, every
// event reached the rule's receiver and was queued in the event log's
// order, no schedule tick was queued twice, and every push is in the branch.

// faultExecutions is the fault test's size: SLUICE_FAULT_EXECUTIONS, or 24
// (what the suite runs on two cores in about a minute). The run is
// 200: `SLUICE_FAULT_EXECUTIONS=200 go test -run TestReplicasSurviveKill ./e2e`,
// whose result docs/OPERATIONS.md records.
func faultExecutions(t *testing.T) int {
	v := os.Getenv("SLUICE_FAULT_EXECUTIONS")
	if v == "" {
		return 24
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 10 {
		t.Fatalf("SLUICE_FAULT_EXECUTIONS=%q: want a number of executions, at least 10", v)
	}
	return n
}

// faultJob is one job's command: it logs its start and end (nanoseconds)
// under the job's key with the process id of the worker running it (the
// shell's parent, unsandboxed), so that the test can tell whether two runs
// of one job, or two jobs under the lock, overlapped. The worker's shell
// dies with the worker, leaving a start without an end.
func faultJob(log, key, sleep string) string {
	return fmt.Sprintf(`'echo "start #{codepipeline.PipelineExecutionId}/%[2]s $(date +%%s%%N) $PPID" >> %[1]s; sleep %[3]s; echo "end #{codepipeline.PipelineExecutionId}/%[2]s $(date +%%s%%N) $PPID" >> %[1]s'`, log, key, sleep)
}

func faultPipelines(log string) map[string]string {
	return map[string]string{
		"base": `
name: base
executionMode: PARALLEL
lock: shared-cluster
stages:
  - name: Build
    actions:
      - name: work
        provider: Commands
        commands: [` + faultJob(log, "base", "0.2") + `]
`,
		"gated": `
name: gated
executionMode: PARALLEL
stages:
  - name: Wait
    actions:
      - name: base-ready
        provider: PipelineGate
        configuration: {PipelineName: base, Condition: Succeeded}
  - name: Deploy
    lock: shared-cluster # a stage's lock: the gate is not waited for holding it
    actions:
      - name: work
        provider: Commands
        commands: [` + faultJob(log, "gated", "0.1") + `]
`,
		"approved": `
name: approved
executionMode: PARALLEL
stages:
  - name: Approve
    actions:
      - name: review
        provider: Manual
  - name: Run
    actions:
      - name: work
        provider: Commands
        commands: [` + faultJob(log, "approved", "0.1") + `]
`,
	}
}

// faultReceiver is the rules' webhook target: what arrived, by execution
// and state, and the schedule's ticks by their time.
type faultReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	events map[string]int // "EXECUTION STATE" → deliveries that arrived
	ticks  map[string]int // the tick's time → deliveries that arrived
}

func newFaultReceiver(t *testing.T) *faultReceiver {
	rec := &faultReceiver{events: map[string]int{}, ticks: map[string]int{}}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct {
			Time   string `json:"time"`
			Detail struct {
				ExecutionID string `json:"execution-id"`
				State       string `json:"state"`
			} `json:"detail"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("receiver %s: %v: %s", r.URL.Path, err, body)
			return
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		switch r.URL.Path {
		case "/events":
			rec.events[ev.Detail.ExecutionID+" "+ev.Detail.State]++
		case "/ticks":
			rec.ticks[ev.Time]++
		}
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *faultReceiver) got(execution, state string) bool {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.events[execution+" "+state] > 0
}

// front puts a round-robin proxy before the replicas and returns a server
// whose CLI goes through it, with the first replica's admin token.
func (r *replicas) front(t *testing.T) (*server, *roundRobin) {
	t.Helper()
	p := &roundRobin{}
	p.set(r.all)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: p}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	first := r.all[0]
	return &server{t: t, base: first.base, data: first.data, url: "http://" + l.Addr().String(), token: first.token}, p
}

// faultPusher pushes commits to main through the front until it has pushed
// want of them, pulling (rebasing) and pushing again when refused; it
// returns the commits whose push succeeded.
func faultPusher(g *gitClient, work, url, who string, want int, deadline time.Time) ([]string, error) {
	if _, errOut, err := g.try("", "clone", "-q", url, work); err != nil {
		return nil, fmt.Errorf("clone: %v: %s", err, errOut)
	}
	var pushed []string
	for i := 0; len(pushed) < want; {
		if time.Now().After(deadline) {
			return pushed, fmt.Errorf("%d of %d pushes by the deadline", len(pushed), want)
		}
		if i == len(pushed) { // the next commit
			name := fmt.Sprintf("%s-%d.txt", who, i)
			if err := os.WriteFile(filepath.Join(work, name), []byte(name), 0o644); err != nil {
				return pushed, err
			}
			if _, errOut, err := g.try(work, "add", name); err != nil {
				return pushed, fmt.Errorf("add: %v: %s", err, errOut)
			}
			if _, errOut, err := g.try(work, "commit", "-q", "-m", name); err != nil {
				return pushed, fmt.Errorf("commit: %v: %s", err, errOut)
			}
			i++
		}
		if _, _, err := g.try(work, "push", "-q", url, "HEAD:main"); err != nil {
			g.try(work, "pull", "-q", "--rebase", url, "main") // refused or failed: catch up, try again
			time.Sleep(poll)
			continue
		}
		head, _, err := g.try(work, "rev-parse", "HEAD")
		if err != nil {
			return pushed, err
		}
		pushed = append(pushed, strings.TrimSpace(head))
	}
	return pushed, nil
}

func TestReplicasSurviveKillAndDatabaseRestart(t *testing.T) {
	n := faultExecutions(t)
	began := time.Now()
	deadline := began.Add(120*time.Second + time.Duration(n)*1500*time.Millisecond)
	rec := newFaultReceiver(t)
	r := newReplicas(t, 2, "--workers", "0")
	fs, lb := r.front(t)
	dir := fs.scratch("fault")
	jobLog := filepath.Join(dir, "jobs.log")
	for name, text := range faultPipelines(jobLog) {
		file := filepath.Join(dir, name+".yml")
		writeFile(t, file, text)
		fs.apply(file)
	}
	writeFile(t, filepath.Join(dir, "events.yml"), `name: fault-events
eventPattern:
  detail-type: [CodePipeline Pipeline Execution State Change]
  detail: {pipeline: [base, gated, approved], state: [STARTED, SUCCEEDED, FAILED]}
targets:
  - webhook: {url: "`+rec.URL+`/events"}
`)
	writeFile(t, filepath.Join(dir, "ticks.yml"), `name: fault-ticks
scheduleExpression: rate(1 minute)
targets:
  - webhook: {url: "`+rec.URL+`/ticks"}
`)
	fs.ok("rule", "apply", "-f", filepath.Join(dir, "events.yml"))
	fs.ok("rule", "apply", "-f", filepath.Join(dir, "ticks.yml"))
	fs.ok("repo", "create", "fault")

	token := strings.TrimSpace(fs.ok("token", "create", "fault-worker", "--policy", "worker"))
	tokenFile := filepath.Join(dir, "worker.token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var workers []*remoteWorker
	for i := range 3 {
		// Unsandboxed, so that their jobs write the test's job log.
		workers = append(workers, startWorkerArgs(t, fs, tokenFile, fmt.Sprintf("w%d", i+1), "--concurrency", "2", "--isolation", "none"))
	}

	// Two pushers, one commit after another to main, through the front.
	g := newGit(t, fs)
	seed := fs.scratch("seed")
	g.initRepo(seed)
	g.commit(seed, "seed", map[string]string{"README": "fault\n"})
	g.run(seed, "push", "-q", fs.gitURL("fault"), "main")
	type pushResult struct {
		commits []string
		err     error
	}
	pushes := max(4, n/20)
	results := make(chan pushResult, 2)
	for _, who := range []string{"p1", "p2"} {
		go func() {
			c, err := faultPusher(g, filepath.Join(dir, "push-"+who), fs.gitURL("fault"), who, pushes, deadline)
			results <- pushResult{c, err}
		}()
	}

	type run struct {
		pipeline, id, want string
		answered           bool
	}
	var runs []*run
	byPipeline := map[string][]*run{}
	for i := range n {
		p := [...]string{"base", "base", "base", "base", "gated", "gated", "gated", "approved", "approved", "approved"}[i%10]
		ru := &run{pipeline: p, want: "Succeeded"}
		if p == "approved" && len(byPipeline[p])%5 == 4 {
			ru.want = "Failed" // rejected
		}
		runs = append(runs, ru)
		byPipeline[p] = append(byPipeline[p], ru)
	}
	// Four clients start them at once, as a busy team's would.
	var next sync.Mutex
	var wg sync.WaitGroup
	started := 0
	for range 4 {
		wg.Go(func() {
			for {
				next.Lock()
				if started == n {
					next.Unlock()
					return
				}
				ru := runs[started]
				started++
				next.Unlock()
				for time.Now().Before(deadline) {
					if res := fs.cli("start", ru.pipeline); res.code == 0 {
						ru.id = strings.TrimSpace(res.stdout)
						break
					}
					time.Sleep(poll)
				}
			}
		})
	}
	wg.Wait()
	for _, ru := range runs {
		if ru.id == "" {
			t.Fatalf("could not start %s by the deadline", ru.pipeline)
		}
	}
	t.Logf("%d executions started through the front in %s", n, time.Since(began).Round(time.Millisecond))

	var (
		leader, survivor        *server
		victim                  *remoteWorker
		killedAt, workerKilled  time.Time
		failedOver, restartedAt time.Time
		status                  = map[string]string{}
	)
	for {
		if time.Now().After(deadline) {
			break
		}
		ended := 0
		for p := range byPipeline {
			var list []struct {
				ID     string `json:"pipelineExecutionId"`
				Status string `json:"status"`
			}
			res := fs.cli("executions", p, "--limit", "1000", "-o", "json")
			if res.code != 0 || json.Unmarshal([]byte(res.stdout), &list) != nil {
				if time.Now().After(deadline.Add(-time.Second)) {
					t.Logf("listing %s: %s", p, res)
				}
				continue
			}
			for _, e := range list {
				status[e.ID] = e.Status
			}
		}
		for _, ru := range runs {
			switch status[ru.id] {
			case "Succeeded", "Failed", "Stopped", "Superseded":
				ended++
			case "InProgress":
				if ru.pipeline == "approved" && !ru.answered {
					verb := "approve"
					if ru.want == "Failed" {
						verb = "reject"
					}
					res := fs.cli(verb, "approved", ru.id, "Approve", "review")
					ru.answered = res.code == 0 || strings.Contains(res.stderr, "already answered")
				}
			}
		}
		switch {
		case leader == nil && ended >= n/3:
			// Mid-run: kill the replica running the singleton work, and a worker.
			for i, s := range r.all {
				if s.leads("reactor") {
					leader, survivor = s, r.all[1-i]
				}
			}
			if leader == nil {
				t.Fatal("no replica runs the reactor")
			}
			lb.set([]*server{survivor}) // the load balancer's health check takes it out
			killedAt = time.Now()
			leader.kill9()
			victim = busyWorker(jobLog, workers)
			victim.cmd.Process.Signal(syscall.SIGKILL)
			<-victim.done
			workerKilled = time.Now()
			t.Logf("killed the leading replica and a worker with %d of %d executions ended", ended, n)
		case leader != nil && failedOver.IsZero() && survivor.leads("reactor"):
			failedOver = time.Now()
			t.Logf("failover of the singleton work after kill -9: %s", failedOver.Sub(killedAt).Round(10*time.Millisecond))
		case !failedOver.IsZero() && restartedAt.IsZero() && (ended >= n*2/3 || time.Since(failedOver) > 5*time.Second):
			restartedAt = time.Now()
			if err := pgSrv.Restart(); err != nil {
				t.Fatal(err)
			}
			t.Logf("PostgreSQL restarted with %d of %d executions ended", ended, n)
		}
		if ended == n && !restartedAt.IsZero() {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	elapsed := time.Since(began)
	if restartedAt.IsZero() {
		t.Fatalf("the run ended before the faults were injected (killed: %v)", !killedAt.IsZero())
	}
	unfinished := 0
	for _, ru := range runs {
		if got := status[ru.id]; got != ru.want {
			unfinished++
			if unfinished <= 5 {
				t.Errorf("%s %s: %q, want %s:\n%s", ru.pipeline, ru.id, got, ru.want, fs.cli("execution", "get", ru.pipeline, ru.id).stdout)
			}
		}
	}
	if unfinished > 0 {
		t.Fatalf("%d of %d executions did not end as they should; locks:\n%s", unfinished, n, fs.cli("lock", "list").stdout)
	}
	t.Logf("%d executions ended as they should %s after the first start (%.1f/s, with the faults)", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())

	checkJobLog(t, readFile(t, jobLog), victim.cmd.Process.Pid, workerKilled)

	// Every execution's start and end reached the rule's receiver.
	eventually(t, time.Until(deadline)+30*time.Second, "every event delivered", func() bool {
		for _, ru := range runs {
			if !rec.got(ru.id, "STARTED") || !rec.got(ru.id, strings.ToUpper(ru.want)) {
				return false
			}
		}
		return true
	})
	ticks := checkDeliveryOrder(t, r.dsn)
	eventually(t, 60*time.Second, "every schedule tick delivered", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return len(rec.ticks) >= ticks
	})

	for range 2 {
		res := <-results
		if res.err != nil {
			t.Fatalf("pusher: %v", res.err)
		}
		check := fs.scratch(fmt.Sprintf("check-%d", len(res.commits)))
		os.RemoveAll(check)
		g.run("", "clone", "-q", fs.gitURL("fault"), check)
		for _, c := range res.commits {
			if _, _, err := g.try(check, "merge-base", "--is-ancestor", c, "main"); err != nil {
				t.Errorf("pushed commit %s is not in main", c)
			}
		}
	}
	t.Logf("%d pushes through the front, all in main", 2*pushes)

	for _, loop := range []string{"reactor", "rules", "deliveries", "sweeper", "schedules"} {
		eventually(t, 30*time.Second, "the survivor to run "+loop, func() bool { return survivor.leads(loop) })
	}
}

// busyWorker picks the worker to kill: one running a job (a start in the
// job log without its end), waiting a little for one, else the first.
func busyWorker(jobLog string, workers []*remoteWorker) *remoteWorker {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		raw, _ := os.ReadFile(jobLog)
		running := map[string]int{} // worker pid → jobs started and not ended
		for _, l := range lines(string(raw)) {
			if f := strings.Fields(l); len(f) == 4 && f[0] == "start" {
				running[f[3]]++
			} else if len(f) == 4 && f[0] == "end" {
				running[f[3]]--
			}
		}
		for _, w := range workers {
			if running[strconv.Itoa(w.cmd.Process.Pid)] > 0 {
				return w
			}
		}
	}
	return workers[0]
}

// checkJobLog reads the jobs' start and end lines: no job's runs overlap,
// and no two jobs under the shared lock (base's and gated's) do. A run
// that started on the worker killed (process killedPID, at killedAt) and
// has no end died with it: it counts as running until then.
func checkJobLog(t *testing.T, log string, killedPID int, killedAt time.Time) {
	t.Helper()
	type span struct {
		key        string
		start, end int64
	}
	type running struct {
		start int64
		pid   string
	}
	open := map[string][]running{}
	var spans []span
	killed := 0
	for _, l := range lines(log) {
		f := strings.Fields(l)
		if len(f) != 4 {
			t.Fatalf("job log line %q", l)
		}
		ns, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			t.Fatalf("job log line %q: %v", l, err)
		}
		key, pid := f[1], f[3]
		switch f[0] {
		case "start":
			open[key] = append(open[key], running{ns, pid})
		case "end":
			runs := open[key]
			var rest []running
			for _, r := range runs {
				switch {
				case r.pid == pid:
					spans = append(spans, span{key, r.start, ns})
				case r.pid == strconv.Itoa(killedPID) && r.start < killedAt.UnixNano():
					killed++
					spans = append(spans, span{key, r.start, killedAt.UnixNano()})
				default:
					rest = append(rest, r)
				}
			}
			open[key] = rest
		}
	}
	for key, runs := range open {
		for _, r := range runs {
			if r.pid != strconv.Itoa(killedPID) || r.start > killedAt.UnixNano() {
				t.Errorf("job %s started at %d on worker process %s and never ended", key, r.start, r.pid)
				continue
			}
			killed++
			spans = append(spans, span{key, r.start, killedAt.UnixNano()})
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	var lastLocked *span
	lastByKey := map[string]span{}
	for i, s := range spans {
		if prev, ok := lastByKey[s.key]; ok && s.start < prev.end {
			t.Errorf("job %s ran twice at once", s.key)
		}
		lastByKey[s.key] = s
		if strings.HasSuffix(s.key, "/approved") {
			continue
		}
		if lastLocked != nil && s.start < lastLocked.end {
			t.Errorf("jobs %s and %s held lock shared-cluster at once", lastLocked.key, s.key)
		}
		lastLocked = &spans[i]
	}
	t.Logf("job log: %d runs of %d jobs, %d cut short by the killed worker; none overlapped", len(spans), len(lastByKey), killed)
}

// checkDeliveryOrder reads the deliveries from the database: the event
// rule's were queued in the event log's order (their ids carry the event's
// sequence, rn is the insertion order), none is a dead letter, and no
// schedule tick was queued twice or twice within a minute.
func checkDeliveryOrder(t *testing.T, dsn string) (ticks int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT id, source, status FROM deliveries WHERE source IN ('rule/fault-events', 'rule/fault-ticks') ORDER BY rn`)
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	var events int
	var tickMS []int64
	for rows.Next() {
		var id, source, status string
		if err := rows.Scan(&id, &source, &status); err != nil {
			t.Fatal(err)
		}
		if status == "Failed" {
			t.Errorf("delivery %s is a dead letter", id)
		}
		parts := strings.Split(id, "/") // rule/NAME/KEY/TARGET
		if len(parts) != 4 {
			t.Fatalf("delivery id %q", id)
		}
		if source == "rule/fault-ticks" {
			ms, err := strconv.ParseInt(strings.TrimPrefix(parts[2], "tick-"), 10, 64)
			if err != nil {
				t.Fatalf("tick delivery id %q", id)
			}
			tickMS = append(tickMS, ms)
			continue
		}
		seq, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil {
			t.Fatalf("delivery id %q: %v", id, err)
		}
		if seq <= last {
			t.Errorf("delivery of event %d queued after that of event %d", seq, last)
		}
		last = seq
		events++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(tickMS); i++ {
		if tickMS[i]-tickMS[i-1] < time.Minute.Milliseconds() {
			t.Errorf("schedule ticks %d and %d are less than a minute apart", tickMS[i-1], tickMS[i])
		}
	}
	t.Logf("%d event deliveries queued in the event log's order; %d schedule ticks, each once", events, len(tickMS))
	return len(tickMS)
}
