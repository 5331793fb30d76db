package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Headers set on every webhook delivery.
const (
	HeaderDelivery  = "X-Sluice-Delivery"
	HeaderSignature = "X-Sluice-Signature-256"
	HeaderTimestamp = "X-Sluice-Timestamp"
	userAgent       = "sluice-notify/1"
)

// Limits on what is read of a receiver's answer.
const (
	errorBodyLimit = 512      // bytes of body quoted in an HTTPError
	drainLimit     = 64 << 10 // bytes read past that so the connection can be reused
)

// Webhook posts a JSON body to URL, signed with HMAC-SHA256 over the body with
// Secret when Secret is non-empty.
type Webhook struct {
	URL    string // http or https
	Secret []byte
	// Headers are extra headers, e.g. X-Sluice-Event. They cannot replace
	// the headers Send sets itself (Content-Type, User-Agent, X-Sluice-*).
	Headers map[string]string
}

// Send posts body to w.URL with c (http.DefaultClient when nil) and returns
// nil when the receiver answers 2xx. The request carries
//
//	Content-Type: application/json
//	User-Agent: sluice-notify/1
//	X-Sluice-Delivery: deliveryID
//	X-Sluice-Timestamp: the Unix time in seconds
//	X-Sluice-Signature-256: sha256=<hex HMAC-SHA256 of body> (see Sign)
//
// the last only when w.Secret is non-empty. As with GitHub's
// X-Hub-Signature-256, only the body is signed: a receiver that wants replay
// protection puts a time or an id in the body.
//
// Redirects are followed only to the same scheme, host and port, whatever
// c.CheckRedirect allows; any other is an *HTTPError naming where it led.
// Another answer than 2xx is an *HTTPError; a network failure or ctx's end
// is an error wrapping the cause (context.DeadlineExceeded, for instance).
// See Permanent and RetryAfter for what a caller may do next. Send is safe
// for concurrent use.
func (w Webhook) Send(ctx context.Context, c *http.Client, body []byte, deliveryID string) error {
	u, err := url.Parse(w.URL)
	if err != nil {
		// url.Parse's message quotes the whole URL, token and all.
		return permanentf("webhook: invalid URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return permanentf("webhook: URL %s: want an http or https URL with a host", redactURL(u))
	}
	if !validHeaderValue(deliveryID) {
		return permanentf("webhook: delivery id %q: invalid header value", deliveryID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return permanentf("webhook: URL %s: cannot make a request of it", redactURL(u))
	}
	for k, v := range w.Headers {
		if !validHeaderName(k) || !validHeaderValue(v) {
			return permanentf("webhook: header %q: invalid name or value", k)
		}
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderDelivery, deliveryID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(time.Now().Unix(), 10))
	if len(w.Secret) > 0 {
		req.Header.Set(HeaderSignature, Sign(w.Secret, body))
	} else {
		req.Header.Del(HeaderSignature)
	}

	resp, err := sameHostClient(c).Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message quotes the whole URL
		}
		return &deliveryError{url: redactURL(u), err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
		return nil
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	he := &HTTPError{
		StatusCode: resp.StatusCode,
		Status:     resp.Status,
		Body:       errorBody(head, w.Secret),
	}
	if he.Status == "" {
		he.Status = strconv.Itoa(resp.StatusCode)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		he.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		if loc, err := resp.Location(); err == nil && !sameOrigin(loc, resp.Request.URL) {
			he.Redirect = loc.Scheme + "://" + loc.Host
		}
	}
	return he
}

// deliveryError is a webhook delivery that got no answer: the message names
// the URL without its path and query.
type deliveryError struct {
	url string
	err error
}

func (e *deliveryError) Error() string { return "webhook " + e.url + ": " + e.err.Error() }
func (e *deliveryError) Unwrap() error { return e.err }

// Sign returns the value of the X-Sluice-Signature-256 header for body:
// "sha256=" followed by the lowercase hex HMAC-SHA256 of body keyed with
// secret, the scheme of GitHub's X-Hub-Signature-256.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header is Sign(secret, body), comparing the MACs in
// constant time. It is false when secret is empty, so a receiver left
// without a secret accepts nothing.
func Verify(secret, body []byte, header string) bool {
	if len(secret) == 0 {
		return false
	}
	hexMAC, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexMAC)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// sameHostClient returns a copy of c (http.DefaultClient when nil) that
// follows a redirect only to the origin of the first request, and otherwise
// returns the redirect response as is.
func sameHostClient(c *http.Client) *http.Client {
	if c == nil {
		c = http.DefaultClient
	}
	cc := *c
	next := c.CheckRedirect
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !sameOrigin(req.URL, via[0].URL) {
			return http.ErrUseLastResponse
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return permanentf("stopped after 10 redirects")
		}
		return nil
	}
	return &cc
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		effectivePort(a) == effectivePort(b)
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// redactURL is u's scheme and host: the path and query of a webhook URL
// often carry a token, and user info a password.
func redactURL(u *url.URL) string {
	return u.Scheme + "://" + u.Host
}

// errorBody makes the start of a response body fit for an error message:
// valid UTF-8 and without the webhook secret, should the receiver echo it.
func errorBody(b, secret []byte) string {
	if len(secret) > 0 {
		b = bytes.ReplaceAll(b, secret, []byte("[redacted]"))
	}
	s := string(b)
	if !utf8.ValidString(s) {
		// The cut at 512 bytes may have split a rune.
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// parseRetryAfter reads a Retry-After value, either delay-seconds or an
// HTTP-date, as a wait from now; zero when absent, invalid or past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > math.MaxInt64/int64(time.Second) {
			return time.Duration(math.MaxInt64)
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// validHeaderName reports whether s is an HTTP token (RFC 9110).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s may stand as a header value: no control
// characters other than tab.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
