package awsapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/gitserver"
	"github.com/sluice-ci/sluice/internal/service"
)

// CodeCommit's JSON 1.1 API (X-Amz-Target CodeCommit_20150413.OP, signed
// for service codecommit) over the hosted repositories and their pull
// requests, so that `aws codecommit …` and the SDKs' CodeCommit clients
// work. Each operation is checked as the native API's route for the same use
// case (GetBranch and ListBranches read the repository: GetRepository).

// Repos are the hosted repositories (gitserver.Server).
type Repos interface {
	Create(ctx context.Context, name, description string) (gitserver.Repo, error)
	Get(ctx context.Context, name string) (gitserver.Repo, error)
	List(ctx context.Context) ([]gitserver.Repo, error)
	Delete(ctx context.Context, name string) error
	Head(ctx context.Context, name, branch string) (string, error)
	Branches(ctx context.Context, name string) ([]string, error)
}

func (h *Handler) codeCommitOperations() map[string]operation {
	repo := repoResourceOf("repositoryName")
	ops := map[string]operation{
		"CreateRepository": {action: "CreateRepository", resource: repo, run: h.ccCreateRepository},
		"GetRepository":    {action: "GetRepository", resource: repo, run: h.ccGetRepository},
		"ListRepositories": {action: "ListRepositories", resource: all, run: h.ccListRepositories},
		"DeleteRepository": {action: "DeleteRepository", resource: repo, run: h.ccDeleteRepository},
		"GetBranch":        {action: "GetRepository", resource: repo, run: h.ccGetBranch},
		"ListBranches":     {action: "GetRepository", resource: repo, run: h.ccListBranches},

		"CreatePullRequest":                {action: "CreatePullRequest", resource: repoResourceOf("targets.0.repositoryName"), run: h.ccCreatePullRequest},
		"GetPullRequest":                   {action: "GetPullRequest", resource: h.pullResource, run: h.ccGetPullRequest},
		"ListPullRequests":                 {action: "ListPullRequests", resource: repo, run: h.ccListPullRequests},
		"MergePullRequestByFastForward":    {action: "MergePullRequestByFastForward", resource: h.pullResource, run: h.ccMerge(gitserver.FastForward)},
		"MergePullRequestBySquash":         {action: "MergePullRequestBySquash", resource: h.pullResource, run: h.ccMerge(gitserver.Squash)},
		"MergePullRequestByThreeWay":       {action: "MergePullRequestByThreeWay", resource: h.pullResource, run: h.ccMerge(gitserver.ThreeWay)},
		"UpdatePullRequestApprovalState":   {action: "UpdatePullRequestApprovalState", resource: h.pullResource, run: h.ccApprovalState},
		"OverridePullRequestApprovalRules": {action: "OverridePullRequestApprovalRules", resource: h.pullResource, run: h.ccOverride},
		"UpdatePullRequestStatus":          {action: "UpdatePullRequestStatus", resource: h.pullResource, run: h.ccUpdateStatus},
		"PostCommentForPullRequest":        {action: "PostCommentForPullRequest", resource: h.pullResource, run: h.ccComment},

		"CreateApprovalRuleTemplate":                     {action: "CreateApprovalRuleTemplate", resource: templateResourceOf("approvalRuleTemplateName"), run: h.ccCreateTemplate},
		"GetApprovalRuleTemplate":                        {action: "GetApprovalRuleTemplate", resource: templateResourceOf("approvalRuleTemplateName"), run: h.ccGetTemplate},
		"AssociateApprovalRuleTemplateWithRepository":    {action: "AssociateApprovalRuleTemplateWithRepository", resource: repo, run: h.ccAssociate(true)},
		"DisassociateApprovalRuleTemplateFromRepository": {action: "DisassociateApprovalRuleTemplateFromRepository", resource: repo, run: h.ccAssociate(false)},
	}
	h.repoTriggerOperations(ops)
	return ops
}

