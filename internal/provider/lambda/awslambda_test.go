package lambda

import (
	"archive/zip"
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/provider"
)

// The Lambda action with a Connection invokes the function in AWS Lambda
// (moto) through the SDK with CodePipeline's job event, and answers with
// what it returns. moto runs a function's code only in Docker, which this
// machine has not: with {"lambda": {"use_docker": false}} its Invoke
// returns the event it was given, or the answers queued at
// /moto-api/static/lambda-simple/response, and never a FunctionError (that
// path is TestAnswer's), and answers for functions that do not exist. So
// the test checks the event sent, and each shape
// of answer sluice reads.
func TestInvokeAWSLambdaMoto(t *testing.T) {
	moto := mototest.Start(t)
	moto.LambdaWithoutDocker(t)
	role := moto.LambdaRole(t, "fn")
	ctx := context.Background()
	conn := moto.Conn("prod")
	var code bytes.Buffer
	zw := zip.NewWriter(&code)
	w, _ := zw.Create("index.py")
	w.Write([]byte("def handler(event, context):\n    return {}\n"))
	zw.Close()
	if _, err := LambdaClient(conn).CreateFunction(ctx, &awslambda.CreateFunctionInput{
		FunctionName: aws.String("smoke"), Role: aws.String(role), Runtime: lambdatypes.RuntimePython312,
		Handler: aws.String("index.handler"), Code: &lambdatypes.FunctionCode{ZipFile: code.Bytes()},
	}); err != nil {
		t.Fatal(err)
	}
	job := func() (*provider.Job, *bytes.Buffer) {
		var log bytes.Buffer
		return &provider.Job{
			ID: "j-42", Provider: "Lambda", ServerURL: "http://127.0.0.1:1", JobToken: "sjt_secret-job-token",
			Configuration: map[string]string{"FunctionName": "smoke", "UserParameters": "prod", "Connection": "prod"},
			Inputs:        []string{"src"}, Log: &log,
			AWS: func(_ context.Context, name string) (*awsconn.Conn, error) { return conn, nil },
		}, &log
	}

	// No answer queued: moto echoes the event; sluice sent CodePipeline's,
	// without its job token or artifact URLs.
	j, log := job()
	res, err := Provider{}.Run(ctx, j)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, log)
	}
	for _, want := range []string{`"CodePipeline.job"`, `"id":"j-42"`, `"FunctionName":"smoke"`, `"UserParameters":"prod"`, `"name":"src"`} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the event sent lacks %s: %s", want, log)
		}
	}
	if strings.Contains(log.String(), "sjt_") || strings.Contains(log.String(), "127.0.0.1:1") {
		t.Errorf("the event sent to AWS carries sluice's job token or URLs: %s", log)
	}
	if !strings.HasPrefix(res.Summary, `function smoke returned: {"CodePipeline.job"`) {
		t.Errorf("summary: %s", res.Summary)
	}
	wantLog := "[sluice] invoked smoke in AWS Lambda (prod): status 200"
	if !strings.Contains(log.String(), wantLog) {
		t.Errorf("log lacks %q: %s", wantLog, log)
	}

	moto.QueueLambdaResults(t,
		`{"outputVariables": {"Version": "1.4.2"}, "executionDetails": {"summary": "smoke tests passed"}}`,
		`{"failureDetails": {"type": "JobFailed", "message": "3 smoke tests failed"}}`)
	j, _ = job()
	res, err = Provider{}.Run(ctx, j)
	if err != nil || res.Summary != "smoke tests passed" || res.OutputVariables["Version"] != "1.4.2" {
		t.Errorf("PutJobSuccessResult-shaped answer: %+v %v", res, err)
	}
	j, _ = job()
	if _, err = (Provider{}).Run(ctx, j); err == nil || !strings.Contains(err.Error(), "function smoke reported failure (JobFailed): 3 smoke tests failed") {
		t.Errorf("PutJobFailureResult-shaped answer: %v", err)
	}
	// moto's Lambda without Docker answers for a function that does not
	// exist as well, so a missing function is not tested here.
}

// A FunctionError (an exception in the handler) fails the action with the
// function's errorType and errorMessage, as Lambda's payload gives them.
func TestAnswer(t *testing.T) {
	_, err := answer("f", "Unhandled", []byte(`{"errorMessage":"boom","errorType":"ValueError","stackTrace":[]}`))
	if err == nil || err.Error() != "function f failed (Unhandled): ValueError: boom" {
		t.Errorf("FunctionError: %v", err)
	}
	res, err := answer("f", "", []byte(`"Simple Lambda happy path OK"`))
	if err != nil || res.Summary != `function f returned: "Simple Lambda happy path OK"` {
		t.Errorf("plain return: %+v %v", res, err)
	}
}

// A Lambda in AWS cannot produce sluice's output artifacts: refused before
// anything is invoked.
func TestInvokeAWSRefusesOutputs(t *testing.T) {
	j := &provider.Job{Configuration: map[string]string{"FunctionName": "f", "Connection": "prod"}, Outputs: []provider.Output{{Name: "out"}}}
	if _, err := (Provider{}).Run(context.Background(), j); err == nil || !strings.Contains(err.Error(), "cannot produce sluice's output artifacts") {
		t.Errorf("outputs: %v", err)
	}
}
