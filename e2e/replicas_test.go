package e2e

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/store/postgres/pgtest"
)

// Several `sluice server` processes on one PostgreSQL: requests go to either,
// singleton work runs on one and moves when it dies, and a change on one
// wakes waiters on the other.

var (
	pgOnce sync.Once
	pgSrv  *pgtest.Server
	pgErr  error
)

// sharedPostgres starts one PostgreSQL for the replica tests; each test has
// a database of its own. The server lives until the tests end (TestMain stops it).
func sharedPostgres(t *testing.T) string {
	t.Helper()
	pgOnce.Do(func() { pgSrv, pgErr = pgtest.Start() })
	if pgErr != nil {
		if errors.Is(pgErr, pgtest.ErrUnavailable) && os.Getenv("CI") != "true" {
			t.Skip(pgErr)
		}
		t.Fatal(pgErr)
	}
	return pgSrv.FreshDB(t)
}

// replicas are servers sharing one database, one secret key and one
// directory of hosted repositories.
type replicas struct {
	dsn    string
	shared string   // the shared file system: repos/ and secret.key
	env    []string // extra environment of every replica
	all    []*server
}

func newReplicas(t *testing.T, n int, flags ...string) *replicas {
	t.Helper()
	return newReplicasEnv(t, n, nil, flags...)
}

// newReplicasEnv is newReplicas with env added to each replica's environment.
func newReplicasEnv(t *testing.T, n int, env []string, flags ...string) *replicas {
	t.Helper()
	r := &replicas{dsn: sharedPostgres(t), shared: t.TempDir(), env: env}
	key := make([]byte, 32)
	rand.Read(key)
	if err := os.WriteFile(filepath.Join(r.shared, "secret.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	for range n {
		r.add(t, flags...)
	}
	return r
}

// add starts one more replica. The first makes the admin token; the others
// are given its file, as an operator copies it (they find its hash in the
// shared store and keep it).
func (r *replicas) add(t *testing.T, flags ...string) *server {
	t.Helper()
	base, err := os.MkdirTemp("", "sluice-e2e-replica-")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, base: base, data: filepath.Join(base, "data"),
		flags: append([]string{"--store", r.dsn, "--repos", filepath.Join(r.shared, "repos"),
			"--secret-key-file", filepath.Join(r.shared, "secret.key"),
			// A directory on the shared file system stands for the S3
			// bucket OPERATIONS.md asks for: artifacts a replica's worker
			// wrote are read by another's.
			"--artifacts", filepath.Join(r.shared, "artifacts"),
			// One SSH host key, as behind one SSH address.
			"--ssh-host-key-file", filepath.Join(r.shared, "ssh_host_ed25519_key")}, flags...),
		env: r.env}
	t.Cleanup(func() {
		s.shutdown()
		if t.Failed() {
			s.dumpLogs()
		}
		os.RemoveAll(base)
	})
	if len(r.all) > 0 {
		if err := os.MkdirAll(s.data, 0o700); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(s.data, "admin.token"), r.all[0].token+"\n")
	}
	s.boot()
	r.all = append(r.all, s)
	return s
}

