package report

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// builder accumulates a Report, applying the parser's limits.
type builder struct {
	rep      *Report
	maxCases int
	maxText  int
}

func newBuilder(format Format, p Parser) *builder {
	b := &builder{rep: &Report{Format: format}, maxCases: p.MaxCases, maxText: p.MaxText}
	if b.maxCases <= 0 {
		b.maxCases = DefaultMaxCases
	}
	if b.maxText <= 0 {
		b.maxText = DefaultMaxText
	}
	return b
}

// add counts tc and keeps it if there is room. It returns the index of the
// kept case in rep.Cases, or -1.
func (b *builder) add(tc TestCase) int {
	r := b.rep
	r.Total++
	switch tc.Status {
	case Succeeded:
		r.Succeeded++
	case Failed:
		r.Failed++
	case Skipped:
		r.Skipped++
	case Error:
		r.Errors++
	default:
		tc.Status = Unknown
	}
	r.Duration = addDuration(r.Duration, tc.Duration)
	if len(r.Cases) >= b.maxCases {
		return -1
	}
	r.Cases = append(r.Cases, tc)
	return len(r.Cases) - 1
}

// text returns a capped buffer for the builder's text limit.
func (b *builder) text() capped { return capped{max: b.maxText} }

// capped keeps the first max bytes written to it and notes whether more
// came.
type capped struct {
	buf       []byte
	max       int
	truncated bool
}

func (c *capped) write(p []byte) {
	room := c.max - len(c.buf)
	if len(p) > room {
		p = p[:max(room, 0)]
		c.truncated = true
	}
	c.buf = append(c.buf, p...)
}

func (c *capped) writeString(s string) {
	room := c.max - len(c.buf)
	if len(s) > room {
		s = s[:max(room, 0)]
		c.truncated = true
	}
	c.buf = append(c.buf, s...)
}

func (c *capped) reset() { c.buf, c.truncated = c.buf[:0], false }

func (c *capped) empty() bool { return len(strings.TrimSpace(string(c.buf))) == 0 }

const truncationMark = "\n… (truncated)"

// String returns the kept text with surrounding space trimmed, cut back to
// a whole UTF-8 character and marked when input was dropped.
func (c *capped) String() string {
	b := c.buf
	if c.truncated { // drop a character the cap cut in half
		for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
			if utf8.RuneStart(b[len(b)-i]) {
				if !utf8.FullRune(b[len(b)-i:]) {
					b = b[:len(b)-i]
				}
				break
			}
		}
	}
	s := strings.TrimSpace(string(b))
	if c.truncated {
		s += truncationMark
	}
	return s
}

// joinMessage combines a message header (a message attribute, an exception
// class) with a body (element text, a stack trace) that often repeats it.
func joinMessage(header, body string) string {
	header, body = strings.TrimSpace(header), strings.TrimSpace(body)
	switch {
	case header == "":
		return body
	case body == "" || strings.HasPrefix(body, header):
		if body == "" {
			return header
		}
		return body
	}
	return header + "\n" + body
}

// appendText adds s to a capped buffer as a new paragraph.
func appendText(c *capped, s string) {
	if s == "" {
		return
	}
	if len(c.buf) > 0 {
		c.writeString("\n")
	}
	c.writeString(s)
}

// maxSeconds bounds one parsed duration (about 115 days) so that sums of
// many cannot overflow in practice; addDuration saturates anyway.
const maxSeconds = 1e7

// parseSeconds reads a duration in seconds as test tools write it: "1.5",
// "1,234.5" (thousands separators), "0,25" (a decimal comma), " 2 ".
// Anything unreadable, negative or not finite is zero: a bad time is no
// reason to reject a report.
func parseSeconds(s string) time.Duration {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	if strings.Contains(s, ".") {
		s = strings.ReplaceAll(s, ",", "")
	} else if strings.Count(s, ",") == 1 {
		s = strings.Replace(s, ",", ".", 1)
	}
	s = strings.TrimSuffix(s, "s")
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return secondsDuration(f)
}

func secondsDuration(f float64) time.Duration {
	if math.IsNaN(f) || f <= 0 {
		return 0
	}
	f = min(f, maxSeconds)
	return time.Duration(math.Round(f * float64(time.Second)))
}

// parseMillis reads an integer or decimal count of milliseconds.
func parseMillis(s string) time.Duration {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0
	}
	return secondsDuration(f / 1000)
}

// parseTimeSpan reads a .NET TimeSpan as TRX writes it:
// [-][d.]hh:mm:ss[.fffffff]. Unreadable input is zero.
func parseTimeSpan(s string) time.Duration {
	s = strings.TrimSpace(s)
	parts := strings.Split(s, ":")
	if len(parts) != 3 || strings.HasPrefix(s, "-") {
		return 0
	}
	var days, hours float64
	hp := parts[0]
	if i := strings.IndexByte(hp, '.'); i >= 0 {
		d, err := strconv.ParseUint(hp[:i], 10, 32)
		if err != nil {
			return 0
		}
		days, hp = float64(d), hp[i+1:]
	}
	h, err1 := strconv.ParseUint(hp, 10, 32)
	m, err2 := strconv.ParseUint(parts[1], 10, 32)
	sec, err3 := strconv.ParseFloat(strings.Replace(parts[2], ",", ".", 1), 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0
	}
	hours = days*24 + float64(h)
	return secondsDuration(hours*3600 + float64(m)*60 + sec)
}

// addDuration adds without overflowing.
func addDuration(a, b time.Duration) time.Duration {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// splitQualified splits "Ns.Class.Method(args)" into "Ns.Class" and
// "Method(args)", ignoring dots inside the argument list.
func splitQualified(full string) (class, name string) {
	head := full
	if i := strings.IndexByte(full, '('); i >= 0 {
		head = full[:i]
	}
	i := strings.LastIndexByte(head, '.')
	if i < 0 {
		return "", full
	}
	return full[:i], full[i+1:]
}
