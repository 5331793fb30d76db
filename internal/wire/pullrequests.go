package wire

import "time"

// Pull requests of hosted repositories, in CodeCommit's terms.

// CreatePullRequestRequest opens a pull request (CreatePullRequest).
type CreatePullRequestRequest struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Source      string `json:"sourceReference"`      // a branch
	Destination string `json:"destinationReference"` // a branch
}

// PullRequest is a pull request with its comments, approvals and rules; the
// commits it brings come with GetPullRequest.
type PullRequest struct {
	ID                int64              `json:"pullRequestId"`
	Repository        string             `json:"repositoryName"`
	Title             string             `json:"title"`
	Description       string             `json:"description,omitempty"`
	Author            string             `json:"author"`
	Status            string             `json:"pullRequestStatus"` // OPEN, CLOSED
	Source            string             `json:"sourceReference"`
	Destination       string             `json:"destinationReference"`
	SourceCommit      string             `json:"sourceCommit"`
	DestinationCommit string             `json:"destinationCommit"`
	MergeBase         string             `json:"mergeBase"`
	Merged            bool               `json:"isMerged"`
	MergedBy          string             `json:"mergedBy,omitempty"`
	MergeCommit       string             `json:"mergeCommitId,omitempty"`
	MergeOption       string             `json:"mergeOption,omitempty"`
	Created           time.Time          `json:"creationDate"`
	Updated           time.Time          `json:"lastActivityDate"`
	Comments          []PullComment      `json:"comments"`
	Approvals         []PullApproval     `json:"approvals"`
	Rules             []PullApprovalRule `json:"approvalRules"`
	// Approved lists who approved the current revision (SourceCommit).
	Approved     []string     `json:"approvedBy"`
	OverriddenBy string       `json:"overriddenBy,omitempty"`
	Commits      []PullCommit `json:"commits,omitempty"`
	// Pipelines are the executions the pull request started, newest first:
	// its status as its pipelines see it.
	Pipelines []PullPipeline `json:"pipelines,omitempty"`
}

// PullComment is a comment on a pull request or on a line of a file.
type PullComment struct {
	ID       int       `json:"commentId"`
	Author   string    `json:"author"`
	Content  string    `json:"content"`
	FilePath string    `json:"filePath,omitempty"`
	Line     int       `json:"filePosition,omitempty"`
	Commit   string    `json:"afterCommitId,omitempty"`
	Created  time.Time `json:"creationDate"`
}

// PullApproval is an approval of a revision.
type PullApproval struct {
	Principal string    `json:"userArn"`
	Revision  string    `json:"revisionId"`
	Time      time.Time `json:"time"`
}

// PullApprovalRule is an approval rule and whether it is satisfied.
type PullApprovalRule struct {
	Name         string `json:"approvalRuleName"`
	Content      string `json:"approvalRuleContent"`
	FromTemplate string `json:"originApprovalRuleTemplate,omitempty"`
	Satisfied    bool   `json:"satisfied"`
}

// PullCommit is a commit a pull request brings.
type PullCommit struct {
	ID      string    `json:"commitId"`
	Message string    `json:"message"` // its first line
	Author  string    `json:"author"`
	Date    time.Time `json:"date"`
}

// PullPipeline is an execution a pull request started.
type PullPipeline struct {
	Pipeline    string `json:"pipelineName"`
	ExecutionID string `json:"pipelineExecutionId"`
	Status      string `json:"status"`
}

// PullRequestList is ListPullRequests' answer.
type PullRequestList struct {
	PullRequests []PullRequest `json:"pullRequests"`
}

// PullDiff is a pull request's diff (GetDifferences).
type PullDiff struct {
	Diff      string `json:"diff"`
	Truncated bool   `json:"truncated,omitempty"`
}

// UpdatePullRequestRequest changes a title or a description.
type UpdatePullRequestRequest struct {
	Title       *string `json:"title,omitempty"`
	Description *string `json:"description,omitempty"`
}

// PullCommentRequest posts a comment (PostCommentForPullRequest).
type PullCommentRequest struct {
	Content  string `json:"content"`
	FilePath string `json:"filePath,omitempty"`
	Line     int    `json:"filePosition,omitempty"`
}

// ApprovalStateRequest approves or revokes (UpdatePullRequestApprovalState).
type ApprovalStateRequest struct {
	State string `json:"approvalState"` // APPROVE or REVOKE
}

// OverrideRequest overrides the approval rules or revokes the override.
type OverrideRequest struct {
	Status string `json:"overrideStatus"` // OVERRIDE or REVOKE
}

// MergePullRequestRequest merges a pull request.
type MergePullRequestRequest struct {
	SourceCommit string `json:"sourceCommitId,omitempty"`
	Message      string `json:"commitMessage,omitempty"`
	AuthorName   string `json:"authorName,omitempty"`
	Email        string `json:"email,omitempty"`
}

// ApprovalRuleRequest gives a pull request a rule of its own.
type ApprovalRuleRequest struct {
	Name    string `json:"approvalRuleName"`
	Content string `json:"approvalRuleContent"`
}

// ApprovalRuleTemplate is an approval rule template.
type ApprovalRuleTemplate struct {
	Name         string    `json:"approvalRuleTemplateName"`
	Description  string    `json:"approvalRuleTemplateDescription,omitempty"`
	Content      string    `json:"approvalRuleTemplateContent"`
	Repositories []string  `json:"repositories"`
	Created      time.Time `json:"creationDate"`
}

// ApprovalRuleTemplateList lists templates.
type ApprovalRuleTemplateList struct {
	Templates []ApprovalRuleTemplate `json:"approvalRuleTemplates"`
}
