package githost

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Pull-request actions, as CodePipeline's pull-request triggers name them.
const (
	PROpen    = "OPEN"
	PRUpdated = "UPDATED"
	PRClosed  = "CLOSED"
)

// Event is one webhook delivery as sluice reads it: a push (one or more
// references updated), a pull request's change, or something else (a ping,
// an issue comment), which starts nothing.
type Event struct {
	Host Host
	// Name is the host's name for the event, as sent (push, Push Hook,
	// repo:push, pull_request, Merge Request Hook, pullrequest:created…).
	Name string
	// DeliveryID is the host's id of this delivery, so that a redelivery
	// starts nothing new; "" when the host sends none.
	DeliveryID string
	// Repository is the repository's full name: owner/name, or GitLab's
	// group/subgroup/name path, or Bitbucket's workspace/slug.
	Repository string
	// Pushes are the references a push updated; Bitbucket sends several
	// in one delivery, the others one.
	Pushes []Push
	// PullRequest is set for a pull request's (merge request's) change.
	PullRequest *PullRequest
}

// Push is one reference a push updated.
type Push struct {
	// Ref is the full reference (refs/heads/main); Branch or Tag is its
	// short name.
	Ref, Branch, Tag string
	// Before and After are the commits before and after; all zeros (or
	// empty, on Bitbucket) when the reference was created or deleted.
	Before, After string
	// Deleted is set when the push deleted the reference: it starts
	// nothing.
	Deleted bool
	Pusher  string
	Commits []Commit
	// ChangedFiles are the paths the pushed commits added, modified or
	// removed, each once. Hosts cap what they describe (GitHub sends at
	// most 20 commits); Bitbucket sends no file lists, so it is nil there
	// and ChangedFilesKnown is false.
	ChangedFiles      []string
	ChangedFilesKnown bool
}

// Commit is a commit a push describes.
type Commit struct {
	ID, Message, Author, AuthorEmail, Timestamp string
	Added, Modified, Removed                    []string
}

// PullRequest is a pull request's (GitLab: merge request's) change.
type PullRequest struct {
	Number int
	// Action is OPEN, UPDATED or CLOSED, or "" for a change CodePipeline's
	// triggers do not see (a label, an edited title, a review); HostAction
	// is the host's own word for it.
	Action, HostAction string
	SourceBranch       string
	DestinationBranch  string
	// HeadCommit is the source branch's head; BaseCommit the destination
	// branch's commit the pull request compares with ("" where the host
	// does not say: GitLab). Bitbucket gives both abbreviated to 12
	// characters.
	HeadCommit, BaseCommit string
	Title, URL             string
	Merged                 bool
	// HeadRepository is the full name of the repository the head is in
	// when it is not the pull request's own: a fork's ("" otherwise, and
	// where the host does not say).
	HeadRepository string
	// HeadRef is the reference in the pull request's own repository that
	// holds its head, fork or not: refs/pull/N/head on GitHub and Gitea,
	// refs/merge-requests/N/head on GitLab; "" on Bitbucket, which keeps
	// none.
	HeadRef string
	// ChangedFiles are the files the pull request changes where the
	// delivery lists them; no host's pull-request delivery does, so file
	// path filters need the host's API (or the repository).
	ChangedFiles []string
}

// IsPush reports whether e is a push.
func (e *Event) IsPush() bool { return len(e.Pushes) > 0 }

// Parse reads a delivery of host h. A delivery that is neither a push nor a
// pull request parses to an Event with only Host, Name, DeliveryID and,
// where the body gives it, Repository. A body that is not the host's JSON
// gives an error wrapping ErrBadRequest.
func Parse(h Host, hdr http.Header, body []byte) (*Event, error) {
	e := &Event{Host: h}
	switch h {
	case GitHub:
		e.Name, e.DeliveryID = hdr.Get("X-GitHub-Event"), hdr.Get("X-GitHub-Delivery")
	case Gitea:
		e.Name, e.DeliveryID = hdr.Get("X-Gitea-Event"), hdr.Get("X-Gitea-Delivery")
		if e.Name == "" {
			e.Name = hdr.Get("X-GitHub-Event")
		}
	case GitLab:
		e.Name, e.DeliveryID = hdr.Get("X-Gitlab-Event"), hdr.Get("X-Gitlab-Event-UUID")
	case Bitbucket:
		e.Name, e.DeliveryID = hdr.Get("X-Event-Key"), hdr.Get("X-Request-UUID")
	default:
		return nil, fmt.Errorf("%w: unknown git host %q", ErrBadRequest, h)
	}
	if e.Name == "" {
		return nil, fmt.Errorf("%w: no event header: is this a %s webhook delivery?", ErrBadRequest, h)
	}
	var err error
	switch h {
	case GitHub, Gitea:
		err = parseGitHub(e, body)
	case GitLab:
		err = parseGitLab(e, body)
	case Bitbucket:
		err = parseBitbucket(e, body)
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}

func decode(h Host, body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: a %s delivery must be a JSON object: %v", ErrBadRequest, h, err)
	}
	return nil
}

