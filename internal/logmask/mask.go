// Package logmask replaces secret values with *** in a log as it is written,
// whoever prints them, whatever the write boundaries.
package logmask

import (
	"bytes"
	"io"
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

// Add makes value masked from now on.
func (m *Writer) Add(value []byte) {
	if len(value) < MinLength {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.secrets = append(m.secrets, bytes.Clone(value))
	m.longest = max(m.longest, len(value))
}

func (m *Writer) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending = append(m.pending, p...)
	for _, s := range m.secrets {
		m.pending = bytes.ReplaceAll(m.pending, s, mask)
	}
	// Any secret that begins in the part sent now ends inside pending and was
	// replaced above; only the tail could be the start of one still coming.
	keep := min(len(m.pending), max(m.longest-1, 0))
	send := len(m.pending) - keep
	if send > 0 {
		if _, err := m.w.Write(m.pending[:send]); err != nil {
			return len(p), err
		}
		m.pending = append(m.pending[:0], m.pending[send:]...)
	}
	return len(p), nil
}

// Flush sends what was held back.
func (m *Writer) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.pending) == 0 {
		return nil
	}
	_, err := m.w.Write(m.pending)
	m.pending = m.pending[:0]
	return err
}

// Redact masks the job's secrets in s, for messages that go elsewhere than the
// log: an action's summary.
func (m *Writer) Redact(s string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := []byte(s)
	for _, v := range m.secrets {
		b = bytes.ReplaceAll(b, v, mask)
	}
	return string(b)
}
