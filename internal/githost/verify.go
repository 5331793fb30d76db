// Package githost speaks to the git hosts sluice's connections name —
// GitHub (and GitHub Enterprise Server), GitLab (gitlab.com and
// self-managed), Bitbucket Cloud and Gitea (and Forgejo): it checks that a
// webhook delivery was signed with the connection's secret, reads push and
// pull-request deliveries into one Event, and sets commit statuses through
// each host's REST API. It imports nothing of sluice's, so the webhook
// definitions of internal/webhook can share its signature checks.
package githost

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Host is a kind of git host, as its webhooks and API speak.
type Host string

// Hosts. Enterprise and self-managed installations speak as their hosted
// siblings do; only their base URL differs.
const (
	GitHub    Host = "github"
	GitLab    Host = "gitlab"
	Bitbucket Host = "bitbucket"
	Gitea     Host = "gitea"
)

var (
	// ErrUnauthorized is wrapped by every error meaning the delivery did
	// not prove it came from the host: answer 401, start nothing.
	ErrUnauthorized = errors.New("githost: unauthorized")
	// ErrBadRequest is wrapped by every error meaning the body cannot be
	// read as the host's delivery: answer 400, start nothing.
	ErrBadRequest = errors.New("githost: bad request")
)

// SignatureHeader is the header each host signs its deliveries in.
func (h Host) SignatureHeader() string {
	switch h {
	case GitHub:
		return "X-Hub-Signature-256"
	case GitLab:
		return "X-Gitlab-Token"
	case Bitbucket:
		return "X-Hub-Signature"
	case Gitea:
		return "X-Gitea-Signature"
	}
	return ""
}

// Verify checks that a delivery of host h with headers hdr and body body was
// signed with secret:
//
//   - GitHub: X-Hub-Signature-256 is "sha256=" and the hex HMAC-SHA256 of the
//     body keyed with the secret.
//   - Bitbucket Cloud: the same in X-Hub-Signature.
//   - Gitea: X-Gitea-Signature is the bare hex HMAC-SHA256 (Gitea 1.21 and
//     later also send X-Hub-Signature-256, read when the first is absent).
//   - GitLab signs nothing: X-Gitlab-Token is the secret itself, compared in
//     constant time.
//
// Every comparison is constant-time. The error wraps ErrUnauthorized and
// never quotes the secret or the signature.
func Verify(h Host, hdr http.Header, body, secret []byte) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: no webhook secret to check against", ErrUnauthorized)
	}
	switch h {
	case GitHub, Bitbucket:
		name := h.SignatureHeader()
		sig := hdr.Get(name)
		if sig == "" {
			return fmt.Errorf("%w: no %s header (set a secret in the %s webhook's settings)", ErrUnauthorized, name, h)
		}
		hexSig, ok := strings.CutPrefix(sig, "sha256=")
		if !ok {
			return fmt.Errorf("%w: %s is not sha256=HEX", ErrUnauthorized, name)
		}
		return CheckHMAC(name, hexSig, body, secret)
	case Gitea:
		if sig := hdr.Get("X-Gitea-Signature"); sig != "" {
			return CheckHMAC("X-Gitea-Signature", sig, body, secret)
		}
		if sig := hdr.Get("X-Hub-Signature-256"); sig != "" {
			hexSig, ok := strings.CutPrefix(sig, "sha256=")
			if !ok {
				return fmt.Errorf("%w: X-Hub-Signature-256 is not sha256=HEX", ErrUnauthorized)
			}
			return CheckHMAC("X-Hub-Signature-256", hexSig, body, secret)
		}
		return fmt.Errorf("%w: no X-Gitea-Signature header (set a secret in the gitea webhook's settings)", ErrUnauthorized)
	case GitLab:
		tokens, ok := hdr["X-Gitlab-Token"]
		if !ok || len(tokens) == 0 {
			return fmt.Errorf("%w: no X-Gitlab-Token header (set a secret token in the gitlab webhook's settings)", ErrUnauthorized)
		}
		return CheckToken("X-Gitlab-Token", tokens[0], secret)
	}
	return fmt.Errorf("%w: unknown git host %q", ErrUnauthorized, h)
}

// CheckHMAC checks that hexSig, read from header, is the HMAC-SHA256 of body
// keyed with secret.
func CheckHMAC(header, hexSig string, body, secret []byte) error {
	got, err := hex.DecodeString(strings.TrimSpace(hexSig))
	if err != nil {
		return fmt.Errorf("%w: %s is not hexadecimal", ErrUnauthorized, header)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%w: %s does not match the body", ErrUnauthorized, header)
	}
	return nil
}

// CheckToken checks that token, read from header, is secret. It compares
// digests rather than the strings, so that neither the secret's length nor a
// common prefix shows in the timing.
func CheckToken(header, token string, secret []byte) error {
	got, want := sha256.Sum256([]byte(token)), sha256.Sum256(secret)
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return fmt.Errorf("%w: %s does not match", ErrUnauthorized, header)
	}
	return nil
}

// Sign returns the header a host would send for body signed with secret,
// for tests and for tools that replay deliveries.
func Sign(h Host, body, secret []byte) (header, value string) {
	if h == GitLab {
		return "X-Gitlab-Token", string(secret)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	sig := hex.EncodeToString(mac.Sum(nil))
	if h == Gitea {
		return "X-Gitea-Signature", sig
	}
	return h.SignatureHeader(), "sha256=" + sig
}
