package gitsource

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/sluice-ci/sluice/internal/lazyregexp"
)

// transport is how git reaches a repository, which decides what credentials
// it can use.
type transport int

const (
	transportLocal transport = iota // a path or a file:// URL
	transportHTTP                   // http:// or https://
	transportSSH                    // ssh:// or scp-like user@host:path
	transportGit                    // git://, unauthenticated
)

// remote is a repository location made safe to show: it carries no password,
// and for http(s) no user name either, so it can be given to git on its
// command line, stored in a clone's config and written in messages.
type remote struct {
	url  string
	kind transport
	// user and password come from the userinfo of an http(s) URL; they are
	// sent as credentials and never shown.
	user, password string
	hasUserinfo    bool
}

// scpLike matches git's scp-like ssh syntax, [user@]host:path, where no slash
// comes before the first colon.
var scpLike = lazyregexp.New(`^(?:([^@/:]+)@)?([^@/:]+):(.*)$`)

// parseRemote checks a GitRemote Url and splits off its credentials. Errors
// show the URL without its userinfo.
func parseRemote(raw string) (remote, error) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return remote{}, errors.New("configuration Url is required")
	case strings.HasPrefix(raw, "-"):
		return remote{}, fmt.Errorf("configuration Url %q: a URL cannot start with '-'", redactURL(raw))
	case strings.ContainsFunc(raw, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return remote{}, fmt.Errorf("configuration Url %q: contains control characters", redactURL(raw))
	}
	if strings.Contains(raw, "::") && !strings.Contains(raw, "://") {
		// git's <transport>::<address> runs a remote helper (ext:: runs a
		// command); none of those is a git URL.
		return remote{}, fmt.Errorf("configuration Url %q: remote helper syntax is not supported; want an https, http, ssh, git or file URL", redactURL(raw))
	}
	if scheme, _, ok := strings.Cut(raw, "://"); ok && !strings.ContainsAny(scheme, "/@") {
		u, err := url.Parse(raw)
		if err != nil {
			return remote{}, fmt.Errorf("configuration Url %q: not a valid URL", redactURL(raw))
		}
		if u.Host == "" && strings.ToLower(u.Scheme) != "file" {
			return remote{}, fmt.Errorf("configuration Url %q: no host", redactURL(raw))
		}
		r := remote{}
		switch strings.ToLower(u.Scheme) {
		case "http", "https":
			r.kind = transportHTTP
			if u.User != nil {
				r.hasUserinfo = true
				r.user = u.User.Username()
				r.password, _ = u.User.Password()
				u.User = nil
			}
		case "ssh", "git+ssh", "ssh+git":
			r.kind = transportSSH
			if u.User != nil {
				// ssh takes no password in a URL; the user name is not a
				// secret and is needed to log in.
				u.User = url.User(u.User.Username())
			}
		case "git":
			r.kind = transportGit
			u.User = nil
		case "file":
			r.kind = transportLocal
			u.User = nil
		default:
			return remote{}, fmt.Errorf("configuration Url %q: unsupported scheme %q; want https, http, ssh, git or file", redactURL(raw), u.Scheme)
		}
		r.url = u.String()
		return r, nil
	}
	if strings.HasPrefix(raw, "/") {
		return remote{url: raw, kind: transportLocal}, nil
	}
	if m := scpLike.FindStringSubmatch(raw); m != nil {
		if strings.HasPrefix(m[2], "-") {
			return remote{}, fmt.Errorf("configuration Url %q: host cannot start with '-'", raw)
		}
		return remote{url: raw, kind: transportSSH}, nil
	}
	return remote{}, fmt.Errorf("configuration Url %q: want an https, http, ssh, git or file URL, user@host:path, or an absolute path", redactURL(raw))
}

// repositoryName derives the RepositoryName output variable from a safe URL:
// the path without its leading slash and ".git" suffix, so
// https://host/org/repo.git gives org/repo.
func repositoryName(r remote) string {
	var p, host string
	if u, err := url.Parse(r.url); err == nil && strings.Contains(r.url, "://") {
		p, host = u.Path, u.Hostname()
	} else if m := scpLike.FindStringSubmatch(r.url); m != nil && r.kind == transportSSH {
		p, host = m[3], m[2]
	} else {
		p = r.url
	}
	// ~user/repo (a path in user's home on an ssh server) names user/repo.
	p = strings.TrimPrefix(strings.TrimPrefix(path.Clean("/"+p), "/"), "~")
	p = strings.Trim(strings.TrimSuffix(p, ".git"), "/")
	if p == "" {
		return host
	}
	return p
}

// redactURL removes the userinfo of anything that looks like a URL, for
// messages about input that could not be parsed. It errs on the side of
// removing too much: everything up to the last '@' before any query goes.
func redactURL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	end := len(rest)
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		end = i
	}
	if i := strings.LastIndex(rest[:end], "@"); i >= 0 {
		rest = rest[i+1:]
	}
	return scheme + "://" + rest
}

// origin returns the scheme, host and port of an http(s) URL, with a slash,
// which git's http.<url>.* configuration matches against every path there.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Scheme + "://" + u.Host + "/"
}
