//go:build unix

package gitsource_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/provider/gitsource"
)

// sampleRepo has a regular file, an executable, a symlink, a dotfile and a
// subdirectory, committed at known dates in two time zones.
func sampleRepo(t *testing.T) (*repo, string) {
	t.Helper()
	r := newRepo(t)
	r.write("README.md", "# project\n", 0o644)
	r.write("build.sh", "#!/bin/sh\necho build\n", 0o755)
	r.write(".env.example", "X=1\n", 0o644)
	r.write("src/main.go", "package main\n", 0o644)
	r.symlink("readme-link", "README.md")
	id := r.commit("Add the build script\n\nIt builds everything.\nSecond line.",
		"GIT_AUTHOR_DATE=2024-03-05T10:11:12+02:00", "GIT_COMMITTER_DATE=2024-03-06T01:02:03-05:00")
	return r, id
}

func TestRemoteCodeZip(t *testing.T) {
	t.Parallel()
	r, id := sampleRepo(t)
	job, log := newJob(t, "GitRemote", map[string]string{"Url": r.fileURL(), "BranchName": "main"})

	res := mustRun(t, &gitsource.Provider{}, job)

	wantVars := map[string]string{
		"CommitId":       id,
		"CommitMessage":  "Add the build script\n\nIt builds everything.\nSecond line.",
		"AuthorDate":     "2024-03-05T08:11:12Z",
		"CommitterDate":  "2024-03-06T06:02:03Z",
		"BranchName":     "main",
		"RepositoryName": strings.TrimPrefix(r.dir, "/"),
		"Url":            r.fileURL(),
	}
	if !reflect.DeepEqual(res.OutputVariables, wantVars) {
		t.Errorf("output variables:\n got %q\nwant %q", res.OutputVariables, wantVars)
	}
	if res.Summary != "Add the build script" {
		t.Errorf("summary = %q", res.Summary)
	}

	for _, name := range zipNames(t, job.Outputs[0].Path) {
		if name == ".git" || strings.HasPrefix(name, ".git/") || strings.Contains(name, ".sluice") {
			t.Errorf("CODE_ZIP holds %s", name)
		}
	}
	dir := unzipOutput(t, job)
	if got := readFile(t, filepath.Join(dir, "README.md")); got != "# project\n" {
		t.Errorf("README.md = %q", got)
	}
	if got := readFile(t, filepath.Join(dir, ".env.example")); got != "X=1\n" {
		t.Errorf(".env.example = %q", got)
	}
	if got := readFile(t, filepath.Join(dir, "src", "main.go")); got != "package main\n" {
		t.Errorf("src/main.go = %q", got)
	}
	fi, err := os.Stat(filepath.Join(dir, "build.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		t.Errorf("build.sh mode %v, want executable", fi.Mode())
	}
	fi, err = os.Stat(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o111 != 0 {
		t.Errorf("README.md mode %v, want not executable", fi.Mode())
	}
	if target, err := os.Readlink(filepath.Join(dir, "readme-link")); err != nil || target != "README.md" {
		t.Errorf("readme-link: target %q, %v; want a symlink to README.md", target, err)
	}
	if !strings.Contains(log.String(), "git fetch") || !strings.Contains(log.String(), "Add the build script") {
		t.Errorf("log does not show the fetch and the commit:\n%s", log)
	}
}

func TestRemoteCloneRef(t *testing.T) {
	t.Parallel()
	r, first := sampleRepo(t)
	r.git("tag", "v1.0.0")
	r.write("CHANGELOG", "two\n", 0o644)
	second := r.commit("Second commit")
	r.git("branch", "feature")
	job, _ := newJob(t, "GitRemote", map[string]string{
		"Url": r.fileURL(), "BranchName": "main", "OutputArtifactFormat": "CODEBUILD_CLONE_REF",
	})

	res := mustRun(t, &gitsource.Provider{}, job)
	if res.OutputVariables["CommitId"] != second {
		t.Errorf("CommitId = %q, want %q", res.OutputVariables["CommitId"], second)
	}
	names := zipNames(t, job.Outputs[0].Path)
	for _, want := range []string{".git/HEAD", ".git/config", ".env.example", "CHANGELOG"} {
		if !slices.Contains(names, want) {
			t.Errorf("clone zip has no %s", want)
		}
	}

	dir := unzipOutput(t, job)
	env := testEnv(t)
	if got := runGit(t, env, dir, "rev-parse", "HEAD"); got != second {
		t.Errorf("HEAD = %s, want %s", got, second)
	}
	if got := runGit(t, env, dir, "log", "--format=%H"); got != second+"\n"+first {
		t.Errorf("history:\n%s\nwant %s and %s", got, second, first)
	}
	if got := runGit(t, env, dir, "symbolic-ref", "--short", "HEAD"); got != "main" {
		t.Errorf("checked out %q, want branch main", got)
	}
	if got := runGit(t, env, dir, "rev-parse", "--abbrev-ref", "main@{upstream}"); got != "origin/main" {
		t.Errorf("main tracks %q, want origin/main", got)
	}
	if got := runGit(t, env, dir, "remote", "get-url", "origin"); got != r.fileURL() {
		t.Errorf("origin = %q, want %q", got, r.fileURL())
	}
	if got := runGit(t, env, dir, "status", "--porcelain"); got != "" {
		t.Errorf("working copy is not clean:\n%s", got)
	}
	if got := runGit(t, env, dir, "tag"); got != "v1.0.0" {
		t.Errorf("tags = %q, want v1.0.0", got)
	}
	if got := runGit(t, env, dir, "branch", "-r"); !strings.Contains(got, "origin/feature") {
		t.Errorf("remote branches = %q, want origin/feature as a clone has", got)
	}
	if target, err := os.Readlink(filepath.Join(dir, "readme-link")); err != nil || target != "README.md" {
		t.Errorf("readme-link: target %q, %v; want a symlink to README.md", target, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "build.sh")); err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Errorf("build.sh: %v, %v; want executable", fi, err)
	}
}

func TestRemotePinnedOlderCommit(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.write("version", "1\n", 0o644)
	r.commit("One")
	r.write("version", "2\n", 0o644)
	second := r.commit("Two")
	r.write("version", "3\n", 0o644)
	r.commit("Three")

	for _, tc := range []struct{ name, format, revision string }{
		{"zip", "CODE_ZIP", second},
		{"zip abbreviated", "CODE_ZIP", second[:10]},
		{"zip upper case", "CODE_ZIP", strings.ToUpper(second)},
		{"clone", "CODEBUILD_CLONE_REF", second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job, _ := newJob(t, "GitRemote", map[string]string{
				"Url": r.fileURL(), "BranchName": "main", "OutputArtifactFormat": tc.format,
			})
			job.Revision = tc.revision
			res := mustRun(t, &gitsource.Provider{}, job)
			if res.OutputVariables["CommitId"] != second || res.Summary != "Two" {
				t.Errorf("CommitId %q, summary %q; want %s, Two", res.OutputVariables["CommitId"], res.Summary, second)
			}
			dir := unzipOutput(t, job)
			if got := readFile(t, filepath.Join(dir, "version")); got != "2\n" {
				t.Errorf("version = %q, want 2", got)
			}
			if tc.format == "CODEBUILD_CLONE_REF" {
				if got := runGit(t, testEnv(t), dir, "rev-parse", "HEAD"); got != second {
					t.Errorf("HEAD = %s, want %s", got, second)
				}
			}
		})
	}
}

