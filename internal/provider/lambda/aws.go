package lambda

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"os"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/function"
	"github.com/sluice-ci/sluice/internal/provider"
)

// awsEnv points a command function's AWS SDK at sluice's AWS-compatible
// endpoint (the server the worker talks to) with the credentials the server
// makes for the function's invocation, asked with the job's token: the
// function's role and its job's scope (service.JobFunctionCredentials). A
// server that gives none leaves the function without, which the log says.
func (p Provider) awsEnv(ctx context.Context, job *provider.Job, fn *function.Function, log io.Writer) []string {
	var opts []client.Option
	if p.CACertFile != "" {
		pem, err := os.ReadFile(p.CACertFile)
		if err != nil {
			fmt.Fprintf(log, "[sluice] function %s gets no AWS credentials: %v\n", fn.Name, err)
			return nil
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		opts = append(opts, client.WithRootCAs(pool))
	}
	c, err := client.New(job.ServerURL, job.JobToken, opts...).JobAWSCredentials(ctx, job.ID)
	if err != nil {
		fmt.Fprintf(log, "[sluice] function %s gets no AWS credentials: %v\n", fn.Name, err)
		return nil
	}
	env := []string{"AWS_ENDPOINT_URL=" + job.ServerURL, "AWS_REGION=" + c.Region, "AWS_DEFAULT_REGION=" + c.Region,
		"AWS_LAMBDA_FUNCTION_NAME=" + fn.Name,
		// Nothing of the worker's own AWS configuration applies.
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
	if c.AccessKeyID != "" {
		env = append(env, "AWS_ACCESS_KEY_ID="+c.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey)
	}
	return env
}
