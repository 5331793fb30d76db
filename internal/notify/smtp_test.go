package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"mime"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/notify/smtpsink"
)

func startSink(t *testing.T, cfg smtpsink.Config) *smtpsink.Sink {
	t.Helper()
	s, err := smtpsink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// next waits for the sink's next message, for at most ten seconds.
func next(t *testing.T, s *smtpsink.Sink) smtpsink.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	m, err := s.Next(ctx)
	if err != nil {
		t.Fatalf("waiting for mail: %v", err)
	}
	return m
}

// testCert makes a self-signed certificate for 127.0.0.1 and localhost, and
// returns a server configuration and a client configuration trusting it.
func testCert(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtpsink test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}

func TestSMTPSendToSink(t *testing.T) {
	t.Parallel()
	sink := startSink(t, smtpsink.Config{})
	subject := "Freigabe nötig: déploiement « prod » ✓ 🚀 — " + strings.Repeat("très long ", 12)
	text := "Bonjour,\n\nla mise en production attend votre accord : ✓\n.a line starting with a dot\n" +
		strings.Repeat("ligne très longue ", 20) + "\ntrailing space \nend"
	m := Mail{
		To:      []string{"Ann Émile <ann@example.com>", "bob@example.org", "<carol@example.net>"},
		Subject: subject,
		Text:    text,
		Headers: map[string]string{"Reply-To": "ops@example.com", "X-Sluice-Approval": "prod/deploy ✓"},
	}
	s := SMTP{Addr: sink.Addr(), From: "Sluice CI <sluice@ci.example.com>", TLS: TLSNone}
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := next(t, sink)

	if got.From != "sluice@ci.example.com" {
		t.Errorf("envelope from = %q", got.From)
	}
	if want := []string{"ann@example.com", "bob@example.org", "carol@example.net"}; strings.Join(got.To, ",") != strings.Join(want, ",") {
		t.Errorf("envelope to = %q, want %q", got.To, want)
	}
	if sub, err := got.Subject(); err != nil || sub != subject {
		t.Errorf("Subject = %q, %v; want %q", sub, err, subject)
	}
	if raw := got.Header.Get("Subject"); !strings.HasPrefix(raw, "=?utf-8?q?") {
		t.Errorf("raw Subject %q is not RFC 2047 encoded", raw)
	}
	body, err := got.Text()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.ReplaceAll(text, "\n", "\r\n") + "\r\n"; body != want {
		t.Errorf("text = %q, want %q", body, want)
	}
	for k, want := range map[string]string{
		"Mime-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
		"Reply-To":                  "ops@example.com",
	} {
		if v := got.Header.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	if v, err := new(mime.WordDecoder).DecodeHeader(got.Header.Get("X-Sluice-Approval")); err != nil || v != "prod/deploy ✓" {
		t.Errorf("X-Sluice-Approval = %q, %v", v, err)
	}
	if d, err := got.Header.Date(); err != nil || time.Since(d) > time.Minute || time.Until(d) > time.Minute {
		t.Errorf("Date = %v, %v", d, err)
	}
	if id := got.Header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@ci.example.com>") {
		t.Errorf("Message-ID = %q", id)
	}
	from, err := got.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Sluice CI" || from[0].Address != "sluice@ci.example.com" {
		t.Errorf("From = %v, %v", from, err)
	}
	to, err := got.Header.AddressList("To")
	if err != nil || len(to) != 3 || to[0].Name != "Ann Émile" || to[2].Address != "carol@example.net" {
		t.Errorf("To = %v, %v", to, err)
	}
	for i, line := range strings.Split(string(got.Data), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line %d has %d characters: %q", i+1, len(line), line)
		}
	}
}

