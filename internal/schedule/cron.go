package schedule

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// EventBridge's cron has six fields and no seconds:
//
//	minutes  hours  day-of-month  month      day-of-week  year
//	0-59     0-23   1-31          1-12       1-7          1970-2199
//	, - * /  , - * /  , - * ? / L W  JAN-DEC  SUN-SAT      , - * /
//	                                 , - * /  , - * ? L # /
//
// Day-of-week counts from 1 = SUN to 7 = SAT (Quartz's numbering, not Unix
// cron's 0-6). Exactly one of day-of-month and day-of-week is "?". The
// special forms follow Quartz, which EventBridge's syntax comes from:
//
//	L      day-of-month: the last day of the month; day-of-week: 7 (SAT)
//	LW     day-of-month: the last weekday (MON-FRI) of the month
//	15W    day-of-month: the weekday nearest the 15th, within the month
//	6L     day-of-week: the last Friday of the month
//	3#2    day-of-week: the second Tuesday of the month
//
// Each special form stands alone in its field: "L,15" and "3#1,6#3" are
// refused, as EventBridge and Quartz refuse them.

const (
	minYear = 1970
	maxYear = 2199
)

// field describes one of the six fields.
type field struct {
	name     string
	min, max int
	names    []string // names[i] is the name of value min+i, if the field has names
}

var (
	fMinute = field{name: "minutes", min: 0, max: 59}
	fHour   = field{name: "hours", min: 0, max: 23}
	fDom    = field{name: "day-of-month", min: 1, max: 31}
	fMonth  = field{name: "month", min: 1, max: 12,
		names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}}
	fDow = field{name: "day-of-week", min: 1, max: 7,
		names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}}
	fYear = field{name: "year", min: minYear, max: maxYear}
)

// set holds values min..min+255 of one field as bits of value-min.
type set [4]uint64

func (s *set) add(i int)      { s[i>>6] |= 1 << (i & 63) }
func (s *set) has(i int) bool { return i >= 0 && i < 256 && s[i>>6]&(1<<(i&63)) != 0 }
func (s *set) addRange(lo, hi, step int) {
	for i := lo; i <= hi; i += step {
		s.add(i)
	}
}

// next returns the smallest member ≥ i, or -1.
func (s *set) next(i int) int {
	if i < 0 {
		i = 0
	}
	for w := i >> 6; w < len(s); w++ {
		word := s[w]
		if w == i>>6 {
			word &= ^uint64(0) << (i & 63)
		}
		if word != 0 {
			return w<<6 + bits.TrailingZeros64(word)
		}
	}
	return -1
}

// dayRule is how a day is chosen, by day-of-month or by day-of-week.
type dayRule int

const (
	daysListed     dayRule = iota // days: the listed days (of month, or of week)
	dayLast                       // L in day-of-month
	dayLastWeekday                // LW
	dayNearWeekday                // nW: n in arg
	dayLastOfWeek                 // nL in day-of-week: n in arg
	dayNthOfWeek                  // n#k in day-of-week: n in arg, k in nth
)

type cronSpec struct {
	minutes, hours, months, years set
	// byWeek is true when day-of-month is "?" and days are chosen by
	// day-of-week; otherwise day-of-week is "?".
	byWeek bool
	rule   dayRule
	days   set // listed days: of month (1-31 at bit d-1) or of week (1-7 at bit d-1)
	arg    int
	nth    int
}

