package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeScratch writes body to a file under the server's scratch area and
// returns its path.
func (s *server) writeScratch(name, body string) string {
	s.t.Helper()
	p := filepath.Join(s.scratch("files"), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// seedStage is a first stage making the input a build action needs.
const seedStage = `  - name: Seed
    actions:
      - name: Seed
        provider: Commands
        commands: ["echo seed > seed.txt"]
        outputArtifacts:
          - name: seed
            files: [seed.txt]
`

// linkerProject is a build project whose build makes the link out/$LINK to
// $TARGET, and whose artifact is everything under out.
const linkerProject = `name: linker
buildspec: |
  version: 0.2
  phases:
    build:
      commands:
        - mkdir -p out/deep/er
        - echo public > out/public.txt
        - ln -s "$TARGET" "out/$LINK"
  artifacts:
    files: ['out/**/*']
`

// The attack of issue 11: code run by an action (a pipeline author's, or a
// repository's) links a host file into its output, hoping the worker, outside
// the sandbox, zips the link's target. Every such link fails the action,
// naming the link and where it points, and nothing is stored.
func TestArtifactLinkAttacks(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	token := filepath.Join(s.data, "admin.token")
	if _, err := os.Stat(token); err != nil {
		t.Fatalf("the server's admin token: %v", err)
	}
	s.ok("project", "apply", "-f", s.writeScratch("linker.yml", linkerProject))

	type attack struct{ action, link, target string }
	attacks := []attack{
		{"CmdToken", "tok", token},
		{"CmdEtc", "etc", "/etc"},
		{"CmdRelative", "deep/er/up", "../../../../../../../../../../../../etc"},
		{"BuildToken", "tok", token},
		{"BuildEtc", "etc", "/etc"},
		{"BuildRelative", "deep/er/up", "../../../../../../../../../../../../etc"},
	}
	var b strings.Builder
	b.WriteString("name: link-attacks\nstages:\n" + seedStage + "  - name: Attack\n    actions:\n")
	for _, a := range attacks {
		if strings.HasPrefix(a.action, "Cmd") {
			fmt.Fprintf(&b, `      - name: %s
        provider: Commands
        commands:
          - mkdir -p out/deep/er
          - echo public > out/public.txt
          - ln -s %q "out/%s"
        outputArtifacts:
          - name: %s
            files: ["out/**"]
`, a.action, a.target, a.link, strings.ToLower(a.action))
			continue
		}
		env, _ := json.Marshal([]map[string]string{{"name": "TARGET", "value": a.target}, {"name": "LINK", "value": a.link}})
		fmt.Fprintf(&b, `      - name: %s
        provider: CodeBuild
        configuration:
          ProjectName: linker
          EnvironmentVariables: '%s'
        inputArtifacts: [seed]
        outputArtifacts: [%s]
`, a.action, env, strings.ToLower(a.action))
	}
	s.apply(s.writeScratch("attacks.yml", b.String()))

	id := s.start("link-attacks")
	e := s.waitEnd("link-attacks", id, "Failed")
	for _, a := range attacks {
		act := e.action(t, a.action)
		wantEqual(t, a.action+" status", act.Status, "Failed")
		wantContains(t, a.action+" summary", act.Summary, "out/"+a.link, a.target, "outside")
		// Nothing was stored: not as an output, not as a failed attempt's.
		r := s.fails("artifact", "download", "link-attacks", id, strings.ToLower(a.action), "--out", s.scratch("dl-"+a.action))
		wantContains(t, a.action+" download", r.stderr, "was not produced", a.action, "failed")
	}
	secret, err := os.ReadFile(token)
	if err != nil {
		t.Fatal(err)
	}
	// The token is in no log either: the link was never read.
	for _, a := range attacks {
		if log := s.ok("logs", "link-attacks", id, a.action); strings.Contains(log, strings.TrimSpace(string(secret))) {
			t.Errorf("%s: the admin token is in the action's log", a.action)
		}
	}
}

// The legitimate uses of links: one inside the workspace is stored as what
// it points to, and a build with enable-symlinks keeps links as links.
func TestArtifactLinksInside(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const mk = `mkdir -p out/real && echo hello > out/real/f.txt && ln -s real/f.txt out/link.txt && ln -s real out/dirlink`
	for _, p := range []struct{ name, symlinks string }{{"follow", "no"}, {"keep", "yes"}} {
		s.ok("project", "apply", "-f", s.writeScratch(p.name+".yml", fmt.Sprintf(`name: %s
buildspec: |
  version: 0.2
  phases:
    build:
      commands:
        - %s
  artifacts:
    files: ['out/**/*']
    enable-symlinks: %s
`, p.name, mk, p.symlinks)))
	}
	s.apply(s.writeScratch("inside.yml", fmt.Sprintf(`name: links-inside
stages:
%s  - name: Build
    actions:
      - name: Cmd
        provider: Commands
        commands:
          - %s
        outputArtifacts:
          - name: cmd
            files: ["out/**"]
      - name: Follow
        provider: CodeBuild
        configuration: {ProjectName: follow}
        inputArtifacts: [seed]
        outputArtifacts: [follow]
      - name: Keep
        provider: CodeBuild
        configuration: {ProjectName: keep}
        inputArtifacts: [seed]
        outputArtifacts: [kept]
`, seedStage, mk)))
	id := s.start("links-inside")
	e := s.waitEnd("links-inside", id, "Succeeded")
	_ = e

	for _, name := range []string{"cmd", "follow"} {
		dir := s.scratch("dl-" + name)
		s.ok("artifact", "download", "links-inside", id, name, "--out", dir)
		for _, p := range []string{"out/link.txt", "out/dirlink/f.txt", "out/real/f.txt"} {
			full := filepath.Join(dir, filepath.FromSlash(p))
			fi, err := os.Lstat(full)
			if err != nil {
				t.Errorf("%s: %s: %v", name, p, err)
				continue
			}
			if !fi.Mode().IsRegular() {
				t.Errorf("%s: %s is %v, want the link's target stored as a file", name, p, fi.Mode())
			}
			wantEqual(t, name+" "+p, readFile(t, full), "hello\n")
		}
	}
	dir := s.scratch("dl-kept")
	s.ok("artifact", "download", "links-inside", id, "kept", "--out", dir)
	for link, target := range map[string]string{"out/link.txt": "real/f.txt", "out/dirlink": "real"} {
		got, err := os.Readlink(filepath.Join(dir, filepath.FromSlash(link)))
		if err != nil || got != target {
			t.Errorf("kept: %s -> %q, %v; want a link to %q", link, got, err, target)
		}
	}
	wantEqual(t, "kept out/dirlink/f.txt", readFile(t, filepath.Join(dir, "out", "dirlink", "f.txt")), "hello\n")
}

// Issue 12: a build whose build phase fails after writing out/ still uploads
// its artifact, as CodeBuild's UPLOAD_ARTIFACTS phase runs after a failed
// BUILD. It can be downloaded, marked as from a failed attempt; the next stage
// never gets it; a retry that succeeds replaces it.
func TestFailedBuildKeepsArtifact(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.ok("project", "apply", "-f", s.writeScratch("flaky.yml", `name: flaky
buildspec: |
  version: 0.2
  phases:
    build:
      commands:
        - mkdir -p out
        - echo "attempt $CODEBUILD_BUILD_NUMBER" > out/result.txt
        - test "$CODEBUILD_BUILD_NUMBER" -ge 2
  artifacts:
    files: ['out/**/*']
`))
	s.apply(s.writeScratch("failing.yml", `name: failing-build
stages:
`+seedStage+`  - name: Build
    actions:
      - name: Compile
        provider: CodeBuild
        configuration: {ProjectName: flaky}
        inputArtifacts: [seed]
        outputArtifacts: [bin]
  - name: Deploy
    actions:
      - name: Use
        provider: Commands
        inputArtifacts: [bin]
        commands:
          - cat out/result.txt
`))
	before := time.Now().Add(-time.Minute)
	id := s.start("failing-build")
	e := s.waitEnd("failing-build", id, "Failed")
	wantEqual(t, "Compile", e.action(t, "Compile").Status, "Failed")
	// The next stage never received the failed attempt's artifact.
	wantEqual(t, "stage Deploy", e.stage(t, "Deploy").Status, "NotStarted")

	var doc struct {
		Stages []struct {
			Actions []struct {
				Name            string   `json:"name"`
				OutputArtifacts []string `json:"outputArtifacts"`
				FailedArtifacts []string `json:"failedOutputArtifacts"`
				FailedAttempt   int      `json:"failedAttempt"`
			} `json:"actions"`
		} `json:"stages"`
	}
	s.json(&doc, "execution", "get", "failing-build", id)
	c := doc.Stages[1].Actions[0]
	if len(c.OutputArtifacts) != 0 || len(c.FailedArtifacts) != 1 || c.FailedArtifacts[0] != "bin" || c.FailedAttempt != 1 {
		t.Errorf("Compile after the failure: %+v, want bin only as a failed attempt 1's artifact", c)
	}

	dir := s.scratch("failed")
	r := s.cli("artifact", "download", "failing-build", id, "bin", "--out", dir)
	if r.code != 0 {
		t.Fatalf("download of the failed attempt's artifact: %s", r)
	}
	wantContains(t, "download note", r.stderr, "attempt 1", "failed")
	wantEqual(t, "failed attempt's out/result.txt", readFile(t, filepath.Join(dir, "out", "result.txt")), "attempt 1\n")
	// Extracted files keep their own date, not the zip epoch of 1979.
	if fi, err := os.Stat(filepath.Join(dir, "out", "result.txt")); err != nil || fi.ModTime().Before(before) {
		t.Errorf("out/result.txt mtime = %v, %v; want the time the build wrote it", fi.ModTime(), err)
	}

	// A misspelt name gets a did-you-mean.
	r = s.fails("artifact", "download", "failing-build", id, "bni", "--out", s.scratch("typo"))
	wantContains(t, "misspelt artifact", r.stderr, `unknown artifact "bni" (did you mean "bin"?)`)

	s.ok("retry", "failing-build", id, "Build")
	e = s.waitEnd("failing-build", id, "Succeeded")
	wantEqual(t, "Compile attempt", e.action(t, "Compile").Attempt, 2)
	wantContains(t, "Use log", s.ok("logs", "failing-build", id, "Use"), "attempt 2")
	dir = s.scratch("retried")
	r = s.cli("artifact", "download", "failing-build", id, "bin", "--out", dir)
	if r.code != 0 {
		t.Fatalf("download after the retry: %s", r)
	}
	if strings.Contains(r.stderr, "failed") {
		t.Errorf("download after a successful retry still says %q", r.stderr)
	}
	wantEqual(t, "retried out/result.txt", readFile(t, filepath.Join(dir, "out", "result.txt")), "attempt 2\n")
}