func TestSMTPInvalidAddresses(t *testing.T) {
	t.Parallel()
	sink := startSink(t, smtpsink.Config{})
	for _, tc := range []struct {
		name, from string
		to         []string
		mention    string
	}{
		{"bad recipient", "ci@example.com", []string{"ok@example.com", "not an address"}, `"not an address"`},
		{"bad from", "sluice at example", []string{"ok@example.com"}, `"sluice at example"`},
		{"non-ASCII address", "ci@example.com", []string{"jörg@example.com"}, `"jörg@example.com"`},
		{"no recipients", "ci@example.com", nil, "no recipients"},
		{"injection", "ci@example.com", []string{"a@example.com>\r\nRCPT TO:<b@example.com"}, "invalid address"},
	} {
		err := SMTP{Addr: sink.Addr(), From: tc.from}.Send(t.Context(), Mail{To: tc.to, Subject: "s", Text: "t"})
		if err == nil || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s: Send = %v, want an error mentioning %s", tc.name, err, tc.mention)
		}
		if !Permanent(err) {
			t.Errorf("%s: %v is not permanent", tc.name, err)
		}
	}
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("sink received %d messages", n)
	}
}

func TestSMTPRejectedRecipient(t *testing.T) {
	t.Parallel()
	sink := startSink(t, smtpsink.Config{Reject: map[string]int{
		"nobody@example.com": 550,
		"full@example.com":   452,
	}})
	s := SMTP{Addr: sink.Addr(), From: "ci@example.com"}
	for _, tc := range []struct {
		rcpt      string
		code      int
		permanent bool
	}{
		{"nobody@example.com", 550, true},
		{"Full@Example.com", 452, false},
	} {
		err := s.Send(t.Context(), Mail{To: []string{"ok@example.com", tc.rcpt}, Subject: "s", Text: "t"})
		var se *SMTPError
		if !errors.As(err, &se) || se.Code != tc.code {
			t.Fatalf("%s: Send = %v, want an *SMTPError %d", tc.rcpt, err, tc.code)
		}
		if Permanent(err) != tc.permanent {
			t.Errorf("%s: Permanent = %v, want %v", tc.rcpt, Permanent(err), tc.permanent)
		}
		if !strings.Contains(err.Error(), "RCPT TO:<"+tc.rcpt+">") {
			t.Errorf("%s: error %q does not name the recipient", tc.rcpt, err)
		}
	}
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("sink received %d messages though a recipient was refused", n)
	}
}

func TestSMTPAuth(t *testing.T) {
	t.Parallel()
	sink := startSink(t, smtpsink.Config{Username: "sluice", Password: "hunter2-pass"})
	msg := Mail{To: []string{"ann@example.com"}, Subject: "s", Text: "t"}

	ok := SMTP{Addr: sink.Addr(), From: "ci@example.com", Username: "sluice", Password: "hunter2-pass"}
	if err := ok.Send(t.Context(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := next(t, sink); got.User != "sluice" {
		t.Errorf("authenticated as %q", got.User)
	}

	bad := ok
	bad.Password = "wrong-pass"
	err := bad.Send(t.Context(), msg)
	var se *SMTPError
	if !errors.As(err, &se) || se.Code != 535 || !Permanent(err) {
		t.Fatalf("Send with a wrong password = %v, want a permanent 535", err)
	}
	if strings.Contains(err.Error(), "wrong-pass") {
		t.Errorf("error %q shows the password", err)
	}

	anon := ok
	anon.Username, anon.Password = "", ""
	if err := anon.Send(t.Context(), msg); err == nil || !Permanent(err) {
		t.Errorf("Send without AUTH = %v, want a permanent refusal", err)
	}
}

func TestSMTPStartTLS(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := testCert(t)
	sink := startSink(t, smtpsink.Config{TLSConfig: serverTLS, Username: "u", Password: "p"})
	msg := Mail{To: []string{"ann@example.com"}, Subject: "s", Text: "t"}
	for _, mode := range []string{TLSAuto, TLSStartTLS} {
		s := SMTP{Addr: sink.Addr(), From: "ci@example.com", TLS: mode, TLSConfig: clientTLS, Username: "u", Password: "p"}
		if err := s.Send(t.Context(), msg); err != nil {
			t.Fatalf("mode %q: Send: %v", mode, err)
		}
		if got := next(t, sink); !got.TLS || got.User != "u" {
			t.Errorf("mode %q: TLS %v user %q, want TLS and user u", mode, got.TLS, got.User)
		}
	}

	// A certificate the client does not trust fails, and is not skipped.
	s := SMTP{Addr: sink.Addr(), From: "ci@example.com", Username: "u", Password: "p"}
	if err := s.Send(t.Context(), msg); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("Send with an untrusted certificate = %v, want a STARTTLS error", err)
	}
}

func TestSMTPStartTLSRequiredButNotOffered(t *testing.T) {
	t.Parallel()
	sink := startSink(t, smtpsink.Config{})
	err := SMTP{Addr: sink.Addr(), From: "ci@example.com", TLS: TLSStartTLS}.
		Send(t.Context(), Mail{To: []string{"ann@example.com"}, Subject: "s", Text: "t"})
	if err == nil || !Permanent(err) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("Send = %v, want a permanent error about STARTTLS", err)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := testCert(t)
	sink := startSink(t, smtpsink.Config{TLSConfig: serverTLS, ImplicitTLS: true})
	s := SMTP{Addr: sink.Addr(), From: "ci@example.com", TLS: TLSImplicit, TLSConfig: clientTLS}
	if err := s.Send(t.Context(), Mail{To: []string{"ann@example.com"}, Subject: "s", Text: "t"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := next(t, sink); !got.TLS {
		t.Error("message did not come over TLS")
	}
}

func TestSMTPConnectionRefused(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	err = SMTP{Addr: addr, From: "ci@example.com", Password: "pw-secret"}.
		Send(t.Context(), Mail{To: []string{"ann@example.com"}, Subject: "s", Text: "t"})
	if err == nil || Permanent(err) {
		t.Fatalf("Send = %v, want a temporary error", err)
	}
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Errorf("error %v does not wrap the *net.OpError", err)
	}
}

func TestSMTPContextDeadline(t *testing.T) {
	t.Parallel()
	// A server that accepts and never greets.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	t.Cleanup(func() {
		l.Close()
		for c := range accepted {
			c.Close()
		}
	})

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err = SMTP{Addr: l.Addr().String(), From: "ci@example.com"}.
		Send(ctx, Mail{To: []string{"ann@example.com"}, Subject: "s", Text: "t"})
	if !errors.Is(err, context.DeadlineExceeded) || Permanent(err) {
		t.Fatalf("Send = %v, want a temporary context.DeadlineExceeded", err)
	}
}

