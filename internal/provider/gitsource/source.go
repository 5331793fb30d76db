package gitsource

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"github.com/sluice-ci/sluice/internal/provider"
)

// source is a job's configuration, checked, with its credentials.
type source struct {
	hosted   bool
	remote   remote
	what     string // the repository in messages: RepositoryName, or the URL without userinfo
	repoName string // the RepositoryName output variable
	branch   string
	format   string
	revision string // lower-case hex, or ""
	headRef  string // a pull request's head reference to read instead of the branch, or ""

	header   string // the Authorization header for an http(s) repository
	sshKey   string // a private key for an ssh repository
	authHint string // said after an authentication failure
	secrets  *redactor
}

var (
	// repositoryNamePattern is CodeCommit's rule for repository names.
	repositoryNamePattern = lazyregexp.New(`^[A-Za-z0-9._-]{1,100}$`)
	revisionPattern       = lazyregexp.New(`^[0-9a-fA-F]{4,64}$`)
	// headRefPattern is the references hosts keep for pull requests' heads.
	headRefPattern = lazyregexp.New(`^refs/(pull|merge-requests)/[0-9]{1,10}/head$`)
)

// source checks the job's configuration and fetches its credentials.
func (p *Provider) source(ctx context.Context, job *provider.Job) (*source, error) {
	cfg := job.Configuration
	src := &source{secrets: &redactor{}}

	branch := strings.TrimPrefix(strings.TrimSpace(cfg["BranchName"]), "refs/heads/")
	if err := checkBranch(branch); err != nil {
		return nil, err
	}
	src.branch = branch

	switch f := cfg["OutputArtifactFormat"]; f {
	case "", FormatCodeZip:
		src.format = FormatCodeZip
	case FormatCloneRef:
		src.format = FormatCloneRef
	default:
		return nil, failf(ErrConfiguration, "configuration OutputArtifactFormat %q: want %s or %s", f, FormatCodeZip, FormatCloneRef)
	}

	if rev := strings.TrimSpace(job.Revision); rev != "" {
		if !revisionPattern.MatchString(rev) {
			return nil, failf(ErrConfiguration, "source revision %q is not a commit id", rev)
		}
		src.revision = strings.ToLower(rev)
	}

	switch job.Provider {
	case ProviderGit, ProviderCodeCommit:
		return src, p.hostedSource(src, cfg["RepositoryName"])
	case ProviderGitRemote:
		return src, p.remoteSource(ctx, src, cfg["Url"], cfg["CredentialsSecret"], nil)
	default:
		return nil, failf(ErrConfiguration, "gitsource cannot run provider %q; it runs %s, %s and %s", job.Provider, ProviderGit, ProviderCodeCommit, ProviderGitRemote)
	}
}

func checkBranch(b string) error {
	switch {
	case b == "":
		return failf(ErrConfiguration, "configuration BranchName is required")
	case b == "HEAD":
		return failf(ErrConfiguration, "configuration BranchName %q is not a branch name", b)
	case strings.HasPrefix(b, "-"):
		return failf(ErrConfiguration, "configuration BranchName %q: a branch name cannot start with '-'", b)
	case !validRefName("refs/heads/" + b):
		return failf(ErrConfiguration, "configuration BranchName %q is not a valid branch name", b)
	}
	return nil
}

// validRefName applies git check-ref-format's rules without running git.
func validRefName(ref string) bool {
	if strings.HasSuffix(ref, "/") || strings.HasSuffix(ref, ".") || strings.Contains(ref, "..") ||
		strings.Contains(ref, "@{") || strings.Contains(ref, "//") || ref == "@" {
		return false
	}
	if strings.ContainsFunc(ref, func(r rune) bool {
		return r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r)
	}) {
		return false
	}
	for part := range strings.SplitSeq(ref, "/") {
		if part == "" || strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return false
		}
	}
	return true
}

