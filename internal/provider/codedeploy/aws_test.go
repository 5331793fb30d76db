package codedeploy

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cd "github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/provider/s3deploy"
)

// awsJob is a CodeDeploy job naming connection "prod", with a revision of
// two files in its work directory.
func awsJob(t *testing.T, conn *awsconn.Conn, group string, log io.Writer) *provider.Job {
	t.Helper()
	work := t.TempDir()
	os.WriteFile(filepath.Join(work, "appspec.yml"), []byte("version: 0.0\nos: linux\n"), 0o644)
	os.MkdirAll(filepath.Join(work, "www"), 0o755)
	os.WriteFile(filepath.Join(work, "www", "index.html"), []byte("shop v7\n"), 0o644)
	return &provider.Job{
		Pipeline: "shop", ExecutionID: "e-1", Action: "Deploy", Attempt: 1, Provider: "CodeDeploy",
		Configuration: map[string]string{"ApplicationName": "shop", "DeploymentGroupName": group, "Connection": "prod"},
		WorkDir:       work, ScratchDir: t.TempDir(), Log: log,
		AWS: func(_ context.Context, name string) (*awsconn.Conn, error) {
			if name != "prod" {
				t.Errorf("connection %q asked for, want prod", name)
			}
			return conn, nil
		},
	}
}

// zipNames lists a zip's entries.
func zipNames(t *testing.T, b []byte) []string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	return names
}

// Against moto: the revision is uploaded to the connection's bucket and
// CreateDeployment names it as an S3 zip revision of the application and
// group. moto's CodeDeploy keeps a deployment at Created for ever (it runs
// nothing), and answers GetDeployment with ISO-8601 strings where AWS's
// JSON protocol has epoch numbers, so the following is tested against the
// recorded answers below.
func TestAWSCreateDeploymentMoto(t *testing.T) {
	moto := mototest.Start(t)
	ctx := context.Background()
	conn := moto.Conn("prod")
	conn.Bucket = "revisions"
	if _, err := s3deploy.Client(conn).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("revisions")}); err != nil {
		t.Fatal(err)
	}
	client := Client(conn)
	if _, err := client.CreateApplication(ctx, &cd.CreateApplicationInput{ApplicationName: aws.String("shop"), ComputePlatform: cdtypes.ComputePlatformServer}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateDeploymentGroup(ctx, &cd.CreateDeploymentGroupInput{
		ApplicationName: aws.String("shop"), DeploymentGroupName: aws.String("prod"),
		ServiceRoleArn: aws.String("arn:aws:iam::123456789012:role/CodeDeploy"),
	}); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	job := awsJob(t, conn, "prod", &log)
	runCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	res, err := Provider{Poll: 50 * time.Millisecond}.Run(runCtx, job)
	// moto's GetDeployment does not decode (see above): the action fails
	// following, having created the deployment.
	if err == nil || !strings.Contains(err.Error(), "follow deployment") {
		t.Fatalf("Run against moto: %v %+v\n%s", err, res, log.String())
	}
	t.Logf("following in moto: %v", err)
	id := res.OutputVariables["DeploymentId"]
	list, err := client.ListDeployments(ctx, &cd.ListDeploymentsInput{ApplicationName: aws.String("shop"), DeploymentGroupName: aws.String("prod")})
	if err != nil || len(list.Deployments) != 1 || list.Deployments[0] != id {
		t.Fatalf("moto's deployments: %v %v, want [%s]", list, err, id)
	}
	if !strings.Contains(res.OutputVariables["DeploymentUrl"], "/codedeploy/deployments/"+id+"?region=us-east-1") {
		t.Errorf("DeploymentUrl: %q", res.OutputVariables["DeploymentUrl"])
	}
	obj, err := s3deploy.Client(conn).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("revisions"), Key: aws.String("sluice/shop/e-1/Deploy/1/revision.zip")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(obj.Body)
	if names := strings.Join(zipNames(t, b), " "); !strings.Contains(names, "appspec.yml") || !strings.Contains(names, "www/index.html") {
		t.Errorf("revision in S3 holds %s", names)
	}
	wantLog := "revision s3://revisions/sluice/shop/e-1/Deploy/1/revision.zip"
	if !strings.Contains(log.String(), wantLog) || !strings.Contains(log.String(), "deployment "+id+" to shop/prod") {
		t.Errorf("log lacks %q:\n%s", wantLog, log.String())
	}
}

// fakeCodeDeploy answers CodeDeploy's JSON 1.1 CreateDeployment and
// GetDeployment on 127.0.0.1 with payloads shaped as the aws CLI's recorded
// example (aws-cli awscli/examples/deploy/get-deployment.rst) and the API
// reference's response syntax (API_GetDeployment): Created, then
// InProgress, then the end the deployment group's name asks for.
type fakeCodeDeploy struct {
	mu      sync.Mutex
	created []map[string]any
	polls   map[string]int
}

