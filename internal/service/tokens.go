package service

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/auth"
	"github.com/sluice-ci/sluice/internal/store"
)

var tokenName = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

// TokenInfo is what may be shown of a token: never its secret.
type TokenInfo struct {
	Name    string    `json:"name"`
	Policy  string    `json:"policy"`
	Created time.Time `json:"created"`
}

// CreateToken makes a token and returns its secret, which is shown this once:
// only its hash is kept. A token of the same name is replaced.
func (s *Service) CreateToken(ctx context.Context, name, policy string) (string, error) {
	switch {
	case !tokenName.MatchString(name):
		return "", Errorf(CodeInvalid, "name: %q is not a token name (1-64 of letters, digits and ._@-)", name)
	case reservedToken(name):
		return "", Errorf(CodeInvalid, "name: %s is sluice's own token", name)
	case !auth.ValidPolicy(policy):
		return "", Errorf(CodeInvalid, "policy: %q is not admin, read or worker", policy)
	}
	secret := auth.NewToken()
	err := s.store.PutToken(ctx, store.Token{Name: name, Hash: auth.HashToken(secret), Policy: policy, Created: s.now()})
	return secret, err
}

// reservedToken reports whether a token is the server's own: the admin token of
// the data directory and the in-process workers'.
func reservedToken(name string) bool {
	return name == "admin" || strings.HasPrefix(name, "in-process-worker@")
}

// Tokens lists the tokens.
func (s *Service) Tokens(ctx context.Context) ([]TokenInfo, error) {
	rows, err := s.store.Tokens(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]TokenInfo, 0, len(rows))
	for _, t := range rows {
		out = append(out, TokenInfo{Name: t.Name, Policy: t.Policy, Created: t.Created})
	}
	return out, nil
}

// DeleteToken revokes a token at once.
func (s *Service) DeleteToken(ctx context.Context, name string) error {
	if reservedToken(name) {
		return Errorf(CodeInvalid, "name: %s is sluice's own token and cannot be deleted", name)
	}
	err := s.store.DeleteToken(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return Errorf(CodeNotFound, "token %s not found", name)
	}
	return err
}
