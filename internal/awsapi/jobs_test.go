package awsapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/sluice-ci/sluice/internal/wire"
)

// A job worker written for CodePipeline, here with the Go SDK: it declares
// its custom action type, polls for jobs, acknowledges them with their
// nonce, asks to be given one again with a continuation token, and ends it
// with output variables; a second job it fails.
func TestCustomActionJobWorker(t *testing.T) {
	f := start(t)
	admin := f.keys(t, "ci", "admin")
	cp := f.client(admin.AccessKeyID, admin.SecretAccessKey)
	w := f.keys(t, "deployer", "worker")
	worker := f.client(w.AccessKeyID, w.SecretAccessKey)
	ctx := context.Background()

	typeID := &types.ActionTypeId{Category: types.ActionCategoryDeploy, Owner: types.ActionOwnerCustom, Provider: aws.String("MyDeployer"), Version: aws.String("1")}
	if _, err := cp.CreateCustomActionType(ctx, &codepipeline.CreateCustomActionTypeInput{
		Category: types.ActionCategoryDeploy, Provider: aws.String("MyDeployer"), Version: aws.String("1"),
		InputArtifactDetails:    &types.ArtifactDetails{MinimumCount: 0, MaximumCount: 1},
		OutputArtifactDetails:   &types.ArtifactDetails{MinimumCount: 0, MaximumCount: 1},
		ConfigurationProperties: []types.ActionConfigurationProperty{{Name: aws.String("Target"), Key: true, Required: true, Secret: false}},
	}); err != nil {
		t.Fatal(err)
	}
	listed, err := cp.ListActionTypes(ctx, &codepipeline.ListActionTypesInput{ActionOwnerFilter: types.ActionOwnerCustom})
	if err != nil || len(listed.ActionTypes) != 1 || aws.ToString(listed.ActionTypes[0].Id.Provider) != "MyDeployer" ||
		len(listed.ActionTypes[0].ActionConfigurationProperties) != 1 {
		t.Fatalf("custom action types %+v %v", listed, err)
	}
	if _, err := worker.CreateCustomActionType(ctx, &codepipeline.CreateCustomActionTypeInput{Category: types.ActionCategoryDeploy,
		Provider: aws.String("Other"), Version: aws.String("1"), InputArtifactDetails: &types.ArtifactDetails{}, OutputArtifactDetails: &types.ArtifactDetails{}}); errType(err) != "AccessDeniedException" {
		t.Fatalf("a worker declaring an action type: %v", err)
	}

	in := createInput("deploy")
	in.Pipeline.Stages = []types.StageDeclaration{{Name: aws.String("Deploy"), Actions: []types.ActionDeclaration{{
		Name: aws.String("ship"), ActionTypeId: typeID, RunOrder: aws.Int32(1), Namespace: aws.String("ship"),
		// A continuation comes back after a second, not CodePipeline's 30.
		Configuration: map[string]string{"Target": "prod", "ContinuationIntervalSeconds": "1"},
	}}}}
	undeclared := createInput("undeclared")
	undeclared.Pipeline.Stages = in.Pipeline.Stages
	undeclared.Pipeline.Stages[0].Actions[0].ActionTypeId = &types.ActionTypeId{Category: types.ActionCategoryDeploy, Owner: types.ActionOwnerCustom,
		Provider: aws.String("Nobody"), Version: aws.String("1")}
	if _, err := cp.CreatePipeline(ctx, undeclared); errType(err) != "InvalidActionDeclarationException" {
		t.Fatalf("a pipeline naming an undeclared custom action type: %v", err)
	}
	undeclared.Pipeline.Stages[0].Actions[0].ActionTypeId = typeID
	if _, err := cp.CreatePipeline(ctx, in); err != nil {
		t.Fatal(err)
	}
	poll := func() []types.Job {
		t.Helper()
		out, err := worker.PollForJobs(ctx, &codepipeline.PollForJobsInput{ActionTypeId: typeID, MaxBatchSize: aws.Int32(5)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Jobs
	}
	if jobs := poll(); len(jobs) != 0 {
		t.Fatalf("jobs before any execution: %+v", jobs)
	}
	started, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String("deploy")})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(started.PipelineExecutionId)
	jobs := poll()
	if len(jobs) != 1 {
		t.Fatalf("jobs after the start: %+v", jobs)
	}
	job := jobs[0]
	d := job.Data
	if d.ActionConfiguration.Configuration["Target"] != "prod" || aws.ToString(d.PipelineContext.PipelineName) != "deploy" ||
		aws.ToString(d.PipelineContext.Stage.Name) != "Deploy" || aws.ToString(d.PipelineContext.Action.Name) != "ship" ||
		aws.ToString(d.PipelineContext.PipelineExecutionId) != id || aws.ToString(job.AccountId) != "000000000000" {
		t.Fatalf("job data %+v", d)
	}
	if jobs := poll(); len(jobs) != 0 {
		t.Fatalf("a job given twice: %+v", jobs)
	}
	if _, err := worker.AcknowledgeJob(ctx, &codepipeline.AcknowledgeJobInput{JobId: job.Id, Nonce: aws.String("0000")}); errType(err) != "InvalidNonceException" {
		t.Fatalf("a wrong nonce: %v", err)
	}
	ack, err := worker.AcknowledgeJob(ctx, &codepipeline.AcknowledgeJobInput{JobId: job.Id, Nonce: job.Nonce})
	if err != nil || ack.Status != types.JobStatusInProgress {
		t.Fatalf("acknowledge: %+v %v", ack, err)
	}
	details, err := worker.GetJobDetails(ctx, &codepipeline.GetJobDetailsInput{JobId: job.Id})
	if err != nil || aws.ToString(details.JobDetails.Data.PipelineContext.Action.Name) != "ship" {
		t.Fatalf("job details %+v %v", details, err)
	}
	// Not done yet: give it back to me with this token.
	if _, err := worker.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{JobId: job.Id, ContinuationToken: aws.String("step-2"),
		ExecutionDetails: &types.ExecutionDetails{Summary: aws.String("half way")}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for jobs = poll(); len(jobs) == 0 && time.Now().Before(deadline); jobs = poll() {
		time.Sleep(100 * time.Millisecond) // the worker's poll interval
	}
	if len(jobs) != 1 || aws.ToString(jobs[0].Data.ContinuationToken) != "step-2" || aws.ToString(jobs[0].Id) == aws.ToString(job.Id) {
		t.Fatalf("the continued job: %+v", jobs)
	}
	job = jobs[0]
	if _, err := worker.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{JobId: job.Id,
		ExecutionDetails: &types.ExecutionDetails{Summary: aws.String("deployed"), ExternalExecutionId: aws.String("d-1")},
		OutputVariables:  map[string]string{"url": "https://prod.example"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := worker.PutJobFailureResult(ctx, &codepipeline.PutJobFailureResultInput{JobId: job.Id,
		FailureDetails: &types.FailureDetails{Type: types.FailureTypeJobFailed, Message: aws.String("late")}}); errType(err) != "InvalidJobStateException" {
		t.Fatalf("a second answer: %v", err)
	}
	e := f.waitFor(t, "deploy", id, func(e *wire.Execution) bool { return e.Terminal() })
	if e.Status != "Succeeded" || e.Stages[0].Actions[0].OutputVariables["url"] != "https://prod.example" || e.Stages[0].Actions[0].Summary != "deployed" {
		t.Fatalf("execution %+v", e)
	}

	// The next job fails.
	started, err = cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String("deploy")})
	if err != nil {
		t.Fatal(err)
	}
	jobs = poll()
	if len(jobs) != 1 {
		t.Fatalf("second job: %+v", jobs)
	}
	if _, err := worker.PutJobFailureResult(ctx, &codepipeline.PutJobFailureResultInput{JobId: jobs[0].Id,
		FailureDetails: &types.FailureDetails{Type: types.FailureTypeJobFailed, Message: aws.String("target down")}}); err != nil {
		t.Fatal(err)
	}
	e = f.waitFor(t, "deploy", aws.ToString(started.PipelineExecutionId), func(e *wire.Execution) bool { return e.Terminal() })
	if e.Status != "Failed" {
		t.Fatalf("execution %+v", e)
	}
	if _, err := worker.GetJobDetails(ctx, &codepipeline.GetJobDetailsInput{JobId: aws.String("nope")}); errType(err) != "JobNotFoundException" {
		t.Fatalf("unknown job: %v", err)
	}
	if _, err := worker.PollForJobs(ctx, &codepipeline.PollForJobsInput{ActionTypeId: &types.ActionTypeId{Category: types.ActionCategoryDeploy,
		Owner: types.ActionOwnerCustom, Provider: aws.String("Nope"), Version: aws.String("1")}}); errType(err) != "ActionTypeNotFoundException" {
		t.Fatalf("poll for an unknown type: %v", err)
	}
}