func TestRemoteCommitNotOnBranch(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("One")
	r.git("checkout", "-q", "-b", "other")
	elsewhere := r.commit("Elsewhere")
	r.git("checkout", "-q", "main")
	r.commit("Two")

	for _, format := range []string{"CODE_ZIP", "CODEBUILD_CLONE_REF"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			for _, rev := range []string{elsewhere, elsewhere[:7], strings.Repeat("ab", 20)} {
				job, _ := newJob(t, "GitRemote", map[string]string{
					"Url": r.fileURL(), "BranchName": "main", "OutputArtifactFormat": format,
				})
				job.Revision = rev
				_, err := (&gitsource.Provider{}).Run(t.Context(), job)
				want := "commit " + rev + " is not on branch main of " + r.fileURL()
				if !errors.Is(err, gitsource.ErrCommitNotFound) || err.Error() != want {
					t.Errorf("revision %s: err = %v, want %q", rev, err, want)
				}
			}
		})
	}
}

func TestRemoteMissingBranchAndRepository(t *testing.T) {
	t.Parallel()
	r, _ := sampleRepo(t)
	for _, format := range []string{"CODE_ZIP", "CODEBUILD_CLONE_REF"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			job, _ := newJob(t, "GitRemote", map[string]string{
				"Url": r.fileURL(), "BranchName": "release", "OutputArtifactFormat": format,
			})
			_, err := (&gitsource.Provider{}).Run(t.Context(), job)
			want := "branch release not found in repository " + r.fileURL()
			if !errors.Is(err, gitsource.ErrBranchNotFound) || err.Error() != want {
				t.Errorf("err = %v, want %q", err, want)
			}

			missing := "file://" + filepath.Join(t.TempDir(), "nothing.git")
			job, log := newJob(t, "GitRemote", map[string]string{
				"Url": missing, "BranchName": "main", "OutputArtifactFormat": format,
			})
			_, err = (&gitsource.Provider{}).Run(t.Context(), job)
			want = "repository " + missing + " not found"
			if !errors.Is(err, gitsource.ErrRepositoryNotFound) || err.Error() != want {
				t.Errorf("err = %v, want %q", err, want)
			}
			if !strings.Contains(log.String(), "does not appear to be a git repository") {
				t.Errorf("log lacks git's message:\n%s", log)
			}
		})
	}
}

