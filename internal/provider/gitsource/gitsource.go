// Package gitsource is the Source actions that read git repositories: Git
// (alias CodeCommit) for sluice's hosted repositories and GitRemote for any
// git URL. It runs the real git CLI, which does the heavy work on disk: no
// pack or tree is ever held in memory here.
//
// A run fetches the configured branch into a private repository under the
// job's working directory, picks the commit (the branch head, or the revision
// the job pins), and writes the one output artifact:
//
//   - CODE_ZIP: the commit's tree as git archive --format=zip makes it,
//     without .git, with file modes and symlinks as git stores them.
//   - CODEBUILD_CLONE_REF: a clone of the repository (every branch, their
//     tags, full history) with the local branch BranchName checked out at the
//     commit and tracking origin/BranchName, .git included.
//
// Output variables are those of CodePipeline's CodeCommit action: CommitId,
// CommitMessage, AuthorDate, CommitterDate (RFC 3339, UTC), BranchName and
// RepositoryName; GitRemote adds Url. The summary is the commit message's
// first line.
//
// A pinned revision of a hosted repository is fetched by id if it is not on
// the branch: the server serves any commit it has, and like CodePipeline sluice
// builds what was pinned even after a force-push moved the branch. Other
// servers need not allow that, so a GitRemote revision must be on the branch.
//
// Credentials travel only in the environment of git (an http.extraHeader
// scoped to the repository's server, given as GIT_CONFIG_KEY_n/VALUE_n) or in a
// 0600 key file in the job's scratch directory, never on a command line; the
// log and every error are scrubbed of them, and URLs are shown without their
// userinfo.
package gitsource

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/shellword"
)

// Provider names this package runs.
const (
	ProviderGit        = "Git"
	ProviderCodeCommit = "CodeCommit" // CodePipeline's name for Git
	ProviderGitRemote  = "GitRemote"
)

// Values of OutputArtifactFormat.
const (
	FormatCodeZip  = "CODE_ZIP" // the default
	FormatCloneRef = "CODEBUILD_CLONE_REF"
)

// hostedUser is the user name sent with the token to hosted repositories.
const hostedUser = "sluice"

// tokenUser is the user name sent with a bare token, as GitHub expects for
// app tokens; other forges accept any user name with a token.
const tokenUser = "x-access-token"

// Provider runs Git, CodeCommit and GitRemote actions. Its fields are set
// once when the worker is wired and only read after, so one Provider may run
// many jobs at once.
type Provider struct {
	// HostedURL returns the clone URL of hosted repository name (e.g.
	// "http://127.0.0.1:8080/git/NAME.git"). Nil when the worker has no
	// hosted repositories; Git actions then fail.
	HostedURL func(name string) string
	// HostedToken is sent as the HTTP basic-auth password to hosted
	// repositories (user name "sluice"), with the first request.
	HostedToken string
	// HostedCAFile is a PEM file of certificates to trust for the hosted
	// repositories' server (sluice's --ca-cert), when its certificate is
	// self-signed; "" trusts the system's roots only.
	HostedCAFile string
	// Secret resolves a CredentialsSecret name to its value (GitRemote); nil
	// when the worker has no secret access.
	Secret func(ctx context.Context, name string) (string, error)
	// Git is the git binary, default "git" looked up in the worker's PATH.
	Git string
}

// Run implements provider.Provider. It fails with an error whose message names
// the repository, branch or commit in the user's terms; errors.Is tells the
// kinds apart (ErrBranchNotFound, ErrAuthentication, …), and an error wrapping
// ctx.Err() means the run was stopped, with every git process killed.
func (p *Provider) Run(ctx context.Context, job *provider.Job) (provider.Result, error) {
	if len(job.Outputs) != 1 {
		return provider.Result{}, failf(ErrConfiguration, "a %s action has exactly one output artifact; this one has %d", job.Provider, len(job.Outputs))
	}
	if p.Secret == nil && job.Secret != nil {
		// The worker reads secrets per job: only those the job names are given.
		withJob := *p
		withJob.Secret = func(ctx context.Context, name string) (string, error) {
			v, err := job.Secret(ctx, name)
			return string(v), err
		}
		p = &withJob
	}
	src, err := p.source(ctx, job)
	if err != nil {
		return provider.Result{}, err
	}
	c, err := p.run(ctx, job, src)
	if err != nil {
		return provider.Result{}, err
	}

	vars := map[string]string{
		"CommitId":       c.id,
		"CommitMessage":  c.message,
		"AuthorDate":     c.authorDate,
		"CommitterDate":  c.committerDate,
		"BranchName":     src.branch,
		"RepositoryName": src.repoName,
	}
	if !src.hosted {
		vars["Url"] = src.remote.url
	}
	return provider.Result{Summary: c.subject(), OutputVariables: vars}, nil
}

