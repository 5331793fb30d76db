package trigger_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/connection"
	"github.com/sluice-ci/sluice/internal/githost"
	"github.com/sluice-ci/sluice/internal/trigger"
)

// BenchmarkConnectionWebhookToClaimable measures a git host's push delivery
// to the moment its pipeline's source job can be claimed: the signature
// check, the parse, matching every pipeline's source actions, the start's
// transaction on SQLite and the claim. HTTP is not included (a loopback
// request adds its own fraction of a millisecond). It reports p50 and p99.
func BenchmarkConnectionWebhookToClaimable(b *testing.B) {
	f := newFixture(b)
	f.connection(connection.KindGitHub)
	f.apply(connPipeline)
	// Pipelines that do not follow the repository, as a server has them.
	for i := range 20 {
		f.apply(replaceAll(connPipeline, "name: web", fmt.Sprintf("name: other%d", i), "Codertocat/Hello-World", fmt.Sprintf("Codertocat/r%d", i)))
	}
	h := trigger.NewConnectionWebhooks(f.svc, nil)
	ctx := context.Background()
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		after := fmt.Sprintf("%040x", i+1)
		body, _ := json.Marshal(map[string]any{
			"ref": "refs/heads/master", "before": fmt.Sprintf("%040x", i), "after": after,
			"repository": map[string]any{"full_name": "Codertocat/Hello-World"},
			"commits":    []any{map[string]any{"id": after, "message": "m", "modified": []string{"README.md"}}},
		})
		hdr := http.Header{"X-Github-Event": {"push"}, "X-Github-Delivery": {fmt.Sprint(i)}}
		name, value := githost.Sign(githost.GitHub, body, []byte(hookSecret))
		hdr.Set(name, value)
		t0 := time.Now()
		res, err := h.Handle(ctx, "gh", hdr, body)
		if err != nil || len(res.Started) != 1 {
			b.Fatalf("%+v %v", res, err)
		}
		j, err := f.svc.ClaimJob(ctx, "w", []string{"CodeStarSourceConnection"}, 0)
		if err != nil || j == nil {
			b.Fatalf("claim: %v %v", j, err)
		}
		durations = append(durations, time.Since(t0))
	}
	b.StopTimer()
	reportPercentiles(b, durations)
}

// reportPercentiles reports the p50 and p99 of durations, in milliseconds.
func reportPercentiles(b *testing.B, durations []time.Duration) {
	slices.Sort(durations)
	pct := func(p float64) float64 {
		return float64(durations[int(p*float64(len(durations)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

func replaceAll(s string, pairs ...string) string {
	for i := 0; i+1 < len(pairs); i += 2 {
		s = strings.ReplaceAll(s, pairs[i], pairs[i+1])
	}
	return s
}
