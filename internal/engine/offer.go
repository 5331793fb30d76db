package engine

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// offer creates a job for a, resolving its variables and input artifacts; what
// cannot be resolved fails the action at once.
func (d *decider) offer(e *Execution, st *Stage, a *Action) {
	d.touch(e)
	first := a.Status != ActionInProgress
	a.Status = ActionInProgress
	a.Summary = ""
	a.Attempt++
	a.RunAttempts++
	a.JobID = d.env.NewID()
	a.LastUpdate = d.env.Now
	if first {
		a.StartTime = d.env.Now
		d.emitAction(e, a, "STARTED", "")
	}
	if a.Decl.ActionTypeID.Provider == pipeline.ProviderManual {
		d.emit(e, ApprovalEvent, st.Name, a, "WAITING", a.Decl.Configuration["CustomData"])
	}

	lookup := variableLookup(e)
	var problems []string
	config := make(map[string]string, len(a.Decl.Configuration))
	for _, k := range slices.Sorted(maps.Keys(a.Decl.Configuration)) {
		v, err := pipeline.Resolve(a.Decl.Configuration[k], lookup)
		if err != nil {
			problems = append(problems, fmt.Sprintf("configuration %s: %v", k, err))
		}
		config[k] = v
	}
	if b := triggeredBranch(e, a); b != "" {
		// A push to another branch (through push filters) or a pull
		// request's source branch: the commit is read from there, as
		// CodePipeline's triggers do, and BranchName says so.
		config["BranchName"] = b
		if ref := e.TriggerVariables[pipeline.TriggerHeadRef]; ref != "" {
			// A pull request's head is read from the reference its own
			// repository keeps for it, which a fork's branch is not.
			config[pipeline.ConfigHeadRef] = ref
		}
	}
	if key := pinnedObjectKey(e, a.Decl.Name); key != "" && a.Decl.ActionTypeID.Category == pipeline.CategorySource {
		// An S3_OBJECT_KEY override: the source reads that object instead
		// of its S3ObjectKey, and the job's configuration says so.
		config["S3ObjectKey"] = key
	}
	commands := make([]string, len(a.Decl.Commands))
	for i, c := range a.Decl.Commands {
		v, err := pipeline.Resolve(c, lookup)
		if err != nil {
			problems = append(problems, fmt.Sprintf("commands[%d]: %v", i, err))
		}
		commands[i] = v
	}
	var inputs []ArtifactRef
	for _, in := range a.Decl.InputArtifacts {
		ref, ok := findArtifact(e, in.Name)
		if !ok {
			problems = append(problems, fmt.Sprintf("input artifact %s was not produced by an earlier action", in.Name))
			continue
		}
		inputs = append(inputs, ref)
	}
	if len(problems) > 0 {
		d.failAction(e, a, strings.Join(problems, "; "))
		return
	}
	var outputs []OutputArtifact
	for _, o := range a.Decl.OutputArtifacts {
		outputs = append(outputs, OutputArtifact{Name: o.Name, Files: o.Files, Key: ArtifactKey(e.ID, o.Name, a.JobID)})
	}
	timeout := timeoutOf(a.Decl)
	d.jobs = append(d.jobs, Job{
		Revision:        revisionFor(e, a),
		ID:              a.JobID,
		ExecutionID:     e.ID,
		Pipeline:        e.Pipeline,
		Stage:           st.Name,
		Action:          a.Decl.Name,
		Attempt:         a.Attempt,
		ActionType:      a.Decl.ActionTypeID,
		Configuration:   config,
		Commands:        commands,
		Variables:       maps.Clone(e.Variables),
		InputArtifacts:  inputs,
		OutputArtifacts: outputs,
		OutputVariables: slices.Clone(a.Decl.OutputVariables),
		Timeout:         timeout,
		Deadline:        a.StartTime.Add(timeout),
		CreatedAt:       d.env.Now,
		Region:          a.Decl.Region,
	})
}

func (d *decider) failAction(e *Execution, a *Action, msg string) {
	a.Status = ActionFailed
	a.Summary = msg
	a.LastUpdate = d.env.Now
	d.touch(e)
	d.emitAction(e, a, "FAILED", msg)
}

// ArtifactKey is where the artifact name produced by job jobID of execution id is
// stored. The job is part of the key so that artifacts stay immutable across retries.
func ArtifactKey(executionID, name, jobID string) string {
	return executionID + "/" + name + "/" + jobID + ".zip"
}

