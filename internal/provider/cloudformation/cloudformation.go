// Package cloudformation holds the CloudFormation, CloudFormationStackSet and
// CloudFormationStackInstances providers: CodePipeline's CloudFormation deploy
// actions, with its configuration keys and semantics, run through the AWS SDK
// against the action's aws connection (AWS, or an AWS-compatible cloud).
package cloudformation

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/provider"
)

// Action modes of the CloudFormation action, as CodePipeline names them.
const (
	ModeCreateUpdate     = "CREATE_UPDATE"
	ModeDeleteOnly       = "DELETE_ONLY"
	ModeReplaceOnFailure = "REPLACE_ON_FAILURE"
	ModeChangeSetReplace = "CHANGE_SET_REPLACE"
	ModeChangeSetExecute = "CHANGE_SET_EXECUTE"
)

// ActionModes lists the modes, for validation.
var ActionModes = []string{ModeCreateUpdate, ModeDeleteOnly, ModeReplaceOnFailure, ModeChangeSetReplace, ModeChangeSetExecute}

// MaxTemplateBody is the largest template CloudFormation takes in the
// request; larger ones must be given as a URL of an S3 object.
const MaxTemplateBody = 51200

// DefaultPollInterval is how often a stack's state and events are read
// while an operation runs.
const DefaultPollInterval = 5 * time.Second

// Provider runs CloudFormation actions.
type Provider struct {
	// PollInterval is how often the stack is looked at while it changes;
	// 0 means DefaultPollInterval. Tests use a short one.
	PollInterval time.Duration
}

// connect returns the action's connection and its CloudFormation client.
func connect(ctx context.Context, job *provider.Job) (*awsconn.Conn, *cloudformation.Client, error) {
	if job.AWS == nil {
		return nil, nil, errors.New("this worker has no aws connections")
	}
	conn, err := job.AWS(ctx, job.Configuration["Connection"])
	if err != nil {
		return nil, nil, fmt.Errorf("aws connection %q: %w", job.Configuration["Connection"], err)
	}
	return conn, cloudformation.NewFromConfig(conn.Config, func(o *cloudformation.Options) {
		if e := conn.EndpointFor("cloudformation"); e != "" {
			o.BaseEndpoint = aws.String(e)
		}
	}), nil
}

func interval(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultPollInterval
	}
	return d
}

// stackRun is one CloudFormation action's run.
type stackRun struct {
	job    *provider.Job
	conn   *awsconn.Conn
	cfn    *cloudformation.Client
	f      *follower
	name   string
	change string
}

// Run implements provider.Provider.
func (p Provider) Run(ctx context.Context, job *provider.Job) (provider.Result, error) {
	conn, cfn, err := connect(ctx, job)
	if err != nil {
		return provider.Result{}, err
	}
	r := &stackRun{
		job: job, conn: conn, cfn: cfn,
		f:      newFollower(cfn, job.Log, interval(p.PollInterval)),
		name:   job.Configuration["StackName"],
		change: job.Configuration["ChangeSetName"],
	}
	if r.name == "" {
		return provider.Result{}, errors.New("configuration has no StackName")
	}
	var st *types.Stack
	switch mode := job.Configuration["ActionMode"]; mode {
	case ModeCreateUpdate:
		st, err = r.createUpdate(ctx, false)
	case ModeReplaceOnFailure:
		st, err = r.createUpdate(ctx, true)
	case ModeDeleteOnly:
		return r.deleteOnly(ctx)
	case ModeChangeSetReplace:
		return r.changeSetReplace(ctx)
	case ModeChangeSetExecute:
		st, err = r.changeSetExecute(ctx)
	default:
		return provider.Result{}, fmt.Errorf("ActionMode %q is not one of %s", mode, strings.Join(ActionModes, ", "))
	}
	if err != nil {
		return provider.Result{}, err
	}
	return r.finish(st)
}

