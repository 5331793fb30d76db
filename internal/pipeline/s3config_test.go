package pipeline

import (
	"strings"
	"testing"
)

func TestS3DeployConfig(t *testing.T) {
	head := "name: p\nstages:\n  - name: Source\n    actions:\n      - name: src\n        provider: Git\n        configuration: {RepositoryName: r, BranchName: main}\n        outputArtifacts: [{name: site}]\n  - name: Deploy\n    actions:\n      - name: web\n        actionTypeId: {category: Deploy, owner: AWS, provider: S3, version: \"1\"}\n        inputArtifacts: [{name: site}]\n        configuration:\n"
	tests := []struct {
		name, cfg, want string
	}{
		{"fine", "          BucketName: web\n          Extract: \"true\"\n          Connection: prod\n", ""},
		{"unknown key", "          BucketName: web\n          Extract: \"true\"\n          ObjetKey: x\n",
			`p.yml:17: stages[1].actions[0].configuration.ObjetKey: unknown configuration key (did you mean "ObjectKey"?)`},
		{"missing bucket", "          Extract: \"true\"\n",
			`p.yml:14: stages[1].actions[0].configuration.BucketName: required by an S3 deploy action`},
		{"object key needed", "          BucketName: web\n          Extract: \"false\"\n",
			`p.yml:14: stages[1].actions[0].configuration.ObjectKey: required when Extract is false`},
		{"extract value", "          BucketName: web\n          Extract: yes please\n",
			`p.yml:16: stages[1].actions[0].configuration.Extract: "yes please" is not true or false`},
		{"acl", "          BucketName: web\n          Extract: \"true\"\n          CannedACL: public-reed\n",
			`configuration.CannedACL: "public-reed" is not a canned ACL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWith("p.yml", []byte(head+tt.cfg), RequireRunnable)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestS3SourceConfig(t *testing.T) {
	head := "name: p\nstages:\n  - name: Source\n    actions:\n      - name: src\n        actionTypeId: {category: Source, owner: AWS, provider: S3, version: \"1\"}\n        outputArtifacts: [{name: src}]\n        configuration:\n"
	tests := []struct {
		name, cfg, want string
	}{
		{"fine", "          S3Bucket: releases\n          S3ObjectKey: app.zip\n          PollForSourceChanges: \"false\"\n          Connection: prod\n", ""},
		{"unknown key", "          S3Bucket: releases\n          S3ObjectKey: app.zip\n          S3ObjectKye: x\n",
			`p.yml:11: stages[0].actions[0].configuration.S3ObjectKye: unknown configuration key (did you mean "S3ObjectKey"?)`},
		{"missing key", "          S3Bucket: releases\n",
			`stages[0].actions[0].configuration.S3ObjectKey: required by an S3 source action`},
		{"missing bucket", "          S3ObjectKey: app.zip\n",
			`stages[0].actions[0].configuration.S3Bucket: required by an S3 source action`},
		{"poll value", "          S3Bucket: releases\n          S3ObjectKey: app.zip\n          PollForSourceChanges: often\n",
			`configuration.PollForSourceChanges: "often" is not true or false`},
		{"bucket name", "          S3Bucket: a/b\n          S3ObjectKey: app.zip\n",
			`configuration.S3Bucket: "a/b" is not a bucket name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWith("p.yml", []byte(head+tt.cfg), RequireRunnable)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant %s", err, tt.want)
			}
		})
	}
}
