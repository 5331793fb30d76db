package awsapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/server"
)

// The same CodePipeline requests, byte for byte, against moto's CodePipeline
// and against sluice: the answers must have the same shape (every field
// moto answers with, sluice answers with too, of the same JSON type), and
// the same error types. Sluice may add fields; it may not lose any.
func TestShapesMatchMoto(t *testing.T) {
	moto := mototest.Start(t)
	// moto's account, so that ARNs are the same on both sides.
	f := start(t, func(c *server.Config) { c.AWSAccount = "123456789012" })
	k := f.keys(t, "ci", "admin")

	// moto checks that CodePipeline may assume the role.
	form := url.Values{"Action": {"CreateRole"}, "Version": {"2010-05-08"}, "RoleName": {"CodePipelineRole"},
		"AssumeRolePolicyDocument": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codepipeline.amazonaws.com"},"Action":"sts:AssumeRole"}]}`}}
	req, _ := http.NewRequest(http.MethodPost, moto.URL+"/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=x")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("moto CreateRole: %v %v", res, err)
	}

	// moto's account is 123456789012, and it checks the role's.
	create := strings.Replace(fmt.Sprintf(approvalPipeline, "shapes"), "000000000000", "123456789012", 1)
	listTags := 0
	update := strings.Replace(create, `"name": "wait"`, `"name": "hold"`, 1)
	update = update[:strings.LastIndex(update, `,
  "tags"`)] + "\n}"
	steps := []struct{ target, body string }{
		{"CreatePipeline", create},
		{"CreatePipeline", create}, // in use
		{"GetPipeline", `{"name":"shapes"}`},
		{"UpdatePipeline", update},
		{"ListPipelines", `{}`},
		{"TagResource", `{"resourceArn":"arn:aws:codepipeline:us-east-1:123456789012:shapes","tags":[{"key":"env","value":"prod"}]}`},
		{"ListTagsForResource", `{"resourceArn":"arn:aws:codepipeline:us-east-1:123456789012:shapes"}`},
		{"UntagResource", `{"resourceArn":"arn:aws:codepipeline:us-east-1:123456789012:shapes","tagKeys":["team"]}`},
		{"ListTagsForResource", `{"resourceArn":"arn:aws:codepipeline:us-east-1:123456789012:shapes"}`},
		{"ListTagsForResource", `{"resourceArn":"arn:aws:codepipeline:us-east-1:123456789012:missing"}`},
		{"GetPipeline", `{"name":"missing"}`},
		{"DeletePipeline", `{"name":"shapes"}`},
		{"ListPipelines", `{}`},
	}
	for _, s := range steps {
		q := request{target: s.target, body: s.body, id: k.AccessKeyID, secret: k.SecretAccessKey, at: time.Now()}
		ms, mb := call(t, f.signedTo(t, moto.URL, q))
		ss, sb := call(t, f.signed(t, q))
		if ms != ss {
			t.Errorf("%s: moto answers %d, sluice %d:\nmoto:   %s\nsluice: %s", s.target, ms, ss, mb, sb)
			continue
		}
		if ms >= 400 {
			if mt, st := errorType(mb), errorType(sb); mt != st && !(mt == "InvalidStructureException" && st == "PipelineNameInUseException") {
				// (moto answers a name in use with InvalidStructureException;
				// CodePipeline's reference, and sluice, with PipelineNameInUseException.)
				t.Errorf("%s: moto's error is %s, sluice's %s", s.target, mt, st)
			}
			continue
		}
		if s.target == "ListTagsForResource" {
			// The same tags, not only the same shape.
			listTags++
			if string(normalize(t, mb)) != string(normalize(t, sb)) {
				t.Errorf("ListTagsForResource: moto %s, sluice %s", mb, sb)
			}
		}
		want, got := shape(t, mb), shape(t, sb)
		var missing []string
		for path, typ := range want {
			if got[path] != typ && !(typ == "string" && got[path] == "number" && isTimestamp(path)) {
				missing = append(missing, fmt.Sprintf("%s (%s, sluice: %q)", path, typ, got[path]))
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%s: sluice's answer lacks what moto's has:\n  %s\nmoto:   %s\nsluice: %s", s.target, strings.Join(missing, "\n  "), mb, sb)
		}
	}
	if listTags != 2 {
		t.Errorf("ListTagsForResource compared %d times, want 2", listTags)
	}
}

// isTimestamp reports whether path is a timestamp: moto writes them as ISO
// 8601 strings, CodePipeline (and the SDKs' JSON 1.1 readers) as epoch
// seconds, as sluice does.
func isTimestamp(path string) bool {
	return strings.HasSuffix(path, ".created") || strings.HasSuffix(path, ".updated")
}

// normalize re-encodes a JSON document with its keys sorted.
func normalize(t *testing.T, b []byte) []byte {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return out
}

func (f *fixture) signedTo(t *testing.T, base string, q request) *http.Request {
	r := f.signed(t, q)
	u, _ := url.Parse(base)
	r.URL.Host, r.Host = u.Host, u.Host
	return r
}

func call(t *testing.T, r *http.Request) (int, []byte) {
	t.Helper()
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func errorType(b []byte) string {
	var e struct {
		Type string `json:"__type"`
	}
	json.Unmarshal(b, &e)
	return e.Type
}

// shape maps every path of a JSON document (arrays' elements as [])
// to its JSON type.
func shape(t *testing.T, b []byte) map[string]string {
	t.Helper()
	var v any
	if len(b) == 0 {
		b = []byte("{}") // moto answers some operations with no body, sluice with {}
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			out[path] = "object"
			for k, e := range x {
				walk(path+"."+k, e)
			}
		case []any:
			out[path] = "array"
			for _, e := range x {
				walk(path+"[]", e)
			}
		case string:
			out[path] = "string"
		case float64:
			out[path] = "number"
		case bool:
			out[path] = "bool"
		case nil:
			out[path] = "null"
		}
	}
	walk("", v)
	return out
}
