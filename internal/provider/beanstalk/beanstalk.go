// Package beanstalk is the ElasticBeanstalk deploy provider: the input
// artifact becomes a new application version, uploaded to the connection's
// bucket, and the environment is updated to it and waited on until it is
// ready, all through the AWS SDK, as CodePipeline's Elastic Beanstalk deploy
// action does.
package beanstalk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	eb "github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk"
	"github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/provider"
)

// Configuration keys, as CodePipeline names them.
const (
	ConfigApplicationName = "ApplicationName"
	ConfigEnvironmentName = "EnvironmentName"
	ConfigConnection      = "Connection"
)

// DefaultPollInterval is how often the environment is read while waiting.
const DefaultPollInterval = 10 * time.Second

// DefaultTimeout bounds the wait for the environment; the action's own
// timeout (timeoutInMinutes) ends it sooner when set lower.
const DefaultTimeout = 60 * time.Minute

// maxLabel is Elastic Beanstalk's bound on a version label.
const maxLabel = 100

// Provider is the ElasticBeanstalk provider.
type Provider struct {
	// PollInterval is how often DescribeEnvironments is called; 0 means
	// DefaultPollInterval.
	PollInterval time.Duration
	// Timeout bounds the wait for the environment; 0 means DefaultTimeout.
	Timeout time.Duration
}

// Run implements provider.Provider.
func (p Provider) Run(ctx context.Context, job *provider.Job) (provider.Result, error) {
	cfg := job.Configuration
	app, env := cfg[ConfigApplicationName], cfg[ConfigEnvironmentName]
	if app == "" || env == "" {
		return provider.Result{}, errors.New("ApplicationName and EnvironmentName are required")
	}
	if job.AWS == nil {
		return provider.Result{}, errors.New("this worker has no aws connections")
	}
	conn, err := job.AWS(ctx, cfg[ConfigConnection])
	if err != nil {
		return provider.Result{}, fmt.Errorf("aws connection: %w", err)
	}
	if conn.Bucket == "" {
		return provider.Result{}, fmt.Errorf("aws connection %s names no bucket to upload application versions to", conn.Name)
	}
	client := Client(conn)
	before, err := describe(ctx, client, app, env)
	if err != nil {
		return provider.Result{}, err
	}
	if before.Status == types.EnvironmentStatusTerminated || before.Status == types.EnvironmentStatusTerminating {
		return provider.Result{}, fmt.Errorf("environment %s is %s", env, before.Status)
	}

	label := VersionLabel(job.ExecutionID, job.Action, job.Attempt)
	key := "sluice/" + safe.ReplaceAllString(app, "-") + "/" + label + ".zip"
	if err := upload(ctx, conn, job, key); err != nil {
		return provider.Result{}, err
	}
	fmt.Fprintf(job.Log, "uploaded the source bundle to s3://%s/%s\n", conn.Bucket, key)
	if _, err := client.CreateApplicationVersion(ctx, &eb.CreateApplicationVersionInput{
		ApplicationName: aws.String(app),
		VersionLabel:    aws.String(label),
		Description:     aws.String(fmt.Sprintf("sluice pipeline %s, execution %s, action %s", job.Pipeline, job.ExecutionID, job.Action)),
		SourceBundle:    &types.S3Location{S3Bucket: aws.String(conn.Bucket), S3Key: aws.String(key)},
	}); err != nil {
		return provider.Result{}, fmt.Errorf("create application version %s of %s: %w", label, app, err)
	}
	fmt.Fprintf(job.Log, "created application version %s of %s\n", label, app)
	since := time.Now()
	up, err := client.UpdateEnvironment(ctx, &eb.UpdateEnvironmentInput{
		ApplicationName: aws.String(app),
		EnvironmentName: aws.String(env),
		VersionLabel:    aws.String(label),
	})
	if err != nil {
		return provider.Result{}, fmt.Errorf("update environment %s to %s: %w", env, label, err)
	}
	// The environment's own clock dates its events: take the update's
	// time from it where it gives one.
	if up.DateUpdated != nil {
		since = *up.DateUpdated
	}
	fmt.Fprintf(job.Log, "updating environment %s to version %s\n", env, label)
	if err := p.wait(ctx, client, app, env, label, since, job); err != nil {
		return provider.Result{}, err
	}
	return provider.Result{Summary: fmt.Sprintf("environment %s runs version %s", env, label)}, nil
}

// Client builds an Elastic Beanstalk client for the connection.
func Client(conn *awsconn.Conn) *eb.Client {
	return eb.NewFromConfig(conn.Config, func(o *eb.Options) {
		if e := conn.EndpointFor("elasticbeanstalk"); e != "" {
			o.BaseEndpoint = aws.String(e)
		}
	})
}

// S3Client builds an S3 client for the connection, addressing buckets as
// the connection says.
func S3Client(conn *awsconn.Conn) *s3.Client {
	return s3.NewFromConfig(conn.Config, func(o *s3.Options) {
		if e := conn.EndpointFor("s3"); e != "" {
			o.BaseEndpoint = aws.String(e)
		}
		o.UsePathStyle = conn.S3PathStyle
	})
}

var safe = lazyregexp.New(`[^0-9A-Za-z._-]`)

