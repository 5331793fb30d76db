// Command bench measures sluice end to end on this machine: a real server on a
// temporary data directory (SQLite, disk artifacts), real HTTP on 127.0.0.1.
//
//	go run ./bench overhead    engine overhead per action: from a job's success report to the next job claimed
//	go run ./bench sequential  a 10-action sequential pipeline of `true` commands, against running `true` 10 times
//	go run ./bench sandbox     one `true` job's sandbox: unsandboxed, started cold, and prepared ahead of the job
//	go run ./bench throughput  executions per second of a 3-stage pipeline of no-op actions
//	                           (-pipelines 1000: with 1,000 other pipelines declared)
//	go run ./bench rss         the server's resident memory when idle
//	go run ./bench push        from the end of `git push` to the source action's job being claimed
//	go run ./bench gitlarge    push and clone of 10,000 files / 200 MB history, against the file protocol
//	go run ./bench ssh         the same clone and push over SSH, and git push over SSH -> source job claimed
//	go run ./bench s3events    an S3 store's event notification (versitygw, and a direct POST) -> the S3 source job claimed
//	go run ./bench cloneref    a CODEBUILD_CLONE_REF connection source of that repository, against a plain git clone
//	go run ./bench build       `sluice build` of a 3-command buildspec against `sh -c`
//	go run ./bench zip         a 1 GiB artifact zipped by sluice against `zip -1`
//	go run ./bench logs        an action printing 200 MB: captured whole, with the server's peak memory
//	go run ./bench gates       from an upstream execution's end to the gate waiting on it released (100 runs)
//	go run ./bench waiting     1,000 executions waiting on a gate or a lock at once: memory, then the time to drain
//	go run ./bench ui          the web console: a 10×10 pipeline page with 1,000 executions rendered, and live updates
//	go run ./bench rules       from a job's success to a rule's webhook target holding the SUCCEEDED event (100 runs)
//	go run ./bench s3          a 1 GiB artifact deployed to S3 (moto) unpacked and as one zip: heap and RSS peaks
//	go run ./bench regions     a 1 GiB artifact staged into another region's store (a directory, versitygw), against `cp`
//	go run ./bench cli         `sluice --help` and `sluice status` as whole processes (also of a -tags sluiceclient build), against /bin/true and a Go hello-world
//	go run ./bench idle        CPU of a server idle for 60 s (-runs: seconds) with 1,000 pipelines and no rules
//	go run ./bench list        ListPipelines and the console's list at 1,000 pipelines (all, a page) and GetPipelineState with 10,000 past executions (-runs)
//	go run ./bench replicas    replicas on one PostgreSQL (processes of the built binary): executions/s with 1 and 2 and the CPU of each
//	                           process and of PostgreSQL, gate release across replicas, failover time of the singleton work
//	go run ./bench all         all of the above
//
// Every measurement is bounded in count and time and stops by itself.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/server"
	"github.com/sluice-ci/sluice/internal/wire"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go run ./bench [flags] overhead|sequential|sandbox|throughput|rss|cli|idle|list|push|gitlarge|ssh|cloneref|build|zip|logs|gates|waiting|ui|rules|s3|regions|replicas|s3events|all")
		flag.PrintDefaults()
	}
	runs := flag.Int("runs", 0, "repetitions (0: each benchmark's default)")
	flag.StringVar(&isolation, "isolation", "auto", "the servers' --isolation: auto (bubblewrap) or none, to measure what the sandbox costs")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (server included: it runs in this process) to this file")
	timeout := flag.Duration("timeout", 10*time.Minute, "bound on the whole run")
	flag.IntVar(&idlePipelines, "pipelines", 0, "throughput: declare this many other pipelines first, which nothing runs or follows")
	flag.StringVar(&againstBin, "against", "", "cli: another sluice binary (an older build) to time in the same run, alternated with this tree's")
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	profilePath = *cpuprofile
	if a := flag.Arg(0); a != "idle" && a != "list" { // these two profile only what they measure
		defer startProfile()()
	}
	fmt.Printf("machine: %s, %d cores, %s\n", cpuModel(), runtime.NumCPU(), runtime.Version())
	which := flag.Arg(0)
	var err error
	for _, b := range []struct {
		name string
		run  func(context.Context, int) error
	}{
		{"overhead", benchOverhead},
		{"sequential", benchSequential},
		{"sandbox", benchSandbox},
		{"throughput", benchThroughput},
		{"rss", benchRSS},
		{"cli", benchCLI},
		{"idle", benchIdle},
		{"list", benchList},
		{"push", benchPush},
		{"gitlarge", benchGitLarge},
		{"ssh", benchSSH},
		{"cloneref", benchCloneRef},
		{"build", benchBuild},
		{"zip", benchZip},
		{"logs", benchLogs},
		{"gates", benchGates},
		{"waiting", benchWaiting},
		{"ui", benchUI},
		{"rules", benchRules},
		{"audit", benchAudit},
		{"s3", benchS3},
		{"regions", benchRegions},
		{"replicas", benchReplicas},
		{"s3events", benchS3Events},
	} {
		if which == b.name || which == "all" {
			fmt.Printf("%s: load average before %s\n", b.name, loadAverage())
			if err = b.run(ctx, *runs); err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", b.name, err)
				os.Exit(1)
			}
			fmt.Printf("%s: load average after %s\n", b.name, loadAverage())
		}
	}
}

