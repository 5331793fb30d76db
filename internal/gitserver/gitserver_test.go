package gitserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Tokens of the test authorizer.
const (
	aliceToken = "alice-token" // read and write
	bobToken   = "bob-token"   // read only
	wrongToken = "no-such-token"
)

type testAuth struct{}

func (testAuth) Authorize(r *http.Request, repo string, access Access) (string, error) {
	_, pass, ok := r.BasicAuth()
	switch {
	case !ok || pass == "":
		return "", ErrUnauthenticated
	case pass == aliceToken:
		return "alice", nil
	case pass == bobToken && access == Read:
		return "bob", nil
	case pass == bobToken:
		return "bob", ErrForbidden
	}
	return "", ErrUnauthenticated
}

// recorder is an onPush that records pushes and fails while told to.
type recorder struct {
	mu     sync.Mutex
	pushes []Push
	fail   bool
	calls  int
}

func (r *recorder) onPush(ctx context.Context, p Push) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail {
		return errors.New("store is down")
	}
	r.pushes = append(r.pushes, p)
	return nil
}

func (r *recorder) take() []Push {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.pushes
	r.pushes = nil
	return p
}

func (r *recorder) setFail(fail bool) {
	r.mu.Lock()
	r.fail = fail
	r.mu.Unlock()
}

// syncBuffer collects the server's log.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// seen is a request the server got.
type seen struct {
	method, path, query, protocol string
	chunked, credentials          bool
}

