package engine

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

func overridesPipeline() *pipeline.Pipeline {
	src := func(name, provider string, cfg map[string]string) pipeline.Action {
		return pipeline.Action{Name: name, RunOrder: 1, Configuration: cfg,
			ActionTypeID:    pipeline.ActionTypeID{Category: pipeline.CategorySource, Owner: "AWS", Provider: provider, Version: "1"},
			OutputArtifacts: []pipeline.OutputArtifact{{Name: name + "-out"}}}
	}
	return &pipeline.Pipeline{Name: "p", ExecutionMode: pipeline.Parallel, Stages: []pipeline.Stage{
		{Name: "Source", Actions: []pipeline.Action{
			src("obj", "S3", map[string]string{"S3Bucket": "b", "S3ObjectKey": "app.zip", "AllowOverrideForS3ObjectKey": "true"}),
			src("fixed", "S3", map[string]string{"S3Bucket": "b", "S3ObjectKey": "app.zip"}),
			src("img", "ECR", map[string]string{"RepositoryName": "r"}),
			src("git", "CodeCommit", map[string]string{"RepositoryName": "r", "BranchName": "main"}),
		}},
		{Name: "Build", Actions: []pipeline.Action{{Name: "b", RunOrder: 1,
			ActionTypeID:   pipeline.ActionTypeID{Category: pipeline.CategoryBuild, Owner: "AWS", Provider: "Noop", Version: "1"},
			InputArtifacts: []pipeline.InputArtifact{{Name: "obj-out"}}}}},
	}}
}

// Each typed override is checked against its action's provider: a type
// that does not fit, S3_OBJECT_KEY without AllowOverrideForS3ObjectKey,
// a bad value or the same type twice is refused with the field named.
func TestRevisionOverrides(t *testing.T) {
	const (
		version = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"
		digest  = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	)
	type o = RevisionOverride
	cases := []struct {
		name    string
		in      []o
		wantErr string // "" for a start
		want    []SourceRevision
	}{
		{"key alone", []o{{"obj", RevisionS3ObjectKey, "releases/v2.zip"}}, "",
			[]SourceRevision{{ActionName: "obj", RevisionType: RevisionS3ObjectKey, ObjectKey: "releases/v2.zip"}}},
		{"key and version", []o{{"obj", RevisionS3VersionID, version}, {"obj", RevisionS3ObjectKey, "releases/v2.zip"}}, "",
			[]SourceRevision{{ActionName: "obj", RevisionID: version, RevisionType: RevisionS3VersionID, ObjectKey: "releases/v2.zip"}}},
		{"version of a fixed key", []o{{"fixed", RevisionS3VersionID, version}}, "",
			[]SourceRevision{{ActionName: "fixed", RevisionID: version, RevisionType: RevisionS3VersionID}}},
		{"untyped takes the provider's", []o{{"img", "", digest}, {"git", "", "abc1234"}}, "",
			[]SourceRevision{{ActionName: "git", RevisionID: "abc1234", RevisionType: RevisionCommitID}, {ActionName: "img", RevisionID: digest, RevisionType: RevisionImageDigest}}},
		{"digest", []o{{"img", RevisionImageDigest, digest}}, "",
			[]SourceRevision{{ActionName: "img", RevisionID: digest, RevisionType: RevisionImageDigest}}},
		{"commit", []o{{"git", RevisionCommitID, "abc1234"}}, "",
			[]SourceRevision{{ActionName: "git", RevisionID: "abc1234", RevisionType: RevisionCommitID}}},

		{"key not allowed", []o{{"fixed", RevisionS3ObjectKey, "other.zip"}}, "sourceRevisions[0].revisionType: S3_OBJECT_KEY for action fixed needs its configuration to say AllowOverrideForS3ObjectKey: true", nil},
		{"key on a git source", []o{{"git", RevisionS3ObjectKey, "other.zip"}}, "sourceRevisions[0].revisionType: S3_OBJECT_KEY does not fit action git, a CodeCommit source: it takes COMMIT_ID", nil},
		{"commit on S3", []o{{"obj", RevisionCommitID, "abc1234"}}, "sourceRevisions[0].revisionType: COMMIT_ID does not fit action obj, a S3 source: it takes S3_OBJECT_VERSION_ID or S3_OBJECT_KEY", nil},
		{"version on ECR", []o{{"img", RevisionS3VersionID, version}}, "sourceRevisions[0].revisionType: S3_OBJECT_VERSION_ID does not fit action img", nil},
		{"digest on git", []o{{"git", RevisionImageDigest, digest}}, "does not fit action git", nil},
		{"unknown type", []o{{"git", "BRANCH", "main"}}, `sourceRevisions[0].revisionType: "BRANCH" is not COMMIT_ID, IMAGE_DIGEST, S3_OBJECT_VERSION_ID or S3_OBJECT_KEY`, nil},
		{"lower-case type", []o{{"git", "commit_id", "abc1234"}}, `"commit_id" is not COMMIT_ID`, nil},
		{"empty key", []o{{"obj", RevisionS3ObjectKey, ""}}, "sourceRevisions[0].revisionValue", nil},
		{"key with a newline", []o{{"obj", RevisionS3ObjectKey, "a\nb.zip"}}, "is not an object key", nil},
		{"key too long", []o{{"obj", RevisionS3ObjectKey, strings.Repeat("k", 1025)}}, "is not an object key", nil},
		{"key twice", []o{{"obj", RevisionS3ObjectKey, "a.zip"}, {"obj", RevisionS3ObjectKey, "b.zip"}}, "sourceRevisions[1]: action obj is given an S3_OBJECT_KEY twice", nil},
		{"version twice", []o{{"obj", RevisionS3VersionID, version}, {"obj", "", "v2"}}, "sourceRevisions[1]: action obj is given a S3_OBJECT_VERSION_ID twice", nil},
		{"not a source", []o{{"b", RevisionCommitID, "abc1234"}}, "pipeline p has no source action b", nil},
		{"bad commit", []o{{"git", RevisionCommitID, "main"}}, "not a commit id", nil},
	}
	decl := overridesPipeline()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := NewExecutionWith(decl, 1, "e1", nil, c.in, Trigger{}, t0)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(e.SourceRevisions) != fmt.Sprint(c.want) {
				t.Fatalf("pinned %+v, want %+v", e.SourceRevisions, c.want)
			}
		})
	}
}