// field reads a string at a dotted path of a JSON body (a number segment
// indexes an array).
func field(body []byte, path string) (string, error) {
	var v any
	if err := decodeInput(body, &v); err != nil {
		return "", err
	}
	for _, k := range splitPath(path) {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i >= len(x) {
				v = nil
			} else {
				v = x[i]
			}
		default:
			v = nil
		}
	}
	s, ok := v.(string)
	if !ok || s == "" {
		return "", validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", path)
	}
	return s, nil
}

func repoResourceOf(path string) func([]byte) (string, error) {
	return func(body []byte) (string, error) {
		name, err := field(body, path)
		if err != nil {
			return "", &Error{Type: "RepositoryNameRequiredException", Status: 400, Message: err.(*Error).Message}
		}
		return "repository/" + name, nil
	}
}

func templateResourceOf(path string) func([]byte) (string, error) {
	return func(body []byte) (string, error) {
		name, err := field(body, path)
		if err != nil {
			return "", &Error{Type: "ApprovalRuleTemplateNameRequiredException", Status: 400, Message: err.(*Error).Message}
		}
		return "approvalruletemplate/" + name, nil
	}
}

// pullResource is the repository of the body's pullRequestId.
func (h *Handler) pullResource(body []byte) (string, error) {
	id, err := pullID(body)
	if err != nil {
		return "", err
	}
	repo, err := h.svc.PullRequestRepository(context.Background(), id)
	if err != nil {
		return "", ccError(err)
	}
	return "repository/" + repo, nil
}

func pullID(body []byte) (int64, error) {
	v, err := field(body, "pullRequestId")
	if err != nil {
		return 0, &Error{Type: "PullRequestIdRequiredException", Status: 400, Message: err.(*Error).Message}
	}
	id, perr := strconv.ParseInt(v, 10, 64)
	if perr != nil || id < 1 {
		return 0, &Error{Type: "InvalidPullRequestIdException", Status: 400, Message: "pullRequestId " + v + " is not a pull request id"}
	}
	return id, nil
}

// ccError names CodeCommit's exception for a refusal of the service or the
// git server.
func ccError(err error) error {
	if err == nil {
		return nil
	}
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	var ce *gitserver.ConflictError
	msg := err.Error()
	if se := (*service.Error)(nil); errors.As(err, &se) {
		msg = se.Msg
	}
	e := func(typ string) *Error { return &Error{Type: typ, Status: http.StatusBadRequest, Message: msg} }
	switch {
	case errors.As(err, &ce) || strings.Contains(msg, "the merge conflicts in"):
		return e("ManualMergeRequiredException")
	case errors.Is(err, gitserver.ErrNotFound) && strings.HasPrefix(msg, "branch "),
		service.ErrorCode(err) == service.CodeNotFound && strings.Contains(msg, "Reference: branch"):
		return e("ReferenceDoesNotExistException")
	case errors.Is(err, gitserver.ErrNotFound):
		return e("RepositoryDoesNotExistException")
	case errors.Is(err, gitserver.ErrExists):
		return e("RepositoryNameExistsException")
	case errors.Is(err, gitserver.ErrInvalid):
		return e("InvalidRepositoryNameException")
	}
	switch service.ErrorCode(err) {
	case service.CodeNotFound:
		switch {
		case strings.HasPrefix(msg, "pull request "):
			return e("PullRequestDoesNotExistException")
		case strings.HasPrefix(msg, "approval rule template "):
			return e("ApprovalRuleTemplateDoesNotExistException")
		case strings.Contains(msg, "repository"):
			return e("RepositoryDoesNotExistException")
		}
		return e("ReferenceDoesNotExistException")
	case service.CodeConflict:
		switch {
		case strings.Contains(msg, "is closed"):
			return e("PullRequestAlreadyClosedException")
		case strings.Contains(msg, "not satisfied"):
			return e("PullRequestApprovalRulesNotSatisfiedException")
		case strings.HasPrefix(msg, "approval rule template "):
			return e("ApprovalRuleTemplateNameAlreadyExistsException")
		}
		return e("ConflictException")
	case service.CodeInvalid:
		switch {
		case strings.Contains(msg, "moved since"):
			return e("TipOfSourceReferenceIsDifferentException")
		case strings.Contains(msg, "cannot be fast-forwarded"):
			return e("ManualMergeRequiredException")
		case strings.HasPrefix(msg, "approvalRuleContent"):
			return e("InvalidApprovalRuleTemplateContentException")
		case strings.Contains(msg, "title"):
			return e("TitleRequiredException")
		}
		return e("InvalidParameterException")
	case service.CodeForbidden:
		if strings.Contains(msg, "cannot approve") {
			return e("PullRequestCannotBeApprovedByAuthorException")
		}
		return &Error{Type: "AccessDeniedException", Status: http.StatusForbidden, Message: msg}
	}
	return err
}