// idlePipelines is the -pipelines flag.
var idlePipelines int

// profilePath is the -cpuprofile flag.
var profilePath string

// startProfile starts the CPU profile the -cpuprofile flag asks for, if any,
// and returns what stops it.
func startProfile() func() {
	if profilePath == "" {
		return func() {}
	}
	f, err := os.Create(profilePath)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return pprof.StopCPUProfile
}

func cpuModel() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// loadAverage is the machine's 1, 5 and 15 minute load averages, written
// beside every figure: on a shared machine they say how much to trust it.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// buildSluice builds the binary into a new temporary directory named for
// the benchmark and returns both; the caller removes dir.
func buildSluice(ctx context.Context, bench string) (dir, bin string, err error) {
	dir, err = os.MkdirTemp("", "sluice-bench-"+bench+"-")
	if err != nil {
		return "", "", err
	}
	bin = filepath.Join(dir, "sluice")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/sluice").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", "", fmt.Errorf("build: %v\n%s", err, out)
	}
	return dir, bin, nil
}

// isolation is the -isolation flag: how the benchmarks' servers isolate
// actions' code.
var isolation string

// startServer runs a server in this process with the given in-process workers.
func startServer(ctx context.Context, workers int) (*client.Client, func(), error) {
	c, _, _, cleanup, err := startServerURL(ctx, workers)
	return c, cleanup, err
}

// startServerURL is startServer, also giving the server's URL and admin token.
func startServerURL(ctx context.Context, workers int) (*client.Client, string, string, func(), error) {
	return startServerWith(ctx, server.Config{Workers: workers})
}

// startServerWith is startServerURL with cfg's other settings (the data
// directory, address, isolation and logger are the benchmarks').
func startServerWith(ctx context.Context, cfg server.Config) (*client.Client, string, string, func(), error) {
	dir, err := os.MkdirTemp("", "sluice-bench-")
	if err != nil {
		return nil, "", "", nil, err
	}
	cfg.DataDir, cfg.Addr, cfg.Isolation = dir, "127.0.0.1:0", isolation
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := server.Open(ctx, cfg)
	if err != nil {
		return nil, "", "", nil, err
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(sctx)
	}()
	raw, err := os.ReadFile(filepath.Join(dir, server.AdminTokenFile))
	if err != nil {
		stop()
		return nil, "", "", nil, err
	}
	token := strings.TrimSpace(string(raw))
	c := client.New(s.URL(), token)
	cleanup := func() {
		stop()
		<-done
		s.Close()
		os.RemoveAll(dir)
	}
	return c, s.URL(), token, cleanup, nil
}

func apply(ctx context.Context, c *client.Client, src string) error {
	_, err := c.ApplyPipeline(ctx, "bench.yml", []byte(src), false)
	return err
}

// sequentialPipeline declares n actions, one after another in one stage.
func sequentialPipeline(name string, n int, action string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nexecutionMode: PARALLEL\nstages:\n  - name: Run\n    actions:\n", name)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "      - name: a%d\n        runOrder: %d\n%s", i, i, action)
	}
	return b.String()
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + " ms"
}

