package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// triggerNote is lastTrigger in `sluice status -o json`.
type triggerNote struct {
	Time                time.Time `json:"time"`
	TriggerType         string    `json:"triggerType"`
	TriggerDetail       string    `json:"triggerDetail"`
	Started             bool      `json:"started"`
	PipelineExecutionID string    `json:"pipelineExecutionId"`
	Reason              string    `json:"reason"`
}

// lastTrigger is what the last trigger of pipeline name did, nil if none came.
func (s *server) lastTrigger(name string) *triggerNote {
	s.t.Helper()
	var st struct {
		LastTrigger *triggerNote `json:"lastTrigger"`
	}
	s.json(&st, "status", name)
	return st.LastTrigger
}

// nextTrigger waits for a trigger note on pipeline name other than prev (nil:
// any note) and returns it.
func (s *server) nextTrigger(name string, prev *triggerNote) triggerNote {
	s.t.Helper()
	var n *triggerNote
	eventually(s.t, 20*time.Second, "a new trigger note on "+name, func() bool {
		n = s.lastTrigger(name)
		return n != nil && (prev == nil || !n.Time.Equal(prev.Time))
	})
	return *n
}

// executions lists a pipeline's executions, newest first.
func (s *server) executions(name string) []execution {
	s.t.Helper()
	var es []execution
	s.json(&es, "executions", name)
	return es
}

// wantStarted checks that a trigger note says an execution started, that it is
// the newest of n executions, and returns it once it has ended with want.
func (s *server) wantStarted(name string, note triggerNote, n int, want string) execution {
	s.t.Helper()
	if !note.Started || note.PipelineExecutionID == "" {
		s.t.Fatalf("last trigger of %s = %+v, want an execution started", name, note)
	}
	es := s.executions(name)
	if len(es) != n || es[0].PipelineExecutionID != note.PipelineExecutionID {
		s.t.Fatalf("executions of %s = %+v, want %d, the newest %s", name, es, n, note.PipelineExecutionID)
	}
	return s.waitEnd(name, note.PipelineExecutionID, want)
}

// wantIgnored checks that a trigger note says nothing started, for a reason
// that mentions every one of reasons, and that name still has n executions.
func (s *server) wantIgnored(name string, note triggerNote, n int, reasons ...string) {
	s.t.Helper()
	if note.Started || note.PipelineExecutionID != "" {
		s.t.Errorf("last trigger of %s = %+v, want nothing started", name, note)
	}
	wantContains(s.t, "reason nothing started", note.Reason, reasons...)
	if es := s.executions(name); len(es) != n {
		s.t.Errorf("%s has %d executions, want %d: %+v", name, len(es), n, es)
	}
}

func wantRevision(t *testing.T, e execution, action, id, summary string) {
	t.Helper()
	if len(e.SourceRevisions) != 1 {
		t.Errorf("execution %s: sourceRevisions = %+v, want one, for %s", e.PipelineExecutionID, e.SourceRevisions, action)
		return
	}
	r := e.SourceRevisions[0]
	if r.ActionName != action || r.RevisionID != id || r.RevisionSummary != summary {
		t.Errorf("execution %s: sourceRevisions = %+v, want {%s %s %q}", e.PipelineExecutionID, e.SourceRevisions, action, id, summary)
	}
}

