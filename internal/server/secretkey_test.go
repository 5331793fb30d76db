package server

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretKeyFrom: the shared key comes from the environment (base64) or a
// file (raw bytes); a wrong one is refused naming where it came from, and
// never echoed.
func TestSecretKeyFrom(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	dir := t.TempDir()
	good := filepath.Join(dir, "key")
	short := filepath.Join(dir, "short")
	os.WriteFile(good, key, 0o600)
	os.WriteFile(short, key[:31], 0o600)

	if got, err := secretKeyFrom("", base64.StdEncoding.EncodeToString(key)+"\n"); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("from the environment: %x %v", got, err)
	}
	if got, err := secretKeyFrom(good, ""); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("from a file: %x %v", got, err)
	}
	if got, err := secretKeyFrom("", ""); got != nil || err != nil {
		t.Fatalf("neither: %x %v", got, err)
	}
	for _, tc := range []struct{ file, env, want string }{
		{"", "not base64 at all!", "SLUICE_SECRET_KEY: not base64"},
		{"", base64.StdEncoding.EncodeToString(key[:16]), "SLUICE_SECRET_KEY: want 32 bytes once decoded, found 16"},
		{short, "", "--secret-key-file " + short + ": want 32 bytes, found 31"},
		{filepath.Join(dir, "missing"), "", "--secret-key-file: open " + filepath.Join(dir, "missing")},
	} {
		_, err := secretKeyFrom(tc.file, tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("secretKeyFrom(%q, %q) = %v, want %q", tc.file, tc.env, err, tc.want)
		}
		if tc.env != "" && err != nil && strings.Contains(err.Error(), tc.env) {
			t.Errorf("the error repeats the key: %v", err)
		}
	}
}
