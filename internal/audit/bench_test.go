package audit_test

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/audit"
)

// BenchmarkAppend appends from 2 and from 16 goroutines at once (16 as 16
// concurrent API clients), reporting the records one commit carries and the
// process's CPU time per record.
func BenchmarkAppend(b *testing.B) {
	for _, tc := range []struct {
		name string
		par  int // × GOMAXPROCS goroutines
	}{{"few", 1}, {"many", 8}} {
		b.Run(tc.name, func(b *testing.B) {
			l, err := audit.Open(context.Background(), filepath.Join(b.TempDir(), "audit.db"), audit.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			rec := audit.Record{RequestID: "0123456789abcdef01234567", Principal: "admin", Source: "127.0.0.1", UserAgent: "Go-http-client/1.1",
				Operation: "GetPipelineState", Resource: "pipeline/app", Params: map[string]string{"name": "app"}, Outcome: audit.Allowed, Status: 200}
			b.SetParallelism(tc.par)
			cpu0 := cpuTime()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := l.Append(context.Background(), rec); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/float64(time.Microsecond), "cpu-µs/op")
			st := l.Stats()
			b.ReportMetric(float64(st.Records)/float64(st.Commits), "records/commit")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
