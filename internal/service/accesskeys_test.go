package service_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/auth"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/store/sqlite"
)

// An access key's secret is stored sealed, bound to its key id (a stored
// secret moved to another id does not open) and to its token's hash.
func TestAccessKeys(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := service.New(st, nil, service.Config{Lease: 30 * time.Second, SecretKey: bytes.Repeat([]byte{9}, service.SecretKeySize)})
	admin, _ := iam.ReadyMade("admin")
	tokenA, _, err := svc.CreateToken(ctx, service.TokenRequest{Name: "a", Policy: "viewer", Holder: admin})
	if err != nil {
		t.Fatal(err)
	}
	tokenB, _, err := svc.CreateToken(ctx, service.TokenRequest{Name: "b", Policy: "viewer", Holder: admin})
	if err != nil {
		t.Fatal(err)
	}
	keyA, err := svc.CreateAccessKey(ctx, tokenA)
	if err != nil {
		t.Fatal(err)
	}
	keyB, err := svc.CreateAccessKey(ctx, tokenB)
	if err != nil {
		t.Fatal(err)
	}
	if !service.IsAccessKeyID(keyA.ID) || keyA.ID == keyB.ID || keyA.Secret == keyB.Secret {
		t.Fatalf("keys %+v %+v", keyA, keyB)
	}
	secret, hash, err := svc.AccessKeySecret(ctx, keyA.ID)
	if err != nil || secret != keyA.Secret || hash != auth.HashToken(tokenA) {
		t.Fatalf("key a: %q %q %v", secret, hash, err)
	}
	// Nothing of the secret is in the database in clear.
	row, err := st.Definition(ctx, store.KindAccessKey, keyA.ID)
	if err != nil || strings.Contains(string(row.Document), keyA.Secret) {
		t.Fatalf("stored key: %s %v", row.Document, err)
	}
	// B's stored document under A's id does not open.
	rowB, err := st.Definition(ctx, store.KindAccessKey, keyB.ID)
	if err != nil {
		t.Fatal(err)
	}
	rowB.Name = keyA.ID
	if err := st.PutDefinition(ctx, rowB); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.AccessKeySecret(ctx, keyA.ID); err == nil || !strings.Contains(err.Error(), "cannot be decrypted") {
		t.Fatalf("a swapped key opened: %v", err)
	}
	if _, err := svc.CreateAccessKey(ctx, "sluice_not-a-token"); service.ErrorCode(err) != service.CodeNotFound {
		t.Fatalf("a key for no token: %v", err)
	}
	// Revoking the token takes its keys away.
	if err := svc.RevokeToken(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.AccessKeySecret(ctx, keyB.ID); service.ErrorCode(err) != service.CodeNotFound {
		t.Fatalf("a revoked token's key: %v", err)
	}
}
