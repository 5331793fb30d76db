package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/audit"
	"github.com/sluice-ci/sluice/internal/logctx"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/wire"
)

// AuditOptions configure the audit middleware.
type AuditOptions struct {
	// TrustedProxies are reverse proxies whose X-Forwarded-For is believed: a
	// request from one of them is recorded as coming from the address its
	// proxies name (the last one that is not itself a trusted proxy). Without
	// them the source is always the connection's own address.
	TrustedProxies []netip.Prefix
	// Observe, when set, is told of every request but the probes': its
	// operation (the action name), status and duration (the API latency
	// metric).
	Observe func(operation string, status int, d time.Duration)
}

// Audited returns the API behind the audit middleware, which records every
// request but GET /healthz in trail (the record committed before the request
// completes), and serves the trail at GET /api/v1/audit. Call it once, before
// serving.
func (s *Server) Audited(trail *audit.Log, opts AuditOptions) http.Handler {
	s.handle("GET /api/v1/audit", opListAudit, resAll, func(w http.ResponseWriter, r *http.Request) error {
		return s.listAudit(w, r, trail)
	})
	return &auditHandler{next: s, trail: trail, trusted: opts.TrustedProxies, log: s.log, observe: opts.Observe}
}

// trailWriter is what the audit middleware writes records to: Append waits
// for the record's commit, Submit does not. *audit.Log is one; tests give
// one that fails, as a full disk makes the real one fail.
type trailWriter interface {
	Append(ctx context.Context, rec audit.Record) error
	Submit(rec audit.Record) error
}

// maxHeldAnswer bounds the answer to a change held back until its audit
// record is committed; a longer one (none of the API's are) goes out as it
// is written, and a failure to record it can then only be logged.
const maxHeldAnswer = 1 << 20

// Operation names of requests that do not go through handle (git requests
// that GitAuthorizer did not see, webhook deliveries) and of the trail's own.
const (
	opGitPull        = "GitPull"
	opGitPush        = "GitPush"
	opDeliverWebhook = "DeliverWebhook"
	// opDeliverConnectionWebhook is a git host connection's delivery.
	opDeliverConnectionWebhook = "DeliverConnectionWebhook"
	opListAudit                = "ListAuditRecords"
)

type auditHandler struct {
	next    http.Handler
	trail   trailWriter
	trusted []netip.Prefix
	log     *slog.Logger
	observe func(operation string, status int, d time.Duration)
}

func (h *auditHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
		h.next.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	id := newRequestID()
	w.Header().Set("X-Request-Id", id)
	ci := &callInfo{RequestID: id}
	// Every line logged while the request is handled names it (logctx).
	r = r.WithContext(withCallInfo(logctx.With(r.Context(), logctx.Request, id), ci))
	var body *bodyCapture
	if r.Body != nil && r.Body != http.NoBody && isJSON(r.Header.Get("Content-Type")) {
		body = &bodyCapture{ReadCloser: r.Body}
		r.Body = body
	}
	// The answer to a change is held until its audit record is committed: a
	// change the trail cannot record is answered with an error, never a
	// success (reads are not held: they change nothing).
	var held *heldWriter
	if holdsAnswer(r) {
		held = &heldWriter{w: w, header: w.Header()}
		w = held
	}
	aw := &auditWriter{w: w}
	var rw http.ResponseWriter = aw
	if _, ok := w.(http.Hijacker); ok {
		rw = auditHijacker{aw}
	}
	completed := false
	defer func() {
		if completed {
			return
		}
		// The handler panicked (or called runtime.Goexit): record that, then
		// let the panic go on to net/http.
		p := recover()
		if ci.Err == "" {
			ci.Err = "internal error: the request was aborted"
		}
		if !aw.wrote {
			aw.status, aw.wrote = http.StatusInternalServerError, true
		}
		h.record(r, ci, aw, body, start, id)
		if p != nil {
			panic(p)
		}
	}()
	h.next.ServeHTTP(rw, r)
	completed = true
	err := h.record(r, ci, aw, body, start, id)
	if held == nil {
		return
	}
	if err != nil && !held.sent {
		held.discard()
		msg := "the audit trail could not record this request (" + err.Error() + "); it may have taken effect, but is not confirmed: look at the server's log"
		held.w.Header().Set("Content-Type", "application/json")
		held.w.WriteHeader(http.StatusInternalServerError)
		json.NewEncoder(held.w).Encode(wire.ErrorBody{Code: service.CodeInternal, Message: msg})
		return
	}
	held.release()
}

