// Package stepfunctions is the StepFunctions invoke provider: it starts an
// execution of an AWS Step Functions state machine through the AWS SDK, waits
// for it to end and hands on its output, as CodePipeline's Step Functions
// invoke action does.
package stepfunctions

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/provider"
)

// Configuration keys and values, as CodePipeline names them.
const (
	ConfigStateMachineArn     = "StateMachineArn"
	ConfigExecutionNamePrefix = "ExecutionNamePrefix"
	ConfigInputType           = "InputType"
	ConfigInput               = "Input"
	ConfigConnection          = "Connection"

	InputLiteral  = "Literal"
	InputFilePath = "FilePath"
)

// OutputFile is the file of the output artifact that holds the execution's
// output (JSON), when the action declares an output artifact.
const OutputFile = "output.json"

// maxInput is Step Functions' bound on an execution's input (256 KiB).
const maxInput = 256 * 1024

// maxName is Step Functions' bound on an execution's name.
const maxName = 80

// DefaultPollInterval is how often the execution's state is read.
const DefaultPollInterval = 5 * time.Second

// Provider is the StepFunctions provider.
type Provider struct {
	// PollInterval is how often DescribeExecution is called; 0 means
	// DefaultPollInterval. Tests shorten it.
	PollInterval time.Duration
}

// Run implements provider.Provider.
func (p Provider) Run(ctx context.Context, job *provider.Job) (provider.Result, error) {
	cfg := job.Configuration
	arn := cfg[ConfigStateMachineArn]
	if arn == "" {
		return provider.Result{}, errors.New("StateMachineArn is required")
	}
	input, err := executionInput(job)
	if err != nil {
		return provider.Result{}, err
	}
	if job.AWS == nil {
		return provider.Result{}, errors.New("this worker has no aws connections")
	}
	conn, err := job.AWS(ctx, cfg[ConfigConnection])
	if err != nil {
		return provider.Result{}, fmt.Errorf("aws connection: %w", err)
	}
	client := Client(conn)

	sm, err := client.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if err != nil {
		return provider.Result{}, fmt.Errorf("state machine %s: %w", arn, err)
	}
	name := ExecutionName(cfg[ConfigExecutionNamePrefix], job.ID)
	start, err := client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(arn),
		Name:            aws.String(name),
		Input:           aws.String(input),
	})
	if err != nil {
		return provider.Result{}, fmt.Errorf("start execution of %s: %w", arn, err)
	}
	execArn := aws.ToString(start.ExecutionArn)
	fmt.Fprintf(job.Log, "started execution %s of %s\n", execArn, arn)
	vars := map[string]string{"StateMachineArn": arn, "ExecutionArn": execArn}

	// An express state machine's executions cannot be described: like
	// CodePipeline, the action ends when the execution has started.
	if sm.Type == types.StateMachineTypeExpress {
		if len(job.Outputs) > 0 {
			return provider.Result{}, errors.New("an express state machine's output cannot be read: declare no output artifact")
		}
		// CodePipeline gives ExecutionArn for standard state machines only.
		return provider.Result{Summary: "started express execution " + name, OutputVariables: map[string]string{"StateMachineArn": arn}}, nil
	}

	d, err := p.wait(ctx, client, execArn, job)
	if err != nil {
		return provider.Result{}, err
	}
	switch d.Status {
	case types.ExecutionStatusSucceeded:
	default:
		msg := fmt.Sprintf("execution %s %s", name, strings.ToLower(strings.ReplaceAll(string(d.Status), "_", " ")))
		if e := aws.ToString(d.Error); e != "" {
			msg += ": " + e
		}
		if c := aws.ToString(d.Cause); c != "" {
			msg += ": " + c
		}
		return provider.Result{}, errors.New(msg)
	}
	output := aws.ToString(d.Output)
	fmt.Fprintf(job.Log, "execution %s succeeded\n", execArn)
	for _, o := range job.Outputs {
		if err := writeOutput(o.Path, output); err != nil {
			return provider.Result{}, fmt.Errorf("write artifact %s: %w", o.Name, err)
		}
	}
	return provider.Result{Summary: "execution " + name + " succeeded", OutputVariables: vars}, nil
}

