package engine

import (
	"fmt"
	"strings"
	"time"
)

func failureSummary(st *Stage) string {
	var parts []string
	for _, a := range st.Actions {
		if a.Status == ActionFailed || a.Status == ActionAbandoned {
			parts = append(parts, fmt.Sprintf("action %s %s: %s", a.Decl.Name, strings.ToLower(string(a.Status)), a.Summary))
		}
	}
	return fmt.Sprintf("stage %s failed: %s", st.Name, strings.Join(parts, "; "))
}

func (d *decider) touch(e *Execution) { d.changed[e] = true }

func (d *decider) emit(e *Execution, kind, stage string, a *Action, state, summary string) {
	ev := Event{
		DetailType:  kind,
		Time:        d.env.Now,
		Pipeline:    e.Pipeline,
		Version:     e.Version,
		ExecutionID: e.ID,
		Stage:       stage,
		State:       state,
		Trigger:     e.Trigger,
		Summary:     summary,
	}
	if a != nil {
		t := a.Decl.ActionTypeID
		ev.Action = a.Decl.Name
		ev.ActionType = &t
		ev.Attempt = a.Attempt
		ev.JobID = a.JobID
	}
	d.events = append(d.events, ev)
}

func (d *decider) emitAction(e *Execution, a *Action, state, summary string) {
	kind := ActionEvent
	if IsRule(a.Decl) {
		kind = RuleEvent
	}
	d.emit(e, kind, e.Stages[e.Current].Name, a, state, summary)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func formatDuration(t time.Duration) string {
	if t >= 24*time.Hour && t%(24*time.Hour) == 0 {
		return plural(int(t/(24*time.Hour)), "day")
	}
	if t >= time.Hour && t%time.Hour == 0 {
		return plural(int(t/time.Hour), "hour")
	}
	if t%time.Minute == 0 {
		m := int(t / time.Minute)
		if m == 1 {
			return "1 minute"
		}
		return fmt.Sprintf("%d minutes", m)
	}
	return t.String()
}
