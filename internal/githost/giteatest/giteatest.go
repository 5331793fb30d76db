// Package giteatest runs a real Gitea on 127.0.0.1 for tests: a git host
// with the API, webhooks and commit statuses of GitHub's family, built from
// its source module by internal/toolcache (opt in with SLUICE_GITEA_TESTS=1
// or CI=true; tests skip otherwise, saying how to get it).
//
// Each Server has its own SQLite database, repositories and free port under
// the test's temporary directory, an admin user with an access token of
// every scope, and is stopped when the test ends. Commits are pushed with
// the real git CLI.
package giteatest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/toolcache"
)

// Version is the Gitea the tests run.
const Version = "v1.27.3"

// Tool is how toolcache finds or builds Gitea. Its go.mod has replace
// directives, so `go install` refuses it: the module is built in a copy.
var Tool = toolcache.Tool{
	Name:   "gitea-" + Version,
	Module: "code.gitea.io/gitea@" + Version,
	OptIn:  "SLUICE_GITEA_TESTS",
	About:  "10 to 30 minutes on 2 busy cores",
	Build:  true,
	// Built without the bindata tag (which needs its frontend built),
	// Gitea reads its locales and templates from STATIC_ROOT_PATH.
	Files: []string{"options", "templates"},
}

// Admin is the admin user every Server has.
const (
	AdminUser     = "sluice-admin"
	adminPassword = "sluice-admin-password-1"
)

// Server is a running Gitea.
type Server struct {
	// URL is its base URL, http://127.0.0.1:PORT, without a trailing slash.
	URL string
	// AdminToken is an access token of AdminUser with every scope.
	AdminToken string
	// Dir holds its configuration, database, repositories and log.
	Dir string
	// Bin is the gitea binary.
	Bin string

	t       testing.TB
	cmd     *exec.Cmd
	done    chan struct{}
	mu      sync.Mutex
	clones  map[string]string // repository full name → local working clone
	cloneN  int
	stopped bool
}

// Find returns the gitea binary, or skips t saying how to get it.
func Find(t testing.TB) string {
	t.Helper()
	bin, skip, err := Tool.Find()
	if err != nil {
		t.Fatal(err)
	}
	if bin == "" {
		t.Skip(skip)
	}
	return bin
}

// Start runs a new Gitea for t, stopped on t.Cleanup. It skips t when Gitea
// is not installed and installing was not asked for.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not found")
	}
	bin := Find(t)
	var lastErr error
	// The free port is found by listening and closing; another process can
	// take it in between, so a start that cannot bind is tried again.
	for range 3 {
		s, err := start(t, bin)
		if err == nil {
			return s
		}
		lastErr = err
		if !errors.Is(err, errBind) {
			break
		}
	}
	t.Fatalf("start gitea: %v", lastErr)
	return nil
}

var errBind = errors.New("address in use")

func start(t testing.TB, bin string) (*Server, error) {
	dir := t.TempDir()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Dir: dir, Bin: bin, t: t, clones: map[string]string{}}
	if err := s.writeConfig(port); err != nil {
		return nil, err
	}
	if _, err := s.gitea("migrate"); err != nil {
		return nil, err
	}
	if _, err := s.gitea("admin", "user", "create", "--username", AdminUser, "--password", adminPassword,
		"--email", AdminUser+"@example.com", "--admin", "--must-change-password=false"); err != nil {
		return nil, err
	}
	out, err := s.gitea("admin", "user", "generate-access-token", "--username", AdminUser,
		"--token-name", "sluice-tests", "--scopes", "all", "--raw")
	if err != nil {
		return nil, err
	}
	s.AdminToken = strings.TrimSpace(out)
	if s.AdminToken == "" {
		return nil, fmt.Errorf("generate-access-token printed no token")
	}

	logFile, err := os.Create(filepath.Join(dir, "web.log"))
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, "--config", s.config(), "--work-path", dir, "web")
	s.cmd.Env = s.env()
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	s.done = make(chan struct{})
	go func() { s.cmd.Wait(); logFile.Close(); close(s.done) }()
	t.Cleanup(s.Stop)
	if err := s.waitReady(2 * time.Minute); err != nil {
		s.Stop()
		log, _ := os.ReadFile(filepath.Join(dir, "web.log"))
		if bytes.Contains(log, []byte("address already in use")) {
			return nil, fmt.Errorf("%w: %v", errBind, err)
		}
		return nil, fmt.Errorf("%v\n%s", err, tail(log, 4000))
	}
	return s, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) config() string { return filepath.Join(s.Dir, "app.ini") }

