package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

// exerciseTokens runs the contract of API tokens.
func exerciseTokens(t *testing.T, open Open) {
	parallel(t, open, []test{
		{"Tokens", testTokens},
	})
}

func testTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.Token(ctx, "h1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing token: %v", err)
	}
	must(t, s.PutToken(ctx, store.Token{Name: "admin", Hash: "h1", Policy: "admin", Created: t0}))
	tok, err := s.Token(ctx, "h1")
	must(t, err)
	if tok.Name != "admin" || tok.Policy != "admin" {
		t.Fatalf("token = %+v", tok)
	}
	// Putting a token of the same name replaces its secret.
	must(t, s.PutToken(ctx, store.Token{Name: "admin", Hash: "h2", Policy: "admin", Created: t0}))
	if _, err := s.Token(ctx, "h1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("old secret still valid: %v", err)
	}
	if _, err := s.Token(ctx, "h2"); err != nil {
		t.Fatal(err)
	}
	must(t, s.PutToken(ctx, store.Token{Name: "ci", Hash: "h3", Policy: "read", Created: t0}))
	all, err := s.Tokens(ctx)
	must(t, err)
	if len(all) != 2 || all[0].Name != "admin" || all[1].Name != "ci" || all[1].Policy != "read" || all[1].Hash != "" {
		t.Fatalf("tokens = %+v", all)
	}
	// A policy document and an expiry are kept with the token, and replaced
	// with it.
	doc := `{"Statement":[{"Effect":"Allow","Action":["sluice:Get*"],"Resource":["*"]}]}`
	exp := t0.Add(time.Hour)
	must(t, s.PutToken(ctx, store.Token{Name: "bot", Hash: "h4", Policy: "bot.yml", PolicyDocument: doc, Created: t0, Expires: exp}))
	bot, err := s.Token(ctx, "h4")
	must(t, err)
	if bot.Policy != "bot.yml" || bot.PolicyDocument != doc || !bot.Expires.Equal(exp) || !bot.Created.Equal(t0) {
		t.Fatalf("token with a document = %+v", bot)
	}
	must(t, s.PutToken(ctx, store.Token{Name: "bot", Hash: "h5", Policy: "viewer", Created: t0.Add(time.Minute)}))
	bot, err = s.Token(ctx, "h5")
	must(t, err)
	if bot.Policy != "viewer" || bot.PolicyDocument != "" || !bot.Expires.IsZero() || !bot.Created.Equal(t0.Add(time.Minute)) {
		t.Fatalf("replaced token = %+v", bot)
	}
	all, err = s.Tokens(ctx)
	must(t, err)
	if len(all) != 3 || all[1].Name != "bot" || all[1].Policy != "viewer" {
		t.Fatalf("tokens = %+v", all)
	}
	must(t, s.DeleteToken(ctx, "bot"))
	must(t, s.DeleteToken(ctx, "ci"))
	if _, err := s.Token(ctx, "h3"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted token still valid: %v", err)
	}
	if err := s.DeleteToken(ctx, "ci"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}
