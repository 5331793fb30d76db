package lazyregexp

import "testing"

func TestCompiledOnFirstUse(t *testing.T) {
	r := New(`^a(b+)$`)
	if r.rx != nil {
		t.Fatal("compiled before use")
	}
	if !r.MatchString("abb") || r.MatchString("ac") {
		t.Fatal("wrong matches")
	}
	if got := r.FindStringSubmatch("abbb"); len(got) != 2 || got[1] != "bbb" {
		t.Fatalf("submatch %q", got)
	}
	if r.String() != `^a(b+)$` {
		t.Fatalf("String %q", r.String())
	}
}

func TestBadPatternPanicsOnUse(t *testing.T) {
	r := New(`(`)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a bad pattern")
		}
	}()
	r.MatchString("x")
}