func (h *Handler) repos() (Repos, error) {
	if h.cfg.Repos == nil {
		return nil, &Error{Type: "RepositoryDoesNotExistException", Status: 400, Message: "this server hosts no repositories"}
	}
	return h.cfg.Repos, nil
}

// when is how CodeCommit's JSON writes dates: seconds since 1970.
func when(t time.Time) epoch { return epoch(float64(t.UnixMilli()) / 1000) }

type repositoryMetadata struct {
	AccountID             string `json:"accountId"`
	RepositoryID          string `json:"repositoryId"`
	RepositoryName        string `json:"repositoryName"`
	RepositoryDescription string `json:"repositoryDescription,omitempty"`
	DefaultBranch         string `json:"defaultBranch,omitempty"`
	CreationDate          epoch  `json:"creationDate"`
	LastModifiedDate      epoch  `json:"lastModifiedDate"`
	CloneURLHTTP          string `json:"cloneUrlHttp"`
	Arn                   string `json:"Arn"`
}

func (h *Handler) metadata(ctx context.Context, r gitserver.Repo) repositoryMetadata {
	m := repositoryMetadata{AccountID: h.id.Account, RepositoryID: service.NamedUUID("repository/" + r.Name), RepositoryName: r.Name,
		RepositoryDescription: r.Description, CreationDate: when(r.Created), LastModifiedDate: when(r.Created),
		CloneURLHTTP: strings.TrimSuffix(h.cfg.BaseURL, "/") + r.CloneURLPath, Arn: h.id.RepositoryARN(r.Name)}
	if repos, err := h.repos(); err == nil {
		if _, err := repos.Head(ctx, r.Name, "main"); err == nil {
			m.DefaultBranch = "main"
		}
	}
	return m
}

func (h *Handler) ccCreateRepository(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		RepositoryName        string `json:"repositoryName"`
		RepositoryDescription string `json:"repositoryDescription"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	repos, err := h.repos()
	if err != nil {
		return nil, err
	}
	r, err := repos.Create(ctx, in.RepositoryName, in.RepositoryDescription)
	if err != nil {
		return nil, ccError(err)
	}
	return map[string]any{"repositoryMetadata": h.metadata(ctx, r)}, nil
}

func (h *Handler) repoOf(ctx context.Context, body []byte) (gitserver.Repo, error) {
	name, err := field(body, "repositoryName")
	if err != nil {
		return gitserver.Repo{}, err
	}
	repos, err := h.repos()
	if err != nil {
		return gitserver.Repo{}, err
	}
	r, err := repos.Get(ctx, name)
	if err != nil {
		return gitserver.Repo{}, ccError(err)
	}
	return r, nil
}

func (h *Handler) ccGetRepository(ctx context.Context, c *call, body []byte) (any, error) {
	r, err := h.repoOf(ctx, body)
	if err != nil {
		return nil, err
	}
	return map[string]any{"repositoryMetadata": h.metadata(ctx, r)}, nil
}

func (h *Handler) ccListRepositories(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		Order string `json:"order"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	repos, err := h.repos()
	if err != nil {
		return nil, err
	}
	list, err := repos.List(ctx)
	if err != nil {
		return nil, err
	}
	type idName struct {
		RepositoryName string `json:"repositoryName"`
		RepositoryID   string `json:"repositoryId"`
	}
	out := []idName{}
	for _, r := range list {
		out = append(out, idName{r.Name, service.NamedUUID("repository/" + r.Name)})
	}
	sort.Slice(out, func(i, j int) bool {
		if in.Order == "descending" {
			return out[i].RepositoryName > out[j].RepositoryName
		}
		return out[i].RepositoryName < out[j].RepositoryName
	})
	return map[string]any{"repositories": out}, nil
}

