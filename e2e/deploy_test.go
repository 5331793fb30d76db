package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The reference deployment under deploy/ (docs/OPERATIONS.md): every file
// parses, has what its kind requires, and passes the binary only flags it
// has (asked of `sluice CMD --help`), so a renamed flag breaks this test, not
// an operator's rollout.

// flagsOf lists the long flags `sluice cmd --help` shows.
func flagsOf(t *testing.T, cmd string) map[string]bool {
	t.Helper()
	res := runCLI(t, nil, cmd, "--help")
	if res.code != 0 {
		t.Fatalf("sluice %s --help: %s", cmd, res)
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9-]+)`).FindAllStringSubmatch(res.stdout, -1) {
		out[m[1]] = true
	}
	if len(out) < 3 {
		t.Fatalf("sluice %s --help shows %d flags:\n%s", cmd, len(out), res.stdout)
	}
	return out
}

// checkArgs checks a command line given to sluice: a known command, known
// flags.
func checkArgs(t *testing.T, where string, args []string, flags map[string]map[string]bool) {
	t.Helper()
	if len(args) == 0 || flags[args[0]] == nil {
		t.Errorf("%s: runs sluice %v, want server or worker", where, args)
		return
	}
	for _, a := range args[1:] {
		name, ok := strings.CutPrefix(a, "--")
		if !ok {
			continue // a flag's value
		}
		name, _, _ = strings.Cut(name, "=")
		if !flags[args[0]][name] {
			t.Errorf("%s: sluice %s has no flag --%s", where, args[0], name)
		}
	}
}

func TestDeploySystemdUnits(t *testing.T) {
	flags := map[string]map[string]bool{"server": flagsOf(t, "server"), "worker": flagsOf(t, "worker")}
	units, _ := filepath.Glob("../deploy/systemd/*.service")
	if len(units) < 2 {
		t.Fatalf("found %d units, want the server's and the worker's", len(units))
	}
	for _, u := range units {
		data, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		sections := map[string]map[string]string{}
		var cur string
		// Continuation lines (ending in \) are joined, as systemd does.
		joined := strings.ReplaceAll(string(data), "\\\n", " ")
		sc := bufio.NewScanner(strings.NewReader(joined))
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			switch {
			case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
			case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
				cur = line[1 : len(line)-1]
				sections[cur] = map[string]string{}
			case cur == "":
				t.Errorf("%s: line %d outside any section: %q", u, n, line)
			default:
				k, v, ok := strings.Cut(line, "=")
				if !ok {
					t.Errorf("%s: line %d is not KEY=VALUE: %q", u, n, line)
					continue
				}
				sections[cur][k] = v
			}
		}
		for _, s := range []string{"Unit", "Service", "Install"} {
			if sections[s] == nil {
				t.Errorf("%s: no [%s] section", u, s)
			}
		}
		exec := strings.Fields(sections["Service"]["ExecStart"])
		if len(exec) < 2 || filepath.Base(exec[0]) != "sluice" {
			t.Errorf("%s: ExecStart %q does not run sluice", u, exec)
			continue
		}
		checkArgs(t, u, exec[1:], flags)
		if sections["Install"]["WantedBy"] == "" {
			t.Errorf("%s: [Install] has no WantedBy", u)
		}
	}
}

func TestDeployKubernetesManifests(t *testing.T) {
	flags := map[string]map[string]bool{"server": flagsOf(t, "server"), "worker": flagsOf(t, "worker")}
	files, _ := filepath.Glob("../deploy/kubernetes/*.yaml")
	kinds := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var doc map[string]any
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if doc["scrape_configs"] != nil {
				checkScrape(t, f, doc)
				continue
			}
			kind, _ := doc["kind"].(string)
			meta, _ := doc["metadata"].(map[string]any)
			if doc["apiVersion"] == nil || kind == "" || meta == nil || meta["name"] == nil {
				t.Errorf("%s: a document without apiVersion, kind or metadata.name: %v", f, doc)
				continue
			}
			kinds[kind]++
			if kind == "Deployment" {
				checkDeployment(t, f+" "+meta["name"].(string), doc, flags)
			}
		}
	}
	if kinds["Deployment"] < 2 || kinds["Service"] < 1 {
		t.Fatalf("manifests hold %v, want the server's and the workers' Deployments and a Service", kinds)
	}
}

func checkDeployment(t *testing.T, where string, doc map[string]any, flags map[string]map[string]bool) {
	t.Helper()
	get := func(v any, path ...string) any {
		for _, p := range path {
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[p]
		}
		return v
	}
	selector, _ := get(doc, "spec", "selector", "matchLabels").(map[string]any)
	labels, _ := get(doc, "spec", "template", "metadata", "labels").(map[string]any)
	if len(selector) == 0 {
		t.Errorf("%s: no spec.selector.matchLabels", where)
	}
	for k, v := range selector {
		if labels[k] != v {
			t.Errorf("%s: the selector's %s=%v does not match the pod template's labels %v", where, k, v, labels)
		}
	}
	containers, _ := get(doc, "spec", "template", "spec", "containers").([]any)
	if len(containers) == 0 {
		t.Fatalf("%s: no containers", where)
	}
	volumes := map[string]bool{}
	vols, _ := get(doc, "spec", "template", "spec", "volumes").([]any)
	for _, v := range vols {
		volumes[get(v, "name").(string)] = true
	}
	for _, c := range containers {
		if get(c, "name") == nil || get(c, "image") == nil {
			t.Errorf("%s: a container without name or image", where)
		}
		var args []string
		for _, a := range get(c, "args").([]any) {
			args = append(args, a.(string))
		}
		checkArgs(t, where, args, flags)
		if args[0] == "server" {
			for _, probe := range []string{"readinessProbe", "livenessProbe"} {
				if p := get(c, probe, "httpGet", "path"); p != "/readyz" && p != "/healthz" {
					t.Errorf("%s: %s probes %v", where, probe, p)
				}
			}
		}
		mounts, _ := get(c, "volumeMounts").([]any)
		for _, m := range mounts {
			if !volumes[get(m, "name").(string)] {
				t.Errorf("%s: mounts volume %v, which the pod does not have", where, get(m, "name"))
			}
		}
	}
}

func checkScrape(t *testing.T, f string, doc map[string]any) {
	t.Helper()
	jobs, _ := doc["scrape_configs"].([]any)
	if len(jobs) == 0 {
		t.Fatalf("%s: no scrape job", f)
	}
	for _, j := range jobs {
		m := j.(map[string]any)
		if m["job_name"] == nil || m["metrics_path"] != "/metrics" {
			t.Errorf("%s: job %v: want job_name and metrics_path /metrics", f, m["job_name"])
		}
		auth, _ := m["authorization"].(map[string]any)
		if auth == nil || auth["credentials_file"] == nil {
			t.Errorf("%s: job %v sends no token: /metrics needs one", f, m["job_name"])
		}
	}
}

// TestJSONLogs: with --log-format json every line the server writes is one
// JSON object with a level and a message; the line about a job an
// in-process worker ran names the job, its execution, pipeline, stage and
// action.
func TestJSONLogs(t *testing.T) {
	s := startServer(t, "--log-format", "json")
	s.fails("pipeline", "get", "nothing-here")
	file := filepath.Join(s.scratch("logs"), "logged.yml")
	writeFile(t, file, `name: logged
stages:
  - name: Build
    actions:
      - name: make
        provider: Commands
        commands: ["true"]
`)
	s.apply(file)
	id := s.start("logged")
	s.waitEnd("logged", id, "Succeeded")
	s.shutdown()
	data, err := os.ReadFile(filepath.Join(s.base, "server-1.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) < 2 {
		t.Fatalf("server log: %q", data)
	}
	var about []map[string]any
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["level"] == nil || rec["msg"] == nil {
			t.Errorf("line %d is not a JSON log record: %q (%v)", i+1, line, err)
		}
		if rec["msg"] == "job finished" {
			about = append(about, rec)
		}
	}
	if len(about) != 1 {
		t.Fatalf("lines about the job: %v, want one", about)
	}
	want := map[string]any{"execution_id": id, "pipeline": "logged", "stage": "Build", "action": "make", "succeeded": true}
	for k, v := range want {
		if about[0][k] != v {
			t.Errorf("the job's line: %s = %v, want %v (%v)", k, about[0][k], v, about[0])
		}
	}
	if job, _ := about[0]["job_id"].(string); job == "" {
		t.Errorf("the job's line names no job_id: %v", about[0])
	}
}