// run fetches src's commit and writes the job's one output artifact.
func (p *Provider) run(ctx context.Context, job *provider.Job, src *source) (commit, error) {
	g, cleanup, err := p.prepare(job, src)
	if err != nil {
		return commit{}, err
	}
	defer cleanup()

	id, err := fetch(ctx, g, src)
	if err != nil {
		return commit{}, stopped(ctx, err)
	}
	c, err := readCommit(ctx, g, id)
	if err != nil {
		return commit{}, stopped(ctx, err)
	}
	g.logf("sluice: commit %s: %s", c.id, c.subject())

	out := job.Outputs[0]
	switch src.format {
	case FormatCloneRef:
		err = writeCloneRef(ctx, g, src, c.id, out)
	default:
		err = writeCodeZip(ctx, g, c.id, out)
	}
	if err != nil {
		return commit{}, stopped(ctx, err)
	}
	return c, nil
}

// Remote is a repository on a git host whose clone URL and credentials
// the caller resolved (the connection sources of provider/hostsource), to
// be read as GitRemote reads a Url.
type Remote struct {
	// URL is the https (or http) clone URL, without userinfo.
	URL string
	// User and Password are sent as HTTP basic credentials to URL's
	// server only; "" sends none.
	User, Password string
	// Name is how messages name the repository (OWNER/NAME).
	Name string
	// AuthHint is added to an authentication failure's message (", with
	// the token of connection x").
	AuthHint string
	// Branch is the branch to read; Format is FormatCodeZip (the default)
	// or FormatCloneRef.
	Branch, Format string
	// HeadRef, when set, is a pull request's head reference in the
	// repository (refs/pull/N/head, refs/merge-requests/N/head), read as
	// Branch: a fork's branch is not in the repository, its head is.
	HeadRef string
}

// Commit is the commit a source run read.
type Commit struct {
	ID            string
	Message       string
	AuthorDate    string // RFC 3339, UTC
	CommitterDate string // RFC 3339, UTC
}

// Subject is the message's first line.
func (c Commit) Subject() string { return commit{message: c.Message}.subject() }

// RunRemote reads r's branch (or the job's pinned Revision, which must be
// on it) and writes the job's one output artifact, as Run does for
// GitRemote: credentials only in git's environment and scrubbed from the
// log and errors, CODE_ZIP without .git, CODEBUILD_CLONE_REF a full clone.
func (p *Provider) RunRemote(ctx context.Context, job *provider.Job, r Remote) (Commit, error) {
	if len(job.Outputs) != 1 {
		return Commit{}, failf(ErrConfiguration, "a %s action has exactly one output artifact; this one has %d", job.Provider, len(job.Outputs))
	}
	branch := strings.TrimPrefix(strings.TrimSpace(r.Branch), "refs/heads/")
	if err := checkBranch(branch); err != nil {
		return Commit{}, err
	}
	src := &source{branch: branch, format: FormatCodeZip, secrets: &redactor{}}
	switch r.Format {
	case "", FormatCodeZip:
	case FormatCloneRef:
		src.format = FormatCloneRef
	default:
		return Commit{}, failf(ErrConfiguration, "configuration OutputArtifactFormat %q: want %s or %s", r.Format, FormatCodeZip, FormatCloneRef)
	}
	if rev := strings.TrimSpace(job.Revision); rev != "" {
		if !revisionPattern.MatchString(rev) {
			return Commit{}, failf(ErrConfiguration, "source revision %q is not a commit id", rev)
		}
		src.revision = strings.ToLower(rev)
	}
	if r.HeadRef != "" {
		if !headRefPattern.MatchString(r.HeadRef) {
			return Commit{}, failf(ErrConfiguration, "pull request head reference %q is not refs/pull/N/head or refs/merge-requests/N/head", r.HeadRef)
		}
		src.headRef = r.HeadRef
	}
	rem, err := parseRemote(r.URL)
	if err != nil {
		return Commit{}, &sourceError{kind: ErrConfiguration, msg: err.Error()}
	}
	if rem.kind != transportHTTP || rem.hasUserinfo {
		return Commit{}, failf(ErrConfiguration, "repository %s: %s is not an http(s) URL without credentials", r.Name, rem.url)
	}
	src.remote, src.what, src.repoName, src.authHint = rem, r.Name, r.Name, r.AuthHint
	if r.Password != "" {
		src.setBasic(r.User, r.Password)
	}
	c, err := p.run(ctx, job, src)
	if err != nil {
		return Commit{}, err
	}
	return Commit{ID: c.id, Message: c.message, AuthorDate: c.authorDate, CommitterDate: c.committerDate}, nil
}

