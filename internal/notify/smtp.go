package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"slices"
	"strings"
	"time"
)

// TLS modes of an SMTP server.
const (
	// TLSAuto upgrades with STARTTLS when the server offers it and goes on
	// in the clear when it does not (the default, "").
	TLSAuto = ""
	// TLSStartTLS requires STARTTLS: a server that does not offer it is an
	// error.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (usually port 465).
	TLSImplicit = "tls"
	// TLSNone never uses TLS.
	TLSNone = "none"
)

// defaultSMTPTimeout bounds a Send whose ctx has no deadline, so a server
// that stops answering cannot hold a caller forever.
const defaultSMTPTimeout = 2 * time.Minute

// SMTP sends mail through a configured server.
type SMTP struct {
	Addr     string // host:port
	From     string // e.g. "Sluice <sluice@example.com>"
	Username string // AUTH PLAIN when non-empty
	Password string // never logged, never in errors
	// TLS is one of TLSAuto (""), TLSStartTLS, TLSImplicit or TLSNone.
	// Whatever it says, credentials are sent only over TLS or to localhost,
	// 127.0.0.1 or ::1.
	TLS string
	// TLSConfig, when set, is used for TLS (e.g. its RootCAs); its
	// ServerName defaults to Addr's host.
	TLSConfig *tls.Config
	// LocalName is the name given in EHLO; empty means "localhost".
	LocalName string
}

// Mail is one plain-text message.
type Mail struct {
	To      []string // addresses as net/mail parses them, e.g. "Ann <ann@example.com>"
	Subject string
	Text    string // UTF-8; any line ending
	// Headers are extra header fields, e.g. Reply-To. Values are sent as
	// unstructured text, RFC 2047-encoded when not plain ASCII. They cannot
	// replace the fields Send writes itself (Date, Message-ID, From, To,
	// Subject, MIME-Version, Content-Type, Content-Transfer-Encoding).
	Headers map[string]string
}

// Send delivers m through the server in one SMTP transaction: every address
// is checked first, and a recipient the server refuses fails the whole send
// before any mail is sent, so a retry sends no duplicates.
//
// The message has Date, Message-ID, From, To, Subject (RFC 2047-encoded when
// not ASCII), MIME-Version and a text/plain UTF-8 body in quoted-printable.
// ctx bounds the whole exchange (two minutes when it has no deadline).
//
// A refusal by the server is an *SMTPError, permanent for 5xx replies and
// temporary for 4xx; an invalid address or configuration is permanent; a
// network failure is temporary (see Permanent). Send is safe for concurrent
// use; each call opens its own connection.
func (s SMTP) Send(ctx context.Context, m Mail) error {
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil || host == "" {
		return permanentf("smtp: server address %q: want host:port", s.Addr)
	}
	switch s.TLS {
	case TLSAuto, TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return permanentf("smtp: TLS mode %q: want %q, %q, %q or empty", s.TLS, TLSStartTLS, TLSImplicit, TLSNone)
	}
	from, err := parseAddress(s.From)
	if err != nil {
		return permanentf("smtp: from address: %w", err)
	}
	if len(m.To) == 0 {
		return permanentf("smtp: no recipients")
	}
	to := make([]*mail.Address, 0, len(m.To))
	for _, a := range m.To {
		addr, err := parseAddress(a)
		if err != nil {
			return permanentf("smtp: recipient: %w", err)
		}
		to = append(to, addr)
	}
	msg, err := buildMessage(from, to, m, time.Now())
	if err != nil {
		return err
	}

	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultSMTPTimeout)
		defer cancel()
	}
	return s.transact(ctx, host, from, to, msg)
}

