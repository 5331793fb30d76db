package schedule

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustParse(t testing.TB, expr string) Schedule {
	t.Helper()
	s, err := Parse(expr)
	if err != nil {
		t.Fatalf("Parse(%q): %v", expr, err)
	}
	return s
}

// at reads "2006-01-02 15:04" as wall-clock time in loc; "" is the zero time.
func at(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	if s == "" {
		return time.Time{}
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"", "empty schedule"},
		{"every 5 minutes", "want cron("},
		{"CRON(0 12 * * ? *)", "want cron("},
		{"cron(0 12 * * *)", `has 5 fields, want 6`},
		{"cron(0 12 * * ? * *)", `has 7 fields, want 6`},
		{"cron(0 12 ? * 8 *)", `cron: day-of-week "8": out of range 1-7`},
		{"cron(0 12 ? * 0 *)", `cron: day-of-week "0": out of range 1-7`},
		{"cron(0 12 ? * 2-9 *)", `cron: day-of-week "2-9": 9 out of range 1-7`},
		{"cron(60 * * * ? *)", `cron: minutes "60": out of range 0-59`},
		{"cron(0 24 * * ? *)", `cron: hours "24": out of range 0-23`},
		{"cron(0 0 32 * ? *)", `cron: day-of-month "32": out of range 1-31`},
		{"cron(0 0 0 * ? *)", `cron: day-of-month "0": out of range 1-31`},
		{"cron(0 0 * 13 ? *)", `cron: month "13": out of range 1-12`},
		{"cron(0 0 * * ? 1969)", `cron: year "1969": out of range 1970-2199`},
		{"cron(0 0 * * ? 2200)", `cron: year "2200": out of range 1970-2199`},
		{"cron(0 0 * * ? 99999999999)", `cron: year "99999999999": out of range 1970-2199`},
		{"cron(0 0 * FOO ? *)", `cron: month "FOO": "FOO" is not a number or a name JAN-DEC`},
		{"cron(0 0 ? * MON-FRY *)", `cron: day-of-week "MON-FRY": "FRY" is not a number or a name SUN-SAT`},
		{"cron(x 0 * * ? *)", `cron: minutes "x": "x" is not a number`},
		{"cron(0 0 * * * *)", `cron: day-of-month "*" and day-of-week "*": one of them must be "?"`},
		{"cron(0 0 1 * MON *)", `one of them must be "?"`},
		{"cron(0 0 ? * ? *)", `both "?"`},
		{"cron(0 0 ? * 3#1,6#3 *)", `cron: day-of-week "3#1,6#3": # must stand alone`},
		{"cron(0 0 ? * 3#6 *)", `cron: day-of-week "3#6": "6" after # must be 1-5`},
		{"cron(0 0 ? * 3#0 *)", `"0" after # must be 1-5`},
		{"cron(0 0 ? * 8#1 *)", `cron: day-of-week "8#1": 8 out of range 1-7`},
		{"cron(0 0 L,15 * ? *)", `cron: day-of-month "L,15": L and W must stand alone`},
		{"cron(0 0 1-5W * ? *)", `cron: day-of-month "1-5W": L and W must stand alone`},
		{"cron(0 0 L-3 * ? *)", `L-n) are not supported`},
		{"cron(0 0 32W * ? *)", `cron: day-of-month "32W": out of range 1-31`},
		{"cron(0 0 W * ? *)", `cron: day-of-month "W": missing value`},
		{"cron(0 0 ? * 1-3,6L *)", `L must stand alone in day-of-week`},
		{"cron(0 L * * ? *)", `cron: hours "L": L and W are only allowed in day-of-month and day-of-week`},
		{"cron(0 0 * * ? 202#)", `cron: year "202#": # is only allowed in day-of-week`},
		{"cron(? 0 * * ? *)", `cron: minutes "?": "?" is only allowed in day-of-month and day-of-week`},
		{"cron(0 0 ?,1 * ? *)", `cron: day-of-month "?": "?" must stand alone`},
		{"cron(*/0 * * * ? *)", `cron: minutes "*/0": step 0 out of range 1-59`},
		{"cron(*/60 * * * ? *)", `step 60 out of range 1-59`},
		{"cron(*/x * * * ? *)", `step "x" is not a whole number`},
		{"cron(/5 * * * ? *)", `missing value before /`},
		{"cron(0 0 1 1 ? 2030-2025)", `cron: year "2030-2025": range starts after it ends (years do not wrap around)`},
		{"cron(50-70 * * * ? *)", `cron: minutes "50-70": 70 out of range 0-59`},
		{"cron(5- * * * ? *)", `cron: minutes "5-": missing value`},
		{"cron(1,,2 * * * ? *)", `empty item in a list`},
		{"cron(0 0 30 2 ? *)", `never fires`},
		{"cron(0 0 31 4,6,9,11 ? *)", `never fires`},
		{"rate(0 minutes)", `rate: value "0": must be 1 or more`},
		{"rate(-1 minutes)", `rate: value "-1": not a whole number`},
		{"rate(+5 minutes)", `rate: value "+5": not a whole number`},
		{"rate(1.5 hours)", `rate: value "1.5": not a whole number`},
		{"rate(1 minutes)", `rate: "1 minutes": with 1, the unit is singular: rate(1 minute)`},
		{"rate(5 minute)", `rate: "5 minute": with 5, the unit is plural: rate(5 minutes)`},
		{"rate(2 day)", `rate(2 days)`},
		{"rate(5 weeks)", `rate: unit "weeks": want minutes, hours or days`},
		{"rate(5 Minutes)", `rate: unit "Minutes"`},
		{"rate(5)", `want rate(value unit)`},
		{"rate(5 minutes now)", `want rate(value unit)`},
		{"rate(999999999999 days)", `rate: value "999999999999": too large`},
	}
	for _, tc := range tests {
		_, err := Parse(tc.expr)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error containing %q", tc.expr, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %q, want it to contain %q", tc.expr, err, tc.want)
		}
	}
}

