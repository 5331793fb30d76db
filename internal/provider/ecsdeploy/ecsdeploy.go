// Package ecsdeploy is the ECS deploy provider (CodePipeline's Amazon ECS
// standard deployment action): it reads an image definitions file from the
// input artifact, registers a revision of the service's task definition with
// those images, updates the service to it and waits until the service is
// stable, all through the AWS SDK.
package ecsdeploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/provider"
)

// Configuration keys, as CodePipeline names them.
const (
	ConfigClusterName       = "ClusterName"
	ConfigServiceName       = "ServiceName"
	ConfigFileName          = "FileName"
	ConfigDeploymentTimeout = "DeploymentTimeout"
	ConfigConnection        = "Connection"
)

// DefaultFileName is the image definitions file read when FileName is not
// given.
const DefaultFileName = "imagedefinitions.json"

// CodePipeline's DeploymentTimeout: minutes, 1 to 60, 60 by default.
const (
	DefaultTimeoutMinutes = 60
	MaxTimeoutMinutes     = 60
)

// DefaultPollInterval is how often the service's deployments are read (the
// SDK's services-stable waiter polls every 15 seconds).
const DefaultPollInterval = 15 * time.Second

// maxDefinitions bounds the image definitions file read.
const maxDefinitions = 1 << 20

// Provider is the ECS provider.
type Provider struct {
	// PollInterval is how often DescribeServices is called while waiting;
	// 0 means DefaultPollInterval.
	PollInterval time.Duration
	// TimeoutUnit is what one minute of DeploymentTimeout lasts; 0 means a
	// minute. Tests shorten it to see a deployment time out.
	TimeoutUnit time.Duration
}

// ImageDefinition is one entry of imagedefinitions.json.
type ImageDefinition struct {
	Name     string `json:"name"`
	ImageURI string `json:"imageUri"`
}

// Run implements provider.Provider.
func (p Provider) Run(ctx context.Context, job *provider.Job) (provider.Result, error) {
	cfg := job.Configuration
	cluster, service := cfg[ConfigClusterName], cfg[ConfigServiceName]
	if cluster == "" || service == "" {
		return provider.Result{}, errors.New("ClusterName and ServiceName are required")
	}
	timeout, err := Timeout(cfg[ConfigDeploymentTimeout])
	if err != nil {
		return provider.Result{}, err
	}
	if p.TimeoutUnit > 0 {
		timeout = timeout / time.Minute * p.TimeoutUnit
	}
	file := cfg[ConfigFileName]
	if file == "" {
		file = DefaultFileName
	}
	data, err := job.ReadInputFile(file, maxDefinitions)
	if err != nil {
		return provider.Result{}, fmt.Errorf("FileName: %w", err)
	}
	images, err := ParseImageDefinitions(data)
	if err != nil {
		return provider.Result{}, fmt.Errorf("%s: %w", file, err)
	}
	if job.AWS == nil {
		return provider.Result{}, errors.New("this worker has no aws connections")
	}
	conn, err := job.AWS(ctx, cfg[ConfigConnection])
	if err != nil {
		return provider.Result{}, fmt.Errorf("aws connection: %w", err)
	}
	client := Client(conn)

	svc, err := describeService(ctx, client, cluster, service)
	if err != nil {
		return provider.Result{}, err
	}
	// The standard deployment is ECS's rolling update; a service deployed
	// by CodeDeploy (blue/green) or an external controller is not ECS's to
	// update this way (CodePipeline has CodeDeployToECS for the first).
	if dc := svc.DeploymentController; dc != nil && dc.Type != "" && dc.Type != types.DeploymentControllerTypeEcs {
		return provider.Result{}, fmt.Errorf("service %s is deployed by the %s deployment controller, not ECS's rolling update", service, dc.Type)
	}
	current := aws.ToString(svc.TaskDefinition)
	described := &rawBody{}
	td, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(current),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	}, described.keep)
	if err != nil {
		return provider.Result{}, fmt.Errorf("task definition %s of service %s: %w", current, service, err)
	}
	body, err := Revision(described.body, images)
	if err != nil {
		return provider.Result{}, fmt.Errorf("%s: %w", file, err)
	}
	// The typed input passes the client's validation; the body sent is the
	// copy of the described JSON (see Revision).
	reg, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:               td.TaskDefinition.Family,
		ContainerDefinitions: td.TaskDefinition.ContainerDefinitions,
	}, sendBody(body))
	if err != nil {
		return provider.Result{}, fmt.Errorf("register a revision of task definition %s: %w", aws.ToString(td.TaskDefinition.Family), err)
	}
	newArn := aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
	fmt.Fprintf(job.Log, "registered task definition %s (from %s)\n", newArn, current)

	up, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster:        aws.String(cluster),
		Service:        aws.String(service),
		TaskDefinition: aws.String(newArn),
	})
	if err != nil {
		return provider.Result{}, fmt.Errorf("update service %s to %s: %w", service, newArn, err)
	}
	primary := primaryDeployment(up.Service)
	fmt.Fprintf(job.Log, "updated service %s in cluster %s to %s; waiting up to %s for it to be stable\n", service, cluster, newArn, timeout)

	if err := p.waitStable(ctx, client, cluster, service, primary, timeout, job); err != nil {
		return provider.Result{}, err
	}
	return provider.Result{Summary: fmt.Sprintf("service %s runs %s", service, newArn)}, nil
}

