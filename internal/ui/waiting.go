package ui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/service"
)

// waitInfo is what an execution in progress waits for, worked out from the
// state the console reads: the execution (waiting to enter a stage, or in a
// stage with a gate, an approval or an invoked pipeline still open) and the
// locks' holders and queues.
type waitInfo struct {
	// Kind is lock, transition, stage, gate, approval or invoke; "" when
	// the execution waits for nothing (it runs, or it ended).
	Kind  string
	Short string // a few words, for lists and the graph
	Long  string // a sentence
}

// waitOf says what e waits for, in the console's words, from the service's
// one answer (service.WaitingOf).
func waitOf(e *engine.Execution, locks []service.LockState) waitInfo {
	w := service.WaitingOf(e, locks)
	if w == nil {
		return waitInfo{}
	}
	out := describeWait(w)
	if len(w.Also) > 0 {
		out.Short += fmt.Sprintf(" and %d more", len(w.Also))
		for _, o := range w.Also {
			out.Long += "; " + describeWait(o).Long
		}
	}
	return out
}

func describeWait(w *service.Waiting) waitInfo {
	switch w.Kind {
	case service.WaitLock:
		return waitInfo{Kind: w.Kind, Short: "queued for lock " + w.Name, Long: queuedPhrase(w.Name, aheadOf(w)) + ", to enter stage " + w.Stage}
	case service.WaitTransition:
		return waitInfo{Kind: w.Kind, Short: "transition to " + w.Stage + " disabled", Long: w.Detail}
	case service.WaitStage:
		return waitInfo{Kind: w.Kind, Short: "waiting to enter " + w.Stage, Long: w.Detail}
	case service.WaitGate:
		long := fmt.Sprintf("gate %s waits for pipeline %s to be %s", w.Action, w.Name, w.Condition)
		if w.Detail != "" {
			long += " (" + w.Detail + ")"
		}
		return waitInfo{Kind: w.Kind, Short: "gate: " + w.Name, Long: long}
	case service.WaitApproval:
		return waitInfo{Kind: w.Kind, Short: "approval " + strings.TrimPrefix(w.Action, w.Stage+"/"), Long: "approval " + w.Action + " waits for an answer"}
	case service.WaitInvoke:
		return waitInfo{Kind: w.Kind, Short: "invoked " + w.Name, Long: w.Action + " waits for its invoked execution of " + w.Name}
	}
	return waitInfo{Kind: w.Kind, Short: w.Label(), Long: w.Detail}
}

// aheadOf names the pipelines ahead of a queued execution, the holder
// marked as such.
func aheadOf(w *service.Waiting) []string {
	ahead := slices.Clone(w.Ahead)
	if w.HeldBy != "" && len(ahead) > 0 {
		ahead[0] += " (holds it)"
	}
	return ahead
}

// aheadInQueue names the pipelines ahead of the i-th in l's queue, the
// holder marked as such.
func aheadInQueue(l engine.Lock, i int) []string {
	var ahead []string
	if l.Holder != nil {
		ahead = append(ahead, l.Holder.Pipeline+" (holds it)")
	}
	for _, q := range l.Queue[:i] {
		ahead = append(ahead, q.Pipeline)
	}
	return ahead
}

// queuedPhrase says where an execution stands in the queue of lock name,
// given the pipelines ahead of it (the holder first): "queued for
// prod-cluster behind infra (holds it)".
func queuedPhrase(name string, ahead []string) string {
	switch len(ahead) {
	case 0:
		return "first in the queue for " + name
	case 1:
		return "queued for " + name + " behind " + ahead[0]
	}
	return fmt.Sprintf("queued for %s behind %s and %d more", name, ahead[0], len(ahead)-1)
}

// lockNote is what an execution has to do with one lock it names.
type lockNote struct {
	Name   string
	Role   string // holds, queued, or "" (not taken yet, or let go)
	Phrase string
}

// lockNotes says, for each lock e names (its pipeline's and its current
// stage's), whether e holds it or is queued for it.
func lockNotes(e *engine.Execution, locks []service.LockState) []lockNote {
	var names []string
	if e.Lock != "" {
		names = append(names, e.Lock)
	}
	if e.Current < len(e.Stages) && e.Stages[e.Current].Lock != "" && !slices.Contains(names, e.Stages[e.Current].Lock) {
		names = append(names, e.Stages[e.Current].Lock)
	}
	var out []lockNote
	for _, n := range names {
		note := lockNote{Name: n}
		for _, l := range locks {
			if l.Name != n {
				continue
			}
			if l.Holder != nil && l.Holder.ExecutionID == e.ID {
				note.Role, note.Phrase = "holds", "holds "+n
			} else if i := slices.IndexFunc(l.Queue, func(h engine.LockHolder) bool { return h.ExecutionID == e.ID }); i >= 0 {
				note.Role, note.Phrase = "queued", queuedPhrase(n, aheadInQueue(l.Lock, i))
			}
		}
		if note.Phrase == "" {
			note.Phrase = n
			if !e.Status.Terminal() {
				note.Phrase += " (not taken yet)"
			}
		}
		out = append(out, note)
	}
	return out
}

// lockHolderOf names who holds lock name now: "k8s (execution 1a2b3c4d)" or
// "free".
func lockHolderOf(name string, locks []service.LockState) string {
	for _, l := range locks {
		if l.Name == name && l.Holder != nil {
			s := "held by " + l.Holder.Pipeline + " (execution " + short(l.Holder.ExecutionID) + ")"
			if len(l.Queue) > 0 {
				s += fmt.Sprintf(", %d queued", len(l.Queue))
			}
			return s
		}
	}
	return "free"
}
