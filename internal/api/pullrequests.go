package api

import (
	"net/http"
	"strings"

	"github.com/sluice-ci/sluice/internal/gitserver"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/wire"
)

// pullRoutes registers pull requests of hosted repositories and approval
// rule templates, with CodeCommit's operation names as their actions; a
// pull request's operations act on its repository (repository/NAME), as
// CodeCommit's act on the repository's ARN.
func (s *Server) pullRoutes(repos *gitserver.Server) {
	const base = "/api/v1/repos/{name}/pulls"
	s.handle("GET "+base, "ListPullRequests", resRepository, func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		list, err := s.svc.PullRequests(r.Context(), service.PullRequestFilter{Repository: r.PathValue("name"),
			Status: strings.ToUpper(q.Get("status")), Author: q.Get("author")})
		if err != nil {
			return err
		}
		out := wire.PullRequestList{PullRequests: make([]wire.PullRequest, 0, len(list))}
		for _, pr := range list {
			out.PullRequests = append(out.PullRequests, pullView(pr))
		}
		return writeJSON(w, http.StatusOK, out)
	})
	s.handle("POST "+base, "CreatePullRequest", resRepository, func(w http.ResponseWriter, r *http.Request) error {
		var req wire.CreatePullRequestRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		pr, err := s.svc.CreatePullRequest(r.Context(), service.PullRequestRequest{Repository: r.PathValue("name"),
			Title: req.Title, Description: req.Description, Source: req.Source, Destination: req.Destination, Principal: Principal(r.Context())})
		if err != nil {
			return err
		}
		callInfoFrom(r.Context()).setParam("pullRequestId", pr.ID)
		return writeJSON(w, http.StatusCreated, pullView(pr))
	})
	s.handle("GET "+base+"/{id}", "GetPullRequest", resRepository, func(w http.ResponseWriter, r *http.Request) error {
		pr, err := s.pullFromPath(r)
		if err != nil {
			return err
		}
		v := pullView(pr)
		commits, err := repos.CommitsBetween(r.Context(), pr.Repository, pr.MergeBase, pr.SourceCommit, 250)
		if err == nil {
			for _, c := range commits {
				v.Commits = append(v.Commits, wire.PullCommit{ID: c.ID, Message: c.Message, Author: c.AuthorName, Date: c.AuthorDate})
			}
		}
		v.Pipelines = s.pullPipelines(r, pr)
		return writeJSON(w, http.StatusOK, v)
	})
	s.handle("GET "+base+"/{id}/diff", "GetDifferences", resRepository, func(w http.ResponseWriter, r *http.Request) error {
		pr, err := s.pullFromPath(r)
		if err != nil {
			return err
		}
		// An open request shows what merging would bring; a closed one
		// what it brought, from where its source left the destination.
		from := pr.DestinationCommit
		if pr.Status != service.PullRequestOpen {
			from = pr.MergeBase
		}
		diff, truncated, err := repos.Diff(r.Context(), pr.Repository, from, pr.SourceCommit)
		if err != nil {
			return repoError(err)
		}
		return writeJSON(w, http.StatusOK, wire.PullDiff{Diff: diff, Truncated: truncated})
	})
	update := func(action string, title bool) {
		field := "description"
		if title {
			field = "title"
		}
		s.handle("PUT "+base+"/{id}/"+field, action, resRepository, func(w http.ResponseWriter, r *http.Request) error {
			id, err := service.ParsePullRequestID(r.PathValue("id"))
			if err != nil {
				return err
			}
			var req wire.UpdatePullRequestRequest
			if err := decode(r, &req); err != nil {
				return err
			}
			u := service.PullRequestUpdate{Repository: r.PathValue("name"), ID: id, Principal: Principal(r.Context())}
			if title {
				if req.Title == nil {
					return service.Errorf(service.CodeInvalid, "title: required")
				}
				u.Title = req.Title
			} else {
				if req.Description == nil {
					return service.Errorf(service.CodeInvalid, "description: required")
				}
				u.Description = req.Description
			}
			pr, err := s.svc.UpdatePullRequest(r.Context(), u)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, pullView(pr))
		})
	}
	update("UpdatePullRequestTitle", true)
	update("UpdatePullRequestDescription", false)
	s.handle("POST "+base+"/{id}/close", "UpdatePullRequestStatus", resRepository, func(w http.ResponseWriter, r *http.Request) error {
		id, err := service.ParsePullRequestID(r.PathValue("id"))
		if err != nil {
			return err
		}
		pr, err := s.svc.UpdatePullRequest(r.Context(), service.PullRequestUpdate{Repository: r.PathValue("name"), ID: id, Close: true, Principal: Principal(r.Context())})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, pullView(pr))
	})
	s.handle("POST "+base+"/{id}/comments", "PostCommentForPullRequest", resRepository, func(w http.ResponseWriter, r *http.Request) error {
		id, err := service.ParsePullRequestID(r.PathValue("id"))
		if err != nil {
			return err
		}
		var req wire.PullCommentRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		c, err := s.svc.CommentOnPullRequest(r.Context(), service.PullCommentRequest{Repository: r.PathValue("name"), ID: id,
			Content: req.Content, FilePath: req.FilePath, Line: req.Line, Principal: Principal(r.Context())})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, commentView(c))
	})
	s.handle("PUT "+base+"/{id}/approval", "UpdatePullRequestApprovalState", resRepository, func(w http.ResponseWriter, r *http.Request) error {
		id, err := service.ParsePullRequestID(r.PathValue("id"))
		if err != nil {
			return err
		}
		var req wire.ApprovalStateRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		if req.State != "APPROVE" && req.State != "REVOKE" {
			return service.Errorf(service.CodeInvalid, "approvalState: %q is not APPROVE or REVOKE", req.State)
		}
		callInfoFrom(r.Context()).setParam("approvalState", req.State)
		pr, err := s.svc.SetPullRequestApproval(r.Context(), r.PathValue("name"), id, Principal(r.Context()), req.State == "APPROVE")
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, pullView(pr))
	})
	s.handle("PUT "+base+"/{id}/override", "OverridePullRequestApprovalRules", resRepository, func(w http.ResponseWriter, r *http.Request) error {
		id, err := service.ParsePullRequestID(r.PathValue("id"))
		if err != nil {
			return err
		}
		var req wire.OverrideRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		if req.Status != "OVERRIDE" && req.Status != "REVOKE" {
			return service.Errorf(service.CodeInvalid, "overrideStatus: %q is not OVERRIDE or REVOKE", req.Status)
		}
		callInfoFrom(r.Context()).setParam("overrideStatus", req.Status)
		pr, err := s.svc.OverridePullRequestApprovalRules(r.Context(), r.PathValue("name"), id, Principal(r.Context()), req.Status == "OVERRIDE")
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, pullView(pr))
	})
	s.handle("POST "+base+"/{id}/approval-rules", "CreatePullRequestApprovalRule", resRepository, func(w http.ResponseWriter, r *http.Request) error {
		id, err := service.ParsePullRequestID(r.PathValue("id"))
		if err != nil {
			return err
		}
		var req wire.ApprovalRuleRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		pr, err := s.svc.AddPullRequestApprovalRule(r.Context(), r.PathValue("name"), id, req.Name, req.Content)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, pullView(pr))
	})
	for path, action := range map[string]string{
		"fast-forward": "MergePullRequestByFastForward",
		"squash":       "MergePullRequestBySquash",
		"three-way":    "MergePullRequestByThreeWay",
	} {
		strategy := map[string]string{"fast-forward": gitserver.FastForward, "squash": gitserver.Squash, "three-way": gitserver.ThreeWay}[path]
		s.handle("POST "+base+"/{id}/merge/"+path, action, resRepository, func(w http.ResponseWriter, r *http.Request) error {
			id, err := service.ParsePullRequestID(r.PathValue("id"))
			if err != nil {
				return err
			}
			var req wire.MergePullRequestRequest
			if r.ContentLength != 0 { // every field is optional, the body too
				if err := decode(r, &req); err != nil {
					return err
				}
			}
			pr, err := s.svc.MergePullRequest(r.Context(), service.MergePullRequestRequest{Repository: r.PathValue("name"), ID: id,
				Strategy: strategy, SourceCommit: req.SourceCommit, Message: req.Message, AuthorName: req.AuthorName, AuthorEmail: req.Email,
				Principal: Principal(r.Context())})
			if err != nil && pr.ID == 0 {
				return err
			}
			if err != nil {
				s.log.Warn("pull request merged, push not reported", "repository", pr.Repository, "pullRequest", pr.ID, "err", err)
			}
			callInfoFrom(r.Context()).setParam("mergeCommitId", pr.MergeCommit)
			return writeJSON(w, http.StatusOK, pullView(pr))
		})
	}

	const tpl = "/api/v1/approval-rule-templates"
	s.handle("GET "+tpl, "ListApprovalRuleTemplates", resAll, func(w http.ResponseWriter, r *http.Request) error {
		list, err := s.svc.ApprovalRuleTemplates(r.Context())
		if err != nil {
			return err
		}
		out := wire.ApprovalRuleTemplateList{Templates: make([]wire.ApprovalRuleTemplate, 0, len(list))}
		for _, t := range list {
			out.Templates = append(out.Templates, templateView(t))
		}
		return writeJSON(w, http.StatusOK, out)
	})
	s.handle("GET "+tpl+"/{template}", "GetApprovalRuleTemplate", resTemplate, func(w http.ResponseWriter, r *http.Request) error {
		t, err := s.svc.ApprovalRuleTemplate(r.Context(), r.PathValue("template"))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, templateView(t))
	})
	s.handle("PUT "+tpl+"/{template}", "CreateApprovalRuleTemplate", resTemplate, func(w http.ResponseWriter, r *http.Request) error {
		var req wire.ApprovalRuleTemplate
		if err := decode(r, &req); err != nil {
			return err
		}
		t, err := s.svc.CreateApprovalRuleTemplate(r.Context(), r.PathValue("template"), req.Description, req.Content)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, templateView(t))
	})
	s.handle("DELETE "+tpl+"/{template}", "DeleteApprovalRuleTemplate", resTemplate, func(w http.ResponseWriter, r *http.Request) error {
		if err := s.svc.DeleteApprovalRuleTemplate(r.Context(), r.PathValue("template")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	associate := func(method, action string, on bool) {
		s.handle(method+" /api/v1/repos/{name}/approval-rule-templates/{template}", action, resRepository, func(w http.ResponseWriter, r *http.Request) error {
			t, err := s.svc.AssociateApprovalRuleTemplate(r.Context(), r.PathValue("template"), r.PathValue("name"), on, func(repo string) error {
				_, err := repos.Get(r.Context(), repo)
				return repoError(err)
			})
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, templateView(t))
		})
	}
	associate("PUT", "AssociateApprovalRuleTemplateWithRepository", true)
	associate("DELETE", "DisassociateApprovalRuleTemplateFromRepository", false)
}

var resTemplate = pathResource("approvalruletemplate", "template")

func (s *Server) pullFromPath(r *http.Request) (service.PullRequest, error) {
	id, err := service.ParsePullRequestID(r.PathValue("id"))
	if err != nil {
		return service.PullRequest{}, err
	}
	return s.svc.PullRequest(r.Context(), r.PathValue("name"), id)
}

// pullPipelines are the executions the pull request started, for callers
// allowed to see them.
func (s *Server) pullPipelines(r *http.Request, pr service.PullRequest) []wire.PullPipeline {
	var out []wire.PullPipeline
	for _, e := range s.svc.PullRequestExecutions(r.Context(), pr) {
		if mayAlso(r, "GetPipelineExecution", "pipeline/"+e.Pipeline) {
			out = append(out, wire.PullPipeline{Pipeline: e.Pipeline, ExecutionID: e.ExecutionID, Status: e.Status})
		}
	}
	return out
}

func pullView(pr service.PullRequest) wire.PullRequest {
	v := wire.PullRequest{ID: pr.ID, Repository: pr.Repository, Title: pr.Title, Description: pr.Description, Author: pr.Author,
		Status: pr.Status, Source: pr.Source, Destination: pr.Destination, SourceCommit: pr.SourceCommit,
		DestinationCommit: pr.DestinationCommit, MergeBase: pr.MergeBase, Merged: pr.Merged, MergedBy: pr.MergedBy,
		MergeCommit: pr.MergeCommit, MergeOption: pr.MergeOption, Created: pr.Created, Updated: pr.Updated,
		Comments: []wire.PullComment{}, Approvals: []wire.PullApproval{}, Rules: []wire.PullApprovalRule{},
		Approved: pr.CurrentApprovals()}
	if v.Approved == nil {
		v.Approved = []string{}
	}
	for _, c := range pr.Comments {
		v.Comments = append(v.Comments, commentView(c))
	}
	for _, a := range pr.Approvals {
		v.Approvals = append(v.Approvals, wire.PullApproval{Principal: a.Principal, Revision: a.Revision, Time: a.Time})
	}
	for _, rule := range pr.Rules {
		v.Rules = append(v.Rules, wire.PullApprovalRule{Name: rule.Name, Content: rule.Content, FromTemplate: rule.FromTemplate, Satisfied: rule.Satisfied})
	}
	if pr.Override != nil {
		v.OverriddenBy = pr.Override.Principal
	}
	return v
}

func commentView(c service.PullComment) wire.PullComment {
	return wire.PullComment{ID: c.ID, Author: c.Author, Content: c.Content, FilePath: c.FilePath, Line: c.Line, Commit: c.Commit, Created: c.Created}
}

func templateView(t service.ApprovalRuleTemplate) wire.ApprovalRuleTemplate {
	return wire.ApprovalRuleTemplate{Name: t.Name, Description: t.Description, Content: t.Content, Repositories: t.Repositories, Created: t.Created}
}
