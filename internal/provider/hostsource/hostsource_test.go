package hostsource_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/githost/giteatest"
	"github.com/sluice-ci/sluice/internal/hostconn"
	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/provider/gitsource"
	"github.com/sluice-ci/sluice/internal/provider/hostsource"
)

const arn = "arn:aws:codeconnections:us-east-1:000000000000:connection/gitea"

// run runs a provider's action against the Gitea with token, and returns
// its result, its log and the path of its output artifact.
func run(t *testing.T, g *giteatest.Server, providerName, token string, cfg map[string]string, revision string) (provider.Result, string, string, error) {
	t.Helper()
	dir := t.TempDir()
	var log bytes.Buffer
	job := &provider.Job{
		ID: "j1", Provider: providerName, Configuration: cfg, Revision: revision,
		WorkDir: filepath.Join(dir, "work"), ScratchDir: filepath.Join(dir, "scratch"),
		Outputs: []provider.Output{{Name: "code", Path: filepath.Join(dir, "code.zip")}},
		Env:     []string{"PATH=" + os.Getenv("PATH")},
		Log:     &log,
		GitHost: func(context.Context) (hostconn.Settings, error) {
			return hostconn.Settings{Name: "gitea", Kind: hostconn.Gitea, URL: g.URL, Token: token}, nil
		},
	}
	for _, d := range []string{job.WorkDir, job.ScratchDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	res, err := hostsource.Provider{}.Run(context.Background(), job)
	return res, log.String(), job.Outputs[0].Path, err
}

func zipFiles(t *testing.T, path string) map[string]string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string]string{}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		out[f.Name] = string(b)
	}
	return out
}

