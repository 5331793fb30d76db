package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/server"
	"github.com/sluice-ci/sluice/internal/store/postgres/pgtest"
	"github.com/sluice-ci/sluice/internal/wire"
)

// benchReplicas measures `sluice server` replicas on one PostgreSQL, each a
// process of the built binary: executions per second through 1 and then 2
// replicas (with the CPU each process and PostgreSQL used, to say what
// limits it), a gate's release when the upstream job's success is reported
// to one replica and the gate is watched through the other, and the
// failover time of the singleton work after kill -9 of the replica running
// it.
func benchReplicas(ctx context.Context, runs int) error {
	if runs == 0 {
		runs = 300
	}
	pg, err := pgtest.Start()
	if err != nil {
		return err
	}
	defer pg.Stop()
	dir, bin, err := buildSluice(ctx, "replicas")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, n := range []int{1, 2} {
		if err := replicaThroughput(ctx, pg, bin, dir, n, runs); err != nil {
			return err
		}
	}
	if err := replicaGates(ctx, pg, bin, dir, max(runs/6, 10)); err != nil {
		return err
	}
	return replicaFailover(ctx, pg, bin, dir, 5)
}

// benchReplica is one `sluice server` process of a replica set.
type benchReplica struct {
	cmd  *exec.Cmd
	data string
	url  string
	c    *client.Client
}

// replicaSet starts and stops replicas sharing a database, a secret key,
// repositories and artifacts.
type replicaSet struct {
	bin, dsn, shared string
	flags            []string
	token            string
	all              []*benchReplica
}

func newReplicaSet(ctx context.Context, pg *pgtest.Server, bin, dir, db string, flags ...string) (*replicaSet, error) {
	admin, err := pgx.Connect(ctx, pg.DSN)
	if err != nil {
		return nil, err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		return nil, err
	}
	shared := filepath.Join(dir, db)
	if err := os.MkdirAll(shared, 0o700); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	if err := os.WriteFile(filepath.Join(shared, "secret.key"), key, 0o600); err != nil {
		return nil, err
	}
	return &replicaSet{bin: bin, dsn: strings.Replace(pg.DSN, "/postgres?", "/"+db+"?", 1), shared: shared, flags: flags}, nil
}

// startReplicas makes a replica set on a new database db and starts n
// replicas of it.
func startReplicas(ctx context.Context, pg *pgtest.Server, bin, dir, db string, n int, flags ...string) (*replicaSet, error) {
	rs, err := newReplicaSet(ctx, pg, bin, dir, db, flags...)
	if err != nil {
		return nil, err
	}
	for i := range n {
		if _, err := rs.start(ctx, i); err != nil {
			rs.stop()
			return nil, err
		}
	}
	return rs, nil
}

