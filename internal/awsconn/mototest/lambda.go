package mototest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// moto runs a Lambda function's code only in Docker. These set its server
// up to answer Invoke without it: the event it was given comes back, or the
// answers queued with QueueLambdaResults, one per call, and never a
// FunctionError.

// LambdaWithoutDocker switches moto's Lambda to its Docker-less backend
// (POST /moto-api/config {"lambda": {"use_docker": false}}).
func (s *Server) LambdaWithoutDocker(t testing.TB) {
	t.Helper()
	s.post(t, "/moto-api/config", map[string]any{"lambda": map[string]any{"use_docker": false}})
}

// QueueLambdaResults makes the next Invoke calls return results, in order.
func (s *Server) QueueLambdaResults(t testing.TB, results ...string) {
	t.Helper()
	s.post(t, "/moto-api/static/lambda-simple/response", map[string]any{"region": Region, "results": results})
}

func (s *Server) post(t testing.TB, path string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(s.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %s", path, res.Status)
	}
}

// LambdaRole creates an IAM role Lambda may assume, as moto wants a
// function's role to exist, and returns its ARN. It speaks IAM's query
// protocol by hand (moto finds the service in the credential scope and
// checks no signature), so that tests need no IAM client.
func (s *Server) LambdaRole(t testing.TB, name string) string {
	t.Helper()
	form := url.Values{"Action": {"CreateRole"}, "Version": {"2010-05-08"}, "RoleName": {name},
		"AssumeRolePolicyDocument": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`}}
	req, _ := http.NewRequest("POST", s.URL+"/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/"+Region+"/iam/aws4_request, SignedHeaders=host, Signature=0")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("CreateRole: %s %s", res.Status, b)
	}
	return "arn:aws:iam::123456789012:role/" + name
}
