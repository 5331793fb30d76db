// Package inproc is an http.RoundTripper that serves each request with an
// http.Handler of the same process, in memory: no socket, no HTTP parsing
// between them. The server's own workers use it to call the server's API
// through its whole handler (authorization, audit, limits), as a remote
// worker does over HTTP, without the cost of TCP on every call.
//
// The handler sees a request as net/http's server makes it (the path and
// query in RequestURI and URL, Host, RemoteAddr, the headers the client
// sent plus net/http's User-Agent, ContentLength -1 for a body of unknown
// length); the client gets a response as net/http's client reads it (status,
// headers as they were at WriteHeader, Content-Length when the handler
// ended within the buffer, a sniffed Content-Type when none was set).
//
// Bodies stream both ways: a request body that is not already in memory
// reaches the handler through a pipe; an answer larger than the buffer, or
// flushed, reaches the client through one as the handler writes it, so long
// polls, streamed logs and large artifacts behave as over HTTP. The
// handler's context ends when the client's does, when the client closes the
// answer's body before its end, and when the handler returns; its reads of
// the request body fail from then on, as on a closed connection.
package inproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// bufferSize is how much of an answer is kept before the client is given
// the response and the rest streams through a pipe: most API answers fit,
// and go to the client in one piece when the handler returns, with their
// length, as net/http's server sends a small answer.
const bufferSize = 64 << 10

// userAgent is what net/http's client sends when the request sets none; the
// handler (the audit trail) sees the same.
const userAgent = "Go-http-client/1.1"

// Errors the client sees where over HTTP its connection would break.
var (
	// ErrAborted: the handler panicked (or aborted with http.ErrAbortHandler).
	ErrAborted = errors.New("inproc: the handler aborted the request")
	// errBodyClosed is what the handler's writes get once the client has
	// closed the answer's body.
	errBodyClosed = errors.New("inproc: the client closed the response body")
)

// Transport serves requests with Handler. Handler must be set before the
// first request. A Transport is safe for use by many goroutines.
type Transport struct {
	Handler http.Handler
	// RemoteAddr is the handler's Request.RemoteAddr, where requests seem
	// to come from: the address an HTTP client on this machine would have.
	RemoteAddr string
	// Logger receives a handler's panic, as net/http's server logs it;
	// nil: slog.Default.
	Logger *slog.Logger

	wg sync.WaitGroup
}

