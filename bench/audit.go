package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/server"
	"github.com/sluice-ci/sluice/internal/wire"
)

// benchAudit measures what the audit trail costs the API: the same calls by N
// concurrent clients against a server with the trail on and one with it off
// (server.Config.NoAudit), both running at once on data directories of their
// own, in short rounds that alternate between them, so that whatever else the
// machine does weighs on both alike. GetPipelineState is a read, where the
// trail's write is the largest share of a call; StartPipelineExecution writes
// the store as well. Besides calls per second it reports the process's CPU
// time per call, which other load on the machine disturbs less.
func benchAudit(ctx context.Context, runs int) error {
	if runs == 0 {
		runs = 10
	}
	ops := []struct {
		op    string
		calls int // per round
		call  func(context.Context, *client.Client) error
	}{
		{"GetPipelineState", 2000, func(ctx context.Context, c *client.Client) error {
			_, err := c.State(ctx, "audited")
			return err
		}},
		{"StartPipelineExecution", 500, func(ctx context.Context, c *client.Client) error {
			_, err := c.Start(ctx, "audited", wire.StartRequest{})
			return err
		}},
	}
	for _, clients := range []int{16, 64} {
		for _, o := range ops {
			var srv [2]*auditServer // [0] off, [1] on
			for i := range srv {
				s, err := startAuditServer(ctx, i == 0, clients)
				if err != nil {
					return err
				}
				defer s.stop()
				srv[i] = s
			}
			var wall, cpu [2]time.Duration
			var lat [2][]time.Duration
			for round := range runs {
				// Alternate which goes first.
				for _, i := range []int{round % 2, 1 - round%2} {
					w, c, l, err := srv[i].round(ctx, o.calls, o.call)
					if err != nil {
						return fmt.Errorf("%s (audit on: %v): %w", o.op, i == 1, err)
					}
					wall[i] += w
					cpu[i] += c
					lat[i] = append(lat[i], l...)
				}
			}
			n := float64(runs * o.calls)
			rate := [2]float64{n / wall[0].Seconds(), n / wall[1].Seconds()}
			perCall := [2]time.Duration{cpu[0] / time.Duration(n), cpu[1] / time.Duration(n)}
			fmt.Printf("audit trail, %s, %d clients, %d calls each: off %.0f calls/s (p50 %s, %.0f µs CPU/call), on %.0f calls/s (p50 %s, %.0f µs CPU/call): throughput cost %.1f%%, CPU cost %.1f%%\n",
				o.op, clients, int(n), rate[0], ms(percentile(lat[0], 0.5)), us(perCall[0]), rate[1], ms(percentile(lat[1], 0.5)), us(perCall[1]),
				100*(rate[0]-rate[1])/rate[0], 100*float64(perCall[1]-perCall[0])/float64(perCall[1]))
		}
	}
	return nil
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

type auditServer struct {
	clients []*client.Client // one per 16 callers, so connections are reused, not churned
	stop    func()
}

// startAuditServer runs a server with the audit trail on or off and a
// pipeline of three no-op actions with one execution.
func startAuditServer(ctx context.Context, noAudit bool, callers int) (*auditServer, error) {
	dir, err := os.MkdirTemp("", "sluice-bench-audit-")
	if err != nil {
		return nil, err
	}
	s, err := server.Open(ctx, server.Config{
		DataDir: dir, Addr: "127.0.0.1:0", Workers: 0, NoAudit: noAudit,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(sctx)
	}()
	as := &auditServer{}
	as.stop = func() {
		for _, c := range as.clients {
			c.CloseIdleConnections()
		}
		cancel()
		<-done
		s.Close()
		os.RemoveAll(dir)
	}
	raw, err := os.ReadFile(filepath.Join(dir, server.AdminTokenFile))
	if err != nil {
		as.stop()
		return nil, err
	}
	for range (callers + 15) / 16 {
		as.clients = append(as.clients, client.New(s.URL(), strings.TrimSpace(string(raw))))
	}
	src := "name: audited\nexecutionMode: PARALLEL\nstages:\n"
	for _, st := range []string{"Source", "Build", "Deploy"} {
		src += fmt.Sprintf("  - name: %s\n    actions:\n      - name: %s\n        provider: Noop\n", st, strings.ToLower(st))
	}
	if err := apply(ctx, as.clients[0], src); err == nil {
		_, err = as.clients[0].Start(ctx, "audited", wire.StartRequest{})
	}
	if err != nil {
		as.stop()
		return nil, err
	}
	return as, nil
}

// round makes calls calls with 16 callers per client and returns the wall
// time, the process's CPU time and each call's latency.
func (s *auditServer) round(ctx context.Context, calls int, call func(context.Context, *client.Client) error) (time.Duration, time.Duration, []time.Duration, error) {
	// Bounded: a round that takes longer than this fails the benchmark.
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	callers := 16 * len(s.clients)
	var next atomic.Int64
	lats := make([][]time.Duration, callers)
	errs := make(chan error, callers)
	var wg sync.WaitGroup
	cpu0, t0 := processCPU(), time.Now()
	for i := range callers {
		c := s.clients[i/16]
		wg.Go(func() {
			for next.Add(1) <= int64(calls) {
				t := time.Now()
				if err := call(rctx, c); err != nil {
					errs <- err
					return
				}
				lats[i] = append(lats[i], time.Since(t))
			}
		})
	}
	wg.Wait()
	wall, cpu := time.Since(t0), processCPU()-cpu0
	close(errs)
	if err := <-errs; err != nil {
		return 0, 0, nil, err
	}
	return wall, cpu, slices.Concat(lats...), nil
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
