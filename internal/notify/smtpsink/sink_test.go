package smtpsink

import (
	"context"
	"encoding/base64"
	"errors"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

func start(t *testing.T, cfg Config) *Sink {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// dial opens a raw SMTP conversation with s and reads its greeting.
func dial(t *testing.T, s *Sink) *textproto.Conn {
	t.Helper()
	c, err := textproto.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	expect(t, c, 220)
	return c
}

func expect(t *testing.T, c *textproto.Conn, code int) string {
	t.Helper()
	_, msg, err := c.ReadResponse(code)
	if err != nil {
		t.Fatalf("want %d: %v", code, err)
	}
	return msg
}

func cmd(t *testing.T, c *textproto.Conn, code int, format string, args ...any) string {
	t.Helper()
	if err := c.PrintfLine(format, args...); err != nil {
		t.Fatal(err)
	}
	return expect(t, c, code)
}

func waitNext(t *testing.T, s *Sink) Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	m, err := s.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return m
}

func TestSinkConversation(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c := dial(t, s)
	cmd(t, c, 250, "HELO client.example")
	cmd(t, c, 250, "EHLO client.example")
	cmd(t, c, 250, "NOOP")
	cmd(t, c, 250, "MAIL FROM:<dropped@example.com>")
	cmd(t, c, 250, "RCPT TO:<dropped@example.com>")
	cmd(t, c, 250, "RSET")
	cmd(t, c, 250, "MAIL FROM:<ci@example.com>")
	cmd(t, c, 250, "RCPT TO:<a@example.com>")
	cmd(t, c, 250, "RCPT TO:<b@example.com>")
	cmd(t, c, 354, "DATA")
	data := "From: ci@example.com\r\nTo: a@example.com, b@example.com\r\n" +
		"Subject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"first line\r\n..starts with a dot\r\nlong=\r\n line caf=C3=A9\r\n.\r\n"
	if _, err := c.W.WriteString(data); err != nil {
		t.Fatal(err)
	}
	if err := c.W.Flush(); err != nil {
		t.Fatal(err)
	}
	expect(t, c, 250)
	cmd(t, c, 221, "QUIT")

	m := waitNext(t, s)
	if m.From != "ci@example.com" || strings.Join(m.To, " ") != "a@example.com b@example.com" {
		t.Errorf("envelope %q -> %q", m.From, m.To)
	}
	if !strings.Contains(string(m.Data), "\r\n.starts with a dot\r\n") || strings.Contains(string(m.Data), "..starts") {
		t.Errorf("data not dot-unstuffed: %q", m.Data)
	}
	if sub, err := m.Subject(); err != nil || sub != "grüße" {
		t.Errorf("Subject = %q, %v", sub, err)
	}
	if text, err := m.Text(); err != nil || text != "first line\r\n.starts with a dot\r\nlong line café\r\n" {
		t.Errorf("Text = %q, %v", text, err)
	}
	if m.User != "" || m.TLS {
		t.Errorf("User %q TLS %v, want neither", m.User, m.TLS)
	}
	if n := len(s.Messages()); n != 1 {
		t.Errorf("Messages has %d, want 1 (the reset transaction is dropped)", n)
	}
}

func TestSinkAuthAndReject(t *testing.T) {
	t.Parallel()
	s := start(t, Config{Username: "u", Password: "p", Reject: map[string]int{"gone@example.com": 550}})
	c := dial(t, s)
	if ehlo := cmd(t, c, 250, "EHLO client.example"); !strings.Contains(ehlo, "AUTH PLAIN") {
		t.Errorf("EHLO does not offer AUTH PLAIN: %q", ehlo)
	}
	cmd(t, c, 502, "MAIL FROM:<ci@example.com>") // authentication first
	cmd(t, c, 535, "AUTH PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00u\x00wrong")))
	cmd(t, c, 235, "AUTH PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00u\x00p")))
	cmd(t, c, 250, "MAIL FROM:<ci@example.com>")
	cmd(t, c, 550, "RCPT TO:<Gone@Example.com>")
	cmd(t, c, 250, "RCPT TO:<here@example.com>")
	cmd(t, c, 354, "DATA")
	if err := c.PrintfLine("Subject: hi\r\n\r\nbody\r\n."); err != nil {
		t.Fatal(err)
	}
	expect(t, c, 250)

	m := waitNext(t, s)
	if m.User != "u" || strings.Join(m.To, " ") != "here@example.com" {
		t.Errorf("user %q recipients %q", m.User, m.To)
	}
}

func TestSinkNextWaitsForContextAndClose(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next on an empty sink = %v, want DeadlineExceeded", err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := s.Next(t.Context())
		done <- err
	}()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestSinkConfigErrors(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{ImplicitTLS: true}); err == nil {
		t.Error("ImplicitTLS without a certificate accepted")
	}
	if _, err := New(Config{Reject: map[string]int{"a@example.com": 250}}); err == nil {
		t.Error("Reject with a 2xx code accepted")
	}
}