func parseCron(inner string) (*cronSpec, error) {
	fs := strings.Fields(inner)
	if len(fs) != 6 {
		return nil, fmt.Errorf("cron: %q has %d fields, want 6: minutes hours day-of-month month day-of-week year", inner, len(fs))
	}
	c := &cronSpec{}
	var err error
	if c.minutes, err = plainField(fMinute, fs[0]); err != nil {
		return nil, err
	}
	if c.hours, err = plainField(fHour, fs[1]); err != nil {
		return nil, err
	}
	if c.months, err = plainField(fMonth, fs[3]); err != nil {
		return nil, err
	}
	if c.years, err = plainField(fYear, fs[5]); err != nil {
		return nil, err
	}
	dom, dow := fs[2], fs[4]
	switch {
	case dom == "?" && dow == "?":
		return nil, fmt.Errorf(`cron: day-of-month and day-of-week are both "?": give one of them`)
	case dom != "?" && dow != "?":
		return nil, fmt.Errorf(`cron: day-of-month %q and day-of-week %q: one of them must be "?"`, dom, dow)
	case dom == "?":
		c.byWeek = true
		err = c.parseDow(dow)
	default:
		err = c.parseDom(dom)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

func fieldError(f field, item, format string, args ...any) error {
	return fmt.Errorf("cron: %s %q: %s", f.name, item, fmt.Sprintf(format, args...))
}

// plainField parses a field that takes only , - * / and values.
func plainField(f field, text string) (set, error) {
	var s set
	for _, item := range strings.Split(text, ",") {
		if err := addItem(f, &s, item); err != nil {
			return set{}, err
		}
	}
	return s, nil
}

// addItem adds one comma-separated item of the forms *, */n, a, a-b, a/n,
// a-b/n to s.
func addItem(f field, s *set, item string) error {
	if item == "" {
		return fmt.Errorf("cron: %s: empty item in a list", f.name)
	}
	if strings.ContainsAny(item, "?LW#") && !isNameLike(f, item) {
		return special(f, item)
	}
	base, stepText, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		n, err := strconv.Atoi(stepText)
		if err != nil || !isDigits(stepText) {
			return fieldError(f, item, "step %q is not a whole number", stepText)
		}
		if n < 1 || n > f.max-f.min {
			return fieldError(f, item, "step %d out of range 1-%d", n, f.max-f.min)
		}
		step = n
	}
	lo, hi := f.min, f.max
	switch {
	case base == "*":
	case base == "":
		return fieldError(f, item, "missing value before /")
	default:
		a, b, isRange := strings.Cut(base, "-")
		var err error
		if lo, err = value(f, item, a, isRange || hasStep); err != nil {
			return err
		}
		switch {
		case isRange:
			if hi, err = value(f, item, b, true); err != nil {
				return err
			}
			if lo > hi {
				if f.name == fYear.name {
					return fieldError(f, item, "range starts after it ends (years do not wrap around)")
				}
				// A range that ends before it starts wraps around the
				// field's end, as EventBridge's (Quartz's) do: 20-2 in
				// hours is 20-23 and 0-2, FRI-MON is FRI, SAT, SUN, MON,
				// and a step carries across the wrap (22-3/2: 22, 0, 2).
				span := f.max - f.min + 1
				for v := lo; v <= hi+span; v += step {
					s.add((v - f.min) % span)
				}
				return nil
			}
		case !hasStep:
			hi = lo
		}
	}
	s.addRange(lo-f.min, hi-f.min, step)
	return nil
}

// isNameLike reports whether item is made of names (like "SAT" or "WED"),
// whose letters must not be read as special characters.
func isNameLike(f field, item string) bool {
	if f.names == nil {
		return false
	}
	for _, part := range strings.FieldsFunc(item, func(r rune) bool { return r == '-' || r == '/' }) {
		if !isDigits(part) && nameIndex(f, part) < 0 {
			return false
		}
	}
	return true
}

// special explains why a special character is not allowed where it is.
func special(f field, item string) error {
	switch {
	case strings.Contains(item, "?"):
		if f.name == fDom.name || f.name == fDow.name {
			return fieldError(f, item, `"?" must stand alone`)
		}
		return fieldError(f, item, `"?" is only allowed in day-of-month and day-of-week`)
	case strings.Contains(item, "#"):
		if f.name == fDow.name {
			return fieldError(f, item, "# must stand alone in day-of-week (give one n#k)")
		}
		return fieldError(f, item, "# is only allowed in day-of-week")
	case f.name == fDom.name || f.name == fDow.name:
		return fieldError(f, item, "L and W must stand alone in their field")
	}
	return fieldError(f, item, "L and W are only allowed in day-of-month and day-of-week")
}

// value reads a number or, where the field has them, a name. part is the
// value's text within item; inRange says whether item is more than one
// value, which changes how an out-of-range message reads.
func value(f field, item, part string, inRange bool) (int, error) {
	var v int
	switch {
	case isDigits(part):
		if len(part) > 4 {
			v = f.max + 1 // out of range, without overflowing
		} else {
			v, _ = strconv.Atoi(part)
		}
	case f.names != nil && nameIndex(f, part) >= 0:
		return f.min + nameIndex(f, part), nil
	case part == "":
		return 0, fieldError(f, item, "missing value")
	case f.names != nil:
		return 0, fieldError(f, item, "%q is not a number or a name %s-%s", part, f.names[0], f.names[len(f.names)-1])
	default:
		return 0, fieldError(f, item, "%q is not a number", part)
	}
	if v < f.min || v > f.max {
		if inRange {
			return 0, fieldError(f, item, "%s out of range %d-%d", part, f.min, f.max)
		}
		return 0, fieldError(f, item, "out of range %d-%d", f.min, f.max)
	}
	return v, nil
}

func nameIndex(f field, s string) int {
	for i, n := range f.names {
		if strings.EqualFold(n, s) {
			return i
		}
	}
	return -1
}

func (c *cronSpec) parseDom(text string) error {
	up := strings.ToUpper(text)
	switch {
	case up == "L":
		c.rule = dayLast
		return nil
	case up == "LW":
		c.rule = dayLastWeekday
		return nil
	case strings.HasSuffix(up, "W") && !strings.ContainsAny(up, ",-/*L"):
		n, err := value(fDom, text, text[:len(text)-1], false)
		if err != nil {
			return err
		}
		c.rule, c.arg = dayNearWeekday, n
		return nil
	case strings.HasPrefix(up, "L-"):
		return fieldError(fDom, text, "offsets from the last day (L-n) are not supported")
	case strings.ContainsAny(up, "LW") && strings.ContainsAny(up, ",-/*"):
		return fieldError(fDom, text, "L and W must stand alone in their field (W takes one day, as in 15W)")
	}
	c.rule = daysListed
	var err error
	c.days, err = plainField(fDom, text)
	return err
}

func (c *cronSpec) parseDow(text string) error {
	up := strings.ToUpper(text)
	switch {
	case strings.Contains(up, "#"):
		if strings.Contains(up, ",") {
			return fieldError(fDow, text, "# must stand alone in day-of-week (give one n#k)")
		}
		d, k, _ := strings.Cut(text, "#")
		day, err := value(fDow, text, d, true)
		if err != nil {
			return err
		}
		if !isDigits(k) || len(k) > 1 || k < "1" || k > "5" {
			return fieldError(fDow, text, "%q after # must be 1-5", k)
		}
		c.rule, c.arg, c.nth = dayNthOfWeek, day, int(k[0]-'0')
		return nil
	case up == "L":
		// Quartz reads a lone L in day-of-week as its last day, 7 (SAT).
		c.rule = daysListed
		c.days.add(fDow.max - fDow.min)
		return nil
	case strings.HasSuffix(up, "L") && nameIndex(fDow, text) < 0:
		if strings.ContainsAny(up, ",-/*") {
			return fieldError(fDow, text, "L must stand alone in day-of-week (as in 6L, the last Friday)")
		}
		day, err := value(fDow, text, text[:len(text)-1], true)
		if err != nil {
			return err
		}
		c.rule, c.arg = dayLastOfWeek, day
		return nil
	}
	c.rule = daysListed
	var err error
	c.days, err = plainField(fDow, text)
	return err
}

// monthDays returns the days of month m of year y that the day rule
// chooses, as bits d-1.
func (c *cronSpec) monthDays(y int, m time.Month) set {
	last := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
	first := int(time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).Weekday()) // 0 = Sunday
	// weekday returns day d's day-of-week, 1 = SUN … 7 = SAT.
	weekday := func(d int) int { return (first+d-1)%7 + 1 }
	var out set
	if c.byWeek {
		switch c.rule {
		case daysListed:
			for d := 1; d <= last; d++ {
				if c.days.has(weekday(d) - 1) {
					out.add(d - 1)
				}
			}
		case dayLastOfWeek:
			d := last
			for weekday(d) != c.arg {
				d--
			}
			out.add(d - 1)
		case dayNthOfWeek:
			d := 1 + (c.arg-weekday(1)+7)%7 + 7*(c.nth-1)
			if d <= last {
				out.add(d - 1)
			}
		}
		return out
	}
	switch c.rule {
	case daysListed:
		for d := 1; d <= last; d++ {
			if c.days.has(d - 1) {
				out.add(d - 1)
			}
		}
	case dayLast:
		out.add(last - 1)
	case dayLastWeekday:
		d := last
		switch weekday(d) {
		case 7: // SAT
			d--
		case 1: // SUN
			d -= 2
		}
		out.add(d - 1)
	case dayNearWeekday:
		d := c.arg
		if d > last {
			// Quartz: no such day this month, so no fire.
			return out
		}
		// The nearest weekday, without leaving the month: a Saturday
		// the 1st moves to Monday the 3rd, a Sunday the last to Friday.
		switch weekday(d) {
		case 7:
			if d == 1 {
				d += 2
			} else {
				d--
			}
		case 1:
			if d == last {
				d -= 2
			} else {
				d++
			}
		}
		out.add(d - 1)
	}
	return out
}

