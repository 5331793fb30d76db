// Package smtpsink is a small real SMTP server that keeps what it receives,
// for tests and local development. It listens on 127.0.0.1 on a port of its
// own choosing and speaks SMTP through github.com/emersion/go-smtp: EHLO and
// HELO, AUTH PLAIN when configured, STARTTLS or implicit TLS when given a
// certificate, MAIL FROM, RCPT TO, DATA (dot-unstuffed), RSET, NOOP and QUIT.
//
// A test waits for mail with Next and a context, never by sleeping:
//
//	sink, err := smtpsink.New(smtpsink.Config{})
//	...
//	defer sink.Close()
//	// send to sink.Addr()
//	msg, err := sink.Next(ctx)
package smtpsink

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// ErrClosed is returned by Next once the sink is closed and every message
// has been taken.
var ErrClosed = errors.New("smtpsink: closed")

// Config tunes a sink; its zero value accepts any mail without AUTH or TLS.
type Config struct {
	// Username and Password, when Username is non-empty, make the sink offer
	// AUTH PLAIN (also without TLS) and refuse MAIL FROM before it.
	Username, Password string
	// Reject maps recipient addresses (compared case-insensitively) to the
	// reply code RCPT TO gets for them: 550 to refuse for good, 450 to ask
	// the sender to try later, or any other 4xx or 5xx code.
	Reject map[string]int
	// TLSConfig, when set, makes the sink offer STARTTLS, or with
	// ImplicitTLS speak TLS from the first byte instead.
	TLSConfig   *tls.Config
	ImplicitTLS bool
}

// Message is one mail as the sink received it. Its slices are shared: read
// them, do not change them.
type Message struct {
	From string   // envelope sender (MAIL FROM)
	To   []string // envelope recipients (RCPT TO), in order
	Data []byte   // the message as sent after DATA, dot-unstuffed, CRLF line ends
	// Header and Body are Data parsed by net/mail; Header is nil and Body
	// is Data when it does not parse. Body is still transfer-encoded: see Text.
	Header mail.Header
	Body   []byte
	User   string // the AUTH identity, empty without AUTH
	TLS    bool   // whether the message came over TLS
}

// Subject is the Subject header with RFC 2047 encoded-words decoded.
func (m Message) Subject() (string, error) {
	return new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
}

// Text is Body with its Content-Transfer-Encoding (quoted-printable, or
// 7bit, 8bit or none) undone. The charset is not converted.
func (m Message) Text() (string, error) {
	switch cte := strings.ToLower(strings.TrimSpace(m.Header.Get("Content-Transfer-Encoding"))); cte {
	case "quoted-printable":
		b, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(m.Body)))
		return string(b), err
	case "", "7bit", "8bit":
		return string(m.Body), nil
	default:
		return "", fmt.Errorf("smtpsink: unsupported Content-Transfer-Encoding %q", cte)
	}
}

// Sink is a running SMTP server on 127.0.0.1. Its methods are safe for
// concurrent use.
type Sink struct {
	cfg    Config
	server *smtp.Server
	ln     net.Listener
	addr   string
	served chan struct{} // closed when Serve has returned

	mu      sync.Mutex
	msgs    []Message
	next    int           // index of the message Next returns next
	arrived chan struct{} // closed, and replaced, when a message arrives
	closed  bool
}

// New starts a sink listening on 127.0.0.1 on a free port. Close stops it.
func New(cfg Config) (*Sink, error) {
	if cfg.ImplicitTLS && cfg.TLSConfig == nil {
		return nil, errors.New("smtpsink: ImplicitTLS needs a TLSConfig")
	}
	for addr, code := range cfg.Reject {
		if code < 400 || code > 599 {
			return nil, fmt.Errorf("smtpsink: Reject[%q] = %d: want a 4xx or 5xx code", addr, code)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtpsink: %w", err)
	}
	s := &Sink{
		cfg:     cfg,
		addr:    l.Addr().String(),
		served:  make(chan struct{}),
		arrived: make(chan struct{}),
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{sink: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 100
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if cfg.TLSConfig != nil {
		if cfg.ImplicitTLS {
			l = tls.NewListener(l, cfg.TLSConfig)
		} else {
			srv.TLSConfig = cfg.TLSConfig
		}
	}
	s.server, s.ln = srv, l
	go func() {
		defer close(s.served)
		_ = srv.Serve(l)
	}()
	return s, nil
}

// Addr is the host:port the sink listens on.
func (s *Sink) Addr() string { return s.addr }

// Close stops the sink, dropping open connections, and wakes any Next.
// Messages already received can still be read. Close is idempotent.
func (s *Sink) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.arrived)
	s.mu.Unlock()
	err := s.server.Close()
	// Serve may not have registered the listener yet, so that the server's
	// Close missed it: closing it here ends Serve's Accept either way.
	if lerr := s.ln.Close(); lerr != nil && !errors.Is(lerr, net.ErrClosed) && err == nil {
		err = lerr
	}
	<-s.served
	return err
}

// Next returns the oldest message not yet returned by Next, waiting for one
// to arrive until ctx ends (ctx's error) or the sink is closed (ErrClosed).
func (s *Sink) Next(ctx context.Context) (Message, error) {
	for {
		s.mu.Lock()
		if s.next < len(s.msgs) {
			m := s.msgs[s.next]
			s.next++
			s.mu.Unlock()
			return m, nil
		}
		arrived, closed := s.arrived, s.closed
		s.mu.Unlock()
		if closed {
			return Message{}, ErrClosed
		}
		select {
		case <-arrived:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
}

// Messages returns every message received so far, oldest first, whether or
// not Next has returned it.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

func (s *Sink) add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	if !s.closed {
		close(s.arrived)
		s.arrived = make(chan struct{})
	}
}

// session is one SMTP connection's state, driven by go-smtp from that
// connection's goroutine.
type session struct {
	sink *Sink
	conn *smtp.Conn
	user string
	from string
	to   []string
}

var (
	_ smtp.Session     = (*session)(nil)
	_ smtp.AuthSession = (*session)(nil)
)

func (s *session) AuthMechanisms() []string {
	if s.sink.cfg.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	if s.sink.cfg.Username == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username {
			return smtp.ErrAuthFailed
		}
		userOK := subtle.ConstantTimeCompare([]byte(username), []byte(s.sink.cfg.Username))
		passOK := subtle.ConstantTimeCompare([]byte(password), []byte(s.sink.cfg.Password))
		if userOK&passOK != 1 {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.sink.cfg.Username != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from, s.to = from, nil
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	for addr, code := range s.sink.cfg.Reject {
		if strings.EqualFold(addr, to) {
			return &smtp.SMTPError{
				Code:         code,
				EnhancedCode: smtp.EnhancedCodeNotSet,
				Message:      "recipient refused by smtpsink",
			}
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{
		From: s.from,
		To:   s.to,
		Data: data,
		Body: data,
		User: s.user,
	}
	_, m.TLS = s.conn.TLSConnectionState()
	if parsed, err := mail.ReadMessage(bytes.NewReader(data)); err == nil {
		m.Header = parsed.Header
		m.Body, _ = io.ReadAll(parsed.Body)
	}
	s.sink.add(m)
	s.to = nil
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }
