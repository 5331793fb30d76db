package logmask

import (
	"bytes"
	"strings"
	"testing"
)

func TestMasker(t *testing.T) {
	for _, tc := range []struct {
		name    string
		secrets []string
		writes  []string
		want    string
	}{
		{"whole", []string{"hunter22"}, []string{"password=hunter22\n"}, "password=***\n"},
		{"split across writes", []string{"hunter22"}, []string{"pass=hun", "te", "r22 done\n"}, "pass=*** done\n"},
		{"twice, two secrets", []string{"alpha-1", "beta-22"}, []string{"alpha-1 beta-22 alpha-1"}, "*** *** ***"},
		{"short values left alone", []string{"abc"}, []string{"abc abc"}, "abc abc"},
		{"no secrets", nil, []string{"plain ", "text"}, "plain text"},
		{"prefix of a secret at the end", []string{"hunter22"}, []string{"ends with hunt"}, "ends with hunt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			m := New(&out)
			for _, s := range tc.secrets {
				m.Add([]byte(s))
			}
			for _, w := range tc.writes {
				if n, err := m.Write([]byte(w)); err != nil || n != len(w) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := m.Flush(); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Fatalf("got %q, want %q", out.String(), tc.want)
			}
			for _, s := range tc.secrets {
				if len(s) >= MinLength && strings.Contains(out.String(), s) {
					t.Fatalf("secret %q leaked", s)
				}
			}
		})
	}
}

// Whatever the write boundaries, a secret never reaches the log.
func TestMaskerEveryBoundary(t *testing.T) {
	text := "token=s3cr3t-value; again s3cr3t-value!"
	for i := 0; i <= len(text); i++ {
		for j := i; j <= len(text); j++ {
			var out bytes.Buffer
			m := New(&out)
			m.Add([]byte("s3cr3t-value"))
			m.Write([]byte(text[:i]))
			m.Write([]byte(text[i:j]))
			m.Write([]byte(text[j:]))
			m.Flush()
			if want := "token=***; again ***!"; out.String() != want {
				t.Fatalf("cut at %d,%d: %q", i, j, out.String())
			}
		}
	}
}

func TestMaskerRedact(t *testing.T) {
	m := New(&bytes.Buffer{})
	m.Add([]byte("hunter22"))
	if got := m.Redact("auth failed for hunter22"); got != "auth failed for ***" {
		t.Fatalf("Redact = %q", got)
	}
}