// benchOverhead acts as a worker over the HTTP job protocol with no real work:
// the time from sending a job's success to holding the next job is what sluice
// itself costs per action (HTTP, engine decision, SQLite transaction, wake-up).
// It measures both ways a worker can do it, alternating: a result then a
// claim (two requests, as old workers do), and the result that claims the
// next job in the same request and transaction (wire.NextParam).
func benchOverhead(ctx context.Context, runs int) error {
	if runs == 0 {
		runs = 30
	}
	c, cleanup, err := startServer(ctx, 0)
	if err != nil {
		return err
	}
	defer cleanup()
	if err := apply(ctx, c, sequentialPipeline("overhead", 10, "        provider: Noop\n")); err != nil {
		return err
	}
	claim := wire.ClaimRequest{WorkerID: "bench", Providers: []string{"Noop"}, WaitSeconds: 10}
	gaps := map[bool][]time.Duration{}
	cpu := map[bool]time.Duration{}
	for run := range 2 * runs {
		combined := run%2 == 1
		if _, err := c.Start(ctx, "overhead", wire.StartRequest{}); err != nil {
			return err
		}
		job, err := c.ClaimJob(ctx, claim)
		if err != nil || job == nil {
			return fmt.Errorf("first job: %v", err)
		}
		for i := 1; i <= 10; i++ {
			t0, c0 := time.Now(), cpuWithChildren()
			res := wire.JobResult{WorkerID: "bench", Succeeded: true}
			var next *wire.Job
			if combined {
				next, err = c.CompleteJobAndClaim(ctx, job.ID, res, claim.Providers)
			} else {
				err = c.CompleteJob(ctx, job.ID, res)
			}
			if err != nil {
				return err
			}
			if i == 10 {
				break
			}
			if next == nil {
				if next, err = c.ClaimJob(ctx, claim); err != nil || next == nil {
					return fmt.Errorf("job %d: %v", i+1, err)
				}
			}
			job = next
			gaps[combined] = append(gaps[combined], time.Since(t0))
			cpu[combined] += cpuWithChildren() - c0
		}
	}
	for _, combined := range []bool{false, true} {
		g := gaps[combined]
		how := "result, then claim (2 requests)"
		if combined {
			how = "result claiming the next job (1 request)"
		}
		fmt.Printf("overhead per action, %s (success reported -> next job held, %d actions): median %s, p90 %s, p99 %s; CPU %s an action\n",
			how, len(g), ms(percentile(g, 0.5)), ms(percentile(g, 0.9)), ms(percentile(g, 0.99)), ms(cpu[combined]/time.Duration(len(g))))
	}
	return nil
}

// cpuWithChildren is processCPU with the CPU of the children this process
// waited for (the actions' processes): load on the machine disturbs it much
// less than wall time.
func cpuWithChildren() time.Duration {
	var children syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	return processCPU() + time.Duration(children.Utime.Nano()+children.Stime.Nano())
}

// benchSequential runs a 10-action sequential pipeline of `true` commands through
// in-process workers and compares it with running `true` ten times.
func benchSequential(ctx context.Context, runs int) error {
	if runs == 0 {
		runs = 10
	}
	var floors []time.Duration
	f0 := cpuWithChildren()
	for range runs {
		t0 := time.Now()
		for range 10 {
			if err := exec.CommandContext(ctx, "true").Run(); err != nil {
				return err
			}
		}
		floors = append(floors, time.Since(t0))
	}
	floorCPU := cpuWithChildren() - f0
	c, cleanup, err := startServer(ctx, 2)
	if err != nil {
		return err
	}
	defer cleanup()
	if err := apply(ctx, c, sequentialPipeline("sequential", 10, "        provider: Commands\n        commands: [\"true\"]\n")); err != nil {
		return err
	}
	var walls []time.Duration
	c0 := cpuWithChildren()
	for range runs {
		t0 := time.Now()
		id, err := c.Start(ctx, "sequential", wire.StartRequest{})
		if err != nil {
			return err
		}
		e, err := waitDone(ctx, c, "sequential", id)
		if err != nil {
			return err
		}
		if e.Status != "Succeeded" {
			return fmt.Errorf("execution %s ended %s: %s", id, e.Status, e.StatusSummary)
		}
		walls = append(walls, time.Since(t0))
	}
	used := cpuWithChildren() - c0
	floor, wall := percentile(floors, 0.5), percentile(walls, 0.5)
	fmt.Printf("10 sequential `true` actions (isolation %s): median %s end to end; floor (true x10) median %s; ratio %.1fx; CPU (server, workers, actions) %s an execution against the floor's %s\n",
		isolation, ms(wall), ms(floor), float64(wall)/float64(floor), ms(used/time.Duration(runs)), ms(floorCPU/time.Duration(runs)))
	return nil
}