func TestCloneRefRefusesSymlinkOutOfTree(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.write("a", "a\n", 0o644)
	r.symlink("passwd", "/etc/passwd")
	r.commit("Link out")

	job, _ := newJob(t, "GitRemote", map[string]string{
		"Url": r.fileURL(), "BranchName": "main", "OutputArtifactFormat": "CODEBUILD_CLONE_REF",
	})
	_, err := (&gitsource.Provider{}).Run(t.Context(), job)
	if err == nil || !strings.Contains(err.Error(), "symlink passwd points outside the repository") {
		t.Fatalf("err = %v, want a refusal of the symlink", err)
	}

	// CODE_ZIP stores the link as git does; nothing of the worker's is read.
	job, _ = newJob(t, "GitRemote", map[string]string{"Url": r.fileURL(), "BranchName": "main"})
	mustRun(t, &gitsource.Provider{}, job)
	if !slices.Contains(zipNames(t, job.Outputs[0].Path), "passwd") {
		t.Errorf("CODE_ZIP lacks the link entry")
	}
}

func TestConfigurationErrors(t *testing.T) {
	t.Parallel()
	r, _ := sampleRepo(t)
	for _, tc := range []struct {
		name     string
		provider string
		cfg      map[string]string
		revision string
		want     string
	}{
		{"no branch", "GitRemote", map[string]string{"Url": r.fileURL()}, "", "configuration BranchName is required"},
		{"option as branch", "GitRemote", map[string]string{"Url": r.fileURL(), "BranchName": "--upload-pack=touch"}, "", "cannot start with '-'"},
		{"bad branch", "GitRemote", map[string]string{"Url": r.fileURL(), "BranchName": "a..b"}, "", "not a valid branch name"},
		{"no url", "GitRemote", map[string]string{"BranchName": "main"}, "", "configuration Url is required"},
		{"option as url", "GitRemote", map[string]string{"BranchName": "main", "Url": "--upload-pack=touch /tmp/x"}, "", "cannot start with '-'"},
		{"ext url", "GitRemote", map[string]string{"BranchName": "main", "Url": "ext::sh -c touch% /tmp/pwned"}, "", "remote helper syntax is not supported"},
		{"relative path", "GitRemote", map[string]string{"BranchName": "main", "Url": "repo.git"}, "", "want an https"},
		{"format", "GitRemote", map[string]string{"Url": r.fileURL(), "BranchName": "main", "OutputArtifactFormat": "ZIP"}, "", `OutputArtifactFormat "ZIP"`},
		{"revision", "GitRemote", map[string]string{"Url": r.fileURL(), "BranchName": "main"}, "HEAD~1", `source revision "HEAD~1" is not a commit id`},
		{"provider", "S3", map[string]string{"BranchName": "main"}, "", `cannot run provider "S3"`},
		{"no repository name", "CodeCommit", map[string]string{"BranchName": "main"}, "", "configuration RepositoryName is required"},
		{"bad repository name", "Git", map[string]string{"BranchName": "main", "RepositoryName": "../x"}, "", "is not a repository name"},
		{"no hosting", "Git", map[string]string{"BranchName": "main", "RepositoryName": "x"}, "", "repository x: this worker has no access to hosted repositories"},
		{"no secrets", "GitRemote", map[string]string{"BranchName": "main", "Url": "https://example.com/r.git", "CredentialsSecret": "s"}, "", "CredentialsSecret s: this worker has no access to secrets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job, _ := newJob(t, tc.provider, tc.cfg)
			job.Revision = tc.revision
			_, err := (&gitsource.Provider{}).Run(t.Context(), job)
			if !errors.Is(err, gitsource.ErrConfiguration) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrConfiguration with %q", err, tc.want)
			}
		})
	}

	job, _ := newJob(t, "GitRemote", map[string]string{"Url": r.fileURL(), "BranchName": "main"})
	job.Outputs = append(job.Outputs, job.Outputs[0])
	if _, err := (&gitsource.Provider{}).Run(t.Context(), job); !errors.Is(err, gitsource.ErrConfiguration) {
		t.Errorf("two outputs: err = %v", err)
	}
}

