package service_test

import (
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/service"
)

func TestFunctions(t *testing.T) {
	f := newFixture(t)
	ctx, svc := f.ctx, f.svc

	src := "name: notify\ncommand: [./notify.sh, --all]\nenvironment: {B: 2, A: 1}\n"
	res, err := svc.ApplyFunction(ctx, "fn.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || !res.Changed || res.Name != "notify" || res.Info.Function.TimeoutInMinutes != 15 {
		t.Fatalf("first apply = %+v", res)
	}
	created := f.clock.Now()

	// The same definition, written differently, changes nothing.
	f.clock.Add(time.Minute)
	res, err = svc.ApplyFunction(ctx, "fn.json", []byte(`{"name": "notify", "environment": {"A": "1", "B": "2"}, "command": ["./notify.sh", "--all"], "timeoutInMinutes": 15}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.Created || res.Changed || !res.Info.Updated.Equal(created) {
		t.Fatalf("second apply = %+v", res)
	}

	f.clock.Add(time.Minute)
	res, err = svc.ApplyFunction(ctx, "fn.yml", []byte("name: notify\nurl: https://example.com/hook\n"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Created || !res.Changed || !res.Info.Created.Equal(created) || !res.Info.Updated.Equal(f.clock.Now()) {
		t.Fatalf("third apply = %+v", res)
	}
	info, err := svc.Function(ctx, "notify")
	if err != nil {
		t.Fatal(err)
	}
	if info.Function.URL != "https://example.com/hook" || info.Function.Command != nil || !info.Created.Equal(created) {
		t.Fatalf("function = %+v", info)
	}

	_, err = svc.ApplyFunction(ctx, "bad.yml", []byte("name: other\ncommand: []\n"))
	if service.ErrorCode(err) != service.CodeInvalid || err.Error() != "bad.yml:2: command: must hold at least the program to run" {
		t.Fatalf("bad file: %v (%s)", err, service.ErrorCode(err))
	}
	if _, err := svc.Function(ctx, "other"); service.ErrorCode(err) != service.CodeNotFound || err.Error() != "function other not found" {
		t.Fatalf("function stored despite the error: %v", err)
	}

	if _, err := svc.ApplyFunction(ctx, "fn.yml", []byte("name: a-first\ncommand: [true]\n")); err != nil {
		t.Fatal(err)
	}
	all, err := svc.Functions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Function.Name != "a-first" || all[1].Function.Name != "notify" {
		t.Fatalf("functions = %+v", all)
	}
	if err := svc.DeleteFunction(ctx, "notify"); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteFunction(ctx, "notify"); service.ErrorCode(err) != service.CodeNotFound {
		t.Fatalf("second delete: %v", err)
	}
}
