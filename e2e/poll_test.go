package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pollInterval is how often the servers of the polling tests poll.
const pollInterval = "200ms"

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// remotePipeline writes a pipeline whose GitRemote source action src reads
// branch main of the repository at url, with more configuration lines given
// as "Key: value", and whose Show action prints a.txt; it returns the file.
func remotePipeline(t *testing.T, s *server, name, url string, config ...string) string {
	t.Helper()
	pollLine := ""
	for _, c := range config {
		pollLine += "\n          " + c
	}
	file := filepath.Join(s.scratch("pipelines"), name+".yml")
	writeFile(t, file, fmt.Sprintf(`name: %s
executionMode: PARALLEL
stages:
  - name: Source
    actions:
      - name: src
        provider: GitRemote
        configuration:
          Url: %s
          BranchName: main%s
        outputArtifacts: [code]
  - name: Build
    actions:
      - name: Show
        provider: Commands
        inputArtifacts: [code]
        commands:
          - cat a.txt
`, name, url, pollLine))
	return file
}

// bareRepo makes a bare repository and a work tree whose origin it is; it
// returns the bare repository's file:// URL and the work tree.
func bareRepo(t *testing.T, s *server, g *gitClient, name string) (url, work string) {
	t.Helper()
	dir := s.scratch("remote")
	bare := filepath.Join(dir, name+".git")
	g.run("", "init", "-q", "--bare", "-b", "main", bare)
	work = filepath.Join(dir, name+"-work")
	g.initRepo(work)
	url = "file://" + bare
	g.run(work, "remote", "add", "origin", url)
	return url, work
}

// pollRounds waits until the poller has gone round every pipeline that exists
// now at least once more. It needs testdata/poll-canary.yml applied: each
// round leaves a new note on it. The round that leaves the first new note may
// have listed the pipelines before this call; the next one did not, and it has
// finished once the round after it leaves its note.
func (s *server) pollRounds() {
	s.t.Helper()
	prev := s.lastTrigger("canary")
	for range 3 {
		n := s.nextTrigger("canary", prev)
		if n.Started || n.TriggerType != "PollForSourceChanges" {
			s.t.Fatalf("canary's last trigger = %+v, want a failed poll", n)
		}
		prev = &n
	}
}

func TestPolling(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--poll-interval", pollInterval)
	g := newGit(t, s)
	url, work := bareRepo(t, s, g, "remote")
	c1 := g.commit(work, "one", map[string]string{"a.txt": "version 1\n"})
	g.run(work, "push", "-q", "origin", "main")

	s.apply("testdata/poll-canary.yml")
	canary := s.nextTrigger("canary", nil)
	wantEqual(t, "canary trigger type", canary.TriggerType, "PollForSourceChanges")
	wantContains(t, "canary reason", canary.Reason, "not found")
	s.apply(remotePipeline(t, s, "polled", url))

	// The first poll only records the head.
	s.pollRounds()
	if es := s.executions("polled"); len(es) != 0 {
		t.Fatalf("executions after the first poll = %+v, want none", es)
	}
	if n := s.lastTrigger("polled"); n != nil {
		t.Errorf("lastTrigger after the first poll = %+v, want none", n)
	}

	// A new commit starts one execution, at that commit.
	c2 := g.commit(work, "two", map[string]string{"a.txt": "version 2\n"})
	g.run(work, "push", "-q", "origin", "main")
	note := s.nextTrigger("polled", nil)
	e := s.wantStarted("polled", note, 1, "Succeeded")
	wantEqual(t, "trigger type", e.Trigger.TriggerType, "PollForSourceChanges")
	wantContains(t, "trigger detail", e.Trigger.TriggerDetail, c2[:12], "main", url)
	wantRevision(t, e, "src", c2, "two")
	wantEqual(t, "Url output variable", e.action(t, "src").OutputVariables["Url"], url)
	wantContains(t, "Show log", s.ok("logs", "polled", e.PipelineExecutionID, "Show"), "version 2")
	s.pollRounds()
	if es := s.executions("polled"); len(es) != 1 {
		t.Fatalf("executions after more polls of the same head = %+v, want one", es)
	}

	// A restart on the same data directory does not start the same head again.
	s.kill9()
	s.boot()
	s.pollRounds()
	if es := s.executions("polled"); len(es) != 1 {
		t.Fatalf("executions after a restart = %+v, want still one", es)
	}
	// A further commit starts exactly one more.
	c3 := g.commit(work, "three", map[string]string{"a.txt": "version 3\n"})
	g.run(work, "push", "-q", "origin", "main")
	note = s.nextTrigger("polled", &note)
	e = s.wantStarted("polled", note, 2, "Succeeded")
	wantRevision(t, e, "src", c3, "three")
	s.pollRounds()
	if es := s.executions("polled"); len(es) != 2 {
		t.Fatalf("executions after more polls = %+v, want two", es)
	}

	// A commit made while the server is down starts one once it is back.
	s.kill9()
	c4 := g.commit(work, "four", map[string]string{"a.txt": "version 4\n"})
	g.run(work, "push", "-q", "origin", "main")
	s.boot()
	note = s.nextTrigger("polled", &note)
	e = s.wantStarted("polled", note, 3, "Succeeded")
	wantRevision(t, e, "src", c4, "four")
	wantContains(t, "Show log", s.ok("logs", "polled", e.PipelineExecutionID, "Show"), "version 4")

	// A branch moved back to an older commit is a change too.
	g.run(work, "push", "-q", "-f", "origin", c1+":refs/heads/main")
	note = s.nextTrigger("polled", &note)
	e = s.wantStarted("polled", note, 4, "Succeeded")
	wantRevision(t, e, "src", c1, "one")
	s.pollRounds()
	if es := s.executions("polled"); len(es) != 4 {
		t.Fatalf("executions at the end = %d, want 4", len(es))
	}
}