// holdsAnswer reports whether a request's answer waits for its audit
// record: every change, that is every method but GET and HEAD, but a git
// fetch (a POST that changes nothing, and whose answer is a pack).
func holdsAnswer(r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return false
	}
	if strings.HasPrefix(r.URL.Path, "/git/") && strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
		return false
	}
	return true
}

// heldWriter keeps an answer (status, body) until release, up to
// maxHeldAnswer bytes, beyond which it sends what it holds and passes the
// rest through.
type heldWriter struct {
	w      http.ResponseWriter
	header http.Header
	status int
	buf    bytes.Buffer
	sent   bool // the answer has started going out
}

func (h *heldWriter) Header() http.Header { return h.header }

func (h *heldWriter) WriteHeader(code int) {
	if h.sent {
		h.w.WriteHeader(code)
		return
	}
	if h.status == 0 || code < 200 {
		if code >= 200 {
			h.status = code
		}
	}
}

func (h *heldWriter) Write(p []byte) (int, error) {
	if h.sent {
		return h.w.Write(p)
	}
	if h.status == 0 {
		h.status = http.StatusOK
	}
	if h.buf.Len()+len(p) > maxHeldAnswer {
		h.release()
		return h.w.Write(p)
	}
	return h.buf.Write(p)
}

// Flush is put off until release: the answer is not confirmed before then.
func (h *heldWriter) Flush() {}

// Unwrap lets http.ResponseController reach the writer underneath.
func (h *heldWriter) Unwrap() http.ResponseWriter { return h.w }

// release sends what is held.
func (h *heldWriter) release() {
	if h.sent {
		return
	}
	h.sent = true
	if h.status == 0 && h.buf.Len() == 0 {
		return // nothing was answered: net/http answers 200
	}
	if h.status == 0 {
		h.status = http.StatusOK
	}
	h.w.WriteHeader(h.status)
	h.w.Write(h.buf.Bytes())
}

// discard forgets what is held, the headers set for it included.
func (h *heldWriter) discard() {
	h.buf.Reset()
	for k := range h.header {
		if k != "X-Request-Id" {
			delete(h.header, k)
		}
	}
}