func (s *Server) writeConfig(port int) error {
	u, err := user.Current()
	if err != nil {
		return err
	}
	ini := fmt.Sprintf(`APP_NAME = sluice tests
RUN_MODE = prod
RUN_USER = %[1]s
WORK_PATH = %[2]s
I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = %[3]d
ROOT_URL = http://127.0.0.1:%[3]d/
DOMAIN = 127.0.0.1
DISABLE_SSH = true
START_SSH_SERVER = false
OFFLINE_MODE = true
LFS_START_SERVER = false
APP_DATA_PATH = %[2]s/data
STATIC_ROOT_PATH = %[7]s

[database]
DB_TYPE = sqlite3
PATH = %[2]s/data/gitea.db
SQLITE_JOURNAL_MODE = WAL

[repository]
ROOT = %[2]s/repositories
DEFAULT_BRANCH = main

[security]
INSTALL_LOCK = true
ALLOWED_HOST_LIST = loopback
SECRET_KEY = %[4]s
INTERNAL_TOKEN = %[5]s
PASSWORD_HASH_ALGO = pbkdf2_hi

[oauth2]
JWT_SECRET = %[6]s

[service]
DISABLE_REGISTRATION = true
REQUIRE_SIGNIN_VIEW = false
DEFAULT_ALLOW_CREATE_ORGANIZATION = true

[webhook]
SKIP_TLS_VERIFY = true
DELIVER_TIMEOUT = 10

[queue]
TYPE = channel

[cache]
ADAPTER = memory

[session]
PROVIDER = memory

[indexer]
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false

[mailer]
ENABLED = false

[cron]
ENABLED = false

[cron.update_checker]
ENABLED = false

[actions]
ENABLED = false

[packages]
ENABLED = false

[migrations]
ALLOW_LOCALNETWORKS = true

[log]
MODE = console
LEVEL = Warn
ROOT_PATH = %[2]s/log
`, u.Username, s.Dir, port, randomHex(32), randomHex(48), base64.RawURLEncoding.EncodeToString([]byte(randomHex(16))), toolcache.FilesDir(s.Bin))
	return os.WriteFile(s.config(), []byte(ini), 0o600)
}

func (s *Server) env() []string {
	env := []string{"HOME=" + s.Dir, "GITEA_WORK_DIR=" + s.Dir, "USER=" + os.Getenv("USER")}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k == "PATH" || k == "TMPDIR" || k == "LANG" {
			env = append(env, kv)
		}
	}
	return env
}

// gitea runs a gitea command against the server's configuration.
func (s *Server) gitea(args ...string) (string, error) {
	cmd := exec.Command(s.Bin, append([]string{"--config", s.config(), "--work-path", s.Dir}, args...)...)
	cmd.Env, cmd.Dir = s.env(), s.Dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("gitea %s: %w\n%s%s", args[0], err, stdout.String(), tail(stderr.Bytes(), 4000))
	}
	return stdout.String(), nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/v1/version", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("gitea web exited before answering")
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gitea did not answer at %s within %s: %v", s.URL, limit, err)
		}
	}
}

// Stop ends the server (SIGTERM, then SIGKILL after 10 s) and waits for it.
func (s *Server) Stop() {
	s.mu.Lock()
	if s.stopped || s.cmd == nil || s.cmd.Process == nil {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	s.mu.Unlock()
	pgid := s.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.done
	}
}

// Log returns what Gitea has logged so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "web.log"))
	return string(b)
}

// APIError is a non-2xx answer of Gitea's API.
type APIError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("gitea %s %s: %d %s", e.Method, e.Path, e.Status, strings.TrimSpace(e.Body))
}

