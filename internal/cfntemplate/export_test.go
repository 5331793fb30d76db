package cfntemplate

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

const native = `name: web-app
pipelineType: V2
executionMode: QUEUED
role: deployer
lock: prod
variables:
  - {name: ENV, defaultValue: "true", description: "where: here"}
stages:
  - name: Source
    actions:
      - name: Source
        actionTypeId: {category: Source, owner: AWS, provider: S3, version: "1"}
        configuration: {S3Bucket: releases, S3ObjectKey: app.zip, PollForSourceChanges: "false"}
        outputArtifacts: [{name: src}]
  - name: Build
    actions:
      - name: Build
        provider: Commands
        commands: ["echo #{variables.ENV}", "make 1"]
        inputArtifacts: [src]
        timeoutInMinutes: 5
        runOrder: 2
`

// A pipeline exported as a template reads back into the same pipeline.
func TestExportRoundTrip(t *testing.T) {
	decl, err := pipeline.Parse("web.yml", []byte(native))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(pipeline.Document{Pipeline: *decl, Metadata: &pipeline.Metadata{Version: 3}})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, notes, err := Export(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Type: AWS::CodePipeline::Pipeline", "WebAppPipeline:", "RoleArn: !Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:role/deployer",
		"Location: !Ref ArtifactBucket", "ActionTypeId:", "S3ObjectKey: app.zip", `PollForSourceChanges: "false"`, "Lock: prod"} {
		if !strings.Contains(string(tmpl), want) {
			t.Errorf("template lacks %q:\n%s", want, tmpl)
		}
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "lock is sluice's own") {
		t.Errorf("notes %q", notes)
	}
	ps, err := Read("web.template.yaml", tmpl, Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, tmpl)
	}
	back, err := Parse("web.template.yaml", ps[0])
	if err != nil {
		t.Fatalf("%v\n%s", err, tmpl)
	}
	// The role comes back as the ARN the template builds, naming the same role.
	if pipeline.RoleName(back.Role) != "deployer" {
		t.Errorf("role %q", back.Role)
	}
	back.Role = decl.Role
	if !reflect.DeepEqual(back, decl) {
		a, _ := json.MarshalIndent(decl, "", " ")
		b, _ := json.MarshalIndent(back, "", " ")
		t.Errorf("round trip changed the pipeline:\n%s\nto\n%s", a, b)
	}
}