// Wait blocks until every handler the transport started has returned; a
// server calls it, once its clients are done, before it closes what the
// handlers use.
func (t *Transport) Wait() { t.wg.Wait() }

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		closeBody(req)
		return nil, errors.New("inproc: nil request URL")
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeBody(req)
		return nil, err
	}
	sr, err := t.serverRequest(req)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	hctx, cancel := context.WithCancel(ctx)
	sr = sr.WithContext(hctx)
	var stopBody func()
	sr.Body, stopBody = requestBody(req)
	// However the request ends, the handler's reads of the body fail from
	// then on, and the client's body is closed, as a RoundTripper must.
	context.AfterFunc(hctx, stopBody)

	w := &responseWriter{req: req, head: sr.Method == http.MethodHead, header: http.Header{}, ready: make(chan struct{}), cancel: cancel, declared: -1}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer cancel()
		t.serve(w, sr)
	}()

	select {
	case <-w.ready:
		if w.err != nil {
			return nil, w.err
		}
		return w.resp, nil
	case <-ctx.Done():
		// As over HTTP, the client stops waiting at once; the handler sees
		// its context end, and what it writes from now on goes nowhere.
		w.abandon(ctx.Err())
		return nil, ctx.Err()
	}
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// serve runs the handler, and ends the answer when it returns or panics.
func (t *Transport) serve(w *responseWriter, r *http.Request) {
	defer func() {
		p := recover()
		if p == nil {
			w.finish(nil)
			return
		}
		if p != http.ErrAbortHandler {
			// As net/http's server does: log it, and the client sees its
			// connection cut.
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			logger := t.Logger
			if logger == nil {
				logger = slog.Default()
			}
			logger.Error("http: panic serving in-process request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(buf))
		}
		w.finish(ErrAborted)
	}()
	t.Handler.ServeHTTP(w, r)
}

// serverRequest is req as net/http's server would hand it to a handler,
// without its body and context.
func (t *Transport) serverRequest(req *http.Request) (*http.Request, error) {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	uri := req.URL.RequestURI()
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, fmt.Errorf("inproc: %w", err)
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	header := req.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	if _, ok := header["User-Agent"]; !ok {
		header.Set("User-Agent", userAgent)
	}
	sr := &http.Request{
		Method: method, URL: u, RequestURI: uri, Host: host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: header, RemoteAddr: t.RemoteAddr, ContentLength: req.ContentLength,
	}
	switch {
	case req.Body == nil || req.Body == http.NoBody:
		sr.ContentLength = 0
	case req.ContentLength == 0:
		// net/http's client sends a body of unknown length chunked, which
		// its server reads as -1.
		sr.ContentLength = -1
	}
	if sr.ContentLength < 0 {
		sr.TransferEncoding = []string{"chunked"}
	}
	return sr, nil
}

// requestBody is the body the handler reads, and what ends it. A body
// already in memory (one http.NewRequest set GetBody for: a bytes or
// strings reader) cannot block, and is read as it is; any other goes
// through a pipe, so that a handler whose request has ended is never left
// blocked in the client's Read.
func requestBody(req *http.Request) (io.ReadCloser, func()) {
	if req.Body == nil || req.Body == http.NoBody {
		return http.NoBody, func() {}
	}
	if req.GetBody != nil {
		body := &onceCloser{ReadCloser: req.Body}
		return body, func() { body.Close() }
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := io.Copy(pw, req.Body)
		req.Body.Close()
		pw.CloseWithError(err)
	}()
	return pr, func() { pr.CloseWithError(errRequestEnded) }
}

var errRequestEnded = errors.New("inproc: read of a request body after its request ended")

// onceCloser closes its body once, whoever asks first.
type onceCloser struct {
	io.ReadCloser
	once sync.Once
}

func (o *onceCloser) Close() error {
	o.once.Do(func() { o.ReadCloser.Close() })
	return nil
}

// responseWriter is the handler's http.ResponseWriter. It keeps the answer
// until the handler returns, the buffer fills or the handler flushes; then
// the client is given the response (ready), its body the whole answer in
// memory, or the read end of a pipe the rest of the answer is written to.
type responseWriter struct {
	req    *http.Request // the client's
	head   bool          // a HEAD request: the body is counted, not sent
	header http.Header
	cancel context.CancelFunc

	mu          sync.Mutex
	wroteHeader bool
	status      int
	sent        http.Header // the headers as at WriteHeader
	declared    int64       // the Content-Length the handler set, -1 if none
	buf         bytes.Buffer
	written     int64
	pw          *io.PipeWriter // the streamed body's write end, once the response is out with one
	body        *clientBody
	ready       chan struct{} // closed when resp or err is set
	resp        *http.Response
	err         error
	gone        error // the client is no longer there: why
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	// net/http's own check: an impossible code is the handler's bug.
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writeHeaderLocked(code)
}

func (w *responseWriter) writeHeaderLocked(code int) {
	if w.wroteHeader {
		return // net/http ignores a superfluous call
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		return // informational answers: net/http's client skips them
	}
	w.wroteHeader, w.status = true, code
	w.sent = w.header.Clone()
	if cl := w.sent.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.declared = n
		}
	}
}

