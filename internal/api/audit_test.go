package api_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/api"
	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/audit"
	"github.com/sluice-ci/sluice/internal/auth"
	"github.com/sluice-ci/sluice/internal/gitserver"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/store/sqlite"
	"github.com/sluice-ci/sluice/internal/wire"
)

// Values that must never reach the audit trail.
const (
	secretValue  = "hunter2-AUDIT-CANARY-91c4e7"
	webhookToken = "whsec-AUDIT-CANARY-5d20aa"
)

type auditEnv struct {
	t     *testing.T
	url   string
	path  string // audit.db
	trail *audit.Log
}

func newAuditEnv(t *testing.T) *auditEnv {
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
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := service.New(st, arts, service.Config{Lease: 30 * time.Second, SecretKey: bytes.Repeat([]byte{7}, service.SecretKeySize), Logger: log})
	for _, tok := range []store.Token{
		{Name: "admin", Hash: auth.HashToken("admin-token"), Policy: iam.PolicyAdmin},
		{Name: "reader", Hash: auth.HashToken("read-token"), Policy: iam.PolicyRead},
	} {
		if err := st.PutToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	repos, err := gitserver.New(filepath.Join(dir, "repos"), api.GitAuthorizer{Tokens: st},
		func(context.Context, gitserver.Push) error { return nil }, log)
	if err != nil {
		t.Fatal(err)
	}
	svc.SetRepos(repos)
	if _, err := repos.Create(ctx, "app", ""); err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.Parse("app.yml", []byte(`name: app
variables: [{name: PASSWORD, defaultValue: none}]
stages:
  - name: Source
    actions: [{name: src, provider: Git, configuration: {RepositoryName: app, BranchName: main}, outputArtifacts: [code]}]
  - name: Build
    actions: [{name: noop, provider: Noop, inputArtifacts: [code]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ApplyPipeline(ctx, p); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "audit.db")
	trail, err := audit.Open(ctx, path, audit.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trail.Close() })
	h := api.New(svc, st, repos, log).Audited(trail, api.AuditOptions{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &auditEnv{t: t, url: srv.URL, path: path, trail: trail}
}

type call struct {
	method, path string
	token        string // bearer
	basic        string // basic auth password (git)
	body         string
	contentType  string
	header       map[string]string
}

type answer struct {
	status    int
	body      string
	requestID string
}

func (e *auditEnv) do(c call) answer {
	e.t.Helper()
	req, err := http.NewRequest(c.method, e.url+c.path, strings.NewReader(c.body))
	if err != nil {
		e.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.basic != "" {
		req.SetBasicAuth("git", c.basic)
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	req.Header.Set("User-Agent", "audit-test/1")
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, body: string(raw), requestID: resp.Header.Get("X-Request-Id")}
	if a.requestID == "" {
		e.t.Errorf("%s %s: no X-Request-Id in the answer", c.method, c.path)
	}
	return a
}

// committed reads the record of a request straight from the database file,
// through a connection of its own: what a crash right now would leave.
func (e *auditEnv) committed(requestID string) wire.AuditRecord {
	e.t.Helper()
	db, err := sql.Open("sqlite", "file:"+e.path+"?mode=ro")
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	var r wire.AuditRecord
	var params string
	err = db.QueryRow(`SELECT id, principal, source, user_agent, operation, resource, params, outcome, error, status
		FROM audit_records WHERE request_id = ?`, requestID).Scan(&r.ID, &r.Principal, &r.SourceAddress, &r.UserAgent,
		&r.Operation, &r.Resource, &params, &r.Outcome, &r.Error, &r.Status)
	if err != nil {
		// Reads that were allowed are recorded without waiting for the
		// commit; anything else must be there when its answer arrived.
		if ferr := e.trail.Flush(context.Background()); ferr != nil {
			e.t.Fatal(ferr)
		}

		err2 := db.QueryRow(`SELECT id, principal, source, user_agent, operation, resource, params, outcome, error, status
			FROM audit_records WHERE request_id = ?`, requestID).Scan(&r.ID, &r.Principal, &r.SourceAddress, &r.UserAgent,
			&r.Operation, &r.Resource, &params, &r.Outcome, &r.Error, &r.Status)
		if err2 != nil || r.Outcome != audit.Allowed || !readOperation(r.Operation) {
			e.t.Fatalf("the record of request %s is not committed when its answer arrived: %v (%s %s)%s", requestID, err, r.Operation, r.Outcome, "")
		}
	}
	json.Unmarshal([]byte(params), &r.Parameters)
	r.RequestID = requestID
	return r
}

func (e *auditEnv) query(token, q string) wire.AuditList {
	e.t.Helper()
	a := e.do(call{method: "GET", path: "/api/v1/audit" + q, token: token})
	if a.status != http.StatusOK {
		e.t.Fatalf("GET /api/v1/audit%s: %d %s", q, a.status, a.body)
	}
	var out wire.AuditList
	if err := json.Unmarshal([]byte(a.body), &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func want(t *testing.T, what string, r wire.AuditRecord, principal, operation, resource, outcome string, status int) {
	t.Helper()
	if r.Principal != principal || r.Operation != operation || r.Resource != resource || r.Outcome != outcome || r.Status != status {
		t.Errorf("%s: recorded principal=%q operation=%q resource=%q outcome=%q status=%d (error %q); want %q %q %q %q %d",
			what, r.Principal, r.Operation, r.Resource, r.Outcome, r.Status, r.Error, principal, operation, resource, outcome, status)
	}
}

func TestAuditTrail(t *testing.T) {
	e := newAuditEnv(t)

	// A read-only token may not start an execution: denied, with its operation.
	a := e.do(call{method: "POST", path: "/api/v1/pipelines/app/executions", token: "read-token", body: `{"variables":{"K":"v"}}`, contentType: "application/json"})
	if a.status != http.StatusForbidden {
		t.Fatalf("reader starting an execution: %d %s", a.status, a.body)
	}
	r := e.committed(a.requestID)
	want(t, "denied start", r, "reader", "StartPipelineExecution", "pipeline/app", audit.Denied, 403)
	if r.Error == "" || r.SourceAddress != "127.0.0.1" || r.UserAgent != "audit-test/1" || r.Parameters["name"] != "app" {
		t.Errorf("denied start: error %q, source %q, user agent %q, params %v", r.Error, r.SourceAddress, r.UserAgent, r.Parameters)
	}

	// A failed call keeps the error it was answered with.
	a = e.do(call{method: "GET", path: "/api/v1/pipelines/nope/state", token: "admin-token"})
	if a.status != http.StatusNotFound {
		t.Fatalf("state of a missing pipeline: %d %s", a.status, a.body)
	}
	r = e.committed(a.requestID)
	want(t, "failed state", r, "admin", "GetPipelineState", "pipeline/nope", audit.Failed, 404)
	if !strings.Contains(r.Error, "nope") {
		t.Errorf("failed state: error %q does not say what failed", r.Error)
	}

	// An allowed call, with parameters from its path, query and JSON body.
	a = e.do(call{method: "POST", path: "/api/v1/pipelines/app/executions?clientToken=tok-123", token: "admin-token",
		body: `{"variables":{"PASSWORD":"` + secretValue + `"}}`, contentType: "application/json",
		header: map[string]string{"X-Forwarded-For": "198.51.100.9, 203.0.113.7"}})
	if a.status != http.StatusOK && a.status != http.StatusCreated {
		t.Fatalf("start: %d %s", a.status, a.body)
	}
	r = e.committed(a.requestID)
	want(t, "start", r, "admin", "StartPipelineExecution", "pipeline/app", audit.Allowed, a.status)
	if r.SourceAddress != "203.0.113.7" {
		t.Errorf("source behind a trusted proxy = %q, want the address the proxy names, 203.0.113.7", r.SourceAddress)
	}
	if r.Parameters["clientToken"] != audit.Redacted {
		t.Errorf("a query parameter named like a token was kept: %v", r.Parameters)
	}

	// Secrets: a secret's value, a token's creation, a webhook's shared secret.
	a = e.do(call{method: "PUT", path: "/api/v1/secrets/db-password", token: "admin-token", body: secretValue, contentType: "application/octet-stream"})
	if a.status != http.StatusNoContent {
		t.Fatalf("put secret: %d %s", a.status, a.body)
	}
	want(t, "put secret", e.committed(a.requestID), "admin", "PutSecret", "secret/db-password", audit.Allowed, 204)
	a = e.do(call{method: "POST", path: "/api/v1/tokens", token: "admin-token", body: `{"name":"ci","policy":"admin"}`, contentType: "application/json"})
	if a.status != http.StatusCreated {
		t.Fatalf("create token: %d %s", a.status, a.body)
	}
	var created wire.CreatedToken
	json.Unmarshal([]byte(a.body), &created)
	if created.Token == "" {
		t.Fatalf("create token answered no token: %s", a.body)
	}
	hook, _ := json.Marshal(map[string]any{"name": "gh", "targetPipeline": "app", "targetAction": "src",
		"filters":                     []map[string]string{{"jsonPath": "$.ref", "matchEquals": "refs/heads/{BranchName}"}},
		"authentication":              "GITHUB_HMAC",
		"authenticationConfiguration": map[string]string{"SecretToken": webhookToken}})
	a = e.do(call{method: "POST", path: "/api/v1/webhooks", token: "admin-token", body: string(hook), contentType: "application/json"})
	if a.status != http.StatusOK {
		t.Fatalf("put webhook: %d %s", a.status, a.body)
	}
	if r := e.committed(a.requestID); r.Parameters["name"] != "gh" {
		t.Errorf("put webhook: the body's name was not recorded: %v", r.Parameters)
	}

	// Webhook deliveries: the webhook is the principal.
	push := `{"ref":"refs/heads/main","before":"` + strings.Repeat("0", 40) + `","after":"` + strings.Repeat("1", 40) + `"}`
	a = e.do(call{method: "POST", path: "/webhooks/gh", body: push, contentType: "application/json",
		header: map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": "sha256=" + strings.Repeat("0", 64)}})
	if a.status != http.StatusUnauthorized {
		t.Fatalf("delivery with a bad signature: %d %s", a.status, a.body)
	}
	r = e.committed(a.requestID)
	want(t, "badly signed delivery", r, "webhook/gh", "DeliverWebhook", "webhook/gh", audit.Denied, 401)
	if r.Error == "" || r.Parameters["ref"] != "refs/heads/main" {
		t.Errorf("badly signed delivery: error %q, params %v", r.Error, r.Parameters)
	}
	mac := hmac.New(sha256.New, []byte(webhookToken))
	mac.Write([]byte(push))
	a = e.do(call{method: "POST", path: "/webhooks/gh", body: push, contentType: "application/json",
		header: map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-2", "X-Hub-Signature-256": "sha256=" + hex.EncodeToString(mac.Sum(nil))}})
	if a.status >= 400 {
		t.Fatalf("signed delivery: %d %s", a.status, a.body)
	}
	want(t, "signed delivery", e.committed(a.requestID), "webhook/gh", "DeliverWebhook", "webhook/gh", audit.Allowed, a.status)

	// Git: the advertisement and the pack request are the same operation.
	a = e.do(call{method: "GET", path: "/git/app.git/info/refs?service=git-upload-pack", basic: "read-token"})
	if a.status != http.StatusOK {
		t.Fatalf("git fetch advertisement: %d %s", a.status, a.body)
	}
	want(t, "git fetch advertisement", e.committed(a.requestID), "reader", "GitPull", "repository/app", audit.Allowed, 200)
	a = e.do(call{method: "GET", path: "/git/app.git/info/refs?service=git-receive-pack", basic: "read-token"})
	if a.status != http.StatusForbidden {
		t.Fatalf("git push by a reader: %d %s", a.status, a.body)
	}
	r = e.committed(a.requestID)
	want(t, "git push by a reader", r, "reader", "GitPush", "repository/app", audit.Denied, 403)
	if !strings.Contains(r.Error, "app") {
		t.Errorf("git push by a reader: error %q", r.Error)
	}
	a = e.do(call{method: "POST", path: "/git/app.git/git-receive-pack", body: "0000", contentType: "application/x-git-receive-pack-request"})
	if a.status != http.StatusUnauthorized {
		t.Fatalf("anonymous git push: %d %s", a.status, a.body)
	}
	// git's first, anonymous, try of every push: a challenge, not a denial.
	want(t, "anonymous git push", e.committed(a.requestID), "", "GitPush", "repository/app", audit.Challenge, 401)
	a = e.do(call{method: "POST", path: "/git/app.git/git-receive-pack", body: "0000", contentType: "application/x-git-receive-pack-request", basic: "no-such-token"})
	if a.status != http.StatusUnauthorized {
		t.Fatalf("git push with a wrong token: %d %s", a.status, a.body)
	}
	want(t, "git push with a wrong token", e.committed(a.requestID), "", "GitPush", "repository/app", audit.Denied, 401)

	// The query, with its filters; it is recorded itself.
	denied := e.query("admin-token", "?denied=true")
	for _, r := range denied.Records {
		if r.Outcome != audit.Denied {
			t.Errorf("?denied=true returned a record %s", r.Outcome)
		}
	}
	if len(denied.Records) != 4 {
		t.Errorf("?denied=true: %d records, want 4 (start, delivery, two git)", len(denied.Records))
	}
	byReader := e.query("admin-token", "?principal=reader&operation=GitPush")
	if len(byReader.Records) != 1 || byReader.Records[0].Status != 403 {
		t.Errorf("?principal=reader&operation=GitPush: %+v", byReader.Records)
	}
	page := e.query("admin-token", "?limit=2&since=1h")
	if len(page.Records) != 2 || page.NextBefore == 0 {
		t.Fatalf("?limit=2: %d records, next %d", len(page.Records), page.NextBefore)
	}
	older := e.query("admin-token", "?limit=2&before="+jsonNumber(page.NextBefore))
	if len(older.Records) != 2 || older.Records[0].ID >= page.NextBefore {
		t.Errorf("second page: %+v", older.Records)
	}
	// Reads are committed without being waited for: flush before looking.
	if err := e.trail.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if lists := e.query("admin-token", "?operation=ListAuditRecords"); len(lists.Records) < 4 || lists.Records[0].Resource != "*" {
		t.Errorf("the audit queries were not recorded as ListAuditRecords: %+v", lists.Records)
	}
	if a := e.do(call{method: "GET", path: "/api/v1/audit?since=yesterday", token: "admin-token"}); a.status != http.StatusBadRequest {
		t.Errorf("?since=yesterday: %d %s", a.status, a.body)
	}

	// No secret anywhere: not in what the API answers, not in the database's bytes.
	all := e.query("admin-token", "?limit=1000")
	raw, _ := json.Marshal(all)
	if err := e.trail.Close(); err != nil { // checkpoints the WAL into the file
		t.Fatal(err)
	}
	files, _ := filepath.Glob(e.path + "*")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, data...)
	}
	for _, s := range []string{secretValue, webhookToken, created.Token, "admin-token", "read-token"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the audit trail holds the secret %q", s)
		}
	}
}

func jsonNumber(n int64) string {
	raw, _ := json.Marshal(n)
	return string(raw)
}

// readOperation reports whether op is a read: Get*, List* and GitPull.
func readOperation(op string) bool {
	return strings.HasPrefix(op, "Get") || strings.HasPrefix(op, "List") || op == "GitPull"
}
