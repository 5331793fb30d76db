package eventpattern

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// affix is prefix or suffix matching, with or without case.
type affix struct {
	suffix bool
	s      string
	fold   bool
}

func (m *affix) match(sc scalar) bool {
	if sc.kind != kString {
		return false
	}
	v, s := sc.s, m.s
	if m.fold {
		v, s = strings.ToLower(v), strings.ToLower(s)
	}
	if m.suffix {
		return strings.HasSuffix(v, s)
	}
	return strings.HasPrefix(v, s)
}

func (m *affix) describe() string {
	op := "prefix"
	if m.suffix {
		op = "suffix"
	}
	if m.fold {
		op += " (any case)"
	}
	return op + " " + strconv.Quote(m.s)
}

// equalFold is equals-ignore-case.
type equalFold struct{ s string }

func (m *equalFold) match(sc scalar) bool {
	return sc.kind == kString && strings.EqualFold(sc.s, m.s)
}

func (m *equalFold) describe() string { return "equals-ignore-case " + strconv.Quote(m.s) }

// anyOf matches when one of its matchers does.
type anyOf []matcher

func (a anyOf) match(sc scalar) bool {
	for _, m := range a {
		if m.match(sc) {
			return true
		}
	}
	return false
}

func (a anyOf) describe() string {
	parts := make([]string, len(a))
	for i, m := range a {
		parts[i] = m.describe()
	}
	return strings.Join(parts, " or ")
}

// anythingBut matches every value other than the ones it names: strings,
// numbers (compared by value), or what an inner filter matches.
type anythingBut struct {
	strs    []string
	nums    []float64
	numText []string
	inner   matcher
}

func (m *anythingBut) match(sc scalar) bool {
	if m.inner != nil {
		return !m.inner.match(sc)
	}
	switch sc.kind {
	case kString:
		for _, s := range m.strs {
			if s == sc.s {
				return false
			}
		}
	case kNumber:
		if sc.fok {
			for _, f := range m.nums {
				if f == sc.f {
					return false
				}
			}
		}
	}
	return true
}

func (m *anythingBut) describe() string {
	if m.inner != nil {
		return "anything-but " + m.inner.describe()
	}
	var parts []string
	for _, s := range m.strs {
		parts = append(parts, strconv.Quote(s))
	}
	parts = append(parts, m.numText...)
	return "anything-but " + strings.Join(parts, ", ")
}

// numeric matches numbers in a range, or equal to one.
type numeric struct {
	lo, hi, eq          float64
	hasLo, hasHi, hasEq bool
	loIncl, hiIncl      bool
	text                []string
}

func (m *numeric) match(sc scalar) bool {
	if sc.kind != kNumber || !sc.fok {
		return false
	}
	f := sc.f
	if m.hasEq {
		return f == m.eq
	}
	if m.hasLo && (f < m.lo || f == m.lo && !m.loIncl) {
		return false
	}
	if m.hasHi && (f > m.hi || f == m.hi && !m.hiIncl) {
		return false
	}
	return true
}

func (m *numeric) describe() string { return "numeric " + strings.Join(m.text, " and ") }

// cidr matches IP addresses in a network.
type cidr struct {
	p    netip.Prefix
	text string
}

func newCIDR(s string) (*cidr, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		if aerr != nil {
			return nil, fmt.Errorf("%q is not an IP network such as 10.0.0.0/24", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	return &cidr{p: p.Masked(), text: s}, nil
}

func (m *cidr) match(sc scalar) bool {
	if sc.kind != kString {
		return false
	}
	a, err := netip.ParseAddr(sc.s)
	if err != nil {
		return false
	}
	if m.p.Addr().Is4() {
		a = a.Unmap()
	}
	return m.p.Contains(a)
}

func (m *cidr) describe() string { return "cidr " + m.text }

// wildcard matches strings against a pattern where * stands for any run of
// characters, empty included; \* is a literal star and \\ a backslash.
type wildcard struct {
	parts      []string // the literal runs between stars
	leading    bool     // starts with a star
	trailing   bool     // ends with a star
	text       string
	starsAtAll bool
}

func newWildcard(s string) (*wildcard, error) {
	w := &wildcard{text: s}
	var cur strings.Builder
	prevStar := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return nil, errors.New(`a backslash escapes only * or \ (write \* or \\)`)
			}
			i++
			cur.WriteByte(s[i])
			prevStar = false
		case '*':
			if prevStar {
				return nil, errors.New("consecutive wildcard characters (**) are not allowed")
			}
			if i == 0 {
				w.leading = true
			} else {
				w.parts = append(w.parts, cur.String())
				cur.Reset()
			}
			w.starsAtAll = true
			prevStar = true
		default:
			cur.WriteByte(c)
			prevStar = false
		}
	}
	if prevStar {
		w.trailing = true
	} else {
		w.parts = append(w.parts, cur.String())
	}
	return w, nil
}

func (m *wildcard) match(sc scalar) bool {
	if sc.kind != kString {
		return false
	}
	v := sc.s
	if !m.starsAtAll {
		return len(m.parts) == 1 && v == m.parts[0]
	}
	parts := m.parts
	if !m.leading {
		if !strings.HasPrefix(v, parts[0]) {
			return false
		}
		v, parts = v[len(parts[0]):], parts[1:]
	}
	var last string
	if !m.trailing {
		if len(parts) == 0 {
			return false
		}
		last, parts = parts[len(parts)-1], parts[:len(parts)-1]
	}
	// Each middle run at its leftmost place leaves the most room for the
	// rest: greedy is exact for patterns whose only operator is *.
	for _, p := range parts {
		i := strings.Index(v, p)
		if i < 0 {
			return false
		}
		v = v[i+len(p):]
	}
	if m.trailing {
		return true
	}
	return strings.HasSuffix(v, last)
}

func (m *wildcard) describe() string { return "wildcard " + strconv.Quote(m.text) }
