package awsapi_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	cctypes "github.com/aws/aws-sdk-go-v2/service/codecommit/types"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
)

func (f *fixture) codecommit(id, secret string) *codecommit.Client {
	return codecommit.New(codecommit.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(f.url),
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, ""),
		RetryMaxAttempts: 1,
	})
}

// pushBranches pushes main (a.txt, b.txt), feature (changes a.txt) and
// clash (changes b.txt as main does too) to repository repo.
func pushBranches(t *testing.T, base, token, repo string) {
	t.Helper()
	dir := t.TempDir()
	u, _ := url.Parse(base + "/git/" + repo + ".git")
	u.User = url.UserPassword("git", token)
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
			"GIT_AUTHOR_NAME=A", "GIT_AUTHOR_EMAIL=a@example.com", "GIT_COMMITTER_NAME=A", "GIT_COMMITTER_EMAIL=a@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q", "-b", "main")
	write("a.txt", "a\n")
	write("b.txt", "b\n")
	git("add", "-A")
	git("commit", "-q", "-m", "base")
	git("checkout", "-q", "-b", "feature")
	write("a.txt", "a from feature\n")
	git("commit", "-q", "-am", "feature")
	git("checkout", "-q", "-b", "clash", "main")
	write("b.txt", "b from clash\n")
	git("commit", "-q", "-am", "clash")
	git("checkout", "-q", "main")
	write("b.txt", "b from main\n")
	git("commit", "-q", "-am", "main moves")
	git("push", "-q", u.String(), "main", "feature", "clash")
}

