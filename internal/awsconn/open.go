package awsconn

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// DefaultSessionName is the role session name when a connection gives none:
// what CloudTrail shows for what sluice did.
const DefaultSessionName = "sluice"

// Open makes the Conn for a connection the server granted a job: static keys
// from the connection's secret, or the worker's own default chain (AWS_*
// variables, shared config, the instance profile or task role); then, when
// the connection has a role, STS AssumeRole with its external id and session
// name, refreshed by the credentials cache before the session expires. The
// credentials are fetched once here, so that a bad key or a role that will
// not be assumed fails the action at once, naming the connection.
func Open(ctx context.Context, c Settings, sessionName string) (*Conn, error) {
	conn := &Conn{
		Name: c.Name, Endpoint: c.Endpoint, Endpoints: c.Endpoints,
		S3PathStyle: c.S3PathStyle, Bucket: c.Bucket,
	}
	switch {
	case c.Keys != nil:
		conn.Config = aws.Config{
			Region: c.Region,
			Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
				c.Keys.AccessKeyID, c.Keys.SecretAccessKey, c.Keys.SessionToken)),
		}
	case c.FromWorker:
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(c.Region))
		if err != nil {
			return nil, fmt.Errorf("connection %s: the worker's aws configuration: %w", c.Name, err)
		}
		conn.Config = cfg
	default:
		return nil, fmt.Errorf("connection %s: the server sent no credentials", c.Name)
	}
	if r := c.Role; r != nil {
		stsClient := sts.NewFromConfig(conn.Config, func(o *sts.Options) {
			if ep := conn.EndpointFor("sts"); ep != "" {
				o.BaseEndpoint = aws.String(ep)
			}
		})
		name := r.SessionName
		if name == "" {
			name = sessionName
		}
		if name == "" {
			name = DefaultSessionName
		}
		provider := stscreds.NewAssumeRoleProvider(stsClient, r.ARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = name
			if r.ExternalID != "" {
				o.ExternalID = aws.String(r.ExternalID)
			}
			if r.DurationSeconds > 0 {
				o.Duration = time.Duration(r.DurationSeconds) * time.Second
			}
		})
		// The cache asks STS again before the session expires (5 minutes
		// early, and jittered), so long deploys keep working.
		conn.Config.Credentials = aws.NewCredentialsCache(provider, func(o *aws.CredentialsCacheOptions) {
			o.ExpiryWindow = 5 * time.Minute
			o.ExpiryWindowJitterFrac = 0.2
		})
	}
	if _, err := conn.Config.Credentials.Retrieve(ctx); err != nil {
		if c.Role != nil {
			return nil, fmt.Errorf("connection %s: assume role %s: %w", c.Name, c.Role.ARN, err)
		}
		return nil, fmt.Errorf("connection %s: credentials: %w", c.Name, err)
	}
	return conn, nil
}

// SessionNameFor is a role session name naming a job (STS allows 2-64 of
// letters, digits and +=,.@-_).
func SessionNameFor(jobID string) string {
	out := []byte("sluice-")
	for i := 0; i < len(jobID) && len(out) < 64; i++ {
		ch := jobID[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.' || ch == '@' || ch == '=' || ch == ',' || ch == '+' {
			out = append(out, ch)
		}
	}
	return string(out)
}
