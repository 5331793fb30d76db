package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/sluice-ci/sluice/internal/wire"
)

func pullPath(repo string, id int64) string {
	return "/api/v1/repos/" + esc(repo) + "/pulls/" + strconv.FormatInt(id, 10)
}

// CreatePullRequest opens a pull request in a hosted repository.
func (c *Client) CreatePullRequest(ctx context.Context, repo string, req wire.CreatePullRequestRequest) (wire.PullRequest, error) {
	var out wire.PullRequest
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/repos/"+esc(repo)+"/pulls", req, &out)
	return out, err
}

// PullRequests lists a repository's pull requests; status and author may be empty.
func (c *Client) PullRequests(ctx context.Context, repo, status, author string) ([]wire.PullRequest, error) {
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	if author != "" {
		q.Set("author", author)
	}
	var out wire.PullRequestList
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/repos/"+esc(repo)+"/pulls?"+q.Encode(), nil, &out)
	return out.PullRequests, err
}

// PullRequest returns a pull request with its commits and executions.
func (c *Client) PullRequest(ctx context.Context, repo string, id int64) (wire.PullRequest, error) {
	var out wire.PullRequest
	err := c.doJSON(ctx, http.MethodGet, pullPath(repo, id), nil, &out)
	return out, err
}

// PullRequestDiff returns a pull request's diff.
func (c *Client) PullRequestDiff(ctx context.Context, repo string, id int64) (wire.PullDiff, error) {
	var out wire.PullDiff
	err := c.doJSON(ctx, http.MethodGet, pullPath(repo, id)+"/diff", nil, &out)
	return out, err
}

// UpdatePullRequest changes the title or (and) the description.
func (c *Client) UpdatePullRequest(ctx context.Context, repo string, id int64, req wire.UpdatePullRequestRequest) (wire.PullRequest, error) {
	var out wire.PullRequest
	if req.Title != nil {
		if err := c.doJSON(ctx, http.MethodPut, pullPath(repo, id)+"/title", wire.UpdatePullRequestRequest{Title: req.Title}, &out); err != nil {
			return out, err
		}
	}
	if req.Description != nil {
		if err := c.doJSON(ctx, http.MethodPut, pullPath(repo, id)+"/description", wire.UpdatePullRequestRequest{Description: req.Description}, &out); err != nil {
			return out, err
		}
	}
	return out, nil
}

// ClosePullRequest closes a pull request without merging it.
func (c *Client) ClosePullRequest(ctx context.Context, repo string, id int64) (wire.PullRequest, error) {
	var out wire.PullRequest
	err := c.doJSON(ctx, http.MethodPost, pullPath(repo, id)+"/close", struct{}{}, &out)
	return out, err
}

// CommentOnPullRequest posts a comment.
func (c *Client) CommentOnPullRequest(ctx context.Context, repo string, id int64, req wire.PullCommentRequest) (wire.PullComment, error) {
	var out wire.PullComment
	err := c.doJSON(ctx, http.MethodPost, pullPath(repo, id)+"/comments", req, &out)
	return out, err
}

// SetPullRequestApproval approves (APPROVE) or revokes (REVOKE).
func (c *Client) SetPullRequestApproval(ctx context.Context, repo string, id int64, state string) (wire.PullRequest, error) {
	var out wire.PullRequest
	err := c.doJSON(ctx, http.MethodPut, pullPath(repo, id)+"/approval", wire.ApprovalStateRequest{State: state}, &out)
	return out, err
}

// OverridePullRequestApprovalRules overrides (OVERRIDE) or restores (REVOKE) the rules.
func (c *Client) OverridePullRequestApprovalRules(ctx context.Context, repo string, id int64, status string) (wire.PullRequest, error) {
	var out wire.PullRequest
	err := c.doJSON(ctx, http.MethodPut, pullPath(repo, id)+"/override", wire.OverrideRequest{Status: status}, &out)
	return out, err
}

// AddPullRequestApprovalRule gives a pull request a rule of its own.
func (c *Client) AddPullRequestApprovalRule(ctx context.Context, repo string, id int64, req wire.ApprovalRuleRequest) (wire.PullRequest, error) {
	var out wire.PullRequest
	err := c.doJSON(ctx, http.MethodPost, pullPath(repo, id)+"/approval-rules", req, &out)
	return out, err
}

// MergePullRequest merges by strategy: fast-forward, squash or three-way.
func (c *Client) MergePullRequest(ctx context.Context, repo string, id int64, strategy string, req wire.MergePullRequestRequest) (wire.PullRequest, error) {
	var out wire.PullRequest
	err := c.doJSON(ctx, http.MethodPost, pullPath(repo, id)+"/merge/"+esc(strategy), req, &out)
	return out, err
}

// ApprovalRuleTemplates lists the approval rule templates.
func (c *Client) ApprovalRuleTemplates(ctx context.Context) ([]wire.ApprovalRuleTemplate, error) {
	var out wire.ApprovalRuleTemplateList
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/approval-rule-templates", nil, &out)
	return out.Templates, err
}

// CreateApprovalRuleTemplate creates a template.
func (c *Client) CreateApprovalRuleTemplate(ctx context.Context, name, description, content string) (wire.ApprovalRuleTemplate, error) {
	var out wire.ApprovalRuleTemplate
	err := c.doJSON(ctx, http.MethodPut, "/api/v1/approval-rule-templates/"+esc(name),
		wire.ApprovalRuleTemplate{Description: description, Content: content}, &out)
	return out, err
}

// DeleteApprovalRuleTemplate deletes a template.
func (c *Client) DeleteApprovalRuleTemplate(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/api/v1/approval-rule-templates/"+esc(name), nil, nil)
}

// AssociateApprovalRuleTemplate associates (or disassociates) a template
// with a repository.
func (c *Client) AssociateApprovalRuleTemplate(ctx context.Context, name, repo string, associate bool) (wire.ApprovalRuleTemplate, error) {
	method := http.MethodPut
	if !associate {
		method = http.MethodDelete
	}
	var out wire.ApprovalRuleTemplate
	err := c.doJSON(ctx, method, "/api/v1/repos/"+esc(repo)+"/approval-rule-templates/"+esc(name), nil, &out)
	return out, err
}