// VersionLabel names the application version after the pipeline execution
// and the action (and the attempt, from the second), so each deployment
// has its own, a retry does not collide with the attempt before it, and the
// label says where it came from. It fits Elastic Beanstalk's 100
// characters.
func VersionLabel(executionID, action string, attempt int) string {
	l := "sluice-" + safe.ReplaceAllString(executionID, "-") + "-" + safe.ReplaceAllString(action, "-")
	suffix := ""
	if attempt > 1 {
		suffix = "-" + strconv.Itoa(attempt)
	}
	if len(l)+len(suffix) > maxLabel {
		l = l[:maxLabel-len(suffix)]
	}
	return l + suffix
}

// upload zips the input artifact (extracted in WorkDir) and puts it at key
// in the connection's bucket.
func upload(ctx context.Context, conn *awsconn.Conn, job *provider.Job, key string) error {
	// Not in ScratchDir, which may be memory: a bundle can be large. Not
	// under WorkDir either, which is what is zipped.
	f, err := os.CreateTemp("", "sluice-bundle-*.zip")
	if err != nil {
		return fmt.Errorf("source bundle: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := artifact.Zip(ctx, f, job.WorkDir, []string{"**/*"}); err != nil {
		return fmt.Errorf("source bundle: %w", err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return fmt.Errorf("source bundle: %w", err)
	}
	if _, err := S3Client(conn).PutObject(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(conn.Bucket),
		Key:         aws.String(key),
		Body:        f,
		ContentType: aws.String("application/zip"),
	}); err != nil {
		return fmt.Errorf("upload the source bundle to s3://%s/%s: %w", conn.Bucket, key, err)
	}
	return nil
}

func describe(ctx context.Context, client *eb.Client, app, env string) (*types.EnvironmentDescription, error) {
	out, err := client.DescribeEnvironments(ctx, &eb.DescribeEnvironmentsInput{
		ApplicationName:  aws.String(app),
		EnvironmentNames: []string{env},
	})
	if err != nil {
		return nil, fmt.Errorf("describe environment %s of %s: %w", env, app, err)
	}
	for i, e := range out.Environments {
		if aws.ToString(e.EnvironmentName) == env && e.Status != types.EnvironmentStatusTerminated {
			return &out.Environments[i], nil
		}
	}
	return nil, fmt.Errorf("application %s has no environment %s", app, env)
}

// Progress says where the update to label stands from the environment as
// DescribeEnvironments returns it and the ERROR and FATAL events since the
// update began: done when the environment is Ready on label with no such
// event; failed when it is Ready on another version (rolled back) or with
// errors (a deployment that failed on its instances), or is going away.
func Progress(env *types.EnvironmentDescription, label string, errorEvents []types.EventDescription) (done bool, err error) {
	switch env.Status {
	case types.EnvironmentStatusReady:
	case types.EnvironmentStatusTerminating, types.EnvironmentStatusTerminated, types.EnvironmentStatusAborting:
		return false, failure(fmt.Sprintf("environment %s is %s", aws.ToString(env.EnvironmentName), env.Status), errorEvents)
	default:
		return false, nil
	}
	if v := aws.ToString(env.VersionLabel); v != label {
		return false, failure(fmt.Sprintf("environment %s is ready on version %s, not %s", aws.ToString(env.EnvironmentName), v, label), errorEvents)
	}
	if len(errorEvents) > 0 {
		return false, failure(fmt.Sprintf("the update of environment %s to %s failed", aws.ToString(env.EnvironmentName), label), errorEvents)
	}
	return true, nil
}

// failure names the events (oldest first, as they happened) after msg.
func failure(msg string, events []types.EventDescription) error {
	var parts []string
	for i := len(events) - 1; i >= 0; i-- {
		parts = append(parts, fmt.Sprintf("%s: %s", events[i].Severity, strings.TrimSpace(aws.ToString(events[i].Message))))
	}
	if len(parts) > 0 {
		msg += " (" + strings.Join(parts, "; ") + ")"
	}
	return errors.New(msg)
}

// maxEvents bounds the events named in a failure.
const maxEvents = 10

func (p Provider) wait(ctx context.Context, client *eb.Client, app, env, label string, since time.Time, job *provider.Job) error {
	interval := p.PollInterval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTimer(interval)
	defer tick.Stop()
	last := types.EnvironmentStatus("")
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintf(job.Log, "stopped waiting for environment %s; its update goes on in Elastic Beanstalk\n", env)
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("environment %s was not ready on %s within %s (it is %s); its update goes on in Elastic Beanstalk", env, label, timeout, last)
		case <-tick.C:
		}
		e, err := describe(ctx, client, app, env)
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			return err
		}
		if e.Status != last {
			fmt.Fprintf(job.Log, "environment %s is %s (version %s, health %s)\n", env, e.Status, aws.ToString(e.VersionLabel), e.Health)
			last = e.Status
		}
		var events []types.EventDescription
		if e.Status != types.EnvironmentStatusUpdating && e.Status != types.EnvironmentStatusLaunching {
			ev, err := client.DescribeEvents(ctx, &eb.DescribeEventsInput{
				ApplicationName: aws.String(app),
				EnvironmentName: aws.String(env),
				StartTime:       aws.Time(since),
				Severity:        types.EventSeverityError, // and FATAL: "this severity or higher"
				MaxRecords:      aws.Int32(maxEvents),
			})
			if err != nil {
				if ctx.Err() != nil {
					continue
				}
				return fmt.Errorf("describe events of environment %s: %w", env, err)
			}
			events = ev.Events
		}
		done, err := Progress(e, label, events)
		if err != nil {
			return err
		}
		if done {
			fmt.Fprintf(job.Log, "environment %s is ready on version %s\n", env, label)
			return nil
		}
		tick.Reset(interval)
	}
}
