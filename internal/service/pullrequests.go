package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluice-ci/sluice/internal/gitserver"
	"github.com/sluice-ci/sluice/internal/store"
)

// Pull requests of hosted repositories follow CodeCommit's model: a request
// to merge a source branch into a destination branch, with a title, a
// description, comments (on the request, or on a line of a file of its
// diff), approvals and approval rules. Approvals are of a revision: the
// source branch's tip when they were given; a push to the source branch makes
// a new revision, and the approvals given before it no longer count, as in
// CodeCommit. A pull request can be merged only when every approval rule is
// satisfied by the approvals of its current revision, or when someone allowed
// OverridePullRequestApprovalRules has set the rules aside (audited as its own
// operation).
//
// Pull request ids are one sequence across all repositories, as CodeCommit's
// are, allocated through the store's counters (NextBuildNumber) under a key
// no build project can have ("pull requests": project names have no space).

// PullRepos is what pull requests need of the hosted repositories
// (gitserver.Server).
type PullRepos interface {
	Head(ctx context.Context, repo, branch string) (string, error)
	MergeBase(ctx context.Context, repo, a, b string) (string, error)
	CommitsBetween(ctx context.Context, repo, base, head string, max int) ([]gitserver.CommitInfo, error)
	Diff(ctx context.Context, repo, base, head string) (string, bool, error)
	FileAt(ctx context.Context, repo, commit, path string) (bool, error)
	IsAncestor(ctx context.Context, repo, a, b string) (bool, error)
	Merge(ctx context.Context, m gitserver.MergeRequest) (string, error)
}

// SetPullRepos gives the service the hosted repositories' git, for pull
// requests.
func (s *Service) SetPullRepos(r PullRepos) { s.pullRepos = r }

// Pull request statuses, CodeCommit's.
const (
	PullRequestOpen   = "OPEN"
	PullRequestClosed = "CLOSED"
)

// pullRequestCounter is the key of the pull request ids' counter.
const pullRequestCounter = "pull requests"

// PullRequest is a pull request with everything said about it.
type PullRequest struct {
	ID                int64              `json:"pullRequestId"`
	Repository        string             `json:"repositoryName"`
	Title             string             `json:"title"`
	Description       string             `json:"description,omitempty"`
	Author            string             `json:"author"`
	Status            string             `json:"pullRequestStatus"`
	Source            string             `json:"sourceReference"`      // a branch name
	Destination       string             `json:"destinationReference"` // a branch name
	SourceCommit      string             `json:"sourceCommit"`         // the source's tip when last read
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
	Override          *PullOverride      `json:"override,omitempty"`
	// Merging is the merge under way, from when it was claimed to when it
	// is recorded (see MergePullRequest).
	Merging *PullMerging `json:"mergeInProgress,omitempty"`

	// revision is the stored revision this request was read at: the
	// condition its next write is made on (store.Tx.PutDefinition).
	revision int64
}

// PullMerging is a claim on merging a pull request: one merge at a time, on
// any replica, and its git step at most once.
type PullMerging struct {
	Claim     string    `json:"claim"` // this attempt's id
	Principal string    `json:"mergedBy"`
	Strategy  string    `json:"mergeOption"`
	Since     time.Time `json:"since"`
	// The tips the merge starts from: git moves the destination only from
	// DestinationCommit, so the git step of one claim lands at most once.
	SourceCommit      string `json:"sourceCommit"`
	DestinationCommit string `json:"destinationCommit"`
}

// PullComment is a comment on a pull request, or on a line of a file of
// its diff (FilePath and Line set, on the source commit it was made on).
type PullComment struct {
	ID       int       `json:"commentId"`
	Author   string    `json:"authorArn"`
	Content  string    `json:"content"`
	FilePath string    `json:"filePath,omitempty"`
	Line     int       `json:"filePosition,omitempty"`
	Commit   string    `json:"afterCommitId,omitempty"`
	Created  time.Time `json:"creationDate"`
}

// PullApproval is one principal's approval of one revision.
type PullApproval struct {
	Principal string    `json:"userArn"`
	Revision  string    `json:"revisionId"` // the source commit approved
	Time      time.Time `json:"time"`
}

// PullApprovalRule is an approval rule of a pull request, its own or made
// from a template when the request was created.
type PullApprovalRule struct {
	Name         string    `json:"approvalRuleName"`
	Content      string    `json:"approvalRuleContent"`
	FromTemplate string    `json:"originApprovalRuleTemplate,omitempty"`
	Created      time.Time `json:"creationDate"`
	// Satisfied and Approvals are worked out when the pull request is read.
	Satisfied bool `json:"satisfied"`
}

