package client

import (
	"context"
	"encoding/json"
	"net/http"
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
}

// CreatedToken holds a new token's secret, shown this once.
type CreatedToken struct {
	Name    string     `json:"name"`
	Policy  string     `json:"policy"`
	Token   string     `json:"token"`
	Expires *time.Time `json:"expires,omitempty"`
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

// CreateToken makes a token with a ready-made policy that never expires.
func (c *Client) CreateToken(ctx context.Context, name, policy string) (CreatedToken, error) {
	return c.CreateTokenWith(ctx, CreateTokenRequest{Name: name, Policy: policy})
}

// CreateTokenWith makes a token as req says.
func (c *Client) CreateTokenWith(ctx context.Context, req CreateTokenRequest) (CreatedToken, error) {
	var out CreatedToken
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/tokens", req, &out)
	return out, err
}

// Tokens lists tokens.
func (c *Client) Tokens(ctx context.Context) ([]TokenInfo, error) {
	var out struct {
		Tokens []TokenInfo `json:"tokens"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/tokens", nil, &out)
	return out.Tokens, err
}

// RevokeToken deletes a token; it stops working at once.
func (c *Client) RevokeToken(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/api/v1/tokens/"+esc(name), nil, nil)
}

// DeleteToken is RevokeToken.
func (c *Client) DeleteToken(ctx context.Context, name string) error { return c.RevokeToken(ctx, name) }

// RotateToken gives token req.Name a new secret (RotateToken); its policy
// stays unless req names one, its expiry unless req gives a lifetime.
func (c *Client) RotateToken(ctx context.Context, req CreateTokenRequest) (CreatedToken, error) {
	var out CreatedToken
	name := req.Name
	req.Name = ""
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/tokens/"+esc(name)+"/rotate", req, &out)
	return out, err
}
