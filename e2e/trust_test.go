package e2e

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// The attacks of issue 11 on sluice's trust boundaries, each refused, through
// the real binary; and the legitimate uses beside them still working.

// TestAttackTokenMinting: a token allowed only sluice:CreateToken on
// token/ci-* cannot mint admin, can mint a token with a part of its own
// rights, cannot take over a name in use, and cannot rotate without
// sluice:RotateToken; the audit trail names the policy granted.
func TestAttackTokenMinting(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := s.scratch("minting")
	minterPolicy := filepath.Join(dir, "minter.yml")
	writeFile(t, minterPolicy, "Statement:\n  - Effect: Allow\n    Action: sluice:CreateToken\n    Resource: token/ci-*\n")
	subPolicy := filepath.Join(dir, "sub.yml")
	writeFile(t, subPolicy, "Statement:\n  - Effect: Allow\n    Action: sluice:CreateToken\n    Resource: token/ci-sub-*\n")
	minter := strings.TrimSpace(s.ok("token", "create", "minter", "--policy", minterPolicy))
	as := func(token string, args ...string) result { return runCLI(t, cliEnv(s.url, token), args...) }

	// The attack: minting admin.
	r := as(minter, "token", "create", "ci-evil", "--policy", "admin")
	if r.code == 0 {
		t.Fatalf("a CreateToken-only token minted admin: %s", r)
	}
	wantContains(t, "minting admin", r.stderr, "may not hand on policy admin", "which token minter does not hold", "you can hand on only what you hold")
	r = as(minter, "token", "create", "ci-evil", "--policy", "viewer")
	wantContains(t, "minting viewer", r.stderr, "may not hand on policy viewer: it allows sluice:ListPipelines on *")

	// A part of what it holds it may hand on.
	sub := strings.TrimSpace(as(minter, "token", "create", "ci-sub", "--policy", subPolicy).stdout)
	if !strings.HasPrefix(sub, "sluice_") {
		t.Fatalf("minter could not mint a token with a part of its rights")
	}
	// A name in use is a conflict, not a replacement — the admin's too.
	r = as(minter, "token", "create", "ci-sub", "--policy", subPolicy)
	wantContains(t, "taking a name in use", r.stderr, "token ci-sub exists already", "sluice token rotate ci-sub")
	r = s.fails("token", "create", "minter", "--policy", "viewer")
	wantContains(t, "admin taking a name in use", r.stderr, "token minter exists already")
	if r := as(sub, "token", "create", "ci-sub-1", "--policy", subPolicy); r.code != 0 {
		t.Fatalf("the old ci-sub stopped working after a refused replacement: %s", r)
	}

	// Rotating is its own permission.
	r = as(minter, "token", "rotate", "ci-sub")
	wantContains(t, "minter rotates", r.stderr, "not allowed sluice:RotateToken on token/ci-sub")
	rotated := strings.TrimSpace(s.ok("token", "rotate", "ci-sub"))
	if rotated == sub || !strings.HasPrefix(rotated, "sluice_") {
		t.Fatalf("rotate printed %q", rotated)
	}
	wantContains(t, "the old secret after rotate", as(sub, "token", "list").stderr, "invalid token")
	r = as(rotated, "token", "create", "ci-sub-2", "--policy", subPolicy)
	if r.code != 0 {
		t.Errorf("the rotated token keeps its policy: %s", r)
	}
	wantContains(t, "the rotated token's policy", s.ok("token", "list"), "ci-sub ", "sub.yml")

	// The audit trail says what was granted.
	var trail []struct {
		Principal, Operation, Resource, Outcome string
		Parameters                              map[string]string
	}
	s.json(&trail, "audit", "--operation", "CreateToken")
	granted := map[string]string{}
	for _, rec := range trail {
		if rec.Outcome == "allowed" {
			granted[rec.Principal+" "+rec.Resource] = rec.Parameters["policy"]
		}
	}
	if p := granted["admin token/minter"]; !strings.HasPrefix(p, "minter.yml (inline policy sha256:") {
		t.Errorf("audit of admin's CreateToken minter: policy %q; records %+v", p, trail)
	}
	denied := false
	for _, rec := range trail {
		denied = denied || rec.Principal == "minter" && rec.Outcome == "denied" && rec.Parameters["policy"] == "admin"
	}
	if !denied {
		t.Errorf("the refused admin minting is not in the trail naming policy admin: %+v", trail)
	}

	// Names . and .. are no names.
	for _, name := range []string{".", ".."} {
		r = s.fails("token", "create", name, "--policy", "viewer")
		wantContains(t, "token named "+name, r.stderr, "is not a name")
		r = runCLIStdin(t, cliEnv(s.url, s.token), "v4lue-of-secret", "secret", "put", "ci/"+name)
		if r.code == 0 || !strings.Contains(r.stderr, "is not a name") {
			t.Errorf("secret ci/%s: %s", name, r)
		}
		file := filepath.Join(dir, "dots.yml")
		writeFile(t, file, "name: \""+name+"\"\nstages:\n  - name: S\n    actions:\n      - name: a\n        provider: Noop\n")
		r = s.fails("pipeline", "apply", "-f", file)
		wantContains(t, "pipeline named "+name, r.stderr, "is not a name")
	}
}

// buildPipeline is a pipeline with one Build action of project, running
// with role ("" for none).
func buildPipeline(name, role, project string) string {
	out := "name: " + name + "\n"
	if role != "" {
		out += "role: " + role + "\n"
	}
	return out + "stages:\n  - name: Source\n    actions:\n      - name: src\n        provider: Commands\n        commands: [echo hi > f.txt]\n" +
		"        outputArtifacts: [{name: src, files: [f.txt]}]\n" +
		"  - name: Build\n    actions:\n      - name: b\n        provider: Build\n        inputArtifacts: [src]\n        configuration:\n          ProjectName: " + project + "\n"
}

// echoProject is a build project whose build prints the secret it names in
// the variable S, and its base64 and hex.
func echoProject(name, secret string) string {
	return "name: " + name + "\nbuildspec: |\n  version: 0.2\n  phases:\n    build:\n      commands:\n" +
		"        - echo \"plain=$S\"\n        - printf %s \"$S\" | base64\n        - printf %s \"$S\" | od -An -tx1 | tr -d ' \\n'; echo\n" +
		"environmentVariables:\n  - {name: S, value: " + secret + ", type: SECRETS_MANAGER}\n"
}

// TestAttackSecretsByPipelineAuthors: a pipeline author denied secret/*
// cannot apply a pipeline or project that would get one; a role decides
// which secrets a job gets, asked when the job starts; what it gets is
// masked, base64 included.
func TestAttackSecretsByPipelineAuthors(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := s.scratch("secrets")
	const valueA, valueB = "value-of-secret-a-8c1e", "value-of-secret-b-77f0"
	for name, v := range map[string]string{"a": valueA, "b": valueB} {
		if r := runCLIStdin(t, cliEnv(s.url, s.token), v, "secret", "put", name); r.code != 0 {
			t.Fatalf("secret put %s: %s", name, r)
		}
	}
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, content)
		return p
	}

	// The attacker: may apply and run anything, explicitly denied secret/*.
	author := strings.TrimSpace(s.ok("token", "create", "author", "--policy", file("author.yml",
		"Statement:\n  - {Sid: Build, Effect: Allow, Action: ['sluice:Put*', 'sluice:Start*', 'sluice:Get*', 'sluice:List*'], Resource: '*'}\n"+
			"  - {Sid: NoSecrets, Effect: Deny, Action: 'sluice:*', Resource: 'secret/*'}\n")))
	as := func(args ...string) result { return runCLI(t, cliEnv(s.url, author), args...) }
	r := as("project", "apply", "-f", file("steal.yml", echoProject("steal", "a")))
	wantContains(t, "author applies a project naming a secret", r.stderr, "project steal runs with role default-pipeline",
		"sluice:GetSecretValue on secret/*", "token author does not hold")
	s.ok("project", "apply", "-f", file("echo-a.yml", echoProject("echo-a", "a")))
	r = as("pipeline", "apply", "-f", file("steal-p.yml", buildPipeline("steal", "", "echo-a")))
	wantContains(t, "author applies a pipeline that would get secret a", r.stderr, "pipeline steal runs with role default-pipeline",
		"sluice:GetSecretValue on secret/* (denied on secret/*)")

	// Roles: role-a allows secret a only. The author cannot pass it either.
	roleA := file("role-a.yml", "Statement:\n  - {Effect: Allow, Action: 'sluice:GetSecretValue', Resource: secret/a}\n")
	s.ok("policy", "apply", "role-a", "-f", roleA)
	r = as("pipeline", "apply", "-f", file("steal-r.yml", buildPipeline("steal", "role-a", "echo-a")))
	wantContains(t, "author passes role-a", r.stderr, "runs with role role-a, which allows sluice:GetSecretValue on secret/a")
	r = as("policy", "apply", "mine", "-f", roleA)
	wantContains(t, "author makes a role", r.stderr, "policy mine allows sluice:GetSecretValue on secret/a (denied on secret/*), which token author does not hold")

	// The admin's pipelines with role-a: secret a works and is masked.
	s.apply(file("uses-a.yml", buildPipeline("uses-a", "arn:aws:iam::111122223333:role/role-a", "echo-a")))
	id := s.start("uses-a")
	s.waitEnd("uses-a", id, "Succeeded")
	log := s.ok("logs", "uses-a", id, "b")
	wantContains(t, "the build's log", log, "plain=***")
	for _, form := range []string{valueA, base64.StdEncoding.EncodeToString([]byte(valueA)), fmt.Sprintf("%x", valueA)} {
		if strings.Contains(log, form) {
			t.Errorf("the log shows secret a as %q:\n%s", form, log)
		}
	}
	// Secret b is not role-a's: the job fails as it starts, saying why.
	s.ok("project", "apply", "-f", file("echo-b.yml", echoProject("echo-b", "b")))
	s.apply(file("uses-b.yml", buildPipeline("uses-b", "role-a", "echo-b")))
	id = s.start("uses-b")
	e := s.waitEnd("uses-b", id, "Failed")
	wantContains(t, "the refused secret's summary", e.action(t, "b").Summary,
		"secret b", "role role-a of pipeline uses-b (project echo-b) does not allow sluice:GetSecretValue on secret/b")
	if strings.Contains(s.ok("logs", "uses-b", id, "b"), valueB) {
		t.Errorf("secret b reached the log")
	}

	// Revoking the role's grant applies to the next job at once.
	s.ok("policy", "apply", "role-a", "-f", file("role-none.yml", "Statement:\n  - {Effect: Allow, Action: 'sluice:GetSecretValue', Resource: secret/other}\n"))
	id = s.start("uses-a")
	e = s.waitEnd("uses-a", id, "Failed")
	wantContains(t, "after revoking", e.action(t, "b").Summary, "does not allow sluice:GetSecretValue on secret/a")
}