// PullOverride records that the approval rules were set aside.
type PullOverride struct {
	Principal string    `json:"overrider"`
	Time      time.Time `json:"time"`
}

// ApprovalRuleContent is CodeCommit's approval rule content document.
type ApprovalRuleContent struct {
	Version               string              `json:"Version"`
	DestinationReferences []string            `json:"DestinationReferences,omitempty"`
	Statements            []ApprovalStatement `json:"Statements"`
}

// ApprovalStatement is one statement of an approval rule.
type ApprovalStatement struct {
	Type                    string   `json:"Type"`
	NumberOfApprovalsNeeded int      `json:"NumberOfApprovalsNeeded"`
	ApprovalPoolMembers     []string `json:"ApprovalPoolMembers,omitempty"`
}

// ParseApprovalRuleContent reads and checks a rule's content, as CodeCommit
// takes it.
func ParseApprovalRuleContent(content string) (ApprovalRuleContent, error) {
	var c ApprovalRuleContent
	dec := json.NewDecoder(strings.NewReader(content))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, Errorf(CodeInvalid, "approvalRuleContent: not an approval rule document: %v", err)
	}
	if c.Version != "2018-11-08" {
		return c, Errorf(CodeInvalid, "approvalRuleContent: Version: %q, want \"2018-11-08\"", c.Version)
	}
	if len(c.Statements) == 0 {
		return c, Errorf(CodeInvalid, "approvalRuleContent: Statements: at least one is needed")
	}
	for i, st := range c.Statements {
		if st.Type != "Approvers" {
			return c, Errorf(CodeInvalid, "approvalRuleContent: Statements[%d].Type: %q, want \"Approvers\"", i, st.Type)
		}
		if st.NumberOfApprovalsNeeded < 1 || st.NumberOfApprovalsNeeded > 25 {
			return c, Errorf(CodeInvalid, "approvalRuleContent: Statements[%d].NumberOfApprovalsNeeded: %d, want 1 to 25", i, st.NumberOfApprovalsNeeded)
		}
		for j, m := range st.ApprovalPoolMembers {
			if m == "" || len(m) > 1024 {
				return c, Errorf(CodeInvalid, "approvalRuleContent: Statements[%d].ApprovalPoolMembers[%d]: empty or too long", i, j)
			}
			if _, err := path.Match(m, ""); err != nil {
				return c, Errorf(CodeInvalid, "approvalRuleContent: Statements[%d].ApprovalPoolMembers[%d]: %q is not a pattern", i, j, m)
			}
		}
	}
	for i, r := range c.DestinationReferences {
		if !strings.HasPrefix(r, "refs/heads/") {
			return c, Errorf(CodeInvalid, "approvalRuleContent: DestinationReferences[%d]: %q must be a full branch reference, refs/heads/NAME", i, r)
		}
	}
	return c, nil
}

// PullRequestRequest asks to create a pull request.
type PullRequestRequest struct {
	Repository, Title, Description string
	Source, Destination            string
	Principal                      string
}

func pullName(id int64) string { return fmt.Sprintf("%012d", id) }

const (
	maxPullTitle       = 150
	maxPullDescription = 10240
	maxPullComment     = 10240
	maxPullComments    = 1000
)

func checkText(field, v string, max int, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return Errorf(CodeInvalid, "%s: required", field)
	}
	if utf8.RuneCountInString(v) > max || !utf8.ValidString(v) {
		return Errorf(CodeInvalid, "%s: at most %d characters of UTF-8", field, max)
	}
	return nil
}

func (s *Service) pullGit() (PullRepos, error) {
	if s.pullRepos == nil {
		return nil, Errorf(CodeInvalid, "this server hosts no repositories")
	}
	return s.pullRepos, nil
}