// Call calls Gitea's API (path under /api/v1) with token, sending in as
// JSON (unless nil) and decoding the answer into out (unless nil). A non-2xx
// answer is an *APIError.
func (s *Server) Call(ctx context.Context, token, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+"/api/v1"+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &APIError{Method: method, Path: path, Status: resp.StatusCode, Body: string(b)}
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

// API is Call as the admin, failing t on an error.
func (s *Server) API(t testing.TB, method, path string, in, out any) {
	t.Helper()
	if err := s.Call(context.Background(), s.AdminToken, method, path, in, out); err != nil {
		t.Fatal(err)
	}
}

// Repo is a repository on the server.
type Repo struct {
	Owner, Name string
	// FullName is OWNER/NAME, as CodePipeline's FullRepositoryId.
	FullName string
	// CloneURL is its https(s) clone URL.
	CloneURL string
	Private  bool
}

// CreateRepo creates a repository of the admin, empty (its first push makes
// its default branch).
func (s *Server) CreateRepo(t testing.TB, name string, private bool) Repo {
	t.Helper()
	var got apiRepo
	s.API(t, http.MethodPost, "/user/repos", map[string]any{"name": name, "private": private, "default_branch": "main"}, &got)
	return got.repo()
}

// apiRepo is what Gitea's API says of a repository.
type apiRepo struct {
	Name     string `json:"name"`
	FullName string `json:"full_name"`
	CloneURL string `json:"clone_url"`
	Private  bool   `json:"private"`
	Owner    struct {
		Login string `json:"login"`
	} `json:"owner"`
}

func (r apiRepo) repo() Repo {
	return Repo{Owner: r.Owner.Login, Name: r.Name, FullName: r.FullName, CloneURL: r.CloneURL, Private: r.Private}
}

// Fork forks repo as the user whose token is given (CreateUser's) and
// returns the fork. Gitea forks asynchronously on big repositories; its API
// answers when the fork exists.
func (s *Server) Fork(t testing.TB, repo Repo, token string) Repo {
	t.Helper()
	var got apiRepo
	if err := s.Call(context.Background(), token, http.MethodPost, "/repos/"+repo.FullName+"/forks", map[string]any{}, &got); err != nil {
		t.Fatal(err)
	}
	return got.repo()
}

// CreateUser makes a user who is not an admin and returns an access token
// of theirs with the given scopes ("all" when none).
func (s *Server) CreateUser(t testing.TB, name string, scopes ...string) (token string) {
	t.Helper()
	password := "pw-" + randomHex(8)
	s.API(t, http.MethodPost, "/admin/users", map[string]any{
		"username": name, "email": name + "@example.com", "password": password, "must_change_password": false,
	}, nil)
	if len(scopes) == 0 {
		scopes = []string{"all"}
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/users/"+url.PathEscape(name)+"/tokens",
		strings.NewReader(fmt.Sprintf(`{"name":"sluice-tests","scopes":%s}`, mustJSON(scopes))))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(name, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		SHA1 string `json:"sha1"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &got) != nil || got.SHA1 == "" {
		t.Fatalf("create token of %s: %d %s", name, resp.StatusCode, b)
	}
	return got.SHA1
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Commit pushes one commit to branch of repo (created from the branch's
// head, or as the first commit when the branch is new), writing files
// (path → content; an empty content deletes the file), and returns its id.
func (s *Server) Commit(t testing.TB, repo Repo, branch, message string, files map[string]string) string {
	t.Helper()
	dir := s.clone(t, repo)
	git := s.gitIn(t, dir)
	git("fetch", "--quiet", "origin")
	if _, err := s.runGit(dir, "rev-parse", "--verify", "--quiet", "refs/remotes/origin/"+branch); err == nil {
		git("checkout", "--quiet", "-B", branch, "origin/"+branch)
	} else {
		git("checkout", "--quiet", "--orphan", branch)
		s.runGit(dir, "rm", "-r", "--quiet", "--cached", "--ignore-unmatch", ".")
		s.cleanWorktree(t, dir)
	}
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if content == "" {
			git("rm", "--quiet", "--ignore-unmatch", "--", p)
			os.Remove(full)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		git("add", "--", p)
	}
	git("commit", "--quiet", "--allow-empty", "-m", message)
	git("push", "--quiet", "origin", "HEAD:refs/heads/"+branch)
	return strings.TrimSpace(git("rev-parse", "HEAD"))
}

// DeleteBranch deletes branch of repo on the server.
func (s *Server) DeleteBranch(t testing.TB, repo Repo, branch string) {
	t.Helper()
	s.gitIn(t, s.clone(t, repo))("push", "--quiet", "origin", "--delete", branch)
}

// Push runs git push in the working clone of repo with args (as
// "origin", "+HEAD:refs/heads/x"), for what Commit does not cover.
func (s *Server) Push(t testing.TB, repo Repo, args ...string) {
	t.Helper()
	s.gitIn(t, s.clone(t, repo))(append([]string{"push", "--quiet"}, args...)...)
}

// WorkTree returns the local clone Commit works in, so a test can run git
// there itself (Git runs git with the admin's credentials).
func (s *Server) WorkTree(t testing.TB, repo Repo) string { return s.clone(t, repo) }

// Git runs git in dir with the admin's credentials for the server, and
// returns its output; it fails t on an error.
func (s *Server) Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return s.gitIn(t, dir)(args...)
}

func (s *Server) cleanWorktree(t testing.TB, dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != ".git" {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

func (s *Server) clone(t testing.TB, repo Repo) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if dir, ok := s.clones[repo.FullName]; ok {
		return dir
	}
	s.cloneN++
	dir := filepath.Join(s.Dir, "clones", fmt.Sprint(s.cloneN))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"init", "--quiet", "-b", "main"},
		{"config", "user.name", "Gitea Tester"},
		{"config", "user.email", "tester@example.com"},
		{"config", "commit.gpgsign", "false"},
		{"remote", "add", "origin", s.URL + "/" + repo.FullName + ".git"},
	} {
		if out, err := s.runGit(dir, args...); err != nil {
			t.Fatalf("git %s: %v\n%s", args[0], err, out)
		}
	}
	s.clones[repo.FullName] = dir
	return dir
}

func (s *Server) gitIn(t testing.TB, dir string) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		out, err := s.runGit(dir, args...)
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
}

// runGit runs git with the admin's token sent as basic auth to the server
// only, given in the environment, never on the command line.
func (s *Server) runGit(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	auth := base64.StdEncoding.EncodeToString([]byte(AdminUser + ":" + s.AdminToken))
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C",
		"GIT_AUTHOR_NAME=Gitea Tester", "GIT_AUTHOR_EMAIL=tester@example.com",
		"GIT_COMMITTER_NAME=Gitea Tester", "GIT_COMMITTER_EMAIL=tester@example.com",
		"GIT_CONFIG_COUNT=1",
		"GIT_CONFIG_KEY_0=http."+s.URL+"/.extraHeader",
		"GIT_CONFIG_VALUE_0=Authorization: Basic "+auth,
	)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
