package service_test

import (
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/errcode"
	"github.com/sluice-ci/sluice/internal/service"
)

// A registration naming another group or other tags than the first one is
// refused and changes nothing; an admin's registration moves the agent;
// deregistration makes the next claim a first one again.
func TestAgentRegistrationPinned(t *testing.T) {
	f := deployFixture(t, "CodeDeployDefault.AllAtOnce", "a1")
	if err := f.svc.RegisterAgent(f.ctx, service.DeployAgent{ID: "t1", Group: "web", Tags: map[string]string{"env": "prod"}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		a    service.DeployAgent
		want string
	}{
		{service.DeployAgent{ID: "t1", Group: "db", Tags: map[string]string{"env": "prod"}}, `group "db" (registered: "web")`},
		{service.DeployAgent{ID: "t1", Group: "web", Tags: map[string]string{"env": "prod", "region": "eu"}}, "tags env=prod,region=eu (registered: env=prod)"},
		{service.DeployAgent{ID: "t1", Group: "web"}, "tags none (registered: env=prod)"},
	} {
		_, err := f.svc.ClaimHostDeployment(f.ctx, c.a)
		if errcode.Of(err) != errcode.Forbidden || !strings.Contains(err.Error(), c.want) {
			t.Errorf("claim %+v: %v, want Forbidden naming %s", c.a, err, c.want)
		}
	}
	agent := func() service.DeployAgent {
		as, err := f.svc.DeployAgents(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if a.ID == "t1" {
				return a
			}
		}
		return service.DeployAgent{}
	}
	if a := agent(); a.Group != "web" || len(a.Tags) != 1 {
		t.Fatalf("after refused claims: %+v", a)
	}
	if _, err := f.svc.SetAgentRegistration(f.ctx, service.DeployAgent{ID: "t1", Group: "db"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RegisterAgent(f.ctx, service.DeployAgent{ID: "t1", Group: "db"}); err != nil {
		t.Fatalf("claim as the admin set it: %v", err)
	}
	if err := f.svc.RegisterAgent(f.ctx, service.DeployAgent{ID: "t1", Group: "web"}); errcode.Of(err) != errcode.Forbidden {
		t.Fatalf("claim back in web after the admin's move: %v", err)
	}
	if err := f.svc.DeregisterAgent(f.ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeregisterAgent(f.ctx, "t1"); errcode.Of(err) != errcode.NotFound {
		t.Fatalf("deregistering twice: %v", err)
	}
	if err := f.svc.RegisterAgent(f.ctx, service.DeployAgent{ID: "t1", Group: "web"}); err != nil {
		t.Fatalf("first registration after deregistration: %v", err)
	}
}
