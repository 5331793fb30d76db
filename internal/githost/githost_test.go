package githost

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var testSecret = []byte("s3cr3t-for-tests")

func readData(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestVerify(t *testing.T) {
	body := readData(t, "github-push.json")
	for _, h := range []Host{GitHub, GitLab, Bitbucket, Gitea} {
		t.Run(string(h), func(t *testing.T) {
			name, value := Sign(h, body, testSecret)
			good := http.Header{}
			good.Set(name, value)
			if err := Verify(h, good, body, testSecret); err != nil {
				t.Fatalf("a delivery signed with the secret is refused: %v", err)
			}

			// The same signature over a changed body, or a signature
			// made with another secret, is refused.
			if err := Verify(h, good, append([]byte(" "), body...), testSecret); h != GitLab && !errors.Is(err, ErrUnauthorized) {
				t.Errorf("a changed body passes: %v", err)
			}
			wn, wv := Sign(h, body, []byte("another secret"))
			wrong := http.Header{}
			wrong.Set(wn, wv)
			err := Verify(h, wrong, body, testSecret)
			if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), h.SignatureHeader()) {
				t.Errorf("wrong secret: err = %v, want unauthorized naming %s", err, h.SignatureHeader())
			}
			if strings.Contains(err.Error(), string(testSecret)) || strings.Contains(err.Error(), wv) {
				t.Errorf("the error quotes the secret or the signature: %v", err)
			}

			err = Verify(h, http.Header{}, body, testSecret)
			if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "no "+h.SignatureHeader()) {
				t.Errorf("missing header: err = %v, want unauthorized saying no %s", err, h.SignatureHeader())
			}

			// Another host's header does not stand in for this one's.
			for _, other := range []Host{GitHub, GitLab, Bitbucket, Gitea} {
				if other == h || (h == Gitea && other == GitHub) {
					continue
				}
				on, ov := Sign(other, body, testSecret)
				hdr := http.Header{}
				hdr.Set(on, ov)
				if err := Verify(h, hdr, body, testSecret); !errors.Is(err, ErrUnauthorized) {
					t.Errorf("%s's header %s passes for %s", other, on, h)
				}
			}

			if err := Verify(h, good, body, nil); !errors.Is(err, ErrUnauthorized) {
				t.Errorf("with no secret configured, a delivery passes: %v", err)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	body := []byte(`{}`)
	for _, c := range []struct {
		host          Host
		header, value string
		want          string
	}{
		{GitHub, "X-Hub-Signature-256", "sha1=abcd", "not sha256=HEX"},
		{GitHub, "X-Hub-Signature-256", "sha256=zz", "not hexadecimal"},
		{Bitbucket, "X-Hub-Signature", "abcd", "not sha256=HEX"},
		{Gitea, "X-Gitea-Signature", "nothex", "not hexadecimal"},
		{GitLab, "X-Gitlab-Token", "", "does not match"},
	} {
		hdr := http.Header{}
		hdr[c.header] = []string{c.value}
		err := Verify(c.host, hdr, body, testSecret)
		if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: %q: err = %v, want %q", c.host, c.header, c.value, err, c.want)
		}
	}
}

func parseFile(t *testing.T, h Host, event, file string) *Event {
	t.Helper()
	hdr := http.Header{}
	switch h {
	case GitHub:
		hdr.Set("X-GitHub-Event", event)
		hdr.Set("X-GitHub-Delivery", "d-1")
	case Gitea:
		hdr.Set("X-Gitea-Event", event)
		hdr.Set("X-GitHub-Event", event) // Gitea sends both
	case GitLab:
		hdr.Set("X-Gitlab-Event", event)
	case Bitbucket:
		hdr.Set("X-Event-Key", event)
		hdr.Set("X-Request-UUID", "u-1")
	}
	e, err := Parse(h, hdr, readData(t, file))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return e
}

func TestParsePush(t *testing.T) {
	e := parseFile(t, GitHub, "push", "github-push.json")
	if e.Repository != "octo-org/shop" || e.DeliveryID != "d-1" || len(e.Pushes) != 1 || e.PullRequest != nil {
		t.Fatalf("github push: %+v", e)
	}
	p := e.Pushes[0]
	if p.Branch != "main" || p.After != "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c" || p.Deleted || len(p.Commits) == 0 || !p.ChangedFilesKnown || len(p.ChangedFiles) == 0 {
		t.Errorf("github push: %+v", p)
	}
	if c := p.Commits[0]; c.ID != "6113728f27ae82c7b1a177c8d03f9e96e0adf246" || c.Message != "Add the payments client" || c.Author != "Ada Lovelace" {
		t.Errorf("github commit: %+v", c)
	}

	if p := parseFile(t, GitHub, "push", "github-branch-delete.json").Pushes[0]; !p.Deleted {
		t.Errorf("a deleted branch is not Deleted: %+v", p)
	}

	e = parseFile(t, GitLab, "Push Hook", "gitlab-push.json")
	if p := e.Pushes[0]; e.Repository == "" || p.Branch != "release/2024.05" || p.After != "da1560886d4f094c3e6c9ef40349f7d38b5d27d7" || p.Pusher != "grace" || len(p.ChangedFiles) == 0 {
		t.Errorf("gitlab push: %+v %+v", e, p)
	}

	e = parseFile(t, Gitea, "push", "gitea-push.json")
	if p := e.Pushes[0]; e.Repository != "tools/linter" || p.Branch != "main" || p.Pusher != "linus" ||
		!slices.Equal(p.ChangedFiles, []string{"rules/yaml.go", "rules/registry.go"}) {
		t.Errorf("gitea push: %+v %+v", e, p)
	}

	e = parseFile(t, Bitbucket, "repo:push", "bitbucket-push.json")
	if e.Repository != "team_name/repo_name" || len(e.Pushes) != 2 {
		t.Fatalf("bitbucket push: %+v", e)
	}
	if p := e.Pushes[0]; p.Ref != "refs/heads/main" || p.Before != "1e65c05c1d5171631d92438a13901ca7dae9618c" ||
		p.After != "709d658dc5b6d6afcd46049c2f332ee3f515a67d" || p.Deleted || p.Pusher != "emma" || p.ChangedFilesKnown ||
		len(p.Commits) != 1 || p.Commits[0].Message != "Add the release notes\n" {
		t.Errorf("bitbucket push of main: %+v", p)
	}
	if p := e.Pushes[1]; p.Branch != "old-feature" || !p.Deleted || p.After != "" {
		t.Errorf("bitbucket deleted branch: %+v", p)
	}
}

func TestParsePullRequest(t *testing.T) {
	for _, c := range []struct {
		host        Host
		event, file string
		want        PullRequest
	}{
		{GitHub, "pull_request", "github-pull-request-opened.json", PullRequest{Number: 2, Action: PROpen, HostAction: "opened",
			SourceBranch: "changes", DestinationBranch: "master", HeadCommit: "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
			BaseCommit: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", Title: "Update the README with new information.",
			URL: "https://github.com/Codertocat/Hello-World/pull/2", HeadRef: "refs/pull/2/head"}},
		{GitHub, "pull_request", "github-pull-request-synchronize.json", PullRequest{Number: 2, Action: PRUpdated, HostAction: "synchronize",
			SourceBranch: "changes", DestinationBranch: "master", HeadCommit: "34c5c7793cb3b279e22454cb6750c80560547b3a",
			BaseCommit: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", Title: "Update the README with new information.",
			URL: "https://github.com/Codertocat/Hello-World/pull/2", HeadRef: "refs/pull/2/head"}},
		{GitHub, "pull_request", "github-pull-request-closed.json", PullRequest{Number: 2, Action: PRClosed, HostAction: "closed",
			SourceBranch: "changes", DestinationBranch: "master", HeadCommit: "34c5c7793cb3b279e22454cb6750c80560547b3a",
			BaseCommit: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", Title: "Update the README with new information.",
			URL: "https://github.com/Codertocat/Hello-World/pull/2", HeadRef: "refs/pull/2/head", Merged: true}},
		{GitHub, "pull_request", "github-pull-request-labeled.json", PullRequest{Number: 2, Action: "", HostAction: "labeled",
			SourceBranch: "changes", DestinationBranch: "master", HeadCommit: "34c5c7793cb3b279e22454cb6750c80560547b3a",
			BaseCommit: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", Title: "Update the README with new information.",
			URL: "https://github.com/Codertocat/Hello-World/pull/2", HeadRef: "refs/pull/2/head"}},
		{Gitea, "pull_request", "gitea-pull-request-synchronized.json", PullRequest{Number: 4, Action: PRUpdated, HostAction: "synchronized",
			SourceBranch: "toml", DestinationBranch: "main", HeadCommit: "4a4ff7e8d1c0b6bb4b4c4a7a4e0c1f1e4e9c3b2a",
			BaseCommit: "bffeb74224043ba2feb48d137756c8a9331c449a", Title: "Lint TOML files", URL: "https://git.example.org/tools/linter/pulls/4", HeadRef: "refs/pull/4/head"}},
		{GitLab, "Merge Request Hook", "gitlab-merge-request-open.json", PullRequest{Number: 1, Action: PROpen, HostAction: "open",
			SourceBranch: "ms-viewport", DestinationBranch: "master", HeadCommit: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
			Title: "MS-Viewport", URL: "http://example.com/diaspora/merge_requests/1", HeadRef: "refs/merge-requests/1/head"}},
		{GitLab, "Merge Request Hook", "gitlab-merge-request-update.json", PullRequest{Number: 1, Action: PRUpdated, HostAction: "update",
			SourceBranch: "ms-viewport", DestinationBranch: "master", HeadCommit: "b83d6e391c22777fca1ed3012fce84f633d7fed0",
			Title: "MS-Viewport", URL: "http://example.com/diaspora/merge_requests/1", HeadRef: "refs/merge-requests/1/head"}},
		{GitLab, "Merge Request Hook", "gitlab-merge-request-update-title.json", PullRequest{Number: 1, Action: "", HostAction: "update",
			SourceBranch: "ms-viewport", DestinationBranch: "master", HeadCommit: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
			Title: "MS-Viewport", URL: "http://example.com/diaspora/merge_requests/1", HeadRef: "refs/merge-requests/1/head"}},
		{GitLab, "Merge Request Hook", "gitlab-merge-request-merge.json", PullRequest{Number: 1, Action: PRClosed, HostAction: "merge",
			SourceBranch: "ms-viewport", DestinationBranch: "master", HeadCommit: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
			Title: "MS-Viewport", URL: "http://example.com/diaspora/merge_requests/1", HeadRef: "refs/merge-requests/1/head", Merged: true}},
		{Bitbucket, "pullrequest:created", "bitbucket-pullrequest-created.json", PullRequest{Number: 12, Action: PROpen, HostAction: "created",
			SourceBranch: "release-notes", DestinationBranch: "main", HeadCommit: "d3022fc0ca3d", BaseCommit: "ce5965ddd289",
			Title: "Add the release notes", URL: "https://bitbucket.org/team_name/repo_name/pull-requests/12"}},
		{Bitbucket, "pullrequest:fulfilled", "bitbucket-pullrequest-fulfilled.json", PullRequest{Number: 12, Action: PRClosed, HostAction: "fulfilled",
			SourceBranch: "release-notes", DestinationBranch: "main", HeadCommit: "d3022fc0ca3d", BaseCommit: "ce5965ddd289",
			Title: "Add the release notes", URL: "https://bitbucket.org/team_name/repo_name/pull-requests/12", Merged: true}},
	} {
		e := parseFile(t, c.host, c.event, c.file)
		if e.PullRequest == nil || e.IsPush() {
			t.Errorf("%s: not a pull request: %+v", c.file, e)
			continue
		}
		got, _ := json.Marshal(e.PullRequest)
		want, _ := json.Marshal(c.want)
		if string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", c.file, got, want)
		}
		if e.Repository == "" {
			t.Errorf("%s: no repository", c.file)
		}
	}
}

