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

// TestJobGitConnection: a connection source job's worker gets the git host
// connection its ConnectionArn resolves to (by arns, or an ARN ending in
// the connection's name), or for GitHub its Connection or OAuthToken
// secret, with the token, only while it holds the job and only when the
// job's role may read the token's secret. An ARN that names nothing, or an
// aws connection, is a clear error naming it.
func TestJobGitConnection(t *testing.T) {
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
	for name, v := range map[string]string{
		"gitea-token": "token-of-gitea\n", "gh-json": `{"token":"token-in-json"}`, "gh-plain": "token-plain",
		"other-token": "token-of-other",
	} {
		if err := svc.PutSecret(ctx, name, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	doc := `{"Statement":[{"Effect":"Allow","Action":"sluice:GetSecretValue","Resource":["secret/gitea-token","secret/gh-json","secret/gh-plain"]}]}`
	if _, err := svc.PutPolicy(ctx, service.PolicyRequest{Name: "reader", Document: []byte(doc), Holder: admin}); err != nil {
		t.Fatal(err)
	}
	const importedARN = "arn:aws:codestar-connections:eu-west-1:123456789012:connection/0b9e1c4e-aaaa-bbbb-cccc-123456789012"
	for _, src := range []string{
		"name: gitea\nkind: gitea\nurl: http://127.0.0.1:3000/\ntoken: gitea-token\narns: ['" + importedARN + "']\n",
		"name: other\nkind: gitlab\ntoken: other-token\n",
		"name: cloud\nkind: aws\nregion: eu-west-1\ncredentials: {fromWorker: true}\n",
		"name: app\nkind: github\napp: {id: 1, installationId: 2, privateKeySecret: gh-plain}\n",
	} {
		if _, err := svc.ApplyConnection(ctx, "c.yml", []byte(src)); err != nil {
			t.Fatal(err)
		}
	}
	action := func(name, provider, cfg string) string {
		return "      - {name: " + name + ", provider: " + provider + ", outputArtifacts: [" + name + "], configuration: {" + cfg + "}}\n"
	}
	decl, err := pipeline.Parse("p.yml", []byte("name: p\nrole: reader\nstages:\n  - name: S\n    actions:\n"+
		action("imported", "CodeStarSourceConnection", "ConnectionArn: '"+importedARN+"', FullRepositoryId: o/r, BranchName: main")+
		action("byname", "CodeConnections", "ConnectionArn: 'arn:aws:codeconnections:us-east-1:000000000000:connection/gitea', FullRepositoryId: o/r, BranchName: main")+
		action("unknown", "CodeStarSourceConnection", "ConnectionArn: 'arn:aws:codeconnections:us-east-1:000000000000:connection/nobody', FullRepositoryId: o/r, BranchName: main")+
		action("awskind", "CodeStarSourceConnection", "ConnectionArn: 'arn:aws:codeconnections:us-east-1:000000000000:connection/cloud', FullRepositoryId: o/r, BranchName: main")+
		action("forbidden", "CodeStarSourceConnection", "ConnectionArn: 'arn:aws:codeconnections:us-east-1:000000000000:connection/other', FullRepositoryId: o/r, BranchName: main")+
		action("githubapp", "CodeStarSourceConnection", "ConnectionArn: 'arn:aws:codeconnections:us-east-1:000000000000:connection/app', FullRepositoryId: o/r, BranchName: main")+
		action("ghconn", "GitHub", "Owner: o, Repo: r, Branch: main, Connection: gitea")+
		action("ghjson", "GitHub", "Owner: o, Repo: r, Branch: main, OAuthToken: '{{resolve:secretsmanager:gh-json:SecretString:token}}'")+
		action("ghplain", "GitHub", "Owner: o, Repo: r, Branch: main, OAuthToken: gh-plain")))
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
	for range 9 {
		j, err := svc.ClaimJob(ctx, "w", []string{"CodeStarSourceConnection", "CodeConnections", "GitHub"}, 0)
		if err != nil || j == nil {
			t.Fatalf("claim: %v, %v", j, err)
		}
		jobs[j.Job.Action] = j
	}
	get := func(action string) (string, error) {
		j := jobs[action]
		g, err := svc.JobGitConnection(ctx, j.Job.ID, j.Worker)
		raw, _ := json.Marshal(g)
		return string(raw), err
	}
	wantConn := `{"name":"gitea","kind":"gitea","url":"http://127.0.0.1:3000","token":"token-of-gitea"}`
	for _, a := range []string{"imported", "byname", "ghconn"} {
		if g, err := get(a); err != nil || g != wantConn {
			t.Errorf("%s: %s, %v; want %s", a, g, err, wantConn)
		}
	}
	if g, err := get("ghjson"); err != nil || g != `{"kind":"github","url":"https://github.com","token":"token-in-json"}` {
		t.Errorf("ghjson: %s, %v", g, err)
	}
	if g, err := get("ghplain"); err != nil || !strings.Contains(g, `"token":"token-plain"`) {
		t.Errorf("ghplain: %s, %v", g, err)
	}
	refusals := map[string][]string{
		"unknown":   {"ConnectionArn arn:aws:codeconnections:us-east-1:000000000000:connection/nobody names no connection", "arns:", "name that connection nobody"},
		"awskind":   {"names cloud (kind aws), which is not a git host connection"},
		"forbidden": {"connection other", "does not allow sluice:GetSecretValue on secret/other-token"},
		"githubapp": {"connection app: the GitHub App's private key is not a PEM RSA key"},
	}
	for a, wants := range refusals {
		g, err := get(a)
		if err == nil {
			t.Errorf("%s: got %s, want an error", a, g)
			continue
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", a, err, w)
			}
		}
		if strings.Contains(err.Error(), "token-of") {
			t.Errorf("%s: error shows a token: %v", a, err)
		}
	}
	if service.ErrorCode(func() error { _, err := get("forbidden"); return err }()) != service.CodeForbidden {
		t.Error("a secret the role may not read is not Forbidden")
	}
	// Another worker gets nothing.
	if _, err := svc.JobGitConnection(ctx, jobs["imported"].Job.ID, "intruder"); err == nil {
		t.Error("a worker not holding the job got its connection")
	}
	// The poller's view: the same connection, and whether it takes webhooks.
	c, webhooks, err := svc.ActionGitConnection(ctx, "p", "S", "imported")
	if err != nil || c.Token != "token-of-gitea" || webhooks {
		t.Errorf("ActionGitConnection: %+v, %v, %v", c, webhooks, err)
	}
	if _, err := svc.ApplyConnection(ctx, "c.yml", []byte("name: gitea\nkind: gitea\nurl: http://127.0.0.1:3000/\ntoken: gitea-token\nwebhookSecret: hook\narns: ['"+importedARN+"']\n")); err != nil {
		t.Fatal(err)
	}
	if _, webhooks, err := svc.ActionGitConnection(ctx, "p", "S", "imported"); err != nil || !webhooks {
		t.Errorf("with a webhook secret: webhooks %v, %v", webhooks, err)
	}
	// Two connections claiming one ARN: refused, naming both.
	if _, err := svc.ApplyConnection(ctx, "c.yml", []byte("name: twin\nkind: gitea\nurl: http://127.0.0.1:3001\ntoken: gitea-token\narns: ['"+importedARN+"']\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := get("imported"); err == nil || !strings.Contains(err.Error(), "several git host connections (gitea, twin)") {
		t.Errorf("ambiguous ARN: %v", err)
	}
}
