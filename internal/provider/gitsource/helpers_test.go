//go:build unix

package gitsource_test

import (
	"archive/zip"
	"bytes"
	"io"
	"io/fs"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/provider/gitsource"
)

// testEnv is the environment for the git commands a test runs itself: no
// configuration of the machine's, a fixed identity.
func testEnv(t *testing.T) []string {
	t.Helper()
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Ada Author",
		"GIT_AUTHOR_EMAIL=ada@example.com",
		"GIT_COMMITTER_NAME=Carl Committer",
		"GIT_COMMITTER_EMAIL=carl@example.com",
		"LC_ALL=C",
	}
}

func runGit(t *testing.T, env []string, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// repo is a source repository with a work tree, on branch main.
type repo struct {
	t   *testing.T
	dir string
	env []string
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	r := &repo{t: t, dir: filepath.Join(t.TempDir(), "project"), env: testEnv(t)}
	if err := os.Mkdir(r.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	return runGit(r.t, r.env, r.dir, args...)
}

func (r *repo) write(name, content string, mode fs.FileMode) {
	r.t.Helper()
	p := filepath.Join(r.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		r.t.Fatal(err)
	}
}

func (r *repo) symlink(name, target string) {
	r.t.Helper()
	if err := os.Symlink(target, filepath.Join(r.dir, filepath.FromSlash(name))); err != nil {
		r.t.Fatal(err)
	}
}

// commit commits everything in the work tree and returns the commit id.
// env may set GIT_AUTHOR_DATE and GIT_COMMITTER_DATE.
func (r *repo) commit(message string, env ...string) string {
	r.t.Helper()
	r.git("add", "-A")
	cmd := exec.Command("git", "commit", "-q", "--allow-empty", "-m", message)
	cmd.Dir = r.dir
	cmd.Env = append(append([]string{}, r.env...), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		r.t.Fatalf("git commit: %v\n%s", err, out)
	}
	return r.git("rev-parse", "HEAD")
}

func (r *repo) fileURL() string { return "file://" + r.dir }

// bare copies the repository as NAME.git into root, as a server keeps it.
func (r *repo) bare(root, name string) {
	r.t.Helper()
	runGit(r.t, r.env, root, "clone", "-q", "--bare", r.dir, name+".git")
}

// newJob is a job of provider with configuration cfg, its own directories,
// one output artifact, and only the PATH of the test's environment.
func newJob(t *testing.T, providerName string, cfg map[string]string) (*provider.Job, *bytes.Buffer) {
	t.Helper()
	root := t.TempDir()
	work := filepath.Join(root, "src")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	return &provider.Job{
		ID: "job-1", Pipeline: "p", ExecutionID: "e", Stage: "Source", Action: "Source", Attempt: 1,
		Provider:      providerName,
		Configuration: cfg,
		WorkDir:       work,
		ScratchDir:    t.TempDir(),
		Outputs:       []provider.Output{{Name: "SourceArtifact", Path: filepath.Join(root, "SourceArtifact.zip")}},
		Env:           []string{"PATH=" + os.Getenv("PATH")},
		Log:           &log,
	}, &log
}

func mustRun(t *testing.T, p *gitsource.Provider, job *provider.Job) provider.Result {
	t.Helper()
	res, err := p.Run(t.Context(), job)
	if err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", err, job.Log)
	}
	return res
}

// unzipOutput extracts the job's artifact as a consuming action would.
func unzipOutput(t *testing.T, job *provider.Job) string {
	t.Helper()
	dir := t.TempDir()
	if err := artifact.UnzipFile(t.Context(), job.Outputs[0].Path, dir); err != nil {
		t.Fatalf("unzip: %v", err)
	}
	return dir
}

func zipNames(t *testing.T, path string) []string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	return names
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// treeContains reports whether any file under dir holds s.
func treeContains(t *testing.T, dir, s string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(s)) {
			hits = append(hits, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// gitServer serves the bare repositories under root over git's smart HTTP
// protocol with git http-backend, as sluice's server does: basic auth with
// any user name and the token as password, REMOTE_USER set for the backend.
type gitServer struct {
	*httptest.Server
	root  string
	token string

	mu       sync.Mutex
	users    []string // user names of authenticated requests
	requests int      // all requests, with credentials or without

	// blocked, when set, makes requests for the repository "blocked" wait
	// until the client goes away; started is closed when the first arrives
	// and done when it has returned.
	started, done chan struct{}
	once          sync.Once
}

func newGitServer(t *testing.T, token string) *gitServer {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	s := &gitServer{root: t.TempDir(), token: token, started: make(chan struct{}), done: make(chan struct{})}
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Root: "/git",
		// The backend's complaints reach the client; the test's output
		// need not repeat them.
		Stderr: io.Discard,
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.root,
			"GIT_HTTP_EXPORT_ALL=1",
			"HOME=" + t.TempDir(),
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=/dev/null",
		},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, password, ok := r.BasicAuth()
		s.mu.Lock()
		s.requests++
		s.mu.Unlock()
		if !ok || password != s.token {
			w.Header().Set("WWW-Authenticate", `Basic realm="sluice"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		s.mu.Lock()
		s.users = append(s.users, user)
		s.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/git/blocked.git/") {
			s.once.Do(func() {
				defer close(s.done)
				close(s.started)
				<-r.Context().Done()
			})
			return
		}
		h := *backend
		h.Env = append(append([]string{}, backend.Env...), "REMOTE_USER="+user)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *gitServer) url(name string) string { return s.URL + "/git/" + name + ".git" }

func (s *gitServer) seenUsers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, s.users...)
}

// hostedProvider reads the server's repositories with token.
func (s *gitServer) hostedProvider(token string) *gitsource.Provider {
	return &gitsource.Provider{HostedURL: s.url, HostedToken: token}
}

// recordingGit is a git wrapper that appends each command line it is given
// to a file, so a test can check what reached process arguments.
func recordingGit(t *testing.T) (bin, argsFile string) {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	argsFile = filepath.Join(dir, "args")
	bin = filepath.Join(dir, "git")
	script := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '" + argsFile + "'\nexec '" + gitPath + "' \"$@\"\n"
	writeExecutable(t, bin, script)
	return bin, argsFile
}

// writeExecutable writes a script and makes it executable through a child
// process. Written from this process, the file's descriptor could be inherited
// by a process another parallel test forks at that instant, and executing the
// script would then fail with "text file busy" (golang.org/issue/22315).
func writeExecutable(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("install", "-m", "0755", tmp, path).CombinedOutput(); err != nil {
		t.Fatalf("install %s: %v\n%s", path, err, out)
	}
	os.Remove(tmp)
}
