package appspec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/yamlnode"
)

const corpus = "/work/shared/corpus/appspec"

// Every appspec gathered from public repositories parses, and what it says
// comes through.
func TestCorpusParses(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(corpus, "*"))
	if len(paths) == 0 {
		t.Skip("no corpus at " + corpus)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Parse(filepath.Base(p), data)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(p), err)
			continue
		}
		if s.Version != "0.0" || s.Platform == "" {
			t.Errorf("%s: version %q platform %q", p, s.Version, s.Platform)
		}
	}
}

func TestServerSpec(t *testing.T) {
	s, err := Parse("appspec.yml", []byte(`version: 0.0
os: linux
file_exists_behavior: OVERWRITE
files:
  - source: content/config.txt
    destination: /opt/app
permissions:
  - object: /opt/app
    pattern: "*.sh"
    except: [skip.sh]
    owner: app
    mode: 0750
    type: [file]
hooks:
  ApplicationStart:
    - location: scripts/start.sh
      timeout: "60"
      runas: app
    - location: scripts/second.sh
  CustomEvent:
    - location: scripts/custom.sh
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.FileExistsBehavior != Overwrite || s.OS != "linux" || s.Platform != Server {
		t.Errorf("got %+v", s)
	}
	if len(s.Files) != 1 || s.Files[0] != (File{"content/config.txt", "/opt/app"}) {
		t.Errorf("files %+v", s.Files)
	}
	p := s.Permissions[0]
	if p.Mode != "0750" || p.Pattern != "*.sh" || p.Owner != "app" || len(p.Except) != 1 || p.Types[0] != "file" {
		t.Errorf("permission %+v", p)
	}
	hs := s.Hooks["ApplicationStart"]
	if len(hs) != 2 || hs[0] != (Script{"scripts/start.sh", 60, "app"}) || hs[1].Timeout != 0 {
		t.Errorf("hooks %+v", hs)
	}
	if len(s.Custom) != 1 || s.Custom[0] != "CustomEvent" {
		t.Errorf("custom %v", s.Custom)
	}
}

func TestEventOrder(t *testing.T) {
	got := strings.Join(EventsToRun(false), ",")
	want := "ApplicationStop,DownloadBundle,BeforeInstall,Install,AfterInstall,ApplicationStart,ValidateService"
	if got != want {
		t.Errorf("without traffic: %s", got)
	}
	all := EventsToRun(true)
	if all[0] != "BeforeBlockTraffic" || all[len(all)-1] != "AfterAllowTraffic" || len(all) != 13 {
		t.Errorf("with traffic: %v", all)
	}
}

// Bad appspecs fail naming file, line and field, every problem at once.
func TestBadSpecs(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"version", "version: 1.0\nos: linux\n", "appspec.yml:1: version: must be 0.0"},
		{"no version", "os: linux\n", "version: missing"},
		{"os", "version: 0.0\nos: macos\n", "appspec.yml:2: os: must be linux or windows"},
		{"no os", "version: 0.0\nfiles: []\n", "os: missing"},
		{"unknown top", "version: 0.0\nos: linux\nhook:\n  ApplicationStart: []\n", `appspec.yml:3: hook: unknown field (did you mean "hooks"?)`},
		{"feb", "version: 0.0\nos: linux\nfile_exists_behavior: REPLACE\n", "appspec.yml:3: file_exists_behavior: must be DISALLOW, OVERWRITE or RETAIN"},
		{"no dest", "version: 0.0\nos: linux\nfiles:\n  - source: /\n", "appspec.yml:4: files[0].destination: missing"},
		{"climbing dest", "version: 0.0\nos: linux\nfiles:\n  - source: /\n    destination: /opt/../../etc\n", `appspec.yml:5: files[0].destination: "/opt/../../etc" climbs with ..`},
		{"climbing object", "version: 0.0\nos: linux\npermissions:\n  - object: ../etc\n", `appspec.yml:4: permissions[0].object: "../etc" climbs`},
		{"escaping source", "version: 0.0\nos: linux\nfiles:\n  - source: ../../etc\n    destination: /opt\n", "appspec.yml:4: files[0].source: \"../../etc\" leaves the revision"},
		{"mode", "version: 0.0\nos: linux\npermissions:\n  - object: /opt\n    mode: rwx\n", "appspec.yml:5: permissions[0].mode: must be an octal mode"},
		{"mode 9", "version: 0.0\nos: linux\npermissions:\n  - object: /opt\n    mode: 0968\n", "appspec.yml:5: permissions[0].mode"},
		{"no object", "version: 0.0\nos: linux\npermissions:\n  - mode: 644\n", "appspec.yml:4: permissions[0].object: missing"},
		{"type", "version: 0.0\nos: linux\npermissions:\n  - object: /opt\n    type: [link]\n", "permissions[0].type[0]: must be file or directory"},
		{"misspelt event", "version: 0.0\nos: linux\nhooks:\n  BeforeInstal:\n    - location: a.sh\n", `appspec.yml:4: hooks.BeforeInstal: unknown lifecycle event (did you mean "BeforeInstall"?)`},
		{"reserved event", "version: 0.0\nos: linux\nhooks:\n  Install:\n    - location: a.sh\n", "appspec.yml:4: hooks.Install: Install is the agent's own work"},
		{"timeout", "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: a.sh\n      timeout: 4000\n", "appspec.yml:6: hooks.ApplicationStart[0].timeout: must be between 1 and 3600"},
		{"timeout text", "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: a.sh\n      timeout: soon\n", "hooks.ApplicationStart[0].timeout: must be a whole number"},
		{"no location", "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - timeout: 5\n", "appspec.yml:5: hooks.ApplicationStart[0].location: missing"},
		{"escaping script", "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: ../x.sh\n", "leaves the revision"},
		{"unknown script key", "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: a.sh\n      run_as: x\n", `appspec.yml:6: hooks.ApplicationStart[0].run_as: unknown field (did you mean "runas"?)`},
		{"windows perms", "version: 0.0\nos: windows\npermissions:\n  - object: C:\\app\n", "appspec.yml:3: permissions: applies to linux instances only"},
		{"lambda event", "version: 0.0\nResources:\n  - f:\n      Type: AWS::Lambda::Function\nHooks:\n  - AfterInstall: fn\n", "Hooks[0].AfterInstall: not a lifecycle event of a Lambda deployment"},
		{"resource type", "version: 0.0\nResources:\n  - f:\n      Type: AWS::EC2::Instance\n", "appspec.yml:4: Resources[0].f.Type: must be AWS::ECS::Service or AWS::Lambda::Function"},
		{"json", `{"version": 0.0, "os": "linux", "files": [{"source": "/", "destination": ["x"]}]}`, "appspec.json:1: files[0].destination: must be a string"},
		{"not a mapping", "- a\n", "appspec must be a mapping"},
		{"empty", "", "no appspec in it"},
	}
	for _, c := range cases {
		name := "appspec.yml"
		if c.name == "json" {
			name = "appspec.json"
		}
		_, err := Parse(name, []byte(c.src))
		if err == nil {
			t.Errorf("%s: parsed", c.name)
			continue
		}
		var list yamlnode.ErrorList
		if !errors.As(err, &list) {
			t.Errorf("%s: error %T", c.name, err)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got\n%v\nwant %q", c.name, err, c.want)
		}
	}
}

// Every problem is reported in one round.
func TestAllProblemsAtOnce(t *testing.T) {
	_, err := Parse("appspec.yml", []byte("version: 0.1\nos: bsd\nfile_exists_behavior: x\n"))
	if err == nil || len(err.(yamlnode.ErrorList)) != 3 {
		t.Fatalf("got %v", err)
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Find(dir); err == nil || !strings.Contains(err.Error(), "no appspec.yml") {
		t.Fatalf("empty revision: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "appspec.yaml"), []byte("version: 0.0\nos: linux\n"), 0o644)
	s, name, err := Find(dir)
	if err != nil || name != "appspec.yaml" || s.OS != "linux" {
		t.Fatalf("%v %s %v", s, name, err)
	}
}
