package gitsource

import (
	"errors"
	"fmt"
	"strings"
)

// Kinds of failure a caller can tell apart with errors.Is. The error's own
// message says what happened in the user's terms, naming the repository,
// branch or commit; these are only the category.
var (
	// ErrConfiguration: the action's configuration is missing a key or has
	// a value sluice cannot use.
	ErrConfiguration = errors.New("invalid configuration")
	// ErrRepositoryNotFound: the server or path has no such repository.
	ErrRepositoryNotFound = errors.New("repository not found")
	// ErrBranchNotFound: the repository has no branch BranchName.
	ErrBranchNotFound = errors.New("branch not found")
	// ErrCommitNotFound: the pinned revision is not in the repository, or
	// (GitRemote) not on the branch.
	ErrCommitNotFound = errors.New("commit not found")
	// ErrAuthentication: the server refused the credentials, or wanted some
	// and none were configured.
	ErrAuthentication = errors.New("authentication failed")
	// ErrNetwork: the server could not be reached or the connection broke.
	ErrNetwork = errors.New("network failure")
)

// sourceError is a failure with a message safe to show and a kind to test.
type sourceError struct {
	kind error
	msg  string
}

func (e *sourceError) Error() string { return e.msg }
func (e *sourceError) Unwrap() error { return e.kind }

func failf(kind error, format string, args ...any) error {
	return &sourceError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Phrases of git's (LC_ALL=C) stderr, and of the servers it relays, that tell
// why a fetch failed. They are checked in this order: ssh prints "Could not
// read from remote repository" after both a refused key and a missing
// repository, so the more specific phrase must decide.
var (
	branchPhrases = []string{"couldn't find remote ref"}
	authPhrases   = []string{
		"Authentication failed",
		"could not read Username",
		"could not read Password",
		"Permission denied (publickey",
		"Permission denied, please try again",
		"Too many authentication failures",
		"requested URL returned error: 401",
		"requested URL returned error: 403",
		"HTTP Basic: Access denied",
		"Invalid username or password",
	}
	repoPhrases = []string{
		"' not found", // http: repository 'URL/' not found
		"Repository not found",
		"repository not found",
		"does not appear to be a git repository", // a path, or an ssh server with nothing there
		"project you were looking for could not be found",
		"requested URL returned error: 404",
	}
	networkPhrases = []string{
		"Could not resolve host",
		"Could not resolve hostname",
		"Name or service not known",
		"Failed to connect",
		"Connection refused",
		"Connection timed out",
		"Connection reset",
		"Operation timed out",
		"Network is unreachable",
		"No route to host",
		"Host key verification failed",
		"SSL",
		"TLS",
		"certificate",
		"the remote end hung up",
		"early EOF",
		"RPC failed",
		"unable to access",
		"Connection closed",
	}
)

// classify turns a failed fetch's stderr into an error in the user's terms.
// what names the repository as the user knows it; hint is added to an
// authentication failure.
func classify(stderr, what, branch, authHint string) error {
	detail := lastError(stderr)
	switch {
	case containsAny(stderr, branchPhrases):
		return failf(ErrBranchNotFound, "branch %s not found in repository %s", branch, what)
	case containsAny(stderr, authPhrases):
		return failf(ErrAuthentication, "authentication failed for repository %s%s", what, authHint)
	case containsAny(stderr, repoPhrases):
		return failf(ErrRepositoryNotFound, "repository %s not found", what)
	case containsAny(stderr, networkPhrases):
		return failf(ErrNetwork, "cannot reach repository %s: %s", what, detail)
	}
	if detail == "" {
		return fmt.Errorf("fetching from repository %s failed", what)
	}
	return fmt.Errorf("fetching from repository %s failed: %s", what, detail)
}

func containsAny(s string, phrases []string) bool {
	for _, p := range phrases {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// lastError returns git's last "fatal:" or "error:" line without its prefix,
// or the last non-empty line.
func lastError(stderr string) string {
	lines := strings.FieldsFunc(stderr, func(r rune) bool { return r == '\n' || r == '\r' })
	last := ""
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		if last == "" {
			last = l
		}
		for _, prefix := range []string{"fatal: ", "error: "} {
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				return rest
			}
		}
	}
	return last
}
