package build

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/buildspec"
	"github.com/sluice-ci/sluice/internal/provider"
)

// batchLimit is how many builds of a batch run at once: Provider.BatchConcurrency,
// else min(4, GOMAXPROCS*2). CodeBuild's batch section has no such setting,
// and its project-level buildBatchConfig does not reach the worker.
func (pr Provider) batchLimit() int {
	if pr.BatchConcurrency > 0 {
		return pr.BatchConcurrency
	}
	return min(4, runtime.GOMAXPROCS(0)*2)
}

// The states of a batch's builds.
const (
	batchPending = iota
	batchRunning
	batchSucceeded
	batchFailed // failed, stopped or not run: its dependents do not run
)

// batchOutcome is what one build of a batch came to.
type batchOutcome struct {
	i    int
	spec *buildspec.Spec
	ws   string
	res  buildspec.Result
	err  error // sluice could not run it
}

// batch runs the builds of the buildspec's batch section, each in a fresh
// copy of the primary source with a HOME of its own, up to b.limit at once:
// a build list's and a build matrix's builds all together, a build graph's
// each as soon as the builds it depends on have succeeded. A build whose
// dependency failed does not run; fast-fail stops the running builds and
// starts no more at the first failure; ignore-failure lets a build fail
// without failing the batch. Each build's log lines are prefixed with its
// identifier. With CombineArtifacts, the primary artifacts of all builds go
// into the first output artifact under their identifiers; otherwise each
// output artifact takes the primary artifact of the build of the same
// identifier. Exported variables are merged in the plan's order, later
// builds winning, whatever order the builds ended in.
func (b builder) batch(ctx context.Context, spec *buildspec.Spec, dir string) (provider.Result, error) {
	builds, err := spec.BatchBuilds()
	if err != nil {
		return provider.Result{}, fmt.Errorf("BatchEnabled: %w", err)
	}
	root := filepath.Join(filepath.Dir(b.job.WorkDir), "batch")
	shared := &lockedWriter{w: b.job.Log}
	log := func(id, format string, args ...any) {
		fmt.Fprintf(shared, "[Container] batch build %s: "+format+"\n", append([]any{id}, args...)...)
	}
	index := map[string]int{}
	for i, pb := range builds {
		index[pb.Identifier] = i
	}

	ctx, cancelAll := context.WithCancel(ctx)
	defer cancelAll()
	state := make([]int, len(builds))
	outcomes := make([]batchOutcome, len(builds))
	cancels := make([]context.CancelFunc, len(builds))
	stoppedBy := make([]string, len(builds)) // why fast-fail stopped a running build
	done := make(chan batchOutcome)
	running := 0
	stopping := "" // why no more builds start
	var fatal error
	for {
		if stopping == "" && ctx.Err() != nil {
			stopping = "the batch was stopped"
		}
		// The plan lists every build after those it depends on, so one pass
		// in its order settles each dependent of a build that failed.
		for i, pb := range builds {
			if state[i] != batchPending {
				continue
			}
			if stopping != "" {
				log(pb.Identifier, "not run: %s", stopping)
				state[i] = batchFailed
				continue
			}
			ready, failedDep := true, ""
			for _, d := range pb.DependOn {
				switch state[index[d]] {
				case batchFailed:
					failedDep = d
				case batchSucceeded:
				default:
					ready = false
				}
			}
			if failedDep != "" {
				log(pb.Identifier, "not run: it depends on %s, which failed", failedDep)
				state[i] = batchFailed
				continue
			}
			if !ready || running >= b.limit {
				continue
			}
			bctx, cancel := context.WithCancel(ctx)
			cancels[i] = cancel
			state[i] = batchRunning
			running++
			log(pb.Identifier, "started")
			go func() {
				o := b.batchBuild(bctx, spec, dir, root, pb, shared)
				o.i = i
				done <- o
			}()
		}
		if running == 0 {
			break
		}
		o := <-done
		running--
		cancels[o.i]()
		outcomes[o.i] = o
		pb := builds[o.i]
		switch {
		case o.err != nil:
			state[o.i] = batchFailed
			log(pb.Identifier, "could not run: %v", o.err)
			if fatal == nil {
				fatal = fmt.Errorf("batch build %s: %w", pb.Identifier, o.err)
				stopping = "the batch could not run " + pb.Identifier
				cancelAll()
			}
		case o.res.Succeeded:
			state[o.i] = batchSucceeded
			log(pb.Identifier, "succeeded")
		case stoppedBy[o.i] != "":
			state[o.i] = batchFailed
			log(pb.Identifier, "stopped: %s", stoppedBy[o.i])
		case pb.IgnoreFailure:
			state[o.i] = batchFailed
			log(pb.Identifier, "failed, ignored: %s", o.res.Message)
		default:
			state[o.i] = batchFailed
			log(pb.Identifier, "failed: %s", o.res.Message)
			if spec.Batch.FastFail && stopping == "" {
				stopping = "fast-fail after " + pb.Identifier + " failed"
				for j := range builds {
					if state[j] == batchRunning {
						stoppedBy[j] = stopping
						cancels[j]()
					}
				}
			}
		}
	}
	if fatal != nil {
		return provider.Result{}, fatal
	}

	var failures, stopped []string
	vars := map[string]string{}
	for i, pb := range builds {
		o := outcomes[i]
		switch {
		case state[i] == batchSucceeded:
			for k, v := range o.res.ExportedVariables {
				vars[k] = v
			}
		case stoppedBy[i] != "":
			stopped = append(stopped, pb.Identifier)
		case o.spec != nil && !pb.IgnoreFailure:
			failures = append(failures, pb.Identifier+": "+o.res.Message)
		}
	}
	if len(failures) > 0 {
		msg := "batch failed: " + strings.Join(failures, "; ")
		if len(stopped) > 0 {
			msg += " (fast-fail stopped " + strings.Join(stopped, ", ") + ")"
		}
		return provider.Result{}, fmt.Errorf("%s", msg)
	}
	if err := ctx.Err(); err != nil {
		return provider.Result{}, fmt.Errorf("batch stopped: %w", err)
	}
	if err := b.batchOutputs(builds, outcomes, state); err != nil {
		return provider.Result{}, err
	}
	return provider.Result{Summary: fmt.Sprintf("batch of %d builds of %s succeeded", len(builds), b.p.Name), OutputVariables: vars}, nil
}