// aliasBomb is a rule of about a kilobyte whose eventPattern stands for
// 10^9 values.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("name: bomb\neventPattern:\n  source: [sluice]\n  detail:\n    l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "    l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	b.WriteString("targets:\n  - pipeline: {name: app}\n")
	return b.String()
}

// TestAttackInputs: a viewer's alias bomb is refused before it is parsed;
// an admin's is refused as it expands, naming the limit; --help never shows
// the token.
func TestAttackInputs(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	bomb := filepath.Join(s.scratch("inputs"), "bomb.yml")
	writeFile(t, bomb, aliasBomb())
	viewer := strings.TrimSpace(s.ok("token", "create", "look", "--policy", "viewer"))
	// The CLI parses a file before sending it; the attack is on the server,
	// so it is sent as a script would.
	post := func(token string) (int, string) {
		req, err := http.NewRequest("POST", s.url+"/api/v1/rules?filename=bomb.yml", strings.NewReader(aliasBomb()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	status, body := post(viewer)
	if status != http.StatusForbidden {
		t.Errorf("a viewer's bomb: %d %s, want 403", status, body)
	}
	wantContains(t, "a viewer's bomb", body, "not allowed sluice:PutRule on any rule/* (refused before reading the request body)")
	status, body = post(s.token)
	if status != http.StatusBadRequest {
		t.Errorf("an admin's bomb: %d %s, want 400", status, body)
	}
	// Refused as it expands, at whichever bound it reaches first: the
	// pattern's size as JSON, or the decoder's count of values.
	if !strings.Contains(body, "the pattern is larger than 262144 bytes as JSON") && !strings.Contains(body, "too large: more than 1000000 values once aliases are expanded") {
		t.Errorf("an admin's bomb: %s, want the limit it reached named", body)
	}
	if out := s.ok("rule", "list"); strings.Contains(out, "bomb") {
		t.Errorf("the bomb was stored:\n%s", out)
	}

	// --help prints flag defaults; the token's is never one of them.
	const token = "sluice_e2e-help-canary-31f4"
	for _, args := range [][]string{{"--help"}, {"start", "--help"}, {"token", "create", "--help"}} {
		r := runCLI(t, cliEnv(s.url, token), args...)
		if r.code != 0 || strings.Contains(r.stdout+r.stderr, token) {
			t.Errorf("sluice %s: %s", strings.Join(args, " "), r)
		}
		wantContains(t, "sluice "+strings.Join(args, " "), r.stdout, "--token", "(default $SLUICE_TOKEN)")
	}
	// The environment still gives the token.
	if r := runCLI(t, cliEnv(s.url, s.token), "pipeline", "list"); r.code != 0 {
		t.Errorf("SLUICE_TOKEN no longer used: %s", r)
	}
}