// current returns the stack, first waiting for an operation someone else
// started on it to end: CloudFormation refuses to start another meanwhile,
// and a pipeline that fails for it only makes people re-run it.
func (r *stackRun) current(ctx context.Context) (*types.Stack, error) {
	st, err := describe(ctx, r.cfn, r.name)
	if err != nil || st == nil || !inProgress(st.StackStatus) {
		return st, err
	}
	fmt.Fprintf(r.job.Log, "stack %s is %s from an operation this action did not start; waiting for it to end\n", r.name, st.StackStatus)
	r.f.stack = aws.ToString(st.StackId)
	st, err = r.f.wait(ctx)
	r.f.events = nil
	if err != nil {
		return nil, err
	}
	if st == nil || st.StackStatus == types.StackStatusDeleteComplete {
		fmt.Fprintf(r.job.Log, "stack %s is gone\n", r.name)
		return nil, nil
	}
	fmt.Fprintf(r.job.Log, "stack %s is %s; going on\n", r.name, st.StackStatus)
	return st, nil
}

func (r *stackRun) createUpdate(ctx context.Context, replace bool) (*types.Stack, error) {
	st, err := r.current(ctx)
	if err != nil {
		return nil, err
	}
	if !replace && st != nil && failedState(st.StackStatus) {
		// CodePipeline fails here too; the API's own refusal would not say
		// what to do about it.
		return nil, fmt.Errorf("stack %s is %s, which CloudFormation cannot update: delete it, or use ActionMode REPLACE_ON_FAILURE to have it deleted and created again", r.name, st.StackStatus)
	}
	if replace && st != nil && failedState(st.StackStatus) {
		fmt.Fprintf(r.job.Log, "stack %s is %s: deleting it to create it again\n", r.name, st.StackStatus)
		if err := r.delete(ctx, st); err != nil {
			return nil, err
		}
		st = nil
	}
	body, tmplURL, err := r.template(ctx)
	if err != nil {
		return nil, err
	}
	in, err := readStackInputs(r.job)
	if err != nil {
		return nil, err
	}
	caps := capabilities(r.job.Configuration["Capabilities"])
	role := optional(r.job.Configuration["RoleArn"])
	if st == nil {
		fmt.Fprintf(r.job.Log, "creating stack %s\n", r.name)
		out, err := r.cfn.CreateStack(ctx, &cloudformation.CreateStackInput{
			StackName: aws.String(r.name), TemplateBody: body, TemplateURL: tmplURL,
			Parameters: in.Parameters, Tags: in.Tags, StackPolicyBody: optional(in.StackPolicy),
			Capabilities: caps, RoleARN: role,
		})
		if err != nil {
			return nil, fmt.Errorf("create stack %s: %w", r.name, err)
		}
		r.f.stack = aws.ToString(out.StackId)
		return r.await(ctx, "create")
	}
	if err := r.f.skipPast(ctx, aws.ToString(st.StackId)); err != nil {
		return nil, err
	}
	fmt.Fprintf(r.job.Log, "updating stack %s (%s)\n", r.name, st.StackStatus)
	_, err = r.cfn.UpdateStack(ctx, &cloudformation.UpdateStackInput{
		StackName: st.StackId, TemplateBody: body, TemplateURL: tmplURL,
		Parameters: in.Parameters, Tags: in.Tags, StackPolicyBody: optional(in.StackPolicy),
		Capabilities: caps, RoleARN: role,
	})
	if isNoUpdates(err) {
		fmt.Fprintf(r.job.Log, "stack %s: no updates are to be performed\n", r.name)
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("update stack %s: %w", r.name, err)
	}
	return r.await(ctx, "update")
}

// await follows the operation the follower's stack is in to its end and
// fails, naming the resource that failed first, unless it succeeded.
func (r *stackRun) await(ctx context.Context, op string) (*types.Stack, error) {
	st, err := r.f.wait(ctx)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fmt.Errorf("%s stack %s: the stack is gone", op, r.name)
	}
	if !succeeded(st.StackStatus) {
		msg := fmt.Sprintf("%s stack %s failed: the stack is %s", op, r.name, st.StackStatus)
		if cause := FailureCause(r.f.events); cause != "" {
			msg += "; " + cause
		} else if reason := aws.ToString(st.StackStatusReason); reason != "" {
			msg += ": " + reason
		}
		return nil, errors.New(msg)
	}
	return st, nil
}

