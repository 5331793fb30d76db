package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/wire"
)

// agentCall is one request of the agent protocol made with token, as a
// `sluice agent` (or someone holding its token) would make it.
func agentCall(t *testing.T, s *server, token, method, path string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

// An agent is trusted with nothing beyond its own deployments. Attacker:
// whoever holds agent A's token (a compromised deploy target). A tries to
// take agent B's host deployment, to report on it (as B, and as itself), to
// fetch its revision (which may hold another group's configuration), to
// create a deployment, to speak the workers' job protocol and to start a
// pipeline: every one is refused with 403, B's deployment goes on untouched,
// and the refusals are in the audit trail under A's name.
func TestAgentIdentity(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.apply("testdata/transitions.yml")
	tokA, tokB := readAgentToken(t, s, "ag-a"), readAgentToken(t, s, "ag-b")
	dir := t.TempDir()
	for app, group := range map[string]string{"prod": "web", "db": "db"} {
		f := filepath.Join(dir, app+".yaml")
		writeFile(t, f, "applicationName: shop\ndeploymentGroupName: "+app+"\ntargets: {agentGroup: "+group+"}\ndeploymentConfigName: CodeDeployDefault.AllAtOnce\n")
		s.ok("deploy-group", "apply", "-f", f)
	}
	// Each registers as itself: B in web (shop/prod), A in db.
	if code, body := agentCall(t, s, tokB, "POST", "/api/v1/agents/ag-b/claim", wire.AgentClaim{Group: "web"}); code != http.StatusNoContent {
		t.Fatalf("B registers: %d %s", code, body)
	}
	if code, body := agentCall(t, s, tokA, "POST", "/api/v1/agents/ag-a/claim", wire.AgentClaim{Group: "db"}); code != http.StatusNoContent {
		t.Fatalf("A registers: %d %s", code, body)
	}
	rev := filepath.Join(dir, "rev")
	if err := os.MkdirAll(rev, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(rev, "appspec.yml"), "version: 0.0\nos: linux\n")
	writeFile(t, filepath.Join(rev, "config.txt"), "prod-only configuration\n")
	id := strings.Fields(s.ok("deployment", "create", "--application", "shop", "--group", "prod", "--revision", rev))[1]

	// A asks for work in B's name, before B does: refused, nothing handed out.
	if code, body := agentCall(t, s, tokA, "POST", "/api/v1/agents/ag-b/claim", wire.AgentClaim{Group: "web"}); code != http.StatusForbidden {
		t.Fatalf("A claiming as B: %d %s, want 403", code, body)
	}
	code, body := agentCall(t, s, tokB, "POST", "/api/v1/agents/ag-b/claim", wire.AgentClaim{Group: "web"})
	var task wire.HostTask
	if code != http.StatusOK || json.Unmarshal([]byte(body), &task) != nil || task.DeploymentID != id {
		t.Fatalf("B claims its deployment %s: %d %s", id, code, body)
	}

	for _, c := range []struct{ what, method, path string }{
		{"report on B's host deployment as B", "POST", "/api/v1/agents/ag-b/deployments/" + id + "/result"},
		{"report on B's host deployment as itself", "POST", "/api/v1/agents/ag-a/deployments/" + id + "/result"},
		{"fetch the other group's revision as B", "GET", "/api/v1/agents/ag-b/deployments/" + id + "/revision"},
		{"fetch the other group's revision as itself", "GET", "/api/v1/agents/ag-a/deployments/" + id + "/revision"},
		{"create a deployment", "POST", "/api/v1/deployments?application=shop&group=prod"},
		{"claim a worker's job", "POST", "/api/v1/jobs/claim"},
		{"start a pipeline", "POST", "/api/v1/pipelines/transitions/executions"},
	} {
		code, body := agentCall(t, s, tokA, c.method, c.path, wire.HostResult{Succeeded: true, Message: "forged"})
		if code != http.StatusForbidden {
			t.Errorf("A tries to %s: %d %s, want 403", c.what, code, body)
		}
		if strings.Contains(body, "prod-only") {
			t.Errorf("A tries to %s: the revision leaked: %s", c.what, body)
		}
	}
	var d wire.Deployment
	s.json(&d, "deployment", "get", id)
	if d.Status != "InProgress" || len(d.Hosts) != 1 || d.Hosts[0].Agent != "ag-b" || d.Hosts[0].Status != "InProgress" {
		t.Fatalf("B's deployment after A's attempts: %+v", d)
	}
	// B itself may do all of it.
	if code, body := agentCall(t, s, tokB, "GET", "/api/v1/agents/ag-b/deployments/"+id+"/revision", nil); code != http.StatusOK {
		t.Fatalf("B fetches its revision: %d %s", code, body)
	}
	if code, body := agentCall(t, s, tokB, "POST", "/api/v1/agents/ag-b/deployments/"+id+"/result", wire.HostResult{Succeeded: true}); code != http.StatusNoContent {
		t.Fatalf("B reports: %d %s", code, body)
	}
	s.json(&d, "deployment", "get", id)
	wantEqual(t, "deployment status", d.Status, "Succeeded")

	var denied []auditRecord
	s.json(&denied, "audit", "--denied", "--principal", "ag-a")
	ops := map[string]bool{}
	for _, r := range denied {
		ops[r.Operation+" "+r.Resource] = true
	}
	for _, want := range []string{
		"PollForDeployments agent/ag-b", "PutDeploymentHostResult agent/ag-b", "GetDeploymentRevision agent/ag-b",
		"CreateDeployment deploymentgroup/shop/prod", "StartPipelineExecution pipeline/transitions",
	} {
		if !ops[want] {
			t.Errorf("audit --denied --principal ag-a lacks %s: %v", want, ops)
		}
	}
}
