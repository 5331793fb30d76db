package client

import (
	"context"
	"github.com/sluice-ci/sluice/internal/wire"
	"net/http"
)

// PutJobSuccessResult answers for a job as CodePipeline's PutJobSuccessResult
// does: done, or, with a continuation token, to be invoked again.
func (c *Client) PutJobSuccessResult(ctx context.Context, jobID string, res wire.JobSuccess) error {
	return c.doJSON(ctx, http.MethodPost, "/api/v1/jobs/"+esc(jobID)+"/success", res, nil)
}

// PutJobFailureResult answers for a job that failed.
func (c *Client) PutJobFailureResult(ctx context.Context, jobID string, res wire.JobFailure) error {
	return c.doJSON(ctx, http.MethodPost, "/api/v1/jobs/"+esc(jobID)+"/failure", res, nil)
}

// JobAWSCredentials asks for the AWS credentials of the function a job
// invokes (with the job's token).
func (c *Client) JobAWSCredentials(ctx context.Context, jobID string) (wire.AWSCredentials, error) {
	var out wire.AWSCredentials
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/jobs/"+esc(jobID)+"/aws-credentials", struct{}{}, &out)
	return out, err
}
