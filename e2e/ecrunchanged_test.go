package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
)

// TestECRSourceUnchanged: an ECR source action with only CodePipeline's
// keys (RepositoryName; ImageTag defaulting to latest), imported from
// CodePipeline's JSON, reads the ECR of the server's aws connection for
// its region (moto's): a start writes imageDetail.json with ECR's registry
// id and image URI, and a new digest for the tag starts the pipeline once,
// by polling, pinned to it.
func TestECRSourceUnchanged(t *testing.T) {
	t.Parallel()
	moto := mototest.Start(t)
	ctx := context.Background()
	conn := moto.Conn("setup")
	c := ecr.NewFromConfig(conn.Config, func(o *ecr.Options) { o.BaseEndpoint = aws.String(moto.URL) })
	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	push := func(n int) string {
		m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",`+
			`"config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":%d,"digest":"sha256:%064x"},`+
			`"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":100,"digest":"sha256:%064x"}]}`, 10+n, n, n+1000)
		out, err := c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("web"), ImageManifest: aws.String(m), ImageTag: aws.String("latest")})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Image.ImageId.ImageDigest)
	}
	d1 := push(1)

	s := startServer(t, "--poll-interval", "200ms")
	if r := runCLIStdin(t, cliEnv(s.url, s.token), `{"accessKeyId":"test","secretAccessKey":"test"}`, "secret", "put", "aws-moto"); r.code != 0 {
		t.Fatalf("secret put: %s", r)
	}
	dir := s.scratch("ecr")
	connFile := filepath.Join(dir, "moto.yml")
	writeFile(t, connFile, "name: moto\nkind: aws\nregion: "+mototest.Region+"\nendpoint: "+moto.URL+"\ncredentials: {secret: aws-moto}\n")
	s.ok("connection", "apply", "-f", connFile)
	pipe := filepath.Join(dir, "web.json")
	writeFile(t, pipe, `{"pipeline": {"name": "web", "roleArn": "arn:aws:iam::123456789012:role/cp", "executionMode": "PARALLEL",
  "artifactStore": {"type": "S3", "location": "bucket"},
  "stages": [
    {"name": "Source", "actions": [{"name": "Image", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "ECR", "version": "1"},
      "region": "`+mototest.Region+`", "configuration": {"RepositoryName": "web"}, "outputArtifacts": [{"name": "ImageArtifact"}]}]},
    {"name": "Show", "actions": [{"name": "show", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
      "inputArtifacts": [{"name": "ImageArtifact"}], "commands": ["cat imageDetail.json"]}]}
  ]}}`)
	s.apply(pipe)
	id := s.start("web")
	e := s.waitEnd("web", id, "Succeeded")
	wantEqual(t, "revision", e.SourceRevisions[0].RevisionID, d1)
	wantContains(t, "imageDetail.json", s.ok("logs", "web", id, "show"),
		`"ImageDigest":"`+d1+`"`, `"RegistryId":"123456789012"`, `"RepositoryName":"web"`,
		`"ImageURI":"123456789012.dkr.ecr.`+mototest.Region+`.amazonaws.com/web@`+d1+`"`, `"ImageTags":["latest"]`)

	s.apply("testdata/poll-canary.yml")
	s.pollRounds()
	before := len(s.executions("web"))
	d2 := push(2)
	e = s.waitFor("web", waitExecutionOf(t, s, "web", d2), 0, "", func(execution) bool { return true })
	wantEqual(t, "polled trigger", e.Trigger.TriggerType, "PollForSourceChanges")
	e = s.waitEnd("web", e.PipelineExecutionID, "Succeeded")
	wantContains(t, "polled imageDetail.json", s.ok("logs", "web", e.PipelineExecutionID, "show"), `"ImageDigest":"`+d2+`"`)
	s.pollRounds()
	if n := len(s.executions("web")); n != before+1 {
		t.Errorf("%d executions after the new digest and more polls, want %d", n, before+1)
	}
}
