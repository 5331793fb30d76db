package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
)

// listen opens the server's listener on cfg.Addr. Tokens, secrets and
// sources cross every connection, so the server speaks plain HTTP only on
// loopback: anywhere else it needs TLS (cfg.TLSCert and cfg.TLSKey), or
// cfg.Insecure, which it warns about. With TLS it also opens inner, a
// loopback plain-HTTP listener on a port of its own for the in-process
// workers, so that they, and the git and function commands they run, need
// not trust the certificate (which may not name 127.0.0.1).
func listen(cfg Config) (ln, inner net.Listener, err error) {
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, nil, errors.New("--tls-cert and --tls-key go together: give both, or neither")
	}
	var tlsConfig *tls.Config
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, nil, fmt.Errorf("load TLS certificate: %w", err)
		}
		tlsConfig = &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
			// HTTP/1.1 only, as over plain HTTP: long polls, streams and git's
			// smart HTTP behave the same either way.
			NextProtos: []string{"http/1.1"},
		}
	}
	ln, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	loopback := false
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		loopback = a.IP.IsLoopback()
	}
	switch {
	case tlsConfig != nil:
		if cfg.Workers > 0 {
			if inner, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
				ln.Close()
				return nil, nil, fmt.Errorf("listen on loopback for the in-process workers: %w", err)
			}
		}
		ln = tls.NewListener(ln, tlsConfig)
	case loopback:
	case !cfg.Insecure:
		ln.Close()
		return nil, nil, fmt.Errorf("refusing to listen on %s without TLS: tokens and secrets would cross the network in clear text; "+
			"give --tls-cert and --tls-key, listen on loopback (--addr 127.0.0.1:8080, behind a TLS proxy), or pass --insecure to accept it", cfg.Addr)
	default:
		cfg.Logger.Warn("listening without TLS on an address other than loopback (--insecure): tokens, secrets and sources cross the network in clear text",
			"addr", ln.Addr().String())
	}
	return ln, inner, nil
}

func closeListeners(ls ...net.Listener) {
	for _, l := range ls {
		if l != nil {
			l.Close()
		}
	}
}
