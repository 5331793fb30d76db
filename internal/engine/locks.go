package engine

import (
	"fmt"
	"slices"
	"time"
)

// Locks let executions of different pipelines exclude one another: a pipeline
// naming `lock: L` holds L from entering its first stage until the execution
// ends; a stage naming it holds it while the execution is in that stage. Who
// holds a lock and who waits for it, in order, is stored with the lock and
// given to Decide with the pipeline's state; the service writes back the locks
// a decision changed in the same transaction, so a lock is released exactly
// when its holder ends, crash or not.
//
// Only the head of a lock's queue may take it when it is free, so executions get
// a lock in the order they asked for it, whatever pipeline they belong to. A
// release that leaves someone waiting emits a LockEvent; the service reacts to
// it by reconciling the waiter's pipeline.

// Lock is the state of one lock.
type Lock struct {
	Holder *LockHolder  `json:"holder,omitempty"`
	Queue  []LockHolder `json:"queue,omitempty"`
}

// LockHolder is an execution holding a lock or waiting for it.
type LockHolder struct {
	Pipeline    string    `json:"pipelineName"`
	ExecutionID string    `json:"pipelineExecutionId"`
	Since       time.Time `json:"since"`
}

func (d *decider) lock(name string) *Lock {
	l := d.locks[name]
	if l == nil {
		l = &Lock{}
		d.locks[name] = l
	}
	return l
}

// locksFor lists the locks e must hold to be in stage st.
func locksFor(e *Execution, st *Stage) []string {
	var out []string
	if e.Lock != "" {
		out = append(out, e.Lock)
	}
	if st.Lock != "" && st.Lock != e.Lock {
		out = append(out, st.Lock)
	}
	return out
}

// acquire takes every lock e needs for st, or says what e waits for. Locks
// taken before a wait are kept: they are taken in a fixed order (the
// pipeline's, then the stage's), so two executions never each hold what the
// other needs unless their pipelines name the same locks at different levels.
func (d *decider) acquire(e *Execution, st *Stage) (waitingFor string) {
	for _, name := range locksFor(e, st) {
		l := d.lock(name)
		if l.Holder != nil && l.Holder.ExecutionID == e.ID {
			continue
		}
		queued := slices.IndexFunc(l.Queue, func(h LockHolder) bool { return h.ExecutionID == e.ID })
		if l.Holder == nil && (len(l.Queue) == 0 || queued == 0) {
			if queued == 0 {
				l.Queue = l.Queue[1:]
			}
			l.Holder = &LockHolder{Pipeline: e.Pipeline, ExecutionID: e.ID, Since: d.env.Now}
			d.locksChanged[name] = true
			d.emitLock(e, name, "ACQUIRED", "")
			continue
		}
		if queued < 0 {
			l.Queue = append(l.Queue, LockHolder{Pipeline: e.Pipeline, ExecutionID: e.ID, Since: d.env.Now})
			queued = len(l.Queue) - 1
			d.locksChanged[name] = true
		}
		msg := ""
		switch {
		case l.Holder != nil && queued == 0:
			msg = fmt.Sprintf("waiting for lock %s, held by execution %s of pipeline %s", name, l.Holder.ExecutionID, l.Holder.Pipeline)
		case l.Holder != nil:
			msg = fmt.Sprintf("waiting for lock %s, held by execution %s of pipeline %s, with %d ahead in the queue", name, l.Holder.ExecutionID, l.Holder.Pipeline, queued)
		default:
			ahead := l.Queue[0]
			msg = fmt.Sprintf("waiting for lock %s, next to execution %s of pipeline %s", name, ahead.ExecutionID, ahead.Pipeline)
		}
		if e.WaitingFor != msg {
			d.emitLock(e, name, "WAITING", msg)
		}
		return msg
	}
	return ""
}

// syncLocks releases what executions no longer need: every lock of an
// execution that ended, and a stage's lock once its execution left the stage.
// An execution that ended also leaves the queues it waited in.
func (d *decider) syncLocks() {
	for _, e := range d.execs {
		for name, l := range d.locks {
			if l.Holder != nil && l.Holder.ExecutionID == e.ID && !d.needs(e, name) {
				l.Holder = nil
				d.locksChanged[name] = true
				next := ""
				if len(l.Queue) > 0 {
					next = fmt.Sprintf("next: execution %s of pipeline %s", l.Queue[0].ExecutionID, l.Queue[0].Pipeline)
				}
				d.emitLock(e, name, "RELEASED", next)
			}
			if e.Status.Terminal() {
				if i := slices.IndexFunc(l.Queue, func(h LockHolder) bool { return h.ExecutionID == e.ID }); i >= 0 {
					l.Queue = slices.Delete(l.Queue, i, i+1)
					d.locksChanged[name] = true
				}
			}
		}
	}
}

// needs reports whether e must keep holding lock name.
func (d *decider) needs(e *Execution, name string) bool {
	if e.Status.Terminal() {
		return false
	}
	if e.Lock == name {
		return true
	}
	return !e.Waiting && e.Current < len(e.Stages) && e.Stages[e.Current].Lock == name
}

func (d *decider) emitLock(e *Execution, name, state, summary string) {
	d.events = append(d.events, Event{
		DetailType:  LockEvent,
		Time:        d.env.Now,
		Pipeline:    e.Pipeline,
		Version:     e.Version,
		ExecutionID: e.ID,
		State:       state,
		Trigger:     e.Trigger,
		Summary:     summary,
		Lock:        name,
	})
}
