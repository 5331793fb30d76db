package ui_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/wire"
)

// TestDeploymentsPage: the console shows deployment groups and each
// deployment's hosts with their lifecycle events and logs, escaped.
func TestDeploymentsPage(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ctx := context.Background()
	if _, err := ts.api.ApplyDeployGroup(ctx, "g.yml", []byte("applicationName: shop\ndeploymentGroupName: prod\ntargets: {agentGroup: web}\n")); err != nil {
		t.Fatal(err)
	}
	agent := client.New(ts.url, ts.token("web-1", "agent"))
	if task, err := agent.ClaimHostDeployment(ctx, "web-1", wire.AgentClaim{Group: "web"}); err != nil || task != nil {
		t.Fatalf("first claim: %v %v", task, err)
	}
	d, err := ts.api.CreateDeployment(ctx, "shop", "prod", strings.NewReader("zip"))
	if err != nil {
		t.Fatal(err)
	}
	if task, err := agent.ClaimHostDeployment(ctx, "web-1", wire.AgentClaim{Group: "web"}); err != nil || task == nil {
		t.Fatalf("claim: %v %v", task, err)
	}
	err = agent.HostResult(ctx, "web-1", d.ID, wire.HostResult{Succeeded: false, Message: "ValidateService failed", Events: []wire.HostEvent{
		{Event: "ValidateService", Status: "Failed", DurationMS: 12, Log: "curl: <refused> & gone"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowserless(t, ts.url)
	b.signIn(ts.token("look", "viewer"))
	resp, page := b.get("/ui/deployments")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ui/deployments: %s", resp.Status)
	}
	for _, want := range []string{"shop", "group <code>web</code>", "CodeDeployDefault.OneAtATime", d.ID, "web-1", "ValidateService: Failed (12 ms)", "curl: &lt;refused&gt; &amp; gone", "1 of 1 hosts failed"} {
		if !strings.Contains(page, want) {
			t.Errorf("deployments page lacks %q", want)
		}
	}
}
