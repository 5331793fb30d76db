package ui

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluice-ci/sluice/internal/gitserver"
	"github.com/sluice-ci/sluice/internal/service"
)

// Pull requests: a repository's list, and a page per pull request with its
// description, approval rules, approvals, the pipelines it started, its
// commits, its diff and its comments, and the controls the viewer may use
// (comment, approve or revoke, merge by each strategy, close).

const (
	actListPullRequests     = "ListPullRequests"
	actGetPullRequest       = "GetPullRequest"
	actGetDifferences       = "GetDifferences"
	actPostComment          = "PostCommentForPullRequest"
	actApprovalState        = "UpdatePullRequestApprovalState"
	actUpdatePullStatus     = "UpdatePullRequestStatus"
	actMergeByFastForward   = "MergePullRequestByFastForward"
	actMergeBySquash        = "MergePullRequestBySquash"
	actMergeByThreeWay      = "MergePullRequestByThreeWay"
	actOverrideApprovalRule = "OverridePullRequestApprovalRules"
)

// PullGit is what the pull request page reads of a repository besides the
// pull request: its commits and diff (gitserver.Server).
type PullGit interface {
	CommitsBetween(ctx context.Context, repo, base, head string, max int) ([]gitserver.CommitInfo, error)
	Diff(ctx context.Context, repo, base, head string) (string, bool, error)
}

func repoResource(r *http.Request) string { return "repository/" + r.PathValue("name") }

type pullListPage struct {
	Repository string
	Status     string
	Pulls      []service.PullRequest
	CanCreate  bool
}

func (pullListPage) navKey() string { return "repos" }

func (s *Server) pullListPage(w http.ResponseWriter, r *http.Request, c *call) error {
	repo := r.PathValue("name")
	status := strings.ToUpper(r.URL.Query().Get("status"))
	if status == "" {
		status = service.PullRequestOpen
	}
	if status == "ALL" {
		status = ""
	}
	list, err := s.svc.PullRequests(r.Context(), service.PullRequestFilter{Repository: repo, Status: status})
	if err != nil {
		return err
	}
	page := pullListPage{Repository: repo, Status: status, Pulls: list}
	s.render(w, r, c, "pulls", "Pull requests of "+repo, page)
	return nil
}

// diffLine is one line of a diff, with how to draw it.
type diffLine struct {
	Class, Text string
}

type pullPage struct {
	PR         service.PullRequest
	Approved   []string
	Commits    []gitserver.CommitInfo
	Diff       []diffLine
	DiffCut    bool
	Pipelines  []service.PullExecution
	CanDiff    bool
	CanComment bool
	CanApprove bool
	CanClose   bool
	CanMerge   map[string]bool // fast-forward, squash, three-way
	CanOverr   bool
	Mergeable  bool // rules satisfied or overridden
	ApprovedBy bool // the viewer's approval is of the current revision
}

func (pullPage) navKey() string { return "repos" }

func (s *Server) pullPage(w http.ResponseWriter, r *http.Request, c *call) error {
	repo := r.PathValue("name")
	id, err := service.ParsePullRequestID(r.PathValue("id"))
	if err != nil {
		return err
	}
	pr, err := s.svc.PullRequest(r.Context(), repo, id)
	if err != nil {
		return err
	}
	res := "repository/" + repo
	open := pr.Status == service.PullRequestOpen
	page := pullPage{PR: pr, Approved: pr.CurrentApprovals(),
		CanDiff: c.perm.Can(actGetDifferences, res), CanComment: open && c.perm.Can(actPostComment, res),
		CanApprove: open && c.perm.Can(actApprovalState, res), CanClose: open && c.perm.Can(actUpdatePullStatus, res),
		CanOverr: open && c.perm.Can(actOverrideApprovalRule, res),
		CanMerge: map[string]bool{
			"fast-forward": open && c.perm.Can(actMergeByFastForward, res),
			"squash":       open && c.perm.Can(actMergeBySquash, res),
			"three-way":    open && c.perm.Can(actMergeByThreeWay, res),
		},
		Mergeable: pr.Override != nil,
	}
	if pr.Override == nil {
		page.Mergeable = true
		for _, rule := range pr.Rules {
			page.Mergeable = page.Mergeable && rule.Satisfied
		}
	}
	for _, a := range page.Approved {
		if a == c.who.Name {
			page.ApprovedBy = true
		}
	}
	for _, e := range s.svc.PullRequestExecutions(r.Context(), pr) {
		if c.perm.On(actGetPipelineExecution, e.Pipeline) {
			page.Pipelines = append(page.Pipelines, e)
		}
	}
	if g, ok := s.repos.(PullGit); ok {
		page.Commits, _ = g.CommitsBetween(r.Context(), repo, pr.MergeBase, pr.SourceCommit, 250)
		if page.CanDiff {
			from := pr.DestinationCommit
			if !open {
				from = pr.MergeBase
			}
			diff, cut, err := g.Diff(r.Context(), repo, from, pr.SourceCommit)
			if err == nil {
				page.Diff, page.DiffCut = diffLines(diff), cut
			}
		}
	}
	s.render(w, r, c, "pull", "Pull request "+strconv.FormatInt(pr.ID, 10)+": "+pr.Title, page)
	return nil
}

