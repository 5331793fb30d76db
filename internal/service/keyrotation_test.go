package service_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store/postgres"
)

// TestSecretKeyRotationAcrossReplicas follows docs/OPERATIONS.md's rotation
// with two replicas on one PostgreSQL: both on the old key; both on the new
// key with the old one decrypting (one is started while the other still
// runs, and each reads what the other wrote); a re-encryption on one
// replica, run twice (the second moves nothing); then both on the new key
// alone. No secret or access key is lost along the way; a replica given a
// wrong key reports clear errors that name the secret and never the value,
// in its answers and its log.
func TestSecretKeyRotationAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	dsn := sharedPostgres(t).FreshDB(t)
	oldKey, newKey, wrongKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32)
	// One logger for every replica: its handler serialises their lines.
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	replica := func(key []byte, decrypt ...[]byte) *service.Service {
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return service.New(st, nil, service.Config{Lease: 30 * time.Second, SecretKey: key, DecryptKeys: decrypt, Logger: logger})
	}
	values := map[string]string{}
	put := func(svc *service.Service, name string) {
		t.Helper()
		v := "value-of-" + name + "-" + strings.Repeat("x", len(values))
		if err := svc.PutSecret(ctx, name, []byte(v)); err != nil {
			t.Fatal(err)
		}
		values[name] = v
	}
	readAll := func(who string, svc *service.Service) {
		t.Helper()
		for name, want := range values {
			got, err := svc.MirrorSecret(ctx, name)
			if err != nil || string(got) != want {
				t.Fatalf("%s reads secret %s: %q, %v", who, name, got, err)
			}
		}
	}

	// 1. Both replicas on the old key.
	a, b := replica(oldKey), replica(oldKey)
	put(a, "db/password")
	put(b, "deploy/token")
	admin, _ := iam.ReadyMade("admin")
	tok, _, err := a.CreateToken(ctx, service.TokenRequest{Name: "ci", Policy: "viewer", Holder: admin})
	if err != nil {
		t.Fatal(err)
	}
	ak, err := a.CreateAccessKey(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	readAll("a", a)
	readAll("b", b)

	// 2. Rolling restart onto the new key, the old one decrypting: b first,
	// while a still runs on the old key alone.
	b = replica(newKey, oldKey)
	put(b, "written/during/rotation") // under the new key
	readAll("b (new+old)", b)
	a = replica(newKey, oldKey)
	readAll("a (new+old)", a)
	if secret, _, err := b.AccessKeySecret(ctx, ak.ID); err != nil || secret != ak.Secret {
		t.Fatalf("access key through b during the rotation: %v", err)
	}

	// 3. Re-encrypt, from one replica, while the other serves; twice.
	rep, err := a.ReencryptSecrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Reencrypted) != 3 || rep.Current != 1 || len(rep.Failed) != 0 {
		t.Fatalf("first pass = %+v, want the 2 old secrets and the access key moved, 1 current", rep)
	}
	rep, err = b.ReencryptSecrets(ctx)
	if err != nil || len(rep.Reencrypted) != 0 || rep.Current != 4 || len(rep.Failed) != 0 {
		t.Fatalf("second pass = %+v, %v; want nothing moved", rep, err)
	}

	// 4. Both on the new key alone: everything still opens.
	a, b = replica(newKey), replica(newKey)
	readAll("a (new)", a)
	readAll("b (new)", b)
	if secret, _, err := a.AccessKeySecret(ctx, ak.ID); err != nil || secret != ak.Secret {
		t.Fatalf("access key on the new key alone: %v", err)
	}
	if bad, total, err := b.UndecryptableSecrets(ctx); err != nil || len(bad) != 0 || total != 4 {
		t.Fatalf("undecryptable on the new key = %v of %d, %v", bad, total, err)
	}

	// A replica given the wrong key: clear errors, never a value.
	w := replica(wrongKey)
	_, err = w.MirrorSecret(ctx, "db/password")
	if err == nil || !strings.Contains(err.Error(), "secret db/password cannot be decrypted") || !strings.Contains(err.Error(), "none of this server's secret keys") {
		t.Fatalf("wrong key: %v", err)
	}
	bad, total, err := w.UndecryptableSecrets(ctx)
	if err != nil || len(bad) != 4 || total != 4 {
		t.Fatalf("undecryptable with a wrong key = %v of %d, %v", bad, total, err)
	}
	rep, err = w.ReencryptSecrets(ctx)
	if err != nil || len(rep.Failed) != 4 || len(rep.Reencrypted) != 0 {
		t.Fatalf("re-encryption with a wrong key = %+v, %v; want 4 failures and nothing rewritten", rep, err)
	}
	readAll("a after the wrong key's pass", a)
	for _, f := range rep.Failed {
		text := fmt.Sprint(f)
		for _, v := range values {
			if strings.Contains(text, v) {
				t.Fatalf("a failure shows a value: %s", text)
			}
		}
	}
	for _, v := range append(mapValues(values), ak.Secret) {
		if strings.Contains(logs.String(), v) {
			t.Fatalf("the log shows a secret value:\n%s", logs.String())
		}
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestJobTokenSurvivesRotation: a job token (a function's, derived from the
// secret key) given out before a rotation still verifies while the old key
// decrypts, and no longer once it is gone.
func TestJobTokenSurvivesRotation(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	before := service.New(nil, nil, service.Config{SecretKey: oldKey})
	tok := before.JobToken("job-1")
	during := service.New(nil, nil, service.Config{SecretKey: newKey, DecryptKeys: [][]byte{oldKey}})
	if id, ok := during.JobOfToken(tok); !ok || id != "job-1" {
		t.Fatalf("a job token from before the rotation: %q, %v", id, ok)
	}
	if id, ok := during.JobOfToken(during.JobToken("job-2")); !ok || id != "job-2" {
		t.Fatal("a job token made during the rotation does not verify")
	}
	after := service.New(nil, nil, service.Config{SecretKey: newKey})
	if _, ok := after.JobOfToken(tok); ok {
		t.Fatal("a token of a key rotated away still verifies")
	}
}