func TestConnectionSourceAgainstGitea(t *testing.T) {
	g := giteatest.Start(t)
	repo := g.CreateRepo(t, "app", true)
	first := g.Commit(t, repo, "main", "first commit\n\nwith a body", map[string]string{"a.txt": "one\n", "dir/b.txt": "b\n"})
	head := g.Commit(t, repo, "main", "second commit", map[string]string{"a.txt": "two\n"})
	g.Commit(t, repo, "other", "elsewhere", map[string]string{"a.txt": "other\n"})
	cfg := map[string]string{"ConnectionArn": arn, "FullRepositoryId": repo.FullName, "BranchName": "main"}

	t.Run("CODE_ZIP", func(t *testing.T) {
		res, log, out, err := run(t, g, hostsource.ProviderCodeStarSourceConnection, g.AdminToken, cfg, "")
		if err != nil {
			t.Fatalf("%v\n%s", err, log)
		}
		files := zipFiles(t, out)
		if files["a.txt"] != "two\n" || files["dir/b.txt"] != "b\n" {
			t.Errorf("artifact holds %v", files)
		}
		for name := range files {
			if strings.HasPrefix(name, ".git") {
				t.Errorf("CODE_ZIP artifact holds %s", name)
			}
		}
		want := map[string]string{
			"CommitId": head, "CommitMessage": "second commit", "BranchName": "main",
			"FullRepositoryName": repo.FullName, "ProviderType": "Gitea", "ConnectionArn": arn,
		}
		for k, v := range want {
			if res.OutputVariables[k] != v {
				t.Errorf("variable %s = %q, want %q", k, res.OutputVariables[k], v)
			}
		}
		if res.OutputVariables["AuthorDate"] == "" || res.Summary != "second commit" {
			t.Errorf("result %+v", res)
		}
		if strings.Contains(log, g.AdminToken) {
			t.Errorf("the token is in the log:\n%s", log)
		}
	})

	t.Run("pinned revision", func(t *testing.T) {
		res, log, out, err := run(t, g, hostsource.ProviderCodeConnections, g.AdminToken, cfg, first)
		if err != nil {
			t.Fatalf("%v\n%s", err, log)
		}
		if res.OutputVariables["CommitId"] != first || zipFiles(t, out)["a.txt"] != "one\n" {
			t.Errorf("pinned %s: got %s, %v", first, res.OutputVariables["CommitId"], zipFiles(t, out))
		}
		if res.OutputVariables["CommitMessage"] != "first commit\n\nwith a body" {
			t.Errorf("CommitMessage %q", res.OutputVariables["CommitMessage"])
		}
	})

	t.Run("CODEBUILD_CLONE_REF", func(t *testing.T) {
		clone := map[string]string{"OutputArtifactFormat": "CODEBUILD_CLONE_REF"}
		for k, v := range cfg {
			clone[k] = v
		}
		_, log, out, err := run(t, g, hostsource.ProviderCodeStarSourceConnection, g.AdminToken, clone, "")
		if err != nil {
			t.Fatalf("%v\n%s", err, log)
		}
		// What a build gets: the artifact unpacked as its source directory,
		// where git works without the network.
		dir := t.TempDir()
		if err := artifact.UnzipFile(context.Background(), out, dir); err != nil {
			t.Fatal(err)
		}
		gitOut := func(args ...string) string {
			cmd := exec.Command("git", args...)
			cmd.Dir = dir
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1"}
			b, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("git %v: %v\n%s", args, err, b)
			}
			return strings.TrimSpace(string(b))
		}
		if got := gitOut("log", "--format=%H %s"); got != head+" second commit\n"+first+" first commit" {
			t.Errorf("git log in the clone:\n%s", got)
		}
		if got := gitOut("rev-parse", "--abbrev-ref", "HEAD"); got != "main" {
			t.Errorf("checked out %q, want main", got)
		}
		if got := gitOut("rev-parse", "origin/other"); got == "" {
			t.Errorf("other branches missing")
		}
		if got := gitOut("status", "--porcelain"); got != "" {
			t.Errorf("work tree not clean:\n%s", got)
		}
		config, err := os.ReadFile(filepath.Join(dir, ".git", "config"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(config), g.AdminToken) || !strings.Contains(string(config), g.URL+"/"+repo.FullName+".git") {
			t.Errorf(".git/config:\n%s", config)
		}
		// Nothing anywhere in the clone holds the token.
		filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err == nil && info.Mode().IsRegular() {
				if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(g.AdminToken)) {
					t.Errorf("%s holds the token", p)
				}
			}
			return nil
		})
	})

	t.Run("GitHub version 1", func(t *testing.T) {
		gh := map[string]string{"Owner": repo.Owner, "Repo": repo.Name, "Branch": "other", "Connection": "gitea"}
		res, log, out, err := run(t, g, hostsource.ProviderGitHub, g.AdminToken, gh, "")
		if err != nil {
			t.Fatalf("%v\n%s", err, log)
		}
		if zipFiles(t, out)["a.txt"] != "other\n" {
			t.Errorf("artifact %v", zipFiles(t, out))
		}
		id := res.OutputVariables["CommitId"]
		if res.OutputVariables["RepositoryName"] != repo.Name || res.OutputVariables["BranchName"] != "other" ||
			res.OutputVariables["CommitterDate"] == "" || res.OutputVariables["CommitUrl"] != g.URL+"/api/v1/repos/"+repo.FullName+"/git/commits/"+id {
			t.Errorf("variables %v", res.OutputVariables)
		}
		// CommitUrl answers on Gitea's API.
		var c struct{ SHA string }
		g.API(t, "GET", "/repos/"+repo.FullName+"/git/commits/"+id, nil, &c)
		if c.SHA != id {
			t.Errorf("commit %s from the API: %+v", id, c)
		}
	})
}

