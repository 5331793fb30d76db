package worker

import (
	"context"
	"os"
	"sync"

	"github.com/sluice-ci/sluice/internal/process"
)

// Starting a job's sandbox costs about 3 ms, most of what sandboxing adds
// to a short action; ending it and removing the job's directory another
// millisecond or so. So a worker starts the sandbox of its next job ahead
// of time — while it waits for a job, or while the current one runs — and
// ends the last one after its result is sent, neither on a job's critical
// path (see process.Prepared).
//
// A prepared sandbox serves one job, in fresh directories made for it; it
// holds nothing of a job until the job is handed to it. It has one shape
// (the network or not): a job whose sandbox would have another runs in one
// started cold, and the next one is prepared in that job's shape.

// preparer is a provider whose jobs run in a sandbox the worker can start
// ahead of the job.
type preparer interface {
	// PreparedNetwork says whether the sandbox of a job of configuration
	// has the network; ok is false when its jobs run unsandboxed.
	PreparedNetwork(configuration map[string]string) (network, ok bool)
	// Prepare starts such a sandbox in root (the job's directory) and
	// scratch (its scratch directory), both made empty.
	Prepare(root, scratch string, network bool) (*process.Prepared, error)
}

// prepared is a sandbox being started, or started, for the next job.
type prepared struct {
	network bool
	done    chan struct{} // closed once box or err is set

	root, scratch string
	box           *process.Prepared
	err           error
}

// prepareAhead is how many sandboxes a worker keeps prepared. One started
// as a job is handed its sandbox is often not set up yet when that job ends
// (a `true` takes a millisecond, bubblewrap three), so the next job gets
// the one prepared a job earlier.
const prepareAhead = 2

// startPreparing starts preparing sandboxes for the next jobs, with network
// or not, when the worker has a provider to prepare them and fewer than
// prepareAhead are prepared.
func (w *Worker) startPreparing(network bool) {
	for w.preparer != nil && len(w.next) < prepareAhead {
		w.prepareOne(network)
	}
}

func (w *Worker) prepareOne(network bool) {
	pp := &prepared{network: network, done: make(chan struct{})}
	w.next = append(w.next, pp)
	scratchRoot := w.ScratchRoot
	if scratchRoot == "" {
		scratchRoot = w.WorkRoot
	}
	go func() {
		defer close(pp.done)
		if pp.root = w.spareRoot(); pp.root == "" {
			if pp.root, pp.err = os.MkdirTemp(w.WorkRoot, "job-"); pp.err != nil {
				return
			}
		}
		if pp.scratch, pp.err = os.MkdirTemp(scratchRoot, "scratch-"); pp.err != nil {
			return
		}
		pp.box, pp.err = w.preparer.Prepare(pp.root, pp.scratch, network)
	}()
}

// takePrepared hands the oldest prepared sandbox to a job whose sandbox
// has network, and starts preparing another. It returns nil when that one
// has another shape, or failed: the job starts its own, and those prepared
// next have its shape.
func (w *Worker) takePrepared(ctx context.Context, network bool) *prepared {
	if len(w.next) == 0 {
		w.startPreparing(network)
		return nil
	}
	pp := w.next[0]
	select {
	case <-pp.done:
	case <-ctx.Done():
		return nil
	}
	w.next = w.next[1:]
	switch {
	case pp.err != nil:
		w.Logger.WarnContext(ctx, "preparing the sandbox of the next job", "err", pp.err)
	case !pp.box.Alive():
		w.Logger.WarnContext(ctx, "the sandbox prepared for the next job ended before the job came")
	case pp.network != network:
		// The others were prepared in the same shape.
		for _, other := range w.next {
			w.retire(other)
		}
		w.next = nil
	default:
		w.startPreparing(network)
		return pp
	}
	w.retire(pp)
	w.startPreparing(network)
	return nil
}

// retire ends a prepared sandbox and removes its directories, in the
// background: a job's result does not wait for it.
func (w *Worker) retire(pp *prepared) {
	w.retiring.Add(1)
	go func() {
		defer w.retiring.Done()
		<-pp.done
		if pp.box != nil {
			pp.box.Discard()
		}
		if pp.scratch != "" {
			os.RemoveAll(pp.scratch)
		}
		if pp.root == "" {
			return
		}
		// As jobRoot keeps a job directory left empty (ext4 makes and
		// removes directories slowly), the next sandbox prepared gets it.
		if pp.box != nil && reusable(pp.root) {
			w.spareMu.Lock()
			w.spare = append(w.spare, pp.root)
			w.spareMu.Unlock()
			return
		}
		os.RemoveAll(pp.root)
	}()
}

// spareRoot returns a job directory a retired sandbox left empty, "" when
// there is none.
func (w *Worker) spareRoot() string {
	w.spareMu.Lock()
	defer w.spareMu.Unlock()
	if len(w.spare) == 0 {
		return ""
	}
	root := w.spare[len(w.spare)-1]
	w.spare = w.spare[:len(w.spare)-1]
	return root
}

// retireUsed retires the sandbox the last job ran in, if it ran in one.
func (w *Worker) retireUsed() {
	if w.used != nil {
		w.retire(w.used)
		w.used = nil
	}
}

// findPreparer picks the provider the worker prepares sandboxes with: the
// first in name order that runs its jobs in a sandbox.
func (w *Worker) findPreparer(providers []string) {
	for _, name := range providers {
		if p, ok := w.Providers[name].(preparer); ok {
			if _, ok := p.PreparedNetwork(nil); ok {
				w.preparer = p
				return
			}
		}
	}
}

// stopPreparing ends the prepared sandbox and waits until every sandbox
// the worker prepared is gone, with its directories.
func (w *Worker) stopPreparing() {
	for _, pp := range w.next {
		w.retire(pp)
	}
	w.next = nil
	w.retireUsed()
	w.retiring.Wait()
	for _, root := range w.spare {
		os.RemoveAll(root)
	}
	w.spare = nil
}

// preparedState is what a Worker keeps of its prepared sandboxes.
type preparedState struct {
	preparer preparer
	next     []*prepared // for the next jobs, oldest first
	used     *prepared   // the current job's, retired after its result
	retiring sync.WaitGroup
	spareMu  sync.Mutex
	spare    []string // job directories left empty, for the next ones
}
