// Package ecsdeploy is the ECS deploy provider (CodePipeline's Amazon ECS
// standard deployment action): it reads an image definitions file from the
// input artifact, registers a revision of the service's task definition with
// those images, updates the service to it and waits until the service is
// stable, all through the AWS SDK.
package ecsdeploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

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
	td, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(current),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		return provider.Result{}, fmt.Errorf("task definition %s of service %s: %w", current, service, err)
	}
	in, err := Revision(td.TaskDefinition, td.Tags, images)
	if err != nil {
		return provider.Result{}, fmt.Errorf("%s: %w", file, err)
	}
	reg, err := client.RegisterTaskDefinition(ctx, in)
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

// Revision is what registers a copy of td with the images replaced: every
// field RegisterTaskDefinition takes is carried over (roles, network mode,
// volumes, placement, sizes, runtime platform, tags…), so that the new
// revision differs from the service's only in its images. A definition
// naming a container td does not have is an error naming it.
func Revision(td *types.TaskDefinition, tags []types.Tag, images []ImageDefinition) (*ecs.RegisterTaskDefinitionInput, error) {
	containers := slices.Clone(td.ContainerDefinitions)
	var unknown []string
	for _, img := range images {
		i := slices.IndexFunc(containers, func(c types.ContainerDefinition) bool { return aws.ToString(c.Name) == img.Name })
		if i < 0 {
			unknown = append(unknown, img.Name)
			continue
		}
		containers[i].Image = aws.String(img.ImageURI)
	}
	if len(unknown) > 0 {
		var have []string
		for _, c := range containers {
			have = append(have, aws.ToString(c.Name))
		}
		return nil, fmt.Errorf("task definition %s has no container %s (it has %s)",
			aws.ToString(td.Family), strings.Join(unknown, ", "), strings.Join(have, ", "))
	}
	in := &ecs.RegisterTaskDefinitionInput{
		Family:                        td.Family,
		ContainerDefinitions:          containers,
		Cpu:                           td.Cpu,
		Memory:                        td.Memory,
		EnableFaultInjection:          td.EnableFaultInjection,
		EphemeralStorage:              td.EphemeralStorage,
		ExecutionRoleArn:              td.ExecutionRoleArn,
		TaskRoleArn:                   td.TaskRoleArn,
		InferenceAccelerators:         td.InferenceAccelerators,
		IpcMode:                       td.IpcMode,
		PidMode:                       td.PidMode,
		NetworkMode:                   td.NetworkMode,
		PlacementConstraints:          td.PlacementConstraints,
		ProxyConfiguration:            td.ProxyConfiguration,
		RequiresCompatibilities:       td.RequiresCompatibilities,
		RuntimePlatform:               td.RuntimePlatform,
		TrustedExecutionConfiguration: td.TrustedExecutionConfiguration,
		Volumes:                       td.Volumes,
	}
	if len(tags) > 0 {
		in.Tags = tags
	}
	return in, nil
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
