package notify

import (
	"math"
	"testing"
	"time"
)

func fixed(f float64) func() float64 { return func() float64 { return f } }

func TestBackoffDelay(t *testing.T) {
	t.Parallel()
	const almostOne = 1 - 1e-12
	b := Backoff{Base: time.Second, Max: 10 * time.Second}
	for _, tc := range []struct {
		attempt int
		rnd     float64
		want    time.Duration
	}{
		{-1, almostOne, 0},
		{0, almostOne, 0},
		{1, 0, 0},
		{1, 0.5, 500 * time.Millisecond},
		{1, 1, time.Second}, // after the first failure: up to Base
		{2, 1, 2 * time.Second},
		{3, 1, 4 * time.Second},
		{4, 1, 8 * time.Second},
		{4, 0.25, 2 * time.Second},
		{5, 1, 10 * time.Second}, // capped
		{5, 0.5, 5 * time.Second},
		{1000, 1, 10 * time.Second},
		{math.MaxInt, 0.5, 5 * time.Second},
		{2, -1, 0},              // clamped
		{2, 7, 2 * time.Second}, // clamped
		{2, math.NaN(), 0},
	} {
		if got := b.Delay(tc.attempt, fixed(tc.rnd)); got != tc.want {
			t.Errorf("Delay(%d, %v) = %s, want %s", tc.attempt, tc.rnd, got, tc.want)
		}
	}
}

func TestBackoffDefaults(t *testing.T) {
	t.Parallel()
	var b Backoff
	if got := b.Delay(1, fixed(1)); got != DefaultBackoffBase {
		t.Errorf("Delay(1) = %s, want %s", got, DefaultBackoffBase)
	}
	if got := b.Delay(50, fixed(1)); got != DefaultBackoffMax {
		t.Errorf("Delay(50) = %s, want %s", got, DefaultBackoffMax)
	}
	// Base above Max: Max wins from the start.
	if got := (Backoff{Base: time.Hour, Max: time.Minute}).Delay(1, fixed(1)); got != time.Minute {
		t.Errorf("Delay with Base > Max = %s, want 1m", got)
	}
	// The largest Max: no overflow into negative waits.
	huge := Backoff{Base: time.Nanosecond, Max: math.MaxInt64}
	for _, n := range []int{1, 40, 63, 64, 65, 100, 1 << 20} {
		if got := huge.Delay(n, fixed(1)); got < 0 {
			t.Errorf("Delay(%d) = %s, negative", n, got)
		}
	}
}

func TestBackoffJitterStaysInBounds(t *testing.T) {
	t.Parallel()
	b := Backoff{Base: 100 * time.Millisecond, Max: time.Second}
	for attempt := 1; attempt < 12; attempt++ {
		ceiling := min(b.Max, b.Base<<(attempt-1))
		for range 50 {
			if got := b.Delay(attempt, nil); got < 0 || got > ceiling {
				t.Fatalf("Delay(%d, nil) = %s, outside [0, %s]", attempt, got, ceiling)
			}
		}
	}
}
