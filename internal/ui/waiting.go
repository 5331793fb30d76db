package ui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
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

// waitOf says what e waits for.
func waitOf(e *engine.Execution, locks []service.LockState) waitInfo {
	if e == nil || e.Status != engine.ExecutionInProgress || e.Current >= len(e.Stages) {
		return waitInfo{}
	}
	stage := e.Stages[e.Current]
	if e.Waiting {
		for _, l := range locks {
			if i := slices.IndexFunc(l.Queue, func(h engine.LockHolder) bool { return h.ExecutionID == e.ID }); i >= 0 {
				return waitInfo{Kind: "lock", Short: "queued for lock " + l.Name,
					Long: queuedPhrase(l.Name, l.Lock, i) + ", to enter stage " + stage.Name}
			}
		}
		switch {
		case strings.Contains(e.WaitingFor, "transition") && strings.Contains(e.WaitingFor, "disabled"):
			return waitInfo{Kind: "transition", Short: "transition to " + stage.Name + " disabled", Long: e.WaitingFor}
		case e.WaitingFor != "":
			return waitInfo{Kind: "stage", Short: "waiting to enter " + stage.Name, Long: e.WaitingFor}
		}
		return waitInfo{}
	}
	var found []waitInfo
	for _, a := range stage.Actions {
		if a.Status != engine.ActionInProgress {
			continue
		}
		where := stage.Name + "/" + a.Decl.Name
		cfg := func(k string) string { return engine.ResolveNow(e, a.Decl.Configuration[k]) }
		switch id := a.Decl.ActionTypeID; {
		case id.Provider == pipeline.ProviderPipelineGate:
			cond := cfg("Condition")
			if cond == "" {
				cond = "Succeeded"
			}
			w := waitInfo{Kind: "gate", Short: "gate: " + cfg("PipelineName"),
				Long: fmt.Sprintf("gate %s waits for pipeline %s to be %s", where, cfg("PipelineName"), cond)}
			if a.Summary != "" {
				w.Long += " (" + a.Summary + ")"
			}
			found = append(found, w)
		case id.Provider == pipeline.ProviderManual:
			found = append(found, waitInfo{Kind: "approval", Short: "approval " + a.Decl.Name, Long: "approval " + where + " waits for an answer"})
		case id.Provider == pipeline.ProviderPipeline && id.Category == pipeline.CategoryInvoke:
			found = append(found, waitInfo{Kind: "invoke", Short: "invoked " + cfg("PipelineName"), Long: where + " waits for its invoked execution of " + cfg("PipelineName")})
		}
	}
	if len(found) == 0 {
		return waitInfo{}
	}
	w := found[0]
	if len(found) > 1 {
		w.Short += fmt.Sprintf(" and %d more", len(found)-1)
		for _, o := range found[1:] {
			w.Long += "; " + o.Long
		}
	}
	return w
}

// queuedPhrase says where the i-th in the queue of lock name stands:
// "queued for prod-cluster behind infra (holds it)".
func queuedPhrase(name string, l engine.Lock, i int) string {
	var ahead []string
	if l.Holder != nil {
		ahead = append(ahead, l.Holder.Pipeline+" (holds it)")
	}
	for _, q := range l.Queue[:i] {
		ahead = append(ahead, q.Pipeline)
	}
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
				note.Role, note.Phrase = "queued", queuedPhrase(n, l.Lock, i)
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
