// Package connection reads and checks sluice's connections: named ways of
// reaching another system that actions pick with `Connection:` (or
// CodePipeline's `ConnectionArn`) in their configuration. Kind aws is an AWS
// account (or an AWS-compatible cloud): a region, optional endpoints, where
// the credentials come from (a sluice secret, or the worker's own
// environment) and an optional role to assume. The git host kinds (github,
// github-enterprise, gitlab, gitlab-self-managed, bitbucket, gitea) are a
// host's base URL, the secret holding a token or GitHub App key, the secret
// its webhooks are signed with, and the CodeStar/CodeConnections ARNs that
// name it in imported definitions. Credentials are never in a connection: it
// names the secret holding them.
package connection

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/hostconn"
	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/githost"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// Kinds of connections. The git host kinds are the ones a worker is handed
// (package hostconn), named once there.
const (
	KindAWS = "aws"

	KindGitHub            = hostconn.GitHub
	KindGitHubEnterprise  = hostconn.GitHubEnterprise
	KindGitLab            = hostconn.GitLab
	KindGitLabSelfManaged = hostconn.GitLabSelfManaged
	KindBitbucket         = hostconn.Bitbucket
	KindGitea             = hostconn.Gitea
)

// GitHostKinds are the kinds that name a git host, in the order errors list
// them.
var GitHostKinds = []string{KindGitHub, KindGitHubEnterprise, KindGitLab, KindGitLabSelfManaged, KindBitbucket, KindGitea}

// Kinds are every kind of connection.
var Kinds = append([]string{KindAWS}, GitHostKinds...)

// defaultHostURLs are the base URLs of the hosted services, used when a
// connection of their kind gives none. The other git host kinds must give
// one.
var defaultHostURLs = map[string]string{
	KindGitHub:    "https://github.com",
	KindGitLab:    "https://gitlab.com",
	KindBitbucket: "https://bitbucket.org",
}

// IsGitHost reports whether c names a git host rather than a cloud account.
func (c *Connection) IsGitHost() bool { return slices.Contains(GitHostKinds, c.Kind) }

// HostURL is the git host's base URL: the connection's url, or the hosted
// service's for github, gitlab and bitbucket.
func (c *Connection) HostURL() string {
	if c.URL != "" {
		return strings.TrimRight(c.URL, "/")
	}
	return defaultHostURLs[c.Kind]
}

// Services are the lower-case SDK service ids an endpoint may be given for.
var Services = []string{"s3", "sts", "cloudformation", "ecs", "elasticbeanstalk", "sfn", "secretsmanager", "ssm", "iam", "ecr", "logs", "monitoring", "codedeploy", "lambda"}

// Connection is a connection definition.
type Connection struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Region is the AWS region the connection's clients use.
	Region string `json:"region"`
	// Endpoint, when set, is where every service answers (an AWS-compatible
	// cloud, LocalStack, moto, MinIO); Endpoints overrides it per service.
	Endpoint  string            `json:"endpoint,omitempty"`
	Endpoints map[string]string `json:"endpoints,omitempty"`
	// S3PathStyle, when set, says whether buckets are addressed in the path;
	// unset means path style exactly when an endpoint is given.
	S3PathStyle *bool `json:"s3PathStyle,omitempty"`
	// Bucket is a bucket for what an action must upload before an API can
	// use it (large CloudFormation templates, application versions).
	Bucket string `json:"bucket,omitempty"`
	// Credentials says where the keys come from.
	Credentials Credentials `json:"credentials"`
	// Role, when set, is assumed (STS AssumeRole) with those credentials.
	Role *Role `json:"role,omitempty"`

	// URL is a git host's base URL (https://gitea.example.com); required
	// for github-enterprise, gitlab-self-managed and gitea.
	URL string `json:"url,omitempty"`
	// Token names the sluice secret holding a git host's access token
	// (a personal, project or repository access token, or an app password
	// as user:password for Bitbucket). Exactly one of Token and App.
	Token string `json:"token,omitempty"`
	// App is a GitHub App installation (github and github-enterprise only).
	App *App `json:"app,omitempty"`
	// WebhookSecret names the sluice secret the host's webhooks are signed
	// with (an HMAC key for GitHub, Gitea and Bitbucket; the token GitLab
	// sends in X-Gitlab-Token). For kind aws it is the token the object
	// store's S3 event notifications carry (the password of basic auth in
	// the notification URL, or a bearer token). Without it, webhooks for the
	// connection are refused.
	WebhookSecret string `json:"webhookSecret,omitempty"`
	// ARNs are CodeStar/CodeConnections connection ARNs that name this
	// connection in imported definitions' ConnectionArn, besides the
	// ARN ending in connection/NAME.
	ARNs []string `json:"arns,omitempty"`
}