// CreatePullRequest opens a pull request, with the approval rules of the
// templates associated with its repository that apply to its destination.
func (s *Service) CreatePullRequest(ctx context.Context, req PullRequestRequest) (PullRequest, error) {
	git, err := s.pullGit()
	if err != nil {
		return PullRequest{}, err
	}
	if err := checkText("title", req.Title, maxPullTitle, true); err != nil {
		return PullRequest{}, err
	}
	if err := checkText("description", req.Description, maxPullDescription, false); err != nil {
		return PullRequest{}, err
	}
	req.Source = strings.TrimPrefix(req.Source, "refs/heads/")
	req.Destination = strings.TrimPrefix(req.Destination, "refs/heads/")
	if req.Source == "" || req.Destination == "" {
		return PullRequest{}, Errorf(CodeInvalid, "sourceReference and destinationReference: both required")
	}
	if req.Source == req.Destination {
		return PullRequest{}, Errorf(CodeInvalid, "sourceReference and destinationReference are both %s: a pull request merges one branch into another", req.Source)
	}
	src, err := git.Head(ctx, req.Repository, req.Source)
	if err != nil {
		return PullRequest{}, gitError("sourceReference", err)
	}
	dst, err := git.Head(ctx, req.Repository, req.Destination)
	if err != nil {
		return PullRequest{}, gitError("destinationReference", err)
	}
	if src == dst {
		return PullRequest{}, Errorf(CodeInvalid, "%s and %s are at the same commit: there is nothing to merge", req.Source, req.Destination)
	}
	base, err := git.MergeBase(ctx, req.Repository, dst, src)
	if err != nil {
		return PullRequest{}, err
	}
	templates, err := s.ApprovalRuleTemplates(ctx)
	if err != nil {
		return PullRequest{}, err
	}
	now := s.now()
	pr := PullRequest{
		Repository: req.Repository, Title: req.Title, Description: req.Description, Author: req.Principal,
		Status: PullRequestOpen, Source: req.Source, Destination: req.Destination,
		SourceCommit: src, DestinationCommit: dst, MergeBase: base, Created: now, Updated: now,
	}
	for _, t := range templates {
		if !slices.Contains(t.Repositories, req.Repository) {
			continue
		}
		c, err := ParseApprovalRuleContent(t.Content)
		if err != nil {
			continue // checked when stored; a template that no longer reads binds nothing
		}
		if len(c.DestinationReferences) > 0 && !slices.Contains(c.DestinationReferences, "refs/heads/"+req.Destination) {
			continue
		}
		pr.Rules = append(pr.Rules, PullApprovalRule{Name: t.Name, Content: t.Content, FromTemplate: t.Name, Created: now})
	}
	id, err := s.store.NextBuildNumber(ctx, pullRequestCounter)
	if err != nil {
		return PullRequest{}, err
	}
	pr.ID = id
	if err := s.writePull(ctx, &pr, pullNote{event: "pullRequestCreated"}); err != nil {
		return PullRequest{}, err
	}
	s.pullTriggered(ctx, pr, "OPEN")
	return s.withState(ctx, pr), nil
}

func gitError(field string, err error) error {
	switch {
	case errors.Is(err, gitserver.ErrNotFound):
		return Errorf(CodeNotFound, "%s: %s", field, err.Error())
	case errors.Is(err, gitserver.ErrInvalid):
		return Errorf(CodeInvalid, "%s: %s", field, err.Error())
	case errors.Is(err, gitserver.ErrExists):
		return Errorf(CodeConflict, "%s: %s", field, err.Error())
	}
	return err
}

// pullAttempts bounds how many times a change to a pull request is worked
// out again because someone else wrote the request first.
const pullAttempts = 20

// changePull reads pull request id of repo, lets change work the change out
// (it may read git: it runs outside any transaction) and say which events it
// makes, and writes the result with those events in one transaction, on
// condition that nobody wrote the request since it was read (compare-and-swap
// on its revision). When somebody did, on this replica or another sharing the
// store, it reads the request again and works the change out again from
// there: no concurrent change is lost, and nothing is written twice.
func (s *Service) changePull(ctx context.Context, repo string, id int64, change func(pr *PullRequest) ([]pullNote, error)) (PullRequest, error) {
	for attempt := 1; ; attempt++ {
		pr, err := s.pull(ctx, repo, id)
		if err != nil {
			return PullRequest{}, err
		}
		notes, err := change(&pr)
		if errors.Is(err, errPullUnchanged) {
			return s.pull(ctx, repo, id)
		}
		if err != nil {
			return PullRequest{}, err
		}
		err = s.writePull(ctx, &pr, notes...)
		if !errors.Is(err, store.ErrConflict) {
			return pr, err
		}
		if attempt == pullAttempts {
			return PullRequest{}, Errorf(CodeConflict, "pull request %d: changed by others %d times while this change was made; try again", id, attempt)
		}
		if err := ctx.Err(); err != nil {
			return PullRequest{}, err
		}
	}
}

