package wire

import (
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
