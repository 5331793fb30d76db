package awsapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

// StartPipelineExecution's typed sourceRevisions reach the execution:
// S3_OBJECT_KEY (with a version) pins an S3 source whose configuration
// allows it, and is refused, with nothing started, for one whose does not
// or for a type that does not fit the provider.
func TestSDKStartTypedSourceRevisions(t *testing.T) {
	f := start(t)
	k := f.keys(t, "ci", "admin")
	cp := f.client(k.AccessKeyID, k.SecretAccessKey)
	ctx := context.Background()

	s3 := &types.ActionTypeId{Category: types.ActionCategorySource, Owner: types.ActionOwnerAws, Provider: aws.String("S3"), Version: aws.String("1")}
	approval := &types.ActionTypeId{Category: types.ActionCategoryApproval, Owner: types.ActionOwnerAws, Provider: aws.String("Manual"), Version: aws.String("1")}
	in := createInput("objects")
	in.Pipeline.Stages = []types.StageDeclaration{
		{Name: aws.String("Source"), Actions: []types.ActionDeclaration{
			{Name: aws.String("open"), ActionTypeId: s3, RunOrder: aws.Int32(1), OutputArtifacts: []types.OutputArtifact{{Name: aws.String("a")}},
				Configuration: map[string]string{"S3Bucket": "releases", "S3ObjectKey": "app.zip", "AllowOverrideForS3ObjectKey": "true", "PollForSourceChanges": "false"}},
			{Name: aws.String("fixed"), ActionTypeId: s3, RunOrder: aws.Int32(1), OutputArtifacts: []types.OutputArtifact{{Name: aws.String("b")}},
				Configuration: map[string]string{"S3Bucket": "releases", "S3ObjectKey": "app.zip", "PollForSourceChanges": "false"}},
		}},
		{Name: aws.String("Gate"), Actions: []types.ActionDeclaration{{Name: aws.String("approve"), ActionTypeId: approval, RunOrder: aws.Int32(1)}}},
	}
	if _, err := cp.CreatePipeline(ctx, in); err != nil {
		t.Fatal(err)
	}

	refused := []struct {
		revs []types.SourceRevisionOverride
		want string
	}{
		{[]types.SourceRevisionOverride{{ActionName: aws.String("fixed"), RevisionType: types.SourceRevisionTypeS3ObjectKey, RevisionValue: aws.String("other.zip")}},
			"sourceRevisions[0].revisionType: S3_OBJECT_KEY for action fixed needs its configuration to say AllowOverrideForS3ObjectKey: true"},
		{[]types.SourceRevisionOverride{{ActionName: aws.String("open"), RevisionType: types.SourceRevisionTypeCommitId, RevisionValue: aws.String("abc1234")}},
			"COMMIT_ID does not fit action open"},
	}
	for _, r := range refused {
		_, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String("objects"), SourceRevisions: r.revs})
		if errType(err) != "ValidationException" && errType(err) != "InvalidParameterValueException" || !strings.Contains(err.Error(), r.want) {
			t.Fatalf("start with %+v: %v, want a refusal saying %q", r.revs, err, r.want)
		}
	}
	list, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String("objects")})
	if err != nil || len(list.PipelineExecutionSummaries) != 0 {
		t.Fatalf("refused starts started %+v (%v)", list, err)
	}

	started, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String("objects"), SourceRevisions: []types.SourceRevisionOverride{
		{ActionName: aws.String("open"), RevisionType: types.SourceRevisionTypeS3ObjectKey, RevisionValue: aws.String("releases/v2.zip")},
		{ActionName: aws.String("open"), RevisionType: types.SourceRevisionTypeS3ObjectVersionId, RevisionValue: aws.String("3HL4kqtJlcpXroDTDmJ")},
		{ActionName: aws.String("fixed"), RevisionType: types.SourceRevisionTypeS3ObjectVersionId, RevisionValue: aws.String("v9")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.admin.Execution(ctx, "objects", aws.ToString(started.PipelineExecutionId), time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range e.SourceRevisions {
		got[r.ActionName] = r.ObjectKey + "@" + r.RevisionID + " " + r.RevisionType
	}
	if got["open"] != "releases/v2.zip@3HL4kqtJlcpXroDTDmJ S3_OBJECT_VERSION_ID" || got["fixed"] != "@v9 S3_OBJECT_VERSION_ID" {
		t.Fatalf("pinned %v", got)
	}
}