// newPush fills a push's names from its ref.
func newPush(ref, before, after string, deleted bool) Push {
	p := Push{Ref: ref, Before: before, After: after}
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		p.Branch = b
	} else if t, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		p.Tag = t
	}
	p.Deleted = deleted || isZeroID(after)
	return p
}

// isZeroID reports whether id is git's null object id (40 or 64 zeros).
func isZeroID(id string) bool {
	return (len(id) == 40 || len(id) == 64) && strings.Trim(id, "0") == ""
}

// collectFiles fills ChangedFiles from the commits' lists.
func (p *Push) collectFiles() {
	seen := map[string]bool{}
	p.ChangedFilesKnown = true
	for _, c := range p.Commits {
		for _, list := range [][]string{c.Added, c.Modified, c.Removed} {
			for _, f := range list {
				if f != "" && !seen[f] {
					seen[f] = true
					p.ChangedFiles = append(p.ChangedFiles, f)
				}
			}
		}
	}
}

// GitHub and Gitea share the shape of their push and pull_request payloads.

type ghCommit struct {
	ID        string `json:"id"`
	Message   string `json:"message"`
	Timestamp string `json:"timestamp"`
	Author    struct {
		Name     string `json:"name"`
		Email    string `json:"email"`
		Username string `json:"username"`
	} `json:"author"`
	Added    []string `json:"added"`
	Modified []string `json:"modified"`
	Removed  []string `json:"removed"`
}

type ghRepo struct {
	FullName string `json:"full_name"`
}

type ghRef struct {
	Ref  string  `json:"ref"`
	SHA  string  `json:"sha"`
	Repo *ghRepo `json:"repo"`
}

type ghPayload struct {
	Ref     string     `json:"ref"`
	Before  string     `json:"before"`
	After   string     `json:"after"`
	Deleted bool       `json:"deleted"`
	Commits []ghCommit `json:"commits"`
	Pusher  struct {
		Name  string `json:"name"`
		Login string `json:"login"`
	} `json:"pusher"`
	Sender struct {
		Login string `json:"login"`
	} `json:"sender"`
	Repository  ghRepo `json:"repository"`
	Action      string `json:"action"`
	Number      int    `json:"number"`
	PullRequest *struct {
		Number  int    `json:"number"`
		Title   string `json:"title"`
		HTMLURL string `json:"html_url"`
		Merged  bool   `json:"merged"`
		Head    ghRef  `json:"head"`
		Base    ghRef  `json:"base"`
	} `json:"pull_request"`
}

func parseGitHub(e *Event, body []byte) error {
	var p ghPayload
	if err := decode(e.Host, body, &p); err != nil {
		return err
	}
	e.Repository = p.Repository.FullName
	switch e.Name {
	case "push":
		if p.Ref == "" {
			return fmt.Errorf("%w: a push delivery without a ref", ErrBadRequest)
		}
		push := newPush(p.Ref, p.Before, p.After, p.Deleted)
		push.Pusher = first(p.Pusher.Login, p.Pusher.Name, p.Sender.Login)
		for _, c := range p.Commits {
			push.Commits = append(push.Commits, Commit{ID: c.ID, Message: c.Message, Timestamp: c.Timestamp,
				Author: first(c.Author.Name, c.Author.Username), AuthorEmail: c.Author.Email,
				Added: c.Added, Modified: c.Modified, Removed: c.Removed})
		}
		push.collectFiles()
		e.Pushes = []Push{push}
	case "pull_request":
		pr := p.PullRequest
		if pr == nil {
			return fmt.Errorf("%w: a pull_request delivery without pull_request", ErrBadRequest)
		}
		out := &PullRequest{Number: first(pr.Number, p.Number), HostAction: p.Action,
			SourceBranch: pr.Head.Ref, DestinationBranch: pr.Base.Ref, HeadCommit: pr.Head.SHA, BaseCommit: pr.Base.SHA,
			Title: pr.Title, URL: pr.HTMLURL, Merged: pr.Merged}
		out.HeadRef = fmt.Sprintf("refs/pull/%d/head", out.Number)
		if pr.Head.Repo != nil && pr.Base.Repo != nil && !strings.EqualFold(pr.Head.Repo.FullName, pr.Base.Repo.FullName) {
			out.HeadRepository = pr.Head.Repo.FullName
		}
		switch p.Action {
		case "opened", "reopened":
			out.Action = PROpen
		case "synchronize", "synchronized": // GitHub says synchronize, Gitea synchronized
			out.Action = PRUpdated
		case "closed":
			out.Action = PRClosed
		}
		e.PullRequest = out
	}
	return nil
}

