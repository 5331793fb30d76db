package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// withKeys restarts s with the secret key in file key and keys that only
// decrypt in decrypt, as an operator's rolling restart does.
func (s *server) withKeys(key string, decrypt ...string) {
	s.t.Helper()
	var flags []string
	for i := 0; i < len(s.flags); i++ {
		if s.flags[i] == "--secret-key-file" || s.flags[i] == "--decrypt-secret-key-file" {
			i++
			continue
		}
		flags = append(flags, s.flags[i])
	}
	flags = append(flags, "--secret-key-file", key)
	for _, d := range decrypt {
		flags = append(flags, "--decrypt-secret-key-file", d)
	}
	s.flags = flags
	s.shutdown()
	s.boot()
}

func newKeyFile(t *testing.T, dir, name string) string {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, key, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSecretKeyRotationWithReplicas follows docs/OPERATIONS.md's rotation
// through the binary, with two replicas on one PostgreSQL: secrets stored
// under the old key; a rolling restart onto the new key with the old one
// decrypting; `sluice admin reencrypt` (twice: the second moves nothing,
// and the trail records it); both on the new key alone. A build that reads
// the secrets prints their SHA-256 at each step, through either replica:
// nothing is lost. A replica started with a wrong key says so in its log,
// and its re-encryption fails naming the secrets, never their values.
func TestSecretKeyRotationWithReplicas(t *testing.T) {
	// Builds take their input from an artifact of another job, which may
	// have run on the other replica: the artifact store is shared too.
	r := newReplicas(t, 2, "--artifacts", t.TempDir())
	a, b := r.all[0], r.all[1]
	oldKey := filepath.Join(r.shared, "secret.key")
	newKey := newKeyFile(t, r.shared, "new.key")
	values := map[string]string{"db/password": "rotation-canary-db-5e1f", "deploy/token": "rotation-canary-deploy-93aa"}
	for name, v := range values {
		if res := runCLIStdin(t, cliEnv(a.url, a.token), v, "secret", "put", name); res.code != 0 {
			t.Fatalf("secret put %s: %s", name, res)
		}
	}
	dir := a.scratch("rotation")
	project := filepath.Join(dir, "sums.yml")
	writeFile(t, project, `name: sums
buildspec: |
  version: 0.2
  phases:
    build:
      commands:
        - printf %s "$DB" | sha256sum
        - printf %s "$DEPLOY" | sha256sum
environmentVariables:
  - {name: DB, value: db/password, type: SECRETS_MANAGER}
  - {name: DEPLOY, value: deploy/token, type: SECRETS_MANAGER}
`)
	a.ok("project", "apply", "-f", project)
	pipelineFile := filepath.Join(dir, "rot.yml")
	writeFile(t, pipelineFile, buildPipeline("rot", "", "sums"))
	a.apply(pipelineFile)
	var sums []string
	for _, v := range values {
		sum := sha256.Sum256([]byte(v))
		sums = append(sums, hex.EncodeToString(sum[:]))
	}
	readable := func(step string, via *server) {
		t.Helper()
		id := via.start("rot")
		via.waitEnd("rot", id, "Succeeded")
		wantContains(t, step+": the build's log", via.ok("logs", "rot", id, "b"), sums...)
	}
	readable("old key", a)

	// A rolling restart onto the new key, the old one decrypting.
	b.withKeys(newKey, oldKey)
	a.withKeys(newKey, oldKey)
	readable("both keys, through b", b)

	// Re-encrypt through one replica while the other serves; again.
	out := a.ok("admin", "reencrypt")
	wantContains(t, "first re-encryption", out, "re-encrypted secret/db/password", "re-encrypted secret/deploy/token", "2 re-encrypted, 0 already under the current key, 0 failed")
	out = b.ok("admin", "reencrypt")
	wantContains(t, "second re-encryption", out, "0 re-encrypted, 2 already under the current key, 0 failed")
	wantContains(t, "the audit trail", b.ok("audit", "--operation", "ReencryptSecrets"), "ReencryptSecrets", "allowed")
	viewer := strings.TrimSpace(a.ok("token", "create", "looker", "--policy", "viewer"))
	if res := runCLI(t, cliEnv(a.url, viewer), "admin", "reencrypt"); res.code == 0 || !strings.Contains(res.stderr, "ReencryptSecrets") {
		t.Errorf("a viewer re-encrypted: %s", res)
	}

	// The old key dropped.
	a.withKeys(newKey)
	b.withKeys(newKey)
	readable("new key alone, through a", a)
	readable("new key alone, through b", b)

	// A wrong key: said at start-up, and re-encryption fails by name.
	b.withKeys(newKeyFile(t, r.shared, "wrong.key"))
	res := b.fails("admin", "reencrypt")
	wantContains(t, "re-encryption with a wrong key", res.stdout+res.stderr, "FAILED secret/db/password", "none of this server's secret keys", "could not be re-encrypted")
	log, err := os.ReadFile(filepath.Join(b.base, fmt.Sprintf("server-%d.log", b.runs)))
	if err != nil {
		t.Fatal(err)
	}
	wantContains(t, "the log of a replica with a wrong key", string(log), "stored secrets open with none of this server's keys")
	// A job of b's says why it failed (a is stopped, so b's workers run it).
	a.shutdown()
	id := b.start("rot")
	e := b.waitEnd("rot", id, "Failed")
	wantContains(t, "a build on a replica with a wrong key", e.action(t, "b").Summary, "secret db/password cannot be decrypted", "none of this server's secret keys")
	for _, v := range values {
		if strings.Contains(res.stdout+res.stderr+e.action(t, "b").Summary, v) {
			t.Error("the CLI or the action's summary shows a value")
		}
	}
	b.shutdown()
	a.boot()
	readable("a, with b stopped", a)
	for _, s := range []*server{a, b} {
		for run := 1; run <= s.runs; run++ {
			log, _ := os.ReadFile(filepath.Join(s.base, fmt.Sprintf("server-%d.log", run)))
			for _, v := range values {
				if strings.Contains(string(log), v) {
					t.Errorf("a server log shows a secret's value")
				}
			}
		}
	}
}