func diffLines(diff string) []diffLine {
	var out []diffLine
	for _, l := range strings.Split(strings.TrimSuffix(diff, "\n"), "\n") {
		cls := "ctx"
		switch {
		case strings.HasPrefix(l, "diff --git"):
			cls = "file"
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"), strings.HasPrefix(l, "index "):
			cls = "meta"
		case strings.HasPrefix(l, "@@"):
			cls = "hunk"
		case strings.HasPrefix(l, "+"):
			cls = "add"
		case strings.HasPrefix(l, "-"):
			cls = "del"
		}
		out = append(out, diffLine{Class: cls, Text: l})
	}
	return out
}

func (s *Server) pullID(r *http.Request) (string, int64, string, error) {
	repo := r.PathValue("name")
	id, err := service.ParsePullRequestID(r.PathValue("id"))
	return repo, id, Prefix + "repos/" + repo + "/pulls/" + r.PathValue("id"), err
}

func (s *Server) pullComment(w http.ResponseWriter, r *http.Request, c *call) error {
	repo, id, back, err := s.pullID(r)
	if err != nil {
		return err
	}
	line := 0
	if v := r.PostFormValue("line"); v != "" {
		if line, err = strconv.Atoi(v); err != nil {
			return service.Errorf(service.CodeInvalid, "line: %q is not a number", v)
		}
	}
	if _, err := s.svc.CommentOnPullRequest(r.Context(), service.PullCommentRequest{Repository: repo, ID: id,
		Content: r.PostFormValue("content"), FilePath: r.PostFormValue("file"), Line: line, Principal: c.who.Name}); err != nil {
		return err
	}
	return s.changed(w, r, c, "Comment added.", back)
}

func (s *Server) pullApproval(approve bool) func(w http.ResponseWriter, r *http.Request, c *call) error {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		repo, id, back, err := s.pullID(r)
		if err != nil {
			return err
		}
		if _, err := s.svc.SetPullRequestApproval(r.Context(), repo, id, c.who.Name, approve); err != nil {
			return err
		}
		msg := "Approved."
		if !approve {
			msg = "Approval revoked."
		}
		return s.changed(w, r, c, msg, back)
	}
}

func (s *Server) pullMerge(strategy string) func(w http.ResponseWriter, r *http.Request, c *call) error {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		repo, id, back, err := s.pullID(r)
		if err != nil {
			return err
		}
		pr, err := s.svc.MergePullRequest(r.Context(), service.MergePullRequestRequest{Repository: repo, ID: id, Strategy: strategy,
			SourceCommit: r.PostFormValue("sourceCommit"), Principal: c.who.Name})
		if err != nil && pr.ID == 0 {
			return err
		}
		return s.changed(w, r, c, "Merged into "+pr.Destination+" as "+short(pr.MergeCommit)+".", back)
	}
}

func (s *Server) pullClose(w http.ResponseWriter, r *http.Request, c *call) error {
	repo, id, back, err := s.pullID(r)
	if err != nil {
		return err
	}
	if _, err := s.svc.UpdatePullRequest(r.Context(), service.PullRequestUpdate{Repository: repo, ID: id, Close: true, Principal: c.who.Name}); err != nil {
		return err
	}
	return s.changed(w, r, c, "Pull request closed.", back)
}

func (s *Server) pullRoutes() []route {
	rr := repoResource
	return []route{
		{pattern: "GET /ui/repos/{name}/pulls", action: actListPullRequests, resource: rr, handler: s.pullListPage},
		{pattern: "GET /ui/repos/{name}/pulls/{id}", action: actGetPullRequest, resource: rr, handler: s.pullPage},
		{pattern: "POST /ui/repos/{name}/pulls/{id}/comments", action: actPostComment, resource: rr, handler: s.pullComment},
		{pattern: "POST /ui/repos/{name}/pulls/{id}/approve", action: actApprovalState, resource: rr, handler: s.pullApproval(true)},
		{pattern: "POST /ui/repos/{name}/pulls/{id}/revoke", action: actApprovalState, resource: rr, handler: s.pullApproval(false)},
		{pattern: "POST /ui/repos/{name}/pulls/{id}/merge/fast-forward", action: actMergeByFastForward, resource: rr, handler: s.pullMerge(gitserver.FastForward)},
		{pattern: "POST /ui/repos/{name}/pulls/{id}/merge/squash", action: actMergeBySquash, resource: rr, handler: s.pullMerge(gitserver.Squash)},
		{pattern: "POST /ui/repos/{name}/pulls/{id}/merge/three-way", action: actMergeByThreeWay, resource: rr, handler: s.pullMerge(gitserver.ThreeWay)},
		{pattern: "POST /ui/repos/{name}/pulls/{id}/close", action: actUpdatePullStatus, resource: rr, handler: s.pullClose},
	}
}
