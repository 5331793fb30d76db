//go:build linux

package build

import (
	"context"
	"errors"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/logmask"
)

// gitServer serves one repository, repo.git, over git's smart HTTP on the
// loopback, to clients that authenticate with one of users' names and
// passwords.
func gitServer(t *testing.T, users map[string]string) string {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	root := t.TempDir()
	work := filepath.Join(root, "work")
	run := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command(gitPath, args...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + root, "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run(root, "init", "--quiet", "--bare", "repo.git")
	run(root, "init", "--quiet", "-b", "main", work)
	os.WriteFile(filepath.Join(work, "README"), []byte("hello from the server\n"), 0o644)
	run(work, "add", "README")
	run(work, "commit", "--quiet", "-m", "first")
	run(work, "push", "--quiet", filepath.Join(root, "repo.git"), "main")
	run(filepath.Join(root, "repo.git"), "symbolic-ref", "HEAD", "refs/heads/main")

	backend := &cgi.Handler{Path: gitPath, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || users[u] != p || p == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/repo.git"
}

func TestGitCredentialHelper(t *testing.T) {
	const password, token = "pa55-w0rd-git", "t0ken-git"
	url := gitServer(t, map[string]string{"builder": password, tokenUser: token})
	clone := "export GIT_TERMINAL_PROMPT=0 && git clone --quiet " + url + " cloned && grep -q 'hello from the server' cloned/README"
	helperOn := "version: 0.2\nenv:\n  git-credential-helper: yes\nphases:\n  build:\n    commands:\n      - " + strconvQuote(clone) + "\n"
	helperOff := strings.Replace(helperOn, "yes", "no", 1)
	for _, tc := range []struct {
		name      string
		buildspec string
		isolation string
		config    map[string]string
		fails     bool
		log       string
	}{
		{"helper gives the secret's credentials", helperOn, "none", map[string]string{"CredentialsSecret": "git-token"}, false,
			"git-credential-helper: git authenticates with the credentials in secret git-token"},
		{"inside bubblewrap", helperOn, "bubblewrap", map[string]string{"CredentialsSecret": "git-token"}, false, "isolated with bubblewrap"},
		{"a bare token goes as x-access-token", helperOn, "none", map[string]string{"CredentialsSecret": "bare-token"}, false, "credentials in secret bare-token"},
		{"without the helper git has no credentials", helperOff, "none", map[string]string{"CredentialsSecret": "git-token"}, true, ""},
		{"no credentials: the helper answers nothing", helperOn, "none", nil, true,
			"[Container] git-credential-helper: no credentials are available to git: the action has no CredentialsSecret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.isolation == "bubblewrap" {
				needBubblewrap(t)
			}
			f := newJob(t, Project{Name: "p", Buildspec: tc.buildspec, Isolation: tc.isolation, Network: true}, tc.config)
			f.job.Secret = func(_ context.Context, name string) ([]byte, error) {
				switch name {
				case "git-token":
					return []byte("builder:" + password + "\n"), nil
				case "bare-token":
					return []byte(token), nil
				}
				return nil, errors.New("no such secret")
			}
			_, err := testProvider(t, f.job).Run(context.Background(), f.job)
			log := f.log.String()
			switch {
			case tc.fails && (err == nil || !strings.Contains(log, "could not read Username")):
				t.Fatalf("the clone did not fail for want of credentials: %v\n%s", err, log)
			case !tc.fails && err != nil:
				t.Fatalf("%v\n%s", err, log)
			}
			if !strings.Contains(log, tc.log) {
				t.Errorf("the log does not say %q:\n%s", tc.log, log)
			}
			if strings.Contains(log, password) || strings.Contains(log, token) {
				t.Errorf("the password is in the log:\n%s", log)
			}
			if strings.Contains(log, "not supported") {
				t.Errorf("the log still warns:\n%s", log)
			}
			gitconfig, _ := os.ReadFile(filepath.Join(buildHome(f.job), ".gitconfig"))
			if strings.Contains(string(gitconfig), password) {
				t.Errorf("the password is in .gitconfig:\n%s", gitconfig)
			}
			if on := strings.Contains(string(gitconfig), "git-credential-sluice"); on != strings.Contains(tc.buildspec, "yes") {
				t.Errorf(".gitconfig:\n%s", gitconfig)
			}
		})
	}
}

// The password alone is masked in the log too, also through a batch build's
// prefixed log; the secret's whole value the worker masks itself.
func TestGitCredentialPasswordMasked(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	const password = "pa55-w0rd-git"
	spec := `version: 0.2
env:
  git-credential-helper: yes
phases:
  build:
    commands:
      - printf 'protocol=https\nhost=example.com\n\n' | git credential fill
batch:
  build-list:
    - identifier: only
`
	for _, batch := range []string{"false", "true"} {
		t.Run("batch "+batch, func(t *testing.T) {
			f := newJob(t, Project{Name: "p", Buildspec: spec, Isolation: "none"}, map[string]string{"CredentialsSecret": "git-token", "BatchEnabled": batch})
			masked := logmask.New(f.log)
			f.job.Log = masked
			f.job.Secret = func(context.Context, string) ([]byte, error) { return []byte("builder:" + password), nil }
			_, err := testProvider(t, f.job).Run(context.Background(), f.job)
			masked.Flush()
			if err != nil {
				t.Fatalf("%v\n%s", err, f.log)
			}
			if log := f.log.String(); strings.Contains(log, password) || !strings.Contains(log, "username=builder\n") || !strings.Contains(log, "password=***\n") {
				t.Fatalf("log:\n%s", log)
			}
		})
	}
}
