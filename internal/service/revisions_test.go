package service_test

import (
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/service"
)

const objectsPipeline = `name: objects
stages:
  - name: Source
    actions:
      - name: obj
        actionTypeId: {category: Source, owner: AWS, provider: S3, version: "1"}
        configuration: {S3Bucket: releases, S3ObjectKey: app.zip, PollForSourceChanges: "false", AllowOverrideForS3ObjectKey: "true"}
        outputArtifacts: [{name: code}]
      - name: fixed
        actionTypeId: {category: Source, owner: AWS, provider: S3, version: "1"}
        configuration: {S3Bucket: releases, S3ObjectKey: app.zip, PollForSourceChanges: "false"}
        outputArtifacts: [{name: more}]
  - name: Gate
    actions:
      - name: approve
        actionTypeId: {category: Approval, owner: AWS, provider: Manual, version: "1"}
`

// A start's typed overrides and its untyped map pin together; a refused
// one starts nothing; the S3 source's job reads the overridden key, and
// the execution keeps the key with the version the action read.
func TestStartTypedOverrides(t *testing.T) {
	f := newFixture(t)
	f.apply(objectsPipeline)
	_, err := f.svc.StartExecution(f.ctx, service.StartRequest{Pipeline: "objects",
		Overrides: []engine.RevisionOverride{{ActionName: "fixed", RevisionType: engine.RevisionS3ObjectKey, RevisionValue: "other.zip"}}})
	if err == nil || !strings.Contains(err.Error(), "AllowOverrideForS3ObjectKey: true") {
		t.Fatalf("S3_OBJECT_KEY on fixed: %v", err)
	}
	if es := f.executions("objects"); len(es) != 0 {
		t.Fatalf("a refused start left %d executions", len(es))
	}

	e, err := f.svc.StartExecution(f.ctx, service.StartRequest{Pipeline: "objects",
		SourceRevisions: map[string]string{"fixed": "v9"},
		Overrides:       []engine.RevisionOverride{{ActionName: "obj", RevisionType: engine.RevisionS3ObjectKey, RevisionValue: "releases/v2.zip"}}})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for range 2 {
		j, err := f.svc.ClaimJob(f.ctx, "w1", []string{"S3"}, 0)
		if err != nil || j == nil {
			t.Fatalf("claim: %v %v", j, err)
		}
		keys[j.Job.Action] = j.Job.Configuration["S3ObjectKey"] + "@" + j.Job.Revision
		f.succeed(j, map[string]string{"VersionId": "v" + j.Job.Action, "ETag": "e"})
	}
	if keys["obj"] != "releases/v2.zip@" || keys["fixed"] != "app.zip@v9" {
		t.Fatalf("jobs read %v", keys)
	}
	got := f.execution("objects", e.ID).SourceRevisions
	if len(got) != 2 || got[1].ActionName != "obj" || got[1].ObjectKey != "releases/v2.zip" || got[1].RevisionID != "vobj" ||
		got[1].RevisionType != engine.RevisionS3VersionID || got[0].ObjectKey != "" || got[0].RevisionID != "vfixed" {
		t.Fatalf("recorded %+v", got)
	}
}
