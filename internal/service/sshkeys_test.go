package service_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store/sqlite"
)

func authorizedKey(t *testing.T, pub any, comment string) []byte {
	t.Helper()
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
	return []byte(line + " " + comment + "\n")
}

// TestSSHKeys: keys are checked, stand for a token, are refused for one
// stronger than the caller, are unique by fingerprint, and stop working when
// deleted or when their token is revoked.
func TestSSHKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	arts, err := artifact.NewDisk(filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(st, arts, service.Config{Lease: 30 * time.Second, SecretKey: make([]byte, service.SecretKeySize)})
	admin, _ := iam.ReadyMade("admin")
	viewer, _ := iam.ReadyMade("viewer")
	for name, policy := range map[string]string{"dev": "operator", "look": "viewer"} {
		if _, _, err := svc.CreateToken(ctx, service.TokenRequest{Name: name, Policy: policy, Holder: admin}); err != nil {
			t.Fatal(err)
		}
	}
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	ed := authorizedKey(t, edPub, "dev@laptop")
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)

	for _, tc := range []struct {
		name string
		req  service.SSHKeyRequest
		want string
	}{
		{"bad name", service.SSHKeyRequest{Name: "a b", Principal: "dev", PublicKey: ed, Holder: admin}, "not a key name"},
		{"no key", service.SSHKeyRequest{Name: "k", Principal: "dev", PublicKey: []byte("  \n"), Holder: admin}, "empty"},
		{"garbage", service.SSHKeyRequest{Name: "k", Principal: "dev", PublicKey: []byte("ssh-ed25519 notbase64"), Holder: admin}, "not an OpenSSH public key"},
		{"private key", service.SSHKeyRequest{Name: "k", Principal: "dev", PublicKey: []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n"), Holder: admin}, "private key"},
		{"two keys", service.SSHKeyRequest{Name: "k", Principal: "dev", PublicKey: append(append([]byte{}, ed...), ed...), Holder: admin}, "more than one line"},
		{"options", service.SSHKeyRequest{Name: "k", Principal: "dev", PublicKey: append([]byte("command=\"id\" "), ed...), Holder: admin}, "options"},
		{"short rsa", service.SSHKeyRequest{Name: "k", Principal: "dev", PublicKey: authorizedKey(t, &small.PublicKey, ""), Holder: admin}, "at least 2048 bits"},
		{"no principal", service.SSHKeyRequest{Name: "k", PublicKey: ed, Holder: admin}, "principal: missing"},
		{"missing token", service.SSHKeyRequest{Name: "k", Principal: "ghost", PublicKey: ed, Holder: admin}, "token ghost not found"},
		{"stronger token", service.SSHKeyRequest{Name: "k", Principal: "dev", PublicKey: ed, Holder: viewer, HolderName: "look"}, "you can hand on only what you hold"},
	} {
		if _, err := svc.AddSSHKey(ctx, tc.req); err == nil || !strings.Contains(service.ErrorMessage(err), tc.want) {
			t.Errorf("%s: AddSSHKey = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	if keys, _ := svc.SSHKeys(ctx); len(keys) != 0 {
		t.Fatalf("keys after refused adds: %+v", keys)
	}

	k, err := svc.AddSSHKey(ctx, service.SSHKeyRequest{Name: "laptop", Principal: "dev", PublicKey: ed, Holder: admin})
	if err != nil {
		t.Fatal(err)
	}
	if k.Type != "ssh-ed25519" || !strings.HasPrefix(k.Fingerprint, "SHA256:") || k.Comment != "dev@laptop" || strings.Contains(k.PublicKey, "dev@laptop") {
		t.Errorf("added key = %+v", k)
	}
	// A viewer may add a key for a viewer.
	if _, err := svc.AddSSHKey(ctx, service.SSHKeyRequest{Name: "look-key", Principal: "look", PublicKey: authorizedKey(t, &ecKey.PublicKey, ""), Holder: viewer}); err != nil {
		t.Errorf("a viewer's key for a viewer: %v", err)
	}
	if _, err := svc.AddSSHKey(ctx, service.SSHKeyRequest{Name: "laptop", Principal: "look", PublicKey: authorizedKey(t, edPub2(t), ""), Holder: admin}); service.ErrorCode(err) != service.CodeConflict {
		t.Errorf("second key of the same name: %v, want a conflict", err)
	}
	if _, err := svc.AddSSHKey(ctx, service.SSHKeyRequest{Name: "again", Principal: "look", PublicKey: ed, Holder: admin}); err == nil || !strings.Contains(err.Error(), "added already, as laptop for dev") {
		t.Errorf("same key twice: %v", err)
	}

	got, tok, err := svc.SSHKeyByFingerprint(ctx, k.Fingerprint)
	if err != nil || got.Name != "laptop" || tok.Name != "dev" || tok.Policy != "operator" {
		t.Fatalf("SSHKeyByFingerprint = %+v, %+v, %v", got, tok, err)
	}
	// The token revoked: the key stands for nothing.
	if err := svc.RevokeToken(ctx, "dev"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.SSHKeyByFingerprint(ctx, k.Fingerprint); service.ErrorCode(err) != service.CodeNotFound {
		t.Errorf("key of a revoked token: %v, want not found", err)
	}
	if err := svc.DeleteSSHKey(ctx, "laptop"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.SSHKeyByFingerprint(ctx, k.Fingerprint); service.ErrorCode(err) != service.CodeNotFound || !strings.Contains(err.Error(), "no ssh key") {
		t.Errorf("deleted key: %v, want not found", err)
	}
	if err := svc.DeleteSSHKey(ctx, "laptop"); service.ErrorCode(err) != service.CodeNotFound {
		t.Errorf("deleting a deleted key: %v", err)
	}
}

func edPub2(t *testing.T) ed25519.PublicKey {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}
