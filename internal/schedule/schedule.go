// Package schedule reads EventBridge schedule expressions, cron(...) and
// rate(...), and says when they next fire. It imports nothing else of
// sluice's, so the pipeline package can check a trigger's expression with the
// same code the scheduler runs it with.
//
// What a tick is:
//
//   - A cron expression names wall-clock minutes in a time zone. When a zone
//     springs forward, a minute that does not exist that day is skipped; when
//     it falls back, a minute that happens twice fires once, at its first
//     occurrence. That is what EventBridge Scheduler documents.
//   - A rate expression is a fixed duration (a day is 24 hours, whatever the
//     clocks do), counted from an anchor: the ticks are anchor + k·period for
//     every whole k. EventBridge counts from the rule's creation; sluice's
//     scheduler anchors at the time the pipeline (or its trigger) was created
//     and calls NextRate. Next, which knows no anchor, counts from the Unix
//     epoch, which puts rate(5 minutes) on :00, :05, :10…
package schedule

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	// Time zones must load the same way on every machine that validates or
	// runs a pipeline, including one without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// Schedule is a parsed schedule expression. The zero value never fires.
type Schedule struct {
	expr string
	rate time.Duration // > 0 for rate(...)
	cron *cronSpec     // non-nil for cron(...)
}

// Parse reads an EventBridge schedule expression: "rate(value unit)" or
// "cron(minutes hours day-of-month month day-of-week year)". Errors name the
// part that is wrong, as in `cron: day-of-week "8": out of range 1-7`.
func Parse(expr string) (Schedule, error) {
	e := strings.TrimSpace(expr)
	switch {
	case strings.HasPrefix(e, "rate(") && strings.HasSuffix(e, ")"):
		d, err := parseRate(e[len("rate(") : len(e)-1])
		if err != nil {
			return Schedule{}, err
		}
		return Schedule{expr: e, rate: d}, nil
	case strings.HasPrefix(e, "cron(") && strings.HasSuffix(e, ")"):
		c, err := parseCron(e[len("cron(") : len(e)-1])
		if err != nil {
			return Schedule{}, err
		}
		s := Schedule{expr: e, cron: c}
		// A cron that can never fire (30 February, the fifth Monday of a
		// February in a non-leap year only…) is a mistake worth
		// reporting when it is written rather than a schedule that
		// silently stays quiet. UTC has no gaps, so the answer does not
		// depend on the zone the schedule will run in.
		if s.Next(time.Date(minYear, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Minute), time.UTC).IsZero() {
			return Schedule{}, fmt.Errorf("cron: %q never fires", e[len("cron("):len(e)-1])
		}
		return s, nil
	case e == "":
		return Schedule{}, errors.New("empty schedule: want cron(...) or rate(...)")
	}
	return Schedule{}, fmt.Errorf("%q: want cron(minutes hours day-of-month month day-of-week year) or rate(value unit)", expr)
}

// String returns the expression as written, without surrounding spaces.
func (s Schedule) String() string { return s.expr }

// IsZero reports whether s is the zero Schedule, which never fires.
func (s Schedule) IsZero() bool { return s.rate == 0 && s.cron == nil }

// Rate returns the period of a rate(...) expression, and false for cron.
func (s Schedule) Rate() (time.Duration, bool) { return s.rate, s.rate > 0 }

// Next returns the first tick strictly after after, in loc (UTC when nil),
// or the zero time when there is none (a cron whose years have all passed).
// For a rate expression the ticks are counted from the Unix epoch; use
// NextRate to count them from the schedule's own start.
func (s Schedule) Next(after time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	switch {
	case s.cron != nil:
		return s.cron.next(after, loc)
	case s.rate > 0:
		t := s.NextRate(time.Unix(0, 0), after)
		if t.IsZero() {
			return t
		}
		return t.In(loc)
	}
	return time.Time{}
}

// NextRate returns the first tick of a rate expression strictly after after,
// the ticks being anchor + k·period for every whole k. A scheduler passes the
// time the schedule started as anchor and the last tick it fired (or the
// start itself) as after, so the first tick comes one period after the start,
// as in EventBridge, and a restart neither skips nor repeats one. It returns
// the zero time for a cron expression.
func (s Schedule) NextRate(anchor, after time.Time) time.Time {
	if s.rate <= 0 {
		return time.Time{}
	}
	d := after.Sub(anchor)
	// Sub saturates for times centuries apart; so does the result here,
	// which is as good as never for a scheduler.
	k := d / s.rate
	if d >= 0 {
		k++
	}
	// For negative d, integer division truncates toward zero, so
	// anchor + k·period is already the first tick after after, unless
	// after falls exactly on a tick.
	if d < 0 && d%s.rate == 0 {
		k++
	}
	if k > 0 && k > math.MaxInt64/s.rate {
		return time.Time{}
	}
	return anchor.Add(k * s.rate)
}

// LoadLocation loads an IANA time zone for a schedule: "" is UTC. "Local" is
// refused, because a schedule must not change meaning with the machine it
// runs on.
func LoadLocation(name string) (*time.Location, error) {
	switch name {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		return nil, errors.New(`time zone "Local" depends on the machine; name a zone such as "Europe/Paris"`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return loc, nil
}

// parseRate reads the inside of rate(...): a positive whole number and a
// unit, singular with 1 and plural otherwise, as EventBridge insists.
func parseRate(inner string) (time.Duration, error) {
	parts := strings.Fields(inner)
	if len(parts) != 2 {
		return 0, fmt.Errorf("rate: %q: want rate(value unit), as in rate(5 minutes)", inner)
	}
	value, unit := parts[0], parts[1]
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil || !isDigits(value) {
		return 0, fmt.Errorf("rate: value %q: not a whole number", value)
	}
	if n < 1 {
		return 0, fmt.Errorf("rate: value %q: must be 1 or more", value)
	}
	var per time.Duration
	singular := strings.TrimSuffix(unit, "s")
	switch singular {
	case "minute":
		per = time.Minute
	case "hour":
		per = time.Hour
	case "day":
		per = 24 * time.Hour
	default:
		return 0, fmt.Errorf("rate: unit %q: want minutes, hours or days", unit)
	}
	switch {
	case n == 1 && unit != singular:
		return 0, fmt.Errorf("rate: %q: with 1, the unit is singular: rate(1 %s)", inner, singular)
	case n > 1 && unit == singular:
		return 0, fmt.Errorf("rate: %q: with %d, the unit is plural: rate(%d %ss)", inner, n, n, singular)
	}
	if n > int64(math.MaxInt64/per) {
		return 0, fmt.Errorf("rate: value %q: too large", value)
	}
	return time.Duration(n) * per, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
