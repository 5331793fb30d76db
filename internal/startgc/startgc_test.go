package startgc

import (
	"math"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"
)

func TestOffUntilRestore(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT is set: init leaves the collector alone (TestEnvironmentWins)")
	}
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Fatalf("after init the collector's percent is %d, want -1 (off)", p)
	}
	if l := debug.SetMemoryLimit(-1); l != limit {
		t.Fatalf("after init the memory limit is %d, want %d", l, limit)
	}
	Restore()
	if p := debug.SetGCPercent(-1); p != 100 {
		t.Errorf("after Restore the percent is %d, want 100 (GOGC's default)", p)
	}
	debug.SetGCPercent(100)
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		t.Errorf("after Restore the memory limit is %d, want none", l)
	}
	Restore() // a second Restore changes nothing
	if p := debug.SetGCPercent(-1); p != 100 {
		t.Errorf("after a second Restore the percent is %d, want 100", p)
	}
	debug.SetGCPercent(100)
}

// TestEnvironmentWins runs this test binary again with GOGC=50: init must
// leave the collector as the environment says.
func TestEnvironmentWins(t *testing.T) {
	if os.Getenv("STARTGC_CHILD") != "" {
		if p := debug.SetGCPercent(50); p != 50 {
			t.Fatalf("with GOGC=50 the percent after init is %d", p)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestEnvironmentWins$", "-test.v")
	cmd.Env = append(os.Environ(), "STARTGC_CHILD=1", "GOGC=50")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestEnvironmentWins") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
