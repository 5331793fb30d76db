package service

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"github.com/sluice-ci/sluice/internal/auth"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/store"
)

var tokenName = lazyregexp.New(`^[A-Za-z0-9._@-]{1,64}$`)

// maxPolicyDocument bounds a policy document.
const maxPolicyDocument = 64 << 10

// TokenInfo is what may be shown of a token: never its secret.
type TokenInfo struct {
	Name    string    `json:"name"`
	Policy  string    `json:"policy"`
	Created time.Time `json:"created"`
	// Expires is when the token stops working; absent for never.
	Expires *time.Time `json:"expires,omitempty"`
	// PolicyDocument is the policy a token was given as a document.
	PolicyDocument json.RawMessage `json:"policyDocument,omitempty"`
}

// TokenRequest asks for a token.
type TokenRequest struct {
	Name string
	// Policy names a ready-made policy (iam.ReadyMade), or, with Document,
	// the file the document came from (used in messages and shown by
	// `sluice token list`).
	Policy string
	// Document is a policy document in JSON or YAML (iam.Parse).
	Document []byte
	// ExpiresIn is how long the token works; 0 for ever.
	ExpiresIn time.Duration
	// Holder is the policy of whoever asks, HolderName its name: the new
	// policy must allow nothing Holder does not (iam.Covers). A nil Holder
	// holds nothing.
	Holder     *iam.Policy
	HolderName string
}

// CreateToken makes a token and returns its secret, which is shown this once:
// only its hash is kept. A name in use is a conflict (RotateToken gives a
// token a new secret). A ready-made policy is kept by name (so a newer
// sluice's definition applies to it); a document is kept as JSON. The
// creator hands on only what it holds: req.Holder must allow everything the
// new token's policy allows (iam.Covers).
func (s *Service) CreateToken(ctx context.Context, req TokenRequest) (string, TokenInfo, error) {
	switch {
	case pipeline.CheckName(req.Name) != nil:
		return "", TokenInfo{}, Errorf(CodeInvalid, "name: %v", pipeline.CheckName(req.Name))
	case !tokenName.MatchString(req.Name):
		return "", TokenInfo{}, Errorf(CodeInvalid, "name: %q is not a token name (1-64 of letters, digits and ._@-)", req.Name)
	case reservedToken(req.Name):
		return "", TokenInfo{}, Errorf(CodeInvalid, "name: %s is sluice's own token", req.Name)
	}
	if _, err := s.tokenByName(ctx, req.Name); err == nil {
		return "", TokenInfo{}, Errorf(CodeConflict, "token %s exists already: revoke it first, or give it a new secret with `sluice token rotate %s`", req.Name, req.Name)
	} else if ErrorCode(err) != CodeNotFound {
		return "", TokenInfo{}, err
	}
	t := store.Token{Name: req.Name, Created: s.now()}
	return s.issueToken(ctx, t, req)
}

// RotateToken gives an existing token a new secret; the old one stops
// working at once. The token keeps its policy unless req names one (then the
// cover rule applies as for CreateToken), and its expiry unless req gives a
// lifetime.
func (s *Service) RotateToken(ctx context.Context, req TokenRequest) (string, TokenInfo, error) {
	if reservedToken(req.Name) {
		return "", TokenInfo{}, Errorf(CodeInvalid, "name: %s is sluice's own token", req.Name)
	}
	old, err := s.tokenByName(ctx, req.Name)
	if err != nil {
		return "", TokenInfo{}, err
	}
	t := store.Token{Name: old.Name, Created: s.now()}
	if req.Policy == "" && len(req.Document) == 0 {
		// A stored document is JSON, which reads as YAML whatever its name.
		req.Policy, req.Document = old.Policy, []byte(old.PolicyDocument)
	}
	if req.ExpiresIn == 0 && !old.Expires.IsZero() {
		req.ExpiresIn = old.Expires.Sub(old.Created)
	}
	return s.issueToken(ctx, t, req)
}

