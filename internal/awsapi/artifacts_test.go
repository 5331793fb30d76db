package awsapi_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-ci/sluice/internal/wire"
)

// A job worker's artifacts travel as CodePipeline's do: an S3 location and
// the job's artifactCredentials, used with an S3 client pointed at sluice.
// One job's credentials reach that job's artifacts only.
func TestCustomActionArtifacts(t *testing.T) {
	f := start(t)
	admin := f.keys(t, "ci", "admin")
	cp := f.client(admin.AccessKeyID, admin.SecretAccessKey)
	w := f.keys(t, "builder", "worker")
	worker := f.client(w.AccessKeyID, w.SecretAccessKey)
	ctx := context.Background()
	if _, err := cp.CreateCustomActionType(ctx, &codepipeline.CreateCustomActionTypeInput{
		Category: types.ActionCategoryBuild, Provider: aws.String("MyBuilder"), Version: aws.String("1"),
		InputArtifactDetails: &types.ArtifactDetails{MaximumCount: 1}, OutputArtifactDetails: &types.ArtifactDetails{MaximumCount: 1},
	}); err != nil {
		t.Fatal(err)
	}
	typeID := &types.ActionTypeId{Category: types.ActionCategoryBuild, Owner: types.ActionOwnerCustom, Provider: aws.String("MyBuilder"), Version: aws.String("1")}
	in := createInput("build")
	in.Pipeline.Stages = []types.StageDeclaration{
		{Name: aws.String("Make"), Actions: []types.ActionDeclaration{{Name: aws.String("make"), ActionTypeId: typeID, RunOrder: aws.Int32(1),
			OutputArtifacts: []types.OutputArtifact{{Name: aws.String("built")}}}}},
		{Name: aws.String("Check"), Actions: []types.ActionDeclaration{{Name: aws.String("check"), ActionTypeId: typeID, RunOrder: aws.Int32(1),
			InputArtifacts: []types.InputArtifact{{Name: aws.String("built")}}}}},
	}
	if _, err := cp.CreatePipeline(ctx, in); err != nil {
		t.Fatal(err)
	}
	started, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String("build")})
	if err != nil {
		t.Fatal(err)
	}
	s3For := func(c *types.AWSSessionCredentials) *s3.Client {
		return s3.New(s3.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(f.url), UsePathStyle: true, RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)),
		})
	}
	poll := func() types.Job {
		t.Helper()
		out, err := worker.PollForJobs(ctx, &codepipeline.PollForJobsInput{ActionTypeId: typeID})
		if err != nil || len(out.Jobs) != 1 {
			t.Fatalf("poll: %+v %v", out, err)
		}
		return out.Jobs[0]
	}

	build := poll()
	loc := build.Data.OutputArtifacts[0].Location.S3Location
	first := s3For(build.Data.ArtifactCredentials)
	if _, err := first.PutObject(ctx, &s3.PutObjectInput{Bucket: loc.BucketName, Key: loc.ObjectKey, Body: strings.NewReader("PK zip bytes")}); err != nil {
		t.Fatal(err)
	}
	if _, err := worker.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{JobId: build.Id}); err != nil {
		t.Fatal(err)
	}
	f.waitFor(t, "build", aws.ToString(started.PipelineExecutionId), func(e *wire.Execution) bool { return actionStatus(e, "Check") == "InProgress" })

	check := poll()
	inLoc := check.Data.InputArtifacts[0].Location.S3Location
	second := s3For(check.Data.ArtifactCredentials)
	got, err := second.GetObject(ctx, &s3.GetObjectInput{Bucket: inLoc.BucketName, Key: inLoc.ObjectKey})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(b) != "PK zip bytes" {
		t.Fatalf("the input artifact read %q", b)
	}
	// What boto3's download_file does first (HeadObject), then a ranged
	// read, as its multipart download makes them.
	head, err := second.HeadObject(ctx, &s3.HeadObjectInput{Bucket: inLoc.BucketName, Key: inLoc.ObjectKey})
	if err != nil || aws.ToInt64(head.ContentLength) != int64(len("PK zip bytes")) {
		t.Fatalf("HeadObject: %v %+v", err, head)
	}
	part, err := second.GetObject(ctx, &s3.GetObjectInput{Bucket: inLoc.BucketName, Key: inLoc.ObjectKey, Range: aws.String("bytes=3-5")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(part.Body)
	part.Body.Close()
	if string(b) != "zip" || aws.ToString(part.ContentRange) != "bytes 3-5/12" {
		t.Fatalf("ranged read %q (%s)", b, aws.ToString(part.ContentRange))
	}
	// The first job's credentials do not reach the second job's artifacts,
	// nor do the second's with another secret.
	if _, err := first.GetObject(ctx, &s3.GetObjectInput{Bucket: inLoc.BucketName, Key: inLoc.ObjectKey}); errType(err) != "InvalidAccessKeyId" {
		t.Fatalf("another job's credentials: %v", err)
	}
	forged := *check.Data.ArtifactCredentials
	forged.SecretAccessKey = aws.String(strings.Repeat("0", 40))
	if _, err := s3For(&forged).GetObject(ctx, &s3.GetObjectInput{Bucket: inLoc.BucketName, Key: inLoc.ObjectKey}); errType(err) != "SignatureDoesNotMatch" {
		t.Fatalf("a forged secret: %v", err)
	}
	if _, err := worker.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{JobId: check.Id}); err != nil {
		t.Fatal(err)
	}
	e := f.waitFor(t, "build", aws.ToString(started.PipelineExecutionId), func(e *wire.Execution) bool { return e.Terminal() })
	if e.Status != "Succeeded" {
		t.Fatalf("execution %+v", e)
	}
	// Once the job has ended, its credentials are worth nothing.
	if _, err := second.GetObject(ctx, &s3.GetObjectInput{Bucket: inLoc.BucketName, Key: inLoc.ObjectKey}); err == nil {
		t.Fatal("an ended job's credentials still read its artifact")
	}
}
