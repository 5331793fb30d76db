package awsapi_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/smithy-go"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/server"
	"github.com/sluice-ci/sluice/internal/wire"
)

// These tests drive a real server on 127.0.0.1 with the AWS SDK for Go v2's
// own CodePipeline client, signing with access keys made as a user makes
// them (token create --aws-keys).

type fixture struct {
	url   string
	admin *client.Client
}

func start(t testing.TB, configure ...func(*server.Config)) *fixture {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := server.Config{
		DataDir: dir, Addr: "127.0.0.1:0", Workers: 1, Lease: 3 * time.Second, SweepInterval: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, f := range configure {
		f(&cfg)
	}
	s, err := server.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
		s.Close()
	})
	token, err := os.ReadFile(filepath.Join(dir, server.AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{url: s.URL(), admin: client.New(s.URL(), strings.TrimSpace(string(token)))}
}

// keys makes a token with policy and an access key for it.
func (f *fixture) keys(t testing.TB, name, policy string) wire.CreatedToken {
	t.Helper()
	created, err := f.admin.CreateTokenWith(context.Background(), wire.CreateTokenRequest{Name: name, Policy: policy, AWSKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(created.AccessKeyID) != 20 || !strings.HasPrefix(created.AccessKeyID, "AKIA") || len(created.SecretAccessKey) != 40 {
		t.Fatalf("access key %q / secret of %d characters", created.AccessKeyID, len(created.SecretAccessKey))
	}
	return created
}

func (f *fixture) client(id, secret string) *codepipeline.Client {
	return codepipeline.New(codepipeline.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(f.url),
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, ""),
		RetryMaxAttempts: 1,
	})
}

// approvalPipeline has two stages of one Manual approval each: enough to
// start, approve, reject, retry and stop an execution with no worker.
const approvalPipeline = `{
  "pipeline": {
    "name": "%s",
    "roleArn": "arn:aws:iam::000000000000:role/CodePipelineRole",
    "artifactStore": {"type": "S3", "location": "bucket"},
    "pipelineType": "V2",
    "executionMode": "QUEUED",
    "variables": [{"name": "env", "defaultValue": "dev"}],
    "stages": [
      {"name": "Gate", "actions": [{"name": "approve", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}, "runOrder": 1}]},
      {"name": "Hold", "actions": [{"name": "wait", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}, "runOrder": 1}]}
    ]
  },
  "tags": [{"key": "team", "value": "ci"}]
}`

// errType returns the AWS error code of err ("" for none).
func errType(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// createInput builds CreatePipeline's input as the SDK does from JSON a
// user keeps (aws codepipeline create-pipeline --cli-input-json).
func createInput(name string) *codepipeline.CreatePipelineInput {
	approval := &types.ActionTypeId{Category: types.ActionCategoryApproval, Owner: types.ActionOwnerAws, Provider: aws.String("Manual"), Version: aws.String("1")}
	return &codepipeline.CreatePipelineInput{
		Pipeline: &types.PipelineDeclaration{
			Name:          aws.String(name),
			RoleArn:       aws.String("arn:aws:iam::000000000000:role/CodePipelineRole"),
			ArtifactStore: &types.ArtifactStore{Type: types.ArtifactStoreTypeS3, Location: aws.String("bucket")},
			PipelineType:  types.PipelineTypeV2,
			ExecutionMode: types.ExecutionModeQueued,
			Variables:     []types.PipelineVariableDeclaration{{Name: aws.String("env"), DefaultValue: aws.String("dev")}},
			Stages: []types.StageDeclaration{
				{Name: aws.String("Gate"), Actions: []types.ActionDeclaration{{Name: aws.String("approve"), ActionTypeId: approval, RunOrder: aws.Int32(1)}}},
				{Name: aws.String("Hold"), Actions: []types.ActionDeclaration{{Name: aws.String("wait"), ActionTypeId: approval, RunOrder: aws.Int32(1)}}},
			},
		},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("ci")}},
	}
}

// waitFor long-polls the execution (through the native API) until ok says
// it is in the state wanted.
func (f *fixture) waitFor(t *testing.T, name, id string, ok func(*wire.Execution) bool) *wire.Execution {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var since time.Time
	for {
		e, err := f.admin.Execution(ctx, name, id, since, 10*time.Second)
		if err != nil {
			t.Fatalf("execution %s: %v", id, err)
		}
		if ok(e) {
			return e
		}
		since = e.LastUpdateTime
	}
}

