package pipeline

import "testing"

func TestCheckName(t *testing.T) {
	for _, name := range []string{"app", "a.b", "...", ".hidden", "a..b", "é", "x@y"} {
		if err := CheckName(name); err != nil {
			t.Errorf("CheckName(%q) = %v", name, err)
		}
	}
	for _, name := range []string{"", ".", "..", "a/b", "a\x00", "a\nb", "\x7f", "\xff"} {
		if CheckName(name) == nil {
			t.Errorf("CheckName(%q) accepted it", name)
		}
	}
	for _, name := range []string{"ci/npm", "db", "a.b/c"} {
		if err := CheckPathName(name); err != nil {
			t.Errorf("CheckPathName(%q) = %v", name, err)
		}
	}
	for _, name := range []string{"", ".", "ci/..", "../x", "a//b", "/a", "a/", "a/\x01"} {
		if CheckPathName(name) == nil {
			t.Errorf("CheckPathName(%q) accepted it", name)
		}
	}
}