// Client builds an ECS client for the connection.
func Client(conn *awsconn.Conn) *ecs.Client {
	return ecs.NewFromConfig(conn.Config, func(o *ecs.Options) {
		if e := conn.EndpointFor("ecs"); e != "" {
			o.BaseEndpoint = aws.String(e)
		}
	})
}

// Timeout reads DeploymentTimeout: whole minutes from 1 to 60, 60 when "".
func Timeout(v string) (time.Duration, error) {
	if v == "" {
		return DefaultTimeoutMinutes * time.Minute, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxTimeoutMinutes {
		return 0, fmt.Errorf("DeploymentTimeout %q is not a whole number of minutes from 1 to %d", v, MaxTimeoutMinutes)
	}
	return time.Duration(n) * time.Minute, nil
}

// ParseImageDefinitions reads imagedefinitions.json: a JSON array of
// {"name": container, "imageUri": image}, at least one, each container
// named once.
func ParseImageDefinitions(data []byte) ([]ImageDefinition, error) {
	var defs []ImageDefinition
	if err := json.Unmarshal(data, &defs); err != nil {
		return nil, fmt.Errorf(`not an image definitions file (a JSON array of {"name": CONTAINER, "imageUri": IMAGE}): %v`, err)
	}
	if len(defs) == 0 {
		return nil, errors.New("no image definitions")
	}
	seen := map[string]bool{}
	for i, d := range defs {
		switch {
		case d.Name == "":
			return nil, fmt.Errorf("entry %d has no name", i)
		case d.ImageURI == "":
			return nil, fmt.Errorf("entry %d (%s) has no imageUri", i, d.Name)
		case seen[d.Name]:
			return nil, fmt.Errorf("container %s is named twice", d.Name)
		}
		seen[d.Name] = true
	}
	return defs, nil
}

// readOnly are the members of a described task definition that
// RegisterTaskDefinition does not take: what ECS reports about a revision
// (its ARN, number, status, registration and deregistration), not what
// defines it (the API reference's TaskDefinition against
// RegisterTaskDefinition's request).
var readOnly = []string{
	"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
	"registeredAt", "registeredBy", "deregisteredAt", "deleteRequestedAt",
}

// Revision is the body of the RegisterTaskDefinition request that registers
// a copy of the task definition that described (DescribeTaskDefinition's
// answer, with its tags) describes, with the images replaced. It is made from
// the answer's JSON, not from the SDK's types, so that every member is carried
// over — roles, network mode, volumes, placement, sizes, runtime platform,
// tags, and members added to ECS after the SDK's client was generated (such as
// trustedExecutionConfiguration, which the pinned client does not know) — and
// the new revision differs from the service's only in its images. A
// definition naming a container the task definition does not have is an
// error naming it.
func Revision(described []byte, images []ImageDefinition) ([]byte, error) {
	var answer struct {
		TaskDefinition map[string]json.RawMessage `json:"taskDefinition"`
		Tags           json.RawMessage            `json:"tags"`
	}
	if err := json.Unmarshal(described, &answer); err != nil || answer.TaskDefinition == nil {
		return nil, fmt.Errorf("DescribeTaskDefinition's answer is not a task definition (%v)", err)
	}
	td := answer.TaskDefinition
	var family string
	json.Unmarshal(td["family"], &family)
	var containers []map[string]json.RawMessage
	if err := json.Unmarshal(td["containerDefinitions"], &containers); err != nil {
		return nil, fmt.Errorf("task definition %s: containerDefinitions: %v", family, err)
	}
	names := make([]string, len(containers))
	for i, c := range containers {
		json.Unmarshal(c["name"], &names[i])
	}
	var unknown []string
	for _, img := range images {
		i := slices.Index(names, img.Name)
		if i < 0 {
			unknown = append(unknown, img.Name)
			continue
		}
		uri, err := json.Marshal(img.ImageURI)
		if err != nil {
			return nil, err
		}
		containers[i]["image"] = uri
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("task definition %s has no container %s (it has %s)",
			family, strings.Join(unknown, ", "), strings.Join(names, ", "))
	}
	cds, err := json.Marshal(containers)
	if err != nil {
		return nil, err
	}
	td["containerDefinitions"] = cds
	for _, k := range readOnly {
		delete(td, k)
	}
	if t := answer.Tags; len(t) > 0 && string(t) != "null" && string(t) != "[]" {
		td["tags"] = t
	}
	return json.Marshal(td)
}

// describeLimit bounds a task definition's description read (ECS allows up
// to 64 KiB of container definitions).
const describeLimit = 16 << 20

// rawBody keeps the body of an operation's successful answer, as the server
// sent it, for members the SDK's types do not hold.
type rawBody struct{ body []byte }

// keep is the per-operation option that installs it: inside the operation's
// deserializer, which reads the body kept after it (at every attempt; the
// last one's stays).
func (r *rawBody) keep(o *ecs.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Deserialize.Add(r, middleware.After)
	})
}

