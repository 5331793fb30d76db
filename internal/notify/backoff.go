package notify

import (
	"math/rand/v2"
	"time"
)

// Default bounds of a Backoff whose fields are zero.
const (
	DefaultBackoffBase = time.Second
	DefaultBackoffMax  = 5 * time.Minute
)

// Backoff is the wait between the attempts of one delivery: exponential from
// Base, capped at Max, with full jitter. A zero Base means
// DefaultBackoffBase and a zero Max DefaultBackoffMax.
//
// A caller that retries waits the longer of Delay and RetryAfter(err).
type Backoff struct{ Base, Max time.Duration }

// Delay is the wait after attempt n (1-based) of a delivery has failed,
// before attempt n+1: rnd()·min(Max, Base·2^(n-1)), so up to Base after the
// first failure, up to 2·Base after the second, and never more than Max;
// n < 1 gives 0. rnd returns a number in [0, 1), as rand.Float64 does (used
// when rnd is nil); values outside are clamped.
func (b Backoff) Delay(n int, rnd func() float64) time.Duration {
	if n < 1 {
		return 0
	}
	base, maxDelay := b.Base, b.Max
	if base <= 0 {
		base = DefaultBackoffBase
	}
	if maxDelay <= 0 {
		maxDelay = DefaultBackoffMax
	}
	ceiling := min(base, maxDelay)
	for i := 1; i < n && ceiling < maxDelay; i++ {
		if ceiling > maxDelay/2 {
			ceiling = maxDelay
			break
		}
		ceiling *= 2
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	f := rnd()
	switch {
	case f != f || f < 0: // NaN or negative
		f = 0
	case f > 1:
		f = 1
	}
	d := time.Duration(f * float64(ceiling))
	if d < 0 || d > ceiling { // rounding near the top of the int64 range
		d = ceiling
	}
	return d
}
