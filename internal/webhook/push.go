package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Providers ParsePush recognises.
const (
	ProviderGitHub = "GitHub"
	ProviderGitLab = "GitLab"
	ProviderGitea  = "Gitea"
)

// PushInfo is what a webhook delivery says about a push. Fields the body does
// not give are empty: a generic JSON body gives whichever of them it has, and
// a provider's event other than a push (GitHub's ping, say) gives only
// Provider and Event.
type PushInfo struct {
	// Provider is GitHub, GitLab or Gitea, told by the request's headers,
	// or "" for a body from anything else.
	Provider string
	// Event is the provider's name for the event, as sent: "push",
	// "Push Hook", "Tag Push Hook", "ping"…
	Event string
	// Ref is the full reference pushed (refs/heads/main); Branch or Tag is
	// its short name when it is a branch or a tag.
	Ref    string
	Branch string
	Tag    string
	// Before and After are the commit ids before and after the push; one
	// of them is all zeros when the reference was created or deleted.
	Before string
	After  string
	// Deleted is true when the push deleted the reference, which starts
	// nothing.
	Deleted bool
	// Pusher is the user who pushed, as the provider names them.
	Pusher string
	// RepositoryURL is the URL to clone the repository from.
	RepositoryURL string
	// ChangedFiles are the paths the pushed commits added, modified or
	// removed, each once, in the order first seen. Providers cap the
	// commits they describe (GitHub sends at most 20), so a large push may
	// list fewer files than it changed.
	ChangedFiles []string
}

// IsPush reports whether p describes a push of a branch or tag.
func (p PushInfo) IsPush() bool { return p.Ref != "" }

// ParsePush reads a webhook delivery: GitHub (X-GitHub-Event: push), GitLab
// (X-Gitlab-Event: Push Hook or Tag Push Hook) or Gitea (X-Gitea-Event: push;
// Gitea also sends X-GitHub-Event, so it is asked about first), or any other
// JSON body, read the way GitHub's is. A body that is not JSON, or a provider's
// body that is not a JSON object, gives an error wrapping ErrBadRequest.
func ParsePush(r *http.Request, body []byte) (PushInfo, error) {
	var info PushInfo
	switch {
	case r.Header.Get("X-Gitea-Event") != "":
		info.Provider, info.Event = ProviderGitea, r.Header.Get("X-Gitea-Event")
	case r.Header.Get("X-Gitlab-Event") != "":
		info.Provider, info.Event = ProviderGitLab, r.Header.Get("X-Gitlab-Event")
	case r.Header.Get("X-GitHub-Event") != "":
		info.Provider, info.Event = ProviderGitHub, r.Header.Get("X-GitHub-Event")
	}
	payload, err := jsonPayload(body)
	if err != nil {
		return PushInfo{}, err
	}
	var doc any
	if err := json.Unmarshal(payload, &doc); err != nil {
		return PushInfo{}, fmt.Errorf("%w: body is not JSON: %v", ErrBadRequest, err)
	}
	obj, isObject := doc.(map[string]any)
	if !isObject {
		if info.Provider != "" {
			return PushInfo{}, fmt.Errorf("%w: a %s delivery must be a JSON object", ErrBadRequest, info.Provider)
		}
		return info, nil
	}
	if !info.pushEvent(obj) {
		return info, nil
	}
	v := value{obj}
	info.Ref = v.str("ref")
	info.Before = v.str("before")
	info.After = v.str("after")
	switch info.Provider {
	case ProviderGitLab:
		info.Pusher = v.first("user_username", "user_name")
		info.RepositoryURL = v.first("project.git_http_url", "repository.git_http_url", "project.web_url", "repository.homepage")
	case ProviderGitea:
		info.Pusher = v.first("pusher.login", "pusher.username", "pusher.name", "sender.login")
		info.RepositoryURL = v.first("repository.clone_url", "repository.html_url")
	case ProviderGitHub:
		info.Pusher = v.first("pusher.name", "sender.login")
		info.RepositoryURL = v.first("repository.clone_url", "repository.html_url")
	default:
		// A generic body: take GitHub's names, then GitLab's.
		info.Pusher = v.first("pusher.name", "pusher.login", "sender.login", "user_username", "user_name")
		info.RepositoryURL = v.first("repository.clone_url", "project.git_http_url",
			"repository.git_http_url", "repository.html_url", "repository.url")
	}
	if b, ok := strings.CutPrefix(info.Ref, "refs/heads/"); ok {
		info.Branch = b
	} else if t, ok := strings.CutPrefix(info.Ref, "refs/tags/"); ok {
		info.Tag = t
	}
	deleted, _ := obj["deleted"].(bool)
	info.Deleted = deleted || (info.Ref != "" && isZeroID(info.After))
	info.ChangedFiles = changedFiles(obj["commits"])
	return info, nil
}

// pushEvent reports whether the delivery is a push, by the provider's event
// header, or, for GitLab system hooks, by the body's object_kind.
func (p *PushInfo) pushEvent(obj map[string]any) bool {
	switch p.Provider {
	case ProviderGitHub, ProviderGitea:
		return p.Event == "push"
	case ProviderGitLab:
		if p.Event == "Push Hook" || p.Event == "Tag Push Hook" {
			return true
		}
		kind, _ := obj["object_kind"].(string)
		return p.Event == "System Hook" && (kind == "push" || kind == "tag_push")
	}
	return true
}

// isZeroID reports whether id is git's null object id (40 or 64 zeros).
func isZeroID(id string) bool {
	return (len(id) == 40 || len(id) == 64) && strings.Trim(id, "0") == ""
}

// changedFiles collects commits[].added, modified and removed.
func changedFiles(commits any) []string {
	list, _ := commits.([]any)
	var out []string
	seen := map[string]bool{}
	for _, c := range list {
		commit, _ := c.(map[string]any)
		for _, key := range []string{"added", "modified", "removed"} {
			files, _ := commit[key].([]any)
			for _, f := range files {
				if s, ok := f.(string); ok && s != "" && !seen[s] {
					seen[s] = true
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// value reads strings out of a decoded JSON object, forgiving of shapes it
// does not expect: a generic body is whatever its sender made it.
type value struct{ obj map[string]any }

// str returns the string at a dotted path, or "".
func (v value) str(path string) string {
	var cur any = v.obj
	for _, key := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[key]
	}
	s, _ := cur.(string)
	return s
}

// first returns the first non-empty string among paths.
func (v value) first(paths ...string) string {
	for _, p := range paths {
		if s := v.str(p); s != "" {
			return s
		}
	}
	return ""
}
