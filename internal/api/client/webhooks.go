package client

import (
	"bytes"
	"context"
	"github.com/sluice-ci/sluice/internal/wire"
	"net/http"
	"net/url"
)

// ApplyWebhook sends a webhook definition file as it is; the server parses it.
func (c *Client) ApplyWebhook(ctx context.Context, filename string, data []byte) (wire.Webhook, error) {
	var out wire.Webhook
	err := c.do(ctx, http.MethodPost, "/api/v1/webhooks?"+url.Values{"filename": {filename}}.Encode(), bytes.NewReader(data), "application/octet-stream", &out)
	out.URL = c.base + out.URLPath
	return out, err
}

// Webhooks lists webhooks.
func (c *Client) Webhooks(ctx context.Context) ([]wire.Webhook, error) {
	var out struct {
		Webhooks []wire.Webhook `json:"webhooks"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/webhooks", nil, &out)
	for i := range out.Webhooks {
		out.Webhooks[i].URL = c.base + out.Webhooks[i].URLPath
	}
	return out.Webhooks, err
}

// DeleteWebhook deletes a webhook.
func (c *Client) DeleteWebhook(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/api/v1/webhooks/"+esc(name), nil, nil)
}
