package service_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/buildproject"
	"github.com/sluice-ci/sluice/internal/service"
)

func TestProjects(t *testing.T) {
	f := newFixture(t)
	// A service that can keep secrets, over the fixture's store.
	svc := service.New(f.store, nil, service.Config{Now: f.clock.Now, SecretKey: bytes.Repeat([]byte{7}, service.SecretKeySize)})
	ctx := f.ctx

	p, err := buildproject.Parse("project.yml", []byte("name: app-build\nenvironmentVariables:\n  - name: STAGE\n    value: prod\n  - name: DB_PASSWORD\n    value: db/password\n    type: SECRETS_MANAGER\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = svc.PutProject(ctx, p)
	want := "environmentVariables[1]: variable DB_PASSWORD (SECRETS_MANAGER) names secret db/password, which does not exist (create it with `sluice secret put db/password`)"
	if service.ErrorCode(err) != service.CodeInvalid || err.Error() != want {
		t.Fatalf("missing secret: %v (%s)", err, service.ErrorCode(err))
	}
	if _, err := svc.Project(ctx, "app-build"); service.ErrorCode(err) != service.CodeNotFound {
		t.Fatalf("project stored despite the error: %v", err)
	}

	if err := svc.PutSecret(ctx, "db/password", []byte("hunter2")); err != nil {
		t.Fatal(err)
	}
	if err := svc.PutProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	created := f.clock.Now()
	f.clock.Add(time.Minute)
	p.TimeoutInMinutes = 120
	if err := svc.PutProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err := svc.Project(ctx, "app-build")
	if err != nil {
		t.Fatal(err)
	}
	if got.Project.TimeoutInMinutes != 120 || len(got.Project.EnvironmentVariables) != 2 || !got.Created.Equal(created) || !got.Updated.Equal(f.clock.Now()) {
		t.Fatalf("project = %+v", got)
	}
	bad := buildproject.New("x") // one letter: too short
	if err := svc.PutProject(ctx, bad); service.ErrorCode(err) != service.CodeInvalid {
		t.Fatalf("invalid project: %v", err)
	}
	all, err := svc.Projects(ctx)
	if err != nil || len(all) != 1 || all[0].Project.Name != "app-build" {
		t.Fatalf("projects = %+v, %v", all, err)
	}
	if err := svc.DeleteProject(ctx, "app-build"); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteProject(ctx, "app-build"); service.ErrorCode(err) != service.CodeNotFound {
		t.Fatalf("second delete: %v", err)
	}
}
