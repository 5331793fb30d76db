package access_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/access"
	"github.com/sluice-ci/sluice/internal/auth"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/store/sqlite"
)

// newGuard is a guard over a real SQLite store holding tokens.
func newGuard(t *testing.T, tokens ...store.Token) *access.Guard {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, tok := range tokens {
		if err := st.PutToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	return &access.Guard{Tokens: st}
}

// noProd allows every pipeline action but denies app-prod by a named statement.
const noProd = `{"Statement":[{"Effect":"Allow","Action":["sluice:*"],"Resource":["pipeline/*"]},` +
	`{"Sid":"NeverProd","Effect":"Deny","Action":["sluice:StartPipelineExecution"],"Resource":["pipeline/app-prod"]}]}`

func TestPrincipalFromToken(t *testing.T) {
	g := newGuard(t, store.Token{Name: "ops", Hash: auth.HashToken("ops-secret"), Policy: iam.PolicyOperator})
	for _, how := range []string{"bearer", "basic"} {
		r := httptest.NewRequest("GET", "/api/v1/pipelines", nil)
		if how == "bearer" {
			r.Header.Set("Authorization", "Bearer ops-secret")
		} else {
			r.SetBasicAuth("anyone", "ops-secret")
		}
		var c access.Call
		p, err := g.Authenticate(r, &c)
		if err != nil {
			t.Fatalf("%s: %v", how, err)
		}
		if p.Name != "ops" || p.PolicyName != iam.PolicyOperator || p.Policy == nil || c.Principal != "ops" || c.Denied || c.Err != "" {
			t.Errorf("%s: principal %+v, call %+v", how, p, c)
		}
		if err := p.Authorize("StartPipelineExecution", "pipeline/app"); err != nil {
			t.Errorf("%s: an operator starts a pipeline: %v", how, err)
		}
	}
}

// A console session keeps only its token's hash: ByHash gives the same
// principal the API's bearer token does.
func TestPrincipalFromSession(t *testing.T) {
	g := newGuard(t, store.Token{Name: "ann", Hash: auth.HashToken("ann-secret"), Policy: iam.PolicyViewer})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer ann-secret")
	fromBearer, err := g.Authenticate(r, &access.Call{})
	if err != nil {
		t.Fatal(err)
	}
	fromSession, err := g.ByHash(context.Background(), auth.HashToken("ann-secret"))
	if err != nil {
		t.Fatal(err)
	}
	if fromSession.Name != fromBearer.Name || fromSession.PolicyName != fromBearer.PolicyName || fromSession.Policy == nil ||
		fromSession.Authorize("GetPipelineState", "pipeline/app") != nil || fromSession.Authorize("DeletePipeline", "pipeline/app") == nil {
		t.Errorf("session %+v, bearer %+v", fromSession, fromBearer)
	}
	if _, err := g.ByHash(context.Background(), auth.HashToken("revoked")); !errors.Is(err, access.ErrUnknownToken) ||
		service.ErrorCode(err) != service.CodeUnauthorized || service.ErrorMessage(err) != "invalid token: no token of this server matches it" {
		t.Errorf("unknown token: %v", err)
	}
}

func TestExpiredTokenIsNamed(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	g := newGuard(t, store.Token{Name: "old", Hash: auth.HashToken("old-secret"), Policy: iam.PolicyViewer, Expires: at})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer old-secret")
	var c access.Call
	_, err := g.Authenticate(r, &c)
	if !errors.Is(err, access.ErrExpired) || !access.Challenge(err) || service.ErrorMessage(err) != "token old expired at 2025-01-02T03:04:05Z" {
		t.Fatalf("expired: %v", err)
	}
	if c.Principal != "old" || c.Denied || c.Err != "token old expired at 2025-01-02T03:04:05Z" {
		t.Errorf("call %+v", c)
	}
	// Until then it works: the guard's clock decides.
	g.Now = func() time.Time { return at.Add(-time.Second) }
	if p, err := g.Authenticate(r, &access.Call{}); err != nil || p.Name != "old" {
		t.Errorf("before expiry: %+v %v", p, err)
	}
}

func TestRefusals(t *testing.T) {
	g := newGuard(t, store.Token{Name: "stale", Hash: auth.HashToken("stale-secret"), Policy: "old.yml",
		PolicyDocument: `{"Statement":[{"Effect":"Allow","Action":["sluice:GetEverything"],"Resource":["*"]}]}`})
	var c access.Call
	_, err := g.Authenticate(httptest.NewRequest("GET", "/", nil), &c)
	if !errors.Is(err, access.ErrMissingToken) || !access.Challenge(err) || c.Principal != "" || c.Denied ||
		!strings.HasPrefix(c.Err, "missing token: send it as 'Authorization: Bearer TOKEN'") {
		t.Errorf("no token: %v, call %+v", err, c)
	}
	// A document that no longer reads is a denial, not a challenge.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer stale-secret")
	c = access.Call{}
	p, err := g.Authenticate(r, &c)
	if !errors.Is(err, access.ErrPolicyUnread) || access.Challenge(err) || p.Name != "stale" || p.Policy != nil || !c.Denied ||
		!strings.HasPrefix(c.Err, "token stale (policy old.yml): its policy document no longer reads") {
		t.Errorf("stale document: %v, principal %+v, call %+v", err, p, c)
	}
	// Job tokens are taken only where the guard knows the jobs.
	r.Header.Set("Authorization", "Bearer sjt_x")
	if _, err := g.Authenticate(r, &access.Call{}); !errors.Is(err, access.ErrUnknownToken) {
		t.Errorf("job token where none are taken: %v", err)
	}
	g.JobOf = func(token string) (string, bool) { return "j1", token == "sjt_x" }
	if p, err := g.Authenticate(r, &access.Call{}); err != nil || p.Name != "job/j1" || p.PolicyName != iam.JobPolicyName("j1") {
		t.Errorf("job token: %+v %v", p, err)
	}
	r.Header.Set("Authorization", "Bearer sjt_y")
	if _, err := g.Authenticate(r, &access.Call{}); !errors.Is(err, access.ErrInvalidJobToken) {
		t.Errorf("unknown job token: %v", err)
	}
}

func TestDeniedWithExactMessage(t *testing.T) {
	g := newGuard(t, store.Token{Name: "deployer", Hash: auth.HashToken("d"), Policy: "deployer.yml", PolicyDocument: noProd})
	p, err := g.ByHash(context.Background(), auth.HashToken("d"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		action, resource, want string
	}{
		{"StartPipelineExecution", "pipeline/app", ""},
		{"DeleteRepository", "repository/app", "token deployer (policy deployer.yml) is not allowed sluice:DeleteRepository on repository/app"},
		{"StartPipelineExecution", "pipeline/app-prod",
			`token deployer (policy deployer.yml) is not allowed sluice:StartPipelineExecution on pipeline/app-prod: explicitly denied by statement "NeverProd"`},
	} {
		err := p.Authorize(tc.action, tc.resource)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s on %s: %v", tc.action, tc.resource, err)
			}
			continue
		}
		if service.ErrorCode(err) != service.CodeForbidden || service.ErrorMessage(err) != tc.want {
			t.Errorf("%s on %s: %v, want %q", tc.action, tc.resource, err, tc.want)
		}
	}
	if err := p.AuthorizeAny("PutPipeline", "pipeline"); err != nil {
		t.Errorf("any pipeline: %v", err)
	}
	err = p.AuthorizeAny("CreateToken", "token")
	if want := "token deployer (policy deployer.yml) is not allowed sluice:CreateToken on any token/* (refused before reading the request body)"; service.ErrorMessage(err) != want {
		t.Errorf("any token: %v, want %q", err, want)
	}
}

