package worker

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/wire"
)

// connAPI is the fake server with the job protocol's connection call.
type connAPI struct {
	*fakeAPI
	mu     sync.Mutex
	grants map[string]awsconn.Settings
	asked  []string
}

func (c *connAPI) JobConnection(ctx context.Context, jobID, worker, name string) (awsconn.Settings, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked = append(c.asked, jobID+"/"+worker+"/"+name)
	g, ok := c.grants[name]
	if !ok {
		return awsconn.Settings{}, errors.New("job j1 does not name connection " + name)
	}
	return g, nil
}

// TestJobAWSConnection: a provider's job.AWS asks the server for the
// connection as the worker holding the job, opens it with the role assumed
// (against moto's STS), opens it once per job, and the connection's keys
// are masked in the job's log and result.
func TestJobAWSConnection(t *testing.T) {
	moto := mototest.Start(t)
	const secret = "worker-test-secret-key"
	api := &connAPI{fakeAPI: newFakeAPI(), grants: map[string]awsconn.Settings{
		"prod": {
			Name: "prod", Region: mototest.Region, Endpoint: moto.URL, S3PathStyle: true,
			Role: &awsconn.Role{ARN: "arn:aws:iam::123456789012:role/deployer"},
			Keys: &awsconn.Keys{AccessKeyID: "AKIAWORKERTEST000001", SecretAccessKey: secret},
		},
	}}
	api.jobs = []*wire.Job{{ID: "j1", ActionTypeID: wire.ActionTypeID{Provider: "Fake"}}}
	startWorker(t, api, map[string]provider.Provider{"Fake": provider.Func(func(ctx context.Context, j *provider.Job) (provider.Result, error) {
		c, err := j.AWS(ctx, "prod")
		if err != nil {
			return provider.Result{}, err
		}
		if again, err := j.AWS(ctx, "prod"); err != nil || again != c {
			return provider.Result{}, errors.New("the connection was opened twice")
		}
		out, err := sts.NewFromConfig(c.Config, func(o *sts.Options) { o.BaseEndpoint = aws.String(c.EndpointFor("sts")) }).
			GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return provider.Result{}, err
		}
		io.WriteString(j.Log, "as "+aws.ToString(out.Arn)+" with "+secret+"\n")
		if _, err := j.AWS(ctx, "other"); err != nil {
			return provider.Result{}, errors.New(err.Error() + " (key " + secret + ")")
		}
		return provider.Result{}, nil
	})})
	res := waitResult(t, api.fakeAPI)
	if res.Succeeded || !strings.Contains(res.Message, "connection other: job j1 does not name connection other") || strings.Contains(res.Message, secret) {
		t.Fatalf("result %+v", res)
	}
	log := string(res.Log) + api.sent()
	if !strings.Contains(log, "assumed-role/deployer/sluice-j1") || strings.Contains(log, secret) {
		t.Fatalf("log %q: want the assumed role, and the key masked", log)
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if want := []string{"j1/w1/prod", "j1/w1/other"}; strings.Join(api.asked, " ") != strings.Join(want, " ") {
		t.Fatalf("asked %v, want %v", api.asked, want)
	}
}
