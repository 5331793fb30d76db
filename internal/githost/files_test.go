package githost

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// These stand in for GitHub's "List pull requests files", GitLab's "List
// merge request diffs", Bitbucket's "List changes in a pull request"
// (diffstat) and the hosts' "get a commit", which cannot run here; Gitea's
// are the same calls as GitHub's.
func TestPullRequestFiles(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/v3/repos/o/r/pulls/7/files":
			if r.Header.Get("Authorization") != "Bearer tok" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			// Two pages: 100 files, then one renamed file.
			if r.URL.Query().Get("page") == "1" {
				var b strings.Builder
				b.WriteString("[")
				for i := range 100 {
					if i > 0 {
						b.WriteString(",")
					}
					fmt.Fprintf(&b, `{"filename":"f%d"}`, i)
				}
				b.WriteString("]")
				w.Write([]byte(b.String()))
				return
			}
			w.Write([]byte(`[{"filename":"new/name.go","previous_filename":"old/name.go"}]`))
		case r.URL.EscapedPath() == "/api/v4/projects/g%2Fr/merge_requests/7/diffs":
			w.Write([]byte(`[{"old_path":"a.go","new_path":"a.go"},{"old_path":"b.go","new_path":"c.go"}]`))
		case r.URL.Path == "/2.0/repositories/w/r/pullrequests/7/diffstat":
			if r.URL.Query().Get("page") == "" {
				fmt.Fprintf(w, `{"values":[{"old":null,"new":{"path":"added.txt"}}],"next":"%s/2.0/repositories/w/r/pullrequests/7/diffstat?page=2"}`, srv.URL)
				return
			}
			w.Write([]byte(`{"values":[{"old":{"path":"gone.txt"},"new":null}]}`))
		case r.URL.Path == "/2.0/repositories/w/r/commit/d3022fc0ca3d":
			w.Write([]byte(`{"hash":"d3022fc0ca3d1e3c9a2b6d0f1c1d2e3f4a5b6c7d"}`))
		case r.URL.Path == "/2.0/repositories/w/r/commit/aaaaaaaaaaaa":
			w.Write([]byte(`{"hash":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}`))
		default:
			t.Errorf("unexpected %s", r.URL)
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	gh := &Client{Host: GitHub, BaseURL: srv.URL, Token: "tok", HTTP: srv.Client()}
	files, err := gh.PullRequestFiles(ctx, "o/r", 7)
	if err != nil || len(files) != 102 || !slices.Contains(files, "f99") || !slices.Contains(files, "old/name.go") {
		t.Errorf("github: %d files, %v", len(files), err)
	}
	gl := &Client{Host: GitLab, BaseURL: srv.URL, Token: "tok", HTTP: srv.Client()}
	if files, err := gl.PullRequestFiles(ctx, "g/r", 7); err != nil || !slices.Equal(files, []string{"a.go", "c.go", "b.go"}) {
		t.Errorf("gitlab: %v, %v", files, err)
	}
	bb := &Client{Host: Bitbucket, BaseURL: srv.URL, Token: "tok", HTTP: srv.Client()}
	if files, err := bb.PullRequestFiles(ctx, "w/r", 7); err != nil || !slices.Equal(files, []string{"added.txt", "gone.txt"}) {
		t.Errorf("bitbucket: %v, %v", files, err)
	}
	if full, err := bb.ResolveCommit(ctx, "w/r", "d3022fc0ca3d"); err != nil || full != "d3022fc0ca3d1e3c9a2b6d0f1c1d2e3f4a5b6c7d" {
		t.Errorf("resolve: %q, %v", full, err)
	}
	// A host answering another commit than the one asked for is not
	// believed.
	if full, err := bb.ResolveCommit(ctx, "w/r", "aaaaaaaaaaaa"); err == nil {
		t.Errorf("resolve to another commit: %q", full)
	}
	if _, err := (&Client{Host: GitHub, BaseURL: srv.URL, Token: "wrong", HTTP: srv.Client()}).PullRequestFiles(ctx, "o/r", 7); !IsPermanent(err) {
		t.Errorf("401: %v", err)
	}
}
