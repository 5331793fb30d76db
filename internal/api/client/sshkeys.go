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
