package ecrsource_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/provider/ecrsource"
)

// A registry that asks for credentials (htpasswd, basic auth) is read with
// the action's CredentialsSecret; without it, or with a wrong one, the action
// fails saying so, and the secret never reaches the log or the error.
func TestCredentialsSecret(t *testing.T) {
	requireRegistry(t)
	const password = "s3cret-registry-pw"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte("ci:"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	url, stop, err := launch(registryBin, "auth:\n  htpasswd:\n    realm: sluice-test\n    path: "+htpasswd+"\n")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	digest, _ := pushImageTo(t, url, "ci:"+password, "private/app", "v1", "private layer")

	secrets := map[string]string{"reg": "ci:" + password + "\n", "wrong": "ci:not-it"}
	runWith := func(secret string) (provider.Result, string, error) {
		var log strings.Builder
		job := &provider.Job{
			Configuration: map[string]string{"RepositoryName": "private/app", "ImageTag": "v1", "RegistryUrl": url, "CredentialsSecret": secret},
			Outputs:       []provider.Output{{Name: "Image", Path: filepath.Join(t.TempDir(), "out.zip")}},
			Log:           &log,
			Secret: func(ctx context.Context, name string) ([]byte, error) {
				v, ok := secrets[name]
				if !ok {
					return nil, errors.New("no such secret")
				}
				return []byte(v), nil
			},
		}
		if secret == "" {
			delete(job.Configuration, "CredentialsSecret")
		}
		res, err := ecrsource.Provider{}.Run(t.Context(), job)
		return res, log.String(), err
	}
	res, log, err := runWith("reg")
	if err != nil || res.OutputVariables["ImageDigest"] != digest {
		t.Fatalf("with credentials: %v, %v; want %s", res.OutputVariables, err, digest)
	}
	if strings.Contains(log, password) {
		t.Errorf("the log shows the password:\n%s", log)
	}
	for secret, want := range map[string]string{"": "no credentials were given", "wrong": "credentials of CredentialsSecret were refused", "gone": "CredentialsSecret gone: no such secret"} {
		_, log, err := runWith(secret)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("secret %q: %v, want %q", secret, err, want)
		}
		if err != nil && strings.Contains(err.Error()+log, "not-it") {
			t.Errorf("secret %q: the error or log shows the secret: %v\n%s", secret, err, log)
		}
	}
	// The poller's reader takes the same secret.
	got, err := ecrsource.Digests{}.Digest(t.Context(), url, "private/app", "v1", []byte("ci:"+password))
	if err != nil || got != digest {
		t.Errorf("Digests with credentials: %s, %v; want %s", got, err, digest)
	}
}

// Credentials are not sent in the clear to a host other than the loopback.
func TestCredentialsNeedHTTPS(t *testing.T) {
	for _, u := range []string{"http://registry.example", "http://10.0.0.1:5000"} {
		c, err := ecrsource.NewClient(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.WithCredentials([]byte("u:p")); err == nil || !strings.Contains(err.Error(), "only over https") {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"https://registry.example", "http://127.0.0.1:5000", "http://localhost:5000"} {
		c, _ := ecrsource.NewClient(u, nil)
		if _, err := c.WithCredentials([]byte("u:p")); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}
