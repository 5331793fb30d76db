package stepfunctions

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/provider"
)

// TestAgainstMoto runs the provider against one moto server: it takes
// seconds to start. Each subtest makes state machines of its own names.
func TestAgainstMoto(t *testing.T) {
	moto := mototest.StartExecuting(t)
	ep := moto.URL
	// moto 5.2 fails the second StartExecution of a server in executing
	// mode (it deep-copies the backend with the first execution's lock in
	// it); a reset between subtests clears that.
	for _, tc := range []struct {
		name string
		test func(*testing.T, string)
	}{
		{"succeeds", testExecutionSucceeds},
		{"input from file", testExecutionInputFromFile},
		{"fails", testExecutionFails},
		{"cancel stops execution", testCancelStopsExecution},
	} {
		moto.Reset(t)
		t.Run(tc.name, func(t *testing.T) { tc.test(t, ep) })
	}
}

func conn(endpoint string) *awsconn.Conn {
	return awsconn.Static("moto", mototest.Region, endpoint, mototest.Key, mototest.Secret, "")
}

func stateMachine(t *testing.T, endpoint, name string, definition map[string]any) string {
	t.Helper()
	def, _ := json.Marshal(definition)
	out, err := Client(conn(endpoint)).CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
		Name:       aws.String(name),
		RoleArn:    aws.String("arn:aws:iam::123456789012:role/sfn"),
		Definition: aws.String(string(def)),
	})
	if err != nil {
		t.Fatalf("create state machine: %v", err)
	}
	return aws.ToString(out.StateMachineArn)
}

// logWriter is a job's log that tells when a line containing a word was
// written.
type logWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	word string
	seen chan struct{}
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.seen != nil && strings.Contains(w.buf.String(), w.word) {
		close(w.seen)
		w.seen = nil
	}
	return len(p), nil
}

func (w *logWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func newJob(t *testing.T, endpoint string, cfg map[string]string) (*provider.Job, *logWriter) {
	log := &logWriter{}
	return &provider.Job{
		ID:            "job-" + strings.ReplaceAll(t.Name(), "/", "-"),
		Action:        "Invoke",
		Configuration: cfg,
		WorkDir:       t.TempDir(),
		Log:           log,
		AWS: func(ctx context.Context, name string) (*awsconn.Conn, error) {
			if name != "moto" {
				return nil, errors.New("no connection " + name)
			}
			return conn(endpoint), nil
		},
	}, log
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
		t.Fatalf("artifact has no %s: %v", name, err)
	}
	defer f.Close()
	data, _ := io.ReadAll(f)
	return string(data)
}

func testExecutionSucceeds(t *testing.T, ep string) {
	arn := stateMachine(t, ep, "succeeds", map[string]any{
		"StartAt": "Greet",
		"States": map[string]any{
			"Greet": map[string]any{"Type": "Pass", "Parameters": map[string]any{"greeting.$": "$.who", "stage": "deploy"}, "End": true},
		},
	})
	job, log := newJob(t, ep, map[string]string{
		"Connection": "moto", "StateMachineArn": arn, "ExecutionNamePrefix": "release",
		"Input": `{"who": "world"}`,
	})
	job.Outputs = []provider.Output{{Name: "Result", Path: filepath.Join(t.TempDir(), "out.zip")}}
	res, err := Provider{PollInterval: 20 * time.Millisecond}.Run(context.Background(), job)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log)
	}
	if res.OutputVariables["StateMachineArn"] != arn {
		t.Errorf("StateMachineArn = %q, want %q", res.OutputVariables["StateMachineArn"], arn)
	}
	execArn := res.OutputVariables["ExecutionArn"]
	if !strings.Contains(execArn, ":execution:succeeds:release-job-") {
		t.Errorf("ExecutionArn = %q: not named prefix-jobid", execArn)
	}
	var out map[string]string
	if err := json.Unmarshal([]byte(readZip(t, job.Outputs[0].Path, OutputFile)), &out); err != nil {
		t.Fatal(err)
	}
	if out["greeting"] != "world" || out["stage"] != "deploy" {
		t.Errorf("output = %v, want the state machine's output", out)
	}
}

func testExecutionInputFromFile(t *testing.T, ep string) {
	arn := stateMachine(t, ep, "echo", map[string]any{
		"StartAt": "Echo", "States": map[string]any{"Echo": map[string]any{"Type": "Pass", "End": true}},
	})
	job, log := newJob(t, ep, map[string]string{
		"Connection": "moto", "StateMachineArn": arn, "InputType": "FilePath", "Input": "config/input.json",
	})
	job.Inputs = []string{"Source"}
	os.MkdirAll(filepath.Join(job.WorkDir, "config"), 0o755)
	os.WriteFile(filepath.Join(job.WorkDir, "config", "input.json"), []byte(`{"release": "v7"}`), 0o644)
	job.Outputs = []provider.Output{{Name: "Result", Path: filepath.Join(t.TempDir(), "out.zip")}}
	if _, err := (Provider{PollInterval: 20 * time.Millisecond}).Run(context.Background(), job); err != nil {
		t.Fatalf("run: %v\n%s", err, log)
	}
	if got := readZip(t, job.Outputs[0].Path, OutputFile); !strings.Contains(got, `"v7"`) {
		t.Errorf("output = %s, want the file's input passed through", got)
	}
}

