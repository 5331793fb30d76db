package cloudformation

import (
	"archive/zip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/provider"
)

const testRegion = "eu-west-1"

// moto is one moto server shared by a test's subtests.
type moto struct {
	endpoint string
	bucket   string
}

func startMoto(t *testing.T) *moto {
	return &moto{endpoint: mototest.Start(t)}
}

func (m *moto) conn() *awsconn.Conn {
	c := awsconn.Static("test", testRegion, m.endpoint, "test", "test", "")
	c.Bucket = m.bucket
	return c
}

func (m *moto) cfn(region string) *cloudformation.Client {
	c := m.conn()
	c.Config.Region = region
	return cloudformation.NewFromConfig(c.Config, func(o *cloudformation.Options) { o.BaseEndpoint = aws.String(m.endpoint) })
}

// logBuffer is a job's log, safe to read while the provider writes.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// artifacts are input artifacts by name, each files by path.
type artifacts map[string]map[string]string

// job returns a job of the CloudFormation action with cfg and inputs (the
// first named in order is the primary one) and an output artifact.
func (m *moto) job(t *testing.T, cfg map[string]string, order []string, in artifacts) (*provider.Job, *logBuffer) {
	t.Helper()
	job := &provider.Job{
		ID: "job-1", Pipeline: "app", ExecutionID: "exec-1", Stage: "Deploy", Action: "Stack",
		Configuration: cfg, InputDirs: map[string]string{}, Inputs: order,
		WorkDir: t.TempDir(), ScratchDir: t.TempDir(), ServerURL: "https://sluice.example:8443/",
		AWS: func(ctx context.Context, name string) (*awsconn.Conn, error) { return m.conn(), nil },
	}
	for i, name := range order {
		dir := job.WorkDir
		if i > 0 {
			dir = t.TempDir()
			job.InputDirs[name] = dir
		}
		for p, content := range in[name] {
			full := filepath.Join(dir, p)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	job.Outputs = []provider.Output{{Name: "out", Path: filepath.Join(t.TempDir(), "out.zip")}}
	log := &logBuffer{}
	job.Log = log
	return job, log
}

func run(t *testing.T, p provider.Provider, job *provider.Job) (provider.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return p.Run(ctx, job)
}

var fast = Provider{PollInterval: 20 * time.Millisecond}

// queueTemplate makes an SQS queue and an SSM parameter whose value is the
// Env parameter, and outputs both.
const queueTemplate = `{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Parameters": {"Env": {"Type": "String"}, "Size": {"Type": "String", "Default": "s"}},
  "Resources": {
    "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "q-${Env}"}}},
    "Setting": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": {"Fn::Sub": "/app/${Env}"}, "Type": "String", "Value": {"Fn::Sub": "${Env}-${Size}"}}}
  },
  "Outputs": {
    "QueueName": {"Value": {"Fn::GetAtt": ["Queue", "QueueName"]}},
    "Setting": {"Value": {"Ref": "Setting"}},
    "Size": {"Value": {"Ref": "Size"}}
  }
}`

const bucketTemplate = `{
  "Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "sluice-cfn-test-bucket"}}},
  "Outputs": {"BucketName": {"Value": {"Ref": "Bucket"}}}
}`

func stackStatus(t *testing.T, c *cloudformation.Client, name string) types.StackStatus {
	t.Helper()
	st, err := describe(context.Background(), c, name)
	if err != nil {
		t.Fatal(err)
	}
	if st == nil {
		return ""
	}
	return st.StackStatus
}

func readZip(t *testing.T, path, name string) string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	f, err := zr.Open(name)
	if err != nil {
		t.Fatalf("%s in %s: %v", name, path, err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return string(b)
}

func TestCreateUpdateDelete(t *testing.T) {
	m := startMoto(t)
	c := m.cfn(testRegion)
	in := artifacts{"src": {"stack/template.json": queueTemplate, "config.json": `{"Parameters": {"Env": "prod", "Size": "m"}, "Tags": {"team": "infra"}}`}}
	cfg := map[string]string{
		"ActionMode": ModeCreateUpdate, "StackName": "app", "TemplatePath": "src::stack/template.json",
		"TemplateConfiguration": "src::config.json", "OutputFileName": "outputs.json",
	}
	job, log := m.job(t, cfg, []string{"src"}, in)
	res, err := run(t, fast, job)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, log)
	}
	if got := stackStatus(t, c, "app"); got != types.StackStatusCreateComplete {
		t.Errorf("stack status = %s", got)
	}
	want := map[string]string{"QueueName": "q-prod", "Setting": "/app/prod", "Size": "m"}
	for k, v := range want {
		if res.OutputVariables[k] != v {
			t.Errorf("output variable %s = %q, want %q (all: %v)", k, res.OutputVariables[k], v, res.OutputVariables)
		}
	}
	var file map[string]string
	if err := json.Unmarshal([]byte(readZip(t, job.Outputs[0].Path, "outputs.json")), &file); err != nil || file["QueueName"] != "q-prod" {
		t.Errorf("outputs.json = %v, %v", file, err)
	}
	// moto records only the stack's own events, not its resources' (AWS
	// records both; both go to the log the same way).
	if !strings.Contains(log.String(), "app AWS::CloudFormation::Stack CREATE_COMPLETE") {
		t.Errorf("the log does not show the stack's events:\n%s", log)
	}
	st, _ := describe(context.Background(), c, "app")
	if len(st.Tags) != 1 || aws.ToString(st.Tags[0].Key) != "team" {
		t.Errorf("tags = %+v", st.Tags)
	}

	// The same again changes nothing: success.
	job, log = m.job(t, cfg, []string{"src"}, in)
	if res, err = run(t, fast, job); err != nil {
		t.Fatalf("no-op update: %v\n%s", err, log)
	}
	if !strings.Contains(log.String(), "no updates are to be performed") || res.OutputVariables["QueueName"] != "q-prod" {
		t.Errorf("no-op update: %+v\n%s", res, log)
	}

	// ParameterOverrides win over the template configuration.
	cfg["ParameterOverrides"] = `{"Size": "xl"}`
	job, log = m.job(t, cfg, []string{"src"}, in)
	if res, err = run(t, fast, job); err != nil {
		t.Fatalf("update: %v\n%s", err, log)
	}
	if res.OutputVariables["Size"] != "xl" || stackStatus(t, c, "app") != types.StackStatusUpdateComplete {
		t.Errorf("update: %+v, status %s\n%s", res.OutputVariables, stackStatus(t, c, "app"), log)
	}

	// DELETE_ONLY deletes it, then succeeds on the stack that is no more.
	del := map[string]string{"ActionMode": ModeDeleteOnly, "StackName": "app"}
	for i := range 2 {
		job, log = m.job(t, del, nil, nil)
		job.Outputs = nil
		if _, err := run(t, fast, job); err != nil {
			t.Fatalf("delete %d: %v\n%s", i, err, log)
		}
		if got := stackStatus(t, c, "app"); got != "" {
			t.Errorf("after delete %d the stack is %s", i, got)
		}
	}
	if !strings.Contains(log.String(), "does not exist: nothing to delete") {
		t.Errorf("second delete's log:\n%s", log)
	}
}