func TestPushTrigger(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	g := newGit(t, s)
	work := filepath.Join(s.scratch("git"), "work")

	s.ok("repo", "create", "app")
	s.apply("testdata/push.yml")
	s.apply("testdata/push-clone.yml")
	if n := s.lastTrigger("app"); n != nil {
		t.Errorf("lastTrigger before any push = %+v, want none", n)
	}
	g.initRepo(work)
	g.run(work, "remote", "add", "origin", s.gitURL("app"))

	// The push that creates main starts both pipelines, once each.
	c1 := g.commit(work, "first version", map[string]string{"a.txt": "version 1\n"})
	g.run(work, "push", "-q", "origin", "main")
	note := s.nextTrigger("app", nil)
	e := s.wantStarted("app", note, 1, "Succeeded")
	wantEqual(t, "trigger type", e.Trigger.TriggerType, "CloudWatchEvent")
	wantContains(t, "trigger detail", e.Trigger.TriggerDetail, "admin", "refs/heads/main", "app")
	wantEqual(t, "lastTrigger type", note.TriggerType, "CloudWatchEvent")
	wantEqual(t, "lastTrigger detail", note.TriggerDetail, e.Trigger.TriggerDetail)
	wantRevision(t, e, "src", c1, "first version")
	src := e.action(t, "src")
	wantEqual(t, "CommitId", src.OutputVariables["CommitId"], c1)
	wantEqual(t, "CommitMessage", strings.TrimSpace(src.OutputVariables["CommitMessage"]), "first version")
	wantEqual(t, "BranchName", src.OutputVariables["BranchName"], "main")
	wantEqual(t, "RepositoryName", src.OutputVariables["RepositoryName"], "app")
	wantContains(t, "Show log", s.ok("logs", "app", e.PipelineExecutionID, "Show"),
		"version 1", "commit="+c1+" branch=main repo=app", "message=first version")
	cloneNote := s.nextTrigger("app-clone", nil)
	ce := s.wantStarted("app-clone", cloneNote, 1, "Succeeded")
	wantRevision(t, ce, "src", c1, "first version")
	wantContains(t, "History log", s.ok("logs", "app-clone", ce.PipelineExecutionID, "History"),
		"commits=1", "head="+c1, "branch=main", "dirty=0", "version 1")

	// A push of two commits, by another user: one execution, at the head,
	// with the history, naming the pusher.
	alice := strings.TrimSpace(s.ok("token", "create", "alice", "--policy", "admin"))
	g.commit(work, "second version", map[string]string{"a.txt": "version 2\n"})
	c3 := g.commit(work, "third version", map[string]string{"a.txt": "version 3\n", "b.txt": "bee\n"})
	g.run(work, "push", "-q", s.gitURLAs("alice", alice, "app"), "main")
	note = s.nextTrigger("app", &note)
	e = s.wantStarted("app", note, 2, "Succeeded")
	wantRevision(t, e, "src", c3, "third version")
	wantContains(t, "trigger detail of alice's push", e.Trigger.TriggerDetail, "push by alice", "refs/heads/main", c3[:12])
	wantContains(t, "Show log", s.ok("logs", "app", e.PipelineExecutionID, "Show"), "version 3", "commit="+c3)
	cloneNote = s.nextTrigger("app-clone", &cloneNote)
	ce = s.wantStarted("app-clone", cloneNote, 2, "Succeeded")
	wantContains(t, "History log", s.ok("logs", "app-clone", ce.PipelineExecutionID, "History"),
		"commits=3", "head="+c3, "branch=main", "dirty=0", "version 3")

	// A push to another branch starts nothing, and status says why.
	g.run(work, "checkout", "-q", "-b", "feature")
	g.commit(work, "on a feature", map[string]string{"a.txt": "feature\n"})
	g.run(work, "push", "-q", "origin", "feature")
	note = s.nextTrigger("app", &note)
	s.wantIgnored("app", note, 2, "refs/heads/feature", "main")
	wantEqual(t, "ignored trigger type", note.TriggerType, "CloudWatchEvent")
	cloneNote = s.nextTrigger("app-clone", &cloneNote)
	s.wantIgnored("app-clone", cloneNote, 2, "refs/heads/feature")
	wantContains(t, "status", s.ok("status", "app"), "started nothing", "refs/heads/feature")
	// So does a tag, and the deletion of a branch.
	g.run(work, "tag", "v1", c1)
	g.run(work, "push", "-q", "origin", "v1")
	note = s.nextTrigger("app", &note)
	s.wantIgnored("app", note, 2, "refs/tags/v1")
	cloneNote = s.nextTrigger("app-clone", &cloneNote)
	s.wantIgnored("app-clone", cloneNote, 2, "refs/tags/v1")
	g.run(work, "push", "-q", "origin", ":feature")
	note = s.nextTrigger("app", &note)
	s.wantIgnored("app", note, 2, "refs/heads/feature", "deleted")
	cloneNote = s.nextTrigger("app-clone", &cloneNote)
	s.wantIgnored("app-clone", cloneNote, 2, "refs/heads/feature", "deleted")

	// --source-revision runs an older commit.
	id := s.start("app")
	e = s.waitEnd("app", id, "Succeeded")
	wantEqual(t, "trigger of a start", e.Trigger.TriggerType, "StartPipelineExecution")
	wantRevision(t, e, "src", c3, "third version")
	id = strings.TrimSpace(s.ok("start", "app", "--source-revision", "src="+c1))
	e = s.waitEnd("app", id, "Succeeded")
	wantEqual(t, "trigger of a pinned start", e.Trigger.TriggerType, "StartPipelineExecution")
	wantRevision(t, e, "src", c1, "first version")
	wantEqual(t, "CommitId of the pinned start", e.action(t, "src").OutputVariables["CommitId"], c1)
	wantContains(t, "Show log of the pinned start", s.ok("logs", "app", id, "Show"), "version 1", "commit="+c1)
	out := s.scratch("pinned")
	s.ok("artifact", "download", "app", id, "code", "--out", out)
	wantEqual(t, "a.txt of the pinned start", readFile(t, filepath.Join(out, "a.txt")), "version 1\n")
	// A commit the repository does not have, or an action the pipeline does not have.
	r := s.cli("start", "app", "--source-revision", "src="+strings.Repeat("ab", 20))
	if r.code == 0 {
		e = s.waitEnd("app", strings.TrimSpace(r.stdout), "Failed")
		wantContains(t, "summary of a start at a missing commit", e.action(t, "src").Summary, "abababab")
	}
	r = s.fails("start", "app", "--source-revision", "nope="+c1)
	wantContains(t, "start with an unknown action", r.stderr, "nope")
	s.fails("start", "app", "--source-revision", "src")

	// A push made on the server's disk while it is down (as over ssh) is
	// spooled by the hook and starts the pipeline once the server is back.
	n := len(s.executions("app"))
	s.kill9()
	g.run(work, "checkout", "-q", "main")
	c4 := g.commit(work, "pushed while down", map[string]string{"a.txt": "version 4\n"})
	g.run(work, "push", "-q", "file://"+filepath.Join(s.reposDir(), "app.git"), "main")
	s.boot()
	note = s.nextTrigger("app", &note)
	e = s.wantStarted("app", note, n+1, "Succeeded")
	wantRevision(t, e, "src", c4, "pushed while down")
	wantContains(t, "trigger detail of a spooled push", e.Trigger.TriggerDetail, "refs/heads/main")
	// One event for it, however often the spool was read.
	var spooled []repoEvent
	for _, ev := range s.repoEvents("app") {
		if ev.New == c4 {
			spooled = append(spooled, ev)
		}
	}
	if len(spooled) != 1 || spooled[0].Event != "referenceUpdated" || spooled[0].Old != c3 || spooled[0].Ref != "refs/heads/main" {
		t.Errorf("push events of the spooled push = %+v, want one update of main from %s", spooled, c3)
	}
	wantContains(t, "Show log after the restart", s.ok("logs", "app", e.PipelineExecutionID, "Show"), "version 4")
	cloneNote = s.nextTrigger("app-clone", &cloneNote)
	s.wantStarted("app-clone", cloneNote, 3, "Succeeded")
	// And a push over HTTP after the restart still starts exactly one.
	c5 := g.commit(work, "after the restart", map[string]string{"a.txt": "version 5\n"})
	g.run(work, "push", "-q", s.gitURL("app"), "main")
	note = s.nextTrigger("app", &note)
	e = s.wantStarted("app", note, n+2, "Succeeded")
	wantRevision(t, e, "src", c5, "after the restart")
}

