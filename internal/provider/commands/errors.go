package commands

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Failure is returned when a command exits non-zero. The commands after it
// did not run.
type Failure struct {
	// Index is the command's position in Spec.Commands, from 0. Error
	// counts from 1, as people number the lines they wrote.
	Index int
	// Command is the command's full text.
	Command string
	// ExitCode is the status the command left the shell with; a process
	// killed by a signal counts as 128 plus the signal's number, as shells
	// report it.
	ExitCode int
}

func (f *Failure) Error() string {
	return fmt.Sprintf("command %d %q exited with code %d", f.Index+1, summary(f.Command), f.ExitCode)
}

// OutputVariableError is returned when the commands succeeded but did not
// leave every declared output variable in the environment. Like CodePipeline,
// sluice fails the action rather than hand later actions an empty value they
// cannot tell from a real one.
type OutputVariableError struct {
	// Unset are variables that were not set at all.
	Unset []string
	// NotExported are variables that were set as shell variables but never
	// exported, which is the usual slip: `X=1` instead of `export X=1`.
	NotExported []string
}

func (e *OutputVariableError) Error() string {
	var parts []string
	if len(e.Unset) > 0 {
		parts = append(parts, "output variables not set: "+strings.Join(e.Unset, ", "))
	}
	if len(e.NotExported) > 0 {
		parts = append(parts, fmt.Sprintf("output variables set but not exported (use `export %s=...`): %s",
			e.NotExported[0], strings.Join(e.NotExported, ", ")))
	}
	return strings.Join(parts, "; ")
}

// maxSummary keeps a failing command readable in one line of a console or
// an event, where a whole script would drown the reason.
const maxSummary = 80

// summary shortens a command to its first line and at most maxSummary
// characters, ending in "…" when anything was left out.
func summary(command string) string {
	command = strings.TrimRight(command, "\r\n")
	first, _, cut := strings.Cut(command, "\n")
	first = strings.TrimRight(first, "\r")
	if utf8.RuneCountInString(first) > maxSummary {
		runes := []rune(first)
		first = string(runes[:maxSummary])
		cut = true
	}
	if cut {
		return first + "…"
	}
	return first
}
