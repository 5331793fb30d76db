package trigger_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/provider/s3deploy"
	"github.com/sluice-ci/sluice/internal/provider/s3source"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/service/servicetest"
	"github.com/sluice-ci/sluice/internal/trigger"
)

const s3Pipeline = `
name: %s
role: %s
executionMode: PARALLEL
stages:
  - name: Source
    actions:
      - name: obj
        actionTypeId: {category: Source, owner: AWS, provider: S3, version: "1"}
        configuration: {S3Bucket: %s, S3ObjectKey: app.zip, Connection: moto}
        outputArtifacts: [code]
  - name: Build
    actions:
      - name: make
        provider: Noop
        inputArtifacts: [code]
`

// The poller follows an S3 source's object through the action's connection,
// as the server resolves it for the action's jobs (the pipeline's role must
// allow the connection's secret), and starts one execution per change with
// the revision pinned: the version id in a versioned bucket, the ETag in
// one without versions.
func TestPollFollowsS3Objects(t *testing.T) {
	moto := mototest.Start(t)
	ctx := context.Background()
	st, arts := servicetest.Stores(t)
	svc := service.New(st, arts, service.Config{Lease: 30 * time.Second, SecretKey: make([]byte, service.SecretKeySize)})
	if err := svc.PutSecret(ctx, "moto-keys", []byte(`{"accessKeyId":"test","secretAccessKey":"test"}`)); err != nil {
		t.Fatal(err)
	}
	admin, _ := iam.ReadyMade("admin")
	doc := `{"Statement":[{"Effect":"Allow","Action":"sluice:GetSecretValue","Resource":"secret/moto-keys"}]}`
	if _, err := svc.PutPolicy(ctx, service.PolicyRequest{Name: "reader", Document: []byte(doc), Holder: admin}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutPolicy(ctx, service.PolicyRequest{Name: "nothing", Document: []byte(`{"Statement":[{"Effect":"Allow","Action":"sluice:GetSecretValue","Resource":"secret/other"}]}`), Holder: admin}); err != nil {
		t.Fatal(err)
	}
	conn := fmt.Sprintf("name: moto\nkind: aws\nregion: %s\nendpoint: %s\ncredentials: {secret: moto-keys}\n", mototest.Region, moto.URL)
	if _, err := svc.ApplyConnection(ctx, "c.yml", []byte(conn)); err != nil {
		t.Fatal(err)
	}
	c := s3deploy.Client(moto.Conn("setup"))
	for _, b := range []string{"versioned", "plain"} {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("versioned"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	put := func(b, body string) *s3.PutObjectOutput {
		out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("app.zip"), Body: bytes.NewReader([]byte(body))})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	put("versioned", "one")
	put("plain", "one")
	servicetest.Apply(t, svc, fmt.Sprintf(s3Pipeline, "vers", "reader", "versioned"))
	servicetest.Apply(t, svc, fmt.Sprintf(s3Pipeline, "plain", "reader", "plain"))
	// A pipeline whose role may not read the connection's secret polls
	// nothing through it.
	servicetest.Apply(t, svc, fmt.Sprintf(s3Pipeline, "denied", "nothing", "versioned"))

	poller := trigger.NewPoller(svc, nil).FollowObjects(s3source.Revisions{Conn: func(ctx context.Context, pipeline, stage, action string) (*awsconn.Conn, error) {
		settings, err := svc.ActionConnection(ctx, pipeline, stage, action)
		if err != nil {
			return nil, err
		}
		return awsconn.Open(ctx, settings, awsconn.DefaultSessionName)
	}})
	executions := func(name string) int {
		es, err := svc.Executions(ctx, name, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	poll := func() {
		for range 2 {
			if err := poller.Once(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	poll()
	for _, name := range []string{"vers", "plain", "denied"} {
		if n := executions(name); n != 0 {
			t.Fatalf("the first look at %s's object started %d executions", name, n)
		}
	}
	v2 := aws.ToString(put("versioned", "two").VersionId)
	etag2 := strings.Trim(aws.ToString(put("plain", "two").ETag), `"`)
	poll()
	for name, want := range map[string]string{"vers": v2, "plain": etag2} {
		es, err := svc.Executions(ctx, name, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 1 || es[0].Trigger.Type != service.TriggerPoll || len(es[0].SourceRevisions) != 1 || es[0].SourceRevisions[0].RevisionID != want {
			t.Fatalf("%s after a change: %d executions %+v (want revision %s)", name, len(es), es, want)
		}
	}
	if n := executions("denied"); n != 0 {
		t.Fatalf("a pipeline whose role may not read the connection's secret started %d executions", n)
	}
	note, err := svc.LastTrigger(ctx, "denied")
	if err != nil || note == nil || !strings.Contains(note.Reason, "does not allow sluice:GetSecretValue") || !strings.Contains(note.Detail, "s3://versioned/app.zip") {
		t.Fatalf("the denied poll's note: %+v %v", note, err)
	}
	// Another change: one more execution each, not two.
	put("versioned", "three")
	poll()
	if n := executions("vers"); n != 2 {
		t.Fatalf("after a second change: %d executions", n)
	}
}
