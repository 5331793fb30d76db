package service_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkActionOverhead measures what the service costs between one action's
// success and the next action's job being claimable: the engine's decision and
// its SQLite transaction, with no HTTP in between (bench/ measures that too).
func BenchmarkActionOverhead(b *testing.B) {
	f := newFixture(b)
	var src strings.Builder
	src.WriteString("name: p\nexecutionMode: PARALLEL\nstages:\n  - name: Run\n    actions:\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&src, "      - name: a%d\n        runOrder: %d\n        provider: Noop\n", i, i)
	}
	f.apply(src.String())
	gaps := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for n := 0; n < b.N; {
		b.StopTimer()
		f.start("p")
		j := f.claim("w")
		b.StartTimer()
		for i := 1; i <= 10 && n < b.N; i++ {
			t0 := time.Now()
			f.succeed(j, nil)
			if i < 10 {
				j = f.claim("w")
				gaps = append(gaps, time.Since(t0))
				n++
			}
		}
	}
	b.StopTimer()
	if len(gaps) > 0 {
		slices.Sort(gaps)
		b.ReportMetric(float64(gaps[len(gaps)/2].Microseconds())/1000, "ms-median/action")
	}
}