func TestParseAccepts(t *testing.T) {
	for _, expr := range []string{
		"cron(0 12 * * ? *)",
		"  cron(0 12 * * ? *)  ",
		"cron(15 10 ? * 6L 2002-2005)",
		"cron(0 18 ? * MON-FRI *)",
		"cron(0 8 1 * ? *)",
		"cron(0/10 * ? * MON-FRI *)",
		"cron(0/5 8-17 ? * MON-FRI *)",
		"cron(0 9 ? * 2#1 *)",
		"cron(0 0 L * ? *)",
		"cron(0 0 LW * ? *)",
		"cron(0 0 15W * ? *)",
		"cron(0 0 15w * ? *)",
		"cron(0 0 ? * FRIL *)",
		"cron(0 0 ? * fri#2 *)",
		"cron(0 0 ? * L *)",
		"cron(0 0 ? * 1/2 *)",
		"cron(0 0 1 jan,Jul ? *)",
		"cron(0 0 29 2 ? *)",
		"cron(0 0 ? * SUN-SAT 1970-2199)",
		"cron(0 0 1 1 ? 2020)", // past years are valid, merely finished
		"rate(1 minute)",
		"rate(5 minutes)",
		"rate(1 hour)",
		"rate(12 hours)",
		"rate(1 day)",
		"rate(7 days)",
		"rate( 5   minutes )",
	} {
		s, err := Parse(expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", expr, err)
			continue
		}
		if s.String() != strings.TrimSpace(expr) {
			t.Errorf("String() = %q, want %q", s.String(), strings.TrimSpace(expr))
		}
	}
}

func TestRate(t *testing.T) {
	for expr, want := range map[string]time.Duration{
		"rate(1 minute)":   time.Minute,
		"rate(90 minutes)": 90 * time.Minute,
		"rate(1 hour)":     time.Hour,
		"rate(2 days)":     48 * time.Hour,
	} {
		got, ok := mustParse(t, expr).Rate()
		if !ok || got != want {
			t.Errorf("%s: Rate() = %v, %v; want %v", expr, got, ok, want)
		}
	}
	if _, ok := mustParse(t, "cron(0 12 * * ? *)").Rate(); ok {
		t.Errorf("a cron expression has a rate")
	}
}

