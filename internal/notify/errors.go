// Package notify delivers notifications to receivers outside sluice: JSON
// webhooks signed like GitHub's, and mail through an SMTP server.
//
// It imports nothing of sluice's. It makes one attempt per call and does no
// retrying itself: a caller that retries asks Permanent whether a retry can
// help, waits Backoff.Delay (or RetryAfter, when longer) and tries again.
//
// Errors never carry secrets: not the webhook secret, nor the SMTP password,
// nor the path or query of a webhook URL (which often hold a token).
package notify

import (
	"errors"
	"fmt"
	"time"
)

// HTTPError is a webhook receiver's answer other than 2xx.
type HTTPError struct {
	StatusCode int    // e.g. 404
	Status     string // the status line, e.g. "404 Not Found"
	// Body is the start of the response body (at most 512 bytes), for the
	// error message.
	Body string
	// RetryAfter is the wait the receiver asked for with a Retry-After header
	// on a 429 or 503 answer; zero when it asked for none.
	RetryAfter time.Duration
	// Redirect names the scheme and host of a redirect that was not followed
	// because it leads to another host; empty otherwise.
	Redirect string
}

func (e *HTTPError) Error() string {
	msg := "webhook: " + e.Status
	if e.Redirect != "" {
		msg += ": redirect to " + e.Redirect + " refused"
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Body != "" {
		msg += fmt.Sprintf(": body %q", e.Body)
	}
	return msg
}

// Temporary reports whether the same delivery may succeed later: true for
// 5xx, 408 Request Timeout and 429 Too Many Requests.
func (e *HTTPError) Temporary() bool {
	return e.StatusCode >= 500 || e.StatusCode == 408 || e.StatusCode == 429
}

// SMTPError is an SMTP server's refusal of a command.
type SMTPError struct {
	Command string // the refused command, e.g. "RCPT TO:<a@example.com>"
	Code    int    // the reply code, e.g. 550
	Message string // the server's text, including any enhanced status code
}

func (e *SMTPError) Error() string {
	return fmt.Sprintf("smtp: %s: %d %s", e.Command, e.Code, e.Message)
}

// Temporary reports whether the same mail may be accepted later: true for
// 4xx replies, false for 5xx.
func (e *SMTPError) Temporary() bool { return e.Code < 500 }

// permanentError marks a failure that no retry can fix: a malformed URL, an
// invalid address, a server that lacks something the configuration requires.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func permanentf(format string, args ...any) error {
	return permanentError{fmt.Errorf(format, args...)}
}

// Permanent reports whether retrying the delivery that failed with err cannot
// help: a receiver's 4xx answer other than 408 and 429, a refused redirect,
// an SMTP 5xx reply, or an invalid request or configuration. Network errors,
// timeouts, 5xx, 408, 429 and SMTP 4xx replies are temporary, and so is any
// error notify does not know. Permanent(nil) is false.
func Permanent(err error) bool {
	if err == nil {
		return false
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return !he.Temporary()
	}
	var se *SMTPError
	if errors.As(err, &se) {
		return !se.Temporary()
	}
	var pe permanentError
	return errors.As(err, &pe)
}

// RetryAfter returns the wait a webhook receiver asked for in err, or zero.
func RetryAfter(err error) time.Duration {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.RetryAfter
	}
	return 0
}
