package ui_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestSSHKeysPage: the console lists SSH keys, adds one through its form
// and deletes it; a viewer sees the list without the form and is refused a
// change it forges.
func TestSSHKeysPage(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.token("dev", "operator")
	viewerToken := ts.token("look", "viewer")
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + " dev@laptop"

	b := newBrowserless(t, ts.url)
	b.signIn(ts.admin)
	_, page := b.get("/ui/ssh-keys")
	for _, want := range []string{"No SSH keys yet", "does not serve SSH", `name="publicKey"`, `href="/ui/ssh-keys"`} {
		if !strings.Contains(page, want) {
			t.Errorf("ssh keys page lacks %q", want)
		}
	}
	resp, _ := b.post("/ui/ssh-keys", url.Values{"csrf": {b.csrf}, "name": {"laptop"}, "principal": {"dev"}, "publicKey": {line}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add key: %s", resp.Status)
	}
	_, page = b.get("/ui/ssh-keys")
	// html/template writes a fingerprint's + as &#43;: compare the text.
	page = html.UnescapeString(page)
	for _, want := range []string{"Added SSH key laptop for dev", "laptop", "dev@laptop", ssh.FingerprintSHA256(k), "/ui/ssh-keys/laptop/delete"} {
		if !strings.Contains(page, want) {
			t.Errorf("ssh keys page after the add lacks %q", want)
		}
	}
	// Bad input: an error naming the field, nothing added.
	resp, body := b.post("/ui/ssh-keys", url.Values{"csrf": {b.csrf}, "name": {"bad"}, "principal": {"dev"}, "publicKey": {"ssh-ed25519 nope"}}, "Accept", "application/json")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "publicKey") {
		t.Errorf("add a bad key: %s %s", resp.Status, body)
	}

	v := newBrowserless(t, ts.url)
	v.signIn(viewerToken)
	_, page = v.get("/ui/ssh-keys")
	if !strings.Contains(page, "laptop") || strings.Contains(page, `name="publicKey"`) || strings.Contains(page, "/delete") {
		t.Errorf("a viewer's page: want the list without the form or delete buttons")
	}
	resp, _ = v.post("/ui/ssh-keys/laptop/delete", url.Values{"csrf": {v.csrf}}, "Accept", "application/json")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a viewer's forged delete: %s, want 403", resp.Status)
	}

	resp, _ = b.post("/ui/ssh-keys/laptop/delete", url.Values{"csrf": {b.csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete key: %s", resp.Status)
	}
	l, err := ts.api.SSHKeys(context.Background())
	if err != nil || len(l.Keys) != 0 {
		t.Fatalf("keys after delete: %+v, %v", l.Keys, err)
	}
}
