package ui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/wire"
)

// TestReposPageShowsMirrors: the repositories page shows each mirror and
// how it fares: a push mirror to a remote that refuses connections is
// shown failing, with git's error.
func TestReposPageShowsMirrors(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ctx := context.Background()
	if _, err := ts.api.CreateRepo(ctx, "app", ""); err != nil {
		t.Fatal(err)
	}
	// Port 1 on loopback: nothing listens there.
	if _, err := ts.api.PutMirror(ctx, "app", "backup", wire.PutMirrorRequest{URL: "git://127.0.0.1:1/app.git", Direction: "push"}); err != nil {
		t.Fatal(err)
	}
	b := newBrowserless(t, ts.url)
	b.signIn(ts.admin)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, page := b.get("/ui/repos")
		if strings.Contains(page, "git://127.0.0.1:1/app.git") && strings.Contains(page, "failing (") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the repositories page does not show the failing mirror:\n%s", page)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
