package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/provider/s3deploy"
	"github.com/sluice-ci/sluice/internal/toolcache"
)

// versityGW is a versitygw process with bucket versioning, sending its
// bucket event notifications to webhook.
type versityGW struct {
	URL    string
	Access string
	Secret string
}

// startNotifyingVersityGW starts versitygw (skipping the test when it is
// not installed and not to be) with versioning and its event notifications
// sent to webhook, which must already listen; it is killed when the test
// ends.
func startNotifyingVersityGW(t *testing.T, webhook string) *versityGW {
	t.Helper()
	bin, skip, err := toolcache.VersityGW.Find()
	if err != nil {
		t.Fatal(err)
	}
	if bin == "" {
		t.Skip(skip)
	}
	dir := t.TempDir()
	data, versions := filepath.Join(dir, "data"), filepath.Join(dir, "versions")
	for _, d := range []string{data, versions} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var log bytes.Buffer
	addr, stop, err := toolcache.RunVersityGW(bin, data, "vgwaccess", "vgwsecret-e2e", &log,
		toolcache.VersityGWOptions{EventWebhookURL: webhook, VersioningDir: versions})
	if err != nil {
		t.Fatalf("%v: %s", err, log.String())
	}
	t.Cleanup(stop)
	return &versityGW{URL: "http://" + addr, Access: "vgwaccess", Secret: "vgwsecret-e2e"}
}

func (g *versityGW) client() *s3.Client {
	return s3deploy.Client(&awsconn.Conn{Name: "versitygw", Config: aws.Config{
		Region:      "us-east-1",
		Credentials: aws.NewCredentialsCache(staticCreds{g.Access, g.Secret}),
	}, Endpoint: g.URL, S3PathStyle: true})
}

type staticCreds struct{ id, secret string }

func (c staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: c.id, SecretAccessKey: c.secret, Source: "e2e"}, nil
}