// metric reads one sample from a replica's /metrics ("" when absent).
func (s *server) metric(series string) string {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "" // a replica just killed
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

func (s *server) leads(loop string) bool {
	return s.metric(`sluice_singleton_leader{loop="`+loop+`"}`) == "1"
}

const replicaUp = `
name: up
stages:
  - name: Deploy
    actions:
      - name: apply
        provider: Commands
        commands:
          - 'for i in $(seq 600); do [ -s "#{variables.RELEASE_FILE}" ] && break; sleep 0.05; done'
          - 'test -s "#{variables.RELEASE_FILE}"'
variables:
  - name: RELEASE_FILE
    defaultValue: /nonexistent
`

const replicaDown = `
name: down
executionMode: PARALLEL
stages:
  - name: Wait
    actions:
      - name: up-ready
        provider: PipelineGate
        configuration: {PipelineName: up, Condition: Succeeded}
  - name: Go
    actions:
      - name: nothing
        provider: Noop
`

const replicaPlain = `
name: plain
executionMode: PARALLEL
stages:
  - name: Only
    actions:
      - name: nothing
        provider: Noop
`

func TestReplicasShareOnePostgres(t *testing.T) {
	r := newReplicas(t, 2)
	a, b := r.all[0], r.all[1]
	dir := a.scratch("pipelines")
	for name, text := range map[string]string{"up": replicaUp, "down": replicaDown, "plain": replicaPlain} {
		writeFile(t, filepath.Join(dir, name+".yml"), text)
	}
	a.apply(filepath.Join(dir, "up.yml"))
	b.apply(filepath.Join(dir, "down.yml"))
	a.apply(filepath.Join(dir, "plain.yml"))

	// Requests alternate: each execution is started through one replica and
	// followed to its end through the other.
	var ids []string
	for i := range 6 {
		ids = append(ids, r.all[i%2].start("plain"))
	}
	for i, id := range ids {
		r.all[(i+1)%2].waitEnd("plain", id, "Succeeded")
	}

	// A gate waiting on one replica is released by a success that another
	// replica's worker reports: up runs on whichever worker claims it, down
	// is followed through b.
	release := filepath.Join(a.scratch("release"), "go")
	up := a.start("up", "RELEASE_FILE="+release)
	a.waitAction("up", up, "apply", "InProgress")
	down := b.start("down")
	b.waitSummary("down", down, "up-ready", "waiting for up execution "+up+" (InProgress)")
	writeFile(t, release+".tmp", "ok")
	if err := os.Rename(release+".tmp", release); err != nil {
		t.Fatal(err)
	}
	upEnd := b.waitEnd("up", up, "Succeeded")
	downEnd := a.waitEnd("down", down, "Succeeded")
	gate := downEnd.action(t, "up-ready")
	notBefore(t, "the gate's end after up's", gate.LastUpdateTime, &upEnd.LastUpdateTime)
	if gate.LastUpdateTime != nil {
		t.Logf("gate release across replicas: the gate passed %s after up ended", gate.LastUpdateTime.Sub(upEnd.LastUpdateTime))
	}

	// Pushes through either replica land in the one shared repository;
	// neither loses the other's commit.
	a.ok("repo", "create", "shared")
	g := newGit(t, a)
	work := a.scratch("work")
	g.initRepo(work)
	first := g.commit(work, "first", map[string]string{"a.txt": "1"})
	g.run(work, "push", "-q", a.gitURL("shared"), "main")
	g.run(work, "pull", "-q", b.gitURL("shared"), "main")
	second := g.commit(work, "second", map[string]string{"b.txt": "2"})
	g.run(work, "push", "-q", b.gitURL("shared"), "main")
	// A push of a stale main through a is refused, not a lost commit.
	stale := a.scratch("stale")
	g.run("", "clone", "-q", a.gitURL("shared"), stale)
	g.run(stale, "reset", "-q", "--hard", first)
	g.commit(stale, "from the past", map[string]string{"c.txt": "3"})
	g.fails(stale, "push", "-q", a.gitURL("shared"), "main")
	if got := strings.Fields(g.run("", "ls-remote", a.gitURL("shared"), "refs/heads/main")); len(got) == 0 || got[0] != second {
		t.Fatalf("main through a: %v, want %s", got, second)
	}
}

// reactorLeader waits for one of two replicas to run the reactor and
// returns it and the other.
func reactorLeader(t *testing.T, r *replicas) (leader, other *server) {
	t.Helper()
	eventually(t, 20*time.Second, "one replica to run the reactor", func() bool {
		for i, s := range r.all {
			if s.leads("reactor") {
				leader, other = s, r.all[1-i]
				return true
			}
		}
		return false
	})
	if other.leads("reactor") {
		t.Fatal("both replicas run the reactor")
	}
	return leader, other
}

func TestSingletonWorkFailsOver(t *testing.T) {
	r := newReplicas(t, 2)
	leader, other := reactorLeader(t, r)
	dir := other.scratch("pipelines")
	writeFile(t, filepath.Join(dir, "plain.yml"), replicaPlain)
	writeFile(t, filepath.Join(dir, "down.yml"), strings.ReplaceAll(replicaDown, "PipelineName: up", "PipelineName: plain"))
	other.apply(filepath.Join(dir, "plain.yml"))
	other.apply(filepath.Join(dir, "down.yml"))

	killed := time.Now()
	leader.kill9()
	eventually(t, 30*time.Second, "the survivor to take the reactor over", func() bool { return other.leads("reactor") })
	t.Logf("failover of the singleton work after kill -9: %s", time.Since(killed).Round(10*time.Millisecond))
	for _, loop := range []string{"rules", "deliveries", "sweeper", "schedules"} {
		eventually(t, 30*time.Second, "the survivor to run "+loop, func() bool { return other.leads(loop) })
	}
	// The reactor now runs on the survivor: a gate (held by the server)
	// passes there.
	other.waitEnd("plain", other.start("plain"), "Succeeded")
	other.waitEnd("down", other.start("down"), "Succeeded")
}

// TestConsoleSessionOnEveryReplica: a browser signed in through one replica
// is signed in on the other, and signing out through either ends it on both.
func TestConsoleSessionOnEveryReplica(t *testing.T) {
	r := newReplicas(t, 2)
	a, b := r.all[0], r.all[1]
	jar, _ := cookiejar.New(nil) // cookies ignore ports: both replicas get them
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	page := func(s *server, path string) (int, string, string) {
		t.Helper()
		resp, err := c.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		token := ""
		if m := csrf.FindSubmatch(body); m != nil {
			token = string(m[1])
		}
		return resp.StatusCode, resp.Header.Get("Location"), token
	}
	post := func(s *server, path string, form url.Values) int {
		t.Helper()
		resp, err := c.PostForm(s.url+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	_, _, token := page(a, "/ui/signin")
	if code := post(a, "/ui/signin", url.Values{"csrf": {token}, "token": {a.token}, "next": {"/ui/pipelines"}}); code != http.StatusSeeOther {
		t.Fatalf("sign in through a: %d", code)
	}
	code, loc, token := page(b, "/ui/pipelines")
	if code != http.StatusOK || token == "" {
		t.Fatalf("the pipelines page through b: %d (to %q), want the page: the session is not shared", code, loc)
	}
	var session string
	u, _ := url.Parse(a.url + "/ui/")
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "sluice_session" {
			session = ck.Value
		}
	}
	if session == "" {
		t.Fatal("no session cookie after sign-in")
	}
	if code := post(b, "/ui/signout", url.Values{"csrf": {token}}); code != http.StatusSeeOther {
		t.Fatalf("sign out through b: %d", code)
	}
	// The cookie the browser had is dead on a too, even replayed.
	req, _ := http.NewRequest("GET", a.url+"/ui/pipelines", nil)
	req.AddCookie(&http.Cookie{Name: "sluice_session", Value: session})
	resp, err := (&http.Client{CheckRedirect: c.CheckRedirect}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "/ui/signin") {
		t.Fatalf("the old session cookie through a after sign-out: %d to %q, want the sign-in page", resp.StatusCode, loc)
	}
}

// TestAuditTrailSharedByReplicas: a call served by one replica is in the
// trail read through the other.
func TestAuditTrailSharedByReplicas(t *testing.T) {
	r := newReplicas(t, 2)
	a, b := r.all[0], r.all[1]
	a.fails("pipeline", "get", "no-such-pipeline-on-a")
	out := b.ok("audit", "--operation", "GetPipeline")
	wantContains(t, "the trail through b", out, "pipeline/no-such-pipeline-on-a")
}

// TestPushMirrorsFollowPushesToEveryReplica: the mirrors run on one
// replica; a push served by the other still reaches the push mirror (the
// push is announced to the replicas, not only to the one that served it),
// and the other shows the mirror's status (recorded in the store).
func TestPushMirrorsFollowPushesToEveryReplica(t *testing.T) {
	r := newReplicas(t, 2)
	var leader, other *server
	eventually(t, 20*time.Second, "one replica to run the mirrors", func() bool {
		for i, s := range r.all {
			if s.leads("mirrors") {
				leader, other = s, r.all[1-i]
				return true
			}
		}
		return false
	})
	daemonRoot := leader.scratch("daemon")
	d := startGitDaemon(t, daemonRoot)
	g := newGit(t, leader)
	g.run("", "init", "-q", "--bare", filepath.Join(daemonRoot, "backup.git"))
	leader.ok("repo", "create", "app")
	leader.ok("repo", "mirror", "add", "app", "to-daemon", "--url", d.url("backup.git"))
	work := leader.scratch("work")
	g.initRepo(work)
	remoteMain := func() string {
		out, _, err := g.try("", "ls-remote", d.url("backup.git"), "refs/heads/main")
		if f := strings.Fields(out); err == nil && len(f) > 0 {
			return f[0]
		}
		return ""
	}
	// Each push goes through the replica that does not run the mirrors,
	// after the mirror's first pass, so only the announcement can make it due.
	for i := range 2 {
		c := g.commit(work, fmt.Sprintf("push %d", i), map[string]string{"a.txt": fmt.Sprint(i)})
		eventually(t, 20*time.Second, "the mirror's pass", func() bool {
			var ms []mirrorView
			leader.json(&ms, "repo", "mirror", "list", "app")
			return len(ms) == 1 && ms[0].Status != nil && !ms[0].Status.Pending
		})
		g.run(work, "push", "-q", other.gitURL("app"), "main")
		eventually(t, 30*time.Second, "push "+fmt.Sprint(i)+" through the other replica mirrored", func() bool { return remoteMain() == c })
	}
	// The replica that does not run the mirrors shows what the other did.
	eventually(t, 20*time.Second, "the mirror's status through the other replica", func() bool {
		m := other.mirror("app", "to-daemon")
		return m.Status != nil && !m.Status.Pending && m.Status.Failures == 0
	})
}

// A token is remembered by every replica that checked it, and forgotten by
// all when it changes: revoked through one replica, it is refused by that
// replica at once and by the other as soon as the change's notification
// reaches it (no expiry of the remembered token is involved: without the
// notification the other replica would go on accepting it); rotated through
// one, its old secret stops working on both.
func TestRevokedTokenRefusedByEveryReplica(t *testing.T) {
	r := newReplicas(t, 2)
	a, b := r.all[0], r.all[1]
	status := func(s *server, token string) int {
		req, _ := http.NewRequest("GET", s.url+"/api/v1/pipelines", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	refusedBy := func(s *server, token, what string) {
		t.Helper()
		start := time.Now()
		for status(s, token) != http.StatusUnauthorized {
			if time.Since(start) > 10*time.Second {
				t.Fatalf("%s: still accepted after 10 s", what)
			}
			time.Sleep(5 * time.Millisecond) // polling the other replica's answer, bounded above
		}
		t.Logf("%s: refused %s after the change was answered", what, time.Since(start))
	}
	for _, step := range []struct {
		name   string
		change func(old string) (fresh string)
		by     *server
	}{
		{"revoke", func(string) string { a.ok("token", "revoke", "temp"); return "" }, a},
		{"rotate", func(string) string { return strings.TrimSpace(b.ok("token", "rotate", "temp", "--policy", "viewer")) }, b},
	} {
		token := strings.TrimSpace(a.ok("token", "create", "temp", "--policy", "viewer"))
		// Both replicas check it, and remember it.
		for range 2 {
			for _, s := range r.all {
				if got := status(s, token); got != http.StatusOK {
					t.Fatalf("%s: new token on %s: %d", step.name, s.url, got)
				}
			}
		}
		fresh := step.change(token)
		if got := status(step.by, token); got != http.StatusUnauthorized {
			t.Fatalf("%s: the replica that made the change answered %d to the old token, want 401 at once", step.name, got)
		}
		for _, s := range r.all {
			if s != step.by {
				refusedBy(s, token, step.name+" on the other replica")
			}
		}
		if fresh != "" {
			for _, s := range r.all {
				if got := status(s, fresh); got != http.StatusOK {
					t.Fatalf("%s: the new secret on %s: %d", step.name, s.url, got)
				}
			}
			a.ok("token", "revoke", "temp")
		}
	}
}

// A Pipeline trigger declared through the replica that does not run the
// reactor is followed at the upstream's next end: the reactor's index of
// which pipelines follow which is rebuilt when the declaration's
// announcement arrives, not only at its periodic refresh.
func TestPipelineTriggerDeclaredOnAnotherReplica(t *testing.T) {
	r := newReplicas(t, 2)
	leader, other := reactorLeader(t, r)
	follower := func(name string) string {
		return "name: " + name + "\ntriggers: [{providerType: Pipeline, pipeline: {name: plain}}]\n" +
			"stages: [{name: S, actions: [{name: a, provider: Noop}]}]\n"
	}
	leader.applyYAML("plain", replicaPlain)
	leader.applyYAML("marker", follower("marker"))
	// marker starting shows the reactor built its index, before app exists.
	first := leader.start("plain")
	leader.waitEnd("plain", first, "Succeeded")
	note := leader.nextTrigger("marker", nil)
	leader.wantStarted("marker", note, 1, "Succeeded")

	other.applyYAML("app", follower("app"))
	second := other.start("plain")
	other.waitEnd("plain", second, "Succeeded")
	note = other.nextTrigger("app", nil)
	e := other.wantStarted("app", note, 1, "Succeeded")
	wantContains(t, "app's trigger", e.Trigger.TriggerDetail, "plain", second)
}