// wait polls the execution until it ends. When ctx ends first, the execution
// is stopped, so that a stopped or timed-out action leaves nothing running.
func (p Provider) wait(ctx context.Context, client *sfn.Client, execArn string, job *provider.Job) (*sfn.DescribeExecutionOutput, error) {
	interval := p.PollInterval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_, err := client.StopExecution(stopCtx, &sfn.StopExecutionInput{
				ExecutionArn: aws.String(execArn),
				Error:        aws.String("sluice.ActionStopped"),
				Cause:        aws.String("the pipeline action that started the execution was stopped"),
			})
			if err != nil {
				fmt.Fprintf(job.Log, "stopping execution %s: %v\n", execArn, err)
			} else {
				fmt.Fprintf(job.Log, "stopped execution %s\n", execArn)
			}
			return nil, ctx.Err()
		case <-t.C:
		}
		d, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(execArn)})
		if err != nil {
			if ctx.Err() != nil {
				continue // to the stop above: the timer is spent
			}
			return nil, fmt.Errorf("describe execution %s: %w", execArn, err)
		}
		if d.Status != types.ExecutionStatusRunning && d.Status != types.ExecutionStatusPendingRedrive {
			return d, nil
		}
		t.Reset(interval)
	}
}

// Client builds a Step Functions client for the connection.
func Client(conn *awsconn.Conn) *sfn.Client {
	return sfn.NewFromConfig(conn.Config, func(o *sfn.Options) {
		if e := conn.EndpointFor("sfn"); e != "" {
			o.BaseEndpoint = aws.String(e)
		}
	})
}

// executionInput is the JSON the execution starts with: the Input value
// itself (Literal, the default) or the file it names in the input artifact
// (FilePath). Step Functions refuses input that is not JSON; saying so here
// names the configuration at fault.
func executionInput(job *provider.Job) (string, error) {
	cfg := job.Configuration
	in := cfg[ConfigInput]
	switch t := cfg[ConfigInputType]; t {
	case "", InputLiteral:
		if strings.TrimSpace(in) == "" {
			in = "{}"
		}
		if len(in) > maxInput {
			return "", fmt.Errorf("Input is over %d bytes", maxInput)
		}
		if !json.Valid([]byte(in)) {
			return "", errors.New("Input is not JSON (with InputType Literal the Input value is the execution's input)")
		}
		return in, nil
	case InputFilePath:
		if len(job.Inputs) == 0 {
			return "", errors.New("InputType FilePath needs an input artifact holding the file Input names")
		}
		data, err := job.ReadInputFile(in, maxInput)
		if err != nil {
			return "", fmt.Errorf("Input: %w", err)
		}
		if !json.Valid(data) {
			return "", fmt.Errorf("Input: %s in the input artifact is not JSON", in)
		}
		return string(data), nil
	default:
		return "", fmt.Errorf("InputType %q is not Literal or FilePath", t)
	}
}

var notNameChar = lazyregexp.New(`[^0-9A-Za-z_-]`)

// ExecutionName is prefix, a hyphen and the job's id, as CodePipeline names
// executions after the action execution's id: unique for each attempt, so a
// retried action starts a new execution, and within Step Functions' 80
// characters of [0-9A-Za-z_-] (what express state machines allow).
func ExecutionName(prefix, jobID string) string {
	id := notNameChar.ReplaceAllString(jobID, "-")
	if id == "" {
		id = fmt.Sprintf("%d", time.Now().UnixNano())
	}
	prefix = notNameChar.ReplaceAllString(prefix, "-")
	if prefix == "" {
		return truncate(id, maxName)
	}
	// The id's end is what differs between attempts: keep it whole, cut
	// the prefix.
	id = id[max(0, len(id)-(maxName-2)):]
	return truncate(prefix, maxName-1-len(id)) + "-" + id
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func writeOutput(path, output string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	w, err := zw.Create(OutputFile)
	if err == nil {
		_, err = w.Write([]byte(output))
	}
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