func (f *fakeCodeDeploy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in map[string]any
	json.NewDecoder(r.Body).Decode(&in)
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch r.Header.Get("X-Amz-Target") {
	case "CodeDeploy_20141006.CreateDeployment":
		f.created = append(f.created, in)
		id := "d-A1B2C3" + string(rune('0'+len(f.created)))
		f.polls[id] = 0
		in["id"] = id
		json.NewEncoder(w).Encode(map[string]string{"deploymentId": id})
	case "CodeDeploy_20141006.GetDeployment":
		id, _ := in["deploymentId"].(string)
		var group string
		for _, c := range f.created {
			if c["id"] == id {
				group, _ = c["deploymentGroupName"].(string)
			}
		}
		f.polls[id]++
		info := map[string]any{
			"applicationName": "shop", "deploymentGroupName": group, "deploymentId": id,
			"deploymentConfigName": "CodeDeployDefault.OneAtATime", "creator": "user",
			"createTime": 1409764576.589, "status": "Created",
			"deploymentOverview": map[string]int{"Pending": 2, "InProgress": 0, "Succeeded": 0, "Failed": 0, "Skipped": 0},
		}
		switch n := f.polls[id]; {
		case n == 2:
			info["status"] = "InProgress"
			info["deploymentOverview"] = map[string]int{"Pending": 1, "InProgress": 1}
		case n >= 3:
			switch group {
			case "ok":
				info["status"] = "Succeeded"
				info["completeTime"] = 1409764596.101
				info["deploymentOverview"] = map[string]int{"Succeeded": 2}
			case "bad":
				info["status"] = "Failed"
				info["errorInformation"] = map[string]string{"code": "HEALTH_CONSTRAINTS", "message": "The overall deployment failed because too many individual instances failed deployment"}
				info["rollbackInfo"] = map[string]string{"rollbackDeploymentId": "d-ROLLBACK1"}
				info["deploymentOverview"] = map[string]int{"Succeeded": 1, "Failed": 1}
			case "stop":
				info["status"] = "Stopped"
				info["errorInformation"] = map[string]string{"code": "ALARM_ACTIVE", "message": "One or more alarms have been activated"}
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"deploymentInfo": info})
	default:
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": "InvalidOperationException", "message": "not recorded: " + r.Header.Get("X-Amz-Target")})
	}
}

// The action follows a real CodeDeploy deployment to its end: success with
// the id and the console link in its summary and output variables; a
// failure or a stop failing the action with CodeDeploy's error and the
// rollback's id. The revision goes to S3 (moto); CodeDeploy is the fake.
func TestAWSFollowDeployment(t *testing.T) {
	moto := mototest.Start(t)
	ctx := context.Background()
	fake := &fakeCodeDeploy{polls: map[string]int{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	conn := moto.Conn("prod")
	conn.Bucket = "revisions"
	conn.Endpoints = map[string]string{"codedeploy": srv.URL}
	if _, err := s3deploy.Client(conn).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("revisions")}); err != nil {
		t.Fatal(err)
	}
	p := Provider{Poll: time.Millisecond}
	for _, c := range []struct{ group, wantErr string }{
		{"ok", ""},
		{"bad", "Failed: HEALTH_CONSTRAINTS The overall deployment failed because too many individual instances failed deployment; rolled back by d-ROLLBACK1"},
		{"stop", "Stopped: ALARM_ACTIVE One or more alarms have been activated"},
	} {
		var log bytes.Buffer
		res, err := p.Run(ctx, awsJob(t, conn, c.group, &log))
		id := res.OutputVariables["DeploymentId"]
		link := ConsoleURL("us-east-1", id)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v\n%s", c.group, err, log.String())
		case c.wantErr == "" && (!strings.Contains(res.Summary, "Succeeded") || !strings.Contains(res.Summary, link)):
			t.Errorf("%s: summary %q, want Succeeded and %s", c.group, res.Summary, link)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), link)):
			t.Errorf("%s: error %v, want %q and the link", c.group, err, c.wantErr)
		}
		if !strings.Contains(log.String(), "InProgress: pending 1, in progress 1") {
			t.Errorf("%s: the log does not follow the deployment:\n%s", c.group, log.String())
		}
		if res.OutputVariables["DeploymentUrl"] != link {
			t.Errorf("%s: DeploymentUrl %q", c.group, res.OutputVariables["DeploymentUrl"])
		}
	}
	// What CreateDeployment was sent: an S3 zip revision in the connection's bucket.
	rev, _ := fake.created[0]["revision"].(map[string]any)
	loc, _ := rev["s3Location"].(map[string]any)
	if rev["revisionType"] != "S3" || loc["bucket"] != "revisions" || loc["key"] != "sluice/shop/e-1/Deploy/1/revision.zip" || loc["bundleType"] != "zip" || loc["eTag"] == nil {
		t.Errorf("CreateDeployment's revision: %v", rev)
	}
}

// A connection without a bucket is refused before anything is deployed.
func TestAWSNeedsBucket(t *testing.T) {
	conn := awsconn.Static("prod", "us-east-1", "http://127.0.0.1:1", "k", "s", "")
	_, err := Provider{}.Run(context.Background(), awsJob(t, conn, "ok", io.Discard))
	if err == nil || !strings.Contains(err.Error(), "connection prod names no bucket") {
		t.Fatalf("err = %v", err)
	}
}
