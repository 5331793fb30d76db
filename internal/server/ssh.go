package server

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/sluice-ci/sluice/internal/gitssh"
	"github.com/sluice-ci/sluice/internal/wire"
)

// openSSH listens on cfg.SSHAddr and makes the SSH server, its host key
// made on first start and kept in the data directory, or in the file
// cfg.SSHHostKeyFile names.
func (s *Server) openSSH() (*wire.SSHHost, error) {
	keyFile := s.cfg.SSHHostKeyFile
	if keyFile == "" {
		keyFile = gitssh.HostKeyPath(s.cfg.DataDir)
	}
	hostKey, err := gitssh.LoadHostKey(keyFile)
	if err != nil {
		return nil, err
	}
	cfg := gitssh.Config{HostKey: hostKey, Keys: s.svc, Repos: s.repos, Logger: s.log}
	if s.audit != nil {
		cfg.Audit = s.audit
	}
	if s.ssh, err = gitssh.New(cfg); err != nil {
		return nil, err
	}
	if s.sshLn, err = net.Listen("tcp", s.cfg.SSHAddr); err != nil {
		return nil, fmt.Errorf("--ssh-addr: %w", err)
	}
	s.undo.push(func() error { s.ssh.Close(); return nil })
	return &wire.SSHHost{
		Addr:               s.SSHAddr(),
		HostKey:            strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hostKey.PublicKey()))),
		HostKeyFingerprint: s.ssh.Fingerprint(),
	}, nil
}

// SSHAddr is the address git reaches the SSH server at ("" without SSH): the
// listener's, with the host of the server's URL when it listens on every
// address.
func (s *Server) SSHAddr() string {
	if s.sshLn == nil {
		return ""
	}
	addr := s.sshLn.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "localhost"
		if u, err := url.Parse(s.cfg.ExternalURL); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(addr.Port))
}