// The call is filled by the guard: who, which operation, which resource,
// and a denial with its message; an allowed check leaves no error behind.
func TestCallFilledByTheGuard(t *testing.T) {
	g := newGuard(t, store.Token{Name: "deployer", Hash: auth.HashToken("d"), Policy: "deployer.yml", PolicyDocument: noProd})
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("Authorization", "Bearer d")
	var c access.Call
	p, err := g.Authenticate(r, &c)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(p, "StartPipelineExecution", "pipeline/app"); err != nil {
		t.Fatal(err)
	}
	if want := (access.Call{Principal: "deployer", Operation: "StartPipelineExecution", Resource: "pipeline/app"}); c != want {
		t.Errorf("allowed: %+v, want %+v", c, want)
	}
	c = access.Call{}
	err = c.Check(p, "StartPipelineExecution", "pipeline/app-prod")
	want := access.Call{Principal: "deployer", Operation: "StartPipelineExecution", Resource: "pipeline/app-prod", Denied: true, Err: service.ErrorMessage(err)}
	if err == nil || c != want || !strings.Contains(c.Err, `explicitly denied by statement "NeverProd"`) {
		t.Errorf("denied: %v, call %+v", err, c)
	}
	c = access.Call{}
	err = c.CheckAny(p, "CreateToken", "token")
	if err == nil || c != (access.Call{Principal: "deployer", Operation: "CreateToken", Denied: true, Err: service.ErrorMessage(err)}) {
		t.Errorf("denied before the body: %v, call %+v", err, c)
	}
}
