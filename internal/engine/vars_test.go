package engine

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

func TestNewExecutionVariables(t *testing.T) {
	decl := linear(pipeline.Superseded)
	decl.Variables = []pipeline.Variable{
		{Name: "Env", DefaultValue: "staging"},
		{Name: "Region", DefaultValue: "eu-west-1"},
		{Name: "Tag"}, // no default
	}
	for _, tc := range []struct {
		name    string
		vars    map[string]string
		want    map[string]string
		wantErr []string
	}{
		{"defaults", nil, map[string]string{"Env": "staging", "Region": "eu-west-1", "Tag": ""}, nil},
		{"override", map[string]string{"Env": "prod"}, map[string]string{"Env": "prod", "Region": "eu-west-1", "Tag": ""}, nil},
		{"override with empty", map[string]string{"Region": ""}, map[string]string{"Env": "staging", "Region": "", "Tag": ""}, nil},
		{"set one without default", map[string]string{"Tag": "v1"}, map[string]string{"Env": "staging", "Region": "eu-west-1", "Tag": "v1"}, nil},
		{"undeclared", map[string]string{"Env": "prod", "Colour": "blue"}, nil, []string{"app", "Colour"}},
		{"two undeclared, sorted", map[string]string{"Zeta": "1", "Alpha": "2"}, nil, []string{"Alpha, Zeta"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := NewExecution(decl, 4, "exec-1", tc.vars, nil, Trigger{Type: "StartPipelineExecution"}, t0)
			if tc.wantErr != nil {
				if e != nil {
					t.Errorf("execution returned with error")
				}
				wantErrCode(t, err, "Invalid")
				wantContains(t, "error", err.Error(), tc.wantErr...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(e.Variables, tc.want) {
				t.Errorf("variables %v, want %v", e.Variables, tc.want)
			}
			wantEqual(t, "version", e.Version, 4)
			wantEqual(t, "status", e.Status, ExecutionInProgress)
			wantEqual(t, "waiting", e.Waiting, true)
			wantEqual(t, "stages", len(e.Stages), 3)
			wantEqual(t, "start", e.StartTime, t0)
		})
	}
}

func TestVariableResolution(t *testing.T) {
	decl := newPipeline(pipeline.Superseded,
		stage("Source", noop("src", 1, namespace("SourceVariables", "CommitId", "BranchName"))),
		stage("Build",
			cmds("build", 1,
				[]string{
					"echo #{SourceVariables.CommitId}",
					"deploy --env #{variables.Env} --id #{codepipeline.PipelineExecutionId}",
					`ruby -e 'puts "#{x + 1}"'`, // not a reference; left alone
				},
				config(
					"Env", "#{variables.Env}",
					"Region", "#{variables.Region}",
					"Exec", "#{codepipeline.PipelineExecutionId}",
					"Name", "#{codepipeline.PipelineName}",
					"Ref", "#{SourceVariables.CommitId}@#{SourceVariables.BranchName}",
					"Plain", "x",
				),
				namespace("BuildVariables", "Image"),
			),
		),
		stage("Deploy", cmds("deploy", 1, []string{"deploy #{BuildVariables.Image} #{SourceVariables.BranchName}"})),
	)
	decl.Variables = []pipeline.Variable{{Name: "Env", DefaultValue: "staging"}, {Name: "Region", DefaultValue: "eu-west-1"}}
	h := newHarness(t, decl)
	h.seq++
	e, err := NewExecution(decl, 1, "exec-1", map[string]string{"Env": "prod"}, nil, Trigger{}, h.now)
	if err != nil {
		t.Fatal(err)
	}
	e.Seq = h.seq
	h.do(Start{Execution: e})

	h.succeed(e, "src", map[string]string{"CommitId": "abc123", "BranchName": "main"})
	j := h.job(e, "build")
	want := map[string]string{
		"Env":    "prod",
		"Region": "eu-west-1",
		"Exec":   "exec-1",
		"Name":   "app",
		"Ref":    "abc123@main",
		"Plain":  "x",
	}
	if !maps.Equal(j.Configuration, want) {
		t.Errorf("configuration %v, want %v", j.Configuration, want)
	}
	wantSlice(t, "commands", j.Commands, []string{
		"echo abc123",
		"deploy --env prod --id exec-1",
		`ruby -e 'puts "#{x + 1}"'`,
	})
	if !maps.Equal(j.Variables, map[string]string{"Env": "prod", "Region": "eu-west-1"}) {
		t.Errorf("job variables %v", j.Variables)
	}
	wantSlice(t, "output variables", j.OutputVariables, []string{"Image"})
	// The declaration keeps its references.
	wantEqual(t, "declaration", act(t, e, "build").Decl.Configuration["Env"], "#{variables.Env}")

	h.succeed(e, "build", map[string]string{"Image": "registry/app:abc123"})
	wantSlice(t, "deploy commands", h.job(e, "deploy").Commands, []string{"deploy registry/app:abc123 main"})
}

func TestUnresolvedVariable(t *testing.T) {
	for _, tc := range []struct {
		name    string
		action  pipeline.Action
		missing string
	}{
		{"unknown namespace in configuration", cmds("build", 1, []string{"make"}, config("Project", "#{Nope.X}")), "#{Nope.X}"},
		{"undeclared pipeline variable in a command", cmds("build", 1, []string{"echo #{variables.Missing}"}), "#{variables.Missing}"},
		{"output variable the source did not set", cmds("build", 1, []string{"echo #{SourceVariables.Other}"}), "#{SourceVariables.Other}"},
		{"unknown codepipeline variable", cmds("build", 1, []string{"echo #{codepipeline.Nope}"}), "#{codepipeline.Nope}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			decl := newPipeline(pipeline.Superseded,
				stage("Source", noop("src", 1, namespace("SourceVariables", "CommitId"))),
				stage("Build", tc.action, noop("sibling", 1), noop("later", 2)),
				stage("Deploy", noop("deploy", 1)),
			)
			h := newHarness(t, decl)
			e := h.start(nil)
			d := h.succeed(e, "src", map[string]string{"CommitId": "abc"})
			// No job for the action that cannot resolve; its sibling runs.
			wantSlice(t, "jobs", jobActions(d.Jobs), []string{"sibling"})
			a := act(t, e, "build")
			wantEqual(t, "action", a.Status, ActionFailed)
			wantContains(t, "action summary", a.Summary, tc.missing)
			wantEqual(t, "stage while sibling runs", stageOf(t, e, "Build").Status, StageInProgress)
			h.succeed(e, "sibling", nil)
			wantEqual(t, "execution", e.Status, ExecutionFailed)
			wantContains(t, "statusSummary", e.Summary, "build", tc.missing)
			wantEqual(t, "later", act(t, e, "later").Status, ActionNotStarted)
		})
	}
}

