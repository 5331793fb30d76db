package client

import (
	"context"
	"github.com/sluice-ci/sluice/internal/wire"
	"net/http"
)

// CreateToken makes a token with a ready-made policy that never expires.
func (c *Client) CreateToken(ctx context.Context, name, policy string) (wire.CreatedToken, error) {
	return c.CreateTokenWith(ctx, wire.CreateTokenRequest{Name: name, Policy: policy})
}

// CreateTokenWith makes a token as req says.
func (c *Client) CreateTokenWith(ctx context.Context, req wire.CreateTokenRequest) (wire.CreatedToken, error) {
	var out wire.CreatedToken
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/tokens", req, &out)
	return out, err
}

// Tokens lists tokens.
func (c *Client) Tokens(ctx context.Context) ([]wire.TokenInfo, error) {
	var out struct {
		Tokens []wire.TokenInfo `json:"tokens"`
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
func (c *Client) RotateToken(ctx context.Context, req wire.CreateTokenRequest) (wire.CreatedToken, error) {
	var out wire.CreatedToken
	name := req.Name
	req.Name = ""
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/tokens/"+esc(name)+"/rotate", req, &out)
	return out, err
}