// batchBuild runs one build of a batch, its log prefixed with its identifier
// and written whole lines at a time into the batch's log.
func (b builder) batchBuild(ctx context.Context, spec *buildspec.Spec, dir, root string, pb buildspec.PlannedBuild, shared io.Writer) batchOutcome {
	out := &prefixWriter{prefix: "[" + pb.Identifier + "] ", w: shared}
	defer out.Flush()
	job := *b.job
	job.Log = out
	b.job = &job

	ws := filepath.Join(root, pb.Identifier)
	if err := artifact.CopyTree(dir, ws); err != nil {
		return batchOutcome{err: fmt.Errorf("copy source: %w", err)}
	}
	bspec := spec
	if pb.Buildspec != "" {
		var err error
		if bspec, err = loadBuildspec(Project{Name: b.p.Name, Buildspec: pb.Buildspec}, ws, b.job); err != nil {
			return batchOutcome{err: err}
		}
	}
	extra := map[string]string{"CODEBUILD_BATCH_BUILD_IDENTIFIER": pb.Identifier}
	for k, v := range pb.Variables {
		extra[k] = v
	}
	// Each build keeps its scripts, status files and HOME apart, as builds
	// in containers of their own would.
	scratch := ""
	if b.job.ScratchDir != "" {
		scratch = filepath.Join(b.job.ScratchDir, "batch-"+pb.Identifier)
		if err := os.MkdirAll(scratch, 0o700); err != nil {
			return batchOutcome{err: err}
		}
	}
	home := filepath.Join(filepath.Dir(b.job.WorkDir), "homes", pb.Identifier)
	if err := os.MkdirAll(home, 0o700); err != nil {
		return batchOutcome{err: err}
	}
	res, err := b.run(ctx, bspec, ws, scratch, home, extra)
	return batchOutcome{spec: bspec, ws: ws, res: res, err: err}
}

