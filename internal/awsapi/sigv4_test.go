package awsapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/awsapi"
	"github.com/sluice-ci/sluice/internal/server"
	"github.com/sluice-ci/sluice/internal/wire"
)

// The SigV4 attack suite: what a stranger, a thief of one request, or a
// token holder reaching beyond its policy could send, each refused with
// the exception AWS answers and recorded in the audit trail as denied.

// request is one call to the endpoint, signed as an SDK signs it.
type request struct {
	target string
	body   string
	id     string
	secret string
	region string
	at     time.Time
}

func (f *fixture) signed(t testing.TB, q request) *http.Request {
	t.Helper()
	if q.region == "" {
		q.region = "us-east-1"
	}
	r, err := http.NewRequest(http.MethodPost, f.url+"/", strings.NewReader(q.body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "CodePipeline_20150709."+q.target)
	sum := sha256.Sum256([]byte(q.body))
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: q.id, SecretAccessKey: q.secret},
		r, hex.EncodeToString(sum[:]), "codepipeline", q.region, q.at)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// send sends r and returns the status and the error's __type.
func send(t *testing.T, r *http.Request) (int, string, string) {
	t.Helper()
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	json.Unmarshal(body, &e)
	if ct := res.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		t.Errorf("content type %q", ct)
	}
	return res.StatusCode, e.Type, e.Message
}