// App is a GitHub App's installation: sluice signs a JWT with the app's
// private key and exchanges it for an installation token.
type App struct {
	ID             int64 `json:"id"`
	InstallationID int64 `json:"installationId"`
	// PrivateKeySecret names the sluice secret holding the app's PEM key.
	PrivateKeySecret string `json:"privateKeySecret"`
}

// Credentials: exactly one of Secret and FromWorker.
type Credentials struct {
	// Secret names a sluice secret holding JSON {"accessKeyId",
	// "secretAccessKey", "sessionToken"?}.
	Secret string `json:"secret,omitempty"`
	// FromWorker uses the worker's own environment (AWS_* variables, shared
	// config, the instance profile or task role): the SDK's default chain.
	FromWorker bool `json:"fromWorker,omitempty"`
}

// Role is a role to assume.
type Role struct {
	ARN             string `json:"arn"`
	ExternalID      string `json:"externalId,omitempty"`
	SessionName     string `json:"sessionName,omitempty"`
	DurationSeconds int    `json:"durationSeconds,omitempty"`
}

// SecretKeys are the keys of the JSON a connection's secret holds.
const (
	KeyAccessKeyID     = "accessKeyId"
	KeySecretAccessKey = "secretAccessKey"
	KeySessionToken    = "sessionToken"
)