type env struct {
	t    *testing.T
	root string
	srv  *Server
	ts   *httptest.Server
	rec  *recorder
	home string
	logs *syncBuffer

	mu   sync.Mutex
	reqs []seen
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, root: t.TempDir(), rec: &recorder{}, home: t.TempDir(), logs: &syncBuffer{}}
	srv, err := New(e.root, testAuth{}, e.rec.onPush, slog.New(slog.NewTextHandler(e.logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	mux := http.NewServeMux()
	mux.Handle("/git/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.reqs = append(e.reqs, seen{
			method: r.Method, path: r.URL.Path, query: r.URL.RawQuery,
			protocol:    r.Header.Get("Git-Protocol"),
			chunked:     slices.Contains(r.TransferEncoding, "chunked"),
			credentials: r.Header.Get("Authorization") != "",
		})
		e.mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	e.ts = httptest.NewServer(mux)
	t.Cleanup(e.ts.Close)
	return e
}

func (e *env) requests() []seen {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.reqs
	e.reqs = nil
	return r
}

func (e *env) create(name string) {
	e.t.Helper()
	if _, err := e.srv.Create(context.Background(), name, "test repository"); err != nil {
		e.t.Fatal(err)
	}
}

// url is the clone URL of repo with token as the password ("" for none).
func (e *env) url(token, repo string) string {
	u, _ := url.Parse(e.ts.URL + "/git/" + repo + ".git")
	if token != "" {
		u.User = url.UserPassword("git", token)
	}
	return u.String()
}

// git runs the real git client with a configuration of its own, whatever the
// machine's is, and returns its standard output and error together.
func (e *env) git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + e.home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Ada Author",
		"GIT_AUTHOR_EMAIL=ada@example.com",
		"GIT_COMMITTER_NAME=Carl Committer",
		"GIT_COMMITTER_EMAIL=carl@example.com",
		"LC_ALL=C",
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (e *env) mustGit(dir string, args ...string) string {
	e.t.Helper()
	out, err := e.git(dir, args...)
	if err != nil {
		e.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// failGit runs git expecting it to fail, and returns its output.
func (e *env) failGit(dir string, args ...string) string {
	e.t.Helper()
	out, err := e.git(dir, args...)
	if err == nil {
		e.t.Fatalf("git %s succeeded, want a failure\n%s", strings.Join(args, " "), out)
	}
	return out
}

// work makes a local repository with origin pointing at repo.
func (e *env) work(repo, token string) string {
	e.t.Helper()
	dir := e.t.TempDir()
	e.mustGit(dir, "init", "-q", "-b", "main")
	e.mustGit(dir, "remote", "add", "origin", e.url(token, repo))
	return dir
}

// commit writes files (path: content; empty content removes the file) and commits.
func (e *env) commit(dir, msg string, files map[string]string) string {
	e.t.Helper()
	for path, content := range files {
		full := filepath.Join(dir, path)
		if content == "" {
			e.mustGit(dir, "rm", "-q", path)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			e.t.Fatal(err)
		}
		e.mustGit(dir, "add", path)
	}
	e.mustGit(dir, "commit", "-q", "--allow-empty", "-m", msg)
	return e.mustGit(dir, "rev-parse", "HEAD")
}

func (e *env) spoolFiles(repo string) []string {
	e.t.Helper()
	entries, err := os.ReadDir(filepath.Join(e.root, repo+".git", spoolDir))
	if err != nil {
		e.t.Fatal(err)
	}
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	return names
}

const zero = "0000000000000000000000000000000000000000"

func wantUpdates(t *testing.T, p Push, want ...RefUpdate) {
	t.Helper()
	var got []RefUpdate
	for _, u := range p.Updates { // what git reported; the commits are tested apart
		got = append(got, RefUpdate{Ref: u.Ref, Old: u.Old, New: u.New})
	}
	sortUpdates := func(u []RefUpdate) {
		slices.SortFunc(u, func(a, b RefUpdate) int { return strings.Compare(a.Ref, b.Ref) })
	}
	sortUpdates(got)
	sortUpdates(want)
	same := func(a, b RefUpdate) bool { return a.Ref == b.Ref && a.Old == b.Old && a.New == b.New }
	if !slices.EqualFunc(got, want, same) {
		t.Fatalf("push updates = %+v, want %+v", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, version := range []string{"0", "2"} {
		t.Run("protocol v"+version, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.create("app")
			proto := "protocol.version=" + version

			w := e.work("app", aliceToken)
			c1 := e.commit(w, "first", map[string]string{"README": "hello\n"})
			c2 := e.commit(w, "second", map[string]string{"README": "hello again\n"})
			e.mustGit(w, "-c", proto, "push", "-q", "origin", "main")

			clone := t.TempDir()
			e.mustGit(clone, "-c", proto, "clone", "-q", e.url(bobToken, "app"), ".")
			if got := e.mustGit(clone, "rev-parse", "HEAD"); got != c2 {
				t.Fatalf("cloned HEAD = %s, want %s", got, c2)
			}
			c3 := e.commit(w, "third", map[string]string{"b.txt": "b\n"})
			e.mustGit(w, "-c", proto, "push", "-q", "origin", "main")
			e.mustGit(clone, "-c", proto, "fetch", "-q", "origin")
			if got := e.mustGit(clone, "rev-parse", "origin/main"); got != c3 {
				t.Fatalf("fetched origin/main = %s, want %s", got, c3)
			}

			// Workers fetch pinned commits by id, also ones that are no tip.
			pinned := t.TempDir()
			e.mustGit(pinned, "init", "-q")
			e.mustGit(pinned, "-c", proto, "fetch", "-q", "--depth=1", e.url(aliceToken, "app"), c1)
			if got := e.mustGit(pinned, "rev-parse", "FETCH_HEAD"); got != c1 {
				t.Fatalf("fetched pinned commit = %s, want %s", got, c1)
			}

			var fetches, v2 int
			for _, r := range e.requests() {
				if strings.Contains(r.path, "upload-pack") || strings.Contains(r.query, "upload-pack") {
					fetches++
					if r.protocol == "version=2" {
						v2++
					}
				}
			}
			if version == "2" && v2 != fetches || version == "0" && v2 != 0 {
				t.Fatalf("%d of %d upload-pack requests asked for protocol v2 with %s", v2, fetches, proto)
			}

			pushes := e.rec.take()
			if len(pushes) != 2 {
				t.Fatalf("got %d pushes, want 2: %+v", len(pushes), pushes)
			}
			wantUpdates(t, pushes[0], RefUpdate{Ref: "refs/heads/main", Old: zero, New: c2})
			wantUpdates(t, pushes[1], RefUpdate{Ref: "refs/heads/main", Old: c2, New: c3})
		})
	}
}

func TestCredentialHelper(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("app")
	helper := "credential.helper=!f() { echo username=anyone; echo password=" + aliceToken + "; }; f"
	w := e.work("app", "")
	e.commit(w, "first", map[string]string{"a": "a\n"})
	e.mustGit(w, "-c", helper, "push", "-q", "origin", "main")
	clone := t.TempDir()
	e.mustGit(clone, "-c", helper, "clone", "-q", e.url("", "app"), ".")
	// Each command's first request went without credentials, was refused, and
	// the helper's credentials went with the next ones.
	reqs := e.requests()
	if len(reqs) < 4 || reqs[0].credentials || !reqs[1].credentials || !reqs[len(reqs)-1].credentials {
		t.Errorf("requests: %+v", reqs)
	}
	if len(e.rec.take()) != 1 {
		t.Fatal("push not recorded")
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("app")

	get := func(token, repo string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", e.ts.URL+"/git/"+repo+".git/info/refs?service=git-upload-pack", nil)
		if token != "" {
			req.SetBasicAuth("x", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, tc := range []struct{ token, repo string }{{"", "app"}, {wrongToken, "app"}, {"", "missing"}, {wrongToken, "missing"}} {
		resp := get(tc.token, tc.repo)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("token %q, repo %s: status %d, want 401", tc.token, tc.repo, resp.StatusCode)
		}
		if got := resp.Header.Get("WWW-Authenticate"); got != `Basic realm="sluice"` {
			t.Errorf("WWW-Authenticate = %q", got)
		}
	}
	if resp := get(aliceToken, "app"); resp.StatusCode != http.StatusOK {
		t.Errorf("good token: status %d", resp.StatusCode)
	}

	out := e.failGit(t.TempDir(), "clone", e.url("", "app"), ".")
	if !strings.Contains(out, "could not read Username") {
		t.Errorf("clone without credentials:\n%s", out)
	}
	out = e.failGit(t.TempDir(), "clone", e.url(wrongToken, "app"), ".")
	if !strings.Contains(out, "Authentication failed") {
		t.Errorf("clone with a wrong token:\n%s", out)
	}
	w := e.work("app", wrongToken)
	e.commit(w, "first", nil)
	out = e.failGit(w, "push", "origin", "main")
	if !strings.Contains(out, "Authentication failed") {
		t.Errorf("push with a wrong token:\n%s", out)
	}
	if p := e.rec.take(); len(p) != 0 {
		t.Errorf("pushes recorded: %+v", p)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "wrong credentials") || strings.Contains(logs, wrongToken) {
		t.Errorf("wrong tokens not logged, or logged with the token:\n%s", logs)
	}
}

func TestReadOnlyPrincipal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("app")
	w := e.work("app", aliceToken)
	e.commit(w, "first", map[string]string{"a": "a\n"})
	e.mustGit(w, "push", "-q", "origin", "main")
	e.rec.take()

	clone := t.TempDir()
	e.mustGit(clone, "clone", "-q", e.url(bobToken, "app"), ".")
	e.commit(clone, "by bob", map[string]string{"b": "b\n"})
	out := e.failGit(clone, "push", "origin", "main")
	if !strings.Contains(out, "403") {
		t.Errorf("push by a reader:\n%s", out)
	}
	req, _ := http.NewRequest("POST", e.ts.URL+"/git/app.git/git-receive-pack", strings.NewReader("0000"))
	req.SetBasicAuth("bob", bobToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "may not push to repository app") {
		t.Errorf("receive-pack by a reader: %d %s", resp.StatusCode, body)
	}
	if p := e.rec.take(); len(p) != 0 {
		t.Errorf("pushes recorded: %+v", p)
	}
}

func TestUnknownAndDeletedRepository(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	req, _ := http.NewRequest("GET", e.ts.URL+"/git/missing.git/info/refs?service=git-upload-pack", nil)
	req.SetBasicAuth("x", aliceToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || string(body) != "sluice: repository missing not found\n" {
		t.Errorf("unknown repository: %d %q", resp.StatusCode, body)
	}
	out := e.failGit(t.TempDir(), "clone", e.url(aliceToken, "missing"), ".")
	if !strings.Contains(out, "not found") {
		t.Errorf("clone of an unknown repository:\n%s", out)
	}

	e.create("app")
	w := e.work("app", aliceToken)
	e.commit(w, "first", nil)
	e.mustGit(w, "push", "-q", "origin", "main")
	if err := e.srv.Delete(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.root, "app.git")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("repository directory left after Delete: %v", err)
	}
	e.commit(w, "second", nil)
	out = e.failGit(w, "push", "origin", "main")
	if !strings.Contains(out, "not found") {
		t.Errorf("push to a deleted repository:\n%s", out)
	}
	if err := e.srv.Delete(ctx, "app"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete: %v", err)
	}
}

func TestBranchProtection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.create("app")
	w := e.work("app", aliceToken)
	c1 := e.commit(w, "first", map[string]string{"a": "1\n"})
	e.mustGit(w, "push", "-q", "origin", "main", "main:keep")
	e.rec.take()

	if err := e.srv.Protect(ctx, "app", Protection{Branch: "main", NoForcePush: true, NoDelete: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Protect(ctx, "app", Protection{Branch: "keep", NoDelete: true}); err != nil {
		t.Fatal(err)
	}
	repo, err := e.srv.Get(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	want := []Protection{{Branch: "keep", NoDelete: true}, {Branch: "main", NoForcePush: true, NoDelete: true}}
	if !slices.Equal(repo.Protections, want) {
		t.Fatalf("protections = %+v, want %+v", repo.Protections, want)
	}

	// A fast-forward is accepted.
	c2 := e.commit(w, "second", map[string]string{"a": "2\n"})
	e.mustGit(w, "push", "-q", "origin", "main")
	if p := e.rec.take(); len(p) != 1 {
		t.Fatalf("fast-forward: %d pushes recorded", len(p))
	}

	// A force push is refused, with the reason shown by git.
	e.mustGit(w, "reset", "-q", "--hard", c1)
	e.commit(w, "rewritten", map[string]string{"a": "3\n"})
	out := e.failGit(w, "push", "--force", "origin", "main")
	if !strings.Contains(out, "remote: sluice: branch main is protected: force pushes are not allowed") {
		t.Errorf("force push:\n%s", out)
	}
	// The whole push is refused, also its other, allowed, updates.
	out = e.failGit(w, "push", "--force", "origin", "main", "HEAD:refs/heads/other")
	if !strings.Contains(out, "force pushes are not allowed") {
		t.Errorf("force push with another branch:\n%s", out)
	}
	if head, err := e.srv.Head(ctx, "app", "main"); err != nil || head != c2 {
		t.Errorf("main = %s, %v; want %s", head, err, c2)
	}
	if _, err := e.srv.Head(ctx, "app", "other"); !errors.Is(err, ErrNotFound) {
		t.Errorf("branch other was created: %v", err)
	}

	// Deletions are refused.
	for _, b := range []string{"main", "keep"} {
		out = e.failGit(w, "push", "origin", ":"+b)
		if !strings.Contains(out, "remote: sluice: branch "+b+" is protected: deleting it is not allowed") {
			t.Errorf("delete %s:\n%s", b, out)
		}
	}
	// keep may be force pushed, not deleted.
	e.mustGit(w, "push", "-q", "--force", "origin", "HEAD:keep")
	if p := e.rec.take(); len(p) != 1 {
		t.Fatalf("force push to keep: %d pushes recorded", len(p))
	}

	// Lifting the rule allows force pushes again.
	if err := e.srv.Protect(ctx, "app", Protection{Branch: "main"}); err != nil {
		t.Fatal(err)
	}
	e.mustGit(w, "push", "-q", "--force", "origin", "main")
	repo, _ = e.srv.Get(ctx, "app")
	if !slices.Equal(repo.Protections, want[:1]) {
		t.Errorf("protections after lifting main's = %+v", repo.Protections)
	}
	if p := e.rec.take(); len(p) != 1 {
		t.Fatalf("force push after lifting: %d pushes recorded", len(p))
	}

	for _, b := range []string{"", "-x", "a..b", "a b", "x.lock", "a/", "HEAD", "it's"} {
		if err := e.srv.Protect(ctx, "app", Protection{Branch: b, NoDelete: true}); !errors.Is(err, ErrInvalid) {
			t.Errorf("Protect(%q) = %v, want ErrInvalid", b, err)
		}
	}
	if err := e.srv.Protect(ctx, "missing", Protection{Branch: "main", NoDelete: true}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Protect on a missing repository: %v", err)
	}
}

func TestPushEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("app")
	w := e.work("app", aliceToken)
	c1 := e.commit(w, "first", nil)
	e.mustGit(w, "tag", "v1")
	e.mustGit(w, "branch", "feature")
	before := time.Now().Add(-time.Second)
	e.mustGit(w, "push", "-q", "origin", "main", "feature", "v1")
	pushes := e.rec.take()
	if len(pushes) != 1 {
		t.Fatalf("got %d pushes, want 1", len(pushes))
	}
	p := pushes[0]
	if p.Repository != "app" || p.Principal != "alice" || p.ID == "" || p.At.Before(before) || p.At.After(time.Now()) {
		t.Errorf("push = %+v", p)
	}
	wantUpdates(t, p,
		RefUpdate{Ref: "refs/heads/feature", Old: zero, New: c1},
		RefUpdate{Ref: "refs/heads/main", Old: zero, New: c1},
		RefUpdate{Ref: "refs/tags/v1", Old: zero, New: c1},
	)
	for _, u := range p.Updates {
		if u.Kind() != "created" {
			t.Errorf("%s: kind %s", u.Ref, u.Kind())
		}
	}

	c2 := e.commit(w, "second", nil)
	e.mustGit(w, "push", "-q", "origin", "main", ":feature")
	pushes = e.rec.take()
	if len(pushes) != 1 {
		t.Fatalf("got %d pushes, want 1", len(pushes))
	}
	if pushes[0].ID == p.ID {
		t.Errorf("two pushes with id %s", p.ID)
	}
	wantUpdates(t, pushes[0],
		RefUpdate{Ref: "refs/heads/feature", Old: c1, New: zero},
		RefUpdate{Ref: "refs/heads/main", Old: c1, New: c2},
	)
	kinds := map[string]string{}
	for _, u := range pushes[0].Updates {
		kinds[u.Ref] = u.Kind()
	}
	if kinds["refs/heads/feature"] != "deleted" || kinds["refs/heads/main"] != "updated" {
		t.Errorf("kinds = %v", kinds)
	}

	// Nothing to push: no event.
	e.mustGit(w, "push", "-q", "origin", "main")
	if p := e.rec.take(); len(p) != 0 {
		t.Errorf("up-to-date push recorded: %+v", p)
	}
	if f := e.spoolFiles("app"); len(f) != 0 {
		t.Errorf("spool not empty: %v", f)
	}
}

func TestLargePushIsChunked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("big")
	w := e.work("big", aliceToken)
	data := make([]byte, 3<<20)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(w, "blob.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	e.mustGit(w, "add", "blob.bin")
	c := e.commit(w, "big", nil)
	e.mustGit(w, "push", "-q", "origin", "main")

	var chunked bool
	for _, r := range e.requests() {
		if r.method == "POST" && strings.HasSuffix(r.path, "/git-receive-pack") && r.chunked {
			chunked = true
		}
	}
	if !chunked {
		t.Fatal("the push was not sent chunked; the test does not test what it should")
	}
	if head, err := e.srv.Head(context.Background(), "big", "main"); err != nil || head != c {
		t.Fatalf("head = %s, %v; want %s", head, err, c)
	}
	clone := t.TempDir()
	e.mustGit(clone, "clone", "-q", e.url(aliceToken, "big"), ".")
	got, err := os.ReadFile(filepath.Join(clone, "blob.bin"))
	if err != nil || string(got) != string(data) {
		t.Fatalf("cloned blob differs: %v", err)
	}
	if p := e.rec.take(); len(p) != 1 {
		t.Fatalf("%d pushes recorded", len(p))
	}
}

func TestFailedOnPushIsRecovered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.create("app")
	e.create("lib")
	e.rec.setFail(true)

	w := e.work("app", aliceToken)
	c1 := e.commit(w, "first", nil)
	e.mustGit(w, "push", "-q", "origin", "main") // accepted all the same
	c2 := e.commit(w, "second", nil)
	e.mustGit(w, "push", "-q", "origin", "main")
	wl := e.work("lib", aliceToken)
	l1 := e.commit(wl, "lib", nil)
	e.mustGit(wl, "push", "-q", "origin", "main")
	if got := e.spoolFiles("app"); len(got) != 2 {
		t.Fatalf("spool of app = %v, want two pushes", got)
	}
	if err := e.srv.Recover(ctx); err == nil {
		t.Fatal("Recover with a failing onPush returned nil")
	}
	if got := e.spoolFiles("app"); len(got) != 2 {
		t.Fatalf("spool of app after a failed Recover = %v", got)
	}

	// A new server on the same root, as after a restart.
	e.rec.setFail(false)
	srv2, err := New(e.root, testAuth{}, e.rec.onPush, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv2.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	pushes := e.rec.take()
	if len(pushes) != 3 {
		t.Fatalf("recovered %d pushes, want 3: %+v", len(pushes), pushes)
	}
	var app []Push
	for _, p := range pushes {
		if p.Principal != "alice" {
			t.Errorf("principal %q", p.Principal)
		}
		switch p.Repository {
		case "app":
			app = append(app, p)
		case "lib":
			wantUpdates(t, p, RefUpdate{Ref: "refs/heads/main", Old: zero, New: l1})
		}
	}
	if len(app) != 2 {
		t.Fatalf("recovered %d pushes of app", len(app))
	}
	wantUpdates(t, app[0], RefUpdate{Ref: "refs/heads/main", Old: zero, New: c1})
	wantUpdates(t, app[1], RefUpdate{Ref: "refs/heads/main", Old: c1, New: c2})
	if got := e.spoolFiles("app"); len(got) != 0 {
		t.Fatalf("spool of app after Recover = %v", got)
	}
	if err := srv2.Recover(ctx); err != nil || len(e.rec.take()) != 0 {
		t.Fatalf("second Recover: %v", err)
	}
}

func TestConcurrentPushes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("app")
	w := e.work("app", aliceToken)
	base := e.commit(w, "base", nil)
	e.mustGit(w, "push", "-q", "origin", "main")
	e.rec.take()

	const n = 4
	heads := make([]string, n)
	dirs := make([]string, n)
	for i := range n {
		dirs[i] = t.TempDir()
		e.mustGit(dirs[i], "clone", "-q", e.url(aliceToken, "app"), ".")
		heads[i] = e.commit(dirs[i], fmt.Sprintf("work %d", i), map[string]string{fmt.Sprintf("f%d", i): "x\n"})
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			out, err := e.git(dirs[i], "push", "-q", "origin", fmt.Sprintf("HEAD:refs/heads/b%d", i))
			if err != nil {
				errs[i] = fmt.Errorf("%v: %s", err, out)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	pushes := e.rec.take()
	if len(pushes) != n {
		t.Fatalf("%d pushes recorded, want %d", len(pushes), n)
	}
	got := map[string]RefUpdate{}
	ids := map[string]bool{}
	for _, p := range pushes {
		ids[p.ID] = true
		if len(p.Updates) != 1 {
			t.Fatalf("push %+v", p)
		}
		got[p.Updates[0].Ref] = p.Updates[0]
	}
	if len(ids) != n {
		t.Errorf("push ids not unique: %v", ids)
	}
	for i := range n {
		ref := fmt.Sprintf("refs/heads/b%d", i)
		if u := got[ref]; u.Ref != ref || u.Old != zero || u.New != heads[i] {
			t.Errorf("%s: %+v", ref, u)
		}
	}
	_ = base
}

func TestCommitAndChangedFiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.create("app")
	w := e.work("app", aliceToken)
	c1 := e.commit(w, "first\n\nwith a body", map[string]string{"a.txt": "a\n", "dir/b.txt": "b\n", "old.txt": "old\n"})
	e.mustGit(w, "mv", "old.txt", "new.txt")
	c2 := e.commit(w, "second", map[string]string{"a.txt": "changed\n", "dir/b.txt": "", "dir/c.txt": "c\n"})
	e.mustGit(w, "push", "-q", "origin", "main")

	ci, err := e.srv.Commit(ctx, "app", c1)
	if err != nil {
		t.Fatal(err)
	}
	if ci.ID != c1 || ci.Message != "first\n\nwith a body" || ci.AuthorName != "Ada Author" || ci.AuthorEmail != "ada@example.com" {
		t.Errorf("commit = %+v", ci)
	}
	if ci.AuthorDate.IsZero() || ci.CommitterDate.IsZero() || time.Since(ci.CommitterDate) > time.Hour {
		t.Errorf("commit dates = %v, %v", ci.AuthorDate, ci.CommitterDate)
	}
	if ci, err := e.srv.Commit(ctx, "app", c2[:10]); err != nil || ci.ID != c2 || ci.Message != "second" {
		t.Errorf("abbreviated: %+v, %v", ci, err)
	}
	if _, err := e.srv.Commit(ctx, "app", strings.Repeat("ab", 20)); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown commit: %v", err)
	}
	if _, err := e.srv.Commit(ctx, "app", "--help"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad commit id: %v", err)
	}

	files, err := e.srv.ChangedFiles(ctx, "app", zero, c1)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a.txt", "dir/b.txt", "old.txt"}; !slices.Equal(files, want) {
		t.Errorf("files of c1 = %v, want %v", files, want)
	}
	files, err = e.srv.ChangedFiles(ctx, "app", c1, c2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a.txt", "dir/b.txt", "dir/c.txt", "new.txt", "old.txt"}; !slices.Equal(files, want) {
		t.Errorf("changed files = %v, want %v", files, want)
	}
	if _, err := e.srv.ChangedFiles(ctx, "missing", c1, c2); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing repository: %v", err)
	}

	if head, err := e.srv.Head(ctx, "app", "main"); err != nil || head != c2 {
		t.Errorf("Head = %s, %v", head, err)
	}
	if _, err := e.srv.Head(ctx, "app", "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Head of a missing branch: %v", err)
	}
	if _, err := e.srv.Head(ctx, "missing", "main"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Head of a missing repository: %v", err)
	}
}

func TestRepositories(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	r, err := e.srv.Create(ctx, "my-app_1.0", "the app")
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "my-app_1.0" || r.Description != "the app" || r.CloneURLPath != "/git/my-app_1.0.git" || time.Since(r.Created) > time.Minute {
		t.Errorf("created %+v", r)
	}
	if _, err := e.srv.Create(ctx, "my-app_1.0", ""); !errors.Is(err, ErrExists) {
		t.Errorf("second Create: %v", err)
	}
	for _, name := range []string{"", "a/b", "x.git", "X.GIT", "a b", strings.Repeat("a", 101), "ü"} {
		_, err := e.srv.Create(ctx, name, "")
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "repository name") {
			t.Errorf("Create(%q) = %v, want ErrInvalid naming the field", name, err)
		}
	}
	if _, err := e.srv.Create(ctx, "long", strings.Repeat("d", 1001)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "description") {
		t.Errorf("long description: %v", err)
	}
	e.create("another")
	list, err := e.srv.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "another" || list[1].Name != "my-app_1.0" {
		t.Errorf("List = %+v", list)
	}
	got, err := e.srv.Get(ctx, "my-app_1.0")
	if err != nil || !got.Created.Equal(r.Created) || got.Description != "the app" {
		t.Errorf("Get = %+v, %v", got, err)
	}
	if _, err := e.srv.Get(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(missing) = %v", err)
	}
	if _, err := e.srv.Get(ctx, "../etc"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(../etc) = %v", err)
	}

	// The repository's configuration is what sluice documents.
	dir := filepath.Join(e.root, "another.git")
	for key, want := range map[string]string{
		"uploadpack.allowReachableSHA1InWant": "true",
		"receive.denyNonFastForwards":         "",
		"core.bare":                           "true",
	} {
		out, _ := e.git(dir, "config", "--get", key)
		if strings.TrimSpace(out) != want {
			t.Errorf("%s = %q, want %q", key, strings.TrimSpace(out), want)
		}
	}
	if err := e.srv.Delete(ctx, "another"); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.srv.List(ctx); len(list) != 1 {
		t.Errorf("List after Delete = %+v", list)
	}
}

func TestPushOnDisk(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("app")
	// A push that bypasses the server (an administrator on the machine) is
	// recorded by the hooks all the same and handed on by Recover.
	w := e.work("app", aliceToken)
	c := e.commit(w, "first", nil)
	e.mustGit(w, "push", "-q", filepath.Join(e.root, "app.git"), "main")
	if p := e.rec.take(); len(p) != 0 {
		t.Fatalf("delivered without Recover: %+v", p)
	}
	if err := e.srv.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	pushes := e.rec.take()
	if len(pushes) != 1 || pushes[0].Principal != "" || !strings.Contains(pushes[0].ID, "-local") {
		t.Fatalf("pushes = %+v", pushes)
	}
	wantUpdates(t, pushes[0], RefUpdate{Ref: "refs/heads/main", Old: zero, New: c})
}

func TestPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("app")
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/git/app.git/info/refs?service=git-upload-pack", 200},
		{"GET", "/git/app/info/refs?service=git-upload-pack", 200},
		{"GET", "/git/app.git/info/refs", 403},
		{"GET", "/git/app.git/HEAD", 404},
		{"GET", "/git/app.git/objects/info/packs", 404},
		{"GET", "/git/app.git/sluice/repo.json", 404},
		{"GET", "/git/app.git/git-upload-pack", 405},
		{"GET", "/git/", 404},
		{"GET", "/git/..%2Fx.git/info/refs?service=git-upload-pack", 404},
	} {
		req, _ := http.NewRequest(tc.method, e.ts.URL+tc.path, nil)
		req.SetBasicAuth("x", aliceToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
	}

	// Protocol v2 is served, not only asked for.
	req, _ := http.NewRequest("GET", e.ts.URL+"/git/app.git/info/refs?service=git-upload-pack", nil)
	req.SetBasicAuth("x", aliceToken)
	req.Header.Set("Git-Protocol", "version=2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "version 2") {
		t.Errorf("v2 info/refs: %q", body)
	}
}

// TestPushCommits: each update of a push carries the commits it brought:
// old..new for an update, what the repository did not have before for a
// created reference (also when two references are created with the same
// commits in one push), none for a deletion or a tag of a known commit;
// newest first, at most MaxPushCommits.
func TestPushCommits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("app")
	w := e.work("app", aliceToken)
	c1 := e.commit(w, "first\n\nwith a body", nil)
	c2 := e.commit(w, "second", nil)
	e.mustGit(w, "branch", "feature")
	e.mustGit(w, "push", "-q", "origin", "main", "feature")
	p := e.rec.take()[0]
	byRef := func(p Push) map[string]RefUpdate {
		m := map[string]RefUpdate{}
		for _, u := range p.Updates {
			m[u.Ref] = u
		}
		return m
	}
	ids := func(u RefUpdate) []string {
		var out []string
		for _, c := range u.Commits {
			out = append(out, c.ID)
		}
		return out
	}
	for _, ref := range []string{"refs/heads/main", "refs/heads/feature"} {
		u := byRef(p)[ref]
		if !slices.Equal(ids(u), []string{c2, c1}) || u.CommitsTruncated {
			t.Errorf("%s created with two new commits: %v (truncated %v)", ref, ids(u), u.CommitsTruncated)
		}
	}
	first := byRef(p)["refs/heads/main"].Commits[1]
	if first.Message != "first\n\nwith a body" || first.Author.Name != "Ada Author" || first.Author.Email != "ada@example.com" ||
		first.Committer.Name != "Carl Committer" || first.Author.Date.IsZero() {
		t.Errorf("commit = %+v", first)
	}

	// An update lists old..new; a tag of a known commit and a deletion list none.
	c3 := e.commit(w, "third", nil)
	e.mustGit(w, "tag", "v1", c2)
	e.mustGit(w, "push", "-q", "origin", "main", "v1", ":feature")
	m := byRef(e.rec.take()[0])
	if got := ids(m["refs/heads/main"]); !slices.Equal(got, []string{c3}) {
		t.Errorf("update: %v, want [%s]", got, c3)
	}
	if got := ids(m["refs/tags/v1"]); len(got) != 0 {
		t.Errorf("tag of a known commit: %v, want none", got)
	}
	if got := ids(m["refs/heads/feature"]); len(got) != 0 {
		t.Errorf("deletion: %v, want none", got)
	}

	// More than MaxPushCommits: the newest, truncated.
	var last string
	for i := range MaxPushCommits + 5 {
		last = e.commit(w, fmt.Sprint("bulk ", i), nil)
	}
	e.mustGit(w, "push", "-q", "origin", "main")
	u := e.rec.take()[0].Updates[0]
	if len(u.Commits) != MaxPushCommits || !u.CommitsTruncated || u.Commits[0].ID != last {
		t.Errorf("bulk push: %d commits, truncated %v, newest %s (want %s)", len(u.Commits), u.CommitsTruncated, u.Commits[0].ID, last)
	}
}
