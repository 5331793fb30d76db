package gitsource

import (
	"context"
	"os"
	"strings"

	"github.com/sluice-ci/sluice/internal/provider"
)

// Head returns the commit at the head of the branch an action's configuration
// names, without fetching anything: what a poller (PollForSourceChanges)
// compares with the last commit it saw. providerName and cfg are the action's
// provider and configuration; env is the base environment, as a job's Env.
// Credentials, errors and redaction are those of Run.
func (p *Provider) Head(ctx context.Context, providerName string, cfg map[string]string, env []string) (string, error) {
	return p.head(ctx, env, func(job *provider.Job) (*source, error) {
		job.Provider, job.Configuration = providerName, cfg
		return p.source(ctx, job)
	})
}

// RemoteHeads reads the heads of branches of any git URL for the poller of
// GitRemote actions; its Head has the signature of trigger.RemoteHeads.
type RemoteHeads struct {
	// Git is the git binary, default "git".
	Git string
	// Env is the base environment of git, such as worker.DefaultBaseEnv().
	Env []string
}

// Head returns the head of branch in the repository at url. secret is the
// value of the action's CredentialsSecret, or nil.
func (h RemoteHeads) Head(ctx context.Context, url, branch string, secret []byte) (string, error) {
	p := &Provider{Git: h.Git}
	return p.head(ctx, h.Env, func(*provider.Job) (*source, error) {
		branch = strings.TrimPrefix(strings.TrimSpace(branch), "refs/heads/")
		if err := checkBranch(branch); err != nil {
			return nil, err
		}
		src := &source{branch: branch, format: FormatCodeZip, secrets: &redactor{}}
		var value *string
		if secret != nil {
			v := string(secret)
			value = &v
		}
		return src, p.remoteSource(ctx, src, url, "", value)
	})
}

// head runs git ls-remote for the source that newSource makes of a job with
// private, temporary directories.
func (p *Provider) head(ctx context.Context, env []string, newSource func(*provider.Job) (*source, error)) (string, error) {
	tmp, err := os.MkdirTemp("", "sluice-gitsource-head-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	job := &provider.Job{WorkDir: tmp, ScratchDir: tmp, Env: env}
	src, err := newSource(job)
	if err != nil {
		return "", err
	}
	g, cleanup, err := p.prepare(job, src)
	if err != nil {
		return "", err
	}
	defer cleanup()
	ref := "refs/heads/" + src.branch
	out, err := g.run(ctx, false, "ls-remote", "--heads", src.remote.url, ref)
	if err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		return "", classify(out.stderr, src.what, src.branch, src.authHint)
	}
	for line := range strings.SplitSeq(string(out.stdout), "\n") {
		// ls-remote matches patterns by their tail, so refs/heads/x/main
		// would come too; only the branch itself counts.
		if id, name, ok := strings.Cut(strings.TrimSpace(line), "\t"); ok && name == ref {
			return id, nil
		}
	}
	return "", failf(ErrBranchNotFound, "branch %s not found in repository %s", src.branch, src.what)
}