// TestS3EventNotifications: a real versitygw sends its bucket event
// notifications to an aws connection's webhook; a new version of an object
// starts, pinned to its version id, the pipeline whose S3 source reads it
// with PollForSourceChanges false, not the one that polls; an EventBridge
// rule on aws.s3 "Object Created" events, as CodePipeline recommends,
// starts its pipeline pinned to the same version, and a pipeline both
// start runs once per version. A stranger without the connection's secret
// (or with a wrong one) starts nothing, gets a 401 and is audited.
func TestS3EventNotifications(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const hookSecret = "s3-hook-e2e-7f3a9c"
	env := cliEnv(s.url, s.token)
	if r := runCLIStdin(t, env, hookSecret, "secret", "put", "store-hook"); r.code != 0 {
		t.Fatalf("secret put: %s", r)
	}
	webhook := strings.Replace(s.url, "http://", "http://sluice:"+hookSecret+"@", 1) + "/webhooks/connections/store"
	gw := startNotifyingVersityGW(t, webhook)
	keys := fmt.Sprintf(`{"accessKeyId":%q,"secretAccessKey":%q}`, gw.Access, gw.Secret)
	if r := runCLIStdin(t, env, keys, "secret", "put", "store-keys"); r.code != 0 {
		t.Fatalf("secret put: %s", r)
	}
	dir := s.scratch("s3events")
	conn := filepath.Join(dir, "store.yml")
	writeFile(t, conn, "name: store\nkind: aws\nregion: us-east-1\nendpoint: "+gw.URL+"\ncredentials: {secret: store-keys}\nwebhookSecret: store-hook\n")
	s.ok("connection", "apply", "-f", conn)

	ctx := context.Background()
	c := gw.client()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("drops")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("drops"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	put := func(key, text string) string {
		var b bytes.Buffer
		w := zip.NewWriter(&b)
		f, _ := w.Create("version.txt")
		f.Write([]byte(text))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("drops"), Key: aws.String(key), Body: bytes.NewReader(b.Bytes())})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.VersionId) == "" {
			t.Fatal("versitygw gave no version id: versioning is off")
		}
		return aws.ToString(out.VersionId)
	}
	pipe := func(name, key, poll string) {
		cfg := "{S3Bucket: drops, S3ObjectKey: " + key + ", Connection: store"
		if poll != "" {
			cfg += ", PollForSourceChanges: '" + poll + "'"
		}
		s.applyYAML(name, "name: "+name+"\nexecutionMode: PARALLEL\nstages:\n  - name: Source\n    actions:\n      - name: src\n"+
			"        actionTypeId: {category: Source, owner: AWS, provider: S3, version: '1'}\n        outputArtifacts: [code]\n"+
			"        configuration: "+cfg+"}\n"+
			"  - name: Show\n    actions:\n      - name: show\n        provider: Commands\n        inputArtifacts: [code]\n"+
			"        commands: ['cat version.txt']\n")
	}
	pipe("evented", "app.zip", "false")
	pipe("polled", "app.zip", "") // polls (the default); the server's poll interval is a minute
	pipe("ruled", "app.zip", "false")
	pipe("ruleonly", "app.zip", "")
	for _, name := range []string{"ruled", "ruleonly"} {
		file := filepath.Join(dir, name+"-rule.yml")
		writeFile(t, file, "name: "+name+"-on-drop\neventPattern:\n  source: [aws.s3]\n  detail-type: [Object Created]\n"+
			"  detail: {bucket: {name: [drops]}, object: {key: [app.zip]}}\ntargets:\n  - pipeline: {name: "+name+"}\n")
		s.ok("rule", "apply", "-f", file)
	}

	waitRun := func(name, rev string) execution {
		t.Helper()
		var got execution
		eventually(t, 30*time.Second, name+" started at "+rev, func() bool {
			for _, e := range s.executions(name) {
				if len(e.SourceRevisions) == 1 && e.SourceRevisions[0].RevisionID == rev {
					got = e
					return true
				}
			}
			return false
		})
		return s.waitEnd(name, got.PipelineExecutionID, "Succeeded")
	}
	v1 := put("app.zip", "one")
	e := waitRun("evented", v1)
	wantEqual(t, "trigger type", e.Trigger.TriggerType, "CloudWatchEvent")
	wantContains(t, "trigger detail", e.Trigger.TriggerDetail, "s3:ObjectCreated:Put of s3://drops/app.zip revision "+v1, "connection store")
	wantContains(t, "evented log", s.ok("logs", "evented", e.PipelineExecutionID, "show"), "one")
	waitRun("ruleonly", v1)
	waitRun("ruled", v1)

	v2 := put("app.zip", "two")
	wantContains(t, "evented log at v2", s.ok("logs", "evented", waitRun("evented", v2).PipelineExecutionID, "show"), "two")
	e = waitRun("ruleonly", v2)
	wantContains(t, "rule trigger", e.Trigger.TriggerDetail, "rule/ruleonly-on-drop")
	waitRun("ruled", v2)
	// Another key of the bucket starts none of them.
	put("other.zip", "other")

	// The rule's deliveries for v2 are done once ruleonly has run at v2;
	// ruled was started by the notification and by its rule, once each
	// version.
	eventually(t, 20*time.Second, "the rules' deliveries", func() bool {
		return len(s.executions("ruleonly")) == 2
	})
	if n := len(s.executions("ruled")); n != 2 {
		t.Errorf("ruled has %d executions, want 2 (one per version though two paths start it)", n)
	}
	if n := len(s.executions("evented")); n != 2 {
		t.Errorf("evented has %d executions, want 2", n)
	}
	if es := s.executions("polled"); len(es) != 0 {
		t.Errorf("polled was started by a notification: %+v", es)
	}

	// Strangers: no credentials, a wrong secret, a wrong scheme.
	body := `{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"drops"},"object":{"key":"app.zip","versionId":"forged"}}}]}`
	for _, c := range []struct{ auth, want string }{
		{"", "carries no credentials"},
		{"Basic " + basic("sluice", "guess"), "do not match the connection's webhook secret"},
		{"Bearer guess", "do not match"},
		{"Token " + hookSecret, "is not basic or bearer"},
	} {
		req, _ := http.NewRequest(http.MethodPost, s.url+"/webhooks/connections/store", strings.NewReader(body))
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(raw), c.want) || strings.Contains(string(raw), hookSecret) {
			t.Errorf("auth %q: %d %s, want 401 %q", c.auth, resp.StatusCode, raw, c.want)
		}
	}
	for _, e := range s.executions("evented") {
		if e.SourceRevisions[0].RevisionID == "forged" {
			t.Fatal("a stranger's notification started a pipeline")
		}
	}
	var denied []auditRecord
	s.json(&denied, "audit", "--denied")
	n := 0
	for _, d := range denied {
		if d.Operation == "DeliverConnectionWebhook" && d.Principal == "connection/store" && d.Status == 401 {
			n++
		}
	}
	if n != 4 {
		t.Errorf("audited %d refused notifications, want 4: %+v", n, denied)
	}
	// A bad body with the right secret is a 400 that says why.
	req, _ := http.NewRequest(http.MethodPost, s.url+"/webhooks/connections/store", strings.NewReader(`{"hello":1}`))
	req.Header.Set("Authorization", "Bearer "+hookSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), "neither an S3 event message") {
		t.Errorf("a body that is no notification: %d %s", resp.StatusCode, raw)
	}
}

func basic(user, pass string) string {
	req, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}
