package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	s := startServer(t)

	fi, err := os.Stat(filepath.Join(s.data, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("admin.token mode = %#o, want 0600", mode)
	}
	if !strings.HasPrefix(s.token, "sluice_") || len(s.token) < 20 {
		t.Errorf("admin token %q does not look like a token", s.token)
	}

	// No token at all: the CLI refuses and says where to find one.
	r := runCLI(t, cliEnv(s.url, ""), "pipeline", "list")
	if r.code == 0 {
		t.Fatalf("without a token: want a non-zero exit, got %s", r)
	}
	wantContains(t, "stderr without a token", strings.ToLower(r.stderr), "no token", "sluice_token")

	// A wrong token reaches the server, which refuses it.
	for _, args := range [][]string{
		{"pipeline", "list"},
		{"status", "anything"},
		{"pipeline", "apply", "-f", "testdata/transitions.yml"},
	} {
		r := runCLI(t, cliEnv(s.url, "sluice_0123456789abcdef0123456789abcdef0123456789abcdef"), args...)
		if r.code == 0 {
			t.Errorf("with a wrong token: want a non-zero exit, got %s", r)
			continue
		}
		wantContains(t, "stderr with a wrong token", strings.ToLower(r.stderr), "invalid token")
	}
	// Nothing was applied with the wrong token.
	if out := s.ok("pipeline", "list"); strings.Contains(out, "transitions") {
		t.Errorf("a refused apply created the pipeline:\n%s", out)
	}

	// The right token, through the environment and through the flags.
	s.ok("pipeline", "list")
	r = runCLI(t, cliEnv("", ""), "--server", s.url, "--token", s.token, "pipeline", "list")
	if r.code != 0 {
		t.Errorf("with --server and --token: %s", r)
	}
	// A flag wins over the environment.
	r = runCLI(t, cliEnv(s.url, "wrong"), "--token", s.token, "pipeline", "list")
	if r.code != 0 {
		t.Errorf("--token over a wrong SLUICE_TOKEN: %s", r)
	}

	// A restart keeps the token (and its file's mode).
	s.shutdown()
	old := s.token
	s.boot()
	wantEqual(t, "admin token after a restart", s.token, old)
	s.ok("pipeline", "list")
}