// record writes the request's audit record and waits for its commit, and
// returns the error when it could not be written.
func (h *auditHandler) record(r *http.Request, ci *callInfo, aw *auditWriter, body *bodyCapture, start time.Time, id string) error {
	status := aw.status
	switch {
	case aw.wrote:
	case aw.hijacked:
		status = http.StatusSwitchingProtocols
	case r.Context().Err() != nil:
		status = 499 // the client went away before anything was answered
		if ci.Err == "" {
			ci.Err = "the client closed the request"
		}
	default:
		status = http.StatusOK
	}
	switch {
	case r.Pattern == "/git/":
		repo, op := gitOperation(r)
		if ci.Operation == "" {
			ci.Operation = op
		}
		if ci.Resource == "" && repo != "" {
			ci.Resource = "repository/" + repo
		}
	case r.Pattern == "POST /webhooks/connections/{name}":
		name := r.PathValue("name")
		if ci.Operation == "" {
			ci.Operation = opDeliverConnectionWebhook
		}
		if ci.Principal == "" {
			ci.Principal = "connection/" + name
		}
		if ci.Resource == "" {
			ci.Resource = "connection/" + name
		}
	case r.Pattern == "POST /webhooks/{name}":
		name := r.PathValue("name")
		if ci.Operation == "" {
			ci.Operation = opDeliverWebhook
		}
		if ci.Principal == "" {
			ci.Principal = "webhook/" + name
		}
		if ci.Resource == "" {
			ci.Resource = "webhook/" + name
		}
	}
	params := make(map[string]string)
	for k, v := range ci.Params {
		params[k] = paramString(v)
	}
	if ci.Operation == "" {
		// A route the permission check does not name, or no route at all.
		ci.Operation = r.Pattern
		if r.Pattern == "" {
			ci.Operation = "NoRoute"
			setParam(params, "path", r.URL.Path)
		}
	}
	for _, name := range patternWildcards(r.Pattern) {
		if v := r.PathValue(name); v != "" {
			setParam(params, name, v)
		}
	}
	for k, vs := range r.URL.Query() {
		setParam(params, k, strings.Join(vs, ","))
	}
	if body != nil && !secretBody(r.Pattern) {
		for k, v := range allowedBodyFields(body.buf) {
			setParam(params, k, v)
		}
	}
	errMsg := ci.Err
	if errMsg == "" && status >= 400 {
		errMsg = errorMessage(aw.errBody)
		if errMsg == "" {
			errMsg = http.StatusText(status)
		}
	}
	outcome := audit.Allowed
	switch {
	case isChallenge(r, aw, status) && !ci.Denied:
		outcome = audit.Challenge
	case ci.Denied || status == http.StatusUnauthorized || status == http.StatusForbidden:
		outcome = audit.Denied
	case errMsg != "" || status >= 400:
		outcome = audit.Failed
	}
	rec := audit.Record{
		// When the call completed: the trail is in that order, which lets it
		// be searched by time without an index (see package audit).
		Time:      time.Now(),
		RequestID: id,
		Principal: ci.Principal,
		Source:    clientAddr(r, h.trusted),
		UserAgent: truncate(r.UserAgent(), 256),
		Operation: ci.Operation,
		Resource:  ci.Resource,
		Params:    params,
		Outcome:   outcome,
		Error:     truncate(errMsg, 2000),
		Status:    status,
		Duration:  time.Since(start),
	}
	if h.observe != nil {
		h.observe(rec.Operation, status, rec.Duration)
	}
	// Written even when the client went away: the call happened. A read that
	// was allowed and answered changes nothing, so its answer need not wait
	// for the record's commit (see package audit).
	write := func() error { return h.trail.Append(context.WithoutCancel(r.Context()), rec) }
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && outcome == audit.Allowed {
		write = func() error { return h.trail.Submit(rec) }
	}
	if err := write(); err != nil {
		// The server's log is the last place left to keep what happened; the
		// answer to a change, held until now, becomes an error (ServeHTTP).
		h.log.Error("audit record not written", "err", err, "request-id", id, "principal", rec.Principal,
			"operation", rec.Operation, "resource", rec.Resource, "outcome", rec.Outcome, "status", rec.Status, "source", rec.Source)
		return err
	}
	return nil
}

// isChallenge reports whether the call was a request with no credentials at
// all answered with 401 and a WWW-Authenticate challenge: git's first,
// anonymous, try of every fetch and push, before it asks its credential
// helper. That is not a refusal of anyone, and would bury the real ones in
// `audit --denied`; wrong, expired or insufficient credentials stay denied.
func isChallenge(r *http.Request, aw *auditWriter, status int) bool {
	return status == http.StatusUnauthorized && aw.Header().Get("WWW-Authenticate") != "" &&
		r.Header.Get("Authorization") == ""
}

