package wire

import (
	"time"
)

// AuditRecord is one API call, git request or webhook delivery of the audit
// trail (GET /api/v1/audit).
type AuditRecord struct {
	ID        int64     `json:"id"`
	Time      time.Time `json:"time"`
	RequestID string    `json:"requestId"` // the X-Request-Id the call was answered with
	// Principal is the token's name, webhook/NAME for a webhook delivery, ""
	// when no valid credentials came with the call.
	Principal     string `json:"principal"`
	SourceAddress string `json:"sourceAddress"`
	UserAgent     string `json:"userAgent,omitempty"`
	// Operation is the action's name: StartPipelineExecution, GitPull,
	// GitPush, DeliverWebhook, …
	Operation string `json:"operation"`
	Resource  string `json:"resource,omitempty"` // pipeline/NAME, repository/NAME, …; "*" for lists
	// Parameters are the path and query parameters and a few fields of a JSON
	// body; values of keys that may hold secrets read "[redacted]".
	Parameters map[string]string `json:"parameters,omitempty"`
	Outcome    string            `json:"outcome"` // allowed, denied, failed or challenge
	Error      string            `json:"error,omitempty"`
	Status     int               `json:"status"` // the HTTP status answered
	DurationMS float64           `json:"durationMs"`
}

// AuditList is a page of audit records.
type AuditList struct {
	Records []AuditRecord `json:"records"`
	// NextBefore, when not 0, asks for the next (older) page as Before.
	NextBefore int64 `json:"nextBefore,omitempty"`
}