// transact runs one SMTP session: connect, EHLO, STARTTLS, AUTH, MAIL,
// RCPT…, DATA, QUIT.
func (s SMTP) transact(ctx context.Context, host string, from *mail.Address, to []*mail.Address, msg []byte) error {
	tlsConfig := &tls.Config{}
	if s.TLSConfig != nil {
		tlsConfig = s.TLSConfig.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = host
	}

	var conn net.Conn
	var err error
	if s.TLS == TLSImplicit {
		conn, err = (&tls.Dialer{Config: tlsConfig}).DialContext(ctx, "tcp", s.Addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", s.Addr)
	}
	if err != nil {
		return s.fail(ctx, "connect", err)
	}
	defer conn.Close()
	// The deadline ends blocked reads and writes when ctx's time is up;
	// AfterFunc does the same when ctx is cancelled earlier.
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return s.fail(ctx, "greeting", err)
	}
	defer c.Close()
	localName := s.LocalName
	if localName == "" {
		localName = "localhost"
	}
	if err := c.Hello(localName); err != nil {
		return s.fail(ctx, "EHLO", err)
	}
	if s.TLS == TLSAuto || s.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConfig); err != nil {
				return s.fail(ctx, "STARTTLS", err)
			}
		} else if s.TLS == TLSStartTLS {
			return permanentf("smtp %s: server does not offer STARTTLS", s.Addr)
		}
	}
	if s.Username != "" {
		if err := s.auth(ctx, c, host); err != nil {
			return err
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return s.fail(ctx, "MAIL FROM:<"+from.Address+">", err)
	}
	for _, a := range to {
		if err := c.Rcpt(a.Address); err != nil {
			return s.fail(ctx, "RCPT TO:<"+a.Address+">", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return s.fail(ctx, "DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return s.fail(ctx, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return s.fail(ctx, "DATA", err)
	}
	// The mail is accepted; a failing QUIT changes nothing of that.
	_ = c.Quit()
	return nil
}

// auth authenticates with AUTH PLAIN, refusing to send the password in the
// clear to anything but the local machine.
func (s SMTP) auth(ctx context.Context, c *smtp.Client, host string) error {
	_, isTLS := c.TLSConnectionState()
	if !isTLS && host != "localhost" && host != "127.0.0.1" && host != "::1" {
		return permanentf("smtp %s: refusing to send credentials without TLS", s.Addr)
	}
	ok, mechs := c.Extension("AUTH")
	if !ok {
		return permanentf("smtp %s: server does not offer AUTH", s.Addr)
	}
	if !slices.ContainsFunc(strings.Fields(mechs), func(m string) bool { return strings.EqualFold(m, "PLAIN") }) {
		return permanentf("smtp %s: server does not offer AUTH PLAIN (offers %s)", s.Addr, mechs)
	}
	if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
		return s.fail(ctx, "AUTH PLAIN", err)
	}
	return nil
}

// fail turns err, met during command cmd, into the error Send returns: an
// *SMTPError for a reply, otherwise an error naming the server that wraps
// ctx's error when ctx has ended. The password never appears in it.
func (s SMTP) fail(ctx context.Context, cmd string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		return &SMTPError{Command: cmd, Code: te.Code, Message: s.redact(te.Msg)}
	}
	if cause := ctxCause(ctx); cause != nil {
		return fmt.Errorf("smtp %s: %s: %w (%s)", s.Addr, cmd, cause, s.redact(err.Error()))
	}
	return &smtpNetError{msg: fmt.Sprintf("smtp %s: %s: %s", s.Addr, cmd, s.redact(err.Error())), err: err}
}

// smtpNetError carries a failure's cause under a message cleaned of the
// password.
type smtpNetError struct {
	msg string
	err error
}

func (e *smtpNetError) Error() string { return e.msg }
func (e *smtpNetError) Unwrap() error { return e.err }

func (s SMTP) redact(msg string) string {
	if s.Password == "" {
		return msg
	}
	return strings.ReplaceAll(msg, s.Password, "[redacted]")
}

// ctxCause is ctx's error, or DeadlineExceeded once its deadline has passed
// even if its timer has not fired yet (the connection's deadline, the same
// instant, may be seen first).
func ctxCause(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// parseAddress parses one address, which must be plain ASCII since the
// message is sent without SMTPUTF8 (a display name may be any UTF-8).
func parseAddress(s string) (*mail.Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("invalid address %q: %w", s, err)
	}
	for i := 0; i < len(a.Address); i++ {
		if a.Address[i] >= 0x80 {
			return nil, fmt.Errorf("invalid address %q: not ASCII, which needs SMTPUTF8", s)
		}
	}
	return a, nil
}

// reservedHeaders are the fields buildMessage writes itself, canonicalized.
var reservedHeaders = []string{
	"Date", "Message-Id", "From", "To", "Subject",
	"Mime-Version", "Content-Type", "Content-Transfer-Encoding",
}

// buildMessage renders the RFC 5322 message, with CRLF line ends.
func buildMessage(from *mail.Address, to []*mail.Address, m Mail, now time.Time) ([]byte, error) {
	extra := make([]string, 0, len(m.Headers))
	for k, v := range m.Headers {
		if !validFieldName(k) {
			return nil, permanentf("smtp: header %q: invalid field name", k)
		}
		if slices.Contains(reservedHeaders, textproto.CanonicalMIMEHeaderKey(k)) {
			return nil, permanentf("smtp: header %q is written by notify", k)
		}
		extra = append(extra, foldHeader(k, mime.QEncoding.Encode("utf-8", v)))
	}
	slices.Sort(extra)

	tos := make([]string, len(to))
	for i, a := range to {
		tos[i] = a.String()
	}
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]

	var b bytes.Buffer
	b.WriteString("Date: " + now.Format(time.RFC1123Z) + "\r\n")
	b.WriteString("Message-ID: <" + rand.Text() + "@" + domain + ">\r\n")
	b.WriteString(foldHeader("From", from.String()))
	b.WriteString(foldHeader("To", strings.Join(tos, ", ")))
	b.WriteString(foldHeader("Subject", mime.QEncoding.Encode("utf-8", m.Subject)))
	for _, h := range extra {
		b.WriteString(h)
	}
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(m.Text)); err != nil {
		return nil, permanentf("smtp: encoding the text: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, permanentf("smtp: encoding the text: %w", err)
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes(), nil
}

// validFieldName reports whether s is an RFC 5322 field name: printable
// ASCII other than colon.
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' || c == ':' {
			return false
		}
	}
	return true
}

// foldHeader writes "name: value" CRLF-terminated, folding before spaces so
// that lines stay within 78 characters where the value allows it. value
// must hold no CR or LF (mime's encoders and net/mail guarantee that).
func foldHeader(name, value string) string {
	const limit = 78
	var b strings.Builder
	line := name + ":"
	for i, word := range strings.Split(value, " ") {
		if i > 0 && len(line)+1+len(word) > limit && strings.TrimSpace(line) != "" {
			b.WriteString(line + "\r\n")
			line = ""
		}
		line += " " + word
	}
	b.WriteString(line + "\r\n")
	return b.String()
}
