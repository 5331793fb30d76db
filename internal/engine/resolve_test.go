package engine

import (
	"testing"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

func TestResolveNow(t *testing.T) {
	e := &Execution{ID: "e1", Pipeline: "deploy", Variables: map[string]string{"ON_FAILURE": "FAIL", "TRICK": "#{variables.ON_FAILURE}"},
		Stages: []Stage{{Name: "S", Actions: []Action{
			{Decl: pipeline.Action{Name: "a", Namespace: "done"}, Status: ActionSucceeded, OutputVariables: map[string]string{"X": "1"}},
			{Decl: pipeline.Action{Name: "b", Namespace: "later"}, Status: ActionNotStarted},
		}}}}
	for in, want := range map[string]string{
		"#{variables.ON_FAILURE}":                "FAIL",
		"#{codepipeline.PipelineName}/#{done.X}": "deploy/1",
		"#{later.Y} and #{variables.ON_FAILURE}": "#{later.Y} and FAIL",
		"#{variables.TRICK}":                     "#{variables.ON_FAILURE}", // substituted once, never again
		"#{variables.MISSING}":                   "#{variables.MISSING}",
		"plain":                                  "plain",
	} {
		if got := ResolveNow(e, in); got != want {
			t.Errorf("ResolveNow(%q) = %q, want %q", in, got, want)
		}
	}
}
