package githost

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// State is a commit status's state in sluice's words; each host has its own
// (see Status.hostState).
type State string

// States, in the order an execution passes them.
const (
	StatePending State = "pending" // started, waiting to run
	StateRunning State = "running"
	StateSuccess State = "success"
	StateFailure State = "failure" // the pipeline failed
	StateError   State = "error"   // sluice could not run it
	StateStopped State = "stopped" // stopped or superseded
)

// Status is a commit status to set.
type Status struct {
	State State
	// Context names what reports (sluice/PIPELINE): a host keeps one
	// status per context and commit, the latest.
	Context     string
	Description string
	// TargetURL is where the status links: the execution's console page.
	TargetURL string
}

// maxDescription is GitHub's limit on a status's description; the others
// take at least as much.
const maxDescription = 140

// Client sets commit statuses on one host.
type Client struct {
	Host Host
	// BaseURL is the host's web address (https://github.com,
	// https://git.example.com); the API's address is derived from it.
	BaseURL string
	// Token is the access token: a personal, project or repository
	// access token, an installation token, or for Bitbucket an app
	// password as user:password.
	Token string
	HTTP  *http.Client
}

// APIError is a host's answer other than 2xx. Status 4xx other than 408 and
// 429 is permanent: retrying sends the same request to the same refusal.
type APIError struct {
	StatusCode int
	Message    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.StatusCode, e.Message)
}

// Permanent reports whether retrying cannot help.
func (e *APIError) Permanent() bool {
	return e.StatusCode >= 400 && e.StatusCode < 500 && e.StatusCode != 408 && e.StatusCode != 429
}

// IsPermanent reports whether err is a host's refusal that retrying cannot
// help.
func IsPermanent(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Permanent()
}

// apiBase is the REST API's root for the client's host.
func (c *Client) apiBase() string {
	base := strings.TrimRight(c.BaseURL, "/")
	switch c.Host {
	case GitHub:
		if base == "https://github.com" {
			return "https://api.github.com"
		}
		return base + "/api/v3" // GitHub Enterprise Server
	case GitLab:
		return base + "/api/v4"
	case Bitbucket:
		if base == "https://bitbucket.org" {
			return "https://api.bitbucket.org/2.0"
		}
		return base + "/2.0"
	case Gitea:
		return base + "/api/v1"
	}
	return base
}

// StatusRequest builds the request SetStatus sends, for the hosts'
// documented endpoints:
//
//   - GitHub: POST /repos/{owner}/{repo}/statuses/{sha} {state, target_url,
//     description, context}, state pending/success/failure/error.
//   - GitLab: POST /projects/{url-encoded path}/statuses/{sha} {state,
//     target_url, description, name}, state pending/running/success/failed/
//     canceled.
//   - Bitbucket: POST /repositories/{workspace}/{slug}/commit/{sha}/statuses/build
//     {state, key, name, url, description}, state INPROGRESS/SUCCESSFUL/
//     FAILED/STOPPED.
//   - Gitea: POST /repos/{owner}/{repo}/statuses/{sha} {state, target_url,
//     description, context}, state pending/success/failure/error.
func (c *Client) StatusRequest(ctx context.Context, repo, sha string, s Status) (*http.Request, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" {
		return nil, fmt.Errorf("repository %q is not OWNER/NAME", repo)
	}
	if !isHex(sha) {
		return nil, fmt.Errorf("%q is not a commit id", sha)
	}
	desc := s.Description
	if utf8.RuneCountInString(desc) > maxDescription {
		desc = string([]rune(desc)[:maxDescription-1]) + "…"
	}
	state := hostState(c.Host, s.State)
	var path string
	var body map[string]string
	switch c.Host {
	case GitHub, Gitea:
		path = "/repos/" + url.PathEscape(owner) + "/" + url.PathEscape(name) + "/statuses/" + sha
		body = map[string]string{"state": state, "target_url": s.TargetURL, "description": desc, "context": s.Context}
	case GitLab:
		path = "/projects/" + url.PathEscape(repo) + "/statuses/" + sha
		body = map[string]string{"state": state, "target_url": s.TargetURL, "description": desc, "name": s.Context}
	case Bitbucket:
		path = "/repositories/" + url.PathEscape(owner) + "/" + url.PathEscape(name) + "/commit/" + sha + "/statuses/build"
		// key identifies the status (40 characters at most), name is
		// what the page shows.
		key := s.Context
		if len(key) > 40 {
			key = key[:40]
		}
		body = map[string]string{"state": state, "key": key, "name": s.Context, "url": s.TargetURL, "description": desc}
	default:
		return nil, fmt.Errorf("unknown git host %q", c.Host)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	u := c.apiBase() + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	c.authorize(req)
	return req, nil
}

// authorize sets the headers each host's API authenticates with.
func (c *Client) authorize(req *http.Request) {
	req.Header.Set("User-Agent", "sluice")
	switch c.Host {
	case GitHub:
		req.Header.Set("Accept", "application/vnd.github+json")
		req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
		req.Header.Set("Authorization", "Bearer "+c.Token)
	case GitLab:
		req.Header.Set("PRIVATE-TOKEN", c.Token)
	case Bitbucket:
		if user, pass, ok := strings.Cut(c.Token, ":"); ok {
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
		} else {
			req.Header.Set("Authorization", "Bearer "+c.Token)
		}
	case Gitea:
		req.Header.Set("Authorization", "token "+c.Token)
	}
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// SetStatus sets a commit status on sha of repository repo (full name).
// The error never holds the token; an *APIError says what the host
// answered.
func (c *Client) SetStatus(ctx context.Context, repo, sha string, s Status) error {
	req, err := c.StatusRequest(ctx, repo, sha, s)
	if err != nil {
		return err
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), unwrapURL(err))
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	if resp.StatusCode/100 != 2 {
		return &APIError{StatusCode: resp.StatusCode, Message: apiMessage(msg)}
	}
	return nil
}

// apiMessage is the message of a host's JSON error, or its body's start.
func apiMessage(body []byte) string {
	var m struct {
		Message string `json:"message"`
		Error   any    `json:"error"`
	}
	if json.Unmarshal(body, &m) == nil {
		if m.Message != "" {
			return m.Message
		}
		if m.Error != nil {
			b, _ := json.Marshal(m.Error)
			return string(b)
		}
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// hostState is s in h's words.
func hostState(h Host, s State) string {
	switch h {
	case GitLab:
		return map[State]string{StatePending: "pending", StateRunning: "running", StateSuccess: "success",
			StateFailure: "failed", StateError: "failed", StateStopped: "canceled"}[s]
	case Bitbucket:
		return map[State]string{StatePending: "INPROGRESS", StateRunning: "INPROGRESS", StateSuccess: "SUCCESSFUL",
			StateFailure: "FAILED", StateError: "FAILED", StateStopped: "STOPPED"}[s]
	}
	// GitHub and Gitea have no running or stopped: a running execution is
	// still pending, a stopped one ended without a verdict (error).
	return map[State]string{StatePending: "pending", StateRunning: "pending", StateSuccess: "success",
		StateFailure: "failure", StateError: "error", StateStopped: "error"}[s]
}

func isHex(s string) bool {
	if len(s) < 7 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
