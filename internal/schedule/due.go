package schedule

import (
	"strconv"
	"strings"
	"time"
)

// Due is the latest tick of s after last and not after now, or zero when none
// is due: ticks missed while nothing looked fire once, as the latest of them,
// rather than in a burst. anchor is where a rate expression counts from; loc
// is the zone of a cron expression.
func (s Schedule) Due(anchor, last, now time.Time, loc *time.Location) time.Time {
	next := func(after time.Time) time.Time {
		if _, isRate := s.Rate(); isRate {
			return s.NextRate(anchor, after)
		}
		return s.Next(after, loc)
	}
	tick := next(last)
	if tick.IsZero() || tick.After(now) {
		return time.Time{}
	}
	for range 100000 {
		n := next(tick)
		if n.IsZero() || n.After(now) {
			break
		}
		tick = n
	}
	return tick
}

// FormatTicks is the state a scheduled trigger keeps in the store: when it
// was first seen (the anchor of rate expressions) and the last tick it fired.
func FormatTicks(anchor, last time.Time) string {
	return strconv.FormatInt(anchor.UnixMilli(), 10) + ":" + strconv.FormatInt(last.UnixMilli(), 10)
}

// ParseTicks reads what FormatTicks wrote; ok is false for anything else
// (nothing stored yet).
func ParseTicks(v string) (anchor, last time.Time, ok bool) {
	a, l, found := strings.Cut(v, ":")
	if !found {
		return
	}
	am, err1 := strconv.ParseInt(a, 10, 64)
	lm, err2 := strconv.ParseInt(l, 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	return time.UnixMilli(am).UTC(), time.UnixMilli(lm).UTC(), true
}
