package service_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/buildproject"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store/sqlite"
)

// TestJobSecretsByRole: a build job gets a secret when its project's
// serviceRole allows it, else when its pipeline's role does; the role is
// asked when the worker asks, so a changed role applies at once.
func TestJobSecretsByRole(t *testing.T) {
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
	for _, name := range []string{"a", "b"} {
		if err := svc.PutSecret(ctx, name, []byte("value-of-"+name)); err != nil {
			t.Fatal(err)
		}
	}
	role := func(name, secret string) {
		t.Helper()
		doc := `{"Statement":[{"Effect":"Allow","Action":"sluice:GetSecretValue","Resource":"secret/` + secret + `"}]}`
		if _, err := svc.PutPolicy(ctx, service.PolicyRequest{Name: name, Document: []byte(doc), Holder: admin}); err != nil {
			t.Fatal(err)
		}
	}
	role("role-a", "a")
	role("role-b", "b")
	project := func(name, serviceRole string) {
		t.Helper()
		src := "name: " + name + "\nbuildspec: |\n  version: 0.2\n  phases: {build: {commands: [env]}}\n" +
			"environmentVariables:\n  - {name: A, value: a, type: SECRETS_MANAGER}\n  - {name: B, value: b, type: SECRETS_MANAGER}\n"
		if serviceRole != "" {
			src += "serviceRole: " + serviceRole + "\n"
		}
		p, err := buildproject.Parse("p.yml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.PutProject(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	project("own-role", "role-b")
	project("no-role", "")
	pipe := func(name, project string) {
		t.Helper()
		decl, err := pipeline.Parse("p.yml", []byte("name: "+name+"\nrole: role-a\nstages:\n"+
			"  - name: Src\n    actions:\n      - name: src\n        provider: Commands\n        commands: [true]\n        outputArtifacts: [src]\n"+
			"  - name: S\n    actions:\n      - name: b\n        provider: Build\n        inputArtifacts: [src]\n        configuration: {ProjectName: "+project+"}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.ApplyPipeline(ctx, decl); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.StartExecution(ctx, service.StartRequest{Pipeline: name}); err != nil {
			t.Fatal(err)
		}
		src, err := svc.ClaimJob(ctx, "w", []string{"Commands"}, 0)
		if err != nil || src == nil {
			t.Fatalf("claim the source: %v, %v", src, err)
		}
		if err := svc.CompleteJob(ctx, src.Job.ID, src.Worker, service.JobResult{Succeeded: true}); err != nil {
			t.Fatal(err)
		}
	}
	secret := func(j *service.ClaimedJob, name string) (string, error) {
		v, err := svc.JobSecret(ctx, j.Job.ID, j.Worker, name)
		return string(v), err
	}
	claim := func() *service.ClaimedJob {
		t.Helper()
		j, err := svc.ClaimJob(ctx, "w", []string{"Build"}, 0)
		if err != nil || j == nil {
			t.Fatalf("claim: %v, %v", j, err)
		}
		return j
	}

	// The project's own role wins over the pipeline's.
	pipe("p1", "own-role")
	j := claim()
	if v, err := secret(j, "b"); err != nil || v != "value-of-b" {
		t.Errorf("secret b under the project's role-b: %q, %v", v, err)
	}
	if _, err := secret(j, "a"); err == nil || !strings.Contains(err.Error(), "role role-b of pipeline p1 (project own-role) does not allow sluice:GetSecretValue on secret/a") {
		t.Errorf("secret a under role-b: %v", err)
	}
	// Without one, the pipeline's.
	pipe("p2", "no-role")
	j = claim()
	if v, err := secret(j, "a"); err != nil || v != "value-of-a" {
		t.Errorf("secret a under the pipeline's role-a: %q, %v", v, err)
	}
	if _, err := secret(j, "b"); err == nil || service.ErrorCode(err) != service.CodeForbidden {
		t.Errorf("secret b under role-a: %v", err)
	}
	// Changing the role applies to the job already running, at once.
	role("role-a", "nothing")
	if _, err := secret(j, "a"); err == nil || !strings.Contains(err.Error(), "role role-a") {
		t.Errorf("secret a after role-a lost it: %v", err)
	}
	// A deleted role gives nothing.
	if err := svc.DeletePolicy(ctx, "role-b"); err != nil {
		t.Fatal(err)
	}
	pipe("p3", "own-role")
	j = claim()
	if _, err := secret(j, "b"); err == nil || !strings.Contains(err.Error(), "role-b: no policy of this name") {
		t.Errorf("secret b under a deleted role: %v", err)
	}
}
