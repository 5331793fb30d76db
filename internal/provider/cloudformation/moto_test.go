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
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

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

func startMoto(t testing.TB) *moto {
	return &moto{endpoint: mototest.Start(t).URL}
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
	mu      sync.Mutex
	b       strings.Builder
	changed chan struct{} // closed and replaced at every write
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	return l.b.Write(p)
}

// waitFor returns once the log holds s, or fails the test after a minute.
func (l *logBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		l.mu.Lock()
		if strings.Contains(l.b.String(), s) {
			l.mu.Unlock()
			return
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("the log never said %q:\n%s", s, l.String())
		}
	}
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
func (m *moto) job(t testing.TB, cfg map[string]string, order []string, in artifacts) (*provider.Job, *logBuffer) {
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

func param(t *testing.T, c *cloudformation.Client, stack, key string) string {
	t.Helper()
	st, err := describe(context.Background(), c, stack)
	if err != nil || st == nil {
		t.Fatalf("stack %s: %v", stack, err)
	}
	for _, p := range st.Parameters {
		if aws.ToString(p.ParameterKey) == key {
			return aws.ToString(p.ParameterValue)
		}
	}
	return ""
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

func TestChangeSets(t *testing.T) {
	m := startMoto(t)
	c := m.cfn(testRegion)
	in := artifacts{"src": {"t.json": queueTemplate}}
	replace := map[string]string{
		"ActionMode": ModeChangeSetReplace, "StackName": "cs", "ChangeSetName": "next",
		"TemplatePath": "src::t.json", "ParameterOverrides": `{"Env": "dev"}`,
	}
	execute := map[string]string{"ActionMode": ModeChangeSetExecute, "StackName": "cs", "ChangeSetName": "next", "OutputFileName": "out.json"}

	// A change set for a stack that does not exist yet makes it
	// REVIEW_IN_PROGRESS and creates nothing.
	job, log := m.job(t, replace, []string{"src"}, in)
	if _, err := run(t, fast, job); err != nil {
		t.Fatalf("replace: %v\n%s", err, log)
	}
	if got := stackStatus(t, c, "cs"); got != types.StackStatusReviewInProgress {
		t.Fatalf("after CHANGE_SET_REPLACE the stack is %s", got)
	}
	if !strings.Contains(log.String(), "creating change set next (CREATE)") {
		t.Errorf("log:\n%s", log)
	}
	job, log = m.job(t, execute, nil, nil)
	res, err := run(t, fast, job)
	if err != nil {
		t.Fatalf("execute: %v\n%s", err, log)
	}
	// moto gives a stack made through change sets no outputs (it builds
	// them before the change set's resources exist), so the parameters
	// show what was executed here; outputs are checked in
	// TestCreateUpdateDelete.
	if got := stackStatus(t, c, "cs"); got != types.StackStatusCreateComplete || param(t, c, "cs", "Env") != "dev" {
		t.Fatalf("after CHANGE_SET_EXECUTE the stack is %s, Env %q\n%s", got, param(t, c, "cs", "Env"), log)
	}
	var outputs map[string]string
	if err := json.Unmarshal([]byte(readZip(t, job.Outputs[0].Path, "out.json")), &outputs); err != nil || len(outputs) != len(res.OutputVariables) {
		t.Errorf("OutputFileName holds %v (%v), the variables are %v", outputs, err, res.OutputVariables)
	}

	// An update: replacing twice keeps one change set of the name, and
	// executing it updates the stack.
	replace["ParameterOverrides"] = `{"Env": "dev", "Size": "l"}`
	for i := range 2 {
		job, log = m.job(t, replace, []string{"src"}, in)
		if _, err := run(t, fast, job); err != nil {
			t.Fatalf("replace %d: %v\n%s", i, err, log)
		}
	}
	if !strings.Contains(log.String(), "deleted the previous change set next") || !strings.Contains(log.String(), "(UPDATE)") {
		t.Errorf("second replace's log:\n%s", log)
	}
	if got := stackStatus(t, c, "cs"); got != types.StackStatusCreateComplete {
		t.Errorf("CHANGE_SET_REPLACE changed the stack: %s", got)
	}
	job, log = m.job(t, execute, nil, nil)
	if res, err = run(t, fast, job); err != nil {
		t.Fatalf("execute update: %v\n%s", err, log)
	}
	if got := stackStatus(t, c, "cs"); got != types.StackStatusUpdateComplete || param(t, c, "cs", "Size") != "l" {
		t.Errorf("after the update the stack is %s, Size %q\n%s", got, param(t, c, "cs", "Size"), log)
	}

	// The same parameters again: moto refuses the change set ("No updates
	// are to be performed"), AWS makes a FAILED one saying there are no
	// changes; the action succeeds on both.
	job, log = m.job(t, replace, []string{"src"}, in)
	if _, err := run(t, fast, job); err != nil {
		t.Fatalf("empty replace: %v\n%s", err, log)
	}
	if !strings.Contains(log.String(), "no updates are to be performed") {
		t.Errorf("empty replace's log:\n%s", log)
	}
	// Without parameters moto does as AWS: a FAILED change set, which
	// CHANGE_SET_REPLACE and CHANGE_SET_EXECUTE both take as success.
	plain := map[string]string{"ActionMode": ModeChangeSetReplace, "StackName": "plain", "ChangeSetName": "c", "TemplatePath": "src::b.json"}
	plainIn := artifacts{"src": {"b.json": bucketTemplate}}
	plainExec := map[string]string{"ActionMode": ModeChangeSetExecute, "StackName": "plain", "ChangeSetName": "c"}
	for i, step := range []struct {
		cfg map[string]string
		log string
	}{{plain, "ready to execute"}, {plainExec, "executing change set c"}, {plain, "didn't contain changes"}, {plainExec, "changes nothing"}} {
		job, log = m.job(t, step.cfg, []string{"src"}, plainIn)
		if _, err := run(t, fast, job); err != nil {
			t.Fatalf("plain step %d: %v\n%s", i, err, log)
		}
		if !strings.Contains(log.String(), step.log) {
			t.Errorf("plain step %d's log lacks %q:\n%s", i, step.log, log)
		}
	}
	if got := stackStatus(t, c, "plain"); got != types.StackStatusCreateComplete {
		t.Errorf("plain stack is %s", got)
	}

	// Executing a change set that is not there fails and says which.
	execute["ChangeSetName"] = "other"
	job, log = m.job(t, execute, nil, nil)
	if _, err := run(t, fast, job); err == nil || !strings.Contains(err.Error(), "change set other of stack cs") {
		t.Errorf("executing a missing change set: %v\n%s", err, log)
	}
}

func TestReplaceOnFailure(t *testing.T) {
	m := startMoto(t)
	c := m.cfn(testRegion)
	in := artifacts{"src": {"t.json": queueTemplate}}
	// A stack left in REVIEW_IN_PROGRESS by a change set nobody executed
	// is one CloudFormation cannot update: REPLACE_ON_FAILURE deletes it
	// and creates it again.
	job, log := m.job(t, map[string]string{"ActionMode": ModeChangeSetReplace, "StackName": "r", "ChangeSetName": "cs",
		"TemplatePath": "src::t.json", "ParameterOverrides": `{"Env": "a"}`}, []string{"src"}, in)
	if _, err := run(t, fast, job); err != nil {
		t.Fatalf("replace: %v\n%s", err, log)
	}
	first, _ := describe(context.Background(), c, "r")
	// CREATE_UPDATE refuses such a stack, as CodePipeline does, and says
	// what would do.
	job, log = m.job(t, map[string]string{"ActionMode": ModeCreateUpdate, "StackName": "r", "TemplatePath": "src::t.json", "ParameterOverrides": `{"Env": "b"}`}, []string{"src"}, in)
	if _, err := run(t, fast, job); err == nil || !strings.Contains(err.Error(), "stack r is REVIEW_IN_PROGRESS, which CloudFormation cannot update: delete it, or use ActionMode REPLACE_ON_FAILURE") {
		t.Errorf("CREATE_UPDATE of a REVIEW_IN_PROGRESS stack: %v\n%s", err, log)
	}
	cfg := map[string]string{"ActionMode": ModeReplaceOnFailure, "StackName": "r", "TemplatePath": "src::t.json", "ParameterOverrides": `{"Env": "b"}`}
	job, log = m.job(t, cfg, []string{"src"}, in)
	res, err := run(t, fast, job)
	if err != nil {
		t.Fatalf("REPLACE_ON_FAILURE: %v\n%s", err, log)
	}
	second, _ := describe(context.Background(), c, "r")
	if second.StackStatus != types.StackStatusCreateComplete || aws.ToString(second.StackId) == aws.ToString(first.StackId) {
		t.Errorf("the stack was not re-created: %s %s (was %s)", second.StackStatus, aws.ToString(second.StackId), aws.ToString(first.StackId))
	}
	if !strings.Contains(log.String(), "is REVIEW_IN_PROGRESS: deleting it to create it again") || res.OutputVariables["QueueName"] != "q-b" {
		t.Errorf("outputs %v, log:\n%s", res.OutputVariables, log)
	}
	// A healthy stack is updated in place.
	cfg["ParameterOverrides"] = `{"Env": "b", "Size": "xs"}`
	job, log = m.job(t, cfg, []string{"src"}, in)
	if res, err = run(t, fast, job); err != nil {
		t.Fatalf("REPLACE_ON_FAILURE update: %v\n%s", err, log)
	}
	third, _ := describe(context.Background(), c, "r")
	if third.StackStatus != types.StackStatusUpdateComplete || aws.ToString(third.StackId) != aws.ToString(second.StackId) || res.OutputVariables["Size"] != "xs" {
		t.Errorf("a healthy stack was not updated in place: %s %v\n%s", third.StackStatus, res.OutputVariables, log)
	}
}

func TestParameterOverrideFunctions(t *testing.T) {
	m := startMoto(t)
	in := artifacts{
		"src":   {"t.json": queueTemplate},
		"build": {"params/env.json": `{"env": "stage", "size": {"n": 3}}`},
	}
	cfg := map[string]string{
		"ActionMode": ModeCreateUpdate, "StackName": "fn", "TemplatePath": "src::t.json",
		"ParameterOverrides": `{"Env": {"Fn::GetParam": ["build", "params/env.json", "env"]}, "Size": {"Fn::GetArtifactAtt": ["build", "ObjectKey"]}}`,
	}
	job, log := m.job(t, cfg, []string{"src", "build"}, in)
	res, err := run(t, fast, job)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if res.OutputVariables["QueueName"] != "q-stage" || res.OutputVariables["Size"] != "api/v1/jobs/job-1/inputs/build" {
		t.Errorf("outputs = %v", res.OutputVariables)
	}

	// Each function's answers, and what they refuse.
	for _, tc := range []struct{ in, want, err string }{
		{`{"P": {"Fn::GetParam": ["build", "params/env.json", "size"]}}`, `{"n":3}`, ""},
		{`{"P": {"Fn::GetArtifactAtt": ["build", "BucketName"]}}`, "sluice", ""},
		{`{"P": {"Fn::GetArtifactAtt": ["src", "URL"]}}`, "https://sluice.example:8443/api/v1/jobs/job-1/inputs/src", ""},
		{`{"P": {"Fn::GetArtifactAtt": ["nope", "URL"]}}`, "", `"nope" is not an input artifact of this action (it has src, build)`},
		{`{"P": {"Fn::GetArtifactAtt": ["src", "Arn"]}}`, "", `unknown attribute "Arn"`},
		{`{"P": {"Fn::GetParam": ["build", "params/env.json", "missing"]}}`, "", `has no key "missing"`},
		{`{"P": {"Fn::GetParam": ["build", "../../etc/passwd", "x"]}}`, "", `input artifact "build"`},
		{`{"P": {"Fn::GetParam": ["build", "/etc/passwd", "x"]}}`, "", `input artifact "build"`},
		{`{"P": {"Fn::Sub": ["x"]}}`, "", `unknown function "Fn::Sub"`},
		{`["P"]`, "", "must be a JSON object"},
	} {
		got, err := ParameterOverrides(job, tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got["P"] != tc.want {
			t.Errorf("%s = %q, %v; want %q", tc.in, got["P"], err, tc.want)
		}
	}
}

// TestArtifactFilesStayInside: a template path, parameter file or
// template configuration that leads out of its artifact (.., an absolute
// path, a symbolic link) is refused, so a pipeline author cannot send the
// worker's files to a cloud.
func TestArtifactFilesStayInside(t *testing.T) {
	m := &moto{endpoint: "http://127.0.0.1:1"}
	job, _ := m.job(t, map[string]string{}, []string{"src"}, artifacts{"src": {"ok.json": "{}"}})
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte(`{"k": "secret"}`), 0o600)
	if err := os.Symlink(secret, filepath.Join(job.WorkDir, "link.json")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"link.json", "../secret", secret} {
		if b, err := readArtifactFile(job, "src", p); err == nil {
			t.Errorf("%s was read: %q", p, b)
		}
	}
	if _, err := readArtifactFile(job, "src", "ok.json"); err != nil {
		t.Errorf("ok.json: %v", err)
	}
	// Nor does OutputFileName put a file outside the output artifact's
	// root for whoever unpacks it.
	for _, name := range []string{"../x.json", "/etc/x.json", "a/../../x.json"} {
		job.Configuration = map[string]string{"OutputFileName": name}
		if err := (&stackRun{job: job}).writeOutputs(map[string]string{"k": "v"}); err == nil {
			t.Errorf("OutputFileName %q was written", name)
		}
	}
	job.Configuration = map[string]string{"OutputFileName": "out/o.json"}
	if err := (&stackRun{job: job}).writeOutputs(map[string]string{"k": "v"}); err != nil || !strings.Contains(readZip(t, job.Outputs[0].Path, "out/o.json"), `"k": "v"`) {
		t.Errorf("out/o.json: %v", err)
	}
}

func TestFailingStack(t *testing.T) {
	m := startMoto(t)
	// moto refuses this resource in the CreateStack call itself, where AWS
	// would fail the resource and roll the stack back; the action fails
	// either way, naming the stack and CloudFormation's reason.
	bad := `{"Resources": {"Setting": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/x", "Type": "Bogus", "Value": "v"}}}}`
	job, log := m.job(t, map[string]string{"ActionMode": ModeCreateUpdate, "StackName": "bad", "TemplatePath": "src::t.json"},
		[]string{"src"}, artifacts{"src": {"t.json": bad}})
	_, err := run(t, fast, job)
	if err == nil || !strings.Contains(err.Error(), "create stack bad") || !strings.Contains(err.Error(), "'Bogus' at 'type'") {
		t.Errorf("error = %v\n%s", err, log)
	}
	// A template CloudFormation cannot read fails with its words.
	job, log = m.job(t, map[string]string{"ActionMode": ModeCreateUpdate, "StackName": "bad2", "TemplatePath": "src::t.json"},
		[]string{"src"}, artifacts{"src": {"t.json": `{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}, "Outputs": {"X": {"Value": {"Fn::GetAtt": ["Q", "Nope"]}}}}`}})
	if _, err := run(t, fast, job); err == nil || !strings.Contains(err.Error(), "does not support attribute type Nope in Fn::GetAtt") {
		t.Errorf("error = %v\n%s", err, log)
	}
	// A TemplatePath naming no file of the artifact.
	job, log = m.job(t, map[string]string{"ActionMode": ModeCreateUpdate, "StackName": "bad3", "TemplatePath": "src::missing.json"},
		[]string{"src"}, artifacts{"src": {"t.json": "{}"}})
	if _, err := run(t, fast, job); err == nil || !strings.Contains(err.Error(), `TemplatePath: input artifact "src" has no file "missing.json"`) {
		t.Errorf("error = %v\n%s", err, log)
	}
}

// TestFailureCause: on AWS a failed operation leaves resource events; the
// action's error names the resource that failed first, not the ones
// cancelled because of it. (moto records no resource events.)
func TestFailureCause(t *testing.T) {
	ev := func(id, typ string, status types.ResourceStatus, reason string) types.StackEvent {
		return types.StackEvent{LogicalResourceId: aws.String(id), ResourceType: aws.String(typ), ResourceStatus: status, ResourceStatusReason: aws.String(reason)}
	}
	events := []types.StackEvent{
		ev("app", "AWS::CloudFormation::Stack", types.ResourceStatusCreateInProgress, "User Initiated"),
		ev("Queue", "AWS::SQS::Queue", types.ResourceStatusCreateInProgress, ""),
		ev("Role", "AWS::IAM::Role", types.ResourceStatusCreateFailed, "Resource creation cancelled"),
		ev("Bucket", "AWS::S3::Bucket", types.ResourceStatusCreateFailed, "bucket-x already exists"),
		ev("app", "AWS::CloudFormation::Stack", types.ResourceStatusRollbackInProgress, "The following resource(s) failed to create: [Bucket, Role]."),
		ev("app", "AWS::CloudFormation::Stack", types.ResourceStatusRollbackComplete, ""),
	}
	if got, want := FailureCause(events), "resource Bucket (AWS::S3::Bucket) CREATE_FAILED: bucket-x already exists"; got != want {
		t.Errorf("FailureCause = %q, want %q", got, want)
	}
	if got := FailureCause(events[:3]); !strings.Contains(got, "Role") {
		t.Errorf("with only a cancelled resource: %q", got)
	}
	if got := FailureCause(events[:2]); got != "" {
		t.Errorf("without failures: %q", got)
	}
}

func TestLargeTemplate(t *testing.T) {
	m := startMoto(t)
	// Metadata pads the template past what CloudFormation takes in a request.
	large := `{"Metadata": {"Pad": "` + strings.Repeat("x", MaxTemplateBody) + `"},` + bucketTemplate[1:]
	cfg := map[string]string{"ActionMode": ModeCreateUpdate, "StackName": "big", "TemplatePath": "src::t.json"}

	// Without a bucket the action says what is missing.
	job, log := m.job(t, cfg, []string{"src"}, artifacts{"src": {"t.json": large}})
	if _, err := run(t, fast, job); err == nil || !strings.Contains(err.Error(), `aws connection "test" has no bucket`) {
		t.Fatalf("without a bucket: %v\n%s", err, log)
	}

	// moto reads a TemplateURL by path only when its host is "localhost";
	// other hosts it takes as virtual-hosted bucket names.
	m.endpoint = strings.Replace(m.endpoint, "127.0.0.1", "localhost", 1)
	m.bucket = "templates"
	conn := m.conn()
	s3c := s3.NewFromConfig(conn.Config, func(o *s3.Options) { o.BaseEndpoint = aws.String(m.endpoint); o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("templates"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(testRegion)}}); err != nil {
		t.Fatal(err)
	}
	job, log = m.job(t, cfg, []string{"src"}, artifacts{"src": {"t.json": large}})
	res, err := run(t, fast, job)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	key := "sluice/cloudformation/app/exec-1/Deploy.Stack.template"
	if !strings.Contains(log.String(), "uploaded to "+m.endpoint+"/templates/"+key) || res.OutputVariables["BucketName"] != "sluice-cfn-test-bucket" {
		t.Errorf("outputs %v, log:\n%s", res.OutputVariables, log)
	}
	obj, err := s3c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("templates"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(obj.Body)
	if string(b) != large {
		t.Errorf("the uploaded template is %d bytes, want %d", len(b), len(large))
	}

	// A stack set's large template goes the same way.
	job, log = m.job(t, map[string]string{"StackSetName": "bigset", "TemplatePath": "src::t.json", "DeploymentTargets": "123456789012", "Regions": "us-west-2"},
		[]string{"src"}, artifacts{"src": {"t.json": strings.Replace(large, "sluice-cfn-test-bucket", "sluice-cfn-set-bucket", 1)}})
	job.Outputs = nil
	if _, err := run(t, StackSetProvider{PollInterval: 20 * time.Millisecond}, job); err != nil {
		t.Fatalf("stack set: %v\n%s", err, log)
	}
	if !strings.Contains(log.String(), "uploaded to "+m.endpoint+"/templates/") || stackStatus(t, m.cfn("us-west-2"), "StackSet:bigset") != types.StackStatusCreateComplete {
		t.Errorf("stack set log:\n%s", log)
	}
}

func TestObjectURL(t *testing.T) {
	aws := awsconn.Static("prod", "eu-central-1", "", "k", "s", "")
	aws.Bucket = "b"
	if got := objectURL(aws, "a b/t.json"); got != "https://b.s3.eu-central-1.amazonaws.com/a%20b/t.json" {
		t.Errorf("AWS: %s", got)
	}
	minio := awsconn.Static("minio", "us-east-1", "http://127.0.0.1:9000/", "k", "s", "")
	minio.Bucket = "b"
	if got := objectURL(minio, "t.json"); got != "http://127.0.0.1:9000/b/t.json" {
		t.Errorf("path style: %s", got)
	}
	minio.S3PathStyle = false
	if got := objectURL(minio, "t.json"); got != "http://b.127.0.0.1:9000/t.json" {
		t.Errorf("virtual hosted: %s", got)
	}
}

func TestStackSetTwoRegions(t *testing.T) {
	m := startMoto(t)
	const account = "123456789012" // moto's account
	tmpl := `{"Parameters": {"Env": {"Type": "String"}},
  "Resources": {"Setting": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/shared/env", "Type": "String", "Value": {"Ref": "Env"}}}}}`
	in := artifacts{"src": {"set.json": tmpl, "targets.json": `["` + account + `"]`}}
	cfg := map[string]string{
		"StackSetName": "shared", "TemplatePath": "src::set.json",
		"Parameters":        "ParameterKey=Env,ParameterValue=one",
		"DeploymentTargets": account, "Regions": "eu-west-1, us-east-1",
		"FailureTolerancePercentage": "0", "MaxConcurrentPercentage": "100", "PermissionModel": "SELF_MANAGED",
	}
	sets := StackSetProvider{PollInterval: 20 * time.Millisecond}
	job, log := m.job(t, cfg, []string{"src"}, in)
	job.Outputs = nil
	if _, err := run(t, sets, job); err != nil {
		t.Fatalf("create: %v\n%s", err, log)
	}
	for _, region := range []string{"eu-west-1", "us-east-1"} {
		if !strings.Contains(log.String(), "instance "+account+" "+region+": CURRENT") {
			t.Errorf("the log lacks the instance in %s:\n%s", region, log)
		}
		// moto runs a self-managed instance as a stack named
		// StackSet:NAME in its region (AWS: StackSet-NAME-<uuid>).
		if got := stackStatus(t, m.cfn(region), "StackSet:shared"); got != types.StackStatusCreateComplete {
			t.Errorf("the instance's stack in %s is %q", region, got)
		}
	}
	if !strings.Contains(log.String(), "SUCCEEDED") {
		t.Errorf("the log does not follow the operation:\n%s", log)
	}

	// Updating: the stack set's template and parameters change, the
	// operation reaches both regions.
	cfg["Parameters"] = `[{"ParameterKey": "Env", "ParameterValue": "two"}]`
	cfg["DeploymentTargets"] = "src::targets.json"
	job, log = m.job(t, cfg, []string{"src"}, in)
	job.Outputs = nil
	if _, err := run(t, sets, job); err != nil {
		t.Fatalf("update: %v\n%s", err, log)
	}
	set, err := m.cfn(testRegion).DescribeStackSet(context.Background(), &cloudformation.DescribeStackSetInput{StackSetName: aws.String("shared")})
	if err != nil || len(set.StackSet.Parameters) != 1 || aws.ToString(set.StackSet.Parameters[0].ParameterValue) != "two" {
		t.Errorf("stack set after update: %+v, %v", set, err)
	}
	if !strings.Contains(log.String(), "updating stack set shared") {
		t.Errorf("update log:\n%s", log)
	}

	// CloudFormationStackInstances adds a region and overrides a parameter.
	inst := StackInstancesProvider{PollInterval: 20 * time.Millisecond}
	job, log = m.job(t, map[string]string{"StackSetName": "shared", "DeploymentTargets": account, "Regions": "us-east-1,ap-southeast-2",
		"ParameterOverrides": `[{"ParameterKey": "Env", "ParameterValue": "three"}]`}, []string{"src"}, in)
	job.Outputs = nil
	if _, err := run(t, inst, job); err != nil {
		t.Fatalf("instances: %v\n%s", err, log)
	}
	if got := stackStatus(t, m.cfn("ap-southeast-2"), "StackSet:shared"); got != types.StackStatusCreateComplete {
		t.Errorf("the new instance's stack is %q\n%s", got, log)
	}
	if !strings.Contains(log.String(), "instance "+account+" ap-southeast-2: CURRENT") {
		t.Errorf("instances log:\n%s", log)
	}

	// Bad values fail before any call.
	for _, bad := range []map[string]string{
		{"StackSetName": "shared", "DeploymentTargets": account, "Regions": "us-east-1", "MaxConcurrentPercentage": "150"},
		{"StackSetName": "shared", "DeploymentTargets": "", "Regions": "us-east-1"},
		{"StackSetName": "shared", "DeploymentTargets": account + ",ou-abcd-12345678", "Regions": "us-east-1"},
	} {
		job, log = m.job(t, bad, nil, nil)
		if _, err := run(t, inst, job); err == nil {
			t.Errorf("%v was accepted\n%s", bad, log)
		}
	}
}

// TestWaitsForAnotherOperation: a stack in the middle of an operation this
// action did not start is waited for, not failed; a stop meanwhile leaves it
// alone and says so. moto leaves a stack whose CreateStack it refused in
// CREATE_IN_PROGRESS for good, which stands in here for AWS's long-running
// operations of another pipeline or person.
func TestWaitsForAnotherOperation(t *testing.T) {
	m := startMoto(t)
	c := m.cfn(testRegion)
	bad := `{"Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/x", "Type": "Bogus", "Value": "v"}}}}`
	if _, err := c.CreateStack(context.Background(), &cloudformation.CreateStackInput{StackName: aws.String("busy"), TemplateBody: aws.String(bad)}); err == nil {
		t.Fatal("moto took the template it refuses")
	}
	if got := stackStatus(t, c, "busy"); got != types.StackStatusCreateInProgress {
		t.Skipf("this moto leaves the stack %s, not CREATE_IN_PROGRESS", got)
	}

	// Stopped while waiting: the action ends, the stack is untouched.
	job, log := m.job(t, map[string]string{"ActionMode": ModeCreateUpdate, "StackName": "busy", "TemplatePath": "src::t.json"},
		[]string{"src"}, artifacts{"src": {"t.json": bucketTemplate}})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := fast.Run(ctx, job); done <- err }()
	log.waitFor(t, "is CREATE_IN_PROGRESS from an operation this action did not start; waiting for it to end")
	stop()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "stopped while stack") {
		t.Errorf("stopped: %v\n%s", err, log)
	}
	if !strings.Contains(log.String(), "which CloudFormation cannot cancel") {
		t.Errorf("log:\n%s", log)
	}

	// The other operation ends (here: someone deletes the stack); the
	// action goes on and creates it.
	job, log = m.job(t, map[string]string{"ActionMode": ModeCreateUpdate, "StackName": "busy", "TemplatePath": "src::t.json"},
		[]string{"src"}, artifacts{"src": {"t.json": bucketTemplate}})
	go func() { _, err := run(t, fast, job); done <- err }()
	log.waitFor(t, "waiting for it to end")
	if _, err := c.DeleteStack(context.Background(), &cloudformation.DeleteStackInput{StackName: aws.String("busy")}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("after the wait: %v\n%s", err, log)
	}
	if got := stackStatus(t, c, "busy"); got != types.StackStatusCreateComplete || !strings.Contains(log.String(), "stack busy is gone") {
		t.Errorf("the stack is %s\n%s", got, log)
	}
}
