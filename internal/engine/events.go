package engine

import (
	"fmt"
	"slices"
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
		DetailType:   kind,
		Time:         d.env.Now,
		Pipeline:     e.Pipeline,
		Version:      e.Version,
		ExecutionID:  e.ID,
		Stage:        stage,
		State:        state,
		Trigger:      e.Trigger,
		Summary:      summary,
		StartTime:    e.StartTime,
		ExecutionTry: executionAttempt(e),
	}
	if a != nil {
		t := a.Decl.ActionTypeID
		ev.Action = a.Decl.Name
		ev.ActionType = &t
		ev.Attempt = a.Attempt
		ev.JobID = a.JobID
		ev.ExternalID = a.ExternalID
		ev.ActionRegion = a.Decl.Region
		if kind == ActionEvent {
			switch state {
			case "STARTED":
				for _, in := range a.Decl.InputArtifacts {
					if ref, ok := findArtifact(e, in.Name); ok {
						ev.InputArtifacts = append(ev.InputArtifacts, ref)
					}
				}
			case "SUCCEEDED":
				ev.OutputArtifacts = slices.Clone(a.OutputArtifacts)
			case "FAILED":
				ev.ErrorCode = "JobFailed"
			}
		}
	}
	d.events = append(d.events, ev)
}

// executionAttempt is CodePipeline's pipeline-execution-attempt: 1 for the
// first run, one more for each retry of one of its stages.
func executionAttempt(e *Execution) int {
	n := 1
	for _, st := range e.Stages {
		if st.Attempt > 1 { // a stage that ran is at attempt 1, and one more per retry
			n += st.Attempt - 1
		}
	}
	return n
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
