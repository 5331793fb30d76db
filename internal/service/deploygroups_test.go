package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/errcode"
)

func TestDeployGroups(t *testing.T) {
	f := newFixture(t)
	ctx, svc := f.ctx, f.svc
	src := "applicationName: shop\ndeploymentGroupName: prod\ntargets: {agentGroup: web}\n"
	res, err := svc.ApplyDeployGroup(ctx, "g.yml", []byte(src))
	if err != nil || !res.Created || res.Info.Group.Config != "CodeDeployDefault.OneAtATime" {
		t.Fatalf("%+v %v", res, err)
	}
	f.clock.Add(time.Minute)
	res, err = svc.ApplyDeployGroup(ctx, "g.yml", []byte(src))
	if err != nil || res.Created || res.Changed {
		t.Fatalf("same again: %+v %v", res, err)
	}
	res, err = svc.ApplyDeployGroup(ctx, "g.yml", []byte(src+"deploymentConfigName: CodeDeployDefault.AllAtOnce\n"))
	if err != nil || res.Created || !res.Changed {
		t.Fatalf("changed: %+v %v", res, err)
	}
	if _, err := svc.ApplyDeployGroup(ctx, "other.yml", []byte("applicationName: blog\ndeploymentGroupName: prod\ntargets: {agentGroup: web}\n")); err != nil {
		t.Fatal(err)
	}
	all, _ := svc.DeployGroups(ctx, "")
	shop, _ := svc.DeployGroups(ctx, "shop")
	if len(all) != 2 || len(shop) != 1 || shop[0].Group.Config != "CodeDeployDefault.AllAtOnce" {
		t.Fatalf("all %d shop %+v", len(all), shop)
	}
	// A bad file changes nothing and names its line and field.
	_, err = svc.ApplyDeployGroup(ctx, "g.yml", []byte(src+"deploymentConfigName: Fast\n"))
	if errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), "g.yml:4: deploymentConfigName") {
		t.Fatalf("bad file: %v", err)
	}
	if g, _ := svc.DeployGroup(ctx, "shop", "prod"); g.Group.Config != "CodeDeployDefault.AllAtOnce" {
		t.Fatal("a bad file changed the group")
	}
	if err := svc.DeleteDeployGroup(ctx, "shop", "prod"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DeployGroup(ctx, "shop", "prod"); errcode.Of(err) != errcode.NotFound {
		t.Fatalf("after delete: %v", err)
	}
	if err := svc.DeleteDeployGroup(ctx, "shop", "prod"); errcode.Of(err) != errcode.NotFound {
		t.Fatalf("delete twice: %v", err)
	}
}
