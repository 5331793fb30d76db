package codedeploy

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cd "github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/provider/s3deploy"
)

// Where the configuration names an aws connection (`Connection`), the
// action deploys with AWS CodeDeploy itself, as CodePipeline does: the
// input artifact, zipped, goes to the connection's bucket; CreateDeployment
// names it as an S3 revision (bundleType zip) for ApplicationName and
// DeploymentGroupName; GetDeployment is followed until the deployment
// succeeds, fails or is stopped.

// Client is a CodeDeploy client for conn, at its codedeploy endpoint when
// it names one.
func Client(conn *awsconn.Conn) *cd.Client {
	return cd.NewFromConfig(conn.Config, func(o *cd.Options) {
		if e := conn.EndpointFor("codedeploy"); e != "" {
			o.BaseEndpoint = aws.String(e)
		}
	})
}

// RevisionKey is where the revision of a job goes in the connection's
// bucket: one key per execution, action and attempt.
func RevisionKey(job *provider.Job) string {
	return fmt.Sprintf("sluice/%s/%s/%s/%d/revision.zip", job.Pipeline, job.ExecutionID, job.Action, max(job.Attempt, 1))
}

// ConsoleURL is the deployment's page in the AWS console.
func ConsoleURL(region, id string) string {
	return fmt.Sprintf("https://%s.console.aws.amazon.com/codesuite/codedeploy/deployments/%s?region=%s", region, id, region)
}

func (p Provider) runAWS(ctx context.Context, job *provider.Job) (provider.Result, error) {
	cfg := job.Configuration
	if job.AWS == nil {
		return provider.Result{}, fmt.Errorf("this worker has no aws connections")
	}
	conn, err := job.AWS(ctx, cfg["Connection"])
	if err != nil {
		return provider.Result{}, fmt.Errorf("aws connection: %w", err)
	}
	if conn.Bucket == "" {
		return provider.Result{}, fmt.Errorf("connection %s names no bucket: CodeDeploy takes its revision from S3, so give the connection a bucket", conn.Name)
	}
	zip, err := p.zipRevision(ctx, job)
	if err != nil {
		return provider.Result{}, err
	}
	defer os.Remove(zip.Name())
	defer zip.Close()
	key := RevisionKey(job)
	put, err := s3deploy.Client(conn).PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(conn.Bucket), Key: aws.String(key), Body: zip, ContentType: aws.String("application/zip"),
	})
	if err != nil {
		return provider.Result{}, fmt.Errorf("upload the revision to s3://%s/%s: %w", conn.Bucket, key, err)
	}
	loc := &cdtypes.S3Location{Bucket: aws.String(conn.Bucket), Key: aws.String(key), BundleType: cdtypes.BundleTypeZip, ETag: put.ETag, Version: put.VersionId}
	fmt.Fprintf(job.Log, "revision s3://%s/%s\n", conn.Bucket, key)
	client := Client(conn)
	app, group := cfg["ApplicationName"], cfg["DeploymentGroupName"]
	out, err := client.CreateDeployment(ctx, &cd.CreateDeploymentInput{
		ApplicationName: aws.String(app), DeploymentGroupName: aws.String(group),
		Revision:    &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeS3, S3Location: loc},
		Description: aws.String(fmt.Sprintf("sluice pipeline %s execution %s action %s", job.Pipeline, job.ExecutionID, job.Action)),
	})
	if err != nil {
		return provider.Result{}, fmt.Errorf("CodeDeploy CreateDeployment for %s/%s: %w", app, group, err)
	}
	id := aws.ToString(out.DeploymentId)
	link := ConsoleURL(conn.Config.Region, id)
	fmt.Fprintf(job.Log, "deployment %s to %s/%s: %s\n", id, app, group, link)
	vars := map[string]string{"DeploymentId": id, "DeploymentUrl": link}
	poll := p.Poll
	if poll <= 0 {
		poll = 15 * time.Second
	}
	last := ""
	for {
		got, err := client.GetDeployment(ctx, &cd.GetDeploymentInput{DeploymentId: aws.String(id)})
		if err != nil {
			return provider.Result{OutputVariables: vars}, fmt.Errorf("follow deployment %s (%s): %w", id, link, err)
		}
		info := got.DeploymentInfo
		status := string(info.Status)
		if o := info.DeploymentOverview; o != nil && status != last {
			fmt.Fprintf(job.Log, "%s: pending %d, in progress %d, succeeded %d, failed %d, skipped %d\n",
				status, o.Pending, o.InProgress, o.Succeeded, o.Failed, o.Skipped)
		}
		last = status
		switch info.Status {
		case cdtypes.DeploymentStatusSucceeded:
			return provider.Result{Summary: fmt.Sprintf("deployment %s Succeeded: %s", id, link), OutputVariables: vars}, nil
		case cdtypes.DeploymentStatusFailed, cdtypes.DeploymentStatusStopped:
			why := ""
			if e := info.ErrorInformation; e != nil && aws.ToString(e.Message) != "" {
				why = fmt.Sprintf(": %s %s", e.Code, aws.ToString(e.Message))
			}
			if r := info.RollbackInfo; r != nil && aws.ToString(r.RollbackDeploymentId) != "" {
				why += "; rolled back by " + aws.ToString(r.RollbackDeploymentId)
			}
			return provider.Result{OutputVariables: vars}, fmt.Errorf("deployment %s %s%s (%s)", id, status, why, link)
		}
		select {
		case <-ctx.Done():
			return provider.Result{OutputVariables: vars}, ctx.Err()
		case <-time.After(poll):
		}
	}
}