// gitOperation names a git request's repository and operation: a push is
// receive-pack, everything else (upload-pack, and the dumb protocol, which is
// refused) is a pull; the info/refs advertisement counts as the operation it
// announces.
func gitOperation(r *http.Request) (repo, op string) {
	rest := strings.TrimPrefix(r.URL.Path, "/git/")
	repo, _, _ = strings.Cut(rest, "/")
	repo = strings.TrimSuffix(repo, ".git")
	op = opGitPull
	if strings.HasSuffix(r.URL.Path, "/git-receive-pack") || r.URL.Query().Get("service") == "git-receive-pack" {
		op = opGitPush
	}
	return repo, op
}

// secretBody reports whether a route's body must never be looked at: a
// secret's value, a token's creation.
func secretBody(pattern string) bool {
	return strings.Contains(pattern, "/secrets") || strings.Contains(pattern, "/tokens")
}

// bodyFields are the JSON body fields worth recording (top level, scalar
// values only); anything else in a body, secret or not, is left out.
var bodyFields = map[string]bool{
	"name": true, "description": true, "stageName": true, "actionName": true, "enabled": true, "reason": true,
	"abandon": true, "all": true, "workerId": true, "succeeded": true, "invoked": true, "branch": true,
	"noForcePush": true, "noDelete": true, "ref": true,
}

// maxBodyCapture bounds what is kept of a JSON request body to read its fields.
const maxBodyCapture = 64 << 10

func allowedBodyFields(raw []byte) map[string]string {
	if len(raw) == 0 || len(raw) >= maxBodyCapture {
		return nil
	}
	var doc map[string]any
	if json.Unmarshal(raw, &doc) != nil {
		return nil
	}
	out := make(map[string]string)
	for k, v := range doc {
		if !bodyFields[k] || audit.SecretKey(k) {
			continue
		}
		switch v := v.(type) {
		case string, bool, float64:
			out[k] = paramString(v)
		}
	}
	// PutApprovalResult: the answer, never its token.
	if res, ok := doc["result"].(map[string]any); ok {
		if st, ok := res["status"].(string); ok {
			out["result.status"] = st
		}
	}
	return out
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// bodyCapture keeps the first bytes a handler reads of a JSON body.
type bodyCapture struct {
	io.ReadCloser
	buf []byte
}

func (b *bodyCapture) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 && len(b.buf) < maxBodyCapture {
		b.buf = append(b.buf, p[:min(n, maxBodyCapture-len(b.buf))]...)
	}
	return n, err
}

func setParam(params map[string]string, k, v string) {
	if _, ok := params[k]; !ok {
		params[k] = v
	}
}

func paramString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool, int, int64:
		return fmt.Sprint(v)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(raw)
}

// patternWildcards lists the wildcard names of a ServeMux pattern.
func patternWildcards(pattern string) []string {
	var names []string
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			return names
		}
		j := strings.IndexByte(pattern[i:], '}')
		if j < 0 {
			return names
		}
		name := strings.TrimSuffix(pattern[i+1:i+j], "...")
		if name != "$" && name != "" {
			names = append(names, name)
		}
		pattern = pattern[i+j+1:]
	}
}

// errorMessage reads the message of an error answer: the API's JSON error
// body, or plain text (git's answers).
func errorMessage(body []byte) string {
	var eb wire.ErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Message != "" {
		return eb.Message
	}
	return strings.TrimSpace(string(body))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func newRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// clientAddr is the address a request came from: the connection's, or when
// that is a trusted proxy, the last address in X-Forwarded-For that is not
// one.
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if len(trusted) == 0 {
		return host
	}
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(addr) {
		return host
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		a, err := netip.ParseAddr(hop)
		if err != nil {
			ap, err := netip.ParseAddrPort(hop)
			if err != nil {
				return host // a hop we cannot read: the last one we could is what we know
			}
			a = ap.Addr()
		}
		host = a.Unmap().String()
		if !isTrusted(a) {
			return host
		}
	}
	return host
}