func (h *Handler) ccDeleteRepository(ctx context.Context, c *call, body []byte) (any, error) {
	name, err := field(body, "repositoryName")
	if err != nil {
		return nil, err
	}
	repos, err := h.repos()
	if err != nil {
		return nil, err
	}
	if err := repos.Delete(ctx, name); err != nil {
		if errors.Is(err, gitserver.ErrNotFound) {
			// CodeCommit answers a repository that is not there with no id.
			return map[string]any{}, nil
		}
		return nil, ccError(err)
	}
	return map[string]any{"repositoryId": service.NamedUUID("repository/" + name)}, nil
}

func (h *Handler) ccGetBranch(ctx context.Context, c *call, body []byte) (any, error) {
	r, err := h.repoOf(ctx, body)
	if err != nil {
		return nil, err
	}
	branch, err := field(body, "branchName")
	if err != nil {
		return nil, &Error{Type: "BranchNameRequiredException", Status: 400, Message: err.(*Error).Message}
	}
	id, err := h.cfg.Repos.Head(ctx, r.Name, branch)
	if err != nil {
		if errors.Is(err, gitserver.ErrNotFound) {
			return nil, &Error{Type: "BranchDoesNotExistException", Status: 400, Message: err.Error()}
		}
		return nil, ccError(err)
	}
	return map[string]any{"branch": map[string]string{"branchName": branch, "commitId": id}}, nil
}

func (h *Handler) ccListBranches(ctx context.Context, c *call, body []byte) (any, error) {
	r, err := h.repoOf(ctx, body)
	if err != nil {
		return nil, err
	}
	list, err := h.cfg.Repos.Branches(ctx, r.Name)
	if err != nil {
		return nil, ccError(err)
	}
	if list == nil {
		list = []string{}
	}
	return map[string]any{"branches": list}, nil
}

// pullRequestShape is CodeCommit's PullRequest.
func (h *Handler) pullRequestShape(pr service.PullRequest) map[string]any {
	status := pr.Status
	merge := map[string]any{"isMerged": pr.Merged}
	if pr.Merged {
		merge["mergedBy"] = h.userARN(pr.MergedBy)
		merge["mergeCommitId"] = pr.MergeCommit
		merge["mergeOption"] = pr.MergeOption
	}
	rules := []map[string]any{}
	for _, r := range pr.Rules {
		sum := sha256.Sum256([]byte(r.Content))
		rule := map[string]any{
			"approvalRuleId": service.NamedUUID("approval-rule/" + strconv.FormatInt(pr.ID, 10) + "/" + r.Name), "approvalRuleName": r.Name,
			"approvalRuleContent": r.Content, "ruleContentSha256": hex.EncodeToString(sum[:]),
			"creationDate": when(r.Created), "lastModifiedDate": when(r.Created),
		}
		if r.FromTemplate != "" {
			rule["originApprovalRuleTemplate"] = map[string]string{"approvalRuleTemplateId": service.NamedUUID("approval-rule-template/" + r.FromTemplate),
				"approvalRuleTemplateName": r.FromTemplate}
		}
		rules = append(rules, rule)
	}
	return map[string]any{
		"pullRequestId": strconv.FormatInt(pr.ID, 10), "title": pr.Title, "description": pr.Description,
		"lastActivityDate": when(pr.Updated), "creationDate": when(pr.Created), "pullRequestStatus": status,
		"authorArn": h.userARN(pr.Author), "revisionId": pr.SourceCommit, "approvalRules": rules,
		"pullRequestTargets": []map[string]any{{
			"repositoryName": pr.Repository, "sourceReference": "refs/heads/" + pr.Source, "destinationReference": "refs/heads/" + pr.Destination,
			"sourceCommit": pr.SourceCommit, "destinationCommit": pr.DestinationCommit, "mergeBase": pr.MergeBase, "mergeMetadata": merge,
		}},
	}
}

