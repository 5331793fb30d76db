package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// auditRecord is what `sluice audit -o json` prints of one record.
type auditRecord struct {
	ID            int64             `json:"id"`
	Time          string            `json:"time"`
	RequestID     string            `json:"requestId"`
	Principal     string            `json:"principal"`
	SourceAddress string            `json:"sourceAddress"`
	UserAgent     string            `json:"userAgent"`
	Operation     string            `json:"operation"`
	Resource      string            `json:"resource"`
	Parameters    map[string]string `json:"parameters"`
	Outcome       string            `json:"outcome"`
	Error         string            `json:"error"`
	Status        int               `json:"status"`
}

func TestAuditTrail(t *testing.T) {
	singleServer(t, "reads the trail's SQLite file in the data directory (TestAuditTrailSharedByReplicas covers replicas)")
	t.Parallel()
	s := startServer(t, "--audit-retention", "30d")
	s.apply("testdata/transitions.yml")
	reader := strings.TrimSpace(s.ok("token", "create", "auditee", "--policy", "read"))
	const secret = "e2e-audit-canary-0b9d31"
	if r := runCLIStdin(t, cliEnv(s.url, s.token), secret, "secret", "put", "deploy-key"); r.code != 0 {
		t.Fatalf("secret put: %s", r)
	}

	// A read-only token starting an execution is refused...
	r := runCLI(t, cliEnv(s.url, reader), "start", "transitions")
	if r.code == 0 {
		t.Fatalf("a read-only token started an execution: %s", r)
	}
	// ...and the refusal is in the trail by the time the CLI has its answer.
	var denied []auditRecord
	s.json(&denied, "audit", "--denied")
	if len(denied) != 1 {
		t.Fatalf("sluice audit --denied: %d records, want 1: %+v", len(denied), denied)
	}
	d := denied[0]
	if d.Principal != "auditee" || d.Operation != "StartPipelineExecution" || d.Resource != "pipeline/transitions" ||
		d.Outcome != "denied" || d.Status != 403 || d.Error == "" || d.RequestID == "" || d.SourceAddress != "127.0.0.1" ||
		!strings.HasPrefix(d.UserAgent, "Go-http-client") {
		t.Errorf("denied record = %+v", d)
	}

	// Filters and the table.
	var starts []auditRecord
	s.json(&starts, "audit", "--principal", "auditee", "--operation", "StartPipelineExecution", "--since", "1h")
	if len(starts) != 1 || starts[0].ID != d.ID {
		t.Errorf("audit --principal auditee --operation StartPipelineExecution: %+v", starts)
	}
	table := s.ok("audit", "--limit", "50")
	wantContains(t, "sluice audit", table, "TIME", "PRINCIPAL", "OPERATION", "RESOURCE", "OUTCOME", "STATUS", "SOURCE", "REQUEST ID",
		"auditee", "StartPipelineExecution", "denied", d.RequestID, "PutSecret", "CreateToken", "PutPipeline")

	// The secret's value is nowhere in the trail, nor in its database file.
	all := s.ok("audit", "--limit", "1000", "-o", "json")
	var recs []auditRecord
	if err := json.Unmarshal([]byte(all), &recs); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{all, table} {
		if strings.Contains(text, secret) || strings.Contains(text, reader) || strings.Contains(text, s.token) {
			t.Errorf("the audit trail shows a secret or a token:\n%s", text)
		}
	}
	s.shutdown() // flushes and checkpoints the trail
	files, _ := filepath.Glob(filepath.Join(s.data, "audit.db*"))
	if len(files) == 0 {
		t.Fatal("no audit.db in the data directory")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{secret, reader, s.token} {
			if strings.Contains(string(raw), v) {
				t.Errorf("%s holds a secret or a token", f)
			}
		}
	}
	// What was recorded survives the restart.
	s.boot()
	var after []auditRecord
	s.json(&after, "audit", "--denied")
	if len(after) != 1 || after[0].RequestID != d.RequestID {
		t.Errorf("after a restart, audit --denied = %+v", after)
	}
}

// git tries every push and fetch without credentials first, and sends them
// only when answered 401 with a challenge: that try is a challenge in the
// trail, not a denial, so `audit --denied` lists only real refusals.
func TestAuditGitChallengeIsNotADenial(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.ok("repo", "create", "app")
	g := newGit(t, s)
	dir := s.scratch("work")
	g.initRepo(dir)
	g.commit(dir, "first", map[string]string{"README": "hello\n"})
	g.run(dir, "push", "-q", s.gitURL("app"), "main")
	g.run("", "clone", "-q", s.gitURL("app"), filepath.Join(s.base, "clone"))

	var denied []auditRecord
	s.json(&denied, "audit", "--denied")
	if len(denied) != 0 {
		t.Errorf("audit --denied after a push and a clone with a good token: %+v", denied)
	}
	var pushes []auditRecord
	s.json(&pushes, "audit", "--operation", "GitPush")
	outcomes := map[string]int{}
	for _, r := range pushes {
		outcomes[r.Outcome]++
		if r.Outcome == "challenge" && (r.Status != 401 || r.Principal != "") {
			t.Errorf("challenge record = %+v", r)
		}
	}
	if outcomes["challenge"] == 0 || outcomes["allowed"] == 0 {
		t.Errorf("GitPush outcomes = %v, want git's anonymous try as a challenge and the push allowed: %+v", outcomes, pushes)
	}

	// A wrong token is a real refusal.
	g.fails(dir, "push", "-q", s.gitURLAs("ann", "sl_not-a-token", "app"), "main")
	s.json(&denied, "audit", "--denied")
	if len(denied) == 0 || denied[0].Operation != "GitPush" || denied[0].Status != 401 || denied[0].Outcome != "denied" {
		t.Errorf("audit --denied after a push with a wrong token: %+v", denied)
	}
}
