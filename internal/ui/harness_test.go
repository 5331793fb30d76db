package ui_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/server"
	"github.com/sluice-ci/sluice/internal/wire"
)

// testServer is a real sluice server, in this process, on a fresh data
// directory and a port of its own.
type testServer struct {
	t     *testing.T
	url   string
	admin string // the admin token
	api   *client.Client
	srv   *server.Server
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s, err := server.Open(ctx, server.Config{
		DataDir: dir, Addr: "127.0.0.1:0", Workers: 2, Lease: 2 * time.Second,
		SweepInterval: 200 * time.Millisecond, Isolation: "none", Logger: logger,
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("server: %v", err)
		}
		s.Close()
	})
	raw, err := os.ReadFile(filepath.Join(dir, server.AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{t: t, url: s.URL(), admin: strings.TrimSpace(string(raw)), srv: s}
	ts.api = client.New(ts.url, ts.admin)
	// Run serves once its loops have started: wait until it answers.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(ts.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not answer: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return ts
}

func (ts *testServer) apply(yml string) {
	ts.t.Helper()
	if _, err := ts.api.ApplyPipeline(context.Background(), "pipeline.yml", []byte(yml), false); err != nil {
		ts.t.Fatalf("apply: %v", err)
	}
}

func (ts *testServer) token(name, policy string) string {
	ts.t.Helper()
	tok, err := ts.api.CreateToken(context.Background(), name, policy)
	if err != nil {
		ts.t.Fatalf("create token: %v", err)
	}
	return tok.Token
}

// waitExecution waits until cond holds for the execution.
func (ts *testServer) waitExecution(name, id string, what string, cond func(*wire.Execution) bool) *wire.Execution {
	ts.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var since time.Time
	for {
		e, err := ts.api.Execution(context.Background(), name, id, since, 2*time.Second)
		if err != nil {
			ts.t.Fatalf("execution: %v", err)
		}
		if cond(e) {
			return e
		}
		if time.Now().After(deadline) {
			ts.t.Fatalf("timed out waiting for %s; execution is %s", what, e.Status)
		}
		since = e.LastUpdateTime
	}
}

func actionStatus(e *wire.Execution, stage, action string) string {
	for _, st := range e.Stages {
		if st.Name != stage {
			continue
		}
		for _, a := range st.Actions {
			if a.Name == action {
				return a.Status
			}
		}
	}
	return ""
}

// browserless is a console client without a browser: a cookie jar and
// plain requests, for what a browser cannot be made to do (forged forms).
type browserless struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func newBrowserless(t *testing.T, base string) *browserless {
	jar, _ := cookiejar.New(nil)
	return &browserless{t: t, base: base, http: &http.Client{
		Jar: jar,
		// Redirects are looked at, not followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

var hiddenCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browserless) get(path string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.http.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := hiddenCSRF.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return resp, string(body)
}

func (b *browserless) post(path string, form url.Values, header ...string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// signIn signs in with token through the form, as a browser would.
func (b *browserless) signIn(token string) {
	b.t.Helper()
	b.get("/ui/signin")
	resp, body := b.post("/ui/signin", url.Values{"csrf": {b.csrf}, "token": {token}, "next": {"/ui/pipelines"}})
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign in: %s\n%s", resp.Status, body)
	}
	b.get("/ui/pipelines") // picks up the session's CSRF token
}

const helloPipeline = `
name: hello
variables:
  - name: GREETING
    defaultValue: hi
stages:
  - name: Build
    actions:
      - name: compile
        provider: Commands
        commands: ["echo '#{variables.GREETING} compiled'"]
  - name: Test
    actions:
      - name: check
        provider: Commands
        commands: ["echo checked"]
`

const releasePipeline = `
name: release
stages:
  - name: Build
    actions:
      - name: compile
        provider: Commands
        commands: ["echo built"]
  - name: Approve
    actions:
      - name: review
        provider: Manual
        configuration:
          CustomData: Check the canary dashboard first
  - name: Deploy
    actions:
      - name: ship
        provider: Commands
        commands: ["echo shipped"]
`