func testExecutionFails(t *testing.T, ep string) {
	arn := stateMachine(t, ep, "fails", map[string]any{
		"StartAt": "Break", "States": map[string]any{"Break": map[string]any{"Type": "Fail", "Error": "MigrationFailed", "Cause": "table users is locked"}},
	})
	job, _ := newJob(t, ep, map[string]string{"Connection": "moto", "StateMachineArn": arn})
	_, err := Provider{PollInterval: 20 * time.Millisecond}.Run(context.Background(), job)
	if err == nil {
		t.Fatal("a failed execution succeeded")
	}
	for _, want := range []string{"failed", "MigrationFailed", "table users is locked"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// A stopped action stops the execution it started.
func testCancelStopsExecution(t *testing.T, ep string) {
	arn := stateMachine(t, ep, "waits", map[string]any{
		"StartAt": "Wait", "States": map[string]any{"Wait": map[string]any{"Type": "Wait", "Seconds": 3600, "End": true}},
	})
	job, log := newJob(t, ep, map[string]string{"Connection": "moto", "StateMachineArn": arn})
	log.word, log.seen = "started execution", make(chan struct{})
	seen := log.seen
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Provider{PollInterval: 20 * time.Millisecond}.Run(ctx, job)
		done <- err
	}()
	select {
	case <-seen:
	case err := <-done:
		t.Fatalf("run ended before the execution started: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("run = %v, want context.Canceled", err)
	}
	m := regexp.MustCompile(`started execution (\S+)`).FindStringSubmatch(log.String())
	// moto runs executions in a thread of its own, which may still be
	// writing the execution's state when the stop returns: look until it
	// settles (the deadline only catches a stop that never lands).
	var status types.ExecutionStatus
	for deadline := time.Now().Add(10 * time.Second); ; {
		d, err := Client(conn(ep)).DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(m[1])})
		if err != nil {
			t.Fatal(err)
		}
		status = d.Status
		if status == types.ExecutionStatusAborted || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status != types.ExecutionStatusAborted {
		t.Errorf("execution status = %s after the action was stopped, want ABORTED (the log: %s)", status, log.String())
	}
}

// Input the action cannot use is refused before anything starts: the
// connection is never asked for.
func TestBadInputRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  map[string]string
		file string // written at WorkDir/link as a symlink to it, when set
		want string
	}{
		{"literal not json", map[string]string{"Input": "{oops"}, "", "Input is not JSON"},
		{"unknown input type", map[string]string{"InputType": "Url"}, "", `InputType "Url"`},
		{"no input artifact", map[string]string{"InputType": "FilePath", "Input": "in.json"}, "", "needs an input artifact"},
		{"path out of artifact", map[string]string{"InputType": "FilePath", "Input": "../secret.json"}, "", "leads out of the input artifact"},
		{"symlink out of artifact", map[string]string{"InputType": "FilePath", "Input": "link"}, "/etc/passwd", "link"},
		{"missing file", map[string]string{"InputType": "FilePath", "Input": "nothere.json"}, "", "has no file nothere.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg["StateMachineArn"] = "arn:aws:states:us-east-1:123456789012:stateMachine:x"
			job, _ := newJob(t, "", tc.cfg)
			job.Inputs = []string{"Source"}
			if tc.name == "no input artifact" {
				job.Inputs = nil
			}
			if tc.file != "" {
				os.Symlink(tc.file, filepath.Join(job.WorkDir, "link"))
			}
			job.AWS = func(context.Context, string) (*awsconn.Conn, error) {
				t.Error("the connection was asked for")
				return nil, errors.New("no")
			}
			_, err := Provider{}.Run(context.Background(), job)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestExecutionName(t *testing.T) {
	valid := regexp.MustCompile(`^[0-9A-Za-z_-]{1,80}$`)
	for _, tc := range []struct{ prefix, id, want string }{
		{"", "0f3a", "0f3a"},
		{"deploy", "0f3a", "deploy-0f3a"},
		{"my prefix/x", "a:b", "my-prefix-x-a-b"},
	} {
		if got := ExecutionName(tc.prefix, tc.id); got != tc.want {
			t.Errorf("ExecutionName(%q, %q) = %q, want %q", tc.prefix, tc.id, got, tc.want)
		}
	}
	long := ExecutionName(strings.Repeat("p", 100), strings.Repeat("i", 70)+"END")
	if !valid.MatchString(long) || !strings.HasSuffix(long, "END") || !strings.HasPrefix(long, "p") {
		t.Errorf("long name %q: want ≤80 valid characters keeping the id's end", long)
	}
}
