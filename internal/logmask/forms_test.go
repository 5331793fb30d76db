package logmask

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
)

// TestEncodedForms: the encodings a script most easily prints a secret in
// are masked too, cut at every write boundary.
func TestEncodedForms(t *testing.T) {
	secret := "p@ss w/rd+?=&1"
	forms := map[string]string{
		"base64":           base64.StdEncoding.EncodeToString([]byte(secret)),
		"base64 raw":       base64.RawStdEncoding.EncodeToString([]byte(secret)),
		"base64url":        base64.URLEncoding.EncodeToString([]byte(secret)),
		"base64url raw":    base64.RawURLEncoding.EncodeToString([]byte(secret)),
		"hex":              hex.EncodeToString([]byte(secret)),
		"HEX":              strings.ToUpper(hex.EncodeToString([]byte(secret))),
		"query escaped":    url.QueryEscape(secret),
		"path escaped":     url.PathEscape(secret),
		"the value itself": secret,
	}
	for name, form := range forms {
		t.Run(name, func(t *testing.T) {
			text := "before " + form + " after"
			for i := 0; i <= len(text); i++ {
				var out bytes.Buffer
				m := New(&out)
				m.Add([]byte(secret))
				m.Write([]byte(text[:i]))
				m.Write([]byte(text[i:]))
				m.Flush()
				if want := "before *** after"; out.String() != want {
					t.Fatalf("cut at %d: %q, want %q", i, out.String(), want)
				}
			}
		})
	}
}

// TestBase64InsideAStream: a secret in the middle of a base64-encoded file
// is found at each of the three alignments: what is left of it in the log
// is at most the characters its neighbours share.
func TestBase64InsideAStream(t *testing.T) {
	secret := "correct-horse-battery-staple"
	for _, prefix := range []string{"", "a", "ab", "abc", "xyzw"} {
		encoded := base64.StdEncoding.EncodeToString([]byte(prefix + secret + "-and-more-text"))
		var out bytes.Buffer
		m := New(&out)
		m.Add([]byte(secret))
		m.Write([]byte(encoded))
		m.Flush()
		if !strings.Contains(out.String(), "***") {
			t.Errorf("prefix %q: %q was not masked (%q)", prefix, encoded, out.String())
		}
		// No run of 8 characters of the secret's own encoding survives.
		core := base64.RawStdEncoding.EncodeToString([]byte(secret[3:24]))
		if strings.Contains(out.String(), core[:8]) {
			t.Errorf("prefix %q: part of the secret's encoding left: %q", prefix, out.String())
		}
	}
}

// TestMultiLineSecret: a key file's lines are masked one by one, whoever
// prints them apart; lines too short to be secret-like are left alone.
func TestMultiLineSecret(t *testing.T) {
	key := "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nabc\nYkPlr5MVJ9bG8kAbCdEfGh\n-----END KEY-----\n"
	var out bytes.Buffer
	m := New(&out)
	m.Add([]byte(key))
	m.Write([]byte("line: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nnext: YkPlr5MVJ9bG8kAbCdEfGh\nshort: abc\n"))
	m.Flush()
	if want := "line: ***\nnext: ***\nshort: abc\n"; out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}
