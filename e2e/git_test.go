package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// gitClient runs the real git client with a configuration of its own: no
// system or global configuration, no credential helper, no prompt, a fixed
// author.
type gitClient struct {
	t   *testing.T
	env []string
}

func newGit(t *testing.T, s *server) *gitClient {
	t.Helper()
	home := s.scratch("git-home")
	env := slices.DeleteFunc(cliEnv("", ""), func(kv string) bool {
		return strings.HasPrefix(kv, "GIT_") || strings.HasPrefix(kv, "SSH_ASKPASS=") || strings.HasPrefix(kv, "HOME=")
	})
	env = append(env, "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Ann Tester", "GIT_AUTHOR_EMAIL=ann@example.com",
		"GIT_COMMITTER_NAME=Ann Tester", "GIT_COMMITTER_EMAIL=ann@example.com",
		"GIT_TERMINAL_PROMPT=0")
	return &gitClient{t: t, env: env}
}

// try runs git in dir and returns what it printed and how it ended.
func (g *gitClient) try(dir string, args ...string) (stdout, stderr string, err error) {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir, cmd.Env = dir, g.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if ctx.Err() != nil {
		g.t.Fatalf("git %s: still running after 60s\n%s", strings.Join(args, " "), errb.String())
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		g.t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), err
}

// run runs git in dir, fails the test unless it succeeds, and returns its
// standard output without the final newline.
func (g *gitClient) run(dir string, args ...string) string {
	g.t.Helper()
	out, errOut, err := g.try(dir, args...)
	if err != nil {
		g.t.Fatalf("git %s (in %s): %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), dir, err, out, errOut)
	}
	return strings.TrimRight(out, "\n")
}

// fails runs git in dir, fails the test if it succeeds, and returns its
// standard error.
func (g *gitClient) fails(dir string, args ...string) string {
	g.t.Helper()
	out, errOut, err := g.try(dir, args...)
	if err == nil {
		g.t.Fatalf("git %s (in %s) succeeded, want a failure\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), dir, out, errOut)
	}
	return errOut
}

// initRepo makes a new work tree on branch main.
func (g *gitClient) initRepo(dir string) {
	g.t.Helper()
	g.run("", "init", "-q", "-b", "main", dir)
}

// commit writes files (path → content; "" deletes), commits everything with
// message msg and returns the new commit's id.
func (g *gitClient) commit(dir, msg string, files map[string]string) string {
	g.t.Helper()
	for path, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(path))
		if content == "" {
			if err := os.Remove(full); err != nil {
				g.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			g.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			g.t.Fatal(err)
		}
	}
	g.run(dir, "add", "-A")
	g.run(dir, "commit", "-q", "--allow-empty", "-m", msg)
	return g.head(dir, "HEAD")
}

// head resolves rev in the repository at dir.
func (g *gitClient) head(dir, rev string) string {
	g.t.Helper()
	return g.run(dir, "rev-parse", rev+"^{commit}")
}

// gitURL is the URL of hosted repository repo with user and password in it.
func (s *server) gitURLAs(user, password, repo string) string {
	base := s.url + "/git/" + repo + ".git"
	if user == "" && password == "" {
		return base
	}
	return strings.Replace(base, "://", "://"+user+":"+password+"@", 1)
}

// gitURL is the URL of hosted repository repo with the admin token in it.
func (s *server) gitURL(repo string) string { return s.gitURLAs("ann", s.token, repo) }

type repoInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	CloneURL    string `json:"cloneUrl"`
	Protections []struct {
		Branch      string `json:"branch"`
		NoForcePush bool   `json:"noForcePush"`
		NoDelete    bool   `json:"noDelete"`
	} `json:"protections"`
}