func TestNext(t *testing.T) {
	tests := []struct {
		expr, zone, after, want string
	}{
		// Plain fields.
		{"cron(0 12 * * ? *)", "UTC", "2024-01-01 11:59", "2024-01-01 12:00"},
		{"cron(0 12 * * ? *)", "UTC", "2024-01-01 12:00", "2024-01-02 12:00"},
		{"cron(0/15 * * * ? *)", "UTC", "2024-01-01 10:07", "2024-01-01 10:15"},
		{"cron(0/15 * * * ? *)", "UTC", "2024-01-01 23:59", "2024-01-02 00:00"},
		{"cron(1/10 * * * ? *)", "UTC", "2024-01-01 10:05", "2024-01-01 10:11"},
		{"cron(0 8-18/5 * * ? *)", "UTC", "2024-01-01 13:00", "2024-01-01 18:00"},
		{"cron(0 8-18/5 * * ? *)", "UTC", "2024-01-01 18:00", "2024-01-02 08:00"},
		{"cron(0 0 1 JAN,JUL ? *)", "UTC", "2024-02-01 00:00", "2024-07-01 00:00"},
		{"cron(0 0 1 jul ? *)", "UTC", "2024-07-01 00:00", "2025-07-01 00:00"},
		{"cron(59 23 31 12 ? *)", "UTC", "2024-12-31 23:58", "2024-12-31 23:59"},
		{"cron(0 0 29 2 ? *)", "UTC", "2024-03-01 00:00", "2028-02-29 00:00"},
		// Day-of-week counts 1 = SUN … 7 = SAT. 2024-01-05 is a Friday.
		{"cron(0 10 ? * MON-FRI *)", "UTC", "2024-01-05 10:00", "2024-01-08 10:00"},
		{"cron(0 10 ? * 2-6 *)", "UTC", "2024-01-05 10:00", "2024-01-08 10:00"},
		{"cron(0 10 ? * 1 *)", "UTC", "2024-01-05 10:00", "2024-01-07 10:00"},
		{"cron(0 10 ? * 7 *)", "UTC", "2024-01-05 10:00", "2024-01-06 10:00"},
		{"cron(0 10 ? * sun,sat *)", "UTC", "2024-01-06 10:00", "2024-01-07 10:00"},
		{"cron(0 0 ? * 1/3 *)", "UTC", "2024-01-01 00:00", "2024-01-03 00:00"}, // SUN, WED, SAT
		// L: the last day of the month; in day-of-week, SAT.
		{"cron(0 0 L * ? *)", "UTC", "2024-02-01 00:00", "2024-02-29 00:00"},
		{"cron(0 0 L * ? *)", "UTC", "2023-02-01 00:00", "2023-02-28 00:00"},
		{"cron(0 0 L * ? *)", "UTC", "2024-01-31 00:00", "2024-02-29 00:00"},
		{"cron(0 0 ? * L *)", "UTC", "2024-01-01 00:00", "2024-01-06 00:00"},
		// LW: the last weekday. 2024-03-31 is a Sunday, 2024-08-31 a Saturday.
		{"cron(0 0 LW * ? *)", "UTC", "2024-03-01 00:00", "2024-03-29 00:00"},
		{"cron(0 0 LW * ? *)", "UTC", "2024-08-01 00:00", "2024-08-30 00:00"},
		{"cron(0 0 LW * ? *)", "UTC", "2024-01-01 00:00", "2024-01-31 00:00"},
		// nW: the nearest weekday, never leaving the month. 2024-06-01 and
		// 2024-06-15 are Saturdays, 2024-09-15 and 2024-06-30 Sundays.
		{"cron(0 0 1W * ? *)", "UTC", "2024-05-31 00:00", "2024-06-03 00:00"},
		{"cron(0 0 15W * ? *)", "UTC", "2024-06-01 00:00", "2024-06-14 00:00"},
		{"cron(0 0 15W * ? *)", "UTC", "2024-09-01 00:00", "2024-09-16 00:00"},
		{"cron(0 0 15W * ? *)", "UTC", "2024-01-01 00:00", "2024-01-15 00:00"},
		{"cron(0 0 30W * ? *)", "UTC", "2024-06-01 00:00", "2024-06-28 00:00"},
		{"cron(0 0 31W * ? *)", "UTC", "2024-03-01 00:00", "2024-03-29 00:00"},
		{"cron(0 0 31W * ? *)", "UTC", "2024-04-01 00:00", "2024-05-31 00:00"}, // April has no 31st
		// n#k: the k-th such weekday; a month without one is skipped.
		{"cron(0 9 ? * 3#2 *)", "UTC", "2024-01-01 00:00", "2024-01-09 09:00"},
		{"cron(0 9 ? * TUE#2 *)", "UTC", "2024-01-09 09:00", "2024-02-13 09:00"},
		{"cron(0 0 ? * 6#5 *)", "UTC", "2024-01-01 00:00", "2024-03-29 00:00"},
		{"cron(0 0 ? * 2#1 *)", "UTC", "2024-01-01 00:00", "2024-02-05 00:00"},
		// nL: the last such weekday.
		{"cron(0 0 ? * 6L *)", "UTC", "2024-01-01 00:00", "2024-01-26 00:00"},
		{"cron(0 0 ? * 6L *)", "UTC", "2024-01-26 00:00", "2024-02-23 00:00"},
		{"cron(0 0 ? * FRIL *)", "UTC", "2024-01-26 00:00", "2024-02-23 00:00"},
		// Years.
		{"cron(0 0 1 1 ? 2025)", "UTC", "2024-06-01 00:00", "2025-01-01 00:00"},
		{"cron(0 0 1 1 ? 2025)", "UTC", "2025-01-01 00:00", ""},
		{"cron(0 0 * * ? 2020-2022)", "UTC", "2024-01-01 00:00", ""},
		{"cron(0 0 1 1 ? 2030/10)", "UTC", "2031-01-01 00:00", "2040-01-01 00:00"},
		{"cron(0 0 1 1 ? 2199)", "UTC", "2198-06-01 00:00", "2199-01-01 00:00"},
		{"cron(59 23 31 12 ? *)", "UTC", "2199-06-01 00:00", "2199-12-31 23:59"},
		{"cron(* * * * ? *)", "UTC", "2199-12-31 23:58", "2199-12-31 23:59"},
		{"cron(* * * * ? *)", "UTC", "2199-12-31 23:59", ""},
		{"cron(0 0 1 1 ? 1970)", "UTC", "0001-01-01 00:00", "1970-01-01 00:00"},
		{"cron(0 0 1 1 ? *)", "UTC", "1969-12-31 23:59", "1970-01-01 00:00"},
		// Europe/Paris springs forward on 2024-03-31 (02:00 CET becomes
		// 03:00 CEST) and falls back on 2024-10-27 (03:00 CEST becomes
		// 02:00 CET). A minute that does not exist is skipped.
		{"cron(30 2 * * ? *)", "Europe/Paris", "2024-03-30 02:30", "2024-04-01 02:30"},
		{"cron(0 * * * ? *)", "Europe/Paris", "2024-03-31 01:00", "2024-03-31 03:00"},
		{"cron(0 3 * * ? *)", "Europe/Paris", "2024-03-30 03:00", "2024-03-31 03:00"},
		{"cron(0 12 * * ? *)", "Europe/Paris", "2024-03-30 12:00", "2024-03-31 12:00"},
		// America/New_York springs forward on 2024-03-10 at 02:00.
		{"cron(0 2 * * ? *)", "America/New_York", "2024-03-09 02:00", "2024-03-11 02:00"},
		{"cron(0 2 ? * SUN *)", "America/New_York", "2024-03-09 00:00", "2024-03-17 02:00"},
		// Samoa skipped 30 December 2011 altogether.
		{"cron(0 12 * * ? *)", "Pacific/Apia", "2011-12-29 12:00", "2011-12-31 12:00"},
	}
	for _, tc := range tests {
		loc := mustLoad(t, tc.zone)
		s := mustParse(t, tc.expr)
		got := s.Next(at(t, loc, tc.after), loc)
		want := at(t, loc, tc.want)
		if !got.Equal(want) {
			t.Errorf("%s in %s after %s = %s, want %s", tc.expr, tc.zone, tc.after, fmtTime(got), fmtTime(want))
			continue
		}
		if !got.IsZero() && got.Location() != loc {
			t.Errorf("%s: Next returned a time in %s, want %s", tc.expr, got.Location(), loc)
		}
	}
}