// start starts one more replica (or the i-th again) and waits until it
// listens.
func (rs *replicaSet) start(ctx context.Context, i int) (*benchReplica, error) {
	data := filepath.Join(rs.shared, fmt.Sprintf("data-%d", i))
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	os.Remove(filepath.Join(data, server.URLFile))
	if rs.token != "" {
		if err := os.WriteFile(filepath.Join(data, server.AdminTokenFile), []byte(rs.token+"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	args := append([]string{"server", "--data", data, "--addr", "127.0.0.1:0", "--store", rs.dsn,
		"--repos", filepath.Join(rs.shared, "repos"), "--secret-key-file", filepath.Join(rs.shared, "secret.key"),
		"--artifacts", filepath.Join(rs.shared, "artifacts"), "--isolation", "none"}, rs.flags...)
	cmd := exec.CommandContext(ctx, rs.bin, args...)
	logf, err := os.Create(filepath.Join(data, "server.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &benchReplica{cmd: cmd, data: data}
	deadline := time.Now().Add(60 * time.Second)
	for {
		raw, err := os.ReadFile(filepath.Join(data, server.URLFile))
		if err == nil && len(strings.TrimSpace(string(raw))) > 0 {
			r.url = strings.TrimSpace(string(raw))
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, fmt.Errorf("replica %d did not start (see %s)", i, logf.Name())
		}
		time.Sleep(20 * time.Millisecond) // polling a file for the server's start, bounded above
	}
	if rs.token == "" {
		raw, err := os.ReadFile(filepath.Join(data, server.AdminTokenFile))
		if err != nil {
			return nil, err
		}
		rs.token = strings.TrimSpace(string(raw))
	}
	r.c = client.New(r.url, rs.token)
	if i < len(rs.all) {
		rs.all[i] = r
	} else {
		rs.all = append(rs.all, r)
	}
	return r, nil
}

func (rs *replicaSet) stop() {
	for _, r := range rs.all {
		if r.cmd.ProcessState == nil {
			r.cmd.Process.Kill()
			r.cmd.Wait()
		}
	}
}

// leads says whether a replica runs the named singleton loop, from its
// /metrics.
func (rs *replicaSet) leads(ctx context.Context, r *benchReplica, loop string) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+rs.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(body), `sluice_singleton_leader{loop="`+loop+`"} 1`)
}

// cpuOf is the CPU time (user + system) process pid and, with children,
// its direct children have used.
func cpuOf(pid int, children bool) time.Duration {
	ticks := func(p int) int64 {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			return 0
		}
		// Fields after the command's closing parenthesis: state is 3,
		// utime 14 and stime 15 (1-based, as in proc(5)).
		f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		return u + s
	}
	total := ticks(pid)
	if children {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			p, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
			if err != nil {
				continue
			}
			f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
			if len(f) > 1 && f[1] == strconv.Itoa(pid) {
				total += ticks(p)
			}
		}
	}
	return time.Duration(total) * time.Second / 100 // USER_HZ is 100 on Linux
}