// delete deletes the stack and waits until it is gone.
func (r *stackRun) delete(ctx context.Context, st *types.Stack) error {
	if err := r.f.skipPast(ctx, aws.ToString(st.StackId)); err != nil {
		return err
	}
	fmt.Fprintf(r.job.Log, "deleting stack %s\n", r.name)
	if _, err := r.cfn.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: st.StackId, RoleARN: optional(r.job.Configuration["RoleArn"])}); err != nil {
		return fmt.Errorf("delete stack %s: %w", r.name, err)
	}
	end, err := r.f.wait(ctx)
	if err != nil {
		return err
	}
	if end != nil && end.StackStatus != types.StackStatusDeleteComplete {
		msg := fmt.Sprintf("delete stack %s failed: the stack is %s", r.name, end.StackStatus)
		if cause := FailureCause(r.f.events); cause != "" {
			msg += "; " + cause
		}
		return errors.New(msg)
	}
	return nil
}

func (r *stackRun) deleteOnly(ctx context.Context) (provider.Result, error) {
	st, err := r.current(ctx)
	if err != nil {
		return provider.Result{}, err
	}
	if st == nil {
		fmt.Fprintf(r.job.Log, "stack %s does not exist: nothing to delete\n", r.name)
		return r.finish(nil)
	}
	if err := r.delete(ctx, st); err != nil {
		return provider.Result{}, err
	}
	return provider.Result{Summary: "deleted stack " + r.name}, r.writeOutputs(nil)
}

// noChanges reports a change set CloudFormation refused because it would
// change nothing; CodePipeline's change set actions succeed on it.
func noChanges(reason string) bool {
	return strings.Contains(reason, "didn't contain changes") || strings.Contains(reason, "No updates are to be performed")
}

func (r *stackRun) changeSetReplace(ctx context.Context) (provider.Result, error) {
	if r.change == "" {
		return provider.Result{}, errors.New("configuration has no ChangeSetName")
	}
	st, err := r.current(ctx)
	if err != nil {
		return provider.Result{}, err
	}
	typ := types.ChangeSetTypeUpdate
	if st == nil || st.StackStatus == types.StackStatusReviewInProgress {
		typ = types.ChangeSetTypeCreate
	}
	if st != nil {
		// Replace means delete what is there first. Look before deleting:
		// AWS answers a delete of a missing change set with
		// ChangeSetNotFound, but moto with a 500.
		exists, err := r.changeSetExists(ctx, st.StackId)
		if err != nil {
			return provider.Result{}, err
		}
		if exists {
			_, err := r.cfn.DeleteChangeSet(ctx, &cloudformation.DeleteChangeSetInput{StackName: st.StackId, ChangeSetName: aws.String(r.change)})
			var nf *types.ChangeSetNotFoundException
			switch {
			case err == nil:
				fmt.Fprintf(r.job.Log, "deleted the previous change set %s of stack %s\n", r.change, r.name)
			case !errors.As(err, &nf):
				return provider.Result{}, fmt.Errorf("delete change set %s of stack %s: %w", r.change, r.name, err)
			}
		}
	}
	body, tmplURL, err := r.template(ctx)
	if err != nil {
		return provider.Result{}, err
	}
	in, err := readStackInputs(r.job)
	if err != nil {
		return provider.Result{}, err
	}
	fmt.Fprintf(r.job.Log, "creating change set %s (%s) of stack %s\n", r.change, typ, r.name)
	out, err := r.cfn.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{
		StackName: aws.String(r.name), ChangeSetName: aws.String(r.change), ChangeSetType: typ,
		TemplateBody: body, TemplateURL: tmplURL, Parameters: in.Parameters, Tags: in.Tags,
		Capabilities: capabilities(r.job.Configuration["Capabilities"]), RoleARN: optional(r.job.Configuration["RoleArn"]),
	})
	if isNoUpdates(err) {
		// AWS makes a FAILED change set saying so (handled below); moto
		// refuses the call, and the change set is then not there.
		fmt.Fprintf(r.job.Log, "change set %s: no updates are to be performed\n", r.change)
		return provider.Result{Summary: fmt.Sprintf("stack %s: no changes", r.name)}, r.writeOutputs(nil)
	}
	if err != nil {
		return provider.Result{}, fmt.Errorf("create change set %s of stack %s: %w", r.change, r.name, err)
	}
	cs, err := r.awaitChangeSet(ctx, aws.ToString(out.Id))
	if err != nil {
		return provider.Result{}, err
	}
	switch {
	case cs.Status == types.ChangeSetStatusCreateComplete:
		for _, c := range cs.Changes {
			if rc := c.ResourceChange; rc != nil {
				line := fmt.Sprintf("  %s %s (%s)", rc.Action, aws.ToString(rc.LogicalResourceId), aws.ToString(rc.ResourceType))
				if rc.Replacement != "" {
					line += " replacement: " + string(rc.Replacement)
				}
				fmt.Fprintln(r.job.Log, line)
			}
		}
		fmt.Fprintf(r.job.Log, "change set %s is ready to execute\n", r.change)
	case noChanges(aws.ToString(cs.StatusReason)):
		fmt.Fprintf(r.job.Log, "change set %s: %s\n", r.change, aws.ToString(cs.StatusReason))
	default:
		return provider.Result{}, fmt.Errorf("change set %s of stack %s is %s: %s", r.change, r.name, cs.Status, aws.ToString(cs.StatusReason))
	}
	res := provider.Result{Summary: fmt.Sprintf("change set %s of stack %s created", r.change, r.name)}
	return res, r.writeOutputs(nil)
}

