package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/buildspec"
	"github.com/sluice-ci/sluice/internal/wire"
)

// benchBuild compares `sluice build` of a 3-command buildspec with running the
// same three commands with `sh -c`, both as whole processes.
func benchBuild(ctx context.Context, runs int) error {
	if runs == 0 {
		runs = 20
	}
	dir, bin, err := buildSluice(ctx, "build")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	spec := "version: 0.2\nphases:\n  build:\n    commands:\n      - echo one\n      - echo two > out.txt\n      - cat out.txt\n"
	if err := os.WriteFile(filepath.Join(src, "buildspec.yml"), []byte(spec), 0o644); err != nil {
		return err
	}
	// The CPU times are the processes' and their children's (user + system,
	// from wait4): load disturbs them much less than wall time.
	var builds, shells, buildCPU, shellCPU []time.Duration
	for range runs {
		sh := exec.CommandContext(ctx, "sh", "-c", "echo one; echo two > "+filepath.Join(dir, "out.txt")+"; cat "+filepath.Join(dir, "out.txt"))
		t0 := time.Now()
		if out, err := sh.CombinedOutput(); err != nil {
			return fmt.Errorf("sh: %v\n%s", err, out)
		}
		shells = append(shells, time.Since(t0))
		shellCPU = append(shellCPU, sh.ProcessState.UserTime()+sh.ProcessState.SystemTime())
		cmd := exec.CommandContext(ctx, bin, "build", "--source", src)
		t0 = time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("sluice build: %v\n%s", err, out)
		}
		builds = append(builds, time.Since(t0))
		buildCPU = append(buildCPU, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
	}
	b, s := percentile(builds, 0.5), percentile(shells, 0.5)
	bc, sc := percentile(buildCPU, 0.5), percentile(shellCPU, 0.5)
	fmt.Printf("sluice build of a 3-command buildspec: median %s (p10 %s); sh -c of the same commands %s (p10 %s); overhead %s wall; CPU %s against %s, overhead %s (bubblewrap not used: local builds run directly)\n",
		ms(b), ms(percentile(builds, 0.1)), ms(s), ms(percentile(shells, 0.1)), ms(b-s), ms(bc), ms(sc), ms(bc-sc))
	return nil
}

// benchZip zips 1 GiB of files with sluice's artifact writer and with `zip -1`.
func benchZip(ctx context.Context, _ int) error {
	dir, err := os.MkdirTemp("", "sluice-bench-zip-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "dist")
	os.MkdirAll(src, 0o755)
	// Half random (incompressible) and half repetitive (compressible), as
	// build outputs are: binaries and text.
	chunk := make([]byte, 64<<20)
	for i := range 16 {
		if i%2 == 0 {
			rand.Read(chunk)
		} else {
			for j := range chunk {
				chunk[j] = byte('a' + j%26)
			}
		}
		if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("part%02d.bin", i)), chunk, 0o644); err != nil {
			return err
		}
	}
	files, err := buildspec.Artifact{Files: []string{"**/*"}, BaseDirectory: "dist"}.Collect(dir)
	if err != nil {
		return err
	}
	var ms0 runtimeMem
	ms0.start()
	t0 := time.Now()
	out, err := os.Create(filepath.Join(dir, "sluice.zip"))
	if err != nil {
		return err
	}
	if err := buildspec.WriteZip(out, files); err != nil {
		return err
	}
	out.Close()
	ours := time.Since(t0)
	peak := ms0.stop()
	os.Remove(filepath.Join(dir, "sluice.zip"))
	t0 = time.Now()
	cmd := exec.CommandContext(ctx, "zip", "-1", "-q", "-r", filepath.Join(dir, "ref.zip"), ".")
	cmd.Dir = src
	if o, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("zip: %v\n%s", err, o)
	}
	ref := time.Since(t0)
	gib := float64(16*64<<20) / (1 << 30)
	fmt.Printf("1 GiB artifact (half random, half text): sluice %s (%.0f MiB/s, heap peak %d MiB), zip -1 %s (%.0f MiB/s): %.2f of zip -1's throughput\n",
		ms(ours), gib*1024/ours.Seconds(), peak>>20, ms(ref), gib*1024/ref.Seconds(), ref.Seconds()/ours.Seconds())
	return nil
}

// runtimeMem samples the heap while a measurement runs.
type runtimeMem struct {
	stopc chan struct{}
	done  chan uint64
}

func (m *runtimeMem) start() {
	m.stopc, m.done = make(chan struct{}), make(chan uint64, 1)
	go func() {
		var peak uint64
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			var st goruntime.MemStats
			goruntime.ReadMemStats(&st)
			peak = max(peak, st.HeapInuse)
			select {
			case <-m.stopc:
				m.done <- peak
				return
			case <-t.C:
			}
		}
	}()
}

func (m *runtimeMem) stop() uint64 {
	close(m.stopc)
	return <-m.done
}

// benchLogs runs an action that prints 200 MB and reads its log back in full,
// reporting the peak resident memory of the process holding the server and its
// worker.
func benchLogs(ctx context.Context, _ int) error {
	c, cleanup, err := startServer(ctx, 1)
	if err != nil {
		return err
	}
	defer cleanup()
	const size = 200_000_000
	src := fmt.Sprintf("name: loud\nstages:\n  - name: S\n    actions:\n      - name: print\n        provider: Commands\n        commands: [\"yes 0123456789012345678901234567890123456789012345678901234567890123456789 | head -c %d\"]\n", size)
	if err := apply(ctx, c, src); err != nil {
		return err
	}
	t0 := time.Now()
	id, err := c.Start(ctx, "loud", wire.StartRequest{})
	if err != nil {
		return err
	}
	e, err := waitDone(ctx, c, "loud", id)
	if err != nil {
		return err
	}
	if e.Status != "Succeeded" {
		return fmt.Errorf("execution ended %s: %s", e.Status, e.StatusSummary)
	}
	took := time.Since(t0)
	var total int64
	for {
		chunk, err := c.Log(ctx, "loud", id, "print", total, 0)
		if err != nil {
			return err
		}
		if len(chunk.Data) == 0 {
			break
		}
		total += int64(len(chunk.Data))
	}
	status, _ := os.ReadFile("/proc/self/status")
	peak := ""
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			peak = strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	fmt.Printf("an action printing %d MB: run and captured in %s, read back %d bytes (the output plus the command echo); peak RSS of the process holding server and worker: %s\n",
		size/1_000_000, ms(took), total, peak)
	return nil
}
