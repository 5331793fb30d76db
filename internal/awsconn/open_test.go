package awsconn_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
)

func callerARN(t *testing.T, c *awsconn.Conn) string {
	t.Helper()
	client := sts.NewFromConfig(c.Config, func(o *sts.Options) { o.BaseEndpoint = aws.String(c.EndpointFor("sts")) })
	out, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Arn)
}

// TestOpenAssumesRole: a connection with keys from its secret and a role
// calls AWS as the assumed role, with the session name given.
func TestOpenAssumesRole(t *testing.T) {
	moto := mototest.Start(t)
	ctx := context.Background()
	g := awsconn.Settings{
		Name: "prod", Region: mototest.Region, Endpoint: moto.URL, S3PathStyle: true,
		Role: &awsconn.Role{ARN: "arn:aws:iam::123456789012:role/deployer", ExternalID: "ext-42"},
		Keys: &awsconn.Keys{AccessKeyID: "AKIAEXAMPLEKEY000001", SecretAccessKey: "test"},
	}
	c, err := awsconn.Open(ctx, g, awsconn.SessionNameFor("job/1"))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := c.Config.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID == g.Keys.AccessKeyID || creds.SessionToken == "" || !creds.CanExpire {
		t.Fatalf("credentials %+v are not an assumed role's session", creds)
	}
	arn := callerARN(t, c)
	if want := "assumed-role/deployer/sluice-job1"; !strings.Contains(arn, want) {
		t.Fatalf("caller %s, want %s", arn, want)
	}
	if !c.S3PathStyle || c.EndpointFor("s3") != moto.URL {
		t.Fatalf("endpoint/path style not kept: %+v", c)
	}

	// Without a role, the keys are used as they are.
	g.Role = nil
	c, err = awsconn.Open(ctx, g, "")
	if err != nil {
		t.Fatal(err)
	}
	if creds, _ := c.Config.Credentials.Retrieve(ctx); creds.AccessKeyID != g.Keys.AccessKeyID {
		t.Fatalf("static keys not used: %s", creds.AccessKeyID)
	}
}

// TestOpenFromWorker: fromWorker takes the worker's own environment.
func TestOpenFromWorker(t *testing.T) {
	moto := mototest.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAWORKERKEY0000001")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	g := awsconn.Settings{
		Name: "w", Region: mototest.Region, Endpoint: moto.URL, FromWorker: true,
		Role: &awsconn.Role{ARN: "arn:aws:iam::123456789012:role/ops", SessionName: "nightly"},
	}
	c, err := awsconn.Open(context.Background(), g, "ignored")
	if err != nil {
		t.Fatal(err)
	}
	if arn := callerARN(t, c); !strings.Contains(arn, "assumed-role/ops/nightly") {
		t.Fatalf("caller %s", arn)
	}
}

// TestOpenNoCredentials: a grant with neither keys nor fromWorker is refused.
func TestOpenNoCredentials(t *testing.T) {
	_, err := awsconn.Open(context.Background(), awsconn.Settings{Name: "x", Region: "us-east-1"}, "")
	if err == nil || !strings.Contains(err.Error(), "connection x") {
		t.Fatalf("err = %v", err)
	}
}
