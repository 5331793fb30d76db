package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/provider/s3deploy"
)

// TestS3Source: an S3 source action reads a zip object from moto's
// versioned bucket through a connection; the execution records its version
// id; a pinned start reads an older version; the server's poll starts the
// pipeline when a new version is put, pinned to it; a non-zip object fails
// the action naming it; a bad declaration is refused at apply.
func TestS3Source(t *testing.T) {
	t.Parallel()
	moto := mototest.Start(t)
	ctx := context.Background()
	c := s3deploy.Client(moto.Conn("moto"))
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("releases")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("releases"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	put := func(key string, body []byte) string {
		out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("releases"), Key: aws.String(key), Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.VersionId)
	}
	zipOf := func(text string) []byte {
		var b bytes.Buffer
		w := zip.NewWriter(&b)
		f, _ := w.Create("version.txt")
		f.Write([]byte(text))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	v1 := put("app.zip", zipOf("one"))
	put("notes.txt", []byte("not a zip"))

	s := startServer(t, "--poll-interval", "200ms")
	keys := `{"accessKeyId":"test","secretAccessKey":"test"}`
	if r := runCLIStdin(t, cliEnv(s.url, s.token), keys, "secret", "put", "aws-moto"); r.code != 0 {
		t.Fatalf("secret put: %s", r)
	}
	dir := s.scratch("s3source")
	conn := filepath.Join(dir, "moto.yml")
	writeFile(t, conn, "name: moto\nkind: aws\nregion: us-east-1\nendpoint: "+moto.URL+"\ncredentials:\n  secret: aws-moto\n")
	s.ok("connection", "apply", "-f", conn)

	bad := filepath.Join(dir, "bad.yml")
	writeFile(t, bad, "name: bad\nstages:\n  - name: Source\n    actions:\n      - name: src\n"+
		"        actionTypeId: {category: Source, owner: AWS, provider: S3, version: '1'}\n        outputArtifacts: [code]\n"+
		"        configuration:\n          S3Bucket: releases\n          S3ObjetKey: app.zip\n")
	r := s.fails("pipeline", "apply", "-f", bad)
	wantContains(t, "bad S3 source", r.stderr, `bad.yml:10: stages[0].actions[0].configuration.S3ObjetKey: unknown configuration key (did you mean "S3ObjectKey"?)`,
		"configuration.S3ObjectKey: required by an S3 source action")

	pipe := func(name, key, poll string) {
		s.applyYAML(name, "name: "+name+"\nexecutionMode: PARALLEL\nstages:\n  - name: Source\n    actions:\n      - name: src\n"+
			"        actionTypeId: {category: Source, owner: AWS, provider: S3, version: '1'}\n        outputArtifacts: [code]\n"+
			"        configuration: {S3Bucket: releases, S3ObjectKey: "+key+", Connection: moto, PollForSourceChanges: '"+poll+"'}\n"+
			"  - name: Show\n    actions:\n      - name: show\n        provider: Commands\n        inputArtifacts: [code]\n"+
			"        commands: ['cat version.txt']\n")
	}
	pipe("app", "app.zip", "false")
	id := s.start("app")
	e := s.waitEnd("app", id, "Succeeded")
	if len(e.SourceRevisions) != 1 || e.SourceRevisions[0].RevisionID != v1 {
		t.Fatalf("source revisions %+v, want %s", e.SourceRevisions, v1)
	}
	wantEqual(t, "VersionId", e.action(t, "src").OutputVariables["VersionId"], v1)
	wantContains(t, "show log", s.ok("logs", "app", id, "show"), "one")

	v2 := put("app.zip", zipOf("two"))
	id = s.start("app")
	e = s.waitEnd("app", id, "Succeeded")
	wantEqual(t, "revision at v2", e.SourceRevisions[0].RevisionID, v2)
	wantContains(t, "show log at v2", s.ok("logs", "app", id, "show"), "two")
	// A pinned start reads the older version.
	id = strings.TrimSpace(s.ok("start", "app", "--source-revision", "src="+v1))
	e = s.waitEnd("app", id, "Succeeded")
	wantEqual(t, "pinned revision", e.SourceRevisions[0].RevisionID, v1)
	wantContains(t, "show log of the pinned start", s.ok("logs", "app", id, "show"), "one")

	// An S3_OBJECT_KEY override reads another object, but only where the
	// action says AllowOverrideForS3ObjectKey: true; a refused start starts
	// nothing.
	v9 := put("releases/v9.zip", zipOf("nine"))
	v10 := put("releases/v9.zip", zipOf("ten"))
	before := len(s.executions("app"))
	r = s.fails("start", "app", "--source-revision", "src=S3_OBJECT_KEY:releases/v9.zip")
	wantContains(t, "key override without AllowOverrideForS3ObjectKey", r.stderr,
		"sourceRevisions[0].revisionType: S3_OBJECT_KEY for action src needs its configuration to say AllowOverrideForS3ObjectKey: true")
	if n := len(s.executions("app")); n != before {
		t.Fatalf("a refused start left %d executions, had %d", n, before)
	}
	s.applyYAML("keyed", "name: keyed\nexecutionMode: PARALLEL\nstages:\n  - name: Source\n    actions:\n      - name: src\n"+
		"        actionTypeId: {category: Source, owner: AWS, provider: S3, version: '1'}\n        outputArtifacts: [code]\n"+
		"        configuration: {S3Bucket: releases, S3ObjectKey: app.zip, Connection: moto, PollForSourceChanges: 'false', AllowOverrideForS3ObjectKey: 'true'}\n"+
		"  - name: Show\n    actions:\n      - name: show\n        provider: Commands\n        inputArtifacts: [code]\n"+
		"        commands: ['cat version.txt']\n")
	id = strings.TrimSpace(s.ok("start", "keyed", "--source-revision", "src=S3_OBJECT_KEY:releases/v9.zip"))
	e = s.waitEnd("keyed", id, "Succeeded")
	wantEqual(t, "key override revision", e.SourceRevisions[0].RevisionID, v10)
	wantEqual(t, "key override object key", e.SourceRevisions[0].ObjectKey, "releases/v9.zip")
	wantContains(t, "key override summary", e.action(t, "src").Summary, "s3://releases/releases/v9.zip revision "+v10)
	wantContains(t, "show log of the key override", s.ok("logs", "keyed", id, "show"), "ten")
	// The key and a version together: that version of that key.
	id = strings.TrimSpace(s.ok("start", "keyed", "--source-revision", "src=S3_OBJECT_KEY:releases/v9.zip", "--source-revision", "src=S3_OBJECT_VERSION_ID:"+v9))
	e = s.waitEnd("keyed", id, "Succeeded")
	wantEqual(t, "key and version revision", e.SourceRevisions[0].RevisionID, v9)
	wantContains(t, "show log of key and version", s.ok("logs", "keyed", id, "show"), "nine")

	// A non-zip object fails the action, naming it.
	pipe("notzip", "notes.txt", "false")
	id = s.start("notzip")
	e = s.waitEnd("notzip", id, "Failed")
	wantContains(t, "non-zip summary", e.action(t, "src").Summary, "s3://releases/notes.txt is not a zip file")

	// Polling: the first look records the version; a new one starts the
	// pipeline once, pinned to it.
	s.apply("testdata/poll-canary.yml")
	pipe("polled", "app.zip", "true")
	s.pollRounds()
	if es := s.executions("polled"); len(es) != 0 {
		t.Fatalf("executions after the first poll = %+v, want none", es)
	}
	v3 := put("app.zip", zipOf("three"))
	note := s.nextTrigger("polled", nil)
	e = s.wantStarted("polled", note, 1, "Succeeded")
	wantEqual(t, "polled trigger", e.Trigger.TriggerType, "PollForSourceChanges")
	wantContains(t, "polled trigger detail", e.Trigger.TriggerDetail, v3, "s3://releases/app.zip")
	wantEqual(t, "polled revision", e.SourceRevisions[0].RevisionID, v3)
	wantContains(t, "show log of the polled start", s.ok("logs", "polled", e.PipelineExecutionID, "show"), "three")
	s.pollRounds()
	if es := s.executions("polled"); len(es) != 1 {
		t.Fatalf("executions after more polls of the same version = %d, want one", len(es))
	}
}