// writePull stores pr with the events of notes in one transaction: both or
// neither. A request read from the store (revision set) is replaced only if
// it is still at that revision, a new one created only if its name is free;
// otherwise the error wraps store.ErrConflict and nothing is written.
func (s *Service) writePull(ctx context.Context, pr *PullRequest, notes ...pullNote) error {
	if pr.revision != 0 {
		pr.Updated = s.now()
	}
	for i := range pr.Rules {
		pr.Rules[i].Satisfied = false // worked out on reading, never stored
	}
	raw, err := json.Marshal(pr)
	if err != nil {
		return err
	}
	events := make([]store.Event, 0, len(notes))
	for _, n := range notes {
		ev, err := s.pullEventOf(*pr, n)
		if err != nil {
			return err
		}
		events = append(events, ev)
	}
	err = s.store.UpdateGlobal(ctx, func(tx store.Tx) error {
		d := store.Definition{Kind: store.KindPullRequest, Name: pullName(pr.ID), Document: raw, Created: pr.Created, Updated: pr.Updated, Revision: pr.revision}
		if err := tx.PutDefinition(ctx, d); err != nil {
			return err
		}
		for _, ev := range events {
			if err := tx.InsertEvent(ctx, ev); err != nil {
				return fmt.Errorf("pull request %d: %w", pr.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	pr.revision++
	if len(events) > 0 {
		s.changed.broadcast()
	}
	return nil
}

// PullRequest returns a pull request of repository repo, with its source's
// current tip and the state of its rules.
func (s *Service) PullRequest(ctx context.Context, repo string, id int64) (PullRequest, error) {
	pr, err := s.pull(ctx, repo, id)
	if err != nil {
		return PullRequest{}, err
	}
	return s.withState(ctx, pr), nil
}

func (s *Service) pull(ctx context.Context, repo string, id int64) (PullRequest, error) {
	d, err := s.store.Definition(ctx, store.KindPullRequest, pullName(id))
	if errors.Is(err, store.ErrNotFound) {
		return PullRequest{}, Errorf(CodeNotFound, "pull request %d not found in repository %s", id, repo)
	}
	if err != nil {
		return PullRequest{}, err
	}
	var pr PullRequest
	if err := json.Unmarshal(d.Document, &pr); err != nil {
		return PullRequest{}, fmt.Errorf("pull request %d: %w", id, err)
	}
	if pr.Repository != repo {
		return PullRequest{}, Errorf(CodeNotFound, "pull request %d not found in repository %s", id, repo)
	}
	pr.revision = d.Revision
	return pr, nil
}

// withState refreshes an open request's tips from the repository and works
// out which rules its current approvals satisfy.
func (s *Service) withState(ctx context.Context, pr PullRequest) PullRequest {
	if pr.Status == PullRequestOpen && s.pullRepos != nil {
		if src, err := s.pullRepos.Head(ctx, pr.Repository, pr.Source); err == nil {
			pr.SourceCommit = src
		}
		if dst, err := s.pullRepos.Head(ctx, pr.Repository, pr.Destination); err == nil {
			pr.DestinationCommit = dst
		}
		// The destination may have been merged into the source since.
		if base, err := s.pullRepos.MergeBase(ctx, pr.Repository, pr.DestinationCommit, pr.SourceCommit); err == nil && base != "" {
			pr.MergeBase = base
		}
	}
	for i := range pr.Rules {
		pr.Rules[i].Satisfied = s.ruleSatisfied(ctx, pr, pr.Rules[i])
	}
	if pr.Comments == nil {
		pr.Comments = []PullComment{}
	}
	if pr.Approvals == nil {
		pr.Approvals = []PullApproval{}
	}
	if pr.Rules == nil {
		pr.Rules = []PullApprovalRule{}
	}
	return pr
}

// CurrentApprovals are the principals whose approval is of the request's
// current revision.
func (pr PullRequest) CurrentApprovals() []string {
	var who []string
	for _, a := range pr.Approvals {
		if a.Revision == pr.SourceCommit {
			who = append(who, a.Principal)
		}
	}
	return who
}

// ruleSatisfied: every statement of the rule has its number of approvals of
// the current revision from members of its pool (anyone when it names none).
// A member is a pattern matched against the approver's user ARN
// (arn:aws:iam::ACCOUNT:user/NAME) or name, or "policy/NAME": approvers
// whose token has policy NAME.
func (s *Service) ruleSatisfied(ctx context.Context, pr PullRequest, r PullApprovalRule) bool {
	c, err := ParseApprovalRuleContent(r.Content)
	if err != nil {
		return false
	}
	approvers := pr.CurrentApprovals()
	for _, st := range c.Statements {
		n := 0
		for _, who := range approvers {
			if s.inPool(ctx, who, st.ApprovalPoolMembers) {
				n++
			}
		}
		if n < st.NumberOfApprovalsNeeded {
			return false
		}
	}
	return true
}

func (s *Service) inPool(ctx context.Context, principal string, pool []string) bool {
	if len(pool) == 0 {
		return true
	}
	arn := s.userARN(principal)
	for _, m := range pool {
		if pol, ok := strings.CutPrefix(m, "policy/"); ok {
			tok, err := s.tokenByName(ctx, principal)
			if err == nil && tok.PolicyDocument == "" {
				if ok, _ := path.Match(pol, tok.Policy); ok {
					return true
				}
			}
			continue
		}
		// CodeCommit's short form: CodeCommitApprovers:ACCOUNT:NAME.
		if rest, ok := strings.CutPrefix(m, "CodeCommitApprovers:"); ok {
			account, name, _ := strings.Cut(rest, ":")
			if account == s.aws.Account {
				if ok, _ := path.Match(name, principal); ok {
					return true
				}
			}
			continue
		}
		if ok, _ := path.Match(m, arn); ok {
			return true
		}
		if ok, _ := path.Match(m, principal); ok {
			return true
		}
	}
	return false
}

// PullRequestFilter selects pull requests of a repository.
type PullRequestFilter struct {
	Repository string
	Status     string // "" for any
	Author     string // "" for any
}

// PullRequests lists a repository's pull requests, newest first.
func (s *Service) PullRequests(ctx context.Context, f PullRequestFilter) ([]PullRequest, error) {
	if f.Status != "" && f.Status != PullRequestOpen && f.Status != PullRequestClosed {
		return nil, Errorf(CodeInvalid, "pullRequestStatus: %q is not OPEN or CLOSED", f.Status)
	}
	defs, err := s.store.Definitions(ctx, store.KindPullRequest)
	if err != nil {
		return nil, err
	}
	var out []PullRequest
	for i := len(defs) - 1; i >= 0; i-- {
		var pr PullRequest
		if err := json.Unmarshal(defs[i].Document, &pr); err != nil {
			return nil, fmt.Errorf("pull request %s: %w", defs[i].Name, err)
		}
		if pr.Repository != f.Repository || (f.Status != "" && pr.Status != f.Status) || (f.Author != "" && pr.Author != f.Author) {
			continue
		}
		out = append(out, s.withState(ctx, pr))
	}
	return out, nil
}

// PullRequestUpdate changes a pull request's title or description (nil for
// unchanged) or closes it.
type PullRequestUpdate struct {
	Repository  string
	ID          int64
	Title       *string
	Description *string
	Close       bool
	Principal   string
}

// UpdatePullRequest applies u to an open pull request.
func (s *Service) UpdatePullRequest(ctx context.Context, u PullRequestUpdate) (PullRequest, error) {
	if u.Title != nil {
		if err := checkText("title", *u.Title, maxPullTitle, true); err != nil {
			return PullRequest{}, err
		}
	}
	if u.Description != nil {
		if err := checkText("description", *u.Description, maxPullDescription, false); err != nil {
			return PullRequest{}, err
		}
	}
	pr, err := s.changePull(ctx, u.Repository, u.ID, func(pr *PullRequest) ([]pullNote, error) {
		if pr.Status != PullRequestOpen {
			return nil, Errorf(CodeConflict, "pull request %d is closed", pr.ID)
		}
		if u.Title != nil {
			pr.Title = *u.Title
		}
		if u.Description != nil {
			pr.Description = *u.Description
		}
		if !u.Close {
			return nil, nil
		}
		if err := s.notMerging(*pr); err != nil {
			return nil, err
		}
		*pr = s.withState(ctx, *pr)
		pr.Status = PullRequestClosed
		return []pullNote{{event: "pullRequestStatusChanged"}}, nil
	})
	if err != nil {
		return PullRequest{}, err
	}
	if u.Close {
		s.pullTriggered(ctx, pr, "CLOSED")
	}
	return s.withState(ctx, pr), nil
}

// PullCommentRequest is a comment to add.
type PullCommentRequest struct {
	Repository string
	ID         int64
	Content    string
	FilePath   string // with Line, a comment on a line of a file of the diff
	Line       int
	Principal  string
}

// CommentOnPullRequest adds a comment. A comment on a file names a file the
// source commit has and a line from 1.
func (s *Service) CommentOnPullRequest(ctx context.Context, c PullCommentRequest) (PullComment, error) {
	if err := checkText("content", c.Content, maxPullComment, true); err != nil {
		return PullComment{}, err
	}
	if (c.FilePath != "" || c.Line != 0) && (c.FilePath == "" || c.Line < 1) {
		return PullComment{}, Errorf(CodeInvalid, "filePath and filePosition: a comment on a file needs both, the line counted from 1")
	}
	var cm PullComment
	_, err := s.changePull(ctx, c.Repository, c.ID, func(pr *PullRequest) ([]pullNote, error) {
		*pr = s.withState(ctx, *pr)
		if len(pr.Comments) >= maxPullComments {
			return nil, Errorf(CodeConflict, "pull request %d has %d comments, the most it can have", pr.ID, maxPullComments)
		}
		cm = PullComment{ID: len(pr.Comments) + 1, Author: c.Principal, Content: c.Content, Created: s.now()}
		if c.FilePath != "" {
			git, err := s.pullGit()
			if err != nil {
				return nil, err
			}
			ok, err := git.FileAt(ctx, pr.Repository, pr.SourceCommit, c.FilePath)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, Errorf(CodeInvalid, "filePath: %s is not a file of the source commit %s", c.FilePath, pr.SourceCommit)
			}
			cm.FilePath, cm.Line, cm.Commit = c.FilePath, c.Line, pr.SourceCommit
		}
		pr.Comments = append(pr.Comments, cm)
		return []pullNote{{event: "commentOnPullRequestCreated", comment: &cm}}, nil
	})
	if err != nil {
		return PullComment{}, err
	}
	return cm, nil
}

// SetPullRequestApproval approves the current revision (approve true) or
// revokes the principal's approval. The author cannot approve their own
// request, as in CodeCommit.
func (s *Service) SetPullRequestApproval(ctx context.Context, repo string, id int64, principal string, approve bool) (PullRequest, error) {
	pr, err := s.changePull(ctx, repo, id, func(pr *PullRequest) ([]pullNote, error) {
		*pr = s.withState(ctx, *pr)
		if pr.Status != PullRequestOpen {
			return nil, Errorf(CodeConflict, "pull request %d is closed", pr.ID)
		}
		if approve && principal == pr.Author {
			return nil, Errorf(CodeForbidden, "%s opened pull request %d and cannot approve it", principal, pr.ID)
		}
		pr.Approvals = slices.DeleteFunc(pr.Approvals, func(a PullApproval) bool { return a.Principal == principal })
		state := "REVOKE"
		if approve {
			pr.Approvals = append(pr.Approvals, PullApproval{Principal: principal, Revision: pr.SourceCommit, Time: s.now()})
			state = "APPROVE"
		}
		return []pullNote{{event: "pullRequestApprovalStateChanged", approval: state}}, nil
	})
	if err != nil {
		return PullRequest{}, err
	}
	return s.withState(ctx, pr), nil
}

// OverridePullRequestApprovalRules sets the rules aside (override true) or
// puts them back.
func (s *Service) OverridePullRequestApprovalRules(ctx context.Context, repo string, id int64, principal string, override bool) (PullRequest, error) {
	pr, err := s.changePull(ctx, repo, id, func(pr *PullRequest) ([]pullNote, error) {
		if pr.Status != PullRequestOpen {
			return nil, Errorf(CodeConflict, "pull request %d is closed", pr.ID)
		}
		pr.Override = nil
		if override {
			pr.Override = &PullOverride{Principal: principal, Time: s.now()}
		}
		return []pullNote{{event: "pullRequestApprovalRuleOverridden"}}, nil
	})
	if err != nil {
		return PullRequest{}, err
	}
	return s.withState(ctx, pr), nil
}

// AddPullRequestApprovalRule gives a pull request a rule of its own.
func (s *Service) AddPullRequestApprovalRule(ctx context.Context, repo string, id int64, name, content string) (PullRequest, error) {
	if !templateName.MatchString(name) {
		return PullRequest{}, Errorf(CodeInvalid, "approvalRuleName: %q: 1-100 of letters, digits and ._- ", name)
	}
	if _, err := ParseApprovalRuleContent(content); err != nil {
		return PullRequest{}, err
	}
	pr, err := s.changePull(ctx, repo, id, func(pr *PullRequest) ([]pullNote, error) {
		if pr.Status != PullRequestOpen {
			return nil, Errorf(CodeConflict, "pull request %d is closed", pr.ID)
		}
		for _, r := range pr.Rules {
			if r.Name == name {
				return nil, Errorf(CodeConflict, "pull request %d has a rule %s already", pr.ID, name)
			}
		}
		pr.Rules = append(pr.Rules, PullApprovalRule{Name: name, Content: content, Created: s.now()})
		return nil, nil
	})
	if err != nil {
		return PullRequest{}, err
	}
	return s.withState(ctx, pr), nil
}

// MergePullRequestRequest asks to merge.
type MergePullRequestRequest struct {
	Repository   string
	ID           int64
	Strategy     string // gitserver.FastForward, Squash or ThreeWay
	SourceCommit string // optional: the tip the caller looked at
	Message      string
	AuthorName   string
	AuthorEmail  string
	Principal    string
}

// pullMergeLease is how long a claim on merging a pull request stands. The
// git step of a merge is bounded to half of it, so a live claim always
// outlasts its merge; a claim older than the lease was left by a replica
// that stopped between claiming and recording, and the next merge recovers
// it (see MergePullRequest).
const pullMergeLease = 10 * time.Minute

// notMerging refuses a change that must not happen during a merge (another
// merge, closing).
func (s *Service) notMerging(pr PullRequest) error {
	if pr.Merging != nil && s.now().Sub(pr.Merging.Since) < pullMergeLease {
		return Errorf(CodeConflict, "pull request %d is being merged by %s since %s", pr.ID, pr.Merging.Principal, pr.Merging.Since.UTC().Format(time.RFC3339))
	}
	return nil
}

// errPullUnchanged, from a change given to changePull, writes nothing.
var errPullUnchanged = errors.New("pull request unchanged")

// MergePullRequest merges an open pull request whose rules are satisfied (or
// overridden) and closes it.
//
// A merge runs git between two writes, so it is made in three steps, each
// safe with other replicas doing the same:
//
//  1. claim: a compare-and-swap write records the merge under way with the
//     source and destination tips it starts from (Merging). Only one claim
//     stands at a time: a second merge, on any replica, is refused while it
//     does.
//  2. git: the destination is moved only from the claimed tip (update-ref
//     with the old value), so one claim's git step lands at most once, and a
//     merge that would change nothing is refused.
//  3. record: the merge, the closing and its event are written in one
//     transaction, retried on conflicts with concurrent approvals or
//     comments; a git step that did not land lets the claim go instead.
//
// A replica that dies between 2 and 3 leaves its claim; once the claim's
// lease has run out, the next merge looks at git: a destination that moved
// from the claimed tip and holds the claimed source commit means the merge
// landed, and it is recorded rather than made again; otherwise the claim is
// dropped and the merge made afresh (a squash that had landed then changes
// nothing, and git refuses it).
func (s *Service) MergePullRequest(ctx context.Context, m MergePullRequestRequest) (PullRequest, error) {
	git, err := s.pullGit()
	if err != nil {
		return PullRequest{}, err
	}
	claim := PullMerging{Claim: newID(), Principal: m.Principal, Strategy: m.Strategy}
	var recovered bool
	pr, err := s.changePull(ctx, m.Repository, m.ID, func(pr *PullRequest) ([]pullNote, error) {
		recovered = false
		*pr = s.withState(ctx, *pr)
		if pr.Status != PullRequestOpen {
			return nil, Errorf(CodeConflict, "pull request %d is closed", pr.ID)
		}
		if err := s.notMerging(*pr); err != nil {
			return nil, err
		}
		if c := pr.Merging; c != nil { // a claim left by a replica that stopped
			landed := false
			if pr.DestinationCommit != c.DestinationCommit {
				var err error
				if landed, err = git.IsAncestor(ctx, pr.Repository, c.SourceCommit, pr.DestinationCommit); err != nil {
					return nil, err
				}
			}
			pr.Merging = nil
			if landed {
				recovered = true
				pr.Status, pr.Merged, pr.MergedBy, pr.MergeCommit, pr.MergeOption = PullRequestClosed, true, c.Principal, pr.DestinationCommit, c.Strategy
				s.log.Warn("pull request merge recovered: its git step had landed", "repository", pr.Repository, "pullRequest", pr.ID, "claimedBy", c.Principal, "since", c.Since)
				return []pullNote{{event: "pullRequestMergeStatusUpdated"}}, nil
			}
		}
		if pr.Override == nil {
			var unmet []string
			for _, r := range pr.Rules {
				if !r.Satisfied {
					unmet = append(unmet, r.Name)
				}
			}
			if len(unmet) > 0 {
				return nil, Errorf(CodeConflict, "pull request %d cannot be merged: approval rule(s) %s not satisfied by the approvals of revision %s (approved by: %s)",
					pr.ID, strings.Join(unmet, ", "), pr.SourceCommit, orNone(pr.CurrentApprovals()))
			}
		}
		if m.SourceCommit != "" && m.SourceCommit != pr.SourceCommit {
			return nil, Errorf(CodeInvalid, "sourceCommitId: branch %s is at %s, not %s: it moved since; look at the pull request again", pr.Source, pr.SourceCommit, m.SourceCommit)
		}
		claim.Since, claim.SourceCommit, claim.DestinationCommit = s.now(), pr.SourceCommit, pr.DestinationCommit
		c := claim
		pr.Merging = &c
		return nil, nil
	})
	if err != nil {
		return PullRequest{}, err
	}
	if recovered {
		s.pullTriggered(ctx, pr, "CLOSED")
		return s.withState(ctx, pr), nil
	}

	msg := m.Message
	if msg == "" {
		msg = fmt.Sprintf("Merge pull request %d: %s", pr.ID, pr.Title)
	}
	gctx, cancel := context.WithTimeout(ctx, pullMergeLease/2)
	tip, gitErr := git.Merge(gctx, gitserver.MergeRequest{Repository: pr.Repository, Source: pr.Source, Destination: pr.Destination,
		Strategy: m.Strategy, SourceCommit: claim.SourceCommit, DestinationCommit: claim.DestinationCommit,
		Message: msg, AuthorName: m.AuthorName, AuthorEmail: m.AuthorEmail, Principal: m.Principal})
	cancel()
	if tip == "" {
		s.releaseMergeClaim(ctx, pr, claim.Claim)
		var ce *gitserver.ConflictError
		if errors.As(gitErr, &ce) {
			return PullRequest{}, &Error{Code: CodeConflict, Msg: fmt.Sprintf("pull request %d: %s", pr.ID, ce.Error())}
		}
		return PullRequest{}, gitError("merge", gitErr)
	}
	pr, err = s.changePull(ctx, m.Repository, m.ID, func(pr *PullRequest) ([]pullNote, error) {
		if pr.Merged {
			return nil, errPullUnchanged // recorded by a recovery meanwhile
		}
		pr.Status, pr.Merged, pr.MergedBy, pr.MergeCommit, pr.MergeOption = PullRequestClosed, true, m.Principal, tip, m.Strategy
		pr.Merging = nil
		return []pullNote{{event: "pullRequestMergeStatusUpdated"}}, nil
	})
	if err != nil {
		return PullRequest{}, fmt.Errorf("pull request %d merged as %s, but recording it failed (the next merge attempt records it): %w", m.ID, tip, err)
	}
	s.pullTriggered(ctx, pr, "CLOSED")
	return s.withState(ctx, pr), gitErr
}

// releaseMergeClaim lets a merge's claim go when its git step did not land.
// Failing that, the claim runs out with its lease.
func (s *Service) releaseMergeClaim(ctx context.Context, pr PullRequest, claim string) {
	_, err := s.changePull(ctx, pr.Repository, pr.ID, func(pr *PullRequest) ([]pullNote, error) {
		if pr.Merging == nil || pr.Merging.Claim != claim {
			return nil, errPullUnchanged
		}
		pr.Merging = nil
		return nil, nil
	})
	if err != nil {
		s.log.Warn("pull request merge claim not released; it runs out with its lease", "repository", pr.Repository, "pullRequest", pr.ID, "err", err)
	}
}

// pullTriggered starts the pipelines event of pr starts; a failure is
// logged: the pull request's change is made, and the pipelines' own
// trigger notes say what they did.
func (s *Service) pullTriggered(ctx context.Context, pr PullRequest, event string) {
	if err := s.pullRequestToPipelines(ctx, pr, event); err != nil {
		s.log.Warn("pull request trigger failed", "repository", pr.Repository, "pullRequest", pr.ID, "event", event, "err", err)
	}
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "nobody"
	}
	return strings.Join(list, ", ")
}

// ParsePullRequestID reads a pull request id from a path.
func ParsePullRequestID(v string) (int64, error) {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return 0, Errorf(CodeInvalid, "pullRequestId: %q is not a pull request id (a number from 1)", v)
	}
	return id, nil
}

// PullRequestRepository names the repository of pull request id (CodeCommit's
// operations name a pull request by its id alone).
func (s *Service) PullRequestRepository(ctx context.Context, id int64) (string, error) {
	d, err := s.store.Definition(ctx, store.KindPullRequest, pullName(id))
	if errors.Is(err, store.ErrNotFound) {
		return "", Errorf(CodeNotFound, "pull request %d not found", id)
	}
	if err != nil {
		return "", err
	}
	var pr struct {
		Repository string `json:"repositoryName"`
	}
	if err := json.Unmarshal(d.Document, &pr); err != nil {
		return "", fmt.Errorf("pull request %d: %w", id, err)
	}
	return pr.Repository, nil
}
