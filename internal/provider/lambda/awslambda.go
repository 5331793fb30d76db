package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/provider"
)

// Where the configuration names an aws connection (`Connection`), the
// Lambda action and the LambdaInvoke rule invoke a function in AWS Lambda
// instead of a sluice function: FunctionName (a name, an ARN or NAME:ALIAS)
// gets CodePipeline's job event.
//
// CodePipeline waits for such a function to call PutJobSuccessResult or
// PutJobFailureResult on the job, and times the action out otherwise. A
// function in AWS cannot answer for a sluice job that way (the job id is
// not CodePipeline's, and sluice's job token is not sent to another
// account), so sluice invokes it synchronously (RequestResponse) and takes
// the invocation's outcome as its answer: a FunctionError fails the action
// with the function's errorMessage; a normal return succeeds it. What the
// function returns may carry the answer in those two calls' shapes:
// {"failureDetails": {"type": "JobFailed", "message": "…"}} fails it, and
// {"outputVariables": {…}, "executionDetails": {"summary": "…"}} sets the
// action's output variables and summary.

// LambdaClient is an AWS Lambda client for conn, at its lambda endpoint
// when it names one.
func LambdaClient(conn *awsconn.Conn) *awslambda.Client {
	return awslambda.NewFromConfig(conn.Config, func(o *awslambda.Options) {
		if e := conn.EndpointFor("lambda"); e != "" {
			o.BaseEndpoint = aws.String(e)
		}
	})
}

// AWSEvent is job's event as a function in AWS gets it: CodePipeline's,
// without sluice's job token or artifact URLs, which are for sluice's own
// functions only.
func AWSEvent(job *provider.Job) Event {
	ev := NewEvent(job)
	ev.Job.Data.ArtifactCredentials = ArtifactCredentials{}
	for i := range ev.Job.Data.InputArtifacts {
		ev.Job.Data.InputArtifacts[i].URL = ""
	}
	return ev
}

// maxSummary bounds what of a function's answer goes into a summary, and
// maxLogged into the log.
const (
	maxSummary = 500
	maxLogged  = 4096
)

func (p Provider) invokeAWS(ctx context.Context, job *provider.Job) (provider.Result, error) {
	name := job.Configuration["FunctionName"]
	if len(job.Outputs) > 0 {
		return provider.Result{}, fmt.Errorf("function %s in AWS Lambda cannot produce sluice's output artifacts: declare none, or use a sluice function", name)
	}
	if job.AWS == nil {
		return provider.Result{}, errors.New("this worker has no aws connections")
	}
	conn, err := job.AWS(ctx, job.Configuration["Connection"])
	if err != nil {
		return provider.Result{}, fmt.Errorf("aws connection: %w", err)
	}
	event, err := json.Marshal(AWSEvent(job))
	if err != nil {
		return provider.Result{}, err
	}
	out, err := LambdaClient(conn).Invoke(ctx, &awslambda.InvokeInput{
		FunctionName: aws.String(name), InvocationType: lambdatypes.InvocationTypeRequestResponse, Payload: event,
	})
	if err != nil {
		return provider.Result{}, fmt.Errorf("invoke %s through connection %s: %w", name, conn.Name, err)
	}
	fmt.Fprintf(job.Log, "[sluice] invoked %s in AWS Lambda (%s): status %d, version %s\n", name, conn.Name, out.StatusCode, aws.ToString(out.ExecutedVersion))
	if len(out.Payload) > maxLogged {
		fmt.Fprintf(job.Log, "[sluice] returned (the first %d bytes): %s\n", maxLogged, out.Payload[:maxLogged])
	} else {
		fmt.Fprintf(job.Log, "[sluice] returned: %s\n", out.Payload)
	}
	return answer(name, aws.ToString(out.FunctionError), out.Payload)
}

// answer turns a synchronous invocation's outcome into the action's result.
func answer(name, functionError string, payload []byte) (provider.Result, error) {
	if functionError != "" {
		var e struct {
			ErrorMessage string `json:"errorMessage"`
			ErrorType    string `json:"errorType"`
		}
		msg := strings.TrimSpace(string(payload))
		if json.Unmarshal(payload, &e) == nil && e.ErrorMessage != "" {
			msg = e.ErrorMessage
			if e.ErrorType != "" {
				msg = e.ErrorType + ": " + msg
			}
		}
		return provider.Result{}, fmt.Errorf("function %s failed (%s): %s", name, functionError, clip(msg))
	}
	var verdict struct {
		FailureDetails *struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"failureDetails"`
		OutputVariables  map[string]string `json:"outputVariables"`
		ExecutionDetails *struct {
			Summary string `json:"summary"`
		} `json:"executionDetails"`
	}
	// Anything but an answer in PutJob*Result's shape is a plain return,
	// which succeeds.
	json.Unmarshal(payload, &verdict)
	if f := verdict.FailureDetails; f != nil {
		return provider.Result{}, fmt.Errorf("function %s reported failure (%s): %s", name, f.Type, clip(f.Message))
	}
	res := provider.Result{Summary: fmt.Sprintf("function %s returned: %s", name, clip(string(payload))), OutputVariables: verdict.OutputVariables}
	if d := verdict.ExecutionDetails; d != nil && d.Summary != "" {
		res.Summary = clip(d.Summary)
	}
	return res, nil
}

func clip(s string) string {
	if len(s) > maxSummary {
		return s[:maxSummary] + "…"
	}
	return s
}