// An S3_OBJECT_KEY override makes the source job read that key, and the
// key stays with the revision the action records, so a retry reads the
// same object and version; a restart on a new version keeps it too.
func TestObjectKeyOverrideJob(t *testing.T) {
	decl := overridesPipeline()
	e, err := NewExecutionWith(decl, 1, "e1", nil, []RevisionOverride{{"obj", RevisionS3ObjectKey, "releases/v2.zip"}}, Trigger{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	env := Env{Now: t0, NewID: func() string { n++; return fmt.Sprintf("job-%d", n) }}
	st := State{Pipeline: Pipeline{Name: "p", Version: 1, Mode: pipeline.Parallel}}
	d, err := Decide(st, Start{Execution: e}, env)
	if err != nil {
		t.Fatal(err)
	}
	var objJob string
	for _, j := range d.Jobs {
		switch j.Action {
		case "obj":
			objJob = j.ID
			if j.Configuration["S3ObjectKey"] != "releases/v2.zip" || j.Revision != "" {
				t.Fatalf("obj job: key %q revision %q, want releases/v2.zip at its latest version", j.Configuration["S3ObjectKey"], j.Revision)
			}
		case "fixed":
			if j.Configuration["S3ObjectKey"] != "app.zip" {
				t.Fatalf("the other S3 source's key changed: %q", j.Configuration["S3ObjectKey"])
			}
		}
	}
	st.Executions = []*Execution{e}
	if _, err := Decide(st, JobSucceeded{JobID: objJob, Summary: "s3://b/releases/v2.zip revision v7", OutputVariables: map[string]string{"VersionId": "v7", "ETag": "abc"}}, env); err != nil {
		t.Fatal(err)
	}
	want := SourceRevision{ActionName: "obj", RevisionID: "v7", RevisionType: RevisionS3VersionID, ObjectKey: "releases/v2.zip", RevisionSummary: "s3://b/releases/v2.zip revision v7"}
	if e.SourceRevisions[0] != want {
		t.Fatalf("recorded %+v, want %+v", e.SourceRevisions[0], want)
	}
	again, err := NewExecutionWith(decl, 2, "e2", nil, OverridesOf(e.SourceRevisions), Trigger{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if r := again.SourceRevisions[0]; r.ObjectKey != "releases/v2.zip" || r.RevisionID != "v7" {
		t.Fatalf("restart pinned %+v", r)
	}
}
