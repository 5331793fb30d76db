package client

import (
	"context"
	"net/http"
	"time"
)

// CreateTokenRequest creates a token.
type CreateTokenRequest struct {
	Name   string `json:"name"`
	Policy string `json:"policy"`
}

// CreatedToken holds a new token's secret, shown this once.
type CreatedToken struct {
	Name   string `json:"name"`
	Policy string `json:"policy"`
	Token  string `json:"token"`
}

// TokenInfo is a token without its secret.
type TokenInfo struct {
	Name    string    `json:"name"`
	Policy  string    `json:"policy"`
	Created time.Time `json:"created"`
}

// CreateToken makes a token.
func (c *Client) CreateToken(ctx context.Context, name, policy string) (CreatedToken, error) {
	var out CreatedToken
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/tokens", CreateTokenRequest{Name: name, Policy: policy}, &out)
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

// DeleteToken revokes a token.
func (c *Client) DeleteToken(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/api/v1/tokens/"+esc(name), nil, nil)
}