func TestSigV4Attacks(t *testing.T) {
	var offset atomic.Int64 // how far the server's clock is ahead
	f := start(t, func(c *server.Config) {
		c.AWSClock = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	})
	ci := f.keys(t, "ci", "admin")
	viewer := f.keys(t, "viewer", "viewer")
	now := time.Now()
	ok := request{target: "ListPipelines", body: "{}", id: ci.AccessKeyID, secret: ci.SecretAccessKey, at: now}
	if st, typ, msg := send(t, f.signed(t, ok)); st != 200 {
		t.Fatalf("a good request: %d %s %s", st, typ, msg)
	}

	// A request captured now, replayed once the allowed skew has passed.
	captured := f.signed(t, request{target: "StartPipelineExecution", body: `{"name":"x"}`, id: ci.AccessKeyID, secret: ci.SecretAccessKey, at: time.Now()})
	capturedBody := `{"name":"x"}`

	type attack struct {
		name    string
		req     func() *http.Request
		status  int
		typ     string
		msgPart string
	}
	with := func(mod func(*request)) func() *http.Request {
		return func() *http.Request {
			q := ok
			mod(&q)
			return f.signed(t, q)
		}
	}
	attacks := []attack{
		{"unknown access key", with(func(q *request) { q.id = "AKIAAAAAAAAAAAAAAAAA" }), 403, "UnrecognizedClientException", "security token"},
		{"wrong secret", with(func(q *request) { q.secret = strings.Repeat("x", 40) }), 403, "InvalidSignatureException", "does not match"},
		{"another token's secret", with(func(q *request) { q.secret = viewer.SecretAccessKey }), 403, "InvalidSignatureException", "does not match"},
		{"expired date", with(func(q *request) { q.at = now.Add(-6 * time.Minute) }), 403, "InvalidSignatureException", "Signature expired"},
		{"date in the future", with(func(q *request) { q.at = now.Add(6 * time.Minute) }), 403, "InvalidSignatureException", "not yet current"},
		{"another region", with(func(q *request) { q.region = "eu-west-1" }), 403, "InvalidSignatureException", "region"},
		{"body changed after signing", func() *http.Request {
			r := f.signed(t, request{target: "StartPipelineExecution", body: `{"name":"a"}`, id: ci.AccessKeyID, secret: ci.SecretAccessKey, at: now})
			r.Body = io.NopCloser(strings.NewReader(`{"name":"b"}`))
			return r
		}, 403, "InvalidSignatureException", ""},
		{"operation changed after signing", func() *http.Request {
			r := f.signed(t, ok)
			r.Header.Set("X-Amz-Target", "CodePipeline_20150709.DeletePipeline")
			return r
		}, 403, "InvalidSignatureException", "does not match"},
		{"operation not signed", func() *http.Request {
			r := f.signed(t, ok)
			auth := r.Header.Get("Authorization")
			r.Header.Set("Authorization", strings.Replace(auth, ";x-amz-target", "", 1))
			return r
		}, 403, "InvalidSignatureException", "x-amz-target"},
		{"missing Authorization", func() *http.Request {
			r := f.signed(t, ok)
			r.Header.Del("Authorization")
			return r
		}, 403, "MissingAuthenticationTokenException", ""},
		{"missing X-Amz-Date", func() *http.Request {
			r := f.signed(t, ok)
			r.Header.Del("X-Amz-Date")
			return r
		}, 403, "IncompleteSignatureException", "X-Amz-Date"},
		{"no signature", func() *http.Request {
			r := f.signed(t, ok)
			auth := r.Header.Get("Authorization")
			r.Header.Set("Authorization", auth[:strings.Index(auth, ", Signature=")])
			return r
		}, 403, "IncompleteSignatureException", "Signature"},
		{"another algorithm", func() *http.Request {
			r := f.signed(t, ok)
			r.Header.Set("Authorization", "AWS "+ci.AccessKeyID+":c2lnbmF0dXJl")
			return r
		}, 403, "IncompleteSignatureException", "algorithm"},
		{"an operation sluice does not serve, even signed", with(func(q *request) { q.target = "PollForThirdPartyJobs" }), 400, "UnknownOperationException", "PollForThirdPartyJobs"},
		{"a viewer creating a pipeline", func() *http.Request {
			body := fmt.Sprintf(approvalPipeline, "sneaky")
			return f.signed(t, request{target: "CreatePipeline", body: body, id: viewer.AccessKeyID, secret: viewer.SecretAccessKey, at: now})
		}, 403, "AccessDeniedException", "sluice:PutPipeline"},
	}
	for _, a := range attacks {
		st, typ, msg := send(t, a.req())
		if st != a.status || typ != a.typ || !strings.Contains(msg, a.msgPart) {
			t.Errorf("%s: %d %s %q, want %d %s containing %q", a.name, st, typ, msg, a.status, a.typ, a.msgPart)
		}
		if strings.Contains(msg, ci.SecretAccessKey) || strings.Contains(msg, viewer.SecretAccessKey) {
			t.Errorf("%s: the answer holds a secret", a.name)
		}
	}

	// The replay: five minutes and a second later, by the server's clock.
	offset.Store(int64(awsapi.MaxSkew + time.Second))
	captured.Body = io.NopCloser(strings.NewReader(capturedBody))
	if st, typ, msg := send(t, captured); st != 403 || typ != "InvalidSignatureException" || !strings.Contains(msg, "Signature expired") {
		t.Errorf("replay after the skew: %d %s %s", st, typ, msg)
	}
	offset.Store(0)

	// A revoked token's key stops at once.
	if err := f.admin.RevokeToken(context.Background(), "viewer"); err != nil {
		t.Fatal(err)
	}
	revoked := request{target: "ListPipelines", body: "{}", id: viewer.AccessKeyID, secret: viewer.SecretAccessKey, at: time.Now()}
	if st, typ, _ := send(t, f.signed(t, revoked)); st != 403 || typ != "UnrecognizedClientException" {
		t.Errorf("revoked token's key: %d %s", st, typ)
	}
	// So does a rotated one's.
	if _, err := f.admin.RotateToken(context.Background(), wire.CreateTokenRequest{Name: "ci"}); err != nil {
		t.Fatal(err)
	}
	ok.at = time.Now()
	if st, typ, _ := send(t, f.signed(t, ok)); st != 403 || typ != "UnrecognizedClientException" {
		t.Errorf("rotated token's key: %d %s", st, typ)
	}

	// Every refusal is in the audit trail, as denied.
	list, err := f.admin.Audit(context.Background(), client.AuditQuery{Denied: true, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	want := 3 // the replay, the revoked key, the rotated key
	for _, a := range attacks {
		if a.status == 403 { // a 400 is a failure, not a refusal
			want++
		}
	}
	var aws []wire.AuditRecord
	for _, r := range list.Records {
		if r.Parameters["endpoint"] == "aws" {
			aws = append(aws, r)
		}
	}
	if len(aws) != want {
		t.Fatalf("%d denied AWS calls in the audit trail, want %d: %+v", len(aws), want, aws)
	}
	for _, r := range aws {
		if r.Status != 403 || r.Error == "" || r.Outcome != "denied" {
			t.Errorf("audit record %+v", r)
		}
		for _, secret := range []string{ci.SecretAccessKey, viewer.SecretAccessKey} {
			if strings.Contains(r.Error, secret) || strings.Contains(r.Error, "Signature=") && !strings.Contains(r.Error, "Signature=…") {
				t.Errorf("audit record holds a secret or signature: %+v", r)
			}
		}
	}
	var sneaky bool
	for _, r := range aws {
		if r.Principal == "viewer" && r.Operation == "CreatePipeline" && r.Resource == "pipeline/sneaky" {
			sneaky = true
		}
	}
	if !sneaky {
		t.Errorf("the viewer's CreatePipeline is not recorded with its principal and resource: %+v", aws)
	}
}