// next finds the first matching minute after after. It walks wall-clock
// (civil) time, kept in a UTC time.Time so that the arithmetic sees no
// daylight saving, and jumps to the next allowed year, month, day, hour and
// minute in turn; each candidate is then placed in loc, where it may not
// exist (skipped) or exist twice (the first is taken).
func (c *cronSpec) next(after time.Time, loc *time.Location) time.Time {
	a := after.In(loc)
	cur := time.Date(a.Year(), a.Month(), a.Day(), a.Hour(), a.Minute(), 0, 0, time.UTC).Add(time.Minute)
	var daysY int
	var daysM time.Month
	var days set
	for {
		y := cur.Year()
		if y > maxYear {
			return time.Time{}
		}
		if !c.years.has(y - minYear) {
			ny := c.years.next(max(y+1-minYear, 0))
			if ny < 0 {
				return time.Time{}
			}
			cur = time.Date(minYear+ny, 1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		m := cur.Month()
		if !c.months.has(int(m) - 1) {
			nm := c.months.next(int(m))
			if nm < 0 {
				cur = time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC)
			} else {
				cur = time.Date(y, time.Month(nm+1), 1, 0, 0, 0, 0, time.UTC)
			}
			continue
		}
		if y != daysY || m != daysM {
			daysY, daysM, days = y, m, c.monthDays(y, m)
		}
		d := days.next(cur.Day() - 1)
		if d < 0 {
			cur = time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if d+1 != cur.Day() {
			cur = time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
		}
		h := c.hours.next(cur.Hour())
		if h < 0 {
			cur = time.Date(y, m, cur.Day()+1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if h != cur.Hour() {
			cur = time.Date(y, m, cur.Day(), h, 0, 0, 0, time.UTC)
		}
		mi := c.minutes.next(cur.Minute())
		if mi < 0 {
			cur = time.Date(y, m, cur.Day(), h+1, 0, 0, 0, time.UTC)
			continue
		}
		cur = time.Date(y, m, cur.Day(), h, mi, 0, 0, time.UTC)
		if t, ok := place(cur, loc); ok && t.After(after) {
			return t
		}
		cur = cur.Add(time.Minute)
	}
}

// place returns the earliest instant at which loc's clocks show the civil
// time held (as UTC) in civil, and false when they never do (a time inside
// a spring-forward gap). time.Date alone cannot say: for such times it
// returns some nearby instant, and for a time that happens twice it does
// not promise which one.
func place(civil time.Time, loc *time.Location) (time.Time, bool) {
	guess := time.Date(civil.Year(), civil.Month(), civil.Day(), civil.Hour(), civil.Minute(), 0, 0, loc)
	// Any transition that makes this civil time vanish or repeat lies
	// within a day of it (the largest shifts on record are a day), so the
	// offsets in force a little over a day either side are all it can be.
	var best time.Time
	found := false
	for _, probe := range []time.Time{guess.Add(-25 * time.Hour), guess, guess.Add(25 * time.Hour)} {
		_, off := probe.In(loc).Zone()
		t := civil.Add(-time.Duration(off) * time.Second).In(loc)
		if t.Year() != civil.Year() || t.Month() != civil.Month() || t.Day() != civil.Day() ||
			t.Hour() != civil.Hour() || t.Minute() != civil.Minute() {
			continue
		}
		if !found || t.Before(best) {
			best, found = t, true
		}
	}
	return best, found
}