// stopped makes sure an error after ctx ended says so and wraps ctx.Err(),
// whatever git's own failure looked like once it was killed.
func stopped(ctx context.Context, err error) error {
	switch {
	case ctx.Err() == nil:
		return err
	case errors.Is(err, ctx.Err()):
		return fmt.Errorf("source stopped: %w", err)
	default:
		return fmt.Errorf("source stopped: %w", ctx.Err())
	}
}

// prepare makes the job's private repository and git's environment.
func (p *Provider) prepare(job *provider.Job, src *source) (*git, func(), error) {
	cleanup := func() {}
	home := job.ScratchDir
	if home == "" {
		dir, err := os.MkdirTemp("", "sluice-gitsource-")
		if err != nil {
			return nil, nil, fmt.Errorf("scratch directory: %w", err)
		}
		home, cleanup = dir, func() { os.RemoveAll(dir) }
	}
	fail := func(err error) (*git, func(), error) {
		cleanup()
		return nil, nil, err
	}
	// The repository can be as large as the project's history, so it goes
	// with the job's working directory, not in the scratch directory, which
	// may be in memory. The worker removes both after the job.
	parent := job.WorkDir
	if parent == "" {
		parent = home
	}
	dir, err := os.MkdirTemp(parent, ".sluice-source-")
	if err != nil {
		return fail(fmt.Errorf("repository directory: %w", err))
	}

	config := [][2]string{
		// No background gc or maintenance that could outlive the run, or
		// write while the clone is zipped.
		{"gc.auto", "0"},
		{"maintenance.auto", "false"},
		{"init.defaultBranch", "main"},
		{"advice.detachedHead", "false"},
		{"protocol.ext.allow", "never"},
		{"credential.helper", ""},
	}
	if src.header != "" {
		// Sent with the first request, so hosted repositories never see
		// (and log) an anonymous attempt; scoped to the repository's
		// server, so a redirect to another host does not carry it.
		config = append(config, [2]string{"http." + origin(src.remote.url) + ".extraHeader", src.header})
	}
	if src.hosted && p.HostedCAFile != "" {
		config = append(config, [2]string{"http." + origin(src.remote.url) + ".sslCAInfo", p.HostedCAFile})
	}
	extra := []string{
		"HOME=" + home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
		"LC_ALL=C", // git's messages are matched to tell failures apart
		fmt.Sprintf("GIT_CONFIG_COUNT=%d", len(config)),
	}
	for i, kv := range config {
		extra = append(extra, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, kv[0]), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, kv[1]))
	}
	if src.remote.kind == transportSSH {
		ssh, err := sshCommand(home, src.sshKey)
		if err != nil {
			return fail(err)
		}
		extra = append(extra, "GIT_SSH_COMMAND="+ssh, "GIT_SSH_VARIANT=ssh")
	}
	bin := p.Git
	if bin == "" {
		bin = "git"
	}
	return &git{bin: bin, dir: dir, env: gitEnv(job.Env, extra), log: job.Log, secret: src.secrets}, cleanup, nil
}

// sshCommand writes the key and an empty known-hosts file into the scratch
// directory and returns the command git runs as ssh. Nothing of the worker's
// own ssh setup (config, agent, keys, known hosts) is used.
func sshCommand(home, key string) (string, error) {
	knownHosts := filepath.Join(home, "known_hosts")
	if err := os.WriteFile(knownHosts, nil, 0o600); err != nil {
		return "", fmt.Errorf("ssh: %w", err)
	}
	cmd := "ssh -F /dev/null -o BatchMode=yes -o IdentityAgent=none -o IdentitiesOnly=yes" +
		" -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=" + shellword.Quote(knownHosts)
	if key == "" {
		return cmd + " -o IdentityFile=none", nil
	}
	keyFile := filepath.Join(home, "source_key")
	if err := os.WriteFile(keyFile, []byte(key), 0o600); err != nil {
		return "", fmt.Errorf("ssh: %w", err)
	}
	return cmd + " -i " + shellword.Quote(keyFile), nil
}

// gitEnv is the job's environment without anything that steers git or ssh
// from outside, plus extra. A PATH is kept or supplied, as git runs helpers
// (ssh) through it.
func gitEnv(base, extra []string) []string {
	env := make([]string, 0, len(base)+len(extra)+1)
	hasPath := false
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "GIT_"), k == "HOME", k == "XDG_CONFIG_HOME", k == "LC_ALL",
			k == "SSH_ASKPASS", k == "SSH_AUTH_SOCK":
			continue
		case k == "PATH":
			hasPath = true
		}
		env = append(env, kv)
	}
	if !hasPath {
		env = append(env, "PATH=/usr/local/bin:/usr/bin:/bin")
	}
	return append(env, extra...)
}