func findArtifact(e *Execution, name string) (ArtifactRef, bool) {
	for _, st := range e.Stages {
		for _, a := range st.Actions {
			if a.Status != ActionSucceeded {
				continue
			}
			for _, o := range a.OutputArtifacts {
				if o.Name == name {
					return o, true
				}
			}
		}
	}
	return ArtifactRef{}, false
}

// variableLookup resolves #{namespace.name} for e: pipeline variables, the
// codepipeline namespace, and the output variables of succeeded actions.
func variableLookup(e *Execution) func(ns, name string) (string, bool) {
	return func(ns, name string) (string, bool) {
		switch ns {
		case "variables":
			v, ok := e.Variables[name]
			return v, ok
		case pipeline.NamespaceUpstream:
			return upstreamLookup(e.Upstream, name)
		case pipeline.NamespaceTrigger:
			// Known names resolve, to "" when the trigger did not set
			// them, so a command can test for a pull request.
			return e.TriggerVariables[name], slices.Contains(pipeline.TriggerVariables, name)
		case "codepipeline":
			switch name {
			case "PipelineExecutionId":
				return e.ID, true
			case "PipelineName":
				return e.Pipeline, true
			}
			return "", false
		}
		for _, st := range e.Stages {
			for _, a := range st.Actions {
				if a.Decl.Namespace == ns && a.Status == ActionSucceeded {
					v, ok := a.OutputVariables[name]
					return v, ok
				}
			}
		}
		return "", false
	}
}

// runOrderOf reads an unset runOrder as 1, as validation does.
func runOrderOf(a pipeline.Action) int {
	if a.RunOrder == 0 {
		return 1
	}
	return a.RunOrder
}

// triggeredBranch is the branch a git host event that started e names for
// source action a, when a is the action it pinned: "" otherwise.
func triggeredBranch(e *Execution, a *Action) string {
	tv := e.TriggerVariables
	if tv["CommitId"] == "" || tv["BranchName"] == "" || pinnedRevision(e, a.Decl.Name) != tv["CommitId"] ||
		!strings.EqualFold(a.Decl.Configuration["FullRepositoryId"], tv["FullRepositoryName"]) {
		return ""
	}
	return tv["BranchName"]
}

func pinnedRevision(e *Execution, action string) string {
	for _, r := range e.SourceRevisions {
		if r.ActionName == action {
			return r.RevisionID
		}
	}
	return ""
}

// recordRevision notes what a source action produced: its CommitId output
// variable, with its summary (the commit message's first line); for an S3
// source, its VersionId, or its ETag where the bucket keeps no versions; for
// an ECR source, its ImageDigest.
func recordRevision(e *Execution, a *Action) {
	if a.Decl.ActionTypeID.Category != pipeline.CategorySource {
		return
	}
	id := a.OutputVariables["CommitId"]
	switch a.Decl.ActionTypeID.Provider {
	case "S3":
		if id = a.OutputVariables["VersionId"]; id == "" {
			id = a.OutputVariables["ETag"]
		}
	case "ECR":
		id = a.OutputVariables["ImageDigest"] // an image's revision is its digest
	}
	if id == "" {
		return
	}
	rev := SourceRevision{ActionName: a.Decl.Name, RevisionID: id, RevisionType: revisionTypeOf(a.Decl.ActionTypeID.Provider), RevisionSummary: a.Summary}
	for i := range e.SourceRevisions {
		if e.SourceRevisions[i].ActionName == a.Decl.Name {
			rev.ObjectKey = e.SourceRevisions[i].ObjectKey // the key it read
			e.SourceRevisions[i] = rev
			return
		}
	}
	e.SourceRevisions = append(e.SourceRevisions, rev)
}

// revisionFor is the source revision a job works on: a source action's own
// pinned revision, or, for other actions, the revision of the source action
// that produced their primary input artifact, the one their PrimarySource
// names or else the first (a build's CODEBUILD_RESOLVED_SOURCE_VERSION).
func revisionFor(e *Execution, a *Action) string {
	if a.Decl.ActionTypeID.Category == pipeline.CategorySource || len(a.Decl.InputArtifacts) == 0 {
		return pinnedRevision(e, a.Decl.Name)
	}
	first := a.Decl.InputArtifacts[0].Name
	if primary := a.Decl.Configuration["PrimarySource"]; primary != "" {
		first = primary
	}
	for _, st := range e.Stages {
		for _, producer := range st.Actions {
			for _, o := range producer.Decl.OutputArtifacts {
				if o.Name == first && producer.Decl.ActionTypeID.Category == pipeline.CategorySource {
					return pinnedRevision(e, producer.Decl.Name)
				}
			}
		}
	}
	return ""
}
