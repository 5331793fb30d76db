package wire

import (
	"encoding/json"
	"time"
)

// CreateTokenRequest creates a token (CreateToken).
type CreateTokenRequest struct {
	Name string `json:"name"`
	// Policy names a ready-made policy (admin, operator, approver, viewer,
	// worker), or, with PolicyDocument, the file the document came from
	// (errors name it, and `token list` shows its base name).
	Policy string `json:"policy"`
	// PolicyDocument is a policy in IAM's shape, as JSON or YAML text.
	PolicyDocument string `json:"policyDocument,omitempty"`
	// ExpiresInSeconds is how long the token works; 0 for ever.
	ExpiresInSeconds int64 `json:"expiresInSeconds,omitempty"`
	// AWSKeys also makes an AWS access key for the token, for SigV4 clients
	// of the AWS-compatible endpoint (docs/aws-api.md).
	AWSKeys bool `json:"awsKeys,omitempty"`
}

// CreatedToken holds a new token's secret, shown this once.
type CreatedToken struct {
	Name    string     `json:"name"`
	Policy  string     `json:"policy"`
	Token   string     `json:"token"`
	Expires *time.Time `json:"expires,omitempty"`
	// AccessKeyID and SecretAccessKey are the AWS access key asked for
	// with AWSKeys, shown this once.
	AccessKeyID     string `json:"accessKeyId,omitempty"`
	SecretAccessKey string `json:"secretAccessKey,omitempty"`
}

// TokenInfo is a token without its secret.
type TokenInfo struct {
	Name    string    `json:"name"`
	Policy  string    `json:"policy"`
	Created time.Time `json:"created"`
	// Expires is when the token stops working; nil for never.
	Expires *time.Time `json:"expires,omitempty"`
	// PolicyDocument is the token's policy when it was given as a document.
	PolicyDocument json.RawMessage `json:"policyDocument,omitempty"`
}