// waitSucceeded waits for an execution's end and says if it did not succeed.
func waitSucceeded(ctx context.Context, c *client.Client, name, id string) error {
	e, err := waitDone(ctx, c, name, id)
	if err == nil && e.Status != "Succeeded" {
		err = fmt.Errorf("execution %s of %s ended %s", id, name, e.Status)
	}
	return err
}

// inParallel runs do(0) … do(n-1), at most limit at a time, and returns the
// first error.
func inParallel(n, limit int, do func(i int) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, limit)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs <- do(i)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func waitDone(ctx context.Context, c *client.Client, name, id string) (*wire.Execution, error) {
	var since time.Time
	for {
		e, err := c.Execution(ctx, name, id, since, 30*time.Second)
		if err != nil {
			return nil, err
		}
		if e.Terminal() {
			return e, nil
		}
		since = e.LastUpdateTime
	}
}

// benchThroughput starts many executions of a 3-stage no-op pipeline at once and
// counts how many finish per second.
func benchThroughput(ctx context.Context, runs int) error {
	if runs == 0 {
		runs = 200
	}
	c, cleanup, err := startServer(ctx, 4)
	if err != nil {
		return err
	}
	defer cleanup()
	src := "name: throughput\nexecutionMode: PARALLEL\nstages:\n"
	for _, s := range []string{"Source", "Build", "Deploy"} {
		src += fmt.Sprintf("  - name: %s\n    actions:\n      - name: %s\n        provider: Noop\n", s, strings.ToLower(s))
	}
	if err := apply(ctx, c, src); err != nil {
		return err
	}
	if idlePipelines > 0 {
		if err := declareIdle(ctx, c, idlePipelines); err != nil {
			return err
		}
		if err := settle(ctx); err != nil {
			return err
		}
	}
	t0, c0 := time.Now(), cpuWithChildren()
	ids := make([]string, runs)
	for i := range ids {
		if ids[i], err = c.Start(ctx, "throughput", wire.StartRequest{}); err != nil {
			return err
		}
	}
	if err := inParallel(len(ids), 16, func(i int) error { return waitSucceeded(ctx, c, "throughput", ids[i]) }); err != nil {
		return err
	}
	d, used := time.Since(t0), cpuWithChildren()-c0
	fmt.Printf("3-stage no-op pipeline, %d executions in PARALLEL mode, 4 in-process workers, %d other pipelines: %.1f executions/s (%.0f actions/s); CPU %s an execution (%.0f executions per CPU-second)\n",
		runs, idlePipelines, float64(runs)/d.Seconds(), float64(3*runs)/d.Seconds(), ms(used/time.Duration(runs)), float64(runs)/used.Seconds())
	return nil
}

// benchRSS builds the binary, starts `sluice server` and reads its resident
// memory once it is idle.
func benchRSS(ctx context.Context, _ int) error {
	dir, bin, err := buildSluice(ctx, "rss")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	data := filepath.Join(dir, "data")
	cmd := exec.CommandContext(ctx, bin, "server", "--data", data, "--addr", "127.0.0.1:0")
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(data, server.URLFile)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server did not start")
		}
		time.Sleep(20 * time.Millisecond) // polling a file for the server's start, bounded above
	}
	// Idle means: started, with its workers parked in long polls, for a while.
	time.Sleep(3 * time.Second)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			fmt.Printf("idle server RSS (4 in-process workers): %s\n", strings.TrimSpace(strings.TrimPrefix(line, "VmRSS:")))
		}
	}
	return nil
}
