package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/wire"
)

// agentProc is a `sluice agent` the test started.
type agentProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	root string
	port int
}

// agentTokenFile is the file of agent id's own token (policy agent, named as
// the agent: it speaks for that agent only), made on first use.
func agentTokenFile(t *testing.T, s *server, id string) string {
	t.Helper()
	f := filepath.Join(s.scratch("agents"), id+".token")
	if _, err := os.Stat(f); err == nil {
		return f
	}
	writeFile(t, f, strings.TrimSpace(s.ok("token", "create", id, "--policy", "agent")))
	return f
}

func readAgentToken(t *testing.T, s *server, id string) string {
	t.Helper()
	b, err := os.ReadFile(agentTokenFile(t, s, id))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// startAgent starts agent id with its own token and the extra flags.
func startAgent(t *testing.T, s *server, id, root string, port int, extra ...string) *agentProc {
	t.Helper()
	tokenFile := agentTokenFile(t, s, id)
	log := filepath.Join(s.base, id+".log")
	logf, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(sluiceBin, append([]string{"agent", "--server", s.url, "--token-file", tokenFile, "--group", "web", "--tag", "env=prod", "--root", root, "--id", id}, extra...)...)
	cmd.Env = cliEnv("", "")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &agentProc{cmd: cmd, done: make(chan struct{}), root: root, port: port}
	go func() { cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		a.kill()
		if t.Failed() {
			b, _ := os.ReadFile(log)
			t.Logf("agent %s log:\n%s", id, b)
		}
	})
	return a
}

func (a *agentProc) kill() {
	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.done
}

// appRevision writes a small application: a page served by a web server
// its ApplicationStart hook starts in the background on the port in
// ROOT/port, a script whose mode the permissions set, and a ValidateService
// hook that checks the page. With failOnMarker, validation fails on a host
// whose root holds fail-validate; BeforeInstall waits while ROOT/hold exists.
func appRevision(t *testing.T, version string, failOnMarker bool) string {
	dir := t.TempDir()
	validate := `#!/bin/bash
port=$(cat "$SLUICE_INSTALL_ROOT/port")
`
	if failOnMarker {
		validate += `if [ -f "$SLUICE_INSTALL_ROOT/fail-validate" ]; then echo "marker says fail on $DEPLOYMENT_GROUP_NAME" >&2; exit 1; fi
`
	}
	validate += `for i in $(seq 1 250); do
  if curl -fsS "http://127.0.0.1:$port/index.html" | grep -q "shop ` + version + `"; then echo "serving ` + version + `"; exit 0; fi
  sleep 0.1
done
exit 1
`
	files := map[string]string{
		"appspec.yml": `version: 0.0
os: linux
files:
  - source: www
    destination: /opt/shop/www
  - source: bin
    destination: /opt/shop/bin
permissions:
  - object: /opt/shop/bin
    pattern: "*.sh"
    mode: 0700
hooks:
  ApplicationStop:
    - location: hooks/stop.sh
      timeout: 20
  BeforeInstall:
    - location: hooks/before.sh
      timeout: 120
  ApplicationStart:
    - location: hooks/start.sh
      timeout: 30
  ValidateService:
    - location: hooks/validate.sh
      timeout: 30
`,
		"www/index.html": "shop " + version + "\n",
		"bin/tool.sh":    "#!/bin/sh\necho tool\n",
		"hooks/stop.sh": `#!/bin/bash
pidfile="$SLUICE_INSTALL_ROOT/pid"
if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null; rm -f "$pidfile"; fi
`,
		"hooks/before.sh": `#!/bin/bash
echo "$LIFECYCLE_EVENT $DEPLOYMENT_ID $APPLICATION_NAME $DEPLOYMENT_GROUP_NAME" > "$SLUICE_INSTALL_ROOT/last-env"
while [ -f "$SLUICE_INSTALL_ROOT/hold" ]; do touch "$SLUICE_INSTALL_ROOT/holding"; sleep 0.05; done
`,
		"hooks/start.sh": `#!/bin/bash
cd "$SLUICE_INSTALL_ROOT/opt/shop/www"
nohup python3 -m http.server "$(cat "$SLUICE_INSTALL_ROOT/port")" --bind 127.0.0.1 >/dev/null 2>&1 &
echo $! > "$SLUICE_INSTALL_ROOT/pid"
`,
		"hooks/validate.sh": validate,
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		writeFile(t, p, content)
	}
	return dir
}

func pickPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func page(port int) string {
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/index.html")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

func stopShop(a *agentProc) {
	if pid, err := os.ReadFile(filepath.Join(a.root, "pid")); err == nil {
		if n, _ := strconv.Atoi(strings.TrimSpace(string(pid))); n > 0 {
			syscall.Kill(n, syscall.SIGKILL)
		}
	}
}

// startShopAgents starts n agents named PREFIX1…PREFIXn, each with its own
// root holding the port its shop is to serve on.
func startShopAgents(t *testing.T, s *server, prefix string, n int) []*agentProc {
	t.Helper()
	var agents []*agentProc
	for i := 1; i <= n; i++ {
		root := t.TempDir()
		port := pickPort(t)
		writeFile(t, filepath.Join(root, "port"), strconv.Itoa(port))
		a := startAgent(t, s, fmt.Sprintf("%s%d", prefix, i), root, port)
		t.Cleanup(func() { stopShop(a) })
		agents = append(agents, a)
	}
	return agents
}

func applyGroup(t *testing.T, s *server, config string) {
	f := filepath.Join(t.TempDir(), "group.yaml")
	writeFile(t, f, "applicationName: shop\ndeploymentGroupName: prod\ntargets:\n  agentGroup: web\n  tags: {env: prod}\nautoRollbackConfiguration: {enabled: true}\n"+config)
	s.ok("deploy-group", "apply", "-f", f)
}

// Three agents on this machine, each with its own root and no privileges
// it needs, deploy a real application by every deployment configuration;
// a hook failing on one host fails a OneAtATime deployment, which rolls back
// to the last good revision; an agent killed during a deployment fails its
// host, and deploys again once it is back.
func TestAgentsDeploy(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 serves the test application")
	}
	s := startServer(t)
	agents := startShopAgents(t, s, "a", 3)
	// An agent token is for agents only.
	token := readAgentToken(t, s, "a1")
	res := runCLI(t, cliEnv(s.url, token), "pipeline", "list")
	wantContains(t, "agent token listing pipelines", res.String(), "not allowed sluice:ListPipelines")
	eventually(t, 20*time.Second, "three agents registered", func() bool {
		var as []wire.Agent
		s.json(&as, "deployment", "agents")
		return len(as) == 3
	})

	deploy := func(version string, failOnMarker bool) wire.Deployment {
		t.Helper()
		out := s.cli("deployment", "create", "--application", "shop", "--group", "prod", "--revision", appRevision(t, version, failOnMarker), "--wait")
		id := strings.Fields(out.stdout)[1]
		var d wire.Deployment
		s.json(&d, "deployment", "get", id)
		return d
	}

	for _, c := range []struct {
		config string
		batch  int
	}{
		{"deploymentConfigName: CodeDeployDefault.AllAtOnce\n", 3},
		{"deploymentConfigName: CodeDeployDefault.HalfAtATime\n", 1},
		{"deploymentConfigName: CodeDeployDefault.OneAtATime\n", 1},
		{"deploymentConfigName: Custom\nminimumHealthyHosts: {type: HOST_COUNT, value: 1}\n", 2},
		{"deploymentConfigName: Custom\nminimumHealthyHosts: {type: FLEET_PERCENT, value: 34}\n", 1},
	} {
		applyGroup(t, s, c.config)
		version := fmt.Sprintf("v%d", c.batch) + strings.Fields(c.config)[1]
		d := deploy(version, false)
		if d.Status != "Succeeded" || d.Batch != c.batch || len(d.Hosts) != 3 {
			t.Fatalf("%s: %+v", c.config, d)
		}
		for _, a := range agents {
			wantEqual(t, "page after "+c.config, page(a.port), "shop "+version)
		}
	}
	a1 := agents[0]
	st, err := os.Stat(filepath.Join(a1.root, "opt/shop/bin/tool.sh"))
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("permissions: %v %v", st.Mode(), err)
	}
	env, _ := os.ReadFile(filepath.Join(a1.root, "last-env"))
	wantContains(t, "hook environment", string(env), "BeforeInstall d-", " shop prod")

	// A failing ValidateService on a2 under OneAtATime: a3 never starts, the
	// deployment fails and rolls back to the last good revision.
	applyGroup(t, s, "deploymentConfigName: CodeDeployDefault.OneAtATime\n")
	good := page(a1.port)
	touch(t, filepath.Join(agents[1].root, "fail-validate"))
	bad := deploy("bad", true)
	if bad.Status != "Failed" || bad.Hosts[1].Status != "Failed" || bad.Hosts[2].Status != "Skipped" || bad.RolledBack == "" {
		t.Fatalf("bad deployment: %+v", bad)
	}
	ev := bad.Hosts[1].Events[len(bad.Hosts[1].Events)-1]
	wantEqual(t, "failed event", ev.Event, "ValidateService")
	wantContains(t, "failed event's log", ev.Log, "marker says fail on prod")
	logs := s.ok("deployment", "get", bad.ID, "--logs")
	wantContains(t, "deployment get --logs", logs, "a2: Failed", "ValidateService", "marker says fail on prod")
	var rb wire.Deployment
	eventually(t, 60*time.Second, "rollback ends", func() bool {
		s.json(&rb, "deployment", "get", bad.RolledBack)
		return rb.Status != "InProgress"
	})
	if rb.Status != "Succeeded" || rb.RollbackOf != bad.ID {
		t.Fatalf("rollback: %+v", rb)
	}
	for _, a := range agents {
		wantEqual(t, "page after the rollback", page(a.port), good)
	}
	os.Remove(filepath.Join(agents[1].root, "fail-validate"))

	// a3 is killed while its BeforeInstall hook holds; its lease runs out and
	// its host fails; AllAtOnce still succeeds on the other two.
	applyGroup(t, s, "deploymentConfigName: CodeDeployDefault.AllAtOnce\n")
	a3 := agents[2]
	touch(t, filepath.Join(a3.root, "hold"))
	out := s.ok("deployment", "create", "--application", "shop", "--group", "prod", "--revision", appRevision(t, "v-kill", false))
	id := strings.Fields(out)[1]
	waitFile(t, filepath.Join(a3.root, "holding"))
	a3.kill()
	var killed wire.Deployment
	eventually(t, 60*time.Second, "the deployment with a killed agent ends", func() bool {
		s.json(&killed, "deployment", "get", id)
		return killed.Status != "InProgress"
	})
	if killed.Status != "Succeeded" || killed.Hosts[2].Status != "Failed" || killed.Hosts[2].Message != "the agent stopped answering" {
		t.Fatalf("killed agent: %+v", killed)
	}
	os.Remove(filepath.Join(a3.root, "hold"))

	// a3 comes back with the same root and id and takes the next deployment.
	agents[2] = startAgent(t, s, "a3", a3.root, a3.port)
	eventually(t, 20*time.Second, "a3 back", func() bool {
		var as []wire.Agent
		s.json(&as, "deployment", "agents")
		for _, a := range as {
			if a.ID == "a3" && time.Since(a.LastSeen) < 5*time.Second {
				return true
			}
		}
		return false
	})
	back := deploy("v-back", false)
	if back.Status != "Succeeded" || back.Hosts[2].Status != "Succeeded" {
		t.Fatalf("after the agent came back: %+v", back)
	}
	wantEqual(t, "a3's page", page(a3.port), "shop v-back")
}
