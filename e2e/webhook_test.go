package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

const webhookSecret = "e2e-webhook-secret-5f1d"

// webhookReply is the body of a webhook delivery's answer.
type webhookReply struct {
	Started             bool   `json:"started"`
	PipelineExecutionID string `json:"pipelineExecutionId"`
	Reason              string `json:"reason"`
	Code                string `json:"code"`
	Message             string `json:"message"`
}

// delivery is one POST to a webhook, as GitHub makes it.
type delivery struct {
	id        string // X-GitHub-Delivery; "" for none
	body      []byte
	secret    string // signs the body; "" for no signature
	signature string // sent as is instead, when set
}

func githubPush(ref, before, after string) []byte {
	body, _ := json.Marshal(map[string]any{
		"ref": ref, "before": before, "after": after,
		"repository":  map[string]any{"full_name": "octo-org/app", "clone_url": "https://example.com/octo-org/app.git"},
		"pusher":      map[string]any{"name": "octocat", "email": "octocat@example.com"},
		"head_commit": map[string]any{"id": after, "message": "from GitHub"},
	})
	return body
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// deliver POSTs d to webhook name and returns the status and decoded reply.
func (s *server) deliver(name string, d delivery) (int, webhookReply) {
	s.t.Helper()
	req, err := http.NewRequest("POST", s.url+"/webhooks/"+name, bytes.NewReader(d.body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/e2e")
	req.Header.Set("X-GitHub-Event", "push")
	if d.id != "" {
		req.Header.Set("X-GitHub-Delivery", d.id)
	}
	switch {
	case d.signature != "":
		req.Header.Set("X-Hub-Signature-256", d.signature)
	case d.secret != "":
		req.Header.Set("X-Hub-Signature-256", sign(d.secret, d.body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var r webhookReply
	if err := json.Unmarshal(raw, &r); err != nil {
		s.t.Errorf("webhook %s answered %d with a body that is not JSON: %v\n%s", name, resp.StatusCode, err, raw)
	}
	return resp.StatusCode, r
}

type webhookInfo struct {
	Name           string `json:"name"`
	TargetPipeline string `json:"targetPipeline"`
	TargetAction   string `json:"targetAction"`
	Authentication string `json:"authentication"`
	URL            string `json:"url"`
	Filters        []struct {
		JSONPath    string `json:"jsonPath"`
		MatchEquals string `json:"matchEquals"`
	} `json:"filters"`
}

func TestWebhook(t *testing.T) {
	t.Parallel()
	// Polling is on and fast, to show that PollForSourceChanges: "false"
	// turns it off.
	s := startServer(t, "--poll-interval", pollInterval)
	g := newGit(t, s)
	url, work := bareRepo(t, s, g, "hooked")
	c1 := g.commit(work, "one", map[string]string{"a.txt": "version 1\n"})
	c2 := g.commit(work, "two", map[string]string{"a.txt": "version 2\n"})
	g.run(work, "push", "-q", "origin", "main")
	s.apply("testdata/poll-canary.yml")
	s.apply(remotePipeline(t, s, "hooked", url, `PollForSourceChanges: "false"`))

	dir := s.scratch("webhooks")
	def := filepath.Join(dir, "gh.yml")
	writeFile(t, def, `# GitHub's push webhook for the hooked pipeline.
name: gh
targetPipeline: hooked
targetAction: src
filters:
  - jsonPath: $.ref
    matchEquals: refs/heads/{BranchName}
authentication: GITHUB_HMAC
authenticationConfiguration:
  SecretToken: `+webhookSecret+`
`)
	out := s.ok("webhook", "apply", "-f", def)
	wantEqual(t, "webhook apply", strings.TrimSpace(out), "webhook gh applied: POST "+s.url+"/webhooks/gh")
	rawList := s.ok("webhook", "list", "-o", "json")
	var hooks []webhookInfo
	if err := json.Unmarshal([]byte(rawList), &hooks); err != nil {
		t.Fatalf("webhook list -o json: %v\n%s", err, rawList)
	}
	if len(hooks) != 1 || hooks[0].Name != "gh" || hooks[0].TargetPipeline != "hooked" || hooks[0].TargetAction != "src" ||
		hooks[0].Authentication != "GITHUB_HMAC" || hooks[0].URL != s.url+"/webhooks/gh" ||
		len(hooks[0].Filters) != 1 || hooks[0].Filters[0].MatchEquals != "refs/heads/{BranchName}" {
		t.Errorf("webhook list -o json = %s", rawList)
	}
	table := s.ok("webhook", "list")
	wantContains(t, "webhook list", table, "gh", "hooked", "GITHUB_HMAC", s.url+"/webhooks/gh")
	for what, text := range map[string]string{
		"webhook list -o json": rawList, "webhook list": table,
		"webhook list -o yaml": s.ok("webhook", "list", "-o", "yaml"),
		"secret list -o json":  s.ok("secret", "list", "-o", "json"),
	} {
		if strings.Contains(text, webhookSecret) {
			t.Errorf("%s shows the webhook's secret:\n%s", what, text)
		}
	}

	// A good signature: 202 and an execution at the commit the body names
	// (the older one: the branch's head is c2).
	code, reply := s.deliver("gh", delivery{id: "d-1", body: githubPush("refs/heads/main", strings.Repeat("0", 40), c1), secret: webhookSecret})
	wantEqual(t, "status of a good delivery", code, http.StatusAccepted)
	if !reply.Started || reply.PipelineExecutionID == "" {
		t.Fatalf("reply to a good delivery = %+v, want started with an id", reply)
	}
	note := s.nextTrigger("hooked", nil)
	wantEqual(t, "lastTrigger execution", note.PipelineExecutionID, reply.PipelineExecutionID)
	e := s.wantStarted("hooked", note, 1, "Succeeded")
	wantEqual(t, "trigger type", e.Trigger.TriggerType, "Webhook")
	wantContains(t, "trigger detail", e.Trigger.TriggerDetail, "gh", "refs/heads/main", "octocat")
	wantRevision(t, e, "src", c1, "one")
	wantContains(t, "Show log", s.ok("logs", "hooked", e.PipelineExecutionID, "Show"), "version 1")

	// The same delivery again starts nothing new.
	code, reply = s.deliver("gh", delivery{id: "d-1", body: githubPush("refs/heads/main", strings.Repeat("0", 40), c1), secret: webhookSecret})
	wantEqual(t, "status of a redelivery", code, http.StatusOK)
	if reply.Started {
		t.Errorf("reply to a redelivery = %+v, want nothing started", reply)
	}
	wantEqual(t, "executions after a redelivery", len(s.executions("hooked")), 1)

	// Bad signatures: 401, nothing starts.
	good := githubPush("refs/heads/main", c1, c2)
	for what, d := range map[string]delivery{
		"a wrong secret":           {id: "d-2", body: good, secret: "not-the-secret"},
		"no signature":             {id: "d-3", body: good},
		"a signature of sha1":      {id: "d-4", body: good, signature: "sha1=" + strings.TrimPrefix(sign(webhookSecret, good), "sha256=")[:40]},
		"a garbled signature":      {id: "d-5", body: good, signature: "sha256=zz"},
		"another body's signature": {id: "d-6", body: good, signature: sign(webhookSecret, githubPush("refs/heads/main", c1, c1))},
	} {
		code, reply := s.deliver("gh", d)
		if code != http.StatusUnauthorized || reply.Started {
			t.Errorf("delivery with %s: %d %+v, want 401 and nothing started", what, code, reply)
		}
	}
	wantEqual(t, "executions after bad signatures", len(s.executions("hooked")), 1)
	if strings.Contains(s.serverLog(), webhookSecret) {
		t.Errorf("the server log holds the webhook's secret")
	}

	// A malformed body with a good signature: 400, nothing starts.
	bad := []byte(`{"ref": "refs/heads/main", "after": `)
	code, reply = s.deliver("gh", delivery{id: "d-7", body: bad, secret: webhookSecret})
	if code != http.StatusBadRequest || reply.Started {
		t.Errorf("malformed delivery: %d %+v, want 400 and nothing started", code, reply)
	}
	wantEqual(t, "executions after a malformed body", len(s.executions("hooked")), 1)

	// A ref the filter does not match: 200, nothing starts, status says why.
	code, reply = s.deliver("gh", delivery{id: "d-8", body: githubPush("refs/heads/dev", c1, c2), secret: webhookSecret})
	wantEqual(t, "status of a delivery for another branch", code, http.StatusOK)
	if reply.Started || reply.Reason == "" {
		t.Errorf("reply to a delivery for another branch = %+v, want nothing started and a reason", reply)
	}
	note = s.nextTrigger("hooked", &note)
	s.wantIgnored("hooked", note, 1, "filter")
	wantEqual(t, "ignored trigger type", note.TriggerType, "Webhook")
	wantContains(t, "ignored trigger detail", note.TriggerDetail, "refs/heads/dev")

	// Polling is off for this source: a new commit on the remote starts
	// nothing by itself.
	s.pollRounds()
	c3 := g.commit(work, "three", map[string]string{"a.txt": "version 3\n"})
	g.run(work, "push", "-q", "origin", "main")
	s.pollRounds()
	wantEqual(t, "executions after polls of a source with PollForSourceChanges false", len(s.executions("hooked")), 1)

	// The next push's delivery starts the new head.
	code, reply = s.deliver("gh", delivery{id: "d-9", body: githubPush("refs/heads/main", c2, c3), secret: webhookSecret})
	wantEqual(t, "status of a second good delivery", code, http.StatusAccepted)
	note = s.nextTrigger("hooked", &note)
	e = s.wantStarted("hooked", note, 2, "Succeeded")
	wantRevision(t, e, "src", c3, "three")
	wantEqual(t, "execution of the second delivery", e.PipelineExecutionID, reply.PipelineExecutionID)

	// A definition with problems is refused with file, line and field.
	badDef := filepath.Join(dir, "bad.yml")
	writeFile(t, badDef, `name: bad
targetPipeline: hooked
targetAction: src
filters:
  - jsonPath: ref
authentication: GITHUB_HMAC
`)
	r := s.fails("webhook", "apply", "-f", badDef)
	wantContains(t, "apply of a bad definition", r.stderr, badDef+":5: filters[0].jsonPath:", "authenticationConfiguration.SecretToken")
	missing := filepath.Join(dir, "missing.yml")
	writeFile(t, missing, "name: missing\ntargetPipeline: nope\ntargetAction: src\nauthentication: UNAUTHENTICATED\n")
	r = s.fails("webhook", "apply", "-f", missing)
	wantContains(t, "apply of a webhook for a missing pipeline", r.stderr, "nope")

	// An IP range: a request from elsewhere is refused.
	ipDef := filepath.Join(dir, "ip.yml")
	writeFile(t, ipDef, "name: ip\ntargetPipeline: hooked\ntargetAction: src\nauthentication: IP\n"+
		"authenticationConfiguration:\n  AllowedIPRange: 192.0.2.0/24\n")
	s.ok("webhook", "apply", "-f", ipDef)
	code, reply = s.deliver("ip", delivery{id: "d-10", body: githubPush("refs/heads/main", c2, c3)})
	if code != http.StatusUnauthorized || reply.Started {
		t.Errorf("delivery from outside the allowed range: %d %+v, want 401", code, reply)
	}
	writeFile(t, ipDef, "name: ip\ntargetPipeline: hooked\ntargetAction: src\nauthentication: IP\n"+
		"authenticationConfiguration:\n  AllowedIPRange: 127.0.0.0/8\n")
	s.ok("webhook", "apply", "-f", ipDef)
	code, reply = s.deliver("ip", delivery{id: "d-10", body: githubPush("refs/heads/main", c2, c3)})
	if code != http.StatusAccepted || !reply.Started {
		t.Errorf("delivery from inside the allowed range: %d %+v, want 202", code, reply)
	}
	note = s.nextTrigger("hooked", &note)
	s.wantStarted("hooked", note, 3, "Succeeded")

	// delete
	wantEqual(t, "webhook delete", strings.TrimSpace(s.ok("webhook", "delete", "gh")), "webhook gh deleted")
	code, _ = s.deliver("gh", delivery{id: "d-11", body: githubPush("refs/heads/main", c2, c3), secret: webhookSecret})
	wantEqual(t, "status of a delivery to a deleted webhook", code, http.StatusNotFound)
	r = s.fails("webhook", "delete", "gh")
	wantContains(t, "second webhook delete", strings.ToLower(r.stderr), "not found")
	hooks = nil
	s.json(&hooks, "webhook", "list")
	if len(hooks) != 1 || hooks[0].Name != "ip" {
		t.Errorf("webhook list after delete = %+v, want only ip", hooks)
	}
	wantEqual(t, "executions at the end", len(s.executions("hooked")), 3)
}
