package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/notify/smtpsink"
)

// pushEvent is what a rule's webhook target receives for a push to a
// hosted repository.
type pushEvent struct {
	DetailType string `json:"detail-type"`
	Source     string `json:"source"`
	Detail     struct {
		Event          string `json:"event"`
		RepositoryName string `json:"repositoryName"`
		ReferenceType  string `json:"referenceType"`
		ReferenceName  string `json:"referenceName"`
		CommitID       string `json:"commitId"`
		// sluice's additions to CodeCommit's detail: who pushed, and the
		// commits the push brought.
		Sluice struct {
			CallerUser       string `json:"caller"`
			CommitsTruncated bool   `json:"commits-truncated"`
			Commits          []struct {
				CommitID string `json:"commitId"`
				Message  string `json:"message"`
				Author   struct {
					Name, Email string
					Date        time.Time
				} `json:"author"`
			} `json:"commits"`
		} `json:"sluice"`
	} `json:"detail"`
}

// TestRepositoryTriggers: CodeCommit's repository triggers as rules on the
// push events: a push over SSH, a branch created, a tag created and a
// branch deleted reach a webhook (with the commits the push brought), an
// email and a pipeline, each filtered as CodeCommit's triggers filter by
// event and branch.
func TestRepositoryTriggers(t *testing.T) {
	t.Parallel()
	requireSSH(t)
	got := make(chan pushEvent, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev pushEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("webhook body: %v\n%s", err, body)
		}
		got <- ev
	}))
	defer hook.Close()
	sink, err := smtpsink.New(smtpsink.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()

	s := startServer(t, "--ssh-addr", "127.0.0.1:0", "--smtp-addr", sink.Addr(), "--smtp-tls", "none")
	s.ok("repo", "create", "app")
	s.ok("token", "create", "dev", "--policy", "operator")
	dir := s.scratch("triggers")
	notified := filepath.Join(dir, "notified.yml")
	writeFile(t, notified, `name: on-release-tag
executionMode: PARALLEL
variables:
  - name: TAG
    defaultValue: none
stages:
  - name: Run
    actions:
      - name: show
        provider: Commands
        commands: ['echo "tag=#{variables.TAG}"']
`)
	s.apply(notified)
	rules := map[string]string{
		// Every reference change of app: CodeCommit's "all" events.
		"app-all.yml": `name: app-all
eventPattern:
  source: [aws.codecommit]
  detail-type: [CodeCommit Repository State Change]
  detail: {repositoryName: [app]}
targets:
  - webhook: {url: "` + hook.URL + `/all"}
`,
		// Pushes to main only, by mail.
		"app-main.yml": `name: app-main
eventPattern:
  detail-type: [CodeCommit Repository State Change]
  detail: {repositoryName: [app], referenceType: [branch], referenceName: [main], event: [referenceCreated, referenceUpdated]}
targets:
  - email: {to: team@example.com}
`,
		// A tag created starts a pipeline with the tag's name.
		"app-tags.yml": `name: app-tags
eventPattern:
  detail-type: [CodeCommit Repository State Change]
  detail: {repositoryName: [app], referenceType: [tag], event: [referenceCreated]}
targets:
  - pipeline: {name: on-release-tag, variables: {TAG: $.detail.referenceName}}
`,
	}
	for file, body := range rules {
		path := filepath.Join(dir, file)
		writeFile(t, path, body)
		s.ok("rule", "apply", "-f", path)
	}

	knownHosts := filepath.Join(dir, "known_hosts")
	var l sshKeyList
	s.json(&l, "ssh-key", "list")
	writeFile(t, knownHosts, sshHostAlias+" "+l.Host.HostKey+"\n")
	dev := newSSHUser(t, s, "dev", knownHosts)
	s.ok("ssh-key", "add", "dev", "--principal", "dev", "-f", dev.key+".pub")

	next := func(what string) pushEvent {
		t.Helper()
		select {
		case ev := <-got:
			return ev
		case <-time.After(30 * time.Second):
			t.Fatalf("no webhook delivery for %s\n%s", what, s.serverLog())
		}
		return pushEvent{}
	}

	work := filepath.Join(dev.dir, "work")
	dev.git.initRepo(work)
	dev.git.run(work, "remote", "add", "origin", "sluice:app.git")
	c1 := dev.git.commit(work, "first\n\nthe body", map[string]string{"a.txt": "1\n"})
	c2 := dev.git.commit(work, "second", map[string]string{"a.txt": "2\n"})
	dev.git.run(work, "push", "-q", "origin", "main")

	ev := next("main created")
	wantEqual(t, "source", ev.Source, "aws.codecommit")
	wantEqual(t, "event", ev.Detail.Event, "referenceCreated")
	wantEqual(t, "reference", ev.Detail.ReferenceType+" "+ev.Detail.ReferenceName, "branch main")
	wantEqual(t, "caller", ev.Detail.Sluice.CallerUser, "dev")
	if len(ev.Detail.Sluice.Commits) != 2 || ev.Detail.Sluice.Commits[0].CommitID != c2 || ev.Detail.Sluice.Commits[1].CommitID != c1 {
		t.Fatalf("commits of the first push = %+v, want %s then %s", ev.Detail.Sluice.Commits, c2, c1)
	}
	first := ev.Detail.Sluice.Commits[1]
	wantEqual(t, "message", first.Message, "first\n\nthe body")
	wantEqual(t, "author", first.Author.Name+" <"+first.Author.Email+">", "Ann Tester <ann@example.com>")
	if first.Author.Date.IsZero() {
		t.Errorf("commit without an author date")
	}

	// The mail for main, with its commits.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msg, err := sink.Next(ctx)
	if err != nil {
		t.Fatalf("no mail: %v", err)
	}
	subject, _ := msg.Subject()
	wantEqual(t, "mail subject", subject, "sluice: repository app: branch main created by dev (2 commits)")
	text, _ := msg.Text()
	wantContains(t, "mail text", text, c2[:12]+" Ann Tester <ann@example.com>: second", c1[:12]+" Ann Tester <ann@example.com>: first")

	// A feature branch and a tag in one push: two events; the tag starts
	// the pipeline; no mail (not main).
	dev.git.run(work, "checkout", "-q", "-b", "feature")
	c3 := dev.git.commit(work, "feature work", map[string]string{"b.txt": "b\n"})
	dev.git.run(work, "tag", "v1.0", c2)
	dev.git.run(work, "push", "-q", "origin", "feature", "v1.0")
	seen := map[string]pushEvent{}
	for range 2 {
		e := next("feature and tag")
		seen[e.Detail.ReferenceType+" "+e.Detail.ReferenceName] = e
	}
	if f := seen["branch feature"]; len(f.Detail.Sluice.Commits) != 1 || f.Detail.Sluice.Commits[0].CommitID != c3 {
		t.Errorf("feature's commits = %+v, want only %s", f.Detail.Sluice.Commits, c3)
	}
	if tag := seen["tag v1.0"]; tag.Detail.Event != "referenceCreated" || len(tag.Detail.Sluice.Commits) != 0 {
		t.Errorf("tag event = %+v, want created with no new commits", tag.Detail)
	}
	note := s.nextTrigger("on-release-tag", nil)
	e := s.wantStarted("on-release-tag", note, 1, "Succeeded")
	wantEqual(t, "TAG", e.Variables["TAG"], "v1.0")

	// Deleting the branch: an event with no commits.
	dev.git.run(work, "push", "-q", "origin", ":feature")
	del := next("feature deleted")
	wantEqual(t, "deletion", del.Detail.Event+" "+del.Detail.ReferenceName, "referenceDeleted feature")
	if len(del.Detail.Sluice.Commits) != 0 {
		t.Errorf("deletion with commits: %+v", del.Detail.Sluice.Commits)
	}
	// Only main's push was mailed.
	if n := len(sink.Messages()); n != 1 {
		t.Errorf("%d mails, want 1 (main only)", n)
	}
	if strings.Contains(s.serverLog(), "list a push's commits") {
		t.Errorf("the server could not list a push's commits:\n%s", s.serverLog())
	}
}
