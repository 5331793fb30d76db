package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/wire"
)

// An agent's group and tags are pinned at its first registration. Attacker:
// whoever holds agent pin-1's token (a compromised web host). Restarted
// with --group db, or with an extra tag, it would be handed the db group's
// revisions (its code and configuration); every such claim is refused with
// 403 naming what differs, audited as denied under its name, and changes
// nothing: the agent stays in web, and a deployment to db finds no host.
// An admin moves it with `sluice deployment register-agent`, and then it
// deploys db's revision.
func TestAgentRegistrationPinned(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := t.TempDir()
	for name, targets := range map[string]string{"web": "{agentGroup: web, tags: {env: prod}}", "db": "{agentGroup: db}", "dbprod": "{agentGroup: web, tags: {env: prod, tier: db}}"} {
		f := filepath.Join(dir, name+".yaml")
		writeFile(t, f, "applicationName: shop\ndeploymentGroupName: "+name+"\ntargets: "+targets+"\ndeploymentConfigName: CodeDeployDefault.AllAtOnce\n")
		s.ok("deploy-group", "apply", "-f", f)
	}
	rev := filepath.Join(dir, "rev")
	if err := os.MkdirAll(rev, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(rev, "appspec.yml"), "version: 0.0\nos: linux\nfiles:\n  - source: config.txt\n    destination: /opt/db\n")
	writeFile(t, filepath.Join(rev, "config.txt"), "db-only configuration\n")
	agentOf := func(id string) (wire.Agent, bool) {
		var as []wire.Agent
		s.json(&as, "deployment", "agents")
		for _, a := range as {
			if a.ID == id {
				return a, true
			}
		}
		return wire.Agent{}, false
	}

	// First registration, by the real agent: group web, env=prod.
	root := t.TempDir()
	a := startAgent(t, s, "pin-1", root, 0)
	eventually(t, 20*time.Second, "pin-1 registered", func() bool { _, ok := agentOf("pin-1"); return ok })
	a.kill()

	// The same token, restarted into group db: refused, and it stays in web.
	a = startAgent(t, s, "pin-1", root, 0, "--group", "db")
	eventually(t, 20*time.Second, "pin-1's claim as group db denied", func() bool {
		var denied []auditRecord
		s.json(&denied, "audit", "--denied", "--principal", "pin-1")
		for _, r := range denied {
			if r.Operation == "PollForDeployments" && r.Resource == "agent/pin-1" && strings.Contains(r.Error, `group "db" (registered: "web")`) {
				return true
			}
		}
		return false
	})
	a.kill()
	tok := readAgentToken(t, s, "pin-1")
	for _, c := range []struct {
		what  string
		claim wire.AgentClaim
		want  string
	}{
		{"another group", wire.AgentClaim{Group: "db", Tags: map[string]string{"env": "prod"}}, `group "db" (registered: "web")`},
		{"an extra tag", wire.AgentClaim{Group: "web", Tags: map[string]string{"env": "prod", "tier": "db"}}, "tags env=prod,tier=db (registered: env=prod)"},
		{"no tags", wire.AgentClaim{Group: "web"}, "tags none (registered: env=prod)"},
	} {
		code, body := agentCall(t, s, tok, "POST", "/api/v1/agents/pin-1/claim", c.claim)
		if code != http.StatusForbidden {
			t.Fatalf("claim with %s: %d %s, want 403", c.what, code, body)
		}
		var e wire.ErrorBody
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			t.Fatalf("claim with %s: %s: %v", c.what, body, err)
		}
		wantContains(t, "claim with "+c.what, e.Message, c.want, "sluice deployment register-agent pin-1")
	}
	if got, _ := agentOf("pin-1"); got.Group != "web" || len(got.Tags) != 1 || got.Tags["env"] != "prod" {
		t.Fatalf("pin-1 after the refused claims: %+v, want group web, env=prod", got)
	}
	// Its token cannot move it either.
	if code, body := agentCall(t, s, tok, "PUT", "/api/v1/agents/pin-1/registration", wire.AgentRegistration{Group: "db"}); code != http.StatusForbidden {
		t.Fatalf("pin-1's token re-registering itself: %d %s, want 403", code, body)
	}
	// Nothing of db's or of the tier=db group reaches it: no host to deploy to.
	for _, g := range []string{"db", "dbprod"} {
		r := s.fails("deployment", "create", "--application", "shop", "--group", g, "--revision", rev)
		wantContains(t, "deployment to "+g+" with pin-1 pinned in web", r.stderr, "has no agents to deploy to")
	}
	if _, err := os.Stat(filepath.Join(root, "opt/db/config.txt")); err == nil {
		t.Fatal("db's configuration reached pin-1")
	}
	var ds []wire.Deployment
	s.json(&ds, "deployment", "list")
	for _, d := range ds {
		for _, h := range d.Hosts {
			if h.Agent == "pin-1" {
				t.Fatalf("pin-1 is a host of deployment %s to %s", d.ID, d.Group)
			}
		}
	}

	// An admin moves it to db; the agent restarted with --group db deploys db's revision.
	out := s.ok("deployment", "register-agent", "pin-1", "--group", "db", "--tag", "env=prod")
	wantContains(t, "register-agent", out, "agent pin-1 registered in group db env=prod")
	a = startAgent(t, s, "pin-1", root, 0, "--group", "db")
	eventually(t, 20*time.Second, "pin-1 claiming in db", func() bool {
		got, _ := agentOf("pin-1")
		return got.Group == "db" && time.Since(got.LastSeen) < 5*time.Second
	})
	out = s.ok("deployment", "create", "--application", "shop", "--group", "db", "--revision", rev, "--wait")
	id := strings.Fields(out)[1]
	var d wire.Deployment
	s.json(&d, "deployment", "get", id)
	if d.Status != "Succeeded" || len(d.Hosts) != 1 || d.Hosts[0].Agent != "pin-1" {
		t.Fatalf("deployment to db after the admin moved pin-1: %+v", d)
	}
	b, err := os.ReadFile(filepath.Join(root, "opt/db/config.txt"))
	wantEqual(t, "db's configuration on pin-1", strings.TrimSpace(string(b))+errString(err), "db-only configuration")

	a.kill()
	// Deregistered, its next claim is a first registration again.
	s.ok("deployment", "deregister-agent", "pin-1")
	if code, body := agentCall(t, s, tok, "POST", "/api/v1/agents/pin-1/claim", wire.AgentClaim{Group: "web"}); code != http.StatusNoContent {
		t.Fatalf("claim after deregistration: %d %s", code, body)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
