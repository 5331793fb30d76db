package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/provider/s3deploy"
)

// A CodeDeploy action naming an aws connection, run by the server's worker:
// the connection is granted to the job (its configuration names it), the
// input artifact lands in the connection's bucket (moto's S3), and the
// deployment is created and followed in CodeDeploy, here a minimal fake on
// 127.0.0.1 that succeeds at the second look (moto's CodeDeploy never runs
// a deployment; internal/provider/codedeploy/aws_test.go has the recorded
// answers, failures and stops).
func TestCodeDeployThroughConnection(t *testing.T) {
	t.Parallel()
	moto := mototest.Start(t)
	ctx := context.Background()
	if _, err := s3deploy.Client(moto.Conn("test")).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("revisions")}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var sent map[string]any
	looks := 0
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		switch r.Header.Get("X-Amz-Target") {
		case "CodeDeploy_20141006.CreateDeployment":
			json.NewDecoder(r.Body).Decode(&sent)
			w.Write([]byte(`{"deploymentId":"d-E2E000001"}`))
		case "CodeDeploy_20141006.GetDeployment":
			looks++
			status := "InProgress"
			if looks > 1 {
				status = "Succeeded"
			}
			w.Write([]byte(`{"deploymentInfo":{"deploymentId":"d-E2E000001","applicationName":"shop","deploymentGroupName":"prod","status":"` + status + `","createTime":1409764576.589,"deploymentOverview":{"Succeeded":1}}}`))
		default:
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	defer fake.Close()

	s := startServer(t)
	if r := runCLIStdin(t, cliEnv(s.url, s.token), `{"accessKeyId":"AKIAE2ECODEDEPLOY","secretAccessKey":"e2e-codedeploy-secret"}`, "secret", "put", "aws-moto"); r.code != 0 {
		t.Fatalf("secret put: %s", r)
	}
	s.ok("connection", "apply", "-f", s.writeScratch("prod.yml",
		"name: prod\nkind: aws\nregion: us-east-1\nendpoint: "+moto.URL+"\nendpoints: {codedeploy: "+fake.URL+"}\nbucket: revisions\ncredentials: {secret: aws-moto}\n"))
	s.apply(s.writeScratch("ship.yml", `name: ship
stages:
  - name: Build
    actions:
      - name: Package
        provider: Commands
        commands: ["printf 'version: 0.0\nos: linux\n' > appspec.yml"]
        outputArtifacts:
          - name: app
            files: ["**/*"]
  - name: Deploy
    actions:
      - name: Shop
        provider: CodeDeploy
        namespace: deploy
        configuration: {ApplicationName: shop, DeploymentGroupName: prod, Connection: prod}
        inputArtifacts: [app]
`))
	id := s.start("ship")
	e := s.waitEnd("ship", id, "Succeeded")
	a := e.action(t, "Shop")
	link := "https://us-east-1.console.aws.amazon.com/codesuite/codedeploy/deployments/d-E2E000001?region=us-east-1"
	if !strings.Contains(a.Summary, link) || a.OutputVariables["DeploymentId"] != "d-E2E000001" {
		t.Errorf("Shop: %+v", a)
	}
	key := "sluice/ship/" + id + "/Shop/1/revision.zip"
	rev, _ := sent["revision"].(map[string]any)
	loc, _ := rev["s3Location"].(map[string]any)
	if sent["applicationName"] != "shop" || sent["deploymentGroupName"] != "prod" || loc["bucket"] != "revisions" || loc["key"] != key || loc["bundleType"] != "zip" {
		t.Errorf("CreateDeployment got %v", sent)
	}
	if _, err := s3deploy.Client(moto.Conn("test")).HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("revisions"), Key: aws.String(key)}); err != nil {
		t.Errorf("the revision is not in the bucket: %v", err)
	}
	wantContains(t, "Shop's log", s.ok("logs", "ship", id, "Shop"), "deployment d-E2E000001 to shop/prod", "InProgress: pending 0")
}
