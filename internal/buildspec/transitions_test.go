package buildspec

import (
	"strings"
	"testing"
)

// run walks the steps from INSTALL as a runner would, given which steps fail and
// each step's on-failure, and returns the steps that ran.
func run(fails map[Step]bool, onFailure map[Step]FailureAction) string {
	var ran []string
	anyFailed := false
	for s := StepInstall; s != StepFinalizing; {
		ran = append(ran, string(s)+"("+Succeeding(anyFailed)+")")
		failed := fails[s]
		anyFailed = anyFailed || failed
		s = Next(s, failed, onFailure[s])
	}
	return strings.Join(ran, " ")
}

func TestTransitions(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fails     map[Step]bool
		onFailure map[Step]FailureAction
		want      string
	}{
		{"all succeed", nil, nil,
			"INSTALL(1) PRE_BUILD(1) BUILD(1) POST_BUILD(1) UPLOAD_ARTIFACTS(1)"},
		{"install fails: straight to finalizing", map[Step]bool{StepInstall: true}, nil,
			"INSTALL(1)"},
		{"pre_build fails: straight to finalizing", map[Step]bool{StepPreBuild: true}, nil,
			"INSTALL(1) PRE_BUILD(1)"},
		{"build fails: post_build runs, artifacts are attempted", map[Step]bool{StepBuild: true}, nil,
			"INSTALL(1) PRE_BUILD(1) BUILD(1) POST_BUILD(0) UPLOAD_ARTIFACTS(0)"},
		{"post_build fails: artifacts are attempted", map[Step]bool{StepPostBuild: true}, nil,
			"INSTALL(1) PRE_BUILD(1) BUILD(1) POST_BUILD(1) UPLOAD_ARTIFACTS(0)"},
		{"install fails with CONTINUE: everything runs, not succeeding", map[Step]bool{StepInstall: true}, map[Step]FailureAction{StepInstall: Continue},
			"INSTALL(1) PRE_BUILD(0) BUILD(0) POST_BUILD(0) UPLOAD_ARTIFACTS(0)"},
		{"pre_build fails with explicit ABORT", map[Step]bool{StepPreBuild: true}, map[Step]FailureAction{StepPreBuild: Abort},
			"INSTALL(1) PRE_BUILD(1)"},
		{"exhausted RETRY in install: straight to finalizing", map[Step]bool{StepInstall: true}, map[Step]FailureAction{StepInstall: Retry},
			"INSTALL(1)"},
		{"build fails with ABORT: no post_build, no artifacts", map[Step]bool{StepBuild: true}, map[Step]FailureAction{StepBuild: Abort},
			"INSTALL(1) PRE_BUILD(1) BUILD(1)"},
		{"post_build fails with ABORT: no artifacts", map[Step]bool{StepPostBuild: true}, map[Step]FailureAction{StepPostBuild: Abort},
			"INSTALL(1) PRE_BUILD(1) BUILD(1) POST_BUILD(1)"},
		{"install fails with ABORT", map[Step]bool{StepInstall: true}, map[Step]FailureAction{StepInstall: Abort},
			"INSTALL(1)"},
		{"build fails, default: post_build still runs (ABORT is not the default)", map[Step]bool{StepBuild: true}, map[Step]FailureAction{StepBuild: DefaultTransition},
			"INSTALL(1) PRE_BUILD(1) BUILD(1) POST_BUILD(0) UPLOAD_ARTIFACTS(0)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(tc.fails, tc.onFailure); got != tc.want {
				t.Fatalf("ran %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestStepOf(t *testing.T) {
	for p, want := range map[PhaseName]Step{Install: StepInstall, PreBuild: StepPreBuild, Build: StepBuild, PostBuild: StepPostBuild, "nope": ""} {
		if got := StepOf(p); got != want {
			t.Errorf("StepOf(%s) = %s", p, got)
		}
	}
}
