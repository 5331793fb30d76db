package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/server"
	"github.com/sluice-ci/sluice/internal/wire"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and localhost,
// and its key, into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sluice test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// syncLog is a log written by the server's goroutines and read by the test.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func run(t *testing.T, cfg server.Config) (*server.Server, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := server.Open(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
		s.Close()
	})
	// Run writes the URL file once it serves.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, server.URLFile)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not start")
		}
	}
	token, err := os.ReadFile(filepath.Join(cfg.DataDir, server.AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	return s, strings.TrimSpace(string(token))
}

// TestRefusesClearTextOffLoopback: away from loopback, no TLS means no
// start unless --insecure, which is then said in a WARN line.
func TestRefusesClearTextOffLoopback(t *testing.T) {
	dir := t.TempDir()
	_, err := server.Open(context.Background(), server.Config{DataDir: dir, Addr: "0.0.0.0:0", Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "refusing to listen on 0.0.0.0:0 without TLS") || !strings.Contains(err.Error(), "--insecure") {
		t.Fatalf("open without TLS off loopback: %v", err)
	}

	var log syncLog
	s, token := run(t, server.Config{DataDir: t.TempDir(), Addr: "0.0.0.0:0", Insecure: true, Workers: 0,
		Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "without TLS") {
		t.Errorf("no warning in the log:\n%s", log.String())
	}
	_, port, _ := net.SplitHostPort(s.Addr())
	if _, err := client.New("http://127.0.0.1:"+port, token).Pipelines(context.Background()); err != nil {
		t.Errorf("insecure server: %v", err)
	}
	// Loopback needs nothing.
	run(t, server.Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
}

// TestTLS: with a certificate the server speaks HTTPS only, off loopback
// too; a client trusts it through its RootCAs; the in-process workers run
// jobs all the same.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	if _, err := server.Open(context.Background(), server.Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0", TLSCert: certFile,
		Logger: slog.New(slog.DiscardHandler)}); err == nil || !strings.Contains(err.Error(), "--tls-cert and --tls-key go together") {
		t.Fatalf("a certificate without its key: %v", err)
	}
	var log syncLog
	s, token := run(t, server.Config{DataDir: filepath.Join(dir, "data"), Addr: "0.0.0.0:0", TLSCert: certFile, TLSKey: keyFile,
		Workers: 1, Lease: 3 * time.Second, SweepInterval: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if strings.Contains(log.String(), "level=WARN") {
		t.Errorf("a warning with TLS:\n%s", log.String())
	}
	_, port, _ := net.SplitHostPort(s.Addr())
	url := "https://127.0.0.1:" + port
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Errorf("URL %s", s.URL())
	}
	ctx := context.Background()

	// Without the certificate in its roots a client refuses the server.
	_, err := client.New(url, token).Pipelines(ctx)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("a client that does not trust the certificate: %v", err)
	}
	// Plain HTTP gets nowhere.
	if resp, err := http.Get("http://127.0.0.1:" + port + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the TLS port: %d", resp.StatusCode)
		}
	}

	c := client.New(url, token, client.WithRootCAs(pool))
	if _, err := c.ApplyPipeline(ctx, "p.yml", []byte("name: p\nstages:\n  - name: S\n    actions:\n      - name: a\n        provider: Noop\n"), false); err != nil {
		t.Fatal(err)
	}
	started, err := c.Start(ctx, "p", wire.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if e := waitEnd(t, c, "p", started); e.Status != "Succeeded" {
		t.Errorf("execution over TLS: %s", e.Status)
	}

	// LoadCAFile is how the CLI and workers get that pool (--ca-cert).
	loaded, err := client.LoadCAFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.New(url, token, client.WithRootCAs(loaded)).Pipelines(ctx); err != nil {
		t.Errorf("with LoadCAFile: %v", err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if _, err := client.New(url, token, client.WithHTTPClient(hc)).Pipelines(ctx); err != nil {
		t.Errorf("with WithHTTPClient: %v", err)
	}
	if _, err := client.LoadCAFile(keyFile); err == nil {
		t.Error("LoadCAFile took a key for a certificate")
	}
}