func TestSecretKinds(t *testing.T) {
	t.Parallel()
	secrets := map[string]string{
		"key":   "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAsecretkeymaterial0123456789\n-----END OPENSSH PRIVATE KEY-----\n",
		"pass":  "deploy:hunter2hunter2",
		"token": "ghp_tokentokentoken",
	}
	p := &gitsource.Provider{Secret: func(_ context.Context, name string) (string, error) {
		v, ok := secrets[name]
		if !ok {
			return "", errors.New("no such secret")
		}
		return v, nil
	}}
	for _, tc := range []struct{ url, secret, want string }{
		{"ssh://git@example.com/org/repo.git", "pass", "must hold an SSH private key"},
		{"git@example.com:org/repo.git", "token", "must hold an SSH private key"},
		{"https://example.com/org/repo.git", "key", "holds an SSH private key, but Url https://example.com/org/repo.git is not an ssh URL"},
		{"file:///srv/repo.git", "token", "takes no credentials"},
		{"https://example.com/org/repo.git", "missing", "CredentialsSecret missing: no such secret"},
	} {
		job, _ := newJob(t, "GitRemote", map[string]string{"Url": tc.url, "BranchName": "main", "CredentialsSecret": tc.secret})
		_, err := p.Run(t.Context(), job)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s with %s: err = %v, want %q", tc.url, tc.secret, err, tc.want)
			continue
		}
		for _, v := range secrets {
			if strings.Contains(err.Error(), strings.TrimSpace(v)) {
				t.Errorf("error shows a secret: %v", err)
			}
		}
	}
}
