package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/githost"
	"github.com/sluice-ci/sluice/internal/githost/giteatest"
)

const giteaHookSecret = "e2e-gitea-hook-secret-93c1"

// TestGiteaWebhookPipelineStatus: a push to a real Gitea reaches the built
// server through the connection's webhook, runs the pipeline on the pushed
// commit (cloned from Gitea) and sets pending, then success or failure, on
// that commit in Gitea, linking to the execution. A stranger's delivery with
// a wrong signature is refused with the reason, audited, and starts nothing.
func TestGiteaWebhookPipelineStatus(t *testing.T) {
	g := giteatest.Start(t)
	repo := g.CreateRepo(t, "shop", false)
	s := startServer(t)
	env := cliEnv(s.url, s.token)
	for name, value := range map[string]string{"gitea-token": g.AdminToken, "gitea-hook": giteaHookSecret} {
		if r := runCLIStdin(t, env, value, "secret", "put", name); r.code != 0 {
			t.Fatalf("secret put %s: %s", name, r)
		}
	}
	conn := filepath.Join(s.scratch("files"), "gitea.yml")
	write(t, conn, fmt.Sprintf("name: gitea\nkind: gitea\nurl: %s\ntoken: gitea-token\nwebhookSecret: gitea-hook\n", g.URL))
	s.ok("connection", "apply", "-f", conn)
	pipe := filepath.Join(s.scratch("files"), "shop.yml")
	write(t, pipe, fmt.Sprintf(`name: shop
pipelineType: V2
executionMode: PARALLEL
stages:
  - name: Source
    actions:
      - name: src
        provider: CodeStarSourceConnection
        configuration:
          ConnectionArn: arn:aws:codeconnections:us-east-1:000000000000:connection/gitea
          FullRepositoryId: %s
          BranchName: main
        outputArtifacts: [code]
  - name: Test
    actions:
      - name: test
        provider: Commands
        inputArtifacts: [code]
        commands: ["grep -q ok status.txt"]
commitStatus:
  context: ci/shop
`, repo.FullName))
	s.apply(pipe)
	hookURL := s.url + "/webhooks/connections/gitea"
	g.API(t, http.MethodPost, "/repos/"+repo.FullName+"/hooks", map[string]any{
		"type": "gitea", "active": true, "events": []string{"push"},
		"config": map[string]string{"url": hookURL, "content_type": "json", "secret": giteaHookSecret},
	}, nil)

	// A good commit, then a bad one: each runs and reports.
	for _, c := range []struct {
		content, want, state string
	}{
		{"ok\n", "Succeeded", "success"},
		{"bad\n", "Failed", "failure"},
	} {
		sha := g.Commit(t, repo, "main", "status "+c.want, map[string]string{"status.txt": c.content})
		id := waitExecutionOf(t, s, "shop", sha)
		s.waitEnd("shop", id, c.want)
		var st struct {
			State    string `json:"state"`
			Statuses []struct {
				Status    string `json:"status"`
				Context   string `json:"context"`
				TargetURL string `json:"target_url"`
			} `json:"statuses"`
		}
		eventually(t, 30*time.Second, "Gitea's status of "+sha, func() bool {
			g.API(t, http.MethodGet, "/repos/"+repo.FullName+"/commits/"+sha+"/status", nil, &st)
			return st.State == c.state
		})
		if len(st.Statuses) != 1 || st.Statuses[0].Context != "ci/shop" || st.Statuses[0].TargetURL != s.url+"/ui/pipelines/shop/executions/"+id {
			t.Errorf("statuses of %s: %+v", sha, st.Statuses)
		}
		var listed struct {
			CommitStatuses []struct {
				State, Delivery string
			} `json:"commitStatuses"`
		}
		// Both statuses were queued, possibly in the same instant; the
		// final one is recorded as delivered once Gitea's answer is (just
		// after Gitea shows it).
		eventually(t, 10*time.Second, "the final status recorded as delivered", func() bool {
			getJSON(t, s, "/api/v1/pipelines/shop/executions/"+id+"/commit-statuses", &listed)
			for _, cs := range listed.CommitStatuses {
				if cs.State == c.state && cs.Delivery == "Delivered" {
					return len(listed.CommitStatuses) == 2
				}
			}
			return false
		})
		wantContains(t, "sluice execution statuses", s.ok("execution", "statuses", "shop", id), "\n"+c.state+"  ", "\npending  ", "ci/shop", "Delivered")
	}

	// A stranger's push, signed with another secret: 401 with the reason,
	// in the audit trail, nothing started. An unknown connection: 404.
	body := []byte(fmt.Sprintf(`{"ref":"refs/heads/main","before":"%s","after":"%s","repository":{"full_name":%q}}`,
		strings.Repeat("1", 40), strings.Repeat("2", 40), repo.FullName))
	for _, c := range []struct {
		path, secret string
		code         int
		want         string
	}{
		{"/webhooks/connections/gitea", "not-the-secret", 401, "X-Gitea-Signature does not match the body"},
		{"/webhooks/connections/gitea", "", 401, "no X-Gitea-Signature header"},
		{"/webhooks/connections/nope", giteaHookSecret, 404, "connection nope not found"},
	} {
		req, _ := http.NewRequest(http.MethodPost, s.url+c.path, bytes.NewReader(body))
		req.Header.Set("X-Gitea-Event", "push")
		if c.secret != "" {
			name, value := githost.Sign(githost.Gitea, body, []byte(c.secret))
			req.Header.Set(name, value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code || !strings.Contains(string(raw), c.want) {
			t.Errorf("%s with %q: %d %s, want %d %s", c.path, c.secret, resp.StatusCode, raw, c.code, c.want)
		}
	}
	// A body over 1 MiB is refused before its signature is even checked.
	big := bytes.Repeat([]byte(" "), 1<<20+1)
	resp, err := http.Post(s.url+"/webhooks/connections/gitea", "application/json", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), "body larger than") {
		t.Errorf("a 1 MiB + 1 body: %d %s", resp.StatusCode, raw)
	}
	var denied []auditRecord
	s.json(&denied, "audit", "--denied")
	found := false
	for _, d := range denied {
		if d.Operation == "DeliverConnectionWebhook" && d.Principal == "connection/gitea" && d.Status == 401 && strings.Contains(d.Error, "does not match") {
			found = true
		}
	}
	if !found {
		t.Errorf("the refused delivery is not in the audit trail: %+v", denied)
	}
	var list []executionSummary
	s.json(&list, "executions", "shop")
	if len(list) != 2 {
		t.Errorf("%d executions, want the 2 Gitea pushes", len(list))
	}
}

// waitExecutionOf waits for the execution of pipeline name pinned to sha.
func waitExecutionOf(t *testing.T, s *server, name, sha string) string {
	t.Helper()
	var id string
	eventually(t, 30*time.Second, "an execution of "+name+" at "+sha, func() bool {
		var list []executionSummary
		s.json(&list, "executions", name)
		for _, e := range list {
			x := s.execution(name, e.PipelineExecutionID)
			for _, r := range x.SourceRevisions {
				if r.RevisionID == sha {
					id = e.PipelineExecutionID
					return true
				}
			}
		}
		return false
	})
	return id
}

func getJSON(t *testing.T, s *server, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, v) != nil {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, raw)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