func (w *responseWriter) bodyAllowed() bool {
	return !(w.status >= 100 && w.status <= 199 || w.status == http.StatusNoContent || w.status == http.StatusNotModified)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if !w.wroteHeader {
		w.writeHeaderLocked(http.StatusOK)
	}
	switch {
	case !w.bodyAllowed():
		w.mu.Unlock()
		return 0, http.ErrBodyNotAllowed
	case w.gone != nil:
		err := w.gone
		w.mu.Unlock()
		return 0, err
	case w.declared >= 0 && w.written+int64(len(p)) > w.declared:
		w.mu.Unlock()
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if w.head {
		w.mu.Unlock()
		return len(p), nil
	}
	if w.pw == nil && w.buf.Len()+len(p) <= bufferSize {
		w.buf.Write(p)
		w.mu.Unlock()
		return len(p), nil
	}
	held, pw := w.streamLocked(p)
	w.mu.Unlock()
	// Outside the lock: the client reads at its own pace, and a full pipe
	// holds the handler back as a full socket would.
	if len(held) > 0 {
		if _, err := pw.Write(held); err != nil {
			return 0, err
		}
	}
	return pw.Write(p)
}

// Flush sends the response now, with what is buffered, as net/http's
// Flusher does.
func (w *responseWriter) Flush() { w.FlushError() }

// FlushError is Flush for http.ResponseController: it fails once the client
// is gone.
func (w *responseWriter) FlushError() error {
	w.mu.Lock()
	if !w.wroteHeader {
		w.writeHeaderLocked(http.StatusOK)
	}
	if err := w.gone; err != nil {
		w.mu.Unlock()
		return err
	}
	if w.head || !w.bodyAllowed() {
		// No body will follow: the answer is complete as it is.
		w.deliverLocked(nil, nil)
		w.mu.Unlock()
		return nil
	}
	held, pw := w.streamLocked(nil)
	w.mu.Unlock()
	if len(held) > 0 {
		if _, err := pw.Write(held); err != nil {
			return err
		}
	}
	return nil
}

// streamLocked gives the client the response with a pipe as its body, if
// it has not been given it yet, and returns the buffered bytes to write
// into the pipe ahead of the rest, and its write end. next is the write
// that did not fit, for sniffing when nothing was buffered.
func (w *responseWriter) streamLocked(next []byte) ([]byte, *io.PipeWriter) {
	if w.pw != nil {
		return nil, w.pw
	}
	pr, pw := io.Pipe()
	w.pw = pw
	w.body = &clientBody{pr: pr, w: w}
	sniff := w.buf.Bytes()
	if len(sniff) == 0 {
		sniff = next
	}
	w.deliverLocked(w.body, sniff)
	held := bytes.Clone(w.buf.Bytes())
	w.buf = bytes.Buffer{}
	return held, pw
}

// deliverLocked makes the response and hands it to the client, once. body
// nil means the answer is complete: what is buffered.
func (w *responseWriter) deliverLocked(body *clientBody, sniff []byte) {
	if w.resp != nil || w.err != nil {
		return
	}
	resp := &http.Response{
		Status: strconv.Itoa(w.status) + " " + http.StatusText(w.status), StatusCode: w.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.sent, Request: w.req, ContentLength: w.declared,
	}
	if _, ok := resp.Header["Date"]; !ok {
		resp.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	if body == nil {
		sniff = w.buf.Bytes()
	}
	if _, ok := resp.Header["Content-Type"]; !ok && w.bodyAllowed() && len(sniff) > 0 {
		resp.Header.Set("Content-Type", http.DetectContentType(sniff[:min(len(sniff), 512)]))
	}
	switch {
	case body != nil:
		resp.Body = body
	case !w.bodyAllowed():
		resp.ContentLength, resp.Body = 0, http.NoBody
	case w.head:
		// The length of the body a GET would have had, when the handler
		// wrote it.
		if w.declared < 0 && w.written > 0 {
			resp.Header.Set("Content-Length", strconv.FormatInt(w.written, 10))
			resp.ContentLength = w.written
		}
		resp.Body = http.NoBody
	default:
		// The whole answer: its length is known, as net/http's server
		// knows it for an answer that ended within its buffer.
		n := int64(w.buf.Len())
		if w.declared < 0 {
			resp.Header.Set("Content-Length", strconv.FormatInt(n, 10))
		}
		resp.ContentLength = n
		resp.Body = http.NoBody
		if n > 0 {
			resp.Body = io.NopCloser(bytes.NewReader(w.buf.Bytes()))
		}
	}
	w.resp = resp
	close(w.ready)
}

// finish ends the answer once the handler has returned (err nil) or
// aborted.
func (w *responseWriter) finish(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		if !w.wroteHeader {
			w.writeHeaderLocked(http.StatusOK) // as net/http answers a handler that wrote nothing
		}
		if w.declared >= 0 && w.written < w.declared && !w.head && w.bodyAllowed() {
			// net/http cuts the connection of an answer shorter than the
			// length it declared.
			err = io.ErrUnexpectedEOF
		}
		if cerr := w.req.Context().Err(); cerr != nil && w.pw != nil {
			// The client's context ended the handler: the answer it was
			// reading is cut, as net/http's client reports it.
			err = cerr
		}
	}
	switch {
	case w.pw != nil:
		w.pw.CloseWithError(err) // nil: EOF
	case err != nil:
		if w.resp == nil && w.err == nil {
			w.err = err
			close(w.ready)
		}
	default:
		w.deliverLocked(nil, nil)
	}
}

// abandon is the client going away before the response reached it: the
// handler's context ends, its writes fail, and a response it makes later
// is dropped.
func (w *responseWriter) abandon(why error) {
	w.mu.Lock()
	if w.gone == nil {
		w.gone = why
	}
	body := w.body
	w.mu.Unlock()
	if body != nil {
		body.pr.CloseWithError(why)
	}
	w.cancel()
}

// clientBody is a streamed answer's body as the client reads it.
type clientBody struct {
	pr *io.PipeReader
	w  *responseWriter
}

func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.pr.Read(p)
	if errors.Is(err, ErrAborted) {
		// A connection cut in the middle of an answer.
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// Close ends the request if the handler is still answering, as closing an
// HTTP answer's body before its end closes the connection.
func (b *clientBody) Close() error {
	b.w.abandon(errBodyClosed)
	return nil
}
