package api

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/access"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/auth"
	"github.com/sluice-ci/sluice/internal/gitserver"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/store/sqlite"
)

// newTestServer is the API over a real SQLite store, hosting repositories.
func newTestServer(t *testing.T) (*Server, store.Store) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	arts, err := artifact.NewDisk(filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(st, arts, service.Config{Lease: 30 * time.Second})
	repos, err := gitserver.New(filepath.Join(dir, "repos"), GitAuthorizer{Tokens: st}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return New(svc, st, repos, slog.New(slog.DiscardHandler)), st
}

// exemptions are the routes that take no action name, and why: each
// authenticates otherwise. A route missing here and from handle fails
// TestRouteTable.
var exemptions = map[string]string{
	"GET /healthz":                      "liveness",
	"GET /readyz":                       "readiness",
	"/git/":                             "GitAuthorizer",
	"POST /webhooks/{name}":             "webhook's own authentication",
	"POST /webhooks/connections/{name}": "the connection's webhookSecret",
}

// TestRouteTable walks every route the API registers: each has an action
// name from iam.Actions, or is one of the exemptions; no two share an action;
// every action but the git ones belongs to a route; and nothing reaches the
// mux without going through handle or exempt.
func TestRouteTable(t *testing.T) {
	s, _ := newTestServer(t)
	routes := s.Routes()
	if len(routes) < 50 {
		t.Fatalf("only %d routes", len(routes))
	}
	byAction := map[string]string{}
	seen := map[string]bool{}
	for _, r := range routes {
		if seen[r.Pattern] {
			t.Errorf("%s registered twice", r.Pattern)
		}
		seen[r.Pattern] = true
		switch {
		case r.Action == "" && r.Exempt == "":
			t.Errorf("%s has no action name", r.Pattern)
		case r.Action == "":
			if _, ok := exemptions[r.Pattern]; !ok {
				t.Errorf("%s is exempt from the permission check (%s) but not listed in exemptions", r.Pattern, r.Exempt)
			}
		case !iam.IsAction(r.Action):
			t.Errorf("%s: action %s is not in iam.Actions", r.Pattern, r.Action)
		case byAction[r.Action] != "":
			t.Errorf("%s and %s share the action %s", byAction[r.Action], r.Pattern, r.Action)
		default:
			byAction[r.Action] = r.Pattern
		}
	}
	for pattern := range exemptions {
		if !seen[pattern] {
			t.Errorf("exemption %s is not a route any more", pattern)
		}
	}
	for _, a := range iam.Actions {
		switch a {
		case "GitPull", "GitPush": // GitAuthorizer's
		case "ListAuditRecords": // registered by Audited, when the trail is on
		case "GetSecretValue", "UseConnection": // asked of a job's role, not of a caller
		case "ListActionTypes", "CreateCustomActionType", "DeleteCustomActionType", "PutEvents": // the AWS endpoint's (iam.AWSActions)
		default:
			if byAction[a] == "" {
				t.Errorf("action %s belongs to no route", a)
			}
		}
	}
}

// TestRoutesGoThroughHandle reads the package's source: the mux is given
// routes only by handle and exempt, so Routes is the whole table.
func TestRoutesGoThroughHandle(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Name.Name == "handle" || fn.Name.Name == "exempt" {
				continue
			}
			ast.Inspect(fn, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
					return true
				}
				if inner, ok := sel.X.(*ast.SelectorExpr); ok && inner.Sel.Name == "mux" {
					t.Errorf("%s: %s registers a route on the mux itself; use handle (or exempt, saying why)", fset.Position(sel.Pos()), fn.Name.Name)
				}
				return true
			})
		}
	}
}

// TestCallInfo: the permission check tells the audit trail who asked for
// what on which resource, and whether it was refused, whatever the outcome.
func TestCallInfo(t *testing.T) {
	s, st := newTestServer(t)
	ctx := context.Background()
	for name, policy := range map[string]string{"ops": iam.PolicyOperator, "ann": iam.PolicyAdmin} {
		if err := st.PutToken(ctx, store.Token{Name: name, Hash: auth.HashToken(name + "-secret"), Policy: policy}); err != nil {
			t.Fatal(err)
		}
	}
	call := func(method, path, token string) (*callInfo, *httptest.ResponseRecorder) {
		ci := &callInfo{}
		r := httptest.NewRequest(method, path, nil).WithContext(withCallInfo(ctx, ci))
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return ci, w
	}
	ci, w := call("DELETE", "/api/v1/pipelines/app", "ops-secret")
	want := "token ops (policy operator) is not allowed sluice:DeletePipeline on pipeline/app"
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), want) {
		t.Fatalf("denied: %d %s", w.Code, w.Body)
	}
	if !sameCall(ci, callInfo{Call: access.Call{Principal: "ops", Operation: "DeletePipeline", Resource: "pipeline/app", Denied: true, Err: want}}) {
		t.Errorf("denied: callInfo %+v", *ci)
	}
	ci, w = call("DELETE", "/api/v1/pipelines/app", "ann-secret")
	if w.Code != http.StatusNotFound || ci.Principal != "ann" || ci.Operation != "DeletePipeline" || ci.Resource != "pipeline/app" || ci.Denied || ci.Err == "" {
		t.Errorf("allowed, failed: %d callInfo %+v", w.Code, *ci)
	}
	ci, w = call("GET", "/api/v1/pipelines", "ann-secret")
	if w.Code != http.StatusOK || !sameCall(ci, callInfo{Call: access.Call{Principal: "ann", Operation: "ListPipelines", Resource: "*"}}) {
		t.Errorf("allowed: %d callInfo %+v", w.Code, *ci)
	}
	ci, w = call("GET", "/api/v1/pipelines", "sluice_nope")
	if w.Code != http.StatusUnauthorized || ci.Principal != "" || ci.Operation != "ListPipelines" || ci.Denied || !strings.Contains(ci.Err, "invalid token") {
		t.Errorf("unauthenticated: %d callInfo %+v", w.Code, *ci)
	}
	// Git: the authorizer fills it in.
	ci = &callInfo{}
	r := httptest.NewRequest("GET", "/git/app.git/info/refs?service=git-receive-pack", nil).WithContext(withCallInfo(ctx, ci))
	r.SetBasicAuth("x", "ops-secret")
	if _, err := (GitAuthorizer{Tokens: st}).Authorize(r, "app", gitserver.Write); err != nil {
		t.Fatalf("operator push: %v", err)
	}
	if !sameCall(ci, callInfo{Call: access.Call{Principal: "ops", Operation: "GitPush", Resource: "repository/app"}}) {
		t.Errorf("git push: callInfo %+v", *ci)
	}
}

func sameCall(got *callInfo, want callInfo) bool {
	return got.Principal == want.Principal && got.Operation == want.Operation && got.Resource == want.Resource &&
		got.Denied == want.Denied && got.Err == want.Err
}