func (h *Handler) userARN(principal string) string {
	return "arn:aws:iam::" + h.id.Account + ":user/" + principal
}

func (h *Handler) ccCreatePullRequest(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		Targets     []struct {
			RepositoryName       string `json:"repositoryName"`
			SourceReference      string `json:"sourceReference"`
			DestinationReference string `json:"destinationReference"`
		} `json:"targets"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if len(in.Targets) != 1 {
		return nil, &Error{Type: "MultipleRepositoriesInPullRequestException", Status: 400, Message: "targets: a pull request has exactly one target"}
	}
	t := in.Targets[0]
	dest := t.DestinationReference
	if dest == "" {
		dest = "main"
	}
	pr, err := h.svc.CreatePullRequest(ctx, service.PullRequestRequest{Repository: t.RepositoryName, Title: in.Title, Description: in.Description,
		Source: t.SourceReference, Destination: dest, Principal: c.principal.Name})
	if err != nil {
		return nil, ccError(err)
	}
	c.params["pullRequestId"] = strconv.FormatInt(pr.ID, 10)
	return map[string]any{"pullRequest": h.pullRequestShape(pr)}, nil
}

func (h *Handler) pullOf(ctx context.Context, body []byte) (service.PullRequest, error) {
	id, err := pullID(body)
	if err != nil {
		return service.PullRequest{}, err
	}
	repo, err := h.svc.PullRequestRepository(ctx, id)
	if err != nil {
		return service.PullRequest{}, ccError(err)
	}
	pr, err := h.svc.PullRequest(ctx, repo, id)
	if err != nil {
		return service.PullRequest{}, ccError(err)
	}
	return pr, nil
}

func (h *Handler) ccGetPullRequest(ctx context.Context, c *call, body []byte) (any, error) {
	pr, err := h.pullOf(ctx, body)
	if err != nil {
		return nil, err
	}
	return map[string]any{"pullRequest": h.pullRequestShape(pr)}, nil
}

func (h *Handler) ccListPullRequests(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		RepositoryName    string `json:"repositoryName"`
		AuthorArn         string `json:"authorArn"`
		PullRequestStatus string `json:"pullRequestStatus"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if _, err := h.repoOf(ctx, body); err != nil {
		return nil, err
	}
	author := in.AuthorArn
	if i := strings.LastIndex(author, ":user/"); i >= 0 {
		author = author[i+len(":user/"):]
	}
	list, err := h.svc.PullRequests(ctx, service.PullRequestFilter{Repository: in.RepositoryName, Status: in.PullRequestStatus, Author: author})
	if err != nil {
		return nil, ccError(err)
	}
	ids := []string{}
	for _, pr := range list {
		ids = append(ids, strconv.FormatInt(pr.ID, 10))
	}
	return map[string]any{"pullRequestIds": ids}, nil
}

