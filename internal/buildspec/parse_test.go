package buildspec

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/yamlnode"
)

func mustParse(t *testing.T, src string) (*Spec, []string) {
	t.Helper()
	s, warns, err := Parse("b.yml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	var ws []string
	for _, w := range warns {
		ws = append(ws, w.String())
	}
	return s, ws
}

func boolPtr(b bool) *bool { return &b }

func TestParseKeys(t *testing.T) {
	tests := []struct {
		name string
		src  string
		got  func(s *Spec) any
		want any
	}{
		{"version string", "version: \"0.2\"\nphases: {build: {commands: [x]}}", func(s *Spec) any { return s.Version }, "0.2"},
		{"version number", "version: 0.1\nphases: {build: {commands: [x]}}", func(s *Spec) any { return []any{s.Version, s.SeparateShells()} }, []any{"0.1", true}},
		{"0.2 shares a shell", "version: 0.2\nphases: {build: {commands: [x]}}", func(s *Spec) any { return s.SeparateShells() }, false},
		{"run-as", "version: 0.2\nrun-as: bob\n", func(s *Spec) any { return s.RunAs }, "bob"},
		{"env shell", "version: 0.2\nenv: {shell: /bin/sh}\n", func(s *Spec) any { return s.Env.Shell }, "/bin/sh"},
		{"env variables any scalar", "version: 0.2\nenv:\n  variables:\n    A: 1\n    B: yes\n    C: 0x1F\n    D:\n    E: \"x y\"\n",
			func(s *Spec) any { return s.Env.Variables }, map[string]string{"A": "1", "B": "yes", "C": "0x1F", "D": "", "E": "x y"}},
		{"parameter-store", "version: 0.2\nenv: {parameter-store: {P: /a/b}}\n", func(s *Spec) any { return s.Env.ParameterStore }, map[string]string{"P": "/a/b"}},
		{"secrets-manager kept as written", "version: 0.2\nenv: {secrets-manager: {S: \"id:key:AWSCURRENT:\"}}\n",
			func(s *Spec) any { return s.Env.SecretsManager }, map[string]string{"S": "id:key:AWSCURRENT:"}},
		{"exported-variables", "version: 0.2\nenv: {exported-variables: [A, B]}\n", func(s *Spec) any { return s.Env.ExportedVariables }, []string{"A", "B"}},
		{"git-credential-helper yes", "version: 0.2\nenv: {git-credential-helper: yes}\n", func(s *Spec) any { return s.Env.GitCredentialHelper }, true},
		{"git-credential-helper True", "version: 0.2\nenv: {git-credential-helper: True}\n", func(s *Spec) any { return s.Env.GitCredentialHelper }, true},
		{"0.1 environment_variables plaintext", "version: 0.1\nenvironment_variables:\n  plaintext: {A: b}\n", func(s *Spec) any { return s.Env.Variables }, map[string]string{"A": "b"}},
		{"proxy", "version: 0.2\nproxy: {upload-artifacts: yes, logs: no}\n", func(s *Spec) any { return *s.Proxy }, Proxy{UploadArtifacts: true}},
		{"phases in order", "version: 0.2\nphases:\n  post_build: {commands: [d]}\n  install: {commands: [a]}\n  build: {commands: [c]}\n  pre_build: {commands: [b]}\n",
			func(s *Spec) any {
				var names []PhaseName
				for _, p := range s.Phases.List() {
					names = append(names, p.Name)
				}
				return names
			}, []PhaseName{Install, PreBuild, Build, PostBuild}},
		{"phase fields", "version: 0.2\nphases:\n  install:\n    run-as: me\n    on-failure: CONTINUE\n    runtime-versions: {python: 3.11, java: corretto17}\n    commands:\n      - a\n      - |\n        for x in 1 2; do\n          echo $x\n        done\n    finally: [z]\n",
			func(s *Spec) any { return *s.Phases.Install }, Phase{Name: Install, Line: 3, RunAs: "me", RunAsLine: 4, OnFailure: OnFailure{Action: Continue},
				RuntimeVersions: map[string]string{"python": "3.11", "java": "corretto17"},
				Commands:        []string{"a", "for x in 1 2; do\n  echo $x\ndone\n"}, Finally: []string{"z"}}},
		{"commands as one string", "version: 0.1\nphases: {install: {commands: npm install}}\n", func(s *Spec) any { return s.Phases.Install.Commands }, []string{"npm install"}},
		{"commands numbers kept", "version: 0.2\nphases: {build: {commands: [true, 10]}}\n", func(s *Spec) any { return s.Phases.Build.Commands }, []string{"true", "10"}},
		{"on-failure ABORT", "version: 0.2\nphases: {build: {on-failure: ABORT}}\n", func(s *Spec) any { return s.Phases.Build.OnFailure }, OnFailure{Action: Abort}},
		{"on-failure RETRY", "version: 0.2\nphases: {build: {on-failure: RETRY}}\n", func(s *Spec) any { return s.Phases.Build.OnFailure }, OnFailure{Action: Retry, Retries: 3, Pattern: ".*"}},
		{"on-failure RETRY-count", "version: 0.2\nphases: {build: {on-failure: RETRY-5}}\n", func(s *Spec) any { return s.Phases.Build.OnFailure }, OnFailure{Action: Retry, Retries: 5, Pattern: ".*"}},
		{"on-failure RETRY-regex", "version: 0.2\nphases: {build: {on-failure: RETRY-timed out.*}}\n", func(s *Spec) any { return s.Phases.Build.OnFailure }, OnFailure{Action: Retry, Retries: 3, Pattern: "timed out.*"}},
		{"on-failure RETRY-count-regex", "version: 0.2\nphases: {build: {on-failure: RETRY-2-a-b}}\n", func(s *Spec) any { return s.Phases.Build.OnFailure }, OnFailure{Action: Retry, Retries: 2, Pattern: "a-b"}},
		{"on-failure String", "version: 0.2\nphases: {build: {on-failure: RETRY-2-err}}\n", func(s *Spec) any { return s.Phases.Build.OnFailure.String() }, "RETRY-2-err"},
		{"reports", "version: 0.2\nreports:\n  unit:\n    files: ['**/*.xml']\n    base-directory: out\n    discard-paths: yes\n    file-format: VisualStudioTrx\n  arn:aws:codebuild:r:1:report-group/x:\n    files: a.xml\n",
			func(s *Spec) any { return s.Reports }, []Report{
				{Name: "unit", Line: 3, Files: []string{"**/*.xml"}, BaseDirectory: "out", DiscardPaths: true, FileFormat: VisualStudioTRX},
				{Name: "arn:aws:codebuild:r:1:report-group/x", Line: 8, Files: []string{"a.xml"}, FileFormat: JUnitXML}}},
		{"artifacts", "version: 0.2\nartifacts:\n  files: [a, b]\n  name: n-$(date)\n  discard-paths: no\n  base-directory: out\n  exclude-paths: ['*.tmp']\n  enable-symlinks: yes\n  secondary-artifacts:\n    two:\n      files: [c]\n      name: second\n",
			func(s *Spec) any { return *s.Artifacts }, Artifacts{
				Artifact:  Artifact{Line: 3, Files: []string{"a", "b"}, Name: "n-$(date)", BaseDirectory: "out", ExcludePaths: []string{"*.tmp"}, EnableSymlinks: true},
				Secondary: []Artifact{{Identifier: "two", Line: 10, Files: []string{"c"}, Name: "second"}}}},
		{"cache", "version: 0.2\ncache:\n  key: k-$(codebuild-hash-files a)\n  fallback-keys: [k-]\n  action: restore\n  paths: ['/root/.m2/**/*']\n",
			func(s *Spec) any { return *s.Cache }, Cache{Key: "k-$(codebuild-hash-files a)", FallbackKeys: []string{"k-"}, Action: "restore", Paths: []string{"/root/.m2/**/*"}}},
		{"batch graph", "version: 0.2\nbatch:\n  fast-fail: true\n  build-graph:\n    - identifier: a\n      env:\n        compute-type: BUILD_GENERAL1_SMALL\n        image: img\n        type: LINUX_CONTAINER\n        fleet: f\n        privileged-mode: true\n        variables: {X: 1}\n      debug-session: yes\n    - identifier: b\n      buildspec: b.yml\n      depend-on: [a]\n      ignore-failure: true\n",
			func(s *Spec) any { return *s.Batch }, Batch{FastFail: true, BuildGraph: []BatchBuild{
				{Identifier: "a", Line: 5, Env: BatchEnv{ComputeType: "BUILD_GENERAL1_SMALL", Image: "img", Type: "LINUX_CONTAINER", Fleet: "f", PrivilegedMode: boolPtr(true), Variables: map[string]string{"X": "1"}}, DebugSession: true},
				{Identifier: "b", Line: 14, Buildspec: "b.yml", DependOn: []string{"a"}, IgnoreFailure: true}}}},
		{"batch list", "version: 0.2\nbatch:\n  build-list:\n    - identifier: x\n      env: {privileged-mode: no}\n",
			func(s *Spec) any { return s.Batch.BuildList }, []BatchBuild{{Identifier: "x", Line: 4, Env: BatchEnv{PrivilegedMode: boolPtr(false)}}}},
		{"batch matrix", "version: 0.2\nbatch:\n  build-matrix:\n    static:\n      ignore-failure: false\n      env: {type: LINUX_CONTAINER, privileged-mode: true}\n    dynamic:\n      buildspec: [a.yml, b.yml]\n      env:\n        image: [i1, i2]\n        variables:\n          V: [1, 2, 3]\n",
			func(s *Spec) any { return *s.Batch.BuildMatrix }, BuildMatrix{
				Static:  MatrixStatic{Env: BatchEnv{Type: "LINUX_CONTAINER", PrivilegedMode: boolPtr(true)}},
				Dynamic: MatrixDynamic{Buildspec: []string{"a.yml", "b.yml"}, Env: MatrixEnv{Image: []string{"i1", "i2"}, Variables: map[string][]string{"V": {"1", "2", "3"}}}}}},
		{"batch fanout", "version: 0.2\nbatch:\n  build-fanout: {parallelism: 5, ignore-failure: yes}\n",
			func(s *Spec) any { return *s.Batch.BuildFanout }, BuildFanout{Parallelism: 5, IgnoreFailure: true}},
		{"anchors and merge keys", "version: 0.2\nx-env: &e {compute-type: C}\nbatch:\n  build-list:\n    - identifier: a\n      env:\n        <<: *e\n        image: i\n",
			func(s *Spec) any { return s.Batch.BuildList[0].Env }, BatchEnv{ComputeType: "C", Image: "i"}},
		{"no phases with batch", "version: 0.2\nbatch: {build-list: [{identifier: a}]}\n", func(s *Spec) any { return len(s.Phases.List()) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := mustParse(t, tt.src)
			if got := tt.got(s); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"empty", "", []string{"b.yml:1: empty file: no buildspec in it"}},
		{"not a mapping", "- a\n", []string{"b.yml:1: a buildspec must be a mapping, not a list"}},
		{"bad yaml", "version: 0.2\nphases:\n  build:\n    commands: [a, b\n", []string{"b.yml:4: invalid YAML: did not find expected ',' or ']'"}},
		{"placeholder in braces", "version: 0.2\nenv:\n  parameter-store:\n    T: {{prefix}}.token\n", []string{"b.yml:4: invalid YAML: did not find expected key"}},
		{"two documents", "version: 0.2\n---\nversion: 0.2\n", []string{"b.yml:2: a file holds one buildspec, but this is a second YAML document"}},
		{"no version", "phases: {}\n", []string{"b.yml:1: version: missing: a buildspec starts with version: 0.2 (or 0.1)"}},
		{"bad version", "version: 0.3\n", []string{"b.yml:1: version: must be 0.1 or 0.2, not the number 0.3"}},
		{"version list", "version: [0.2]\n", []string{"b.yml:1: version: must be 0.1 or 0.2, not a list"}},
		{"run-as list", "version: 0.2\nrun-as: [a]\n", []string{"b.yml:2: run-as: must be a string, not a list"}},
		{"env list", "version: 0.2\nenv: [a]\n", []string{"b.yml:2: env: must be a mapping, not a list"}},
		{"bad shell", "version: 0.2\nenv: {shell: zsh}\n", []string{"b.yml:2: env.shell: must be one of bash, /bin/sh, powershell.exe, cmd.exe, not \"zsh\""}},
		{"variable list", "version: 0.2\nenv:\n  variables:\n    A: [1]\n", []string{"b.yml:4: env.variables.A: must be a string, number or boolean, not a list"}},
		{"empty secret", "version: 0.2\nenv:\n  secrets-manager:\n    S:\n", []string{"b.yml:3: env.secrets-manager.S: must name a secret (secret-id:json-key:version-stage:version-id)"}},
		{"exported AWS_", "version: 0.2\nenv:\n  exported-variables:\n    - OK\n    - AWS_REGION\n", []string{"b.yml:5: env.exported-variables[1]: AWS_REGION cannot be exported: CodeBuild exports no variable whose name starts with AWS_"}},
		{"exported AWS_ alone", "version: 0.2\nenv:\n  exported-variables: AWS_X\n", []string{"b.yml:3: env.exported-variables: AWS_X cannot be exported: CodeBuild exports no variable whose name starts with AWS_"}},
		{"bad bool", "version: 0.2\nenv: {git-credential-helper: maybe}\n", []string{"b.yml:2: env.git-credential-helper: must be yes or no (or true or false), not \"maybe\""}},
		{"both env forms", "version: 0.1\nenv: {}\nenvironment_variables: {}\n", []string{"b.yml:3: environment_variables: conflicts with env on line 2: give the environment once"}},
		{"phases list", "version: 0.2\nphases: [build]\n", []string{"b.yml:2: phases: must be a mapping, not a list"}},
		{"duplicate phase", "version: 0.2\nphases:\n  build: {}\n  build: {}\n", []string{"b.yml:4: phases.build: given twice (first on line 3)"}},
		{"command mapping", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo a: b\n",
			[]string{"b.yml:5: phases.build.commands[0]: must be a command, not a mapping: quote the command, since a colon followed by a space makes a YAML mapping"}},
		{"commands mapping", "version: 0.2\nphases: {build: {commands: {a: b}}}\n", []string{"b.yml:2: phases.build.commands: must be a list of strings, not a mapping"}},
		{"finally item list", "version: 0.2\nphases:\n  build:\n    finally:\n      - [a]\n", []string{"b.yml:5: phases.build.finally[0]: must be a command, not a list"}},
		{"bad on-failure", "version: 0.2\nphases: {build: {on-failure: STOP}}\n", []string{"b.yml:2: phases.build.on-failure: must be ABORT, CONTINUE, RETRY, RETRY-count, RETRY-regex or RETRY-count-regex, not \"STOP\""}},
		{"retry count too large", "version: 0.2\nphases: {build: {on-failure: RETRY-101}}\n", []string{"b.yml:2: phases.build.on-failure: retry count must be from 0 to 100, not 101"}},
		{"retry bad regex", "version: 0.2\nphases: {build: {on-failure: RETRY-2-(}}\n", []string{"b.yml:2: phases.build.on-failure: \"(\" is not a regular expression sluice can use: error parsing regexp: missing closing ): `(`"}},
		{"retry empty regex", "version: 0.2\nphases: {build: {on-failure: RETRY-}}\n", []string{"b.yml:2: phases.build.on-failure: must be ABORT, CONTINUE, RETRY, RETRY-count, RETRY-regex or RETRY-count-regex, not \"RETRY-\": the regex after the last - is empty"}},
		{"report format", "version: 0.2\nreports:\n  r:\n    files: [a]\n    file-format: JUNIT\n",
			[]string{"b.yml:5: reports.r.file-format: unknown report format \"JUNIT\"; CodeBuild reads JUNITXML, CUCUMBERJSON, TESTNGXML, NUNITXML, NUNIT3XML, VISUALSTUDIOTRX, CLOVERXML, COBERTURAXML, JACOCOXML, SIMPLECOV"}},
		{"report format typo", "version: 0.2\nreports:\n  r:\n    files: [a]\n    file-format: JUNITMXL\n",
			[]string{"b.yml:5: reports.r.file-format: unknown report format \"JUNITMXL\" (did you mean \"JUNITXML\"?); CodeBuild reads JUNITXML, CUCUMBERJSON, TESTNGXML, NUNITXML, NUNIT3XML, VISUALSTUDIOTRX, CLOVERXML, COBERTURAXML, JACOCOXML, SIMPLECOV"}},
		{"report without files", "version: 0.2\nreports:\n  r: {}\n", []string{"b.yml:3: reports.r.files: missing: a report group needs the files that hold its reports"}},
		{"artifact files mapping", "version: 0.2\nartifacts: {files: {a: b}}\n", []string{"b.yml:2: artifacts.files: must be a list of strings, not a mapping"}},
		{"secondary without files", "version: 0.2\nartifacts:\n  files: [a]\n  secondary-artifacts:\n    s: {name: x}\n", []string{"b.yml:5: artifacts.secondary-artifacts.s.files: missing: an artifact needs the files to put in it"}},
		{"cache action", "version: 0.2\ncache: {action: both}\n", []string{"b.yml:2: cache.action: must be restore or save, not \"both\" (leave it out to do both)"}},
		{"two batch kinds", "version: 0.2\nbatch:\n  build-list: []\n  build-graph: []\n", []string{"b.yml:4: batch.build-graph: conflicts with build-list on line 3: a batch is one of build-graph, build-list, build-matrix or build-fanout"}},
		{"graph identifier missing", "version: 0.2\nbatch:\n  build-graph:\n    - buildspec: a.yml\n", []string{"b.yml:4: batch.build-graph[0].identifier: missing: every build of a build graph needs an identifier"}},
		{"graph duplicate identifier", "version: 0.2\nbatch:\n  build-graph:\n    - identifier: a\n    - identifier: a\n", []string{"b.yml:5: batch.build-graph[1].identifier: \"a\" is already the identifier of the build on line 4"}},
		{"graph unknown dependency", "version: 0.2\nbatch:\n  build-graph:\n    - identifier: a\n      depend-on: [b]\n", []string{"b.yml:4: batch.build-graph[0].depend-on[0]: no build in the graph has the identifier \"b\""}},
		{"graph not a list", "version: 0.2\nbatch: {build-graph: {a: 1}}\n", []string{"b.yml:2: batch.build-graph: must be a list of builds, not a mapping"}},
		{"fanout parallelism", "version: 0.2\nbatch: {build-fanout: {parallelism: many}}\n", []string{"b.yml:2: batch.build-fanout.parallelism: must be a whole number from 1, not \"many\""}},
		{"matrix variables", "version: 0.2\nbatch:\n  build-matrix:\n    dynamic:\n      env:\n        variables:\n          V: {a: b}\n", []string{"b.yml:7: batch.build-matrix.dynamic.env.variables.V: must be a list of strings, not a mapping"}},
		{"custom tag", "version: 0.2\nrun-as: !Ref User\n", []string{"b.yml:2: run-as: YAML tag !Ref is not supported"}},
		{"several errors in file order", "version: 0.2\nenv: {shell: zsh}\nphases: {build: {on-failure: NO}}\n", []string{
			"b.yml:2: env.shell: must be one of bash, /bin/sh, powershell.exe, cmd.exe, not \"zsh\"",
			"b.yml:3: phases.build.on-failure: must be ABORT, CONTINUE, RETRY, RETRY-count, RETRY-regex or RETRY-count-regex, not \"NO\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, err := Parse("b.yml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", s)
			}
			var list yamlnode.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error is not an ErrorList: %v", err)
			}
			var got []string
			for _, e := range list {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

func TestParseWarnings(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"unknown top key", "version: 0.2\nphase:\n  build: {commands: [a]}\n", []string{
			"b.yml:1: phases: none declared: a build of this buildspec runs no commands",
			"b.yml:2: phase: unknown key, ignored (did you mean \"phases\"?)"}},
		{"unknown phase", "version: 0.2\nphases:\n  pre-build: {commands: [a]}\n  build: {commands: [b]}\n", []string{
			"b.yml:3: phases.pre-build: unknown key, ignored (did you mean \"pre_build\"?)"}},
		{"unknown phase key", "version: 0.2\nphases:\n  build:\n    command: [a]\n", []string{
			"b.yml:4: phases.build.command: unknown key, ignored (did you mean \"commands\"?)"}},
		{"runtime-versions", "version: 0.2\nphases:\n  install:\n    runtime-versions: {nodejs: 18}\n", []string{
			"b.yml:4: phases.install.runtime-versions: ignored: sluice has no managed runtimes; commands use the tools installed where the build runs"}},
		{"runtime-versions outside install", "version: 0.2\nphases:\n  build:\n    runtime-versions: {nodejs: 18}\n", []string{
			"b.yml:4: phases.build.runtime-versions: ignored: only the install phase has runtime-versions"}},
		{"proxy", "version: 0.2\nphases: {build: {commands: [a]}}\nproxy: {logs: yes}\n", []string{
			"b.yml:3: proxy: ignored: sluice does not run builds behind CodeBuild's explicit proxy"}},
		{"s3-prefix", "version: 0.2\nphases: {build: {commands: [a]}}\nartifacts:\n  files: [a]\n  s3-prefix: p\n", []string{
			"b.yml:5: artifacts.s3-prefix: ignored: sluice does not write artifacts to S3"}},
		{"reserved variable", "version: 0.2\nphases: {build: {commands: [a]}}\nenv:\n  variables:\n    CODEBUILD_X: 1\n", []string{
			"b.yml:5: env.variables.CODEBUILD_X: the CODEBUILD_ prefix is reserved; the build's own value may replace this one"}},
		{"0.1 names in 0.2", "version: 0.2\nphases: {build: {commands: [a]}}\nenvironment_variables:\n  plaintext: {A: b}\nenv:\n  plaintext: {A: b}\n", []string{
			"b.yml:3: environment_variables: unknown key, ignored: version 0.2 renamed it env",
			"b.yml:6: env.plaintext: unknown key, ignored: version 0.2 renamed it variables"}},
		{"unknown batch env key", "version: 0.2\nbatch:\n  build-list:\n    - identifier: a\n      env: {computetype: x}\n", []string{
			"b.yml:5: batch.build-list[0].env.computetype: unknown key, ignored (did you mean \"compute-type\"?)"}},
		{"depend-on in a list", "version: 0.2\nbatch:\n  build-list:\n    - identifier: a\n      depend-on: [b]\n", []string{
			"b.yml:5: batch.build-list[0].depend-on: unknown key, ignored"}},
		{"placeholder", "version: 0.2\nphases: {build: {commands: [a]}}\nenv:\n  variables:\n    B: {-BUCKET-}\n", []string{
			"b.yml:5: env.variables.B: {-BUCKET-} looks like a template placeholder left unfilled; read as that text"}},
		{"version 0.0", "version: 0.0\ncontainers:\n  c:\n    phases:\n      during_build: {commands: [a]}\n", []string{
			"b.yml:1: version: 0.0 is CodeBuild's undocumented preview format: read like 0.1, each command in a shell of its own",
			"b.yml:3: containers.c: read as the buildspec's phases and artifacts, as in version 0.1",
			"b.yml:5: containers.c.phases.during_build: read as build, the phase's name since version 0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := mustParse(t, tt.src)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

func TestWarningString(t *testing.T) {
	w := Warning{File: "f.yml", Line: 3, Path: "a.b", Msg: "m"}
	if got := w.String(); got != "f.yml:3: a.b: m" {
		t.Errorf("got %q", got)
	}
	if got := (Warning{Msg: "m"}).String(); got != "m" {
		t.Errorf("got %q", got)
	}
}

func TestAliasBomb(t *testing.T) {
	src := "version: 0.2\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n" +
		"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nbatch: {build-matrix: {dynamic: {buildspec: *g}}}\n"
	_, _, _ = Parse("b.yml", []byte(src)) // must return, not hang
}