func (*rawBody) ID() string { return "sluice.KeepRawBody" }

func (r *rawBody) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleDeserialize(ctx, in)
	if err != nil {
		return out, md, err
	}
	resp, ok := out.RawResponse.(*smithyhttp.Response)
	if !ok || resp.StatusCode < 200 || resp.StatusCode > 299 {
		return out, md, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, describeLimit+1))
	resp.Body.Close()
	if err != nil {
		return out, md, fmt.Errorf("read the answer: %w", err)
	}
	if len(body) > describeLimit {
		return out, md, fmt.Errorf("the answer is over %d bytes", describeLimit)
	}
	r.body = body
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return out, md, nil
}

// sendBody is the per-operation option that sends body as the request's
// JSON in place of what the SDK serialized from the typed input. It replaces
// the body at the start of the build step, after serialization and before
// the content length, the payload hash and the signature are computed, so
// the SDK signs and sends it as it would its own.
func sendBody(body []byte) func(*ecs.Options) {
	return func(o *ecs.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Build.Add(replaceBody(body), middleware.Before)
		})
	}
}

type replaceBody []byte

func (replaceBody) ID() string { return "sluice.ReplaceBody" }

func (b replaceBody) HandleBuild(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
	req, ok := in.Request.(*smithyhttp.Request)
	if !ok {
		return middleware.BuildOutput{}, middleware.Metadata{}, fmt.Errorf("replace the request's body: unexpected request %T", in.Request)
	}
	req, err := req.SetStream(bytes.NewReader(b))
	if err != nil {
		return middleware.BuildOutput{}, middleware.Metadata{}, fmt.Errorf("replace the request's body: %w", err)
	}
	req.ContentLength = int64(len(b))
	in.Request = req
	return next.HandleBuild(ctx, in)
}