func (p *Provider) hostedSource(src *source, name string) error {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return failf(ErrConfiguration, "configuration RepositoryName is required")
	case !repositoryNamePattern.MatchString(name) || name == "." || name == "..":
		return failf(ErrConfiguration, "configuration RepositoryName %q is not a repository name (letters, digits, '.', '_' and '-')", name)
	case p.HostedURL == nil:
		return failf(ErrConfiguration, "repository %s: this worker has no access to hosted repositories", name)
	}
	r, err := parseRemote(p.HostedURL(name))
	if err != nil {
		return fmt.Errorf("repository %s: hosted repository URL: %w", name, err)
	}
	src.hosted = true
	src.remote = r
	src.what = name
	src.repoName = name
	if r.kind == transportHTTP {
		if p.HostedToken == "" {
			src.authHint = ": this worker has no token for hosted repositories"
		} else {
			src.setBasic(hostedUser, p.HostedToken)
			src.authHint = ": the worker's token was refused"
		}
	}
	return nil
}

// remoteSource checks a GitRemote Url and finds its credentials: the value of
// secretName through p.Secret, or secretValue when the caller already holds
// it, or the Url's userinfo.
func (p *Provider) remoteSource(ctx context.Context, src *source, rawURL, secretName string, secretValue *string) error {
	r, err := parseRemote(rawURL)
	if err != nil {
		return &sourceError{kind: ErrConfiguration, msg: err.Error()}
	}
	src.remote = r
	src.what = r.url
	src.repoName = repositoryName(r)
	if r.hasUserinfo {
		// Used only without a CredentialsSecret, but never shown either way.
		src.secrets.add(r.password)
		if r.password == "" {
			src.secrets.add(r.user)
		}
	}
	secretName = strings.TrimSpace(secretName)
	switch {
	case secretValue != nil:
		src.secrets.add(*secretValue)
		if err := src.setSecret("of the action", *secretValue); err != nil {
			return err
		}
		src.authHint = " with the action's CredentialsSecret"
	case secretName != "":
		if p.Secret == nil {
			return failf(ErrConfiguration, "configuration CredentialsSecret %s: this worker has no access to secrets", secretName)
		}
		value, err := p.Secret(ctx, secretName)
		if err != nil {
			return fmt.Errorf("configuration CredentialsSecret %s: %w", secretName, err)
		}
		src.secrets.add(value)
		if err := src.setSecret(secretName, value); err != nil {
			return err
		}
		src.authHint = " with the credentials in secret " + secretName
	case r.hasUserinfo:
		user, password := r.user, r.password
		if password == "" {
			// https://TOKEN@host/… carries a token where the user goes.
			user, password = tokenUser, r.user
		}
		src.setBasic(user, password)
		src.authHint = " with the credentials in Url"
	default:
		src.authHint = ": it needs credentials (set CredentialsSecret)"
	}
	return nil
}

// setSecret uses a CredentialsSecret value as the URL's kind asks: an ssh
// private key for ssh, USER:PASSWORD or a bare token for http(s).
func (src *source) setSecret(name, value string) error {
	isKey := strings.HasPrefix(strings.TrimSpace(value), "-----BEGIN")
	switch src.remote.kind {
	case transportSSH:
		if !isKey {
			return failf(ErrConfiguration, "configuration CredentialsSecret %s: Url %s is an ssh URL, so the secret must hold an SSH private key (-----BEGIN …)", name, src.what)
		}
		src.sshKey = strings.TrimSpace(value) + "\n"
	case transportHTTP:
		value = strings.TrimSpace(value)
		switch {
		case isKey:
			return failf(ErrConfiguration, "configuration CredentialsSecret %s holds an SSH private key, but Url %s is not an ssh URL", name, src.what)
		case value == "":
			return failf(ErrConfiguration, "configuration CredentialsSecret %s is empty", name)
		}
		user, password, ok := strings.Cut(value, ":")
		if !ok {
			user, password = tokenUser, value
		}
		src.setBasic(user, password)
	default:
		return failf(ErrConfiguration, "configuration CredentialsSecret %s is set, but Url %s takes no credentials (https, http and ssh URLs do)", name, src.what)
	}
	return nil
}

func (src *source) setBasic(user, password string) {
	enc := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	src.header = "Authorization: Basic " + enc
	src.secrets.add(password)
	src.secrets.add(user + ":" + password)
	src.secrets.add(enc)
}
