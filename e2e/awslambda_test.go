package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/provider/lambda"
	"github.com/sluice-ci/sluice/internal/wire"
)

const awsLambdaPipeline = `name: awslambda
stages:
  - name: Check
    actions:
      - name: Smoke
        provider: Lambda
        namespace: smoke
        configuration: {FunctionName: gate, UserParameters: prod, Connection: moto}
  - name: Deploy
    beforeEntry:
      conditions:
        - result: FAIL
          rules:
            - name: Ask
              ruleTypeId: {category: Rule, owner: AWS, provider: LambdaInvoke, version: "1"}
              configuration: {FunctionName: gate, Connection: moto}
    actions:
      - name: Ship
        provider: Commands
        commands: ['echo "shipping #{smoke.Version}"']
`

// A Lambda action and a LambdaInvoke rule naming an aws connection invoke
// the function in AWS Lambda (moto, without Docker: it answers with what
// the test queued) through the real binary: the action's answer in
// PutJobSuccessResult's shape gives output variables a later action reads;
// the rule's answer in PutJobFailureResult's shape fails the stage's entry.
func TestAWSLambdaThroughServer(t *testing.T) {
	t.Parallel()
	moto := mototest.Start(t)
	moto.LambdaWithoutDocker(t)
	role := moto.LambdaRole(t, "gate")
	var code bytes.Buffer
	zw := zip.NewWriter(&code)
	w, _ := zw.Create("index.py")
	w.Write([]byte("def handler(event, context):\n    return {}\n"))
	zw.Close()
	if _, err := lambda.LambdaClient(moto.Conn("test")).CreateFunction(context.Background(), &awslambda.CreateFunctionInput{
		FunctionName: aws.String("gate"), Role: aws.String(role), Runtime: lambdatypes.RuntimePython312,
		Handler: aws.String("index.handler"), Code: &lambdatypes.FunctionCode{ZipFile: code.Bytes()},
	}); err != nil {
		t.Fatal(err)
	}
	s := startServer(t)
	// Keys that no summary contains: the worker masks them in what it reports.
	if r := runCLIStdin(t, cliEnv(s.url, s.token), `{"accessKeyId":"AKIAE2ELAMBDA","secretAccessKey":"e2e-lambda-secret-key"}`, "secret", "put", "aws-moto"); r.code != 0 {
		t.Fatalf("secret put: %s", r)
	}
	conn := s.scratch("lambda") + "/moto.yml"
	writeFile(t, conn, "name: moto\nkind: aws\nregion: us-east-1\nendpoint: "+moto.URL+"\ncredentials: {secret: aws-moto}\n")
	s.ok("connection", "apply", "-f", conn)
	s.applyYAML("awslambda", awsLambdaPipeline)

	moto.QueueLambdaResults(t,
		`{"outputVariables": {"Version": "1.4.2"}, "executionDetails": {"summary": "smoke tests passed"}}`,
		`{"failureDetails": {"type": "JobFailed", "message": "the change window is closed"}}`)
	refused := s.start("awslambda")
	e := s.waitEnd("awslambda", refused, "Failed")
	if a := e.action(t, "Smoke"); a.Status != "Succeeded" || a.Summary != "smoke tests passed" {
		t.Errorf("Smoke: %+v", a)
	}
	var rules []wire.RuleExecution
	s.json(&rules, "stage", "rules", "awslambda", "--execution", refused)
	if len(rules) != 1 || rules[0].Status != "Failed" {
		t.Fatalf("rule executions: %+v", rules)
	}
	wantContains(t, "rule's summary", s.ok("execution", "get", "awslambda", refused), "function gate reported failure (JobFailed): the change window is closed")

	moto.QueueLambdaResults(t, `{"outputVariables": {"Version": "1.4.3"}}`, `"open"`)
	good := s.start("awslambda")
	s.waitEnd("awslambda", good, "Succeeded")
	wantContains(t, "Ship's log", s.ok("logs", "awslambda", good, "Ship"), "shipping 1.4.3")
	wantContains(t, "Smoke's log", s.ok("logs", "awslambda", good, "Smoke"), "[sluice] invoked gate in AWS Lambda (moto): status 200")
}