// GitLab: Push Hook, Tag Push Hook, Merge Request Hook (also as System Hook
// with object_kind).

type glPayload struct {
	ObjectKind string `json:"object_kind"`
	Ref        string `json:"ref"`
	Before     string `json:"before"`
	After      string `json:"after"`
	UserName   string `json:"user_name"`
	UserLogin  string `json:"user_username"`
	Project    struct {
		PathWithNamespace string `json:"path_with_namespace"`
	} `json:"project"`
	Commits []struct {
		ID        string `json:"id"`
		Message   string `json:"message"`
		Timestamp string `json:"timestamp"`
		Author    struct {
			Name  string `json:"name"`
			Email string `json:"email"`
		} `json:"author"`
		Added    []string `json:"added"`
		Modified []string `json:"modified"`
		Removed  []string `json:"removed"`
	} `json:"commits"`
	User struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectAttributes *struct {
		IID          int    `json:"iid"`
		Title        string `json:"title"`
		URL          string `json:"url"`
		Action       string `json:"action"`
		State        string `json:"state"`
		SourceBranch string `json:"source_branch"`
		TargetBranch string `json:"target_branch"`
		OldRev       string `json:"oldrev"`
		// A fork's merge request comes from another project.
		SourceProjectID int `json:"source_project_id"`
		TargetProjectID int `json:"target_project_id"`
		Source          struct {
			PathWithNamespace string `json:"path_with_namespace"`
		} `json:"source"`
		LastCommit struct {
			ID string `json:"id"`
		} `json:"last_commit"`
	} `json:"object_attributes"`
}

func parseGitLab(e *Event, body []byte) error {
	var p glPayload
	if err := decode(e.Host, body, &p); err != nil {
		return err
	}
	e.Repository = p.Project.PathWithNamespace
	kind := p.ObjectKind
	switch e.Name {
	case "Push Hook":
		kind = "push"
	case "Tag Push Hook":
		kind = "tag_push"
	case "Merge Request Hook":
		kind = "merge_request"
	case "System Hook":
	default:
		return nil
	}
	switch kind {
	case "push", "tag_push":
		if p.Ref == "" {
			return fmt.Errorf("%w: a push delivery without a ref", ErrBadRequest)
		}
		push := newPush(p.Ref, p.Before, p.After, false)
		push.Pusher = first(p.UserLogin, p.UserName)
		for _, c := range p.Commits {
			push.Commits = append(push.Commits, Commit{ID: c.ID, Message: c.Message, Timestamp: c.Timestamp,
				Author: c.Author.Name, AuthorEmail: c.Author.Email, Added: c.Added, Modified: c.Modified, Removed: c.Removed})
		}
		push.collectFiles()
		e.Pushes = []Push{push}
	case "merge_request":
		a := p.ObjectAttributes
		if a == nil {
			return fmt.Errorf("%w: a merge request delivery without object_attributes", ErrBadRequest)
		}
		pr := &PullRequest{Number: a.IID, HostAction: a.Action, SourceBranch: a.SourceBranch, DestinationBranch: a.TargetBranch,
			HeadCommit: a.LastCommit.ID, Title: a.Title, URL: a.URL, Merged: a.Action == "merge" || a.State == "merged",
			HeadRef: fmt.Sprintf("refs/merge-requests/%d/head", a.IID)}
		if a.SourceProjectID != 0 && a.TargetProjectID != 0 && a.SourceProjectID != a.TargetProjectID {
			pr.HeadRepository = first(a.Source.PathWithNamespace, fmt.Sprintf("project %d", a.SourceProjectID))
		}
		switch a.Action {
		case "open", "reopen":
			pr.Action = PROpen
		case "update":
			// GitLab sends update for a new title or label too; only
			// an update with oldrev moved the head.
			if a.OldRev != "" {
				pr.Action = PRUpdated
			}
		case "close", "merge":
			pr.Action = PRClosed
		}
		e.PullRequest = pr
	}
	return nil
}

