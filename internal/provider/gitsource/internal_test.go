package gitsource

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRemote(t *testing.T) {
	for _, tc := range []struct {
		raw, url, name     string
		kind               transport
		user, password     string
		hasUserinfo, isErr bool
	}{
		{raw: "https://github.com/org/repo.git", url: "https://github.com/org/repo.git", name: "org/repo", kind: transportHTTP},
		{raw: "https://github.com/org/repo", url: "https://github.com/org/repo", name: "org/repo", kind: transportHTTP},
		{raw: "https://gitlab.com/group/sub/repo.git/", url: "https://gitlab.com/group/sub/repo.git/", name: "group/sub/repo", kind: transportHTTP},
		{raw: "https://alice:s%40cret@host/org/repo.git", url: "https://host/org/repo.git", name: "org/repo", kind: transportHTTP, user: "alice", password: "s@cret", hasUserinfo: true},
		{raw: "https://TOKEN@host/org/repo.git", url: "https://host/org/repo.git", name: "org/repo", kind: transportHTTP, user: "TOKEN", hasUserinfo: true},
		{raw: "http://127.0.0.1:8080/git/app.git", url: "http://127.0.0.1:8080/git/app.git", name: "git/app", kind: transportHTTP},
		{raw: "ssh://git@host:2222/org/repo.git", url: "ssh://git@host:2222/org/repo.git", name: "org/repo", kind: transportSSH},
		{raw: "ssh://git:pw@host/org/repo.git", url: "ssh://git@host/org/repo.git", name: "org/repo", kind: transportSSH},
		{raw: "ssh://host/~user/repo.git", url: "ssh://host/~user/repo.git", name: "user/repo", kind: transportSSH},
		{raw: "git@github.com:org/repo.git", url: "git@github.com:org/repo.git", name: "org/repo", kind: transportSSH},
		{raw: "github.com:org/repo", url: "github.com:org/repo", name: "org/repo", kind: transportSSH},
		{raw: "git://host/org/repo.git", url: "git://host/org/repo.git", name: "org/repo", kind: transportGit},
		{raw: "file:///srv/git/repo.git", url: "file:///srv/git/repo.git", name: "srv/git/repo", kind: transportLocal},
		{raw: "/srv/git/repo.git", url: "/srv/git/repo.git", name: "srv/git/repo", kind: transportLocal},
		{raw: "", isErr: true},
		{raw: "-oProxyCommand=x:y", isErr: true},
		{raw: "ext::sh -c x", isErr: true},
		{raw: "ftp://host/repo.git", isErr: true},
		{raw: "https://host/repo\n.git", isErr: true},
		{raw: "relative/repo", isErr: true},
		{raw: "-host:repo", isErr: true},
		{raw: "https:///nohost", isErr: true},
	} {
		r, err := parseRemote(tc.raw)
		if tc.isErr {
			if err == nil {
				t.Errorf("parseRemote(%q) = %+v, want an error", tc.raw, r)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseRemote(%q): %v", tc.raw, err)
			continue
		}
		want := remote{url: tc.url, kind: tc.kind, user: tc.user, password: tc.password, hasUserinfo: tc.hasUserinfo}
		if r != want {
			t.Errorf("parseRemote(%q) = %+v, want %+v", tc.raw, r, want)
		}
		if got := repositoryName(r); got != tc.name {
			t.Errorf("repositoryName(%q) = %q, want %q", tc.raw, got, tc.name)
		}
	}
}

func TestParseRemoteErrorsHideUserinfo(t *testing.T) {
	for _, raw := range []string{"ftp://u:hunter2@host/x", "https://u:hun/ter2@host/x\n", "https://u:hunter2@[::1/x"} {
		_, err := parseRemote(raw)
		if err == nil {
			t.Errorf("parseRemote(%q): no error", raw)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "hun/ter2") {
			t.Errorf("parseRemote(%q): %v shows the password", raw, err)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		stderr string
		kind   error
	}{
		{"fatal: couldn't find remote ref refs/heads/x\n", ErrBranchNotFound},
		{"fatal: repository 'https://host/x.git/' not found\n", ErrRepositoryNotFound},
		{"ERROR: Repository not found.\nfatal: Could not read from remote repository.\n", ErrRepositoryNotFound},
		{"fatal: '/srv/x' does not appear to be a git repository\n", ErrRepositoryNotFound},
		{"git@github.com: Permission denied (publickey).\nfatal: Could not read from remote repository.\n", ErrAuthentication},
		{"fatal: could not read Username for 'https://host': terminal prompts disabled\n", ErrAuthentication},
		{"remote: Invalid username or password.\nfatal: Authentication failed for 'https://host/x.git/'\n", ErrAuthentication},
		{"fatal: unable to access 'https://host/x.git/': The requested URL returned error: 403\n", ErrAuthentication},
		{"fatal: unable to access 'https://nohost/x.git/': Could not resolve host: nohost\n", ErrNetwork},
		{"ssh: connect to host h port 22: Connection refused\nfatal: Could not read from remote repository.\n", ErrNetwork},
		{"error: RPC failed; curl 18 transfer closed\nfatal: early EOF\n", ErrNetwork},
	} {
		err := classify(tc.stderr, "R", "main", "")
		if !errors.Is(err, tc.kind) {
			t.Errorf("classify(%q) = %v, want %v", tc.stderr, err, tc.kind)
		}
	}
	err := classify("warning: odd\nfatal: something new\n", "R", "main", "")
	if err.Error() != "fetching from repository R failed: something new" {
		t.Errorf("unknown failure: %v", err)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:p@host/x":    "https://host/x",
		"https://u:p/q@host/x":  "https://host/x",
		"https://host/x?a=b@c":  "https://host/x?a=b@c",
		"git@host:org/repo.git": "git@host:org/repo.git",
		// An '@' in a path is taken for userinfo: too much goes, never too little.
		"https://host/org/r@v1": "https://v1",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidRefName(t *testing.T) {
	for ref, want := range map[string]bool{
		"refs/heads/main": true, "refs/heads/feature/x-1": true, "refs/heads/v1.2": true,
		"refs/heads/a..b": false, "refs/heads/a b": false, "refs/heads/a~1": false, "refs/heads/x.lock": false,
		"refs/heads/.hidden": false, "refs/heads/a/": false, "refs/heads/a@{1}": false, "refs/heads/a:b": false,
	} {
		if got := validRefName(ref); got != want {
			t.Errorf("validRefName(%q) = %v, want %v", ref, got, want)
		}
	}
}

func TestRedactorAndSink(t *testing.T) {
	r := &redactor{}
	r.add("s3cret-token")
	var log stringsBuilder
	s := &stderrSink{log: &log, redact: r.redact}
	// The secret arrives split across writes; it is still caught.
	for _, part := range []string{"remote: bad s3cr", "et-token here\nnext", " line"} {
		if _, err := s.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	s.flush()
	if want := "remote: bad *** here\nnext line\n"; log.s != want || s.text() != want {
		t.Errorf("log %q, text %q; want %q", log.s, s.text(), want)
	}
}

type stringsBuilder struct{ s string }

func (b *stringsBuilder) Write(p []byte) (int, error) { b.s += string(p); return len(p), nil }