func describeService(ctx context.Context, client *ecs.Client, cluster, service string) (*types.Service, error) {
	out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	if err != nil {
		return nil, fmt.Errorf("describe service %s in cluster %s: %w", service, cluster, err)
	}
	for _, s := range out.Services {
		if aws.ToString(s.ServiceName) == service || aws.ToString(s.ServiceArn) == service {
			if st := aws.ToString(s.Status); st != "ACTIVE" {
				return nil, fmt.Errorf("service %s in cluster %s is %s", service, cluster, st)
			}
			return &s, nil
		}
	}
	reason := "not found"
	for _, f := range out.Failures {
		if r := aws.ToString(f.Reason); r != "" {
			reason = strings.ToLower(r)
		}
	}
	return nil, fmt.Errorf("service %s in cluster %s: %s", service, cluster, reason)
}

// primaryDeployment is the id of the PRIMARY deployment UpdateService
// reports: the one that must be left alone for the service to be stable.
func primaryDeployment(svc *types.Service) string {
	if svc == nil {
		return ""
	}
	for _, d := range svc.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			return aws.ToString(d.Id)
		}
	}
	return ""
}

// Progress says where a deployment stands from the service as
// DescribeServices returns it: stable when its only deployment is the
// primary one (the update's, when its id is known) with as many tasks
// running as desired (the SDK's services-stable waiter's rule); failed when
// the service is no longer active or ECS's circuit breaker failed the
// rollout. wait says what is awaited, for the log and a timeout's message.
func Progress(svc *types.Service, primary string) (stable bool, wait string, err error) {
	if st := aws.ToString(svc.Status); st != "ACTIVE" {
		return false, "", fmt.Errorf("service %s became %s", aws.ToString(svc.ServiceName), st)
	}
	var p *types.Deployment
	for i := range svc.Deployments {
		if aws.ToString(svc.Deployments[i].Status) == "PRIMARY" {
			p = &svc.Deployments[i]
		}
	}
	if p == nil {
		return false, "no primary deployment yet", nil
	}
	if primary != "" && aws.ToString(p.Id) != primary {
		return false, "", fmt.Errorf("service %s was deployed again (deployment %s) while this deployment (%s) was under way", aws.ToString(svc.ServiceName), aws.ToString(p.Id), primary)
	}
	if p.RolloutState == types.DeploymentRolloutStateFailed {
		return false, "", fmt.Errorf("deployment %s failed: %s", aws.ToString(p.Id), aws.ToString(p.RolloutStateReason))
	}
	if len(svc.Deployments) > 1 {
		return false, fmt.Sprintf("%d of %d tasks running, %d older deployments draining", p.RunningCount, p.DesiredCount, len(svc.Deployments)-1), nil
	}
	if p.RunningCount != p.DesiredCount {
		return false, fmt.Sprintf("%d of %d tasks running", p.RunningCount, p.DesiredCount), nil
	}
	return true, "", nil
}

// waitStable polls the service until Progress says it is stable, failed,
// or the timeout passes. Stopping the action stops the wait, not the
// deployment: ECS goes on with it, and the log says so.
func (p Provider) waitStable(ctx context.Context, client *ecs.Client, cluster, service, primary string, timeout time.Duration, job *provider.Job) error {
	interval := p.PollInterval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTimer(0)
	defer tick.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintf(job.Log, "stopped waiting for service %s; the deployment goes on in ECS\n", service)
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("service %s was not stable within %s (%s); the deployment goes on in ECS", service, timeout, last)
		case <-tick.C:
		}
		svc, err := describeService(ctx, client, cluster, service)
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			return err
		}
		stable, wait, err := Progress(svc, primary)
		if err != nil {
			return err
		}
		if stable {
			fmt.Fprintf(job.Log, "service %s is stable\n", service)
			return nil
		}
		if wait != last {
			fmt.Fprintf(job.Log, "service %s: %s\n", service, wait)
			last = wait
		}
		tick.Reset(interval)
	}
}