// A pull request from a fork says whose repository its head is in; its
// head is still read from the base repository's reference for it. The
// recorded deliveries are changed to come from a fork, as the hosts'
// documentation describes one.
func TestParseForkPullRequest(t *testing.T) {
	load := func(file string) map[string]any {
		raw, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	obj := func(m map[string]any, keys ...string) map[string]any {
		for _, k := range keys {
			m = m[k].(map[string]any)
		}
		return m
	}
	parse := func(h Host, event string, m map[string]any) *PullRequest {
		body, _ := json.Marshal(m)
		e, err := Parse(h, http.Header{"X-Github-Event": {event}, "X-Gitlab-Event": {event}, "X-Event-Key": {event}}, body)
		if err != nil || e.PullRequest == nil {
			t.Fatalf("%s %s: %v", h, event, err)
		}
		return e.PullRequest
	}

	gh := load("github-pull-request-opened.json")
	if pr := parse(GitHub, "pull_request", gh); pr.HeadRepository != "" {
		t.Errorf("github, not a fork: %+v", pr)
	}
	obj(gh, "pull_request", "head", "repo")["full_name"] = "Forker/Hello-World"
	if pr := parse(GitHub, "pull_request", gh); pr.HeadRepository != "Forker/Hello-World" || pr.HeadRef != "refs/pull/2/head" {
		t.Errorf("github fork: %+v", pr)
	}

	gl := load("gitlab-merge-request-open.json")
	attrs := obj(gl, "object_attributes")
	attrs["source_project_id"] = 15
	attrs["source"] = map[string]any{"path_with_namespace": "forker/diaspora"}
	if pr := parse(GitLab, "Merge Request Hook", gl); pr.HeadRepository != "forker/diaspora" || pr.HeadRef != "refs/merge-requests/1/head" {
		t.Errorf("gitlab fork: %+v", pr)
	}

	bb := load("bitbucket-pullrequest-created.json")
	obj(bb, "pullrequest", "source")["repository"] = map[string]any{"full_name": "forker/repo_name"}
	obj(bb, "pullrequest", "destination")["repository"] = map[string]any{"full_name": "team_name/repo_name"}
	if pr := parse(Bitbucket, "pullrequest:created", bb); pr.HeadRepository != "forker/repo_name" || pr.HeadRef != "" {
		t.Errorf("bitbucket fork: %+v", pr)
	}
}

func TestParseOther(t *testing.T) {
	hdr := http.Header{"X-Github-Event": {"ping"}}
	e, err := Parse(GitHub, hdr, []byte(`{"zen":"Keep it logically awesome.","repository":{"full_name":"a/b"}}`))
	if err != nil || e.IsPush() || e.PullRequest != nil || e.Name != "ping" || e.Repository != "a/b" {
		t.Errorf("ping: %+v, %v", e, err)
	}
	if _, err := Parse(GitHub, http.Header{}, []byte(`{}`)); !errors.Is(err, ErrBadRequest) {
		t.Errorf("no event header: %v", err)
	}
	for _, h := range []Host{GitHub, GitLab, Bitbucket, Gitea} {
		hdr := http.Header{"X-Github-Event": {"push"}, "X-Gitea-Event": {"push"}, "X-Gitlab-Event": {"Push Hook"}, "X-Event-Key": {"repo:push"}}
		if _, err := Parse(h, hdr, []byte(`[1,2]`)); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: a JSON array parses: %v", h, err)
		}
		if _, err := Parse(h, hdr, []byte(`{}`)); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: a push without a ref parses: %v", h, err)
		}
	}
}

