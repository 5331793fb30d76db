package eventpattern

import "testing"

// FuzzCompileMatch: any pattern either compiles or is refused with an
// error, and a compiled one matches and explains any event without
// panicking, Match and Explain agreeing.
func FuzzCompileMatch(f *testing.F) {
	for _, c := range docCases {
		f.Add([]byte(c.pattern), []byte(c.event))
	}
	f.Fuzz(func(t *testing.T, pattern, event []byte) {
		p, err := Compile(pattern)
		if err != nil {
			return
		}
		ev, err := DecodeEvent(event)
		if err != nil {
			return
		}
		ok, why := p.Explain(ev)
		if ok != p.Match(ev) || (!ok && len(why) == 0) {
			t.Fatalf("pattern %s, event %s: Match %v, Explain %v %v", pattern, event, p.Match(ev), ok, why)
		}
		s := NewSet()
		s.Add("p", p)
		if got := s.Matching(ev); (len(got) == 1) != ok {
			t.Fatalf("pattern %s, event %s: Set %v, Match %v", pattern, event, got, ok)
		}
	})
}
