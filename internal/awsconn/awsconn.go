// Package awsconn is what a provider that calls AWS APIs (CloudFormation, S3,
// ECS, Elastic Beanstalk, Step Functions, Secrets Manager, SSM) is handed for
// an aws connection: the SDK's configuration with the connection's region
// and credentials (an assumed role already in them), and where each service
// answers when the connection names an endpoint of its own (LocalStack, moto,
// MinIO, an on-premises S3). Providers build their service clients with
// Client options from here, so that every one honours the same endpoint and
// path-style rules.
package awsconn

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Conn is one aws connection, ready for the SDK.
type Conn struct {
	// Name is the connection's name in sluice.
	Name string
	// Config holds the region and the credentials provider (static keys, the
	// worker's own chain, or an STS assumed role refreshed before expiry).
	Config aws.Config
	// Endpoint, when set, is where every service answers; Endpoints[service]
	// overrides it for one service, keyed by the SDK's lower-case service id
	// ("s3", "cloudformation", "ecs", "sfn", "elasticbeanstalk", "sts",
	// "secretsmanager", "ssm", "codedeploy", "lambda", "monitoring").
	Endpoint  string
	Endpoints map[string]string
	// S3PathStyle addresses buckets in the path (http://host/bucket/key), as
	// most S3-compatible servers need; it is on whenever an endpoint is set
	// unless the connection says otherwise.
	S3PathStyle bool
	// Bucket is a bucket of the connection's for what an action must upload
	// before an API can use it: CloudFormation templates over 51,200 bytes,
	// Elastic Beanstalk application versions. "" when it has none.
	Bucket string
}

// EndpointFor returns where service answers for this connection, or "" for
// AWS's own endpoint.
func (c *Conn) EndpointFor(service string) string {
	if e := c.Endpoints[strings.ToLower(service)]; e != "" {
		return e
	}
	return c.Endpoint
}

// Static is a connection with fixed keys at one endpoint: what tests against
// an AWS-compatible server (moto) use, and what a connection with a secret's
// keys and no role comes to.
func Static(name, region, endpoint, accessKey, secretKey, sessionToken string) *Conn {
	return &Conn{
		Name: name,
		Config: aws.Config{
			Region:      region,
			Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(accessKey, secretKey, sessionToken)),
		},
		Endpoint:    endpoint,
		S3PathStyle: endpoint != "",
	}
}