// awaitChangeSet waits until CloudFormation has worked out the change set.
func (r *stackRun) awaitChangeSet(ctx context.Context, id string) (*cloudformation.DescribeChangeSetOutput, error) {
	for {
		cs, err := r.cfn.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("describe change set %s: %w", r.change, err)
		}
		switch cs.Status {
		case types.ChangeSetStatusCreatePending, types.ChangeSetStatusCreateInProgress:
		default:
			return cs, nil
		}
		timer := time.NewTimer(r.f.interval)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("stopped while change set %s was %s: %w", r.change, cs.Status, ctx.Err())
		case <-timer.C:
		}
	}
}

func (r *stackRun) changeSetExecute(ctx context.Context) (*types.Stack, error) {
	if r.change == "" {
		return nil, errors.New("configuration has no ChangeSetName")
	}
	st, err := r.current(ctx)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fmt.Errorf("stack %s does not exist: CHANGE_SET_EXECUTE needs a change set made by CHANGE_SET_REPLACE", r.name)
	}
	cs, err := r.cfn.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{StackName: st.StackId, ChangeSetName: aws.String(r.change)})
	if err != nil {
		return nil, fmt.Errorf("change set %s of stack %s: %w", r.change, r.name, err)
	}
	if cs.Status == types.ChangeSetStatusFailed && noChanges(aws.ToString(cs.StatusReason)) {
		fmt.Fprintf(r.job.Log, "change set %s changes nothing: %s\n", r.change, aws.ToString(cs.StatusReason))
		return st, nil
	}
	if cs.Status != types.ChangeSetStatusCreateComplete || cs.ExecutionStatus != types.ExecutionStatusAvailable {
		return nil, fmt.Errorf("change set %s of stack %s cannot be executed: it is %s, execution %s: %s", r.change, r.name, cs.Status, cs.ExecutionStatus, aws.ToString(cs.StatusReason))
	}
	if err := r.f.skipPast(ctx, aws.ToString(st.StackId)); err != nil {
		return nil, err
	}
	fmt.Fprintf(r.job.Log, "executing change set %s of stack %s\n", r.change, r.name)
	if _, err := r.cfn.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{StackName: st.StackId, ChangeSetName: aws.String(r.change)}); err != nil {
		return nil, fmt.Errorf("execute change set %s of stack %s: %w", r.change, r.name, err)
	}
	return r.await(ctx, "execute change set "+r.change+" on")
}

// finish turns the stack's outputs into the action's output variables and
// its OutputFileName. st is as last described, after its operation ended.
func (r *stackRun) finish(st *types.Stack) (provider.Result, error) {
	outputs := map[string]string{}
	res := provider.Result{Summary: "stack " + r.name + " does not exist"}
	if st != nil {
		for _, o := range st.Outputs {
			outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
		}
		res = provider.Result{Summary: fmt.Sprintf("stack %s is %s", r.name, st.StackStatus), OutputVariables: outputs}
	}
	return res, r.writeOutputs(outputs)
}