func (h *Handler) ccMerge(strategy string) func(ctx context.Context, c *call, body []byte) (any, error) {
	return func(ctx context.Context, c *call, body []byte) (any, error) {
		var in struct {
			RepositoryName string `json:"repositoryName"`
			SourceCommitID string `json:"sourceCommitId"`
			CommitMessage  string `json:"commitMessage"`
			AuthorName     string `json:"authorName"`
			Email          string `json:"email"`
		}
		if err := decodeInput(body, &in); err != nil {
			return nil, err
		}
		pr, err := h.pullOf(ctx, body)
		if err != nil {
			return nil, err
		}
		if in.RepositoryName != pr.Repository {
			return nil, &Error{Type: "RepositoryNotAssociatedWithPullRequestException", Status: 400,
				Message: "repository " + in.RepositoryName + " is not the repository of pull request " + strconv.FormatInt(pr.ID, 10)}
		}
		merged, err := h.svc.MergePullRequest(ctx, service.MergePullRequestRequest{Repository: pr.Repository, ID: pr.ID, Strategy: strategy,
			SourceCommit: in.SourceCommitID, Message: in.CommitMessage, AuthorName: in.AuthorName, AuthorEmail: in.Email, Principal: c.principal.Name})
		if err != nil && merged.ID == 0 {
			return nil, ccError(err)
		}
		c.params["mergeCommitId"] = merged.MergeCommit
		return map[string]any{"pullRequest": h.pullRequestShape(merged)}, nil
	}
}

func (h *Handler) ccApprovalState(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		RevisionID    string `json:"revisionId"`
		ApprovalState string `json:"approvalState"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if in.ApprovalState != "APPROVE" && in.ApprovalState != "REVOKE" {
		return nil, &Error{Type: "InvalidApprovalStateException", Status: 400, Message: "approvalState: " + in.ApprovalState + " is not APPROVE or REVOKE"}
	}
	pr, err := h.pullOf(ctx, body)
	if err != nil {
		return nil, err
	}
	if in.RevisionID == "" {
		return nil, &Error{Type: "RevisionIdRequiredException", Status: 400, Message: "revisionId: required (GetPullRequest's revisionId)"}
	}
	if in.RevisionID != pr.SourceCommit {
		return nil, &Error{Type: "RevisionNotCurrentException", Status: 400, Message: "revisionId " + in.RevisionID + " is not the pull request's current revision " + pr.SourceCommit}
	}
	c.params["approvalState"] = in.ApprovalState
	if _, err := h.svc.SetPullRequestApproval(ctx, pr.Repository, pr.ID, c.principal.Name, in.ApprovalState == "APPROVE"); err != nil {
		return nil, ccError(err)
	}
	return map[string]any{}, nil
}

func (h *Handler) ccOverride(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		OverrideStatus string `json:"overrideStatus"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if in.OverrideStatus != "OVERRIDE" && in.OverrideStatus != "REVOKE" {
		return nil, &Error{Type: "InvalidOverrideStatusException", Status: 400, Message: "overrideStatus: " + in.OverrideStatus + " is not OVERRIDE or REVOKE"}
	}
	pr, err := h.pullOf(ctx, body)
	if err != nil {
		return nil, err
	}
	c.params["overrideStatus"] = in.OverrideStatus
	if _, err := h.svc.OverridePullRequestApprovalRules(ctx, pr.Repository, pr.ID, c.principal.Name, in.OverrideStatus == "OVERRIDE"); err != nil {
		return nil, ccError(err)
	}
	return map[string]any{}, nil
}

func (h *Handler) ccUpdateStatus(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		PullRequestStatus string `json:"pullRequestStatus"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if in.PullRequestStatus != service.PullRequestClosed {
		return nil, &Error{Type: "InvalidPullRequestStatusUpdateException", Status: 400, Message: "pullRequestStatus: a pull request can only be CLOSED"}
	}
	pr, err := h.pullOf(ctx, body)
	if err != nil {
		return nil, err
	}
	closed, err := h.svc.UpdatePullRequest(ctx, service.PullRequestUpdate{Repository: pr.Repository, ID: pr.ID, Close: true, Principal: c.principal.Name})
	if err != nil {
		return nil, ccError(err)
	}
	return map[string]any{"pullRequest": h.pullRequestShape(closed)}, nil
}

func (h *Handler) ccComment(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		Content  string `json:"content"`
		Location *struct {
			FilePath     string `json:"filePath"`
			FilePosition int    `json:"filePosition"`
		} `json:"location"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	pr, err := h.pullOf(ctx, body)
	if err != nil {
		return nil, err
	}
	req := service.PullCommentRequest{Repository: pr.Repository, ID: pr.ID, Content: in.Content, Principal: c.principal.Name}
	if in.Location != nil {
		req.FilePath, req.Line = in.Location.FilePath, in.Location.FilePosition
	}
	cm, err := h.svc.CommentOnPullRequest(ctx, req)
	if err != nil {
		return nil, ccError(err)
	}
	out := map[string]any{"repositoryName": pr.Repository, "pullRequestId": strconv.FormatInt(pr.ID, 10),
		"afterCommitId": pr.SourceCommit, "beforeCommitId": pr.DestinationCommit,
		"comment": map[string]any{"commentId": strconv.Itoa(cm.ID), "content": cm.Content, "authorArn": h.userARN(cm.Author), "creationDate": when(cm.Created)}}
	if cm.FilePath != "" {
		out["location"] = map[string]any{"filePath": cm.FilePath, "filePosition": cm.Line, "relativeFileVersion": "AFTER"}
	}
	return out, nil
}

func (h *Handler) templateShape(t service.ApprovalRuleTemplate) map[string]any {
	sum := sha256.Sum256([]byte(t.Content))
	return map[string]any{"approvalRuleTemplate": map[string]any{
		"approvalRuleTemplateId": service.NamedUUID("approval-rule-template/" + t.Name), "approvalRuleTemplateName": t.Name,
		"approvalRuleTemplateDescription": t.Description, "approvalRuleTemplateContent": t.Content,
		"ruleContentSha256": hex.EncodeToString(sum[:]), "creationDate": when(t.Created), "lastModifiedDate": when(t.Updated),
	}}
}

func (h *Handler) ccCreateTemplate(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		Name        string `json:"approvalRuleTemplateName"`
		Content     string `json:"approvalRuleTemplateContent"`
		Description string `json:"approvalRuleTemplateDescription"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	t, err := h.svc.CreateApprovalRuleTemplate(ctx, in.Name, in.Description, in.Content)
	if err != nil {
		return nil, ccError(err)
	}
	return h.templateShape(t), nil
}

func (h *Handler) ccGetTemplate(ctx context.Context, c *call, body []byte) (any, error) {
	name, err := field(body, "approvalRuleTemplateName")
	if err != nil {
		return nil, err
	}
	t, err := h.svc.ApprovalRuleTemplate(ctx, name)
	if err != nil {
		return nil, ccError(err)
	}
	return h.templateShape(t), nil
}

func (h *Handler) ccAssociate(on bool) func(ctx context.Context, c *call, body []byte) (any, error) {
	return func(ctx context.Context, c *call, body []byte) (any, error) {
		name, err := field(body, "approvalRuleTemplateName")
		if err != nil {
			return nil, &Error{Type: "ApprovalRuleTemplateNameRequiredException", Status: 400, Message: err.(*Error).Message}
		}
		repo, err := field(body, "repositoryName")
		if err != nil {
			return nil, err
		}
		_, err = h.svc.AssociateApprovalRuleTemplate(ctx, name, repo, on, func(r string) error {
			repos, err := h.repos()
			if err != nil {
				return err
			}
			_, err = repos.Get(ctx, r)
			return ccError(err)
		})
		if err != nil {
			return nil, ccError(err)
		}
		return map[string]any{}, nil
	}
}