// batchOutputs writes the action's output artifacts from the builds that
// succeeded.
func (b builder) batchOutputs(builds []buildspec.PlannedBuild, outcomes []batchOutcome, state []int) error {
	outputs := b.job.Outputs
	succeeded := map[string]batchOutcome{}
	for i, pb := range builds {
		if state[i] == batchSucceeded {
			succeeded[pb.Identifier] = outcomes[i]
		}
	}
	switch {
	case len(outputs) == 0:
	case strings.EqualFold(b.job.Configuration["CombineArtifacts"], "true"):
		var all []buildspec.ArtifactFile
		for _, pb := range builds {
			d, ok := succeeded[pb.Identifier]
			if !ok || d.spec.Artifacts == nil || len(d.spec.Artifacts.Files) == 0 {
				continue
			}
			files, err := d.spec.Artifacts.Artifact.Collect(d.ws)
			if err != nil {
				return fmt.Errorf("batch build %s: %w", pb.Identifier, err)
			}
			for _, f := range files {
				f.Name = pb.Identifier + "/" + f.Name
				all = append(all, f)
			}
		}
		return writeZipFile(outputs[0], all)
	default:
		for _, out := range outputs {
			d, ok := succeeded[out.Name]
			if !ok || d.spec.Artifacts == nil {
				return fmt.Errorf("output artifact %s: no build of the batch with that identifier produced artifacts (or set CombineArtifacts: true)", out.Name)
			}
			files, err := d.spec.Artifacts.Artifact.Collect(d.ws)
			if err != nil {
				return fmt.Errorf("batch build %s: %w", out.Name, err)
			}
			if err := writeZipFile(out, files); err != nil {
				return err
			}
		}
	}
	return nil
}

// lockedWriter serialises the writes of a batch's builds into the job's log,
// which takes one writer at a time.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Add passes a value to mask on to the job's log, when it masks.
func (l *lockedWriter) Add(value []byte) { addMask(l.w, value) }

// maxLine is the longest line a prefixWriter writes whole; a longer one is
// cut into pieces of that size, so that a build printing without newlines
// cannot grow the buffer without bound.
const maxLine = 64 << 10

// prefixWriter writes whole lines, each with a prefix, in one Write each, so
// that the lines of builds running at once interleave but never mix.
type prefixWriter struct {
	mu     sync.Mutex
	prefix string
	w      io.Writer
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		n := bytes.IndexByte(p.buf, '\n') + 1
		switch {
		case n > 0 && n <= maxLine:
		case len(p.buf) >= maxLine:
			n = maxLine
		default:
			return len(b), nil
		}
		if err := p.emit(p.buf[:n]); err != nil {
			return len(b), err
		}
		p.buf = p.buf[n:]
	}
}

// Add passes a value to mask on to the log underneath, when it masks.
func (p *prefixWriter) Add(value []byte) { addMask(p.w, value) }

// masker is a log that hides values from then on, as the worker's does.
type masker interface{ Add(value []byte) }

func addMask(w io.Writer, value []byte) {
	if m, ok := w.(masker); ok {
		m.Add(value)
	}
}

// Flush writes what is left of an unfinished last line.
func (p *prefixWriter) Flush() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) == 0 {
		return nil
	}
	err := p.emit(p.buf)
	p.buf = nil
	return err
}

func (p *prefixWriter) emit(line []byte) error {
	out := make([]byte, 0, len(p.prefix)+len(line)+1)
	out = append(append(out, p.prefix...), line...)
	if out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	_, err := p.w.Write(out)
	return err
}
