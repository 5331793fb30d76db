package notify

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// received is what a test receiver saw of one request.
type received struct {
	header http.Header
	body   []byte
	path   string
}

// receiver starts an httptest server that records each request and answers
// with answer (204 when nil).
func receiver(t *testing.T, answer http.HandlerFunc) (*httptest.Server, <-chan received) {
	t.Helper()
	got := make(chan received, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("receiver: reading body: %v", err)
		}
		got <- received{header: r.Header.Clone(), body: body, path: r.URL.Path}
		if answer != nil {
			answer(w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestWebhookSignedDelivery(t *testing.T) {
	t.Parallel()
	srv, got := receiver(t, nil)
	secret := []byte("s3cr3t-value")
	body := []byte(`{"approval":"deploy","token":"abc"}`)
	w := Webhook{URL: srv.URL + "/hook", Secret: secret, Headers: map[string]string{"X-Sluice-Event": "approval"}}

	before := time.Now().Unix()
	if err := w.Send(t.Context(), srv.Client(), body, "d-123"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	after := time.Now().Unix()
	r := <-got

	if string(r.body) != string(body) {
		t.Errorf("body = %q, want %q", r.body, body)
	}
	if sig := r.header.Get(HeaderSignature); !Verify(secret, r.body, sig) {
		t.Errorf("signature %q does not verify", sig)
	}
	if Verify([]byte("other secret"), r.body, r.header.Get(HeaderSignature)) {
		t.Error("signature verifies with another secret")
	}
	for k, want := range map[string]string{
		"Content-Type":   "application/json",
		"User-Agent":     "sluice-notify/1",
		HeaderDelivery:   "d-123",
		"X-Sluice-Event": "approval",
	} {
		if v := r.header.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	ts, err := strconv.ParseInt(r.header.Get(HeaderTimestamp), 10, 64)
	if err != nil || ts < before || ts > after {
		t.Errorf("%s = %q, want Unix seconds in [%d, %d]", HeaderTimestamp, r.header.Get(HeaderTimestamp), before, after)
	}
	if r.path != "/hook" {
		t.Errorf("path = %q", r.path)
	}
}

func TestWebhookWithoutSecretIsUnsigned(t *testing.T) {
	t.Parallel()
	srv, got := receiver(t, nil)
	w := Webhook{URL: srv.URL, Headers: map[string]string{HeaderSignature: "sha256=forged", "Content-Type": "text/plain"}}
	if err := w.Send(t.Context(), nil, []byte(`{}`), "d-1"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := <-got
	if v, ok := r.header[HeaderSignature]; ok {
		t.Errorf("%s = %q, want none", HeaderSignature, v)
	}
	if v := r.header.Get("Content-Type"); v != "application/json" {
		t.Errorf("Content-Type = %q: extra headers must not replace it", v)
	}
}

func TestSignKnownVector(t *testing.T) {
	t.Parallel()
	// The example in GitHub's documentation of X-Hub-Signature-256.
	got := Sign([]byte("It's a Secret to Everybody"), []byte("Hello, World!"))
	want := "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	secret, body := []byte("k"), []byte(`{"a":1}`)
	good := Sign(secret, body)
	for _, tc := range []struct {
		name   string
		secret []byte
		body   []byte
		header string
		want   bool
	}{
		{"good", secret, body, good, true},
		{"uppercase hex", secret, body, "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")), true},
		{"tampered body", secret, []byte(`{"a":2}`), good, false},
		{"no prefix", secret, body, strings.TrimPrefix(good, "sha256="), false},
		{"sha1 prefix", secret, body, "sha1=" + strings.TrimPrefix(good, "sha256="), false},
		{"not hex", secret, body, "sha256=zz", false},
		{"truncated", secret, body, good[:len(good)-2], false},
		{"empty header", secret, body, "", false},
		{"empty secret", nil, body, Sign(nil, body), false},
	} {
		if got := Verify(tc.secret, tc.body, tc.header); got != tc.want {
			t.Errorf("%s: Verify = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestWebhookAnswers(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 1000)
	retryDate := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		permanent  bool
		retryAfter time.Duration // exact, or the lower bound when slack > 0
		slack      time.Duration
		bodyLen    int // 0: body as sent
	}{
		{name: "500", status: 500, body: "boom", permanent: false},
		{name: "502", status: 502, permanent: false},
		{name: "404", status: 404, body: "no such hook", permanent: true},
		{name: "400", status: 400, body: long, permanent: true, bodyLen: 512},
		{name: "410", status: 410, permanent: true},
		{name: "408", status: 408, permanent: false},
		{name: "429 seconds", status: 429, header: map[string]string{"Retry-After": "120"}, permanent: false, retryAfter: 2 * time.Minute},
		{name: "429 without Retry-After", status: 429, permanent: false},
		{name: "503 date", status: 503, header: map[string]string{"Retry-After": retryDate}, permanent: false, retryAfter: time.Hour - time.Minute, slack: time.Minute},
		{name: "500 ignores Retry-After", status: 500, header: map[string]string{"Retry-After": "30"}, permanent: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			err := Webhook{URL: srv.URL}.Send(t.Context(), srv.Client(), []byte(`{}`), "d")
			var he *HTTPError
			if !errors.As(err, &he) {
				t.Fatalf("Send = %v, want an *HTTPError", err)
			}
			if he.StatusCode != tc.status || !strings.HasPrefix(he.Status, strconv.Itoa(tc.status)) {
				t.Errorf("status = %d %q, want %d", he.StatusCode, he.Status, tc.status)
			}
			if got := Permanent(err); got != tc.permanent {
				t.Errorf("Permanent = %v, want %v", got, tc.permanent)
			}
			wantBody := tc.body
			if tc.bodyLen > 0 {
				wantBody = tc.body[:tc.bodyLen]
			}
			if he.Body != wantBody {
				t.Errorf("Body = %q (%d bytes), want %d bytes", he.Body, len(he.Body), len(wantBody))
			}
			if !strings.Contains(err.Error(), he.Status) || !strings.Contains(err.Error(), wantBody) {
				t.Errorf("message %q lacks the status line or the body", err)
			}
			ra := RetryAfter(err)
			if tc.slack == 0 && ra != tc.retryAfter || tc.slack > 0 && (ra < tc.retryAfter || ra > tc.retryAfter+2*tc.slack) {
				t.Errorf("RetryAfter = %s, want %s (+%s)", ra, tc.retryAfter, 2*tc.slack)
			}
		})
	}
}

func TestWebhookErrorHidesSecrets(t *testing.T) {
	t.Parallel()
	secret := []byte("very-secret-key")
	srv, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, "bad signature, expected key very-secret-key")
	})
	err := Webhook{URL: srv.URL + "/services/T0/B0/tokentoken?code=querytoken", Secret: secret}.
		Send(t.Context(), srv.Client(), []byte(`{}`), "d")
	if err == nil || !Permanent(err) {
		t.Fatalf("Send = %v, want a permanent error", err)
	}
	for _, s := range []string{string(secret), "tokentoken", "querytoken"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains %q", err, s)
		}
	}
}

func TestWebhookConnectionRefused(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	err = Webhook{URL: "http://" + addr + "/hooks/pathtoken"}.Send(t.Context(), nil, []byte(`{}`), "d")
	if err == nil {
		t.Fatal("Send to a closed port succeeded")
	}
	if Permanent(err) {
		t.Errorf("Permanent(%v) = true, want a temporary error", err)
	}
	var he *HTTPError
	if errors.As(err, &he) {
		t.Errorf("got an *HTTPError for a refused connection: %v", err)
	}
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Errorf("error %v does not wrap the *net.OpError", err)
	}
	if strings.Contains(err.Error(), "pathtoken") {
		t.Errorf("error %q shows the URL's path", err)
	}
}

