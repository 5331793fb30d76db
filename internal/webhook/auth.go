package webhook

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/sluice-ci/sluice/internal/githost"
)

var (
	// ErrUnauthorized is wrapped by every error that means the request did
	// not prove where it came from: answer 401 and start nothing.
	ErrUnauthorized = errors.New("webhook: unauthorized")
	// ErrBadRequest is wrapped by every error that means the request's body
	// cannot be read: answer 400 and start nothing.
	ErrBadRequest = errors.New("webhook: bad request")
)

// Authenticate checks that r, whose body is body, comes from whom the
// definition trusts. It returns nil, an error wrapping ErrUnauthorized, or
// (for a definition that is itself broken, which Validate prevents) another
// error, which is sluice's fault rather than the caller's.
//
//   - GITHUB_HMAC: X-Hub-Signature-256 (GitHub) is "sha256=" and the hex
//     HMAC-SHA256 of the body keyed with SecretToken; X-Gitea-Signature
//     (Gitea, Forgejo) is the same without the prefix; X-Gitlab-Token
//     (GitLab, which signs nothing) is the secret itself. The first of those
//     headers present is checked, in constant time.
//   - IP: r.RemoteAddr must be in AllowedIPRange. X-Forwarded-For is not
//     trusted: anyone can send it. Behind a proxy, the proxy's address is
//     what is checked.
//   - UNAUTHENTICATED: every request passes.
func (d *Definition) Authenticate(r *http.Request, body []byte) error {
	switch d.Authentication {
	case AuthUnauthenticated:
		return nil
	case AuthIP:
		allowed, err := parseRange(d.AuthenticationConfiguration.AllowedIPRange)
		if err != nil {
			return fmt.Errorf("webhook %q: AllowedIPRange: %v", d.Name, err)
		}
		addr, err := remoteAddr(r.RemoteAddr)
		if err != nil {
			return fmt.Errorf("%w: cannot read the client's address %q", ErrUnauthorized, r.RemoteAddr)
		}
		if !allowed.Contains(addr) {
			return fmt.Errorf("%w: client address %s is outside the allowed range %s", ErrUnauthorized, addr, allowed)
		}
		return nil
	case AuthGitHubHMAC:
		secret := d.AuthenticationConfiguration.SecretToken
		if secret == "" {
			return fmt.Errorf("webhook %q: %s without a SecretToken", d.Name, AuthGitHubHMAC)
		}
		return checkSecret(r.Header, body, []byte(secret))
	}
	return fmt.Errorf("webhook %q: unknown authentication %q", d.Name, d.Authentication)
}

func checkSecret(h http.Header, body, secret []byte) error {
	if sig := h.Get("X-Hub-Signature-256"); sig != "" {
		hexSig, ok := strings.CutPrefix(sig, "sha256=")
		if !ok {
			return fmt.Errorf("%w: X-Hub-Signature-256 is not sha256=HEX", ErrUnauthorized)
		}
		return unauthorized(githost.CheckHMAC("X-Hub-Signature-256", hexSig, body, secret))
	}
	if sig := h.Get("X-Gitea-Signature"); sig != "" {
		return unauthorized(githost.CheckHMAC("X-Gitea-Signature", sig, body, secret))
	}
	if tokens, ok := h["X-Gitlab-Token"]; ok && len(tokens) > 0 {
		return unauthorized(githost.CheckToken("X-Gitlab-Token", tokens[0], secret))
	}
	return fmt.Errorf("%w: no signature: want X-Hub-Signature-256, X-Gitea-Signature or X-Gitlab-Token", ErrUnauthorized)
}

// unauthorized restates a githost check's refusal as this package's.
func unauthorized(err error) error {
	if err == nil {
		return nil
	}
	msg := strings.TrimPrefix(err.Error(), githost.ErrUnauthorized.Error()+": ")
	return fmt.Errorf("%w: %s", ErrUnauthorized, msg)
}

// remoteAddr reads http.Request.RemoteAddr ("ip:port", or a bare address
// from some servers and tests). IPv4 clients of a dual-stack listener arrive
// as ::ffff:a.b.c.d and are compared as IPv4.
func remoteAddr(s string) (netip.Addr, error) {
	host := s
	if h, _, err := net.SplitHostPort(s); err == nil {
		host = h
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, err
	}
	return addr.Unmap().WithZone(""), nil
}
