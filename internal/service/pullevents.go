package service

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/sluice-ci/sluice/internal/store"
)

// Pull request events, in CodeCommit's shapes (source aws.codecommit), so
// that a rule written for CodeCommit's EventBridge events matches them.
const (
	PullRequestEvent        = "CodeCommit Pull Request State Change"
	PullRequestCommentEvent = "CodeCommit Comment on Pull Request"
)

// PullRequestEventDetail is the detail of a pull request event.
type PullRequestEventDetail struct {
	Author               string   `json:"author"`
	CallerUserArn        string   `json:"callerUserArn"`
	CreationDate         string   `json:"creationDate"`
	Description          string   `json:"description,omitempty"`
	DestinationCommit    string   `json:"destinationCommit"`
	DestinationReference string   `json:"destinationReference"`
	Event                string   `json:"event"`
	IsMerged             string   `json:"isMerged"` // "True" or "False", as CodeCommit writes it
	LastModifiedDate     string   `json:"lastModifiedDate"`
	PullRequestID        string   `json:"pullRequestId"`
	PullRequestStatus    string   `json:"pullRequestStatus"` // Open or Closed
	RepositoryNames      []string `json:"repositoryNames"`
	RevisionID           string   `json:"revisionId"`
	SourceCommit         string   `json:"sourceCommit"`
	SourceReference      string   `json:"sourceReference"`
	Title                string   `json:"title"`
	MergeOption          string   `json:"mergeOption,omitempty"`    // of a merged request
	ApprovalStatus       string   `json:"approvalStatus,omitempty"` // APPROVE or REVOKE, of pullRequestApprovalStateChanged
	OverrideStatus       string   `json:"overrideStatus,omitempty"` // OVERRIDE or REVOKE, of pullRequestApprovalRuleOverridden
	MergeCommit          string   `json:"mergeCommitId,omitempty"`
}

// PullRequestCommentEventDetail is the detail of a comment event.
type PullRequestCommentEventDetail struct {
	AfterCommitID  string `json:"afterCommitId"`
	BeforeCommitID string `json:"beforeCommitId"`
	CallerUserArn  string `json:"callerUserArn"`
	CommentID      string `json:"commentId"`
	Event          string `json:"event"` // commentOnPullRequestCreated
	PullRequestID  string `json:"pullRequestId"`
	RepositoryID   string `json:"repositoryId"`
	RepositoryName string `json:"repositoryName"`
	FilePath       string `json:"filePath,omitempty"`
}

// codeCommitTime is how CodeCommit's pull request events write dates.
const codeCommitTime = "Mon Jan 2 2006 15:04:05 PM UTC"

// pullNote is what a change to a pull request says happened: an event of
// CodeCommit's (event), about a comment when comment is set; approval is
// the approval's state (APPROVE, REVOKE) of pullRequestApprovalStateChanged.
type pullNote struct {
	event    string
	comment  *PullComment
	approval string
}

// pullEvent records an event about a pull request that is not a change of
// it (a push to its source branch), in a transaction of its own; an event
// that cannot be written is logged: the push it tells of happened anyway.
// Changes of a pull request write their events with it (writePull).
func (s *Service) pullEvent(ctx context.Context, pr PullRequest, n pullNote) {
	ev, err := s.pullEventOf(pr, n)
	if err == nil {
		err = s.store.UpdateGlobal(ctx, func(tx store.Tx) error { return tx.InsertEvent(ctx, ev) })
	}
	if err != nil {
		s.log.Warn("pull request event not recorded", "pullRequest", pr.ID, "event", n.event, "err", err)
		return
	}
	s.changed.broadcast()
}

// pullEventOf is the event n of pr, in CodeCommit's shape.
func (s *Service) pullEventOf(pr PullRequest, n pullNote) (store.Event, error) {
	event, c := n.event, n.comment
	caller := pr.Author
	typ := PullRequestEvent
	var d any
	if c != nil {
		caller = c.Author
		typ = PullRequestCommentEvent
		d = PullRequestCommentEventDetail{AfterCommitID: pr.SourceCommit, BeforeCommitID: pr.DestinationCommit, CallerUserArn: s.userARN(c.Author),
			CommentID: strconv.Itoa(c.ID), Event: event, PullRequestID: strconv.FormatInt(pr.ID, 10),
			RepositoryID: NamedUUID("repository/" + pr.Repository), RepositoryName: pr.Repository, FilePath: c.FilePath}
	} else {
		status := "Open"
		if pr.Status == PullRequestClosed {
			status = "Closed"
		}
		merged := "False"
		if pr.Merged {
			merged, caller = "True", pr.MergedBy
		}
		pd := PullRequestEventDetail{Author: s.userARN(pr.Author), CallerUserArn: s.userARN(caller),
			CreationDate: pr.Created.UTC().Format(codeCommitTime), Description: pr.Description,
			DestinationCommit: pr.DestinationCommit, DestinationReference: "refs/heads/" + pr.Destination,
			Event: event, IsMerged: merged, LastModifiedDate: pr.Updated.UTC().Format(codeCommitTime),
			PullRequestID: strconv.FormatInt(pr.ID, 10), PullRequestStatus: status, RepositoryNames: []string{pr.Repository},
			RevisionID: pr.SourceCommit, SourceCommit: pr.SourceCommit, SourceReference: "refs/heads/" + pr.Source,
			Title: pr.Title, MergeCommit: pr.MergeCommit, MergeOption: pr.MergeOption}
		switch event {
		case "pullRequestApprovalStateChanged":
			pd.ApprovalStatus = n.approval
		case "pullRequestApprovalRuleOverridden":
			pd.OverrideStatus = "REVOKE"
			if pr.Override != nil {
				pd.OverrideStatus = "OVERRIDE"
			}
		}
		d = pd
	}
	doc, err := json.Marshal(d)
	if err != nil {
		return store.Event{}, err
	}
	return store.Event{Time: s.now(), Type: typ, Document: doc}, nil
}
