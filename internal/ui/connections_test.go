package ui_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestConnectionsPage: the console lists connections with the name of the
// secret holding their keys, never the keys.
func TestConnectionsPage(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ctx := context.Background()
	const keys = `{"accessKeyId":"AKIAUITESTKEY0000001","secretAccessKey":"ui-secret-value"}`
	if err := ts.api.PutSecret(ctx, "aws-ui", []byte(keys)); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.api.ApplyConnection(ctx, "c.yml", []byte("name: prod\nkind: aws\nregion: eu-west-1\ncredentials: {secret: aws-ui}\nrole: {arn: 'arn:aws:iam::123456789012:role/deployer'}\n")); err != nil {
		t.Fatal(err)
	}
	b := newBrowserless(t, ts.url)
	b.signIn(ts.admin)
	resp, body := b.get("/ui/connections")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ui/connections: %s", resp.Status)
	}
	for _, want := range []string{"prod", "eu-west-1", "aws-ui", "arn:aws:iam::123456789012:role/deployer", `href="/ui/connections"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page has no %q", want)
		}
	}
	for _, leak := range []string{"AKIAUITEST", "ui-secret-value"} {
		if strings.Contains(body, leak) {
			t.Errorf("the page shows %s", leak)
		}
	}
}
