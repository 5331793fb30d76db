package deployagent

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/artifact"
)

// app writes a small real application's revision: a page, a script made
// executable by the agent, hooks that stop the running version, start a web
// server on a loopback port in the background, and check it answers with
// this version. It returns the zipped revision.
func app(t *testing.T, version string, port int, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"appspec.yml": `version: 0.0
os: linux
files:
  - source: www
    destination: /opt/shop/www
  - source: bin/
    destination: /opt/shop/bin
permissions:
  - object: /opt/shop/bin
    pattern: "*.sh"
    mode: 0750
    type: [file]
hooks:
  ApplicationStop:
    - location: scripts/stop.sh
      timeout: 10
  BeforeInstall:
    - location: scripts/env.sh
  ApplicationStart:
    - location: scripts/start.sh
      timeout: 30
  ValidateService:
    - location: scripts/validate.sh
      timeout: 30
`,
		"www/index.html": "shop " + version + "\n",
		"bin/tool.sh":    "#!/bin/sh\necho tool\n",
		"bin/notes.txt":  "notes\n",
		"scripts/stop.sh": `#!/bin/bash
pidfile="$SLUICE_INSTALL_ROOT/opt/shop/pid"
if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null; rm -f "$pidfile"; fi
echo stopped
`,
		"scripts/env.sh": `#!/bin/bash
echo "$LIFECYCLE_EVENT $DEPLOYMENT_ID $APPLICATION_NAME $DEPLOYMENT_GROUP_NAME $DEPLOYMENT_GROUP_ID" >> "$SLUICE_INSTALL_ROOT/env.log"
`,
		"scripts/start.sh": fmt.Sprintf(`#!/bin/bash
cd "$SLUICE_INSTALL_ROOT/opt/shop/www"
nohup python3 -m http.server %d --bind 127.0.0.1 >/dev/null 2>&1 &
echo $! > "$SLUICE_INSTALL_ROOT/opt/shop/pid"
echo started
`, port),
		"scripts/validate.sh": fmt.Sprintf(`#!/bin/bash
for i in $(seq 1 250); do
  if curl -fsS http://127.0.0.1:%d/index.html | grep -q "shop %s"; then echo valid; exit 0; fi
  sleep 0.1
done
echo "not serving %s" >&2
exit 1
`, port, version, version),
	}
	for k, v := range extra {
		files[k] = v
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		mode := os.FileMode(0o644) // scripts left unexecutable: the agent fixes that, as CodeDeploy's does
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	zipPath := filepath.Join(t.TempDir(), "rev.zip")
	f, err := os.Create(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := artifact.Zip(context.Background(), f, dir, []string{"**/*"}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return zipPath
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func get(port int) string {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/index.html", port))
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func stopApp(t *testing.T, root string) {
	t.Cleanup(func() {
		if pid, err := os.ReadFile(filepath.Join(root, "opt/shop/pid")); err == nil {
			var n int
			fmt.Sscan(string(pid), &n)
			if n > 0 {
				if p, err := os.FindProcess(n); err == nil {
					p.Kill()
				}
			}
		}
	})
}

func statuses(r Result) string {
	var parts []string
	for _, e := range r.Events {
		parts = append(parts, e.Event+"="+e.Status)
	}
	return strings.Join(parts, " ")
}

func TestDeployTwoVersions(t *testing.T) {
	root := t.TempDir()
	stopApp(t, root)
	port := freePort(t)
	a := &Agent{Root: root}
	d := Deployment{ID: "d-1", Application: "shop", Group: "prod", GroupID: "g-1"}
	ctx := context.Background()

	r := a.Deploy(ctx, d, app(t, "v1", port, map[string]string{"www/old.html": "only in v1\n"}))
	if !r.Succeeded {
		t.Fatalf("v1: %s\n%+v", r.Message, r.Events)
	}
	want := "ApplicationStop=Skipped DownloadBundle=Succeeded BeforeInstall=Succeeded Install=Succeeded AfterInstall=Skipped ApplicationStart=Succeeded ValidateService=Succeeded"
	if got := statuses(r); got != want {
		t.Errorf("events:\n got %s\nwant %s", got, want)
	}
	if got := get(port); got != "shop v1\n" {
		t.Fatalf("serving %q", got)
	}
	st, err := os.Stat(filepath.Join(root, "opt/shop/bin/tool.sh"))
	if err != nil || st.Mode().Perm() != 0o750 {
		t.Errorf("tool.sh mode %v %v", st.Mode(), err)
	}
	if st, _ := os.Stat(filepath.Join(root, "opt/shop/bin/notes.txt")); st.Mode().Perm() != 0o644 {
		t.Errorf("pattern *.sh changed notes.txt: %v", st.Mode())
	}
	env, _ := os.ReadFile(filepath.Join(root, "env.log"))
	if strings.TrimSpace(string(env)) != "BeforeInstall d-1 shop prod g-1" {
		t.Errorf("environment: %q", env)
	}
	if !strings.Contains(r.Events[5].Log, "started") {
		t.Errorf("ApplicationStart's log: %q", r.Events[5].Log)
	}

	// v2: ApplicationStop runs v1's script (it stops v1's server), v1's
	// files are removed, v2 is served.
	d.ID = "d-2"
	r = a.Deploy(ctx, d, app(t, "v2", port, nil))
	if !r.Succeeded {
		t.Fatalf("v2: %s\n%+v", r.Message, r.Events)
	}
	if r.Events[0].Status != "Succeeded" || !strings.Contains(r.Events[0].Log, "stopped") {
		t.Errorf("ApplicationStop of v1: %+v", r.Events[0])
	}
	if got := get(port); got != "shop v2\n" {
		t.Fatalf("serving %q", got)
	}
	if _, err := os.Stat(filepath.Join(root, "opt/shop/www/old.html")); !os.IsNotExist(err) {
		t.Errorf("v1's old.html survived: %v", err)
	}
}

func TestFileExistsBehavior(t *testing.T) {
	for _, c := range []struct {
		behavior, want string
		ok             bool
	}{{"", "stray\n", false}, {"DISALLOW", "stray\n", false}, {"OVERWRITE", "new\n", true}, {"RETAIN", "stray\n", true}} {
		root := t.TempDir()
		os.MkdirAll(filepath.Join(root, "srv"), 0o755)
		os.WriteFile(filepath.Join(root, "srv/conf.txt"), []byte("stray\n"), 0o644)
		spec := "version: 0.0\nos: linux\nfiles:\n  - source: conf.txt\n    destination: /srv\n"
		if c.behavior != "" {
			spec += "file_exists_behavior: " + c.behavior + "\n"
		}
		zip := revision(t, map[string]string{"appspec.yml": spec, "conf.txt": "new\n"})
		r := (&Agent{Root: root}).Deploy(context.Background(), Deployment{ID: "d", Application: "a", Group: "g", GroupID: "g"}, zip)
		if r.Succeeded != c.ok {
			t.Errorf("%s: succeeded %v: %s", c.behavior, r.Succeeded, r.Message)
		}
		if !c.ok && !strings.Contains(r.Message, "/srv/conf.txt exists and was not installed by the last deployment") {
			t.Errorf("%s: message %q", c.behavior, r.Message)
		}
		if got, _ := os.ReadFile(filepath.Join(root, "srv/conf.txt")); string(got) != c.want {
			t.Errorf("%s: conf.txt is %q", c.behavior, got)
		}
	}
}

func revision(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	zipPath := filepath.Join(t.TempDir(), "rev.zip")
	f, _ := os.Create(zipPath)
	if _, err := artifact.Zip(context.Background(), f, dir, []string{"**/*"}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return zipPath
}

// A failing hook fails the deployment there; the events after it do not
// run, and the group's last good revision stays the one before, whose
// ApplicationStop the next deployment runs.
func TestFailingHookAndTimeout(t *testing.T) {
	root := t.TempDir()
	a := &Agent{Root: root}
	ctx := context.Background()
	d := Deployment{ID: "d-1", Application: "a", Group: "g", GroupID: "g"}
	good := revision(t, map[string]string{
		"appspec.yml": "version: 0.0\nos: linux\nhooks:\n  ApplicationStop:\n    - location: stop.sh\n",
		"stop.sh":     "#!/bin/sh\necho stop-of-good\n",
	})
	if r := a.Deploy(ctx, d, good); !r.Succeeded {
		t.Fatal(r.Message)
	}
	bad := revision(t, map[string]string{
		"appspec.yml": "version: 0.0\nos: linux\nhooks:\n  ApplicationStop:\n    - location: stop.sh\n  AfterInstall:\n    - location: fail.sh\n  ApplicationStart:\n    - location: start.sh\n",
		"stop.sh":     "#!/bin/sh\necho stop-of-bad\n",
		"fail.sh":     "#!/bin/sh\necho broken >&2\nexit 3\n",
		"start.sh":    "#!/bin/sh\ntouch \"$SLUICE_INSTALL_ROOT/started\"\n",
	})
	d.ID = "d-2"
	r := a.Deploy(ctx, d, bad)
	if r.Succeeded || !strings.Contains(r.Message, "AfterInstall failed: script 1 (fail.sh): exit status 3") {
		t.Fatalf("%+v", r)
	}
	last := r.Events[len(r.Events)-1]
	if last.Event != "AfterInstall" || !strings.Contains(last.Log, "broken") {
		t.Errorf("last event %+v", last)
	}
	if _, err := os.Stat(filepath.Join(root, "started")); !os.IsNotExist(err) {
		t.Error("ApplicationStart ran after a failed AfterInstall")
	}
	d.ID = "d-3"
	r = a.Deploy(ctx, d, good)
	if !r.Succeeded || !strings.Contains(r.Events[0].Log, "stop-of-good") {
		t.Errorf("ApplicationStop after a failure runs the last good revision's: %+v", r.Events[0])
	}

	slow := revision(t, map[string]string{
		"appspec.yml": "version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: slow.sh\n      timeout: 1\n",
		"slow.sh":     "#!/bin/sh\nsleep 30 &\nwait\n",
	})
	d.ID = "d-4"
	start := time.Now()
	r = a.Deploy(ctx, d, slow)
	if r.Succeeded || !strings.Contains(r.Message, "timed out after 1s") {
		t.Fatalf("%+v", r)
	}
	if time.Since(start) > 20*time.Second {
		t.Error("the timed-out hook's children were waited for")
	}
}

// What a revision's author might try against the agent's machine.
func TestRevisionAttacks(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	os.WriteFile(secret, []byte("keep\n"), 0o600)
	root := t.TempDir()
	a := &Agent{Root: root}
	ctx := context.Background()
	// A link left at the destination is replaced, not written through.
	os.MkdirAll(filepath.Join(root, "srv"), 0o755)
	os.Symlink(secret, filepath.Join(root, "srv/conf.txt"))
	zip := revision(t, map[string]string{
		"appspec.yml": "version: 0.0\nos: linux\nfile_exists_behavior: OVERWRITE\nfiles:\n  - source: conf.txt\n    destination: /srv\npermissions:\n  - object: /srv\n    mode: 0777\n",
		"conf.txt":    "new\n",
	})
	if r := a.Deploy(ctx, Deployment{ID: "d", Application: "a", Group: "g", GroupID: "g"}, zip); !r.Succeeded {
		t.Fatal(r.Message)
	}
	if got, _ := os.ReadFile(secret); string(got) != "keep\n" {
		t.Errorf("wrote through a link: %q", got)
	}
	if st, _ := os.Stat(secret); st.Mode().Perm() != 0o600 {
		t.Errorf("chmod through a link: %v", st.Mode())
	}
	// The agent's own state is no destination.
	zip = revision(t, map[string]string{
		"appspec.yml": "version: 0.0\nos: linux\nfiles:\n  - source: x\n    destination: /.sluice-agent/deployment-groups\n",
		"x":           "x\n",
	})
	if r := a.Deploy(ctx, Deployment{ID: "d2", Application: "a", Group: "g", GroupID: "g"}, zip); r.Succeeded || !strings.Contains(r.Message, "agent's own state") {
		t.Errorf("state overwritten: %+v", r)
	}
	// Ids that would name paths elsewhere are refused.
	for _, id := range []string{"../x", "..", "a/b", ""} {
		if r := a.Deploy(ctx, Deployment{ID: id, GroupID: "g"}, zip); r.Succeeded || !strings.Contains(r.Message, "bad deployment or group id") {
			t.Errorf("id %q: %+v", id, r)
		}
	}
	// A revision that is not for servers, or has no appspec, fails at DownloadBundle.
	for _, files := range []map[string]string{
		{"appspec.yml": "version: 0.0\nResources:\n  - f:\n      Type: AWS::Lambda::Function\n"},
		{"index.html": "x"},
		{"appspec.yml": "version: 0.0\nos: linux\nhooks:\n  BeforeInstal: []\n"},
	} {
		r := a.Deploy(ctx, Deployment{ID: "d3", Application: "a", Group: "g", GroupID: "g"}, revision(t, files))
		if r.Succeeded || r.Events[len(r.Events)-1].Event != "DownloadBundle" {
			t.Errorf("%v: %+v", files, r)
		}
	}
}

// The agent's token, in its environment, never reaches a hook.
func TestHookEnvironmentHasNoToken(t *testing.T) {
	t.Setenv("SLUICE_TOKEN", "sluice_secret_agent_token")
	root := t.TempDir()
	zip := revision(t, map[string]string{
		"appspec.yml": "version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: env.sh\n",
		"env.sh":      "#!/bin/sh\nenv\n",
	})
	r := (&Agent{Root: root}).Deploy(context.Background(), Deployment{ID: "d", Application: "a", Group: "g", GroupID: "g"}, zip)
	if !r.Succeeded {
		t.Fatal(r.Message)
	}
	log := r.Events[2].Log
	if !strings.Contains(log, "LIFECYCLE_EVENT=BeforeInstall") || strings.Contains(log, "sluice_secret_agent_token") {
		t.Errorf("hook environment:\n%s", log)
	}
}
