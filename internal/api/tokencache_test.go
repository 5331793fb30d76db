package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sluice-ci/sluice/internal/api"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/service"
)

// The API finds tokens through the service, which remembers them: a
// token revoked or rotated is refused by the very next request, and a
// token created after a lookup missed works at once.
func TestRememberedTokenRevokedAtOnce(t *testing.T) {
	ctx := context.Background()
	st, svc := newService(t)
	srv := httptest.NewServer(api.New(svc, svc, nil, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	status := func(token string) int {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/pipelines", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	admin, _ := iam.ReadyMade(iam.PolicyAdmin)
	create := func(name string) string {
		secret, _, err := svc.CreateToken(ctx, service.TokenRequest{Name: name, Policy: iam.PolicyViewer, Holder: admin})
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}

	a := create("a")
	for range 3 {
		if got := status(a); got != http.StatusOK {
			t.Fatalf("token a: %d", got)
		}
	}
	if err := svc.RevokeToken(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if got := status(a); got != http.StatusUnauthorized {
		t.Fatalf("revoked token a, the next request: %d, want 401", got)
	}

	b := create("b")
	if got := status(b); got != http.StatusOK {
		t.Fatalf("token b: %d", got)
	}
	fresh, _, err := svc.RotateToken(ctx, service.TokenRequest{Name: "b", Policy: iam.PolicyViewer, Holder: admin})
	if err != nil {
		t.Fatal(err)
	}
	if got := status(b); got != http.StatusUnauthorized {
		t.Fatalf("rotated token b's old secret: %d, want 401", got)
	}
	if got := status(fresh); got != http.StatusOK {
		t.Fatalf("rotated token b's new secret: %d", got)
	}

	// A secret unknown when first tried is not remembered as unknown.
	if got := status("sluice_not_yet"); got != http.StatusUnauthorized {
		t.Fatalf("unknown token: %d", got)
	}
	c := create("c")
	if got := status(c); got != http.StatusOK {
		t.Fatalf("token created after a miss: %d", got)
	}

	// Another replica's change, announced: everything is forgotten.
	d := create("d")
	status(d)
	if err := st.DeleteToken(ctx, "d"); err != nil { // as another replica would
		t.Fatal(err)
	}
	svc.Wake(service.ChangeTokens)
	if got := status(d); got != http.StatusUnauthorized {
		t.Fatalf("token revoked by another replica, after its notification: %d, want 401", got)
	}
}
