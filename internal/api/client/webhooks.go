package client

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"time"
)

// Webhook is a webhook as the API shows it: its SecretToken is never returned.
type Webhook struct {
	Name           string          `json:"name"`
	TargetPipeline string          `json:"targetPipeline"`
	TargetAction   string          `json:"targetAction"`
	Filters        []WebhookFilter `json:"filters"`
	Authentication string          `json:"authentication"`
	AllowedIPRange string          `json:"allowedIpRange,omitempty"`
	URLPath        string          `json:"urlPath"`
	URL            string          `json:"url,omitempty"`
	Created        time.Time       `json:"created"`
	Updated        time.Time       `json:"updated"`
}

// WebhookFilter is one of a webhook's filters.
type WebhookFilter struct {
	JSONPath    string `json:"jsonPath"`
	MatchEquals string `json:"matchEquals,omitempty"`
}

// ApplyWebhook sends a webhook definition file as it is; the server parses it.
func (c *Client) ApplyWebhook(ctx context.Context, filename string, data []byte) (Webhook, error) {
	var out Webhook
	err := c.do(ctx, http.MethodPost, "/api/v1/webhooks?"+url.Values{"filename": {filename}}.Encode(), bytes.NewReader(data), "application/octet-stream", &out)
	out.URL = c.base + out.URLPath
	return out, err
}

// Webhooks lists webhooks.
func (c *Client) Webhooks(ctx context.Context) ([]Webhook, error) {
	var out struct {
		Webhooks []Webhook `json:"webhooks"`
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