var (
	nameRE    = lazyregexp.New(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
	regionRE  = lazyregexp.New(`^[a-z0-9-]{1,40}$`)
	roleARNRE = lazyregexp.New(`^arn:[a-z0-9-]+:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
	// sessionRE is STS's RoleSessionName pattern.
	bucketRE  = lazyregexp.New(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	sessionRE = lazyregexp.New(`^[\w+=,.@-]{2,64}$`)
	// externalRE is STS's ExternalId pattern.
	externalRE = lazyregexp.New(`^[\w+=,.@:/-]+$`)
)

// Validate checks c. The error, if any, is a yamlnode.ErrorList naming each
// problem's field; Parse adds the file's lines.
func (c *Connection) Validate() error { return c.validate().Err() }

func (c *Connection) validate() yamlnode.ErrorList {
	var errs yamlnode.ErrorList
	add := func(path, format string, args ...any) {
		errs = append(errs, &yamlnode.Error{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	switch {
	case c.Name == "":
		add("name", "required")
	case !nameRE.MatchString(c.Name):
		add("name", "%q is not a connection name (1-100 letters, digits, ., - and _, starting with a letter or digit)", c.Name)
	}
	switch {
	case c.Kind == "":
		add("kind", "required (%s)", strings.Join(Kinds, ", "))
		return errs
	case slices.Contains(GitHostKinds, c.Kind):
		return append(errs, c.validateGitHost()...)
	case c.Kind != KindAWS:
		add("kind", "%q is not a kind of connection (%s)", c.Kind, strings.Join(Kinds, ", "))
		return errs
	}
	for _, f := range []struct {
		name string
		set  bool
	}{{"url", c.URL != ""}, {"token", c.Token != ""}, {"app", c.App != nil}, {"arns", len(c.ARNs) > 0}} {
		if f.set {
			add(f.name, "is for git host connections (%s), not kind aws", strings.Join(GitHostKinds, ", "))
		}
	}
	if c.WebhookSecret != "" {
		if err := pipeline.CheckName(c.WebhookSecret); err != nil {
			add("webhookSecret", "%v", err)
		}
	}
	switch {
	case c.Region == "":
		add("region", "required (as in us-east-1)")
	case !regionRE.MatchString(c.Region):
		add("region", "%q is not a region name (as in us-east-1)", c.Region)
	}
	if c.Endpoint != "" {
		if err := checkURL(c.Endpoint); err != nil {
			add("endpoint", "%v", err)
		}
	}
	for _, k := range sortedKeys(c.Endpoints) {
		p := "endpoints." + k
		if !slices.Contains(Services, k) {
			add(p, "%q is not a service sluice calls (%s)", k, strings.Join(Services, ", "))
			continue
		}
		if err := checkURL(c.Endpoints[k]); err != nil {
			add(p, "%v", err)
		}
	}
	if c.Bucket != "" && !bucketRE.MatchString(c.Bucket) {
		add("bucket", "%q is not a bucket name (3-63 lower-case letters, digits, . and -)", c.Bucket)
	}
	switch cr := c.Credentials; {
	case cr.Secret != "" && cr.FromWorker:
		add("credentials", "give secret or fromWorker, not both")
	case cr.Secret == "" && !cr.FromWorker:
		add("credentials", "required: secret (a sluice secret holding accessKeyId and secretAccessKey) or fromWorker: true")
	case cr.Secret != "" && pipeline.CheckName(cr.Secret) != nil:
		add("credentials.secret", "%v", pipeline.CheckName(cr.Secret))
	}
	if r := c.Role; r != nil {
		switch {
		case r.ARN == "":
			add("role.arn", "required (arn:aws:iam::ACCOUNT:role/NAME)")
		case !roleARNRE.MatchString(r.ARN):
			add("role.arn", "%q is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)", r.ARN)
		}
		if r.ExternalID != "" && (len(r.ExternalID) < 2 || len(r.ExternalID) > 1224 || !externalRE.MatchString(r.ExternalID)) {
			add("role.externalId", "must be 2-1224 letters, digits and +=,.@:/-_")
		}
		if r.SessionName != "" && !sessionRE.MatchString(r.SessionName) {
			add("role.sessionName", "%q must be 2-64 letters, digits and +=,.@-_", r.SessionName)
		}
		if r.DurationSeconds != 0 && (r.DurationSeconds < 900 || r.DurationSeconds > 43200) {
			add("role.durationSeconds", "%d is out of range (900 to 43200)", r.DurationSeconds)
		}
	}
	return errs
}

// CheckARN says whether s is a connection ARN as CodePipeline spells it.
func CheckARN(s string) error { return pipeline.CheckConnectionARN(s) }

// MatchesARN reports whether a ConnectionArn names c: one of its arns, or
// any connection ARN whose id is c's name (so a definition can be written
// for sluice with arn:aws:codeconnections:us-east-1:000000000000:connection/NAME).
func (c *Connection) MatchesARN(arn string) bool {
	if slices.Contains(c.ARNs, arn) {
		return true
	}
	id, ok := pipeline.ConnectionARNID(arn)
	return ok && id == c.Name
}

func (c *Connection) validateGitHost() yamlnode.ErrorList {
	var errs yamlnode.ErrorList
	add := func(path, format string, args ...any) {
		errs = append(errs, &yamlnode.Error{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	for _, f := range []struct {
		name string
		set  bool
	}{{"region", c.Region != ""}, {"endpoint", c.Endpoint != ""}, {"endpoints", len(c.Endpoints) > 0},
		{"s3PathStyle", c.S3PathStyle != nil}, {"bucket", c.Bucket != ""}, {"role", c.Role != nil},
		{"credentials", c.Credentials != (Credentials{})}} {
		if f.set {
			add(f.name, "is for aws connections, not kind %s", c.Kind)
		}
	}
	switch {
	case c.URL == "" && defaultHostURLs[c.Kind] == "":
		add("url", "required for kind %s (the host's base URL, as in https://git.example.com)", c.Kind)
	case c.URL != "":
		if err := checkURL(c.URL); err != nil {
			add("url", "%v", err)
		}
	}
	switch {
	case c.Token != "" && c.App != nil:
		add("token", "give token or app, not both")
	case c.Token == "" && c.App == nil:
		add("token", "required: the name of a sluice secret holding an access token (or app, for a GitHub App)")
	case c.Token != "":
		if err := pipeline.CheckName(c.Token); err != nil {
			add("token", "%v", err)
		}
	}
	if a := c.App; a != nil {
		if c.Kind != KindGitHub && c.Kind != KindGitHubEnterprise {
			add("app", "GitHub Apps are for kinds github and github-enterprise, not %s", c.Kind)
		}
		if a.ID <= 0 {
			add("app.id", "required (the app's numeric id)")
		}
		if a.InstallationID <= 0 {
			add("app.installationId", "required (the installation's numeric id)")
		}
		switch {
		case a.PrivateKeySecret == "":
			add("app.privateKeySecret", "required (a sluice secret holding the app's PEM private key)")
		case pipeline.CheckName(a.PrivateKeySecret) != nil:
			add("app.privateKeySecret", "%v", pipeline.CheckName(a.PrivateKeySecret))
		}
	}
	if c.WebhookSecret != "" {
		if err := pipeline.CheckName(c.WebhookSecret); err != nil {
			add("webhookSecret", "%v", err)
		}
	}
	for i, arn := range c.ARNs {
		if err := CheckARN(arn); err != nil {
			add(yamlnode.Index("arns", i), "%v", err)
		}
	}
	return errs
}

// PathStyle is whether S3 buckets are addressed in the path.
func (c *Connection) PathStyle() bool {
	if c.S3PathStyle != nil {
		return *c.S3PathStyle
	}
	return c.Endpoint != "" || c.Endpoints["s3"] != ""
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http or https URL", s)
	}
	if u.User != nil {
		return fmt.Errorf("must not hold credentials: name a secret in credentials.secret")
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ParseKeys reads a connection secret's value: JSON {"accessKeyId",
// "secretAccessKey", "sessionToken"?}. The error never quotes the value.
func ParseKeys(value []byte) (awsconn.Keys, error) {
	var k awsconn.Keys
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&k); err != nil {
		return awsconn.Keys{}, fmt.Errorf(`must be JSON {"%s": ..., "%s": ..., "%s": ... (optional)} with nothing else`, KeyAccessKeyID, KeySecretAccessKey, KeySessionToken)
	}
	if k.AccessKeyID == "" || k.SecretAccessKey == "" {
		return awsconn.Keys{}, fmt.Errorf("must hold %s and %s", KeyAccessKeyID, KeySecretAccessKey)
	}
	return k, nil
}

// Settings is c as the job protocol hands it to a worker, with keys (nil
// for a connection using the worker's own identity).
func (c *Connection) Settings(keys *awsconn.Keys) awsconn.Settings {
	s := awsconn.Settings{
		Name: c.Name, Region: c.Region, Endpoint: c.Endpoint, Endpoints: c.Endpoints,
		S3PathStyle: c.PathStyle(), Bucket: c.Bucket, FromWorker: c.Credentials.FromWorker, Keys: keys,
	}
	if r := c.Role; r != nil {
		s.Role = &awsconn.Role{ARN: r.ARN, ExternalID: r.ExternalID, SessionName: r.SessionName, DurationSeconds: r.DurationSeconds}
	}
	return s
}

// GitHost is the githost speaking for c's kind, "" for kinds that are not
// git hosts.
func (c *Connection) GitHost() githost.Host {
	switch c.Kind {
	case KindGitHub, KindGitHubEnterprise:
		return githost.GitHub
	case KindGitLab, KindGitLabSelfManaged:
		return githost.GitLab
	case KindBitbucket:
		return githost.Bitbucket
	case KindGitea:
		return githost.Gitea
	}
	return ""
}

// HostClient is a client of c's git host API with token, the value of c's
// token secret.
func (c *Connection) HostClient(token []byte, hc *http.Client) (*githost.Client, error) {
	host := c.GitHost()
	if host == "" {
		return nil, fmt.Errorf("connection %s is of kind %s, not a git host", c.Name, c.Kind)
	}
	return &githost.Client{Host: host, BaseURL: c.HostURL(), Token: strings.TrimSpace(string(token)), HTTP: hc}, nil
}

// SecretReader reads sluice secrets.
type SecretReader interface {
	SecretValue(ctx context.Context, name string) ([]byte, error)
}

// OpenHostClient is a client of c's git host API with the token c's token
// secret holds, or for a GitHub App connection an installation token minted
// with the app's key.
func (c *Connection) OpenHostClient(ctx context.Context, secrets SecretReader, hc *http.Client) (*githost.Client, error) {
	token, err := c.HostToken(ctx, secrets, hc, time.Now())
	if err != nil {
		return nil, err
	}
	return c.HostClient(token, hc)
}

// HostToken is the token sluice calls c's host with: the value of its token
// secret, or an installation token of its GitHub App (cached by githost
// until shortly before it expires).
func (c *Connection) HostToken(ctx context.Context, secrets SecretReader, hc *http.Client, now time.Time) ([]byte, error) {
	if a := c.App; a != nil {
		pem, err := secrets.SecretValue(ctx, a.PrivateKeySecret)
		if err != nil {
			return nil, fmt.Errorf("connection %s: app private key secret %s: %w", c.Name, a.PrivateKeySecret, err)
		}
		tok, err := githost.InstallationToken(ctx, hc, c.HostURL(), githost.App{ID: a.ID, InstallationID: a.InstallationID, PrivateKey: pem}, now)
		if err != nil {
			return nil, fmt.Errorf("connection %s: %w", c.Name, err)
		}
		return []byte(tok), nil
	}
	if c.Token == "" {
		return nil, fmt.Errorf("connection %s has no token secret", c.Name)
	}
	token, err := secrets.SecretValue(ctx, c.Token)
	if err != nil {
		return nil, fmt.Errorf("connection %s: token secret %s: %w", c.Name, c.Token, err)
	}
	return token, nil
}