func TestSMTPConfigErrors(t *testing.T) {
	t.Parallel()
	m := Mail{To: []string{"ann@example.com"}, Subject: "s", Text: "t"}
	for _, tc := range []struct {
		name string
		s    SMTP
		m    Mail
	}{
		{"no port", SMTP{Addr: "mail.example.com", From: "ci@example.com"}, m},
		{"TLS mode", SMTP{Addr: "127.0.0.1:1", From: "ci@example.com", TLS: "ssl"}, m},
		{"reserved header", SMTP{Addr: "127.0.0.1:1", From: "ci@example.com"}, Mail{To: m.To, Headers: map[string]string{"subject": "x"}}},
		{"header name", SMTP{Addr: "127.0.0.1:1", From: "ci@example.com"}, Mail{To: m.To, Headers: map[string]string{"X Bad": "x"}}},
	} {
		if err := tc.s.Send(t.Context(), tc.m); err == nil || !Permanent(err) {
			t.Errorf("%s: Send = %v, want a permanent error", tc.name, err)
		}
	}
}

func TestBuildMessageEncodesHeaders(t *testing.T) {
	t.Parallel()
	from := &mail.Address{Name: "CI", Address: "ci@example.com"}
	to := []*mail.Address{{Address: "ann@example.com"}}
	msg, err := buildMessage(from, to, Mail{
		Subject: "hi\r\nBcc: eve@example.com",
		Text:    "t",
		Headers: map[string]string{"X-Note": "a\nBcc: eve@example.com"},
	}, time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := mail.ReadMessage(strings.NewReader(string(msg)))
	if err != nil {
		t.Fatal(err)
	}
	if v := parsed.Header.Get("Bcc"); v != "" {
		t.Errorf("a Bcc header was injected: %q", v)
	}
	if sub, _ := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject")); sub != "hi\r\nBcc: eve@example.com" {
		t.Errorf("Subject decodes to %q", sub)
	}
	if v := parsed.Header.Get("Date"); v != "Tue, 04 Mar 2025 05:06:07 +0000" {
		t.Errorf("Date = %q", v)
	}
}