func TestTriggerFilters(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	g := newGit(t, s)
	work := filepath.Join(s.scratch("git"), "work")

	s.ok("repo", "create", "mono")
	wantEqual(t, "apply", s.apply("testdata/filters.yml"), "pipeline mono created (version 1)")
	yamlOut := s.ok("pipeline", "get", "mono")
	wantContains(t, "pipeline get", yamlOut, "triggers:", "providerType: Git", "release/**", "app/**", "v*")

	g.initRepo(work)
	g.run(work, "remote", "add", "origin", s.gitURL("mono"))

	// main: not a release branch, even touching app/.
	c1 := g.commit(work, "start", map[string]string{"README": "mono\n", "app/x.txt": "x 1\n", "docs/y.txt": "y 1\n"})
	g.run(work, "push", "-q", "origin", "main")
	note := s.nextTrigger("mono", nil)
	s.wantIgnored("mono", note, 0, "refs/heads/main", "no push filter")
	wantEqual(t, "ignored trigger type", note.TriggerType, "CloudWatchEvent")

	// The push that creates a release branch: with no old commit to compare
	// with, every file of the commit counts as changed (as ChangedFiles
	// documents), app/x.txt among them, so it starts.
	g.run(work, "checkout", "-q", "-b", "release/1")
	g.commit(work, "docs only", map[string]string{"docs/y.txt": "y 2\n"})
	g.run(work, "push", "-q", "origin", "release/1")
	note = s.nextTrigger("mono", note.ptr())
	n := 1
	s.wantStarted("mono", note, n, "Succeeded")
	// A release branch, but only docs/ changed.
	g.commit(work, "docs again", map[string]string{"docs/y.txt": "y 3\n", "docs/z.txt": "z\n"})
	g.run(work, "push", "-q", "origin", "release/1")
	note = s.nextTrigger("mono", note.ptr())
	s.wantIgnored("mono", note, n, "refs/heads/release/1", "no push filter")

	// A release branch and app/: starts, at the pushed commit.
	c4 := g.commit(work, "app change", map[string]string{"app/x.txt": "x 4\n"})
	g.run(work, "push", "-q", "origin", "release/1")
	note = s.nextTrigger("mono", note.ptr())
	n++
	e := s.wantStarted("mono", note, n, "Succeeded")
	wantRevision(t, e, "src", c4, "app change")
	wantContains(t, "trigger detail", e.Trigger.TriggerDetail, "refs/heads/release/1")
	wantContains(t, "Show log", s.ok("logs", "mono", e.PipelineExecutionID, "Show"), "x 4")
	// ** crosses slashes: release/2024/q1 is a release branch too; a file
	// deeper under app/ counts.
	g.run(work, "checkout", "-q", "-b", "release/2024/q1")
	g.commit(work, "deep", map[string]string{"app/sub/deep.txt": "deep\n"})
	g.run(work, "push", "-q", "origin", "release/2024/q1")
	note = s.nextTrigger("mono", note.ptr())
	n++
	s.wantStarted("mono", note, n, "Succeeded")
	// One push of two release branches: one execution for each.
	c7 := g.commit(work, "two at once", map[string]string{"app/x.txt": "x 7\n"})
	g.run(work, "push", "-q", "origin", "HEAD:release/3", "HEAD:release/4")
	n += 2
	eventually(t, 20*time.Second, "two executions for a push of two branches", func() bool {
		return len(s.executions("mono")) >= n
	})
	es := s.executions("mono")
	if len(es) != n {
		t.Fatalf("%d executions, want %d", len(es), n)
	}
	details := map[string]bool{}
	for _, e := range es[:2] {
		e = s.waitEnd("mono", e.PipelineExecutionID, "Succeeded")
		wantRevision(t, e, "src", c7, "two at once")
		details[e.Trigger.TriggerDetail] = true
	}
	if len(details) != 2 {
		t.Errorf("trigger details of the two executions: %v, want one for each branch", details)
	}
	note = *s.lastTrigger("mono")

	// Not a release branch: prerelease/1.
	g.commit(work, "elsewhere", map[string]string{"app/x.txt": "x 6\n"})
	g.run(work, "push", "-q", "origin", "HEAD:prerelease/1")
	note = s.nextTrigger("mono", note.ptr())
	s.wantIgnored("mono", note, n, "refs/heads/prerelease/1")

	// main touching app/: still nothing.
	g.run(work, "checkout", "-q", "main")
	g.commit(work, "app on main", map[string]string{"app/x.txt": "x main\n"})
	g.run(work, "push", "-q", "origin", "main")
	note = s.nextTrigger("mono", note.ptr())
	s.wantIgnored("mono", note, n, "refs/heads/main")

	// Tags: v* starts, at the tagged commit; others do not.
	g.run(work, "tag", "v1.0", c4)
	g.run(work, "push", "-q", "origin", "v1.0")
	note = s.nextTrigger("mono", note.ptr())
	n++
	e = s.wantStarted("mono", note, n, "Succeeded")
	wantRevision(t, e, "src", c4, "app change")
	wantContains(t, "trigger detail of a tag push", e.Trigger.TriggerDetail, "refs/tags/v1.0")
	wantContains(t, "Show log of a tag push", s.ok("logs", "mono", e.PipelineExecutionID, "Show"), "x 4")
	g.run(work, "tag", "x1.0", c4)
	g.run(work, "push", "-q", "origin", "x1.0")
	note = s.nextTrigger("mono", note.ptr())
	s.wantIgnored("mono", note, n, "refs/tags/x1.0")
	// An annotated tag names a tag object; the execution runs its commit.
	g.run(work, "tag", "-a", "-m", "release two", "v2.0", c1)
	g.run(work, "push", "-q", "origin", "v2.0")
	note = s.nextTrigger("mono", note.ptr())
	n++
	e = s.wantStarted("mono", note, n, "Succeeded")
	wantRevision(t, e, "src", c1, "start")
	wantContains(t, "Show log of an annotated tag push", s.ok("logs", "mono", e.PipelineExecutionID, "Show"), "x 1")

	// An invalid glob: apply fails naming file, line and field, and the
	// pipeline is unchanged.
	r := s.fails("pipeline", "apply", "-f", "testdata/filters-badglob.yml")
	wantContains(t, "apply stderr", r.stderr,
		`testdata/filters-badglob.yml:12: triggers[0].gitConfiguration.push[0].filePaths.includes[0]: invalid glob "app/[ab"`)
	r = s.fails("pipeline", "validate", "-f", "testdata/filters-badglob.yml")
	wantContains(t, "validate stderr", r.stderr,
		`testdata/filters-badglob.yml:12: triggers[0].gitConfiguration.push[0].filePaths.includes[0]: invalid glob "app/[ab"`)
	wantEqual(t, "version after a failed apply", s.version("mono"), 1)
	wantEqual(t, "pipeline after a failed apply", s.ok("pipeline", "get", "mono"), yamlOut)
}

func (n triggerNote) ptr() *triggerNote { return &n }

// TestScheduleValidation: a schedule trigger with a bad expression is refused
// at apply with file, line and field. (Firing is TestScheduleFires.)
func TestScheduleValidation(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	r := s.fails("pipeline", "apply", "-f", "testdata/schedule-bad.yml")
	wantContains(t, "apply stderr", r.stderr, `testdata/schedule-bad.yml:6: triggers[0].schedule:`)
	r = s.fails("pipeline", "get", "nightly")
	wantContains(t, "get of a pipeline a failed apply named", strings.ToLower(r.stderr), "not found")
}
