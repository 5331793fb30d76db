package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
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

// AuditQuery selects audit records, newest first.
type AuditQuery struct {
	Principal string
	Operation string
	Denied    bool   // only calls that were refused
	Since     string // RFC 3339 time, or an age such as 1h or 7d
	Limit     int    // at most this many (server default 100, at most 1000)
	Before    int64  // only records older than this id (the previous page's NextBefore)
}

// AuditList is a page of audit records.
type AuditList struct {
	Records []AuditRecord `json:"records"`
	// NextBefore, when not 0, asks for the next (older) page as Before.
	NextBefore int64 `json:"nextBefore,omitempty"`
}

func (q AuditQuery) values() url.Values {
	v := url.Values{}
	if q.Principal != "" {
		v.Set("principal", q.Principal)
	}
	if q.Operation != "" {
		v.Set("operation", q.Operation)
	}
	if q.Denied {
		v.Set("denied", "true")
	}
	if q.Since != "" {
		v.Set("since", q.Since)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Before > 0 {
		v.Set("before", strconv.FormatInt(q.Before, 10))
	}
	return v
}

// Audit lists audit records, newest first.
func (c *Client) Audit(ctx context.Context, q AuditQuery) (AuditList, error) {
	var out AuditList
	path := "/api/v1/audit"
	if v := q.values(); len(v) > 0 {
		path += "?" + v.Encode()
	}
	err := c.doJSON(ctx, http.MethodGet, path, nil, &out)
	return out, err
}
