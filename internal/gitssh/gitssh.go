// Package gitssh serves the hosted repositories over SSH, as CodeCommit
// does: `git clone ssh://git@HOST:PORT/NAME.git` (or the scp form
// git@HOST:NAME.git). It is a protocol front like the API and the console:
// a client proves who it is with a public key that a user added to sluice
// (`sluice ssh-key add`), the key stands for a principal (a token), and the
// token's policy decides sluice:GitPull and sluice:GitPush on
// repository/NAME through package access, exactly as over HTTPS; every
// request is written to the audit trail.
//
// The protocol is golang.org/x/crypto/ssh's; what runs is git's own
// upload-pack and receive-pack, through gitserver.ServePack, with the same
// hooks (branch protection, the push spool that starts pipelines) as smart
// HTTP. Nothing else is served: no shell, no other command, no
// git-upload-archive, no port forwarding, no agent forwarding, no
// environment but GIT_PROTOCOL, no terminal.
//
// The server's host key (ed25519) is made once, in the data directory, and
// kept across restarts so that clients' known_hosts stay true.
package gitssh

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sluice-ci/sluice/internal/access"
	"github.com/sluice-ci/sluice/internal/audit"
	"github.com/sluice-ci/sluice/internal/gitserver"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
)

// HostKeyFile is the host key's file in the data directory.
const HostKeyFile = "ssh_host_ed25519_key"

// Keys finds the key with a fingerprint and the token it stands for
// (service.SSHKeyByFingerprint): an error with service.CodeNotFound when no
// key has it or its token is gone. It is called for every key a client
// offers and again for every command, from many goroutines at once.
type Keys interface {
	SSHKeyByFingerprint(ctx context.Context, fingerprint string) (service.SSHKeyInfo, store.Token, error)
}

// Repos runs git for an authorized client (gitserver.Server.ServePack).
type Repos interface {
	ServePack(ctx context.Context, req gitserver.PackRequest) (int, error)
}

// Trail is where requests are recorded (the audit log); Append returns once
// the record is written.
type Trail interface {
	Append(ctx context.Context, rec audit.Record) error
}

// Config configures a Server.
type Config struct {
	HostKey ssh.Signer // LoadHostKey's
	Keys    Keys
	Repos   Repos
	Audit   Trail // nil: no audit trail
	Logger  *slog.Logger
	// MaxConnections bounds the connections served at once; more are
	// closed as they arrive. 0 means 100.
	MaxConnections int
	// HandshakeTimeout bounds the key exchange and authentication. 0 means
	// 30 seconds.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection on which nothing arrived for that
	// long. 0 means 10 minutes.
	IdleTimeout time.Duration
}

// Server serves git over SSH. Serve runs it on a listener; Close stops it.
type Server struct {
	cfg    Config
	ssh    *ssh.ServerConfig
	log    *slog.Logger
	guard  access.Guard
	slots  chan struct{}
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	lns    []net.Listener
	closed bool
	wg     sync.WaitGroup
}

// maxSessionsPerConn bounds the sessions one connection may hold open at
// once; git opens one.
const maxSessionsPerConn = 4

// New makes a server.
func New(cfg Config) (*Server, error) {
	if cfg.HostKey == nil || cfg.Keys == nil || cfg.Repos == nil {
		return nil, errors.New("git ssh: a host key, keys and repositories are needed")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = 100
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 30 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 10 * time.Minute
	}
	s := &Server{cfg: cfg, log: cfg.Logger, slots: make(chan struct{}, cfg.MaxConnections), conns: map[net.Conn]struct{}{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.ssh = &ssh.ServerConfig{
		ServerVersion:     "SSH-2.0-sluice",
		PublicKeyCallback: s.checkKey,
		MaxAuthTries:      6,
	}
	s.ssh.AddHostKey(cfg.HostKey)
	return s, nil
}

// Fingerprint is the host key's SHA256 fingerprint, as ssh-keygen -l and
// ssh print it.
func (s *Server) Fingerprint() string { return ssh.FingerprintSHA256(s.cfg.HostKey.PublicKey()) }

// LoadHostKey reads the host key at path, making an ed25519 key there (mode
// 0600) when there is none. Replicas sharing one key file may start
// together: the key is written to a file of its own and linked into place,
// which fails when another got there first, and then that one's key is
// read, so every replica serves the same key.
func LoadHostKey(path string) (ssh.Signer, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		raw, err = makeHostKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("ssh host key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("ssh host key %s: %w (move it away to have a new one made; clients will then warn that the host key changed)", path, err)
	}
	return signer, nil
}

// makeHostKey writes a new key at path unless another process did first,
// and returns the key the file holds.
func makeHostKey(path string) ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "sluice ssh host key")
	if err != nil {
		return nil, err
	}
	raw := pem.EncodeToMemory(block)
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(raw)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, werr
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
		return os.ReadFile(path) // another replica's, made at the same time
	} else if err != nil {
		return nil, err
	}
	return raw, nil
}

