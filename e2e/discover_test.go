package e2e

import (
	"testing"
)

// The CLI finds a server started with another --addr through the URL it
// wrote into its data directory, and when that server is gone, says so and
// how to start or point at one.
func TestCLIFindsServerFromDataDir(t *testing.T) {
	singleServer(t, "the CLI finds one server through its data directory's server.url")
	t.Parallel()
	s := startServer(t) // on a random port, not 127.0.0.1:8080
	env := append(cliEnv("", s.token), "SLUICE_DATA="+s.data)
	r := runCLI(t, env, "pipeline", "list")
	if r.code != 0 {
		t.Fatalf("with SLUICE_DATA and no --server: %s", r)
	}
	wantContains(t, "pipeline list", r.stdout, "NAME")

	s.shutdown()
	r = runCLI(t, env, "pipeline", "list")
	if r.code == 0 {
		t.Fatalf("pipeline list after the server stopped: %s", r)
	}
	wantContains(t, "pipeline list after the server stopped", r.stderr,
		"no sluice server at "+s.url+" (from "+s.data+"/server.url) (connection refused); start one with `sluice server`, or point at yours with --server URL or SLUICE_SERVER")
}
