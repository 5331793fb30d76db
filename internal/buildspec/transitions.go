package buildspec

// CodeBuild's phase transitions, as its documentation and its users describe
// them: a failure in install or pre_build ends the build's commands at once
// (straight to finalizing: no build, no post_build, no artifacts); a failure in
// build still runs post_build, and artifacts are uploaded whatever build did;
// on-failure: CONTINUE goes on to the next phase as if nothing had failed,
// though the build itself still ends failed; on-failure: ABORT ("abort the
// build", in CodeBuild's buildspec reference) ends it after the failing
// phase in any phase: no post_build, no artifacts. A phase's finally block
// runs whenever the phase started, whatever its commands did (it belongs to
// the phase, so ABORT runs it too).
// CODEBUILD_BUILD_SUCCEEDING is 1 until the first failure, then 0.

// Step is a step of a build after its source is in place.
type Step string

const (
	StepInstall         Step = "INSTALL"
	StepPreBuild        Step = "PRE_BUILD"
	StepBuild           Step = "BUILD"
	StepPostBuild       Step = "POST_BUILD"
	StepUploadArtifacts Step = "UPLOAD_ARTIFACTS"
	StepFinalizing      Step = "FINALIZING"
)

// Steps are the steps in the order they run when nothing fails.
var Steps = []Step{StepInstall, StepPreBuild, StepBuild, StepPostBuild, StepUploadArtifacts, StepFinalizing}

// StepOf is the step a buildspec phase runs in.
func StepOf(p PhaseName) Step {
	switch p {
	case Install:
		return StepInstall
	case PreBuild:
		return StepPreBuild
	case Build:
		return StepBuild
	case PostBuild:
		return StepPostBuild
	}
	return ""
}

// Next returns the step after s, which ended failed or not, with the phase's
// on-failure setting (a RETRY the runner has exhausted takes the default
// transitions).
func Next(s Step, failed bool, onFailure FailureAction) Step {
	if failed && onFailure == Abort {
		return StepFinalizing
	}
	if failed && onFailure != Continue {
		switch s {
		case StepInstall, StepPreBuild:
			return StepFinalizing
		case StepBuild:
			return StepPostBuild
		case StepPostBuild:
			return StepUploadArtifacts
		}
	}
	for i, step := range Steps {
		if step == s && i+1 < len(Steps) {
			return Steps[i+1]
		}
	}
	return StepFinalizing
}

// Succeeding is CODEBUILD_BUILD_SUCCEEDING's value: "1" while no step has
// failed, "0" after.
func Succeeding(anyFailed bool) string {
	if anyFailed {
		return "0"
	}
	return "1"
}
