//go:build unix

package gitsource_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/provider/gitsource"
)

const hostedToken = "tok-3f9a7c2e1d"

func TestHostedCodeZip(t *testing.T) {
	t.Parallel()
	srv := newGitServer(t, hostedToken)
	r, id := sampleRepo(t)
	r.bare(srv.root, "app")
	for _, name := range []string{"Git", "CodeCommit"} {
		job, log := newJob(t, name, map[string]string{"RepositoryName": "app", "BranchName": "main", "PollForSourceChanges": "false"})
		bin, argsFile := recordingGit(t)
		p := srv.hostedProvider(hostedToken)
		p.Git = bin
		res := mustRun(t, p, job)

		want := map[string]string{
			"CommitId":       id,
			"CommitMessage":  "Add the build script\n\nIt builds everything.\nSecond line.",
			"AuthorDate":     "2024-03-05T08:11:12Z",
			"CommitterDate":  "2024-03-06T06:02:03Z",
			"BranchName":     "main",
			"RepositoryName": "app",
		}
		if !mapsEqual(res.OutputVariables, want) {
			t.Errorf("%s: output variables:\n got %q\nwant %q", name, res.OutputVariables, want)
		}
		dir := unzipOutput(t, job)
		if got := readFile(t, dir+"/README.md"); got != "# project\n" {
			t.Errorf("README.md = %q", got)
		}
		if strings.Contains(log.String(), hostedToken) {
			t.Errorf("log shows the token:\n%s", log)
		}
		if args := readFile(t, argsFile); strings.Contains(args, hostedToken) || !strings.Contains(args, "fetch") {
			t.Errorf("git command lines (want fetch, no token):\n%s", args)
		}
	}
	for _, u := range srv.seenUsers() {
		if u != "sluice" {
			t.Errorf("hosted fetch authenticated as %q, want sluice", u)
		}
	}
}

func TestHostedNeverAnonymous(t *testing.T) {
	t.Parallel()
	srv := newGitServer(t, hostedToken)
	r, _ := sampleRepo(t)
	r.bare(srv.root, "app")
	job, _ := newJob(t, "Git", map[string]string{"RepositoryName": "app", "BranchName": "main"})
	mustRun(t, srv.hostedProvider(hostedToken), job)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	// Every request carried the token: the server's log of refused
	// requests stays free of sluice's own fetches.
	if srv.requests != len(srv.users) || srv.requests == 0 {
		t.Errorf("%d requests, %d with the token; want every one with it", srv.requests, len(srv.users))
	}
}

func TestHostedCloneRefHoldsNoToken(t *testing.T) {
	t.Parallel()
	srv := newGitServer(t, hostedToken)
	r, id := sampleRepo(t)
	r.bare(srv.root, "app")
	job, _ := newJob(t, "Git", map[string]string{"RepositoryName": "app", "BranchName": "main", "OutputArtifactFormat": "CODEBUILD_CLONE_REF"})
	mustRun(t, srv.hostedProvider(hostedToken), job)
	dir := unzipOutput(t, job)
	env := testEnv(t)
	if got := runGit(t, env, dir, "rev-parse", "HEAD"); got != id {
		t.Errorf("HEAD = %s, want %s", got, id)
	}
	if got := runGit(t, env, dir, "remote", "get-url", "origin"); got != srv.url("app") {
		t.Errorf("origin = %s, want %s", got, srv.url("app"))
	}
	if hits := treeContains(t, dir, hostedToken); len(hits) > 0 {
		t.Errorf("the clone holds the token in %v", hits)
	}
}

func TestHostedPinnedCommitByID(t *testing.T) {
	t.Parallel()
	srv := newGitServer(t, hostedToken)
	r := newRepo(t)
	r.write("v", "1\n", 0o644)
	first := r.commit("One")
	r.write("v", "2\n", 0o644)
	r.commit("Two")
	r.git("checkout", "-q", "-b", "gone")
	r.write("v", "force-pushed away\n", 0o644)
	replaced := r.commit("Replaced")
	r.git("checkout", "-q", "main")
	r.bare(srv.root, "app")

	for _, tc := range []struct{ rev, want string }{{first, "1\n"}, {replaced, "force-pushed away\n"}} {
		for _, format := range []string{"CODE_ZIP", "CODEBUILD_CLONE_REF"} {
			job, log := newJob(t, "Git", map[string]string{"RepositoryName": "app", "BranchName": "main", "OutputArtifactFormat": format})
			job.Revision = tc.rev
			res := mustRun(t, srv.hostedProvider(hostedToken), job)
			if res.OutputVariables["CommitId"] != tc.rev {
				t.Errorf("%s: CommitId = %s, want %s", format, res.OutputVariables["CommitId"], tc.rev)
			}
			if got := readFile(t, unzipOutput(t, job)+"/v"); got != tc.want {
				t.Errorf("%s %s: v = %q, want %q\n%s", format, tc.rev, got, tc.want, log)
			}
			if format == "CODE_ZIP" && strings.Contains(log.String(), "--unshallow") {
				t.Errorf("the pinned commit was found by fetching the whole history:\n%s", log)
			}
		}
	}

	for _, rev := range []string{strings.Repeat("0123456789", 4), "0123456"} {
		job, log := newJob(t, "Git", map[string]string{"RepositoryName": "app", "BranchName": "main"})
		job.Revision = rev
		_, err := srv.hostedProvider(hostedToken).Run(t.Context(), job)
		if want := "commit " + rev + " not found in repository app"; !errors.Is(err, gitsource.ErrCommitNotFound) || err.Error() != want {
			t.Errorf("err = %v, want %q\n%s", err, want, log)
		}
		// A full id the server refuses needs no look through the history.
		if len(rev) == 40 && strings.Contains(log.String(), "--unshallow") {
			t.Errorf("fetched the whole history for an unknown commit:\n%s", log)
		}
	}
}

