package client

import (
	"context"
	"net/http"

	"github.com/sluice-ci/sluice/internal/wire"
)

// SSHKeys lists the SSH public keys, and how the server is reached over SSH.
func (c *Client) SSHKeys(ctx context.Context) (wire.SSHKeyList, error) {
	var out wire.SSHKeyList
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/ssh-keys", nil, &out)
	return out, err
}

// AddSSHKey adds an SSH public key standing for a principal (a token).
func (c *Client) AddSSHKey(ctx context.Context, req wire.UploadSSHPublicKeyRequest) (wire.SSHKey, error) {
	var out wire.SSHKey
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/ssh-keys", req, &out)
	return out, err
}

// DeleteSSHKey deletes an SSH public key; it stops working at once.
func (c *Client) DeleteSSHKey(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/api/v1/ssh-keys/"+esc(name), nil, nil)
}

// Mirrors lists a repository's mirrors with their state.
func (c *Client) Mirrors(ctx context.Context, repo string) ([]wire.Mirror, error) {
	var out wire.MirrorList
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/repos/"+esc(repo)+"/mirrors", nil, &out)
	return out.Mirrors, err
}

// PutMirror adds or replaces a repository's mirror.
func (c *Client) PutMirror(ctx context.Context, repo, name string, req wire.PutMirrorRequest) (wire.Mirror, error) {
	var out wire.Mirror
	err := c.doJSON(ctx, http.MethodPut, "/api/v1/repos/"+esc(repo)+"/mirrors/"+esc(name), req, &out)
	return out, err
}

// DeleteMirror removes a repository's mirror.
func (c *Client) DeleteMirror(ctx context.Context, repo, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/api/v1/repos/"+esc(repo)+"/mirrors/"+esc(name), nil, nil)
}