// auditWriter notes the status a handler answers with, and the start of an
// error answer's body. It passes Flush (streaming answers), ReadFrom
// (sendfile) and, through auditHijacker, Hijack on to the ResponseWriter it
// wraps; Unwrap lets http.ResponseController reach the rest.
type auditWriter struct {
	w        http.ResponseWriter
	status   int
	wrote    bool
	hijacked bool
	errBody  []byte
}

const maxErrBody = 4 << 10

func (a *auditWriter) Header() http.Header { return a.w.Header() }

func (a *auditWriter) WriteHeader(code int) {
	if !a.wrote && (code < 100 || code > 199 || code == http.StatusSwitchingProtocols) {
		a.status, a.wrote = code, true
	}
	a.w.WriteHeader(code)
}

func (a *auditWriter) Write(p []byte) (int, error) {
	if !a.wrote {
		a.status, a.wrote = http.StatusOK, true
	}
	if a.status >= 400 && len(a.errBody) < maxErrBody {
		a.errBody = append(a.errBody, p[:min(len(p), maxErrBody-len(a.errBody))]...)
	}
	return a.w.Write(p)
}

func (a *auditWriter) ReadFrom(src io.Reader) (int64, error) {
	if !a.wrote {
		a.status, a.wrote = http.StatusOK, true
	}
	if rf, ok := a.w.(io.ReaderFrom); ok && a.status < 400 {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{a}, src)
}

// writerOnly hides ReadFrom, so that io.Copy does not call it again.
type writerOnly struct{ io.Writer }

func (a *auditWriter) Flush() { a.FlushError() }

func (a *auditWriter) FlushError() error {
	if !a.wrote {
		a.status, a.wrote = http.StatusOK, true
	}
	return http.NewResponseController(a.w).Flush()
}

func (a *auditWriter) Unwrap() http.ResponseWriter { return a.w }

// auditHijacker is an auditWriter over a ResponseWriter that can be hijacked.
type auditHijacker struct{ *auditWriter }

func (a auditHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := a.w.(http.Hijacker).Hijack()
	if err == nil {
		a.hijacked = true
	}
	return c, rw, err
}

// listAudit is GET /api/v1/audit?principal=&operation=&denied=&since=&limit=&before=.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, trail *audit.Log) error {
	q := r.URL.Query()
	f := audit.Filter{Principal: q.Get("principal"), Operation: q.Get("operation"), Limit: audit.DefaultLimit}
	if v := q.Get("denied"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return service.Errorf(service.CodeInvalid, "denied: %q is not true or false", v)
		}
		f.Denied = b
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			age, aerr := audit.ParseAge(v)
			if aerr != nil {
				return service.Errorf(service.CodeInvalid, "since: %q is neither an RFC 3339 time (2026-01-02T15:04:05Z) nor an age such as 1h or 7d", v)
			}
			t = time.Now().Add(-age)
		}
		f.Since = t
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > audit.MaxLimit {
			return service.Errorf(service.CodeInvalid, "limit: %q is not a number from 1 to %d", v, audit.MaxLimit)
		}
		f.Limit = n
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return service.Errorf(service.CodeInvalid, "before: %q is not a record id", v)
		}
		f.Before = n
	}
	recs, err := trail.Query(r.Context(), f)
	if err != nil {
		return err
	}
	out := wire.AuditList{Records: make([]wire.AuditRecord, 0, len(recs))}
	for _, rec := range recs {
		out.Records = append(out.Records, wire.AuditRecord{
			ID: rec.ID, Time: rec.Time, RequestID: rec.RequestID, Principal: rec.Principal, SourceAddress: rec.Source,
			UserAgent: rec.UserAgent, Operation: rec.Operation, Resource: rec.Resource, Parameters: rec.Params,
			Outcome: rec.Outcome, Error: rec.Error, Status: rec.Status,
			DurationMS: float64(rec.Duration.Microseconds()) / 1000,
		})
	}
	if len(recs) == f.Limit {
		out.NextBefore = recs[len(recs)-1].ID
	}
	return writeJSON(w, http.StatusOK, out)
}