func loadavg() string {
	raw, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// replicaThroughput starts runs executions of a 3-stage no-op pipeline
// through n replicas (4 in-process workers each), the starts and the waits
// alternating between them, and reports executions per second and the CPU
// of the servers and of PostgreSQL meanwhile. PostgreSQL's sessions end
// with their connections, so its CPU is read from the sessions alive at the
// end (the replicas' pools keep theirs), plus the postmaster.
func replicaThroughput(ctx context.Context, pg *pgtest.Server, bin, dir string, n, runs int) error {
	rs, err := startReplicas(ctx, pg, bin, dir, fmt.Sprintf("throughput_%d", n), n, "--workers", "4")
	if err != nil {
		return err
	}
	defer rs.stop()
	src := "name: throughput\nexecutionMode: PARALLEL\nstages:\n"
	for _, s := range []string{"Source", "Build", "Deploy"} {
		src += fmt.Sprintf("  - name: %s\n    actions:\n      - name: %s\n        provider: Noop\n", s, strings.ToLower(s))
	}
	if err := apply(ctx, rs.all[0].c, src); err != nil {
		return err
	}
	// A warm-up round, so that connections and prepared statements exist.
	for _, r := range rs.all {
		id, err := r.c.Start(ctx, "throughput", wire.StartRequest{})
		if err != nil {
			return err
		}
		if _, err := waitDone(ctx, r.c, "throughput", id); err != nil {
			return err
		}
	}
	pgPID, err := pg.PID()
	if err != nil {
		return err
	}
	load0 := loadavg()
	cpu0 := make([]time.Duration, n)
	for i, r := range rs.all {
		cpu0[i] = cpuOf(r.cmd.Process.Pid, false)
	}
	pg0 := cpuOf(pgPID, true)
	t0 := time.Now()
	if err := inParallel(runs, 16, func(i int) error {
		id, err := rs.all[i%n].c.Start(ctx, "throughput", wire.StartRequest{})
		if err != nil {
			return err
		}
		return waitSucceeded(ctx, rs.all[(i+1)%n].c, "throughput", id)
	}); err != nil {
		return err
	}
	d := time.Since(t0)
	var serverCPU []string
	var total time.Duration
	for i, r := range rs.all {
		used := cpuOf(r.cmd.Process.Pid, false) - cpu0[i]
		total += used
		serverCPU = append(serverCPU, fmt.Sprintf("%.2f", used.Seconds()/d.Seconds()))
	}
	pgUsed := cpuOf(pgPID, true) - pg0
	fmt.Printf("%d replica(s) on one PostgreSQL, 4 in-process workers each, 3-stage no-op pipeline, %d executions (16 at a time, started through one replica and followed through the next): %.1f executions/s; CPU in cores: servers %s (total %.2f), PostgreSQL %.2f; load average %s before, %s after\n",
		n, runs, float64(runs)/d.Seconds(), strings.Join(serverCPU, " + "), total.Seconds()/d.Seconds(), pgUsed.Seconds()/d.Seconds(), load0, loadavg())
	return nil
}

// replicaGates is bench gates across replicas: the upstream job's success
// is reported to replica a, and the gated execution is followed through
// replica b's long poll; which replica runs the reactor that releases the
// gate is whichever won it.
func replicaGates(ctx context.Context, pg *pgtest.Server, bin, dir string, runs int) error {
	rs, err := startReplicas(ctx, pg, bin, dir, "gates", 2, "--workers", "0")
	if err != nil {
		return err
	}
	defer rs.stop()
	a, b := rs.all[0].c, rs.all[1].c
	if err := apply(ctx, a, "name: infra\nexecutionMode: PARALLEL\nstages:\n  - name: Deploy\n    actions:\n      - name: apply\n        provider: Noop\n"); err != nil {
		return err
	}
	if err := apply(ctx, b, "name: k8s\nexecutionMode: PARALLEL\nstages:\n  - name: Wait\n    actions:\n      - name: infra\n        provider: PipelineGate\n        configuration: {PipelineName: infra, Condition: Idle}\n  - name: Deploy\n    actions:\n      - name: ship\n        provider: Noop\n"); err != nil {
		return err
	}
	load0 := loadavg()
	var seen []time.Duration
	for range runs {
		d, _, err := gateRound(ctx, a, b)
		if err != nil {
			return err
		}
		seen = append(seen, d)
	}
	fmt.Printf("gate release across 2 replicas (%d runs), upstream job success reported to replica a -> gated action Succeeded seen through replica b's long poll: median %s, p90 %s, max %s; load average %s before, %s after\n",
		runs, ms(percentile(seen, 0.5)), ms(percentile(seen, 0.9)), ms(percentile(seen, 1)), load0, loadavg())
	return nil
}

// replicaFailover kills the replica running the reactor with SIGKILL, runs
// times, and measures how long until the other reports running it (its
// /metrics, read every 10 ms); the killed one is started again each time.
func replicaFailover(ctx context.Context, pg *pgtest.Server, bin, dir string, runs int) error {
	rs, err := startReplicas(ctx, pg, bin, dir, "failover", 2, "--workers", "0")
	if err != nil {
		return err
	}
	defer rs.stop()
	load0 := loadavg()
	var took []time.Duration
	for range runs {
		leader := -1
		deadline := time.Now().Add(30 * time.Second)
		for leader < 0 {
			for i, r := range rs.all {
				if rs.leads(ctx, r, "reactor") {
					leader = i
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("no replica runs the reactor")
			}
			time.Sleep(10 * time.Millisecond) // polling /metrics, bounded above
		}
		other := rs.all[1-leader]
		t0 := time.Now()
		rs.all[leader].cmd.Process.Kill()
		rs.all[leader].cmd.Wait()
		for !rs.leads(ctx, other, "reactor") {
			if time.Since(t0) > 30*time.Second {
				return fmt.Errorf("the survivor did not take the reactor over in 30s")
			}
			time.Sleep(10 * time.Millisecond) // polling /metrics, bounded above
		}
		took = append(took, time.Since(t0))
		if _, err := rs.start(ctx, leader); err != nil {
			return err
		}
	}
	fmt.Printf("failover of the singleton work (%d kill -9 of the replica running the reactor): the other runs it after median %s, max %s (it retries the lock every 1 s); load average %s before, %s after\n",
		runs, ms(percentile(took, 0.5)), ms(percentile(took, 1)), load0, loadavg())
	return nil
}
