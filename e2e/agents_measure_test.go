package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/wire"
)

// TestMeasureDeployOverhead measures, with SLUICE_MEASURE=1, what a
// deployment costs per host beyond its hooks' own time: the host's time
// from its claim to its result (revision download and checksum, unpacking,
// install, the agent's bookkeeping, the hooks) less the hooks' time, and the
// deployment's time from creation to decision less its hosts' hook time.
// The figures go to docs/benchmarks.md; nothing is asserted of them.
func TestMeasureDeployOverhead(t *testing.T) {
	if os.Getenv("SLUICE_MEASURE") == "" {
		t.Skip("set SLUICE_MEASURE=1 to measure")
	}
	s := startServer(t)
	for i := 1; i <= 3; i++ {
		startAgent(t, s, fmt.Sprintf("m%d", i), t.TempDir(), 0)
	}
	eventually(t, 20*time.Second, "agents", func() bool {
		var as []wire.Agent
		s.json(&as, "deployment", "agents")
		return len(as) == 3
	})
	rev := t.TempDir()
	writeFile(t, filepath.Join(rev, "appspec.yml"), `version: 0.0
os: linux
files:
  - source: www
    destination: /srv/www
hooks:
  BeforeInstall:
    - location: hook.sh
  AfterInstall:
    - location: hook.sh
  ApplicationStart:
    - location: hook.sh
  ValidateService:
    - location: hook.sh
`)
	os.MkdirAll(filepath.Join(rev, "www"), 0o755)
	writeFile(t, filepath.Join(rev, "hook.sh"), "#!/bin/sh\nexit 0\n")
	for i := range 50 {
		writeFile(t, filepath.Join(rev, "www", fmt.Sprintf("f%02d.html", i)), strings.Repeat("x", 2000))
	}
	for _, cfg := range []string{"CodeDeployDefault.AllAtOnce", "CodeDeployDefault.OneAtATime"} {
		applyGroup(t, s, "deploymentConfigName: "+cfg+"\n")
		var hostOver, hooks, whole []float64
		for range 10 {
			out := s.ok("deployment", "create", "--application", "shop", "--group", "prod", "--revision", rev, "--wait")
			var d wire.Deployment
			s.json(&d, "deployment", "get", strings.Fields(out)[1])
			if d.Status != "Succeeded" {
				t.Fatalf("%+v", d)
			}
			var hookSum float64
			for _, h := range d.Hosts {
				var hk float64
				for _, e := range h.Events {
					hk += float64(e.HookMS)
				}
				hookSum += hk
				hooks = append(hooks, hk)
				hostOver = append(hostOver, float64(h.Finished.Sub(*h.Started).Milliseconds())-hk)
			}
			whole = append(whole, float64(d.Updated.Sub(d.Created).Milliseconds()))
		}
		t.Logf("%s: per host, beyond hooks: median %.0f ms, p90 %.0f ms; hooks per host median %.0f ms; deployment created → decided median %.0f ms (3 hosts)",
			cfg, pct(hostOver, 50), pct(hostOver, 90), pct(hooks, 50), pct(whole, 50))
	}
}

func pct(v []float64, p int) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[(len(s)-1)*p/100]
}