// httpStatus sends a request with an optional basic-auth password and
// returns the status code and body.
func httpStatus(t *testing.T, method, url, password string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if password != "" {
		req.SetBasicAuth("ann", password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// serverLog is everything the server logged so far, over all its runs.
func (s *server) serverLog() string {
	var b strings.Builder
	for _, r := range s.replicas {
		b.WriteString(r.serverLog())
	}
	for i := 1; i <= s.runs; i++ {
		raw, _ := os.ReadFile(filepath.Join(s.base, fmt.Sprintf("server-%d.log", i)))
		b.Write(raw)
	}
	return b.String()
}

// repoEvent is a push event in `sluice events -o json`, CodeCommit's
// "Repository State Change", in short.
type repoEvent struct {
	Event, Ref, Old, New, Caller string
}

// repoEvents lists the push events of hosted repository repo, oldest first.
func (s *server) repoEvents(repo string) []repoEvent {
	s.t.Helper()
	var evs []struct {
		DetailType string         `json:"detail-type"`
		Source     string         `json:"source"`
		Resources  []string       `json:"resources"`
		Detail     map[string]any `json:"detail"`
	}
	s.json(&evs, "events")
	var out []repoEvent
	for _, e := range evs {
		str := func(key string) string {
			v, _ := e.Detail[key].(string)
			return v
		}
		if e.DetailType != "CodeCommit Repository State Change" || str("repositoryName") != repo {
			continue
		}
		if e.Source != "aws.codecommit" || len(e.Resources) != 1 || !strings.HasSuffix(e.Resources[0], ":"+repo) {
			s.t.Errorf("push event of %s: source %q, resources %q", repo, e.Source, e.Resources)
		}
		own, _ := e.Detail["sluice"].(map[string]any)
		caller, _ := own["caller"].(string)
		out = append(out, repoEvent{str("event"), str("referenceFullName"), str("oldCommitId"), str("commitId"), caller})
	}
	return out
}

// waitRepoEvents waits until repo has at least n push events, and returns them.
func (s *server) waitRepoEvents(repo string, n int) []repoEvent {
	s.t.Helper()
	var evs []repoEvent
	eventually(s.t, 10*time.Second, fmt.Sprintf("%d push events of %s", n, repo), func() bool {
		evs = s.repoEvents(repo)
		return len(evs) >= n
	})
	return evs
}

func wantEvents(t *testing.T, got []repoEvent, want ...repoEvent) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("push events:\n got %+v\nwant %+v", got, want)
	}
}

func TestGitRepos(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	g := newGit(t, s)
	dir := s.scratch("git")

	out := s.ok("repo", "create", "app", "--description", "the app")
	wantContains(t, "repo create", out, "repository app created", s.url+"/git/app.git")
	r := s.fails("repo", "create", "app")
	wantContains(t, "second repo create app", strings.ToLower(r.stderr), "exists")
	r = s.fails("repo", "create", "no/slash")
	if r.stderr == "" {
		t.Errorf("repo create with a bad name: no message on stderr")
	}
	s.ok("repo", "create", "other")

	var list []repoInfo
	s.json(&list, "repo", "list")
	if len(list) != 2 || list[0].Name != "app" || list[1].Name != "other" {
		t.Fatalf("repo list = %+v, want app and other", list)
	}
	wantEqual(t, "app description", list[0].Description, "the app")
	wantEqual(t, "app cloneUrl", list[0].CloneURL, s.url+"/git/app.git")
	wantContains(t, "repo list", s.ok("repo", "list"), "app", "other", "the app")
	var info repoInfo
	s.json(&info, "repo", "get", "app")
	wantEqual(t, "repo get name", info.Name, "app")
	wantEqual(t, "repo get cloneUrl", info.CloneURL, s.url+"/git/app.git")
	wantContains(t, "repo get", s.ok("repo", "get", "app"), "the app", "protected branches: none")

	// Clone the empty repository, commit, push; a second clone has the same.
	one := filepath.Join(dir, "one")
	_, errOut, err := g.try(dir, "clone", s.gitURL("app"), one)
	if err != nil {
		t.Fatalf("clone of an empty repository: %v\n%s", err, errOut)
	}
	wantContains(t, "clone of an empty repository", errOut, "empty repository")
	g.run(one, "checkout", "-q", "-B", "main")
	g.commit(one, "first", map[string]string{"a.txt": "alpha\n", "dir/b.txt": "beta\n"})
	c2 := g.commit(one, "second", map[string]string{"a.txt": "alpha 2\n", "dir/run.sh": "#!/bin/sh\necho run\n"})
	g.run(one, "push", "-q", "origin", "main")
	g.run(one, "tag", "v1")
	g.run(one, "push", "-q", "origin", "v1")

	two := filepath.Join(dir, "two")
	g.run(dir, "clone", "-q", s.gitURL("app"), two)
	wantEqual(t, "HEAD of the second clone", g.head(two, "HEAD"), c2)
	wantEqual(t, "branch of the second clone", g.run(two, "symbolic-ref", "--short", "HEAD"), "main")
	wantEqual(t, "tag v1 in the second clone", g.head(two, "v1"), c2)
	wantEqual(t, "history of the second clone", g.run(two, "log", "--format=%s"), "second\nfirst")
	for _, f := range []string{"a.txt", "dir/b.txt", "dir/run.sh"} {
		wantEqual(t, f+" in the second clone", readFile(t, filepath.Join(two, f)), readFile(t, filepath.Join(one, f)))
	}
	if g.run(two, "status", "--porcelain") != "" {
		t.Errorf("second clone is not clean")
	}
	// Fetch sees a push made from elsewhere.
	c3 := g.commit(two, "third", map[string]string{"c.txt": "gamma\n"})
	g.run(two, "push", "-q", "origin", "main")
	g.run(one, "pull", "-q", "--ff-only", "origin", "main")
	wantEqual(t, "HEAD after pull", g.head(one, "HEAD"), c3)
	wantEqual(t, "c.txt after pull", readFile(t, filepath.Join(one, "c.txt")), "gamma\n")

	// One event per updated reference.
	wantEvents(t, s.waitRepoEvents("app", 3),
		repoEvent{"referenceCreated", "refs/heads/main", "", c2, "admin"},
		repoEvent{"referenceCreated", "refs/tags/v1", "", c2, "admin"},
		repoEvent{"referenceUpdated", "refs/heads/main", c2, c3, "admin"})

	// A push larger than 1 MiB, which git sends chunked, and its clone.
	big := make([]byte, 3<<20)
	rand.Read(big)
	if err := os.WriteFile(filepath.Join(one, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	c4 := g.commit(one, "big", nil)
	g.run(one, "push", "-q", "origin", "main")
	three := filepath.Join(dir, "three")
	g.run(dir, "clone", "-q", s.gitURL("app"), three)
	wantEqual(t, "HEAD of a clone after a large push", g.head(three, "HEAD"), c4)
	if got, err := os.ReadFile(filepath.Join(three, "big.bin")); err != nil || !bytes.Equal(got, big) {
		t.Errorf("big.bin differs in the clone (%v)", err)
	}
	g.run(three, "fsck", "--no-progress")

	// No credentials: git is asked for them (401) and, unable to prompt, fails.
	g.commit(one, "fifth", map[string]string{"d.txt": "delta\n"})
	errOut = g.fails(one, "push", s.gitURLAs("", "", "app"), "main")
	wantContains(t, "push without credentials", errOut, "could not read Username")
	code, body := httpStatus(t, "GET", s.url+"/git/app.git/info/refs?service=git-receive-pack", "")
	wantEqual(t, "receive-pack advertisement without credentials", code, http.StatusUnauthorized)
	wantContains(t, "401 body", body, "sluice token")
	code, _ = httpStatus(t, "GET", s.url+"/git/app.git/info/refs?service=git-upload-pack", "")
	wantEqual(t, "upload-pack advertisement without credentials", code, http.StatusUnauthorized)
	errOut = g.fails(dir, "clone", "-q", s.gitURLAs("", "", "app"), filepath.Join(dir, "anon"))
	wantContains(t, "clone without credentials", errOut, "could not read Username")

	// A wrong token: 401, shown by git, and logged by the server.
	errOut = g.fails(one, "push", s.gitURLAs("ann", "sluice_wrong", "app"), "main")
	wantContains(t, "push with a wrong token", errOut, "remote: sluice: authentication required", "Authentication failed")
	code, _ = httpStatus(t, "GET", s.url+"/git/app.git/info/refs?service=git-receive-pack", "sluice_wrong")
	wantEqual(t, "receive-pack advertisement with a wrong token", code, http.StatusUnauthorized)
	eventually(t, 5*time.Second, "the server to log the wrong credentials", func() bool {
		return strings.Contains(s.serverLog(), "git request with wrong credentials")
	})
	if strings.Contains(s.serverLog(), "sluice_wrong") {
		t.Errorf("the server log holds the wrong token")
	}
	wantEqual(t, "server head after refused pushes", strings.Fields(g.run(one, "ls-remote", s.gitURL("app"), "refs/heads/main"))[0], c4)

	// Read and write are separate permissions: a read token clones and
	// fetches, but may not push (403); a revoked token is refused (401).
	reader := strings.TrimSpace(s.ok("token", "create", "reader", "--policy", "read"))
	rclone := filepath.Join(dir, "reader")
	g.run(dir, "clone", "-q", s.gitURLAs("rita", reader, "app"), rclone)
	wantEqual(t, "HEAD of the read token's clone", g.head(rclone, "HEAD"), c4)
	g.commit(rclone, "from a reader", map[string]string{"r.txt": "r\n"})
	errOut = g.fails(rclone, "push", "origin", "main")
	wantContains(t, "push with a read token", errOut, "remote: sluice: permission denied: you may not push to repository app")
	code, _ = httpStatus(t, "GET", s.url+"/git/app.git/info/refs?service=git-receive-pack", reader)
	wantEqual(t, "receive-pack advertisement with a read token", code, http.StatusForbidden)
	s.ok("token", "delete", "reader")
	errOut = g.fails(rclone, "fetch", "origin")
	wantContains(t, "fetch with a revoked token", errOut, "Authentication failed")
	wantEqual(t, "server head after a reader's push", strings.Fields(g.run(one, "ls-remote", s.gitURL("app"), "refs/heads/main"))[0], c4)

	// A repository that does not exist: 404, whatever the credentials.
	errOut = g.fails(one, "push", s.gitURL("nope"), "main")
	wantContains(t, "push to a missing repository", errOut, "remote: sluice: repository nope not found", "not found")
	code, _ = httpStatus(t, "GET", s.url+"/git/nope.git/info/refs?service=git-receive-pack", s.token)
	wantEqual(t, "advertisement of a missing repository", code, http.StatusNotFound)
	errOut = g.fails(dir, "clone", "-q", s.gitURL("nope"), filepath.Join(dir, "nope"))
	wantContains(t, "clone of a missing repository", errOut, "not found")

	// delete
	wantEqual(t, "repo delete", strings.TrimSpace(s.ok("repo", "delete", "app")), "repository app deleted")
	r = s.fails("repo", "get", "app")
	wantContains(t, "repo get after delete", strings.ToLower(r.stderr), "not found")
	r = s.fails("repo", "delete", "app")
	wantContains(t, "repo delete after delete", strings.ToLower(r.stderr), "not found")
	list = nil
	s.json(&list, "repo", "list")
	if len(list) != 1 || list[0].Name != "other" {
		t.Errorf("repo list after delete = %+v, want only other", list)
	}
	errOut = g.fails(one, "push", s.gitURL("app"), "main")
	wantContains(t, "push to a deleted repository", errOut, "not found")
	// A new repository of the same name starts empty.
	s.ok("repo", "create", "app")
	if refs := g.run(one, "ls-remote", s.gitURL("app")); refs != "" {
		t.Errorf("a re-created repository has refs:\n%s", refs)
	}
}

func TestProtectedBranch(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	g := newGit(t, s)
	dir := s.scratch("git")
	work := filepath.Join(dir, "work")

	s.ok("repo", "create", "app")
	g.initRepo(work)
	g.run(work, "remote", "add", "origin", s.gitURL("app"))
	g.commit(work, "one", map[string]string{"a.txt": "1\n"})
	c2 := g.commit(work, "two", map[string]string{"a.txt": "2\n"})
	g.run(work, "push", "-q", "origin", "main", "main:feature")

	out := s.ok("repo", "protect", "app", "main", "--no-force-push", "--no-delete")
	wantEqual(t, "repo protect", strings.TrimSpace(out), "branch main of app protected: no force pushes, no deletion")
	var info repoInfo
	s.json(&info, "repo", "get", "app")
	if len(info.Protections) != 1 || info.Protections[0].Branch != "main" || !info.Protections[0].NoForcePush || !info.Protections[0].NoDelete {
		t.Errorf("protections = %+v, want main with no force push, no delete", info.Protections)
	}
	wantContains(t, "repo get", s.ok("repo", "get", "app"), "main: no force pushes, no deletion")
	remoteHead := func(branch string) string {
		f := strings.Fields(g.run(work, "ls-remote", "origin", "refs/heads/"+branch))
		if len(f) == 0 {
			return ""
		}
		return f[0]
	}

	// A force push is refused with sluice's message, and changes nothing.
	g.run(work, "reset", "-q", "--hard", "HEAD~1")
	rewritten := g.commit(work, "rewritten", map[string]string{"a.txt": "rewritten\n"})
	errOut := g.fails(work, "push", "-f", "origin", "main")
	wantContains(t, "force push to main", errOut,
		"remote: sluice: branch main is protected: force pushes are not allowed",
		"remote: sluice: push refused; nothing was updated", "pre-receive hook declined")
	wantEqual(t, "main after the refused force push", remoteHead("main"), c2)
	// One refused reference refuses the whole push.
	errOut = g.fails(work, "push", "-f", "origin", "main", "main:feature")
	wantContains(t, "force push to main and feature", errOut, "branch main is protected")
	wantEqual(t, "feature after a refused push", remoteHead("feature"), c2)

	// Deleting main is refused.
	errOut = g.fails(work, "push", "origin", ":main")
	wantContains(t, "deleting main", errOut, "remote: sluice: branch main is protected: deleting it is not allowed")
	wantEqual(t, "main after the refused deletion", remoteHead("main"), c2)

	// A branch that is not protected can be force-pushed and deleted.
	g.run(work, "push", "-q", "-f", "origin", "main:feature")
	wantEqual(t, "feature after a force push", remoteHead("feature"), rewritten)
	g.run(work, "push", "-q", "origin", ":feature")
	wantEqual(t, "feature after deletion", remoteHead("feature"), "")

	// A fast-forward push passes.
	g.run(work, "reset", "-q", "--hard", c2)
	c3 := g.commit(work, "three", map[string]string{"a.txt": "3\n"})
	g.run(work, "push", "-q", "origin", "main")
	wantEqual(t, "main after a normal push", remoteHead("main"), c3)

	// Only deletion refused: force pushes pass, deletion does not.
	wantEqual(t, "repo protect --no-delete", strings.TrimSpace(s.ok("repo", "protect", "app", "main", "--no-delete")),
		"branch main of app protected: no deletion")
	g.run(work, "push", "-q", "-f", "origin", rewritten+":refs/heads/main")
	wantEqual(t, "main after a force push allowed", remoteHead("main"), rewritten)
	errOut = g.fails(work, "push", "origin", ":main")
	wantContains(t, "deleting main", errOut, "deleting it is not allowed")

	// Lifting the protection.
	wantEqual(t, "repo protect without flags", strings.TrimSpace(s.ok("repo", "protect", "app", "main")),
		"branch main of app is not protected")
	info = repoInfo{}
	s.json(&info, "repo", "get", "app")
	for _, p := range info.Protections {
		if p.Branch == "main" && (p.NoDelete || p.NoForcePush) {
			t.Errorf("protections after lifting = %+v", info.Protections)
		}
	}
	g.run(work, "push", "-q", "-f", "origin", c3+":refs/heads/main")
	wantEqual(t, "main after a force push, unprotected", remoteHead("main"), c3)

	// Deletion of a branch other than the default one (git itself refuses to
	// delete the branch HEAD names): refused while protected, done after.
	g.run(work, "push", "-q", "origin", "main:release")
	s.ok("repo", "protect", "app", "release", "--no-delete")
	errOut = g.fails(work, "push", "origin", ":release")
	wantContains(t, "deleting release", errOut, "remote: sluice: branch release is protected: deleting it is not allowed")
	wantEqual(t, "release after the refused deletion", remoteHead("release"), c3)
	s.ok("repo", "protect", "app", "release")
	g.run(work, "push", "-q", "origin", ":release")
	wantEqual(t, "release after deletion", remoteHead("release"), "")

	// Refused pushes left no event; each accepted one, one per reference.
	z := ""
	wantEvents(t, s.waitRepoEvents("app", 9),
		repoEvent{"referenceCreated", "refs/heads/main", z, c2, "admin"},
		repoEvent{"referenceCreated", "refs/heads/feature", z, c2, "admin"},
		repoEvent{"referenceUpdated", "refs/heads/feature", c2, rewritten, "admin"},
		repoEvent{"referenceDeleted", "refs/heads/feature", rewritten, z, "admin"},
		repoEvent{"referenceUpdated", "refs/heads/main", c2, c3, "admin"},
		repoEvent{"referenceUpdated", "refs/heads/main", c3, rewritten, "admin"},
		repoEvent{"referenceUpdated", "refs/heads/main", rewritten, c3, "admin"},
		repoEvent{"referenceCreated", "refs/heads/release", z, c3, "admin"},
		repoEvent{"referenceDeleted", "refs/heads/release", c3, z, "admin"})

	r := s.fails("repo", "protect", "nope", "main", "--no-delete")
	wantContains(t, "protect of a missing repository", strings.ToLower(r.stderr), "not found")

	raw := s.ok("repo", "get", "app", "-o", "json")
	if !json.Valid([]byte(raw)) {
		t.Errorf("repo get -o json is not JSON:\n%s", raw)
	}
}
