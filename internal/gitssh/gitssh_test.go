package gitssh

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sluice-ci/sluice/internal/gitserver"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
)

// noKeys knows no key.
type noKeys struct{}

func (noKeys) SSHKeyByFingerprint(context.Context, string) (service.SSHKeyInfo, store.Token, error) {
	return service.SSHKeyInfo{}, store.Token{}, service.Errorf(service.CodeNotFound, "no such key")
}

type denyAll struct{}

func (denyAll) Authorize(*http.Request, string, gitserver.Access) (string, error) {
	return "", gitserver.ErrForbidden
}

func startServer(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	dir := t.TempDir()
	key, err := LoadHostKey(filepath.Join(dir, HostKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	repos, err := gitserver.New(filepath.Join(dir, "repos"), denyAll{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HostKey, cfg.Keys, cfg.Repos = key, noKeys{}, repos
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, ln.Addr().String()
}

// closedWithin reports whether the server closes c, on which the client
// sends nothing, within d: a read ends with EOF (or a reset).
func closedWithin(t *testing.T, c net.Conn, d time.Duration) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 512)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue // the server's version line
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return false
		}
		return true
	}
}

func TestHandshakeTimeout(t *testing.T) {
	_, addr := startServer(t, Config{HandshakeTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !closedWithin(t, c, 10*time.Second) {
		t.Fatal("a client that never completes the handshake is still connected")
	}
}

func TestConnectionLimit(t *testing.T) {
	_, addr := startServer(t, Config{MaxConnections: 1, HandshakeTimeout: time.Minute})
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	// The server's version line says the first connection holds the slot.
	line := make([]byte, len("SSH-2.0-sluice"))
	first.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(first, line); err != nil || string(line) != "SSH-2.0-sluice" {
		t.Fatalf("first connection: %q, %v", line, err)
	}
	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if !closedWithin(t, second, 10*time.Second) {
		t.Fatal("a connection over the limit was kept")
	}
	if closedWithin(t, first, 300*time.Millisecond) {
		t.Fatal("the first connection was closed")
	}
}

func TestUnknownKeyRefused(t *testing.T) {
	_, addr := startServer(t, Config{})
	signer, err := LoadHostKey(filepath.Join(t.TempDir(), "client_key"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User: "git", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
	if err == nil {
		t.Fatal("an unknown key was let in")
	}
}

func TestHostKeyKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), HostKeyFile)
	a, err := LoadHostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadHostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if ssh.FingerprintSHA256(a.PublicKey()) != ssh.FingerprintSHA256(b.PublicKey()) || a.PublicKey().Type() != ssh.KeyAlgoED25519 {
		t.Fatalf("host key changed or not ed25519: %s, %s", ssh.FingerprintSHA256(a.PublicKey()), ssh.FingerprintSHA256(b.PublicKey()))
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("host key file mode: %v, %v", fi, err)
	}
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadHostKey(path); err == nil {
		t.Fatal("a broken host key was taken (or replaced)")
	}
}

// Replicas sharing one host key file (--ssh-host-key-file) may start at the
// same moment with no key there yet: all of them must serve the one key the
// file ends up holding, or clients behind the load balancer see the host
// key change from one connection to the next.
func TestLoadHostKeyMadeOnceByReplicasStartingTogether(t *testing.T) {
	path := filepath.Join(t.TempDir(), HostKeyFile)
	const replicas = 8
	keys := make([]ssh.Signer, replicas)
	errs := make([]error, replicas)
	start := make(chan struct{})
	done := make(chan int)
	for i := range replicas {
		go func() {
			<-start
			keys[i], errs[i] = LoadHostKey(path)
			done <- i
		}()
	}
	close(start)
	for range replicas {
		<-done
	}
	again, err := LoadHostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	want := ssh.FingerprintSHA256(again.PublicKey())
	for i := range replicas {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		if got := ssh.FingerprintSHA256(keys[i].PublicKey()); got != want {
			t.Errorf("replica %d serves host key %s, the file holds %s", i, got, want)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("host key file mode %v, want 0600", fi.Mode().Perm())
	}
	if left, _ := filepath.Glob(path + ".tmp*"); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}
