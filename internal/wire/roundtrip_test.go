package wire

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/wire/wiretest"
)

// bodies is every JSON body of the API, one zero value each. The test
// below fails when a type of this package is missing here.
var bodies = []any{
	ActionExecution{}, ActionReport{}, ActionState{}, ActionTypeID{}, ApplyResult{}, Approval{},
	ApprovalResult{}, Artifact{}, AuditList{}, AuditRecord{}, BranchProtection{}, ClaimRequest{}, ConditionState{}, DeployGroup{}, DeployGroupApplyResult{}, Deployment{}, DeploymentHost{}, HostEvent{}, AgentClaim{}, AgentRegistration{}, Agent{}, HostTask{}, HostResult{}, OverrideConditionRequest{}, RollbackMetadata{}, RollbackRequest{}, RuleExecution{}, RuleExecutionList{},
	CreateRepoRequest{}, CreateTokenRequest{}, CreatedToken{}, EnvironmentVariable{}, ErrorBody{},
	Event{}, Execution{}, ExecutionRef{}, ExecutionSummary{}, Function{}, FunctionApplyResult{},
	Graph{}, GraphEdge{}, GraphNode{}, HeartbeatRequest{}, HeartbeatResult{}, InputTransformer{},
	Job{}, JobFailure{}, JobResult{}, JobSuccess{}, LatestExecution{}, LockState{}, Mirror{}, MirrorList{}, MirrorStatus{}, PipelineState{},
	PipelineSummary{}, Policy{}, PutMirrorRequest{}, Project{}, Repo{}, RetryRequest{}, Rule{}, RuleApplyResult{},
	AWSCredentials{}, CommitStatus{}, RuleDelivery{}, RuleEmail{}, RuleFunction{}, RulePipeline{}, RuleTarget{}, RuleWebhook{},
	SSHHost{}, SSHKey{}, SSHKeyList{}, SecretInfo{}, ReencryptReport{}, ReencryptFailure{}, SourceRevision{}, RevisionOverride{}, StageExecution{}, StageLatest{}, StageState{}, StartRequest{},
	StartResult{}, StopRequest{}, TokenInfo{}, TransitionRequest{}, TransitionState{}, Trigger{},
	UploadSSHPublicKeyRequest{},
	CreatePullRequestRequest{}, PullRequest{}, PullComment{}, PullApproval{}, PullApprovalRule{}, PullCommit{}, PullPipeline{},
	PullRequestList{}, PullDiff{}, UpdatePullRequestRequest{}, PullCommentRequest{}, ApprovalStateRequest{}, OverrideRequest{},
	MergePullRequestRequest{}, ApprovalRuleRequest{}, ApprovalRuleTemplate{}, ApprovalRuleTemplateList{},
	TriggerNote{}, Waiting{}, WaitingExecution{}, Webhook{}, WebhookFilter{},
}

// Every body survives JSON both ways with every field set: no field is
// lost to a missing or duplicate tag, an unexported name or `json:"-"`.
func TestBodiesRoundTrip(t *testing.T) {
	for _, zero := range bodies {
		typ := reflect.TypeOf(zero)
		t.Run(typ.Name(), func(t *testing.T) {
			full := reflect.New(typ)
			wiretest.Fill(full.Elem())
			data, err := json.Marshal(full.Interface())
			if err != nil {
				t.Fatal(err)
			}
			back := reflect.New(typ)
			if err := json.Unmarshal(data, back.Interface()); err != nil {
				t.Fatalf("%s: %v", data, err)
			}
			if !reflect.DeepEqual(full.Interface(), back.Interface()) {
				t.Fatalf("a %s changed on its way through JSON:\n sent %+v\n  got %+v\n JSON %s", typ.Name(), full.Elem(), back.Elem(), data)
			}
		})
	}
}

// bodies names every type the package declares.
func TestEveryBodyIsTested(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var declared []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.TYPE {
				for _, s := range gd.Specs {
					ts := s.(*ast.TypeSpec)
					name := ts.Name.Name
					// An alias (ErrorBody = errcode.Body) is tested under
					// the name reflect gives it, its target's.
					if sel, ok := ts.Type.(*ast.SelectorExpr); ok && ts.Assign.IsValid() {
						name = sel.Sel.Name
					}
					declared = append(declared, name)
				}
			}
		}
	}
	tested := map[string]bool{}
	for _, b := range bodies {
		tested[reflect.TypeOf(b).Name()] = true
	}
	sort.Strings(declared)
	for _, name := range declared {
		if !tested[name] {
			t.Errorf("%s is not in bodies: add it, so that its JSON round trip is tested", name)
		}
	}
}
