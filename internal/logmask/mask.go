// Package logmask replaces secret values with *** in a log as it is written,
// whoever prints them, whatever the write boundaries.
package logmask

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Writer replaces the values of a job's secrets with *** in its log, whoever
// prints them: a provider, a command echoing a variable, a tool's debug output.
// Secrets are added as the job reads them. A value split across writes is
// still caught: the last bytes that could begin a secret are held back until
// the next write or Flush.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	secrets [][]byte
	longest int
	pending []byte
}

// MinLength is the shortest value masked: shorter ones would blot out common
// words and digits while protecting little.
const MinLength = 4

var mask = []byte("***")

// New returns a Writer that writes to w.
func New(w io.Writer) *Writer { return &Writer{w: w} }

// Add makes value masked from now on, in the forms a build script most
// easily prints it in (see Forms).
func (m *Writer) Add(value []byte) {
	if len(value) < MinLength {
		return
	}
	forms := Forms(value)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range forms {
		if !slices.ContainsFunc(m.secrets, func(s []byte) bool { return bytes.Equal(s, f) }) {
			m.secrets = append(m.secrets, f)
			m.longest = max(m.longest, len(f))
		}
	}
	// Longest first, so that a form containing another is masked whole.
	slices.SortStableFunc(m.secrets, func(a, b []byte) int { return len(b) - len(a) })
}

// MinEncodedCore is the shortest piece of a base64 stream masked as the
// part of a secret that shows whatever bytes surround it: shorter runs of
// base64 letters occur by chance.
const MinEncodedCore = 8

// Forms returns what Add masks of value, beyond CodeBuild's exact value:
// each line of a multi-line value of at least MinLength bytes (a key file
// printed line by line), and of the value and of each such line, its
// base64 (standard and URL alphabets, padded and raw), hex (lower and upper
// case) and URL-encoded (query and path escaping) forms.
//
// Base64 of a value inside a larger base64 stream (the secret in the middle
// of an encoded file) depends on the value's offset modulo 3: for each of the
// three alignments, the characters encoding the whole 3-byte groups that lie
// inside the value are the same whatever surrounds it, and that stable core
// is masked when it is at least MinEncodedCore characters long.
func Forms(value []byte) [][]byte {
	bases := [][]byte{value}
	if bytes.ContainsAny(value, "\r\n") {
		for _, line := range strings.FieldsFunc(string(value), func(r rune) bool { return r == '\n' || r == '\r' }) {
			if len(line) >= MinLength {
				bases = append(bases, []byte(line))
			}
		}
	}
	var out [][]byte
	add := func(f []byte) {
		if len(f) >= MinLength && !slices.ContainsFunc(out, func(o []byte) bool { return bytes.Equal(o, f) }) {
			out = append(out, f)
		}
	}
	for _, b := range bases {
		add(bytes.Clone(b))
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			add([]byte(enc.EncodeToString(b)))
		}
		for skip := range 3 {
			if skip >= len(b) {
				break
			}
			rest := b[skip:]
			whole := rest[:len(rest)/3*3]
			for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
				if core := enc.EncodeToString(whole); len(core) >= MinEncodedCore {
					add([]byte(core))
				}
			}
		}
		h := hex.EncodeToString(b)
		add([]byte(h))
		add([]byte(strings.ToUpper(h)))
		add([]byte(url.QueryEscape(string(b))))
		add([]byte(url.PathEscape(string(b))))
	}
	return out
}

func (m *Writer) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending = append(m.pending, p...)
	out, used := m.replace(m.pending, false)
	m.pending = append(m.pending[:0], m.pending[used:]...)
	if len(out) > 0 {
		if _, err := m.w.Write(out); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}

// replace masks what it can of buf: it returns the masked text and how much
// of buf that covers. Matches are taken leftmost first, and at one place the
// longest form first, so that a form holding another (a padded base64 and
// its stable core) is masked whole. Unless final, it stops where a secret
// could begin that has not all arrived yet: a form starting there might be
// longer than the one already matched.
func (m *Writer) replace(buf []byte, final bool) ([]byte, int) {
	if len(m.secrets) == 0 {
		return bytes.Clone(buf), len(buf)
	}
	var out []byte
	i := 0
scan:
	for i < len(buf) {
		if !final && i+m.longest > len(buf) {
			// From here on a form could still be coming: is there one
			// starting here that buf could be the start of?
			for _, s := range m.secrets {
				if n := min(len(s), len(buf)-i); bytes.Equal(buf[i:i+n], s[:n]) {
					break scan
				}
			}
		}
		for _, s := range m.secrets {
			if bytes.HasPrefix(buf[i:], s) {
				out = append(out, mask...)
				i += len(s)
				continue scan
			}
		}
		out = append(out, buf[i])
		i++
	}
	return out, i
}

// Flush sends what was held back.
func (m *Writer) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.pending) == 0 {
		return nil
	}
	out, _ := m.replace(m.pending, true)
	_, err := m.w.Write(out)
	m.pending = m.pending[:0]
	return err
}

// Redact masks the job's secrets in s, for messages that go elsewhere than the
// log: an action's summary.
func (m *Writer) Redact(s string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out, _ := m.replace([]byte(s), true)
	return string(out)
}