// writeOutputs writes the output artifact: the stack's outputs as a JSON
// object in OutputFileName, or nothing when it is not set.
func (r *stackRun) writeOutputs(outputs map[string]string) error {
	name := r.job.Configuration["OutputFileName"]
	if name != "" && (strings.HasPrefix(name, "/") || slices.Contains(strings.Split(name, "/"), "..")) {
		return fmt.Errorf("OutputFileName %q must be a relative file name in the output artifact", name)
	}
	if name != "" && len(r.job.Outputs) == 0 {
		return errors.New("OutputFileName is set but the action has no output artifact to write it to")
	}
	for i, o := range r.job.Outputs {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		if i == 0 && name != "" {
			if outputs == nil {
				outputs = map[string]string{}
			}
			b, err := json.MarshalIndent(outputs, "", "  ")
			if err != nil {
				return err
			}
			w, err := zw.Create(path.Clean(name))
			if err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
			w.Write(b)
		}
		if err := zw.Close(); err != nil {
			return fmt.Errorf("write artifact %s: %w", o.Name, err)
		}
		if err := os.WriteFile(o.Path, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write artifact %s: %w", o.Name, err)
		}
	}
	return nil
}

// template reads TemplatePath and returns it as a body, or, when it is
// larger than CloudFormation takes in a request, uploads it to the
// connection's bucket and returns its URL.
func (r *stackRun) template(ctx context.Context) (body, templateURL *string, err error) {
	b, err := readArtifactPath(r.job, "TemplatePath")
	if err != nil {
		return nil, nil, err
	}
	if len(b) <= MaxTemplateBody {
		return aws.String(string(b)), nil, nil
	}
	u, err := upload(ctx, r.conn, r.job, b)
	if err != nil {
		return nil, nil, err
	}
	return nil, aws.String(u), nil
}

// upload puts a template too large for a request into the connection's
// bucket and returns the URL CloudFormation reads it from.
func upload(ctx context.Context, conn *awsconn.Conn, job *provider.Job, b []byte) (string, error) {
	if conn.Bucket == "" {
		return "", fmt.Errorf("the template is %d bytes, more than the %d CloudFormation takes in a request, and aws connection %q has no bucket to upload it to: give the connection a bucket", len(b), MaxTemplateBody, conn.Name)
	}
	key := path.Join("sluice", "cloudformation", job.Pipeline, job.ExecutionID, job.Stage+"."+job.Action+".template")
	client := s3.NewFromConfig(conn.Config, func(o *s3.Options) {
		if e := conn.EndpointFor("s3"); e != "" {
			o.BaseEndpoint = aws.String(e)
		}
		o.UsePathStyle = conn.S3PathStyle
	})
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(conn.Bucket), Key: aws.String(key), Body: bytes.NewReader(b)}); err != nil {
		return "", fmt.Errorf("upload the template to bucket %s: %w", conn.Bucket, err)
	}
	u := objectURL(conn, key)
	fmt.Fprintf(job.Log, "template is %d bytes: uploaded to %s\n", len(b), u)
	return u, nil
}

// objectURL is the URL of key in the connection's bucket, as CloudFormation
// reads a TemplateURL: the connection's own S3 endpoint when it has one,
// AWS's virtual-hosted address otherwise.
func objectURL(conn *awsconn.Conn, key string) string {
	escaped := (&url.URL{Path: key}).EscapedPath()
	e := conn.EndpointFor("s3")
	if e == "" {
		return fmt.Sprintf("https://%s.s3.%s.amazonaws.com/%s", conn.Bucket, conn.Config.Region, escaped)
	}
	e = strings.TrimRight(e, "/")
	if conn.S3PathStyle {
		return e + "/" + conn.Bucket + "/" + escaped
	}
	if u, err := url.Parse(e); err == nil {
		u.Host = conn.Bucket + "." + u.Host
		return strings.TrimRight(u.String(), "/") + "/" + escaped
	}
	return e + "/" + conn.Bucket + "/" + escaped
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// changeSetExists reports whether the stack has a change set of the action's
// ChangeSetName.
func (r *stackRun) changeSetExists(ctx context.Context, stackID *string) (bool, error) {
	p := cloudformation.NewListChangeSetsPaginator(r.cfn, &cloudformation.ListChangeSetsInput{StackName: stackID})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return false, fmt.Errorf("list change sets of stack %s: %w", r.name, err)
		}
		for _, cs := range page.Summaries {
			if aws.ToString(cs.ChangeSetName) == r.change {
				return true, nil
			}
		}
	}
	return false, nil
}
