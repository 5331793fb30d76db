package schedule

import (
	"testing"
	"time"
)

// FuzzParse checks that no expression makes Parse or Next panic or hang, and
// that a tick always comes after the time asked about.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"cron(0 12 * * ? *)", "cron(0 0 L * ? *)", "cron(0 0 15W * ? *)", "cron(0 0 ? * 6#5 *)",
		"cron(0 0 ? * FRIL 2020-2030/3)", "rate(5 minutes)", "rate(1 day)", "cron(*/7 1-3 ? JAN-MAR 2-6 *)",
	} {
		f.Add(seed)
	}
	paris, err := LoadLocation("Europe/Paris")
	if err != nil {
		f.Fatal(err)
	}
	after := time.Date(2024, 10, 27, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := Parse(expr)
		if err != nil {
			return
		}
		if next := s.Next(after, paris); !next.IsZero() && !next.After(after) {
			t.Errorf("%s: Next(%v) = %v, not after", expr, after, next)
		}
	})
}