// Bitbucket Cloud: repo:push and pullrequest:*.

type bbRefState struct {
	Type   string `json:"type"` // branch, tag
	Name   string `json:"name"`
	Target struct {
		Hash string `json:"hash"`
	} `json:"target"`
}

type bbEndpoint struct {
	Branch struct {
		Name string `json:"name"`
	} `json:"branch"`
	Repository struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	Commit struct {
		Hash string `json:"hash"`
	} `json:"commit"`
}

type bbPayload struct {
	Actor struct {
		Nickname    string `json:"nickname"`
		DisplayName string `json:"display_name"`
	} `json:"actor"`
	Repository struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	Push *struct {
		Changes []struct {
			New     *bbRefState `json:"new"`
			Old     *bbRefState `json:"old"`
			Closed  bool        `json:"closed"`
			Commits []struct {
				Hash    string `json:"hash"`
				Message string `json:"message"`
				Date    string `json:"date"`
				Author  struct {
					Raw  string `json:"raw"`
					User struct {
						DisplayName string `json:"display_name"`
					} `json:"user"`
				} `json:"author"`
			} `json:"commits"`
		} `json:"changes"`
	} `json:"push"`
	PullRequest *struct {
		ID          int        `json:"id"`
		Title       string     `json:"title"`
		State       string     `json:"state"`
		Source      bbEndpoint `json:"source"`
		Destination bbEndpoint `json:"destination"`
		Links       struct {
			HTML struct {
				Href string `json:"href"`
			} `json:"html"`
		} `json:"links"`
	} `json:"pullrequest"`
}

func parseBitbucket(e *Event, body []byte) error {
	var p bbPayload
	if err := decode(e.Host, body, &p); err != nil {
		return err
	}
	e.Repository = p.Repository.FullName
	switch {
	case e.Name == "repo:push":
		if p.Push == nil {
			return fmt.Errorf("%w: a repo:push delivery without push", ErrBadRequest)
		}
		for _, c := range p.Push.Changes {
			ref := c.New
			if ref == nil {
				ref = c.Old // a deletion names the reference in old only
			}
			if ref == nil {
				continue
			}
			full := "refs/heads/" + ref.Name
			if ref.Type == "tag" {
				full = "refs/tags/" + ref.Name
			}
			before, after := "", ""
			if c.Old != nil {
				before = c.Old.Target.Hash
			}
			if c.New != nil {
				after = c.New.Target.Hash
			}
			push := newPush(full, before, after, c.Closed || c.New == nil)
			push.Pusher = first(p.Actor.Nickname, p.Actor.DisplayName)
			// Bitbucket lists commits newest first; sluice keeps the
			// hosts' common order, oldest first.
			for i := len(c.Commits) - 1; i >= 0; i-- {
				cm := c.Commits[i]
				push.Commits = append(push.Commits, Commit{ID: cm.Hash, Message: cm.Message, Timestamp: cm.Date,
					Author: first(cm.Author.User.DisplayName, cm.Author.Raw)})
			}
			e.Pushes = append(e.Pushes, push)
		}
	case strings.HasPrefix(e.Name, "pullrequest:"):
		pr := p.PullRequest
		if pr == nil {
			return fmt.Errorf("%w: a %s delivery without pullrequest", ErrBadRequest, e.Name)
		}
		out := &PullRequest{Number: pr.ID, HostAction: strings.TrimPrefix(e.Name, "pullrequest:"),
			SourceBranch: pr.Source.Branch.Name, DestinationBranch: pr.Destination.Branch.Name,
			HeadCommit: pr.Source.Commit.Hash, BaseCommit: pr.Destination.Commit.Hash,
			Title: pr.Title, URL: pr.Links.HTML.Href, Merged: e.Name == "pullrequest:fulfilled"}
		if src, dst := pr.Source.Repository.FullName, pr.Destination.Repository.FullName; src != "" && dst != "" && !strings.EqualFold(src, dst) {
			out.HeadRepository = src
		}
		switch e.Name {
		case "pullrequest:created":
			out.Action = PROpen
		case "pullrequest:updated":
			out.Action = PRUpdated
		case "pullrequest:fulfilled", "pullrequest:rejected":
			out.Action = PRClosed
		}
		e.PullRequest = out
	}
	return nil
}

func first[T comparable](vs ...T) T {
	var zero T
	for _, v := range vs {
		if v != zero {
			return v
		}
	}
	return zero
}