// TestWrappingRanges: a range that ends before it starts wraps around the
// end of its field, as EventBridge's do. The first case is from
// EventBridge's own table of examples ("every 30 minutes Monday through
// Friday" between the evening and 2 AM); hours and days of week are
// separate sets, so Monday's early hours fire and Saturday's do not.
// 2026-12-04 is a Friday.
func TestWrappingRanges(t *testing.T) {
	tests := []struct {
		expr, after string
		want        []string
	}{
		{"cron(0/30 20-2 ? * MON-FRI *)", "2026-12-04 19:59",
			[]string{"2026-12-04 20:00", "2026-12-04 20:30", "2026-12-04 21:00"}},
		{"cron(0/30 20-2 ? * MON-FRI *)", "2026-12-04 23:45",
			[]string{"2026-12-07 00:00", "2026-12-07 00:30", "2026-12-07 01:00", "2026-12-07 01:30", "2026-12-07 02:00", "2026-12-07 02:30", "2026-12-07 20:00"}},
		// A step carries across the wrap, as in Quartz: 22, 0, 2.
		{"cron(0 22-3/2 * * ? *)", "2026-12-04 21:00",
			[]string{"2026-12-04 22:00", "2026-12-05 00:00", "2026-12-05 02:00", "2026-12-05 22:00"}},
		// FRI-MON: Friday, Saturday, Sunday, Monday.
		{"cron(0 9 ? * FRI-MON *)", "2026-12-03 00:00",
			[]string{"2026-12-04 09:00", "2026-12-05 09:00", "2026-12-06 09:00", "2026-12-07 09:00", "2026-12-11 09:00"}},
		// NOV-FEB: November, December, January, February.
		{"cron(0 0 1 NOV-FEB ? *)", "2026-03-01 00:00",
			[]string{"2026-11-01 00:00", "2026-12-01 00:00", "2027-01-01 00:00", "2027-02-01 00:00", "2027-11-01 00:00"}},
		// Days of month wrap at 31 whatever the month's length.
		{"cron(0 0 30-2 * ? *)", "2027-02-27 00:00",
			[]string{"2027-03-01 00:00", "2027-03-02 00:00", "2027-03-30 00:00", "2027-03-31 00:00", "2027-04-01 00:00"}},
		{"cron(55-5 10 * * ? *)", "2026-12-04 00:00",
			[]string{"2026-12-04 10:00", "2026-12-04 10:01", "2026-12-04 10:02", "2026-12-04 10:03", "2026-12-04 10:04", "2026-12-04 10:05", "2026-12-04 10:55"}},
	}
	for _, tc := range tests {
		s := mustParse(t, tc.expr)
		cur := at(t, time.UTC, tc.after)
		for _, w := range tc.want {
			cur = s.Next(cur, time.UTC)
			if want := at(t, time.UTC, w); !cur.Equal(want) {
				t.Errorf("%s: got %s, want %s", tc.expr, fmtTime(cur), fmtTime(want))
				break
			}
		}
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format("2006-01-02 15:04 MST")
}

// TestNextFallBack checks the autumn hour that happens twice: a minute in it
// fires once, at its first occurrence, as EventBridge Scheduler does.
func TestNextFallBack(t *testing.T) {
	paris := mustLoad(t, "Europe/Paris")
	utc := func(s string) time.Time { return at(t, time.UTC, s) }
	tests := []struct {
		expr, after, want string // instants in UTC
	}{
		// 02:30 in Paris on 2024-10-27 is 00:30Z (CEST) and 01:30Z (CET).
		{"cron(30 2 * * ? *)", "2024-10-26 22:00", "2024-10-27 00:30"},
		{"cron(30 2 * * ? *)", "2024-10-27 00:30", "2024-10-28 01:30"},
		{"cron(30 2 * * ? *)", "2024-10-27 01:00", "2024-10-28 01:30"},
		// Every half hour: after 02:30 CEST comes 03:00 CET (02:00Z); the
		// second 02:00 and 02:30 do not fire again.
		{"cron(0/30 * * * ? *)", "2024-10-27 00:30", "2024-10-27 02:00"},
		{"cron(0/30 * * * ? *)", "2024-10-27 01:15", "2024-10-27 02:00"},
		{"cron(0/30 * * * ? *)", "2024-10-27 00:00", "2024-10-27 00:30"},
	}
	for _, tc := range tests {
		got := mustParse(t, tc.expr).Next(utc(tc.after), paris)
		if want := utc(tc.want); !got.Equal(want) {
			t.Errorf("%s after %sZ = %s, want %sZ", tc.expr, tc.after, got.UTC().Format("2006-01-02 15:04"), tc.want)
		}
	}
}

func TestNextRate(t *testing.T) {
	anchor := time.Date(2024, 1, 1, 10, 0, 30, 0, time.UTC)
	s := mustParse(t, "rate(5 minutes)")
	tests := []struct {
		after, want time.Time
	}{
		{anchor, anchor.Add(5 * time.Minute)},
		{anchor.Add(time.Nanosecond), anchor.Add(5 * time.Minute)},
		{anchor.Add(5 * time.Minute), anchor.Add(10 * time.Minute)},
		{anchor.Add(-3 * time.Minute), anchor},
		{anchor.Add(-5 * time.Minute), anchor},
		{anchor.Add(-5*time.Minute - time.Second), anchor.Add(-5 * time.Minute)},
		{anchor.Add(1000*time.Hour + time.Second), anchor.Add(1000*time.Hour + 5*time.Minute)},
	}
	for _, tc := range tests {
		if got := s.NextRate(anchor, tc.after); !got.Equal(tc.want) {
			t.Errorf("NextRate(%v, %v) = %v, want %v", anchor, tc.after, got, tc.want)
		}
	}
	if got := mustParse(t, "cron(0 12 * * ? *)").NextRate(anchor, anchor); !got.IsZero() {
		t.Errorf("NextRate of a cron = %v, want zero", got)
	}

	// A day is 24 hours, even across a change of clocks.
	paris := mustLoad(t, "Europe/Paris")
	day := mustParse(t, "rate(1 day)")
	a := time.Date(2024, 3, 30, 12, 0, 0, 0, paris)
	if got, want := day.NextRate(a, a), time.Date(2024, 3, 31, 13, 0, 0, 0, paris); !got.Equal(want) {
		t.Errorf("rate(1 day) across spring forward = %v, want %v", got, want)
	}

	// Next counts from the Unix epoch and answers in loc.
	hour := mustParse(t, "rate(1 hour)")
	got := hour.Next(time.Date(2024, 1, 1, 10, 7, 0, 0, time.UTC), paris)
	if want := time.Date(2024, 1, 1, 11, 0, 0, 0, time.UTC); !got.Equal(want) || got.Location() != paris {
		t.Errorf("rate(1 hour).Next = %v, want %v in Europe/Paris", got, want)
	}

	var zero Schedule
	if !zero.IsZero() || !zero.Next(anchor, nil).IsZero() || !zero.NextRate(anchor, anchor).IsZero() {
		t.Errorf("the zero Schedule fires")
	}
}

func TestLoadLocation(t *testing.T) {
	for _, name := range []string{"", "UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"} {
		if _, err := LoadLocation(name); err != nil {
			t.Errorf("LoadLocation(%q): %v", name, err)
		}
	}
	for name, want := range map[string]string{
		"Local":        "depends on the machine",
		"Europe/Pari":  `unknown time zone "Europe/Pari"`,
		"../../etc/x":  "unknown time zone",
		"Mars/Olympus": "unknown time zone",
	} {
		_, err := LoadLocation(name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadLocation(%q) = %v, want an error containing %q", name, err, want)
		}
	}
}

// TestNextAgainstBruteForce compares Next with a scan of every minute, whose
// day rules are written out independently, over random expressions, zones
// and starting points, daylight saving changes included.
func TestNextAgainstBruteForce(t *testing.T) {
	zones := []string{"UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"}
	rng := rand.New(rand.NewSource(1))
	pick := func(xs ...string) string { return xs[rng.Intn(len(xs))] }
	n := 300
	if testing.Short() {
		n = 40
	}
	for i := 0; i < n; i++ {
		minute := pick("*", "0", "30", "0/15", "5-10", "0,30", "*/7", "59", "50-5", "55-10/4")
		hour := pick("*", "2", "1-3", "0/6", "12", "2,3", "22-2", "20-3/2")
		month := pick("*", "*", "MAR,OCT", "3-4", "10-11", "*/2", "NOV-FEB", "10-3")
		dom, dow := "?", "?"
		if rng.Intn(2) == 0 {
			dom = pick("*", "1", "L", "LW", "15W", "1W", "31W", "1-7", "*/5", "28-31", "28-3")
		} else {
			dow = pick("*", "1", "MON-FRI", "L", "6L", "1#1", "1#5", "2#2", "7", "FRI-MON", "7-1")
		}
		expr := fmt.Sprintf("cron(%s %s %s %s %s *)", minute, hour, dom, month, dow)
		s, err := Parse(expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", expr, err)
		}
		loc := mustLoad(t, zones[rng.Intn(len(zones))])
		// Around the 2024 changes of clocks in both hemispheres.
		base := pick("2024-03-09", "2024-03-30", "2024-04-06", "2024-10-05", "2024-10-26", "2024-11-02")
		after := at(t, time.UTC, base+" 00:00").Add(time.Duration(rng.Intn(3*24*60)) * time.Minute)
		got := s.Next(after, loc)
		const limit = 400 * 24 * 60
		want := bruteNext(s.cron, after, loc, limit)
		if want.IsZero() && (got.IsZero() || got.Sub(after) > limit*time.Minute) {
			continue // beyond the scan, as far as either can tell
		}
		if !got.Equal(want) {
			t.Errorf("%s in %s after %s: Next = %s, brute force = %s",
				expr, loc, after.In(loc).Format(time.RFC3339), fmtTime(got), fmtTime(want))
		}
	}
}

// bruteNext scans instants minute by minute. A minute fires when its wall
// clock matches and the same wall-clock minute was not shown earlier (the
// second pass of an hour that falls back); minutes inside a spring-forward
// gap are never shown, so they never fire.
func bruteNext(c *cronSpec, after time.Time, loc *time.Location, limit int) time.Time {
	t := after.Truncate(time.Minute)
	for i := 0; i < limit; i++ {
		t = t.Add(time.Minute)
		l := t.In(loc)
		if !bruteMatch(c, l) {
			continue
		}
		repeat := false
		for back := 15 * time.Minute; back <= 3*time.Hour; back += 15 * time.Minute {
			e := t.Add(-back).In(loc)
			if e.Year() == l.Year() && e.YearDay() == l.YearDay() && e.Hour() == l.Hour() && e.Minute() == l.Minute() {
				repeat = true
				break
			}
		}
		if !repeat {
			return l
		}
	}
	return time.Time{}
}

func bruteMatch(c *cronSpec, l time.Time) bool {
	if !c.minutes.has(l.Minute()) || !c.hours.has(l.Hour()) || !c.months.has(int(l.Month())-1) || !c.years.has(l.Year()-minYear) {
		return false
	}
	y, m, d := l.Date()
	wd := func(day int) int { return int(time.Date(y, m, day, 12, 0, 0, 0, time.UTC).Weekday()) + 1 }
	last := 31
	for time.Date(y, m, last, 12, 0, 0, 0, time.UTC).Month() != m {
		last--
	}
	weekday := func(day int) bool { return wd(day) >= 2 && wd(day) <= 6 }
	if c.byWeek {
		switch c.rule {
		case daysListed:
			return c.days.has(wd(d) - 1)
		case dayLastOfWeek:
			return wd(d) == c.arg && d+7 > last
		case dayNthOfWeek:
			return wd(d) == c.arg && (d-1)/7+1 == c.nth
		}
		return false
	}
	switch c.rule {
	case daysListed:
		return c.days.has(d - 1)
	case dayLast:
		return d == last
	case dayLastWeekday:
		for x := last; ; x-- {
			if weekday(x) {
				return d == x
			}
		}
	case dayNearWeekday:
		if c.arg > last || !weekday(d) {
			return false
		}
		// The weekday closest to the target within the month; ties
		// cannot happen, since only weekends move.
		best := -1
		for x := 1; x <= last; x++ {
			if weekday(x) && (best < 0 || abs(x-c.arg) < abs(best-c.arg)) {
				best = x
			}
		}
		return d == best
	}
	return false
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