func TestWebhookContextDeadline(t *testing.T) {
	t.Parallel()
	// The receiver answers only once the client has gone away.
	srv, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err := Webhook{URL: srv.URL}.Send(ctx, srv.Client(), []byte(`{}`), "d")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send = %v, want context.DeadlineExceeded", err)
	}
	if Permanent(err) {
		t.Errorf("a timeout is permanent")
	}
}

func TestWebhookRedirectToOtherHostRefused(t *testing.T) {
	t.Parallel()
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
	}))
	t.Cleanup(other.Close)
	_, otherPort, _ := net.SplitHostPort(other.Listener.Addr().String())

	for _, target := range []string{
		other.URL + "/steal",                       // same IP, other port
		"http://localhost:" + otherPort + "/steal", // other host name
	} {
		srv, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target, http.StatusTemporaryRedirect)
		})
		err := Webhook{URL: srv.URL, Secret: []byte("k")}.Send(t.Context(), srv.Client(), []byte(`{}`), "d")
		var he *HTTPError
		if !errors.As(err, &he) || he.StatusCode != http.StatusTemporaryRedirect {
			t.Fatalf("redirect to %s: Send = %v, want an *HTTPError with 307", target, err)
		}
		if !Permanent(err) {
			t.Errorf("redirect to %s: not permanent", target)
		}
		if he.Redirect == "" || !strings.Contains(err.Error(), "refused") || strings.Contains(err.Error(), "/steal") {
			t.Errorf("redirect to %s: error %q (Redirect %q) should name the host only", target, err, he.Redirect)
		}
	}
	if n := otherHits.Load(); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
}