func TestHostedFailures(t *testing.T) {
	t.Parallel()
	srv := newGitServer(t, hostedToken)
	r, _ := sampleRepo(t)
	r.bare(srv.root, "app")
	for _, tc := range []struct {
		name, repo, branch, token string
		kind                      error
		want                      string
	}{
		{"wrong token", "app", "main", "wrong-token-77", gitsource.ErrAuthentication, "authentication failed for repository app: the worker's token was refused"},
		{"no token", "app", "main", "", gitsource.ErrAuthentication, "authentication failed for repository app: this worker has no token for hosted repositories"},
		{"unknown repository", "nope", "main", hostedToken, gitsource.ErrRepositoryNotFound, "repository nope not found"},
		{"unknown branch", "app", "release", hostedToken, gitsource.ErrBranchNotFound, "branch release not found in repository app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job, log := newJob(t, "Git", map[string]string{"RepositoryName": tc.repo, "BranchName": tc.branch})
			_, err := srv.hostedProvider(tc.token).Run(t.Context(), job)
			if !errors.Is(err, tc.kind) || err.Error() != tc.want {
				t.Fatalf("err = %v, want %q\nlog:\n%s", err, tc.want, log)
			}
			if tc.token != "" && (strings.Contains(err.Error(), tc.token) || strings.Contains(log.String(), tc.token)) {
				t.Errorf("the token shows in the error or log:\n%v\n%s", err, log)
			}
			if !strings.Contains(log.String(), "fatal:") {
				t.Errorf("log lacks git's message:\n%s", log)
			}
		})
	}
}

func TestHostedNetworkFailure(t *testing.T) {
	t.Parallel()
	srv := newGitServer(t, hostedToken)
	url := srv.url("app")
	srv.Close()
	job, _ := newJob(t, "Git", map[string]string{"RepositoryName": "app", "BranchName": "main"})
	p := &gitsource.Provider{HostedURL: func(string) string { return url }, HostedToken: hostedToken}
	_, err := p.Run(t.Context(), job)
	if !errors.Is(err, gitsource.ErrNetwork) || !strings.HasPrefix(err.Error(), "cannot reach repository app: ") {
		t.Errorf("err = %v, want a network failure", err)
	}
}