// HostKeyPath is where the host key lives in a data directory.
func HostKeyPath(dataDir string) string { return filepath.Join(dataDir, HostKeyFile) }

// fingerprintExt carries the client key's fingerprint from authentication to
// the connection's requests.
const fingerprintExt = "fingerprint"

// checkKey lets in a client whose key sluice knows and whose token is
// valid. What the principal may do is asked again at every command.
func (s *Server) checkKey(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	if _, ok := key.(*ssh.Certificate); ok {
		return nil, errors.New("certificates are not taken")
	}
	fp := ssh.FingerprintSHA256(key)
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if _, err := s.principal(ctx, fp); err != nil {
		return nil, err
	}
	return &ssh.Permissions{Extensions: map[string]string{fingerprintExt: fp}}, nil
}

// principal returns who the key of fingerprint fp stands for now: the key
// must exist, its token too, unexpired and with a policy that reads.
func (s *Server) principal(ctx context.Context, fp string) (keyPrincipal, error) {
	k, tok, err := s.cfg.Keys.SSHKeyByFingerprint(ctx, fp)
	if err != nil {
		return keyPrincipal{key: k.Name}, err
	}
	p, err := s.guard.OfToken(tok)
	return keyPrincipal{Principal: p, key: k.Name}, err
}

type keyPrincipal struct {
	access.Principal
	key string // the key's name
}

// Serve accepts connections on ln until Close. It returns nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("git ssh: accept: %w", err)
		}
		select {
		case s.slots <- struct{}{}:
		default:
			s.log.Warn("ssh connection refused: too many connections", "remote", c.RemoteAddr().String(), "max", s.cfg.MaxConnections)
			c.Close()
			continue
		}
		if !s.track(c) {
			<-s.slots
			c.Close()
			return nil
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.slots }()
			defer s.untrack(c)
			s.serveConn(c)
		}()
	}
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

// Close stops accepting, cuts every connection (pushes git accepted are
// still handed on: ServePack does not stop for a client gone) and waits for
// the connections' goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for _, ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// idleConn closes a connection on which nothing arrived for a while: once
// the handshake is done, every read pushes the deadline on. A clone keeps it
// alive with the window adjustments the client sends as it takes the data.
type idleConn struct {
	net.Conn
	idle  time.Duration
	ready atomic.Bool // the handshake is done; before, its own deadline holds
}

func (c *idleConn) Read(p []byte) (int, error) {
	if c.ready.Load() {
		c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	}
	return c.Conn.Read(p)
}

func (s *Server) serveConn(c net.Conn) {
	ic := &idleConn{Conn: c, idle: s.cfg.IdleTimeout}
	c.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	conn, chans, reqs, err := ssh.NewServerConn(ic, s.ssh)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			s.log.Info("ssh handshake failed", "remote", c.RemoteAddr().String(), "err", err)
		}
		return
	}
	defer conn.Close()
	c.SetDeadline(time.Now().Add(s.cfg.IdleTimeout))
	c.SetWriteDeadline(time.Time{})
	ic.ready.Store(true)

	// Global requests (tcpip-forward, keepalives) get "no" when they want an
	// answer: nothing is forwarded.
	go ssh.DiscardRequests(reqs)
	sessions := make(chan struct{}, maxSessionsPerConn)
	var wg sync.WaitGroup
	defer wg.Wait()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.Prohibited, "sluice serves git only: no port forwarding or other channels")
			continue
		}
		select {
		case sessions <- struct{}{}:
		default:
			nc.Reject(ssh.ResourceShortage, "too many sessions on one connection")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			<-sessions
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sessions }()
			s.serveSession(conn, ch, chReqs)
		}()
	}
}