// TestCodeCommitSDK drives CodeCommit's operations with the SDK's own
// CodeCommit client: repositories and branches, an approval rule template
// binding a repository, a pull request refused while its rule is unmet,
// refused approval by its author and by a viewer, approved by an approver,
// merged three-way; a conflicting one refused naming the file.
func TestCodeCommitSDK(t *testing.T) {
	t.Parallel()
	f := start(t)
	ctx := context.Background()
	adminKeys := f.keys(t, "boss", "admin")
	devKeys := f.keys(t, "dev", "operator")
	revKeys := f.keys(t, "rev", "approver")
	lookKeys := f.keys(t, "look", "viewer")
	admin := f.codecommit(adminKeys.AccessKeyID, adminKeys.SecretAccessKey)
	dev := f.codecommit(devKeys.AccessKeyID, devKeys.SecretAccessKey)
	rev := f.codecommit(revKeys.AccessKeyID, revKeys.SecretAccessKey)
	look := f.codecommit(lookKeys.AccessKeyID, lookKeys.SecretAccessKey)

	created, err := admin.CreateRepository(ctx, &codecommit.CreateRepositoryInput{RepositoryName: aws.String("app"), RepositoryDescription: aws.String("the app")})
	if err != nil {
		t.Fatal(err)
	}
	md := created.RepositoryMetadata
	if aws.ToString(md.RepositoryName) != "app" || !strings.HasSuffix(aws.ToString(md.CloneUrlHttp), "/git/app.git") || !strings.HasPrefix(aws.ToString(md.Arn), "arn:aws:codecommit:") || md.CreationDate == nil {
		t.Errorf("repository metadata = %+v", md)
	}
	if _, err := look.CreateRepository(ctx, &codecommit.CreateRepositoryInput{RepositoryName: aws.String("nope")}); errType(err) != "AccessDeniedException" {
		t.Errorf("viewer creates a repository: %v", err)
	}
	if _, err := admin.CreateRepository(ctx, &codecommit.CreateRepositoryInput{RepositoryName: aws.String("app")}); errType(err) != "RepositoryNameExistsException" {
		t.Errorf("create twice: %v", err)
	}
	if _, err := look.GetRepository(ctx, &codecommit.GetRepositoryInput{RepositoryName: aws.String("missing")}); errType(err) != "RepositoryDoesNotExistException" {
		t.Errorf("get a missing repository: %v", err)
	}
	pushBranches(t, f.url, adminKeys.Token, "app")
	list, err := look.ListRepositories(ctx, &codecommit.ListRepositoriesInput{})
	if err != nil || len(list.Repositories) != 1 || aws.ToString(list.Repositories[0].RepositoryName) != "app" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	branches, err := look.ListBranches(ctx, &codecommit.ListBranchesInput{RepositoryName: aws.String("app")})
	if err != nil || strings.Join(branches.Branches, ",") != "clash,feature,main" {
		t.Fatalf("branches = %+v, %v", branches, err)
	}
	br, err := look.GetBranch(ctx, &codecommit.GetBranchInput{RepositoryName: aws.String("app"), BranchName: aws.String("feature")})
	if err != nil || len(aws.ToString(br.Branch.CommitId)) != 40 {
		t.Fatalf("branch = %+v, %v", br, err)
	}
	if _, err := look.GetBranch(ctx, &codecommit.GetBranchInput{RepositoryName: aws.String("app"), BranchName: aws.String("gone")}); errType(err) != "BranchDoesNotExistException" {
		t.Errorf("missing branch: %v", err)
	}

	content := `{"Version":"2018-11-08","DestinationReferences":["refs/heads/main"],"Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":1,"ApprovalPoolMembers":["arn:aws:iam::*:user/rev"]}]}`
	if _, err := admin.CreateApprovalRuleTemplate(ctx, &codecommit.CreateApprovalRuleTemplateInput{ApprovalRuleTemplateName: aws.String("bad"),
		ApprovalRuleTemplateContent: aws.String(`{"Version":"2018-11-08"}`)}); errType(err) != "InvalidApprovalRuleTemplateContentException" {
		t.Errorf("bad template content: %v", err)
	}
	tpl, err := admin.CreateApprovalRuleTemplate(ctx, &codecommit.CreateApprovalRuleTemplateInput{ApprovalRuleTemplateName: aws.String("reviewed"), ApprovalRuleTemplateContent: aws.String(content)})
	if err != nil || aws.ToString(tpl.ApprovalRuleTemplate.ApprovalRuleTemplateContent) != content {
		t.Fatalf("template = %+v, %v", tpl, err)
	}
	if _, err := dev.AssociateApprovalRuleTemplateWithRepository(ctx, &codecommit.AssociateApprovalRuleTemplateWithRepositoryInput{
		ApprovalRuleTemplateName: aws.String("reviewed"), RepositoryName: aws.String("app")}); errType(err) != "AccessDeniedException" {
		t.Errorf("developer associates a template: %v", err)
	}
	if _, err := admin.AssociateApprovalRuleTemplateWithRepository(ctx, &codecommit.AssociateApprovalRuleTemplateWithRepositoryInput{
		ApprovalRuleTemplateName: aws.String("reviewed"), RepositoryName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}

	out, err := dev.CreatePullRequest(ctx, &codecommit.CreatePullRequestInput{Title: aws.String("Feature"),
		Targets: []cctypes.Target{{RepositoryName: aws.String("app"), SourceReference: aws.String("feature"), DestinationReference: aws.String("main")}}})
	if err != nil {
		t.Fatal(err)
	}
	pr := out.PullRequest
	id := aws.ToString(pr.PullRequestId)
	if pr.PullRequestStatus != cctypes.PullRequestStatusEnumOpen || len(pr.ApprovalRules) != 1 || aws.ToString(pr.ApprovalRules[0].OriginApprovalRuleTemplate.ApprovalRuleTemplateName) != "reviewed" ||
		aws.ToString(pr.PullRequestTargets[0].SourceCommit) != aws.ToString(br.Branch.CommitId) {
		t.Fatalf("pull request = %+v", pr)
	}
	ids, err := look.ListPullRequests(ctx, &codecommit.ListPullRequestsInput{RepositoryName: aws.String("app"), PullRequestStatus: cctypes.PullRequestStatusEnumOpen})
	if err != nil || len(ids.PullRequestIds) != 1 || ids.PullRequestIds[0] != id {
		t.Fatalf("pull request ids = %+v, %v", ids, err)
	}
	_, err = dev.MergePullRequestByThreeWay(ctx, &codecommit.MergePullRequestByThreeWayInput{PullRequestId: aws.String(id), RepositoryName: aws.String("app")})
	if errType(err) != "PullRequestApprovalRulesNotSatisfiedException" {
		t.Errorf("merge before approval: %v", err)
	}
	revision := aws.String(aws.ToString(pr.RevisionId))
	for who, c := range map[string]*codecommit.Client{"PullRequestCannotBeApprovedByAuthorException": dev, "AccessDeniedException": look} {
		_, err := c.UpdatePullRequestApprovalState(ctx, &codecommit.UpdatePullRequestApprovalStateInput{PullRequestId: aws.String(id), RevisionId: revision, ApprovalState: cctypes.ApprovalStateApprove})
		if errType(err) != who {
			t.Errorf("approval: %v, want %s", err, who)
		}
	}
	if _, err := rev.UpdatePullRequestApprovalState(ctx, &codecommit.UpdatePullRequestApprovalStateInput{PullRequestId: aws.String(id), RevisionId: revision, ApprovalState: cctypes.ApprovalStateApprove}); err != nil {
		t.Fatal(err)
	}
	merged, err := dev.MergePullRequestByThreeWay(ctx, &codecommit.MergePullRequestByThreeWayInput{PullRequestId: aws.String(id), RepositoryName: aws.String("app"),
		CommitMessage: aws.String("merge feature"), AuthorName: aws.String("Dev"), Email: aws.String("dev@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	mm := merged.PullRequest.PullRequestTargets[0].MergeMetadata
	if merged.PullRequest.PullRequestStatus != cctypes.PullRequestStatusEnumClosed || !mm.IsMerged || mm.MergeOption != cctypes.MergeOptionTypeEnumThreeWayMerge ||
		!strings.HasSuffix(aws.ToString(mm.MergedBy), ":user/dev") {
		t.Errorf("merged pull request = %+v, metadata %+v", merged.PullRequest, mm)
	}
	main, _ := look.GetBranch(ctx, &codecommit.GetBranchInput{RepositoryName: aws.String("app"), BranchName: aws.String("main")})
	if aws.ToString(main.Branch.CommitId) != aws.ToString(mm.MergeCommitId) {
		t.Errorf("main = %s, want the merge commit %s", aws.ToString(main.Branch.CommitId), aws.ToString(mm.MergeCommitId))
	}

	clash, err := dev.CreatePullRequest(ctx, &codecommit.CreatePullRequestInput{Title: aws.String("Clash"),
		Targets: []cctypes.Target{{RepositoryName: aws.String("app"), SourceReference: aws.String("clash"), DestinationReference: aws.String("main")}}})
	if err != nil {
		t.Fatal(err)
	}
	cid := clash.PullRequest.PullRequestId
	if _, err := dev.OverridePullRequestApprovalRules(ctx, &codecommit.OverridePullRequestApprovalRulesInput{PullRequestId: cid, RevisionId: clash.PullRequest.RevisionId, OverrideStatus: cctypes.OverrideStatusOverride}); errType(err) != "AccessDeniedException" {
		t.Errorf("developer overrides: %v", err)
	}
	if _, err := admin.OverridePullRequestApprovalRules(ctx, &codecommit.OverridePullRequestApprovalRulesInput{PullRequestId: cid, RevisionId: clash.PullRequest.RevisionId, OverrideStatus: cctypes.OverrideStatusOverride}); err != nil {
		t.Fatal(err)
	}
	_, err = dev.MergePullRequestBySquash(ctx, &codecommit.MergePullRequestBySquashInput{PullRequestId: cid, RepositoryName: aws.String("app")})
	if errType(err) != "ManualMergeRequiredException" || !strings.Contains(err.Error(), "b.txt") {
		t.Errorf("merge of a conflict: %v", err)
	}
	if _, err := admin.DeleteRepository(ctx, &codecommit.DeleteRepositoryInput{RepositoryName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	if _, err := look.GetRepository(ctx, &codecommit.GetRepositoryInput{RepositoryName: aws.String("app")}); errType(err) != "RepositoryDoesNotExistException" {
		t.Errorf("after delete: %v", err)
	}
}

// TestCodeCommitRepositoryTriggers: PutRepositoryTriggers makes rules over
// the push events: a push to the trigger's branch starts its pipeline, a
// push to another branch does not; GetRepositoryTriggers reads them back;
// an SNS destination and a caller without sluice:PutRule are refused; a
// second PutRepositoryTriggers replaces the first's.
func TestCodeCommitRepositoryTriggers(t *testing.T) {
	t.Parallel()
	f := start(t)
	ctx := context.Background()
	adminKeys := f.keys(t, "boss", "admin")
	devKeys := f.keys(t, "dev", "operator")
	admin := f.codecommit(adminKeys.AccessKeyID, adminKeys.SecretAccessKey)
	dev := f.codecommit(devKeys.AccessKeyID, devKeys.SecretAccessKey)
	cp := f.client(adminKeys.AccessKeyID, adminKeys.SecretAccessKey)
	if _, err := admin.CreateRepository(ctx, &codecommit.CreateRepositoryInput{RepositoryName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	made, err := cp.CreatePipeline(ctx, createInput("on-main"))
	if err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:codepipeline:us-east-1:000000000000:on-main"
	_ = made
	trigger := cctypes.RepositoryTrigger{Name: aws.String("main-pushes"), DestinationArn: aws.String(arn), Branches: []string{"main"},
		Events: []cctypes.RepositoryTriggerEventEnum{cctypes.RepositoryTriggerEventEnumUpdateReference, cctypes.RepositoryTriggerEventEnumCreateReference}}
	if _, err := dev.PutRepositoryTriggers(ctx, &codecommit.PutRepositoryTriggersInput{RepositoryName: aws.String("app"), Triggers: []cctypes.RepositoryTrigger{trigger}}); errType(err) != "AccessDeniedException" {
		t.Errorf("developer puts triggers: %v", err)
	}
	sns := trigger
	sns.DestinationArn = aws.String("arn:aws:sns:us-east-1:000000000000:topic")
	if _, err := admin.PutRepositoryTriggers(ctx, &codecommit.PutRepositoryTriggersInput{RepositoryName: aws.String("app"), Triggers: []cctypes.RepositoryTrigger{sns}}); errType(err) != "InvalidRepositoryTriggerDestinationArnException" {
		t.Errorf("an SNS destination: %v", err)
	}
	if _, err := admin.PutRepositoryTriggers(ctx, &codecommit.PutRepositoryTriggersInput{RepositoryName: aws.String("app"), Triggers: []cctypes.RepositoryTrigger{trigger}}); err != nil {
		t.Fatal(err)
	}
	got, err := admin.GetRepositoryTriggers(ctx, &codecommit.GetRepositoryTriggersInput{RepositoryName: aws.String("app")})
	if err != nil || len(got.Triggers) != 1 || aws.ToString(got.Triggers[0].DestinationArn) != arn || strings.Join(got.Triggers[0].Branches, ",") != "main" || len(got.Triggers[0].Events) != 2 {
		t.Fatalf("triggers = %+v, %v", got, err)
	}
	before := executions(t, cp, "on-main")
	pushBranches(t, f.url, adminKeys.Token, "app") // creates main, feature and clash
	// Rules deliver after the push returns: wait for main's execution. The
	// push's events are handed to rules in order, and main's comes last
	// (git sends the updates sorted by name), so by then feature's and
	// clash's have been matched too.
	deadline := time.Now().Add(20 * time.Second)
	after := executions(t, cp, "on-main")
	for after == before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling the API, not standing in for an order
		after = executions(t, cp, "on-main")
	}
	if after != before+1 {
		t.Errorf("executions of on-main: %d before the push, %d after; want one more (main created, not feature or clash)", before, after)
	}
	// Replaced by none: the rule goes.
	if _, err := admin.PutRepositoryTriggers(ctx, &codecommit.PutRepositoryTriggersInput{RepositoryName: aws.String("app"), Triggers: []cctypes.RepositoryTrigger{}}); err != nil {
		t.Fatal(err)
	}
	if got, err := admin.GetRepositoryTriggers(ctx, &codecommit.GetRepositoryTriggersInput{RepositoryName: aws.String("app")}); err != nil || len(got.Triggers) != 0 {
		t.Errorf("triggers after replacing with none = %+v, %v", got, err)
	}
}

func executions(t *testing.T, cp *codepipeline.Client, name string) int {
	t.Helper()
	out, err := cp.ListPipelineExecutions(context.Background(), &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.PipelineExecutionSummaries)
}