func actionStatus(e *wire.Execution, stage string) string {
	for _, s := range e.Stages {
		if s.Name == stage && len(s.Actions) > 0 {
			return s.Actions[0].Status
		}
	}
	return ""
}

// approvalToken reads the token of stage's approval from GetPipelineState.
func approvalToken(t *testing.T, cp *codepipeline.Client, name, stage string) string {
	t.Helper()
	st, err := cp.GetPipelineState(context.Background(), &codepipeline.GetPipelineStateInput{Name: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st.StageStates {
		if aws.ToString(s.StageName) == stage && len(s.ActionStates) == 1 && s.ActionStates[0].LatestExecution != nil {
			return aws.ToString(s.ActionStates[0].LatestExecution.Token)
		}
	}
	t.Fatalf("no approval token in stage %s: %+v", stage, st.StageStates)
	return ""
}

func TestSDKLifecycle(t *testing.T) {
	f := start(t)
	k := f.keys(t, "ci", "admin")
	cp := f.client(k.AccessKeyID, k.SecretAccessKey)
	ctx := context.Background()

	created, err := cp.CreatePipeline(ctx, createInput("app"))
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(created.Pipeline.Name) != "app" || aws.ToInt32(created.Pipeline.Version) != 1 || len(created.Tags) != 1 {
		t.Fatalf("created %+v", created)
	}
	if _, err := cp.CreatePipeline(ctx, createInput("app")); errType(err) != "PipelineNameInUseException" {
		t.Fatalf("second create: %v", err)
	}
	var inUse *types.PipelineNameInUseException
	if _, err := cp.CreatePipeline(ctx, createInput("app")); !errors.As(err, &inUse) {
		t.Fatalf("the SDK does not read the error as its own type: %T %v", err, err)
	}
	got, err := cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Metadata.PipelineArn) != "arn:aws:codepipeline:us-east-1:000000000000:app" || got.Metadata.Created == nil ||
		len(got.Pipeline.Stages) != 2 || aws.ToString(got.Pipeline.Stages[0].Actions[0].ActionTypeId.Provider) != "Manual" ||
		got.Pipeline.ExecutionMode != types.ExecutionModeQueued {
		t.Fatalf("get %+v %+v", got.Pipeline, got.Metadata)
	}
	// An update is a new version.
	upd := createInput("app").Pipeline
	upd.Stages[1].Actions[0].Name = aws.String("hold")
	updated, err := cp.UpdatePipeline(ctx, &codepipeline.UpdatePipelineInput{Pipeline: upd})
	if err != nil || aws.ToInt32(updated.Pipeline.Version) != 2 {
		t.Fatalf("update: %+v %v", updated, err)
	}

	// Start, idempotently by client request token.
	startIn := &codepipeline.StartPipelineExecutionInput{Name: aws.String("app"), ClientRequestToken: aws.String("req-1"),
		Variables: []types.PipelineVariable{{Name: aws.String("env"), Value: aws.String("prod")}}}
	started, err := cp.StartPipelineExecution(ctx, startIn)
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(started.PipelineExecutionId)
	again, err := cp.StartPipelineExecution(ctx, startIn)
	if err != nil || aws.ToString(again.PipelineExecutionId) != id {
		t.Fatalf("the same clientRequestToken started %v (%v), not %s", again, err, id)
	}
	f.waitFor(t, "app", id, func(e *wire.Execution) bool { return actionStatus(e, "Gate") == "InProgress" })
	ex, err := cp.GetPipelineExecution(ctx, &codepipeline.GetPipelineExecutionInput{PipelineName: aws.String("app"), PipelineExecutionId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	pe := ex.PipelineExecution
	if pe.Status != types.PipelineExecutionStatusInProgress || aws.ToInt32(pe.PipelineVersion) != 2 || len(pe.Variables) != 1 ||
		aws.ToString(pe.Variables[0].ResolvedValue) != "prod" || pe.Trigger.TriggerType != types.TriggerTypeStartPipelineExecution ||
		aws.ToString(pe.Trigger.TriggerDetail) != "ci" {
		t.Fatalf("execution %+v", pe)
	}

	// Reject: the stage fails; a second answer is refused as AWS does.
	token := approvalToken(t, cp, "app", "Gate")
	_, err = cp.PutApprovalResult(ctx, &codepipeline.PutApprovalResultInput{PipelineName: aws.String("app"), StageName: aws.String("Gate"),
		ActionName: aws.String("approve"), Token: aws.String(token),
		Result: &types.ApprovalResult{Status: types.ApprovalStatusRejected, Summary: aws.String("not yet")}})
	if err != nil {
		t.Fatal(err)
	}
	f.waitFor(t, "app", id, func(e *wire.Execution) bool { return e.Status == "Failed" })
	_, err = cp.PutApprovalResult(ctx, &codepipeline.PutApprovalResultInput{PipelineName: aws.String("app"), StageName: aws.String("Gate"),
		ActionName: aws.String("approve"), Token: aws.String(token), Result: &types.ApprovalResult{Status: types.ApprovalStatusApproved, Summary: aws.String("ok")}})
	if errType(err) != "ApprovalAlreadyCompletedException" {
		t.Fatalf("second answer: %v", err)
	}
	st, err := cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	gate := st.StageStates[0]
	if gate.LatestExecution == nil || gate.LatestExecution.Status != types.StageExecutionStatusFailed ||
		gate.ActionStates[0].LatestExecution.Status != types.ActionExecutionStatusFailed || gate.InboundTransitionState != nil ||
		st.StageStates[1].InboundTransitionState == nil || !st.StageStates[1].InboundTransitionState.Enabled {
		t.Fatalf("state after rejection: %+v", st.StageStates)
	}

	// Retry the failed stage, approve, and stop the execution in the next.
	if _, err := cp.RetryStageExecution(ctx, &codepipeline.RetryStageExecutionInput{PipelineName: aws.String("app"), StageName: aws.String("Hold"),
		PipelineExecutionId: aws.String(id), RetryMode: types.StageRetryModeFailedActions}); errType(err) != "StageNotRetryableException" {
		t.Fatalf("retry of a stage that did not fail: %v", err)
	}
	if _, err := cp.RetryStageExecution(ctx, &codepipeline.RetryStageExecutionInput{PipelineName: aws.String("app"), StageName: aws.String("Gate"),
		PipelineExecutionId: aws.String(id), RetryMode: types.StageRetryModeFailedActions}); err != nil {
		t.Fatal(err)
	}
	f.waitFor(t, "app", id, func(e *wire.Execution) bool { return actionStatus(e, "Gate") == "InProgress" })
	token2 := approvalToken(t, cp, "app", "Gate")
	if token2 == token {
		t.Fatal("the retried approval kept its token")
	}
	if _, err := cp.PutApprovalResult(ctx, &codepipeline.PutApprovalResultInput{PipelineName: aws.String("app"), StageName: aws.String("Gate"),
		ActionName: aws.String("approve"), Token: aws.String(token2), Result: &types.ApprovalResult{Status: types.ApprovalStatusApproved, Summary: aws.String("go")}}); err != nil {
		t.Fatal(err)
	}
	f.waitFor(t, "app", id, func(e *wire.Execution) bool { return actionStatus(e, "Hold") == "InProgress" })
	if _, err := cp.StopPipelineExecution(ctx, &codepipeline.StopPipelineExecutionInput{PipelineName: aws.String("app"),
		PipelineExecutionId: aws.String(id), Abandon: true, Reason: aws.String("enough")}); err != nil {
		t.Fatal(err)
	}
	f.waitFor(t, "app", id, func(e *wire.Execution) bool { return e.Status == "Stopped" })
	if _, err := cp.StopPipelineExecution(ctx, &codepipeline.StopPipelineExecutionInput{PipelineName: aws.String("app"),
		PipelineExecutionId: aws.String(id)}); errType(err) != "PipelineExecutionNotStoppableException" {
		t.Fatalf("stop of a stopped execution: %v", err)
	}
	acts, err := cp.ListActionExecutions(ctx, &codepipeline.ListActionExecutionsInput{PipelineName: aws.String("app"),
		Filter: &types.ActionExecutionFilter{PipelineExecutionId: aws.String(id)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(acts.ActionExecutionDetails) != 2 || aws.ToString(acts.ActionExecutionDetails[0].ActionName) != "approve" ||
		acts.ActionExecutionDetails[0].Status != types.ActionExecutionStatusSucceeded || aws.ToString(acts.ActionExecutionDetails[0].UpdatedBy) != "ci" {
		t.Fatalf("action executions %+v", acts.ActionExecutionDetails)
	}

	// Transitions.
	if _, err := cp.DisableStageTransition(ctx, &codepipeline.DisableStageTransitionInput{PipelineName: aws.String("app"), StageName: aws.String("Gate"),
		TransitionType: types.StageTransitionTypeOutbound, Reason: aws.String("freeze")}); err != nil {
		t.Fatal(err)
	}
	st, err = cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	if tr := st.StageStates[1].InboundTransitionState; tr.Enabled || aws.ToString(tr.DisabledReason) != "freeze" || aws.ToString(tr.LastChangedBy) != "ci" {
		t.Fatalf("disabled transition %+v", tr)
	}
	if _, err := cp.EnableStageTransition(ctx, &codepipeline.EnableStageTransitionInput{PipelineName: aws.String("app"), StageName: aws.String("Hold"),
		TransitionType: types.StageTransitionTypeInbound}); err != nil {
		t.Fatal(err)
	}

	// Delete; a pipeline that is gone is PipelineNotFoundException.
	if _, err := cp.DeletePipeline(ctx, &codepipeline.DeletePipelineInput{Name: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	var nf *types.PipelineNotFoundException
	if _, err := cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String("app")}); !errors.As(err, &nf) {
		t.Fatalf("get after delete: %v", err)
	}
}

func TestSDKPagingAndErrors(t *testing.T) {
	f := start(t)
	k := f.keys(t, "ci", "admin")
	cp := f.client(k.AccessKeyID, k.SecretAccessKey)
	ctx := context.Background()
	for _, name := range []string{"c", "a", "e", "b", "d"} {
		if _, err := cp.CreatePipeline(ctx, createInput(name)); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	pages := codepipeline.NewListPipelinesPaginator(cp, &codepipeline.ListPipelinesInput{MaxResults: aws.Int32(2)})
	n := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n++
		if len(page.Pipelines) > 2 {
			t.Fatalf("page of %d", len(page.Pipelines))
		}
		for _, p := range page.Pipelines {
			names = append(names, aws.ToString(p.Name))
		}
	}
	if strings.Join(names, ",") != "a,b,c,d,e" || n != 3 {
		t.Fatalf("pages %d: %v", n, names)
	}
	if _, err := cp.ListPipelines(ctx, &codepipeline.ListPipelinesInput{NextToken: aws.String("bogus")}); errType(err) != "InvalidNextTokenException" {
		t.Fatalf("bad token: %v", err)
	}
	if _, err := cp.ListPipelines(ctx, &codepipeline.ListPipelinesInput{MaxResults: aws.Int32(5000)}); errType(err) != "ValidationException" {
		t.Fatalf("maxResults 5000: %v", err)
	}

	// Executions page newest first.
	var ids []string
	for range 3 {
		out, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String("a")})
		if err != nil {
			t.Fatal(err)
		}
		ids = append([]string{aws.ToString(out.PipelineExecutionId)}, ids...)
	}
	var listed []string
	ep := codepipeline.NewListPipelineExecutionsPaginator(cp, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String("a"), MaxResults: aws.Int32(2)})
	for ep.HasMorePages() {
		page, err := ep.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.PipelineExecutionSummaries {
			listed = append(listed, aws.ToString(s.PipelineExecutionId))
		}
	}
	if strings.Join(listed, ",") != strings.Join(ids, ",") {
		t.Fatalf("executions %v, want %v", listed, ids)
	}

	for _, c := range []struct {
		name string
		call func() error
		want string
	}{
		{"get missing", func() error {
			_, err := cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String("nope")})
			return err
		}, "PipelineNotFoundException"},
		{"state missing", func() error {
			_, err := cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String("nope")})
			return err
		}, "PipelineNotFoundException"},
		{"start missing", func() error {
			_, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String("nope")})
			return err
		}, "PipelineNotFoundException"},
		{"execution missing", func() error {
			_, err := cp.GetPipelineExecution(ctx, &codepipeline.GetPipelineExecutionInput{PipelineName: aws.String("a"), PipelineExecutionId: aws.String("00000000-0000-4000-8000-000000000000")})
			return err
		}, "PipelineExecutionNotFoundException"},
		{"stage missing", func() error {
			_, err := cp.DisableStageTransition(ctx, &codepipeline.DisableStageTransitionInput{PipelineName: aws.String("a"), StageName: aws.String("Nope"),
				TransitionType: types.StageTransitionTypeInbound, Reason: aws.String("x")})
			return err
		}, "StageNotFoundException"},
		{"update missing", func() error {
			_, err := cp.UpdatePipeline(ctx, &codepipeline.UpdatePipelineInput{Pipeline: createInput("nope").Pipeline})
			return err
		}, "ResourceNotFoundException"},
		{"bad declaration", func() error {
			in := createInput("bad")
			in.Pipeline.Stages[0].Actions[0].ActionTypeId.Provider = aws.String("NoSuchProvider")
			_, err := cp.CreatePipeline(ctx, in)
			return err
		}, "InvalidStructureException"},
		{"approval with a bad token", func() error {
			_, err := cp.PutApprovalResult(ctx, &codepipeline.PutApprovalResultInput{PipelineName: aws.String("a"), StageName: aws.String("Gate"),
				ActionName: aws.String("approve"), Token: aws.String("nope"), Result: &types.ApprovalResult{Status: types.ApprovalStatusApproved, Summary: aws.String("x")}})
			return err
		}, "InvalidApprovalTokenException"},
	} {
		err := c.call()
		if errType(err) != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
		var re interface{ HTTPStatusCode() int }
		if errors.As(err, &re) && re.HTTPStatusCode() != 400 {
			t.Errorf("%s: HTTP %d, want 400", c.name, re.HTTPStatusCode())
		}
	}
}