func TestUnresolvedVariableAlone(t *testing.T) {
	decl := newPipeline(pipeline.Superseded,
		stage("Source", noop("src", 1)),
		stage("Build", cmds("build", 1, []string{"echo #{variables.Nope}"})),
	)
	h := newHarness(t, decl)
	e := h.start(nil)
	d := h.succeed(e, "src", nil)
	if len(d.Jobs) != 0 {
		t.Errorf("jobs %v", jobActions(d.Jobs))
	}
	wantEqual(t, "execution", e.Status, ExecutionFailed)
	wantSlice(t, "events", evs(d.Events), []string{
		"action Source/src SUCCEEDED", "stage Source SUCCEEDED",
		"stage Build STARTED", "action Build/build STARTED", "action Build/build FAILED",
		"stage Build FAILED", "pipeline FAILED",
	})
}

func TestArtifacts(t *testing.T) {
	decl := newPipeline(pipeline.Superseded,
		stage("Source", noop("src", 1, outputs("SourceArtifact"))),
		stage("Build", cmds("build", 1, []string{"make"}, inputs("SourceArtifact"), func(a *pipeline.Action) {
			a.OutputArtifacts = []pipeline.OutputArtifact{{Name: "BuildArtifact", Files: []string{"dist/**"}}}
		})),
		stage("Deploy", noop("deploy", 1, inputs("SourceArtifact", "BuildArtifact"))),
	)
	h := newHarness(t, decl)
	e := h.start(nil)
	src := h.job(e, "src")
	srcKey := ArtifactKey(e.ID, "SourceArtifact", src.ID)
	if len(src.OutputArtifacts) != 1 || src.OutputArtifacts[0].Name != "SourceArtifact" || src.OutputArtifacts[0].Key != srcKey {
		t.Fatalf("source job outputs %+v, want key %s", src.OutputArtifacts, srcKey)
	}
	wantContains(t, "key", srcKey, e.ID, "SourceArtifact", src.ID)
	if len(src.InputArtifacts) != 0 {
		t.Errorf("source inputs %+v", src.InputArtifacts)
	}

	h.succeed(e, "src", nil)
	wantEqual(t, "recorded output", act(t, e, "src").OutputArtifacts[0], ArtifactRef{Name: "SourceArtifact", Key: srcKey})
	build := h.job(e, "build")
	if len(build.InputArtifacts) != 1 || build.InputArtifacts[0] != (ArtifactRef{Name: "SourceArtifact", Key: srcKey}) {
		t.Errorf("build inputs %+v", build.InputArtifacts)
	}
	buildKey := ArtifactKey(e.ID, "BuildArtifact", build.ID)
	if len(build.OutputArtifacts) != 1 || build.OutputArtifacts[0].Key != buildKey {
		t.Errorf("build outputs %+v, want key %s", build.OutputArtifacts, buildKey)
	}
	wantSlice(t, "build output files", build.OutputArtifacts[0].Files, []string{"dist/**"})

	h.succeed(e, "build", nil)
	deploy := h.job(e, "deploy")
	want := []ArtifactRef{{Name: "SourceArtifact", Key: srcKey}, {Name: "BuildArtifact", Key: buildKey}}
	if len(deploy.InputArtifacts) != 2 || deploy.InputArtifacts[0] != want[0] || deploy.InputArtifacts[1] != want[1] {
		t.Errorf("deploy inputs %+v, want %+v", deploy.InputArtifacts, want)
	}

	// A second execution gets keys of its own.
	h.drain()
	other := h.start(nil)
	if k := h.job(other, "src").OutputArtifacts[0].Key; k == srcKey || !strings.Contains(k, other.ID) {
		t.Errorf("second execution's key %s", k)
	}
}