// TestPollingWithCredentials polls a repository over HTTP with a
// CredentialsSecret: the server's own hosted repository, read as a GitRemote.
func TestPollingWithCredentials(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--poll-interval", pollInterval)
	g := newGit(t, s)
	work := filepath.Join(s.scratch("git"), "work")
	s.ok("repo", "create", "app")
	g.initRepo(work)
	g.run(work, "remote", "add", "origin", s.gitURL("app"))
	g.commit(work, "one", map[string]string{"a.txt": "version 1\n"})
	g.run(work, "push", "-q", "origin", "main")

	r := runCLIStdin(t, cliEnv(s.url, s.token), s.token+"\n", "secret", "put", "gittoken")
	if r.code != 0 {
		t.Fatalf("secret put: %s", r)
	}
	secrets := s.ok("secret", "list", "-o", "json")
	wantContains(t, "secret list", secrets, "gittoken")
	if strings.Contains(secrets, s.token) {
		t.Errorf("secret list shows the value:\n%s", secrets)
	}
	url := s.url + "/git/app.git"
	s.apply("testdata/poll-canary.yml")
	s.apply(remotePipeline(t, s, "withcreds", url, "CredentialsSecret: gittoken"))
	s.apply(remotePipeline(t, s, "nocreds", url))
	s.pollRounds()
	if es := s.executions("withcreds"); len(es) != 0 {
		t.Fatalf("executions after the first poll = %+v, want none", es)
	}
	// Without credentials, the poll fails and says so.
	n := s.nextTrigger("nocreds", nil)
	if n.Started || !strings.Contains(strings.ToLower(n.Reason), "auth") {
		t.Errorf("lastTrigger of a poll without credentials = %+v, want a failure naming authentication", n)
	}

	c2 := g.commit(work, "two", map[string]string{"a.txt": "version 2\n"})
	g.run(work, "push", "-q", "origin", "main")
	note := s.nextTrigger("withcreds", nil)
	e := s.wantStarted("withcreds", note, 1, "Succeeded")
	wantEqual(t, "trigger type", e.Trigger.TriggerType, "PollForSourceChanges")
	wantRevision(t, e, "src", c2, "two")
	log := s.ok("logs", "withcreds", e.PipelineExecutionID, "src") + s.ok("logs", "withcreds", e.PipelineExecutionID, "Show")
	wantContains(t, "logs", log, "version 2")
	if strings.Contains(log, s.token) || strings.Contains(s.serverLog(), s.token) {
		t.Errorf("the token shows in a log")
	}
	if es := s.executions("nocreds"); len(es) != 0 {
		t.Errorf("executions of the pipeline without credentials = %+v, want none", es)
	}
}