// recorded is a request a fake host received.
type recorded struct {
	method, path, rawPath string
	header                http.Header
	body                  map[string]string
}

func fakeHost(t *testing.T, status int) (*httptest.Server, *[]recorded) {
	var got []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]string
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Errorf("body is not a JSON object of strings: %s", raw)
		}
		got = append(got, recorded{r.Method, r.URL.Path, r.URL.EscapedPath(), r.Header.Clone(), body})
		w.WriteHeader(status)
		if status >= 400 {
			io.WriteString(w, `{"message":"Validation Failed"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

// TestStatusRequests checks the requests sent to GitHub, GitLab and
// Bitbucket against the shapes their API references document (GitHub:
// "Create a commit status"; GitLab: "Set the pipeline status of a commit";
// Bitbucket: "Create a build status for a commit"). None of them can run
// here, so an httptest server stands in for each and records what arrived;
// Gitea's statuses are tested against a real Gitea elsewhere.
func TestStatusRequests(t *testing.T) {
	const sha = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
	st := Status{State: StateFailure, Context: "sluice/deploy", Description: "Failed in stage Build", TargetURL: "https://ci.example.com/pipelines/deploy/executions/e1"}
	for _, c := range []struct {
		host       Host
		token      string
		repo       string
		path       string
		rawPath    string
		authHeader string
		authValue  string
		want       map[string]string
	}{
		{GitHub, "ghp_x", "octo-org/shop", "/api/v3/repos/octo-org/shop/statuses/" + sha, "", "Authorization", "Bearer ghp_x",
			map[string]string{"state": "failure", "context": "sluice/deploy", "description": st.Description, "target_url": st.TargetURL}},
		{GitLab, "glpat-x", "group/sub/shop", "/api/v4/projects/group/sub/shop/statuses/" + sha, "/api/v4/projects/group%2Fsub%2Fshop/statuses/" + sha, "Private-Token", "glpat-x",
			map[string]string{"state": "failed", "name": "sluice/deploy", "description": st.Description, "target_url": st.TargetURL}},
		{Bitbucket, "emma:app-pass", "team_name/repo_name", "/2.0/repositories/team_name/repo_name/commit/" + sha + "/statuses/build", "", "Authorization", "Basic ZW1tYTphcHAtcGFzcw==",
			map[string]string{"state": "FAILED", "key": "sluice/deploy", "name": "sluice/deploy", "description": st.Description, "url": st.TargetURL}},
	} {
		t.Run(string(c.host), func(t *testing.T) {
			srv, got := fakeHost(t, http.StatusCreated)
			cl := &Client{Host: c.host, BaseURL: srv.URL, Token: c.token, HTTP: srv.Client()}
			if err := cl.SetStatus(context.Background(), c.repo, sha, st); err != nil {
				t.Fatal(err)
			}
			if len(*got) != 1 {
				t.Fatalf("%d requests", len(*got))
			}
			r := (*got)[0]
			if r.method != http.MethodPost || r.path != c.path {
				t.Errorf("request %s %s, want POST %s", r.method, r.path, c.path)
			}
			if c.rawPath != "" && r.rawPath != c.rawPath {
				t.Errorf("escaped path %s, want %s", r.rawPath, c.rawPath)
			}
			if v := r.header.Get(c.authHeader); v != c.authValue {
				t.Errorf("%s: %q, want %q", c.authHeader, v, c.authValue)
			}
			if !mapsEqual(r.body, c.want) {
				t.Errorf("body %v, want %v", r.body, c.want)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestStatusStates(t *testing.T) {
	for _, c := range []struct {
		host Host
		want []string // pending, running, success, failure, error, stopped
	}{
		{GitHub, []string{"pending", "pending", "success", "failure", "error", "error"}},
		{Gitea, []string{"pending", "pending", "success", "failure", "error", "error"}},
		{GitLab, []string{"pending", "running", "success", "failed", "failed", "canceled"}},
		{Bitbucket, []string{"INPROGRESS", "INPROGRESS", "SUCCESSFUL", "FAILED", "FAILED", "STOPPED"}},
	} {
		for i, s := range []State{StatePending, StateRunning, StateSuccess, StateFailure, StateError, StateStopped} {
			if got := hostState(c.host, s); got != c.want[i] {
				t.Errorf("%s %s = %q, want %q", c.host, s, got, c.want[i])
			}
		}
	}
}

func TestStatusErrors(t *testing.T) {
	srv, _ := fakeHost(t, http.StatusUnprocessableEntity)
	cl := &Client{Host: GitHub, BaseURL: srv.URL, Token: "ghp_secret_token", HTTP: srv.Client()}
	err := cl.SetStatus(context.Background(), "a/b", "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", Status{State: StateSuccess})
	if !IsPermanent(err) || !strings.Contains(err.Error(), "422") || !strings.Contains(err.Error(), "Validation Failed") {
		t.Errorf("422: err = %v, want a permanent API error with the host's message", err)
	}
	if strings.Contains(err.Error(), "ghp_secret_token") {
		t.Errorf("the error holds the token: %v", err)
	}
	srv5, _ := fakeHost(t, http.StatusBadGateway)
	cl.BaseURL = srv5.URL
	if err := cl.SetStatus(context.Background(), "a/b", "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", Status{State: StateSuccess}); err == nil || IsPermanent(err) {
		t.Errorf("502: err = %v, want a temporary error", err)
	}
	for _, c := range []struct{ repo, sha string }{{"noslash", "abcdef0"}, {"a/b", "HEAD"}, {"a/b", "../../x"}} {
		if err := cl.SetStatus(context.Background(), c.repo, c.sha, Status{State: StateSuccess}); err == nil {
			t.Errorf("%s@%s: accepted", c.repo, c.sha)
		}
	}
	long := strings.Repeat("é", 300)
	req, err := (&Client{Host: GitHub, BaseURL: "https://github.com"}).StatusRequest(context.Background(), "a/b", "abcdef0", Status{State: StatePending, Description: long})
	if err != nil {
		t.Fatal(err)
	}
	if req.URL.String() != "https://api.github.com/repos/a/b/statuses/abcdef0" {
		t.Errorf("github.com's API URL: %s", req.URL)
	}
	var body map[string]string
	json.NewDecoder(req.Body).Decode(&body)
	if n := len([]rune(body["description"])); n != maxDescription {
		t.Errorf("a long description is %d characters, want %d", n, maxDescription)
	}
}