// issueToken checks req's policy against its holder, and stores t with it
// and a new secret.
func (s *Service) issueToken(ctx context.Context, t store.Token, req TokenRequest) (string, TokenInfo, error) {
	if req.ExpiresIn < 0 {
		return "", TokenInfo{}, Errorf(CodeInvalid, "expires: %s is in the past; give how long the token is to work, such as 720h", req.ExpiresIn)
	}
	t.Policy = req.Policy
	var granted *iam.Policy
	if len(req.Document) == 0 {
		p, ok := iam.ReadyMade(req.Policy)
		if !ok {
			return "", TokenInfo{}, Errorf(CodeInvalid, "policy: %q is not a ready-made policy (%s); give a policy document otherwise",
				req.Policy, strings.Join(iam.ReadyMadeNames(), ", "))
		}
		granted = p
	} else {
		if len(req.Document) > maxPolicyDocument {
			return "", TokenInfo{}, Errorf(CodeInvalid, "policy document: larger than %d bytes", maxPolicyDocument)
		}
		if t.Policy == "" {
			t.Policy = "policy.json"
		}
		if _, ready := iam.ReadyMade(filepath.Base(t.Policy)); ready {
			return "", TokenInfo{}, Errorf(CodeInvalid, "policy: %s is a ready-made policy's name; name the policy document's file otherwise", filepath.Base(t.Policy))
		}
		p, err := iam.Parse(t.Policy, req.Document)
		if err != nil {
			return "", TokenInfo{}, Errorf(CodeInvalid, "%s", err.Error())
		}
		doc, err := json.Marshal(p)
		if err != nil {
			return "", TokenInfo{}, err
		}
		t.Policy, t.PolicyDocument = filepath.Base(t.Policy), string(doc)
		granted = p
	}
	if ok, why := iam.Covers(req.Holder, granted); !ok {
		return "", TokenInfo{}, Errorf(CodeForbidden, "token %s may not hand on policy %s: it allows %s, which %s does not hold (you can hand on only what you hold)",
			t.Name, iam.Describe(t.Policy, t.PolicyDocument), why, holderName(req.HolderName))
	}
	if req.ExpiresIn > 0 {
		t.Expires = t.Created.Add(req.ExpiresIn).Truncate(time.Millisecond)
	}
	secret := auth.NewToken()
	t.Hash = auth.HashToken(secret)
	err := s.store.PutToken(ctx, t)
	// Forgotten even when the write failed: it may have been committed.
	s.TokensChanged()
	if err != nil {
		return "", TokenInfo{}, err
	}
	return secret, tokenInfo(t), nil
}

func holderName(name string) string {
	if name == "" {
		return "the caller"
	}
	return "token " + name
}

// tokenByName finds a stored token by its name.
func (s *Service) tokenByName(ctx context.Context, name string) (store.Token, error) {
	rows, err := s.store.Tokens(ctx)
	if err != nil {
		return store.Token{}, err
	}
	for _, t := range rows {
		if t.Name == name {
			return t, nil
		}
	}
	return store.Token{}, Errorf(CodeNotFound, "token %s not found", name)
}

func tokenInfo(t store.Token) TokenInfo {
	info := TokenInfo{Name: t.Name, Policy: t.Policy, Created: t.Created}
	if !t.Expires.IsZero() {
		e := t.Expires
		info.Expires = &e
	}
	if t.PolicyDocument != "" {
		info.PolicyDocument = json.RawMessage(t.PolicyDocument)
	}
	return info
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
		out = append(out, tokenInfo(t))
	}
	return out, nil
}

// RevokeToken deletes a token; it stops working at once.
func (s *Service) RevokeToken(ctx context.Context, name string) error {
	if reservedToken(name) {
		return Errorf(CodeInvalid, "name: %s is sluice's own token and cannot be revoked", name)
	}
	err := s.store.DeleteToken(ctx, name)
	// Before the revocation is answered, this server forgets the token;
	// the other replicas do when the notification reaches them.
	s.TokensChanged()
	if errors.Is(err, store.ErrNotFound) {
		return Errorf(CodeNotFound, "token %s not found", name)
	}
	if err != nil {
		return err
	}
	// The keys already stop working with the token (they are bound to its
	// hash); this only tidies them away.
	return s.deleteAccessKeys(ctx, name)
}
