package client

import (
	"context"
	"github.com/sluice-ci/sluice/internal/wire"
	"net/http"
	"net/url"
	"strconv"
)

// AuditQuery selects audit records, newest first.
type AuditQuery struct {
	Principal string
	Operation string
	Denied    bool   // only calls that were refused
	Since     string // RFC 3339 time, or an age such as 1h or 7d
	Limit     int    // at most this many (server default 100, at most 1000)
	Before    int64  // only records older than this id (the previous page's NextBefore)
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
func (c *Client) Audit(ctx context.Context, q AuditQuery) (wire.AuditList, error) {
	var out wire.AuditList
	path := "/api/v1/audit"
	if v := q.values(); len(v) > 0 {
		path += "?" + v.Encode()
	}
	err := c.doJSON(ctx, http.MethodGet, path, nil, &out)
	return out, err
}
