package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/process"
)

// A worker starts the sandboxes of its next jobs ahead of them (see
// docs/SECURITY.md). The attacker is a pipeline's author whose actions run
// one after another on the same workers: the first leaves a daemon outside
// its process group, and files in /tmp, its HOME and its workspace, and
// records every process it can see; the ones after it run in sandboxes
// prepared while the first ran, and must find nothing of it; the first must
// have seen no sandbox waiting for a later job. An action with the network
// off never gets a sandbox prepared with the network.
func TestPreparedSandboxesKeepJobsApart(t *testing.T) {
	needSandbox(t)
	t.Parallel()
	s := startServer(t, "--isolation", "auto")
	const daemon = "876512"
	leaves := `
  - setsid sleep ` + daemon + ` </dev/null >/dev/null 2>&1 &
  - echo left >/tmp/left; echo left >"$HOME/left"; echo left >left
  - for p in /proc/[0-9]*; do tr '\0' ' ' <$p/cmdline 2>/dev/null | grep -q 'dev/fd/3' && [ "$p" != /proc/1 ] && echo "SAW""-WAITING $p"; done; true`
	finds := `
  - pgrep -f ` + daemon + ` && echo "DAEMON""-SEEN"; test -e /tmp/left && echo "TMP""-SEEN"; test -e "$HOME/left" && echo "HOME""-SEEN"; test -z "$(ls -A)" || echo "WORKSPACE""-SEEN"; true`
	offline := `
  - test "$(tail -n +3 /proc/net/dev | wc -l)" = 1 && echo "ONLY""-LOOPBACK"`
	var b strings.Builder
	b.WriteString("name: apart\nstages:\n  - name: Run\n    actions:\n")
	add := func(name string, order int, network, commands string) {
		b.WriteString("      - name: " + name + "\n        provider: Commands\n        runOrder: " + string(rune('0'+order)) + "\n")
		if network != "" {
			b.WriteString("        configuration: {Network: \"" + network + "\"}\n")
		}
		b.WriteString("        commands:" + strings.ReplaceAll(commands, "\n  - ", "\n          - ") + "\n")
	}
	add("leaves", 1, "", leaves)
	add("finds", 2, "", finds)
	add("finds-again", 3, "", finds)
	add("offline", 4, "false", offline+finds)
	add("offline-again", 5, "false", offline)
	s.applyYAML("apart", b.String())
	id := s.start("apart")
	s.waitEnd("apart", id, "Succeeded")
	// The markers are split in the commands, so that the log's echo of a
	// command never holds them.
	wantNotContains(t, "leaves' log", s.ok("logs", "apart", id, "leaves"), "SAW-WAITING")
	for _, a := range []string{"finds", "finds-again", "offline"} {
		log := s.ok("logs", "apart", id, a)
		for _, seen := range []string{"DAEMON-SEEN", "TMP-SEEN", "HOME-SEEN", "WORKSPACE-SEEN"} {
			wantNotContains(t, a+"'s log", log, seen)
		}
	}
	for _, a := range []string{"offline", "offline-again"} {
		wantContains(t, a+"'s log", s.ok("logs", "apart", id, a), "ONLY-LOOPBACK")
	}
	// The daemon died with its job, on the host too.
	deadline := time.Now().Add(10 * time.Second)
	for hostHas(daemon) {
		if time.Now().After(deadline) {
			t.Fatal("the job's daemon outlived it")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hostHas reports whether a process of the host has marker as an argument.
func hostHas(marker string) bool {
	return len(process.Matching(func(cmdline []byte) bool {
		return slices.Contains(strings.Split(string(cmdline), "\x00"), marker)
	})) > 0
}

func wantNotContains(t *testing.T, what, got string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(got, u) {
			t.Errorf("%s = %q, want it not to contain %q", what, got, u)
		}
	}
}