// What a pipeline author or a stranger could try, refused with a clear
// error and no artifact: a repository the token cannot read, one that does
// not exist, a deleted branch, a wrong token, a commit not on the branch.
func TestConnectionSourceRefusals(t *testing.T) {
	g := giteatest.Start(t)
	repo := g.CreateRepo(t, "secret-app", true)
	g.Commit(t, repo, "main", "first", map[string]string{"a.txt": "a\n"})
	g.Commit(t, repo, "gone", "on a branch to delete", map[string]string{"a.txt": "g\n"})
	g.DeleteBranch(t, repo, "gone")
	other := g.CreateRepo(t, "elsewhere", false)
	stray := g.Commit(t, other, "main", "stray", map[string]string{"x": "x\n"})
	outsider := g.CreateUser(t, "outsider")

	cfg := func(repoName, branch string) map[string]string {
		return map[string]string{"ConnectionArn": arn, "FullRepositoryId": repoName, "BranchName": branch}
	}
	tests := []struct {
		name     string
		token    string
		cfg      map[string]string
		revision string
		kind     error
		want     string
	}{
		{"token cannot read it", outsider, cfg(repo.FullName, "main"), "", gitsource.ErrRepositoryNotFound,
			"repository " + repo.FullName + " not found, or the token of connection gitea may not read it"},
		{"no such repository", g.AdminToken, cfg(giteatest.AdminUser+"/nothing", "main"), "", gitsource.ErrRepositoryNotFound, "repository " + giteatest.AdminUser + "/nothing not found"},
		{"deleted branch", g.AdminToken, cfg(repo.FullName, "gone"), "", gitsource.ErrBranchNotFound, "branch gone not found in repository " + repo.FullName},
		{"wrong token", "0123456789abcdef0123456789abcdef01234567", cfg(repo.FullName, "main"), "", gitsource.ErrAuthentication, "authentication failed for repository " + repo.FullName + " with the token of connection gitea: the host refused it"},
		{"commit of another repository", g.AdminToken, cfg(repo.FullName, "main"), stray, gitsource.ErrCommitNotFound, "commit " + stray + " is not on branch main"},
		{"repository climbing out", g.AdminToken, cfg(repo.FullName+"/../../../api/v1/user", "main"), "", nil, "is not a repository's full name"},
		{"option as branch", g.AdminToken, cfg(repo.FullName, "--upload-pack=touch /tmp/x"), "", gitsource.ErrConfiguration, "branch name cannot start with '-'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, log, out, err := run(t, g, hostsource.ProviderCodeStarSourceConnection, tt.token, tt.cfg, tt.revision)
			if err == nil {
				t.Fatalf("no error\n%s", log)
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), tt.want) || (tt.kind != nil && !errors.Is(err, tt.kind)) {
				t.Errorf("error %q, want %q (%v)", err, tt.want, tt.kind)
			}
			if strings.Contains(err.Error()+log, tt.token) {
				t.Errorf("the token is in the error or log: %v\n%s", err, log)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("an artifact was written")
			}
		})
	}
}

// The poller's Head reads the branch through the connection, and skips a
// connection that takes webhooks.
func TestHeads(t *testing.T) {
	g := giteatest.Start(t)
	repo := g.CreateRepo(t, "polled", true)
	head := g.Commit(t, repo, "main", "first", map[string]string{"a.txt": "a\n"})
	webhooks := false
	h := hostsource.Heads{Env: []string{"PATH=" + os.Getenv("PATH")}, Conn: func(ctx context.Context, pipeline, stage, action string) (hostconn.Settings, bool, error) {
		return hostconn.Settings{Name: "gitea", Kind: hostconn.Gitea, URL: g.URL, Token: g.AdminToken}, webhooks, nil
	}}
	cfg := map[string]string{"ConnectionArn": arn, "FullRepositoryId": repo.FullName, "BranchName": "main"}
	got, where, err := h.Head(context.Background(), "p", "Source", "src", hostsource.ProviderCodeStarSourceConnection, cfg)
	if err != nil || got != head || where != "branch main of "+repo.FullName {
		t.Errorf("Head = %q, %q, %v; want %s", got, where, err, head)
	}
	cfg["BranchName"] = "nope"
	if _, _, err := h.Head(context.Background(), "p", "Source", "src", hostsource.ProviderCodeStarSourceConnection, cfg); !errors.Is(err, gitsource.ErrBranchNotFound) {
		t.Errorf("Head of a missing branch: %v", err)
	}
	webhooks = true
	if _, _, err := h.Head(context.Background(), "p", "Source", "src", hostsource.ProviderCodeStarSourceConnection, cfg); !h.NotPolled(err) {
		t.Errorf("Head with webhooks: %v, want not polled", err)
	}
}
