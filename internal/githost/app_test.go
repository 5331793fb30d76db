package githost

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestInstallationToken: GitHub cannot run here, so a server answers
// POST /api/v3/app/installations/{id}/access_tokens as GitHub's REST
// reference documents it ("Create an installation access token for an app":
// 201 with {"token", "expires_at"}), after checking the JWT the way GitHub
// does: RS256 with the app's public key, iss the app's id, iat in the past
// and exp at most ten minutes on.
func TestInstallationToken(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	now := time.Now()
	var calls atomic.Int32
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/api/v3/app/installations/") {
			t.Errorf("%s %s", r.Method, r.URL.Path)
		}
		raw := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		claims := &jwt.RegisteredClaims{}
		_, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
			jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(func() time.Time { return now }))
		if err != nil || claims.Issuer != "12" || claims.ExpiresAt.Sub(claims.IssuedAt.Time) > 10*time.Minute {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"message":"A JSON web token could not be decoded"}`))
			return
		}
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"token":"ghs_16C7e42F292c6912E7710c838347Ae178B4a","expires_at":"` + now.Add(time.Hour).UTC().Format(time.RFC3339) + `","permissions":{"statuses":"write"}}`))
	}))
	defer gh.Close()
	app := App{ID: 12, InstallationID: 77, PrivateKey: pemKey}
	tok, err := InstallationToken(context.Background(), gh.Client(), gh.URL, app, now)
	if err != nil || tok != "ghs_16C7e42F292c6912E7710c838347Ae178B4a" {
		t.Fatalf("token %q, %v", tok, err)
	}
	// Cached until shortly before it expires.
	if tok2, err := InstallationToken(context.Background(), gh.Client(), gh.URL, app, now.Add(30*time.Minute)); err != nil || tok2 != tok || calls.Load() != 1 {
		t.Fatalf("second token %q %v after %d calls", tok2, err, calls.Load())
	}
	if _, err := InstallationToken(context.Background(), gh.Client(), gh.URL, app, now.Add(58*time.Minute)); err != nil || calls.Load() != 2 {
		t.Fatalf("a token about to expire was not renewed: %v, %d calls", err, calls.Load())
	}

	// Another app's key is refused by the host; the error says so without
	// quoting a key or a token.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	wrong := App{ID: 12, InstallationID: 78, PrivateKey: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)})}
	_, err = InstallationToken(context.Background(), gh.Client(), gh.URL, wrong, now)
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") || strings.Contains(err.Error(), "PRIVATE KEY") || !IsPermanent(err) {
		t.Fatalf("wrong key: %v", err)
	}
	if _, err := InstallationToken(context.Background(), gh.Client(), gh.URL, App{ID: 1, InstallationID: 2, PrivateKey: []byte("not a key")}, now); err == nil || !strings.Contains(err.Error(), "not a PEM RSA key") {
		t.Fatalf("bad key: %v", err)
	}
}
