package service_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store/sqlite"
)

// TestJobConnection: a worker gets a connection's keys only for a job that
// uses it (by name, or by its action's region, or as default), only while it
// holds the job, and only when the job's role may read the connection's
// secret; the action's roleArn becomes the role assumed.
func TestJobConnection(t *testing.T) {
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
	svc := service.New(st, arts, service.Config{Lease: 30 * time.Second, SecretKey: make([]byte, service.SecretKeySize)})
	admin, _ := iam.ReadyMade("admin")
	const keysA = `{"accessKeyId":"AKIAAAAAAAAAAAAAAAAA","secretAccessKey":"secret-of-a"}`
	for name, v := range map[string]string{"aws-a": keysA, "aws-b": `{"accessKeyId":"AKIABBBBBBBBBBBBBBBB","secretAccessKey":"secret-of-b"}`, "not-keys": "hunter2"} {
		if err := svc.PutSecret(ctx, name, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	doc := `{"Statement":[{"Effect":"Allow","Action":"sluice:GetSecretValue","Resource":["secret/aws-a","secret/not-keys"]}]}`
	if _, err := svc.PutPolicy(ctx, service.PolicyRequest{Name: "deployer", Document: []byte(doc), Holder: admin}); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{
		"name: prod\nkind: aws\nregion: eu-west-1\ncredentials: {secret: aws-a}\nrole: {arn: 'arn:aws:iam::111111111111:role/base', externalId: ext-1}\n",
		"name: other\nkind: aws\nregion: us-west-2\ncredentials: {secret: aws-b}\n",
		"name: broken\nkind: aws\nregion: ap-south-1\ncredentials: {secret: not-keys}\n",
		"name: default\nkind: aws\nregion: us-east-1\ncredentials: {fromWorker: true}\n",
	} {
		if _, err := svc.ApplyConnection(ctx, "c.yml", []byte(src)); err != nil {
			t.Fatal(err)
		}
	}
	decl, err := pipeline.Parse("p.yml", []byte("name: p\nrole: deployer\nstages:\n  - name: S\n    actions:\n"+
		"      - {name: named, provider: Commands, commands: [true], configuration: {Connection: prod}, region: eu-west-1, roleArn: 'arn:aws:iam::222222222222:role/deploy'}\n"+
		"      - {name: forbidden, provider: Commands, commands: [true], configuration: {Connection: other}}\n"+
		"      - {name: byregion, provider: Commands, commands: [true], region: us-west-2}\n"+
		"      - {name: fallback, provider: Commands, commands: [true], region: sa-east-1}\n"+
		"      - {name: badsecret, provider: Commands, commands: [true], configuration: {Connection: broken}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ApplyPipeline(ctx, decl); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.StartExecution(ctx, service.StartRequest{Pipeline: "p"}); err != nil {
		t.Fatal(err)
	}
	jobs := map[string]*service.ClaimedJob{}
	for range 5 {
		j, err := svc.ClaimJob(ctx, "w", []string{"Commands"}, 0)
		if err != nil || j == nil {
			t.Fatalf("claim: %v, %v", j, err)
		}
		jobs[j.Job.Action] = j
	}
	get := func(action, name string) (string, error) {
		j := jobs[action]
		g, err := svc.JobConnection(ctx, j.Job.ID, j.Worker, name)
		raw, _ := json.Marshal(g)
		return string(raw), err
	}

	g, err := get("named", "prod")
	if err != nil || !strings.Contains(g, `"secretAccessKey":"secret-of-a"`) || !strings.Contains(g, `"arn":"arn:aws:iam::222222222222:role/deploy","externalId":"ext-1"`) {
		t.Errorf("named: %s, %v", g, err)
	}
	if _, err := get("named", "other"); err == nil || !strings.Contains(err.Error(), "does not name connection other") {
		t.Errorf("a connection the job does not name: %v", err)
	}
	if _, err := get("forbidden", "other"); err == nil || service.ErrorCode(err) != service.CodeForbidden ||
		!strings.Contains(err.Error(), "does not allow sluice:GetSecretValue on secret/aws-b") {
		t.Errorf("a secret the role may not read: %v", err)
	}
	// By region: us-west-2 picks other, whose secret the role may not read.
	if _, err := get("byregion", ""); err == nil || !strings.Contains(err.Error(), "connection other") {
		t.Errorf("by region: %v", err)
	}
	// No connection has sa-east-1: default, which takes the worker's own
	// identity, so the role must allow the connection itself.
	if _, err := get("fallback", ""); err == nil || !strings.Contains(err.Error(), "does not allow sluice:UseConnection on connection/default") {
		t.Errorf("fromWorker without UseConnection: %v", err)
	}
	doc = `{"Statement":[{"Effect":"Allow","Action":"sluice:GetSecretValue","Resource":["secret/aws-a","secret/not-keys"]},` +
		`{"Effect":"Allow","Action":"sluice:UseConnection","Resource":"connection/default"}]}`
	if _, err := svc.PutPolicy(ctx, service.PolicyRequest{Name: "deployer", Document: []byte(doc), Holder: admin}); err != nil {
		t.Fatal(err)
	}
	// Now: default, in the action's region, no keys.
	if g, err := get("fallback", ""); err != nil || !strings.Contains(g, `"name":"default"`) || !strings.Contains(g, `"region":"sa-east-1"`) || strings.Contains(g, "keys") {
		t.Errorf("fallback: %s, %v", g, err)
	}
	// A secret that is not keys fails without showing the value.
	if _, err := get("badsecret", "broken"); err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "must be JSON") {
		t.Errorf("bad secret: %v", err)
	}
	// Another worker gets nothing.
	if _, err := svc.JobConnection(ctx, jobs["named"].Job.ID, "intruder", "prod"); err == nil {
		t.Error("a worker not holding the job got its connection")
	}
	// What the API shows of connections never holds a key.
	all, err := svc.Connections(ctx)
	if err != nil || len(all) != 4 {
		t.Fatalf("connections: %v, %v", all, err)
	}
	raw, _ := json.Marshal(all)
	for _, v := range []string{"secret-of-a", "secret-of-b", "AKIA", "hunter2"} {
		if strings.Contains(string(raw), v) {
			t.Errorf("connections show %s: %s", v, raw)
		}
	}
	// Applying the same definition again changes nothing; delete removes it.
	res, err := svc.ApplyConnection(ctx, "c.yml", []byte("name: other\nkind: aws\nregion: us-west-2\ncredentials: {secret: aws-b}\n"))
	if err != nil || res.Created || res.Changed {
		t.Errorf("reapply: %+v, %v", res, err)
	}
	if err := svc.DeleteConnection(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Connection(ctx, "other"); service.ErrorCode(err) != service.CodeNotFound {
		t.Errorf("deleted connection: %v", err)
	}
	if _, err := svc.ApplyConnection(ctx, "bad.yml", []byte("name: x\nkind: aws\nregoin: us-east-1\n")); err == nil ||
		!strings.Contains(err.Error(), `bad.yml:3: regoin: unknown field (did you mean "region"?)`) {
		t.Errorf("bad file: %v", err)
	}
}