func TestWebhookRedirectOnSameHostFollowed(t *testing.T) {
	t.Parallel()
	secret := []byte("k")
	srv, got := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusPermanentRedirect)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	body := []byte(`{"n":1}`)
	if err := (Webhook{URL: srv.URL + "/old", Secret: secret}).Send(t.Context(), srv.Client(), body, "d"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	<-got // /old
	r := <-got
	if r.path != "/new" || string(r.body) != string(body) || !Verify(secret, r.body, r.header.Get(HeaderSignature)) {
		t.Errorf("redirected request: path %q body %q signature %q", r.path, r.body, r.header.Get(HeaderSignature))
	}
}

func TestWebhookInvalidRequest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		w    Webhook
		id   string
	}{
		{"no scheme", Webhook{URL: "example.com/hook"}, "d"},
		{"ftp", Webhook{URL: "ftp://example.com/hook"}, "d"},
		{"unparsable", Webhook{URL: "http://[::1"}, "d"},
		{"header name", Webhook{URL: "http://127.0.0.1:1/", Headers: map[string]string{"Bad Name": "x"}}, "d"},
		{"header value", Webhook{URL: "http://127.0.0.1:1/", Headers: map[string]string{"X-A": "a\r\nX-B: b"}}, "d"},
		{"delivery id", Webhook{URL: "http://127.0.0.1:1/"}, "d\n1"},
	} {
		err := tc.w.Send(t.Context(), nil, []byte(`{}`), tc.id)
		if err == nil || !Permanent(err) {
			t.Errorf("%s: Send = %v, want a permanent error", tc.name, err)
		}
	}
}

func TestPermanentOfOtherErrors(t *testing.T) {
	t.Parallel()
	if Permanent(nil) {
		t.Error("Permanent(nil)")
	}
	if Permanent(errors.New("something")) {
		t.Error("an unknown error is permanent")
	}
	if Permanent(context.Canceled) {
		t.Error("context.Canceled is permanent")
	}
	if !Permanent(&SMTPError{Code: 550}) || Permanent(&SMTPError{Code: 451}) {
		t.Error("SMTP reply classes misread")
	}
}