// A pipeline declaring artifactStores (one store per region) is written
// back with them and without artifactStore, which CodePipeline refuses
// beside them; the SDK reads it, and it can be applied again as it is.
func TestSDKArtifactStores(t *testing.T) {
	f := start(t, func(c *server.Config) {
		c.Region, c.Regions = "us-east-1", []string{"eu-west-1=" + t.TempDir()}
	})
	k := f.keys(t, "cp", "admin")
	cp := f.client(k.AccessKeyID, k.SecretAccessKey)
	ctx := context.Background()
	in := createInput("multi")
	in.Pipeline.ArtifactStore = nil
	in.Pipeline.ArtifactStores = map[string]types.ArtifactStore{
		"us-east-1": {Type: types.ArtifactStoreTypeS3, Location: aws.String("home-bucket")},
		"eu-west-1": {Type: types.ArtifactStoreTypeS3, Location: aws.String("eu-bucket")},
	}
	in.Pipeline.Stages[1].Actions[0].Region = aws.String("eu-west-1")
	if _, err := cp.CreatePipeline(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String("multi")})
	if err != nil {
		t.Fatal(err)
	}
	if got.Pipeline.ArtifactStore != nil || len(got.Pipeline.ArtifactStores) != 2 || aws.ToString(got.Pipeline.ArtifactStores["eu-west-1"].Location) != "eu-bucket" {
		t.Errorf("artifactStore %+v, artifactStores %+v", got.Pipeline.ArtifactStore, got.Pipeline.ArtifactStores)
	}
	if _, err := cp.UpdatePipeline(ctx, &codepipeline.UpdatePipelineInput{Pipeline: got.Pipeline}); err != nil {
		t.Errorf("the pipeline as read, applied again: %v", err)
	}
	in = createInput("elsewhere")
	in.Pipeline.ArtifactStore = nil
	in.Pipeline.ArtifactStores = map[string]types.ArtifactStore{"ap-south-1": {Type: types.ArtifactStoreTypeS3, Location: aws.String("b-ap")}}
	if _, err := cp.CreatePipeline(ctx, in); err == nil || !strings.Contains(err.Error(), `"ap-south-1" is not a region this server declares`) {
		t.Errorf("an undeclared region: %v", err)
	}
}
