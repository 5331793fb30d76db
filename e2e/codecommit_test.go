package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAWSCodeCommit drives hosted repositories and pull requests with the
// real `aws codecommit` CLI through the AWS-compatible endpoint: a
// repository created, branches listed, a pull request created by a
// developer, refused to a viewer's approval and merged by fast-forward,
// main moved to the source's tip.
func TestAWSCodeCommit(t *testing.T) {
	needAWSTools(t)
	t.Parallel()
	s := startServer(t)
	id, secret := awsKeys(t, s, "ops", "admin")
	did, dsecret := awsKeys(t, s, "dev", "operator")
	vid, vsecret := awsKeys(t, s, "look", "viewer")
	aws := func(keyID, keySecret string, args ...string) (map[string]any, string, error) {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--endpoint-url", s.url, "--output", "json", "codecommit"}, args...)...)
		cmd.Env = append(cliEnv("", ""), "AWS_ACCESS_KEY_ID="+keyID, "AWS_SECRET_ACCESS_KEY="+keySecret, "AWS_DEFAULT_REGION=us-east-1",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=1")
		out, err := cmd.Output()
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		var v map[string]any
		if err == nil && len(strings.TrimSpace(string(out))) > 0 {
			if jerr := json.Unmarshal(out, &v); jerr != nil {
				t.Fatalf("aws codecommit %v: %v\n%s", args, jerr, out)
			}
		}
		return v, stderr, err
	}
	must := func(keyID, keySecret string, args ...string) map[string]any {
		t.Helper()
		v, stderr, err := aws(keyID, keySecret, args...)
		if err != nil {
			t.Fatalf("aws codecommit %v: %v\n%s", args, err, stderr)
		}
		return v
	}
	md := must(id, secret, "create-repository", "--repository-name", "app", "--repository-description", "the app")["repositoryMetadata"].(map[string]any)
	if md["cloneUrlHttp"] != s.url+"/git/app.git" {
		t.Errorf("repository metadata = %v", md)
	}
	g := newGit(t, s)
	work := filepath.Join(s.scratch("cc"), "work")
	g.initRepo(work)
	g.run(work, "remote", "add", "origin", s.gitURL("app"))
	g.commit(work, "base", map[string]string{"a.txt": "a\n"})
	g.run(work, "push", "-q", "origin", "main")
	g.run(work, "checkout", "-q", "-b", "feature")
	tip := g.commit(work, "feature", map[string]string{"a.txt": "a from feature\n"})
	g.run(work, "push", "-q", "origin", "feature")

	branches := must(vid, vsecret, "list-branches", "--repository-name", "app")["branches"].([]any)
	if len(branches) != 2 {
		t.Errorf("branches = %v", branches)
	}
	pr := must(did, dsecret, "create-pull-request", "--title", "Feature",
		"--targets", "repositoryName=app,sourceReference=feature,destinationReference=main")["pullRequest"].(map[string]any)
	prID, rev := pr["pullRequestId"].(string), pr["revisionId"].(string)
	if rev != tip {
		t.Errorf("revision = %s, want the source's tip %s", rev, tip)
	}
	if _, stderr, err := aws(vid, vsecret, "update-pull-request-approval-state", "--pull-request-id", prID, "--revision-id", rev, "--approval-state", "APPROVE"); err == nil || !strings.Contains(stderr, "AccessDeniedException") {
		t.Errorf("a viewer's approval: %v %s", err, stderr)
	}
	merged := must(did, dsecret, "merge-pull-request-by-fast-forward", "--pull-request-id", prID, "--repository-name", "app")["pullRequest"].(map[string]any)
	target := merged["pullRequestTargets"].([]any)[0].(map[string]any)
	if merged["pullRequestStatus"] != "CLOSED" || target["mergeMetadata"].(map[string]any)["isMerged"] != true {
		t.Errorf("merged = %v", merged)
	}
	main := must(vid, vsecret, "get-branch", "--repository-name", "app", "--branch-name", "main")["branch"].(map[string]any)
	wantEqual(t, "main after the fast-forward", main["commitId"].(string), tip)
	closed := must(vid, vsecret, "list-pull-requests", "--repository-name", "app", "--pull-request-status", "CLOSED")["pullRequestIds"].([]any)
	if len(closed) != 1 || closed[0] != prID {
		t.Errorf("closed pull requests = %v", closed)
	}
}
