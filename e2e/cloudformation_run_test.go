package e2e

import (
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
)

// TestCloudFormationThroughServer runs CloudFormation actions in a real
// server against moto, through an aws connection: a stack created from a
// template in an artifact, with a parameter override, its outputs handed to
// a later action as variables and written to OutputFileName; then a change
// set of the same stack replaced and executed.
func TestCloudFormationThroughServer(t *testing.T) {
	t.Parallel()
	moto := mototest.Start(t)
	s := startServer(t)
	if r := runCLIStdin(t, cliEnv(s.url, s.token), `{"accessKeyId":"test","secretAccessKey":"test"}`, "secret", "put", "aws-moto"); r.code != 0 {
		t.Fatalf("secret put: %s", r)
	}
	dir := s.scratch("cfn")
	conn := dir + "/moto.yml"
	writeFile(t, conn, "name: moto\nkind: aws\nregion: us-east-1\nendpoint: "+moto.URL+"\ncredentials: {secret: aws-moto}\n")
	s.ok("connection", "apply", "-f", conn)

	template := `AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Env: {Type: String}
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {QueueName: !Sub 'orders-${Env}'}
Outputs:
  QueueName: {Value: !GetAtt Queue.QueueName}
`
	s.applyYAML("stack", `name: stack
stages:
  - name: Make
    actions:
      - name: make
        provider: Commands
        commands:
          - |
            cat > template.yml <<'EOT'
`+indent(strings.TrimSuffix(template, "\n"), "            ")+`
            EOT
          - |
            echo '{"Env": "e2e"}' > params.json
        outputArtifacts: [{name: tpl, files: ["*"]}]
  - name: Deploy
    actions:
      - name: create
        provider: CloudFormation
        namespace: stack
        inputArtifacts: [tpl]
        outputArtifacts: [{name: outputs}]
        configuration:
          ActionMode: CREATE_UPDATE
          StackName: orders
          TemplatePath: tpl::template.yml
          ParameterOverrides: '{"Env": {"Fn::GetParam": ["tpl", "params.json", "Env"]}}'
          OutputFileName: outputs.json
          Connection: moto
      - name: replace
        provider: CloudFormation
        runOrder: 2
        inputArtifacts: [tpl]
        configuration:
          ActionMode: CHANGE_SET_REPLACE
          StackName: orders
          ChangeSetName: next
          TemplatePath: tpl::template.yml
          ParameterOverrides: '{"Env": "e2e-next"}'
          Connection: moto
      - name: execute
        provider: CloudFormation
        runOrder: 3
        configuration: {ActionMode: CHANGE_SET_EXECUTE, StackName: orders, ChangeSetName: next, Connection: moto}
  - name: Use
    actions:
      - name: use
        provider: Commands
        inputArtifacts: [outputs]
        commands:
          - 'echo "queue #{stack.QueueName}"'
          - cat outputs.json
`)
	id := s.start("stack")
	e := s.waitEnd("stack", id, "Succeeded")
	if a := e.action(t, "create"); a.Status != "Succeeded" {
		t.Fatalf("create: %+v", a)
	}
	log := s.ok("logs", "stack", id, "use")
	wantContains(t, "the later action's log", log, "queue orders-e2e", `"QueueName"`)
	if l := s.ok("logs", "stack", id, "execute"); !strings.Contains(l, "orders") {
		t.Errorf("execute's log names no stack:\n%s", l)
	}
}
