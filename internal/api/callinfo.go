package api

import (
	"context"

	"github.com/sluice-ci/sluice/internal/access"
)

// callInfo is what the audit trail records of one request. The audit
// middleware puts an empty one in the request's context; the permission check
// (the access guard) and the handlers fill it in as they learn who calls, for
// what operation, on which resource, and how it ended.
type callInfo struct {
	access.Call
	Params map[string]any // request parameters worth keeping, secrets removed
	// RequestID is the X-Request-Id the request is answered with: the
	// server's log lines about the request carry it.
	RequestID string
}

type callInfoKey struct{}

func withCallInfo(ctx context.Context, ci *callInfo) context.Context {
	return context.WithValue(ctx, callInfoKey{}, ci)
}

// callInfoFrom returns the request's callInfo, or a throwaway one when the
// request did not come through the audit middleware (tests of single handlers).
func callInfoFrom(ctx context.Context) *callInfo {
	if ci, ok := ctx.Value(callInfoKey{}).(*callInfo); ok {
		return ci
	}
	return &callInfo{}
}

// setParam records a parameter of the request in its audit record.
func (ci *callInfo) setParam(k string, v any) {
	if ci.Params == nil {
		ci.Params = map[string]any{}
	}
	ci.Params[k] = v
}