func TestMissingInputArtifact(t *testing.T) {
	decl := newPipeline(pipeline.Superseded,
		stage("Source", noop("src", 1)),
		stage("Build", noop("build", 1, inputs("SourceArtifact"))),
	)
	h := newHarness(t, decl)
	e := h.start(nil)
	d := h.succeed(e, "src", nil)
	if len(d.Jobs) != 0 {
		t.Errorf("jobs %v", jobActions(d.Jobs))
	}
	wantEqual(t, "execution", e.Status, ExecutionFailed)
	wantContains(t, "summary", e.Summary, "build", "SourceArtifact")
}

func TestJobRevisionFollowsTheSourceOfTheFirstInput(t *testing.T) {
	decl := &pipeline.Pipeline{Name: "p", ExecutionMode: pipeline.Parallel, Stages: []pipeline.Stage{
		{Name: "Source", Actions: []pipeline.Action{{Name: "src", RunOrder: 1,
			ActionTypeID:    pipeline.ActionTypeID{Category: pipeline.CategorySource, Owner: "AWS", Provider: "Git", Version: "1"},
			OutputArtifacts: []pipeline.OutputArtifact{{Name: "code"}}}}},
		{Name: "Build", Actions: []pipeline.Action{{Name: "b", RunOrder: 1,
			ActionTypeID:   pipeline.ActionTypeID{Category: pipeline.CategoryBuild, Owner: "AWS", Provider: "Noop", Version: "1"},
			InputArtifacts: []pipeline.InputArtifact{{Name: "code"}}}}},
	}}
	e, err := NewExecution(decl, 1, "exec-1", nil, map[string]string{"src": "abc1234"}, Trigger{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	env := Env{Now: t0, NewID: func() string { n++; return fmt.Sprintf("job-%d", n) }}
	d, err := Decide(State{Pipeline: Pipeline{Name: "p", Version: 1, Mode: pipeline.Parallel}}, Start{Execution: e}, env)
	if err != nil || len(d.Jobs) != 1 || d.Jobs[0].Revision != "abc1234" {
		t.Fatalf("source job: %+v %v", d.Jobs, err)
	}
	d, err = Decide(State{Pipeline: Pipeline{Name: "p", Version: 1, Mode: pipeline.Parallel}, Executions: []*Execution{e}},
		JobSucceeded{JobID: d.Jobs[0].ID, OutputVariables: map[string]string{"CommitId": "abc1234def"}}, env)
	if err != nil || len(d.Jobs) != 1 || d.Jobs[0].Revision != "abc1234def" {
		t.Fatalf("build job: %+v %v", d.Jobs, err)
	}
}

// With PrimarySource, the revision is that input's source's, as CodePipeline
// gives CodeBuild the primary source's revision.
func TestJobRevisionFollowsThePrimarySource(t *testing.T) {
	src := func(name, out string) pipeline.Action {
		return pipeline.Action{Name: name, RunOrder: 1,
			ActionTypeID:    pipeline.ActionTypeID{Category: pipeline.CategorySource, Owner: "AWS", Provider: "Git", Version: "1"},
			OutputArtifacts: []pipeline.OutputArtifact{{Name: out}}}
	}
	decl := &pipeline.Pipeline{Name: "p", ExecutionMode: pipeline.Parallel, Stages: []pipeline.Stage{
		{Name: "Source", Actions: []pipeline.Action{src("tools-src", "tools"), src("app-src", "code")}},
		{Name: "Build", Actions: []pipeline.Action{{Name: "b", RunOrder: 1,
			ActionTypeID:   pipeline.ActionTypeID{Category: pipeline.CategoryBuild, Owner: "AWS", Provider: "Noop", Version: "1"},
			Configuration:  map[string]string{"PrimarySource": "code"},
			InputArtifacts: []pipeline.InputArtifact{{Name: "tools"}, {Name: "code"}}}}},
	}}
	e, err := NewExecution(decl, 1, "exec-1", nil, map[string]string{"tools-src": "7001cafe", "app-src": "a44bee"}, Trigger{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	env := Env{Now: t0, NewID: func() string { n++; return fmt.Sprintf("job-%d", n) }}
	st := State{Pipeline: Pipeline{Name: "p", Version: 1, Mode: pipeline.Parallel}}
	d, err := Decide(st, Start{Execution: e}, env)
	if err != nil || len(d.Jobs) != 2 {
		t.Fatalf("source jobs: %+v %v", d.Jobs, err)
	}
	st.Executions = []*Execution{e}
	var build []Job
	for _, j := range d.Jobs {
		d, err := Decide(st, JobSucceeded{JobID: j.ID}, env)
		if err != nil {
			t.Fatal(err)
		}
		build = append(build, d.Jobs...)
	}
	if len(build) != 1 || build[0].Revision != "a44bee" {
		t.Fatalf("build job: %+v, want the revision of app-src", build)
	}
}

// An S3 source's revision is its object's version id (not hexadecimal), or
// its ETag where the bucket keeps no versions; a Git source's must still be
// a commit id.
func TestS3SourceRevision(t *testing.T) {
	decl := &pipeline.Pipeline{Name: "p", ExecutionMode: pipeline.Parallel, Stages: []pipeline.Stage{
		{Name: "Source", Actions: []pipeline.Action{{Name: "obj", RunOrder: 1,
			ActionTypeID:    pipeline.ActionTypeID{Category: pipeline.CategorySource, Owner: "AWS", Provider: "S3", Version: "1"},
			OutputArtifacts: []pipeline.OutputArtifact{{Name: "code"}}},
			{Name: "git", RunOrder: 1,
				ActionTypeID:    pipeline.ActionTypeID{Category: pipeline.CategorySource, Owner: "AWS", Provider: "Git", Version: "1"},
				OutputArtifacts: []pipeline.OutputArtifact{{Name: "more"}}}}},
		{Name: "Build", Actions: []pipeline.Action{{Name: "b", RunOrder: 1,
			ActionTypeID:   pipeline.ActionTypeID{Category: pipeline.CategoryBuild, Owner: "AWS", Provider: "Noop", Version: "1"},
			InputArtifacts: []pipeline.InputArtifact{{Name: "code"}, {Name: "more"}}}}},
	}}
	version := "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"
	if _, err := NewExecution(decl, 1, "exec-0", nil, map[string]string{"obj": "has space"}, Trigger{}, t0); err == nil || !strings.Contains(err.Error(), "not an object version id") {
		t.Fatalf("a revision with a space: %v", err)
	}
	if _, err := NewExecution(decl, 1, "exec-0", nil, map[string]string{"git": version}, Trigger{}, t0); err == nil || !strings.Contains(err.Error(), "not a commit id") {
		t.Fatalf("a version id for a git source: %v", err)
	}
	e, err := NewExecution(decl, 1, "exec-1", nil, map[string]string{"obj": version}, Trigger{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	env := Env{Now: t0, NewID: func() string { n++; return fmt.Sprintf("job-%d", n) }}
	d, err := Decide(State{Pipeline: Pipeline{Name: "p", Version: 1, Mode: pipeline.Parallel}}, Start{Execution: e}, env)
	if err != nil || len(d.Jobs) != 2 {
		t.Fatalf("source jobs: %+v %v", d.Jobs, err)
	}
	var objJob, gitJob string
	for _, j := range d.Jobs {
		if j.Action == "obj" {
			objJob = j.ID
			if j.Revision != version {
				t.Fatalf("the S3 source job's revision = %q", j.Revision)
			}
		} else {
			gitJob = j.ID
		}
	}
	st := State{Pipeline: Pipeline{Name: "p", Version: 1, Mode: pipeline.Parallel}, Executions: []*Execution{e}}
	if _, err = Decide(st, JobSucceeded{JobID: objJob, OutputVariables: map[string]string{"VersionId": version, "ETag": "abc"}}, env); err != nil {
		t.Fatal(err)
	}
	d, err = Decide(st, JobSucceeded{JobID: gitJob, OutputVariables: map[string]string{"CommitId": "abc1234def"}}, env)
	if err != nil || len(d.Jobs) != 1 || d.Jobs[0].Revision != version {
		t.Fatalf("build job: %+v %v", d.Jobs, err)
	}
	for _, r := range e.SourceRevisions {
		if r.ActionName == "obj" && r.RevisionID != version {
			t.Fatalf("recorded %+v", e.SourceRevisions)
		}
	}
}