func TestRemoteHTTPCredentials(t *testing.T) {
	t.Parallel()
	const password = "pw-8c1e5b0a"
	srv := newGitServer(t, password)
	r, id := sampleRepo(t)
	r.bare(srv.root, "org/app")
	url := srv.url("org/app")
	secrets := map[string]string{"userpass": "deployer:" + password, "token": password + "\n", "wrong": "deployer:not-the-password"}
	p := &gitsource.Provider{Secret: func(_ context.Context, name string) (string, error) { return secrets[name], nil }}

	for _, tc := range []struct{ secret, user string }{{"userpass", "deployer"}, {"token", "x-access-token"}} {
		job, log := newJob(t, "GitRemote", map[string]string{"Url": url, "BranchName": "main", "CredentialsSecret": tc.secret})
		bin, argsFile := recordingGit(t)
		p := *p
		p.Git = bin
		res := mustRun(t, &p, job)
		if res.OutputVariables["CommitId"] != id || res.OutputVariables["RepositoryName"] != "git/org/app" || res.OutputVariables["Url"] != url {
			t.Errorf("%s: output variables %q", tc.secret, res.OutputVariables)
		}
		if users := srv.seenUsers(); !slices.Contains(users, tc.user) {
			t.Errorf("%s: server saw users %q, want %s", tc.secret, users, tc.user)
		}
		if strings.Contains(log.String(), password) || strings.Contains(readFile(t, argsFile), password) {
			t.Errorf("%s: the password reached the log or a command line", tc.secret)
		}
	}

	// Credentials in the Url itself are used, and shown nowhere.
	withUserinfo := strings.Replace(url, "://", "://someone:"+password+"@", 1)
	job, log := newJob(t, "GitRemote", map[string]string{"Url": withUserinfo, "BranchName": "main", "OutputArtifactFormat": "CODEBUILD_CLONE_REF"})
	res := mustRun(t, p, job)
	if res.OutputVariables["Url"] != url || strings.Contains(log.String(), password) {
		t.Errorf("Url variable %q (want %q), or the log shows the password:\n%s", res.OutputVariables["Url"], url, log)
	}
	if hits := treeContains(t, unzipOutput(t, job), password); len(hits) > 0 {
		t.Errorf("the clone holds the password in %v", hits)
	}

	for _, tc := range []struct{ secret, want string }{
		{"wrong", "authentication failed for repository " + url + " with the credentials in secret wrong"},
		{"", "authentication failed for repository " + url + ": it needs credentials (set CredentialsSecret)"},
	} {
		job, log := newJob(t, "GitRemote", map[string]string{"Url": url, "BranchName": "main", "CredentialsSecret": tc.secret})
		_, err := p.Run(t.Context(), job)
		if !errors.Is(err, gitsource.ErrAuthentication) || err.Error() != tc.want {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
		if strings.Contains(log.String(), "not-the-password") {
			t.Errorf("log shows the secret:\n%s", log)
		}
	}
}

func TestCancelStopsFetch(t *testing.T) {
	t.Parallel()
	srv := newGitServer(t, hostedToken)
	ctx, cancel := context.WithCancel(t.Context())
	job, _ := newJob(t, "Git", map[string]string{"RepositoryName": "blocked", "BranchName": "main"})
	errc := make(chan error, 1)
	go func() {
		_, err := srv.hostedProvider(hostedToken).Run(ctx, job)
		errc <- err
	}()
	<-srv.started
	cancel()
	err := <-errc
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want one wrapping context.Canceled", err)
	}
	// The request ends only when the connection closes, so git's HTTP
	// helper, a grandchild of Run, is gone too.
	<-srv.done
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestHead(t *testing.T) {
	t.Parallel()
	srv := newGitServer(t, hostedToken)
	r, id := sampleRepo(t)
	r.git("branch", "release/main")
	r.bare(srv.root, "app")
	env := []string{"PATH=" + os.Getenv("PATH")}

	p := srv.hostedProvider(hostedToken)
	got, err := p.Head(t.Context(), "Git", map[string]string{"RepositoryName": "app", "BranchName": "main"}, env)
	if err != nil || got != id {
		t.Errorf("hosted Head = %q, %v; want %s", got, err, id)
	}
	got, err = (&gitsource.Provider{}).Head(t.Context(), "GitRemote", map[string]string{"Url": r.fileURL(), "BranchName": "main"}, env)
	if err != nil || got != id {
		t.Errorf("remote Head = %q, %v; want %s", got, err, id)
	}
	_, err = p.Head(t.Context(), "Git", map[string]string{"RepositoryName": "app", "BranchName": "nope"}, env)
	if !errors.Is(err, gitsource.ErrBranchNotFound) {
		t.Errorf("Head of a missing branch: %v", err)
	}
	_, err = srv.hostedProvider("bad-token-1").Head(t.Context(), "Git", map[string]string{"RepositoryName": "app", "BranchName": "main"}, env)
	if !errors.Is(err, gitsource.ErrAuthentication) || strings.Contains(err.Error(), "bad-token-1") {
		t.Errorf("Head with a wrong token: %v", err)
	}
}

// RemoteHeads is what the service's poller takes.
var _ interface {
	Head(ctx context.Context, url, branch string, secret []byte) (string, error)
} = gitsource.RemoteHeads{}

func TestRemoteHeads(t *testing.T) {
	t.Parallel()
	const password = "pw-head-91"
	srv := newGitServer(t, password)
	r, id := sampleRepo(t)
	r.bare(srv.root, "app")
	h := gitsource.RemoteHeads{Env: []string{"PATH=" + os.Getenv("PATH")}}

	got, err := h.Head(t.Context(), srv.url("app"), "main", []byte("u:"+password))
	if err != nil || got != id {
		t.Errorf("Head = %q, %v; want %s", got, err, id)
	}
	_, err = h.Head(t.Context(), srv.url("app"), "main", []byte("u:wrong-pw-33"))
	if want := "authentication failed for repository " + srv.url("app") + " with the action's CredentialsSecret"; !errors.Is(err, gitsource.ErrAuthentication) || err.Error() != want {
		t.Errorf("wrong secret: err = %v, want %q", err, want)
	}
	_, err = h.Head(t.Context(), srv.url("app"), "main", nil)
	if !errors.Is(err, gitsource.ErrAuthentication) {
		t.Errorf("no secret: err = %v", err)
	}
	_, err = h.Head(t.Context(), r.fileURL(), "gone", nil)
	if !errors.Is(err, gitsource.ErrBranchNotFound) {
		t.Errorf("missing branch: err = %v", err)
	}
}
