package service

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sluice-ci/sluice/internal/auth"
	"github.com/sluice-ci/sluice/internal/store"
)

// AWS access keys let SigV4-signing clients (the aws CLI, boto3, the SDKs)
// act as a token: `sluice token create NAME --aws-keys`. Checking a SigV4
// signature needs the secret itself, not a hash of it, so the secret is
// sealed with AES-256-GCM under the server's secret key, as secrets are, and
// the key id is bound to the token's current hash: a token revoked or
// rotated takes its keys with it at once.

// AccessKey is an access key id with its secret, shown once.
type AccessKey struct {
	ID     string `json:"accessKeyId"`
	Secret string `json:"secretAccessKey"`
}

// accessKeyDoc is the stored form of an access key.
type accessKeyDoc struct {
	Token     string `json:"token"`
	TokenHash string `json:"tokenHash"`
	Sealed    []byte `json:"sealed"` // nonce + AES-GCM of the secret, with the key id authenticated
}

// accessKeyIDPrefix is AWS's prefix of long-term access key ids; tools that
// look at the shape of a key (secret scanners, the SDKs' logs) know it.
const accessKeyIDPrefix = "AKIA"

func newAccessKey() AccessKey {
	var id [10]byte
	var secret [30]byte
	if _, err := rand.Read(id[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	if _, err := rand.Read(secret[:]); err != nil {
		panic(err)
	}
	return AccessKey{
		ID:     accessKeyIDPrefix + base32.StdEncoding.EncodeToString(id[:])[:16],
		Secret: base64.StdEncoding.EncodeToString(secret[:]),
	}
}

// CreateAccessKey makes an AWS access key for the token whose secret is
// tokenSecret (just issued: only its hash is kept) and returns it; the
// key's secret is shown this once. The key acts as the token does, with its
// policy, until the token is revoked or rotated.
func (s *Service) CreateAccessKey(ctx context.Context, tokenSecret string) (AccessKey, error) {
	t, err := s.store.Token(ctx, auth.HashToken(tokenSecret))
	if errors.Is(err, store.ErrNotFound) {
		return AccessKey{}, Errorf(CodeNotFound, "no token has this secret")
	}
	if err != nil {
		return AccessKey{}, err
	}
	k := newAccessKey()
	sealed, err := s.seal([]byte(k.Secret), []byte("accesskey:"+k.ID))
	if err != nil {
		return AccessKey{}, err
	}
	doc, err := json.Marshal(accessKeyDoc{Token: t.Name, TokenHash: t.Hash, Sealed: sealed})
	if err != nil {
		return AccessKey{}, err
	}
	now := s.now()
	if err := s.store.PutDefinition(ctx, store.Definition{Kind: store.KindAccessKey, Name: k.ID, Document: doc, Created: now, Updated: now}); err != nil {
		return AccessKey{}, err
	}
	return k, nil
}

// AccessKeySecret returns the secret of access key id and the hash of the
// token it belongs to, which the caller authenticates as (access.Guard's
// ByHash: a token since revoked or rotated no longer matches). An unknown id
// is CodeNotFound.
func (s *Service) AccessKeySecret(ctx context.Context, id string) (secret, tokenHash string, err error) {
	row, err := s.store.Definition(ctx, store.KindAccessKey, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", Errorf(CodeNotFound, "access key %s not found", id)
	}
	if err != nil {
		return "", "", err
	}
	var doc accessKeyDoc
	if err := json.Unmarshal(row.Document, &doc); err != nil {
		return "", "", fmt.Errorf("access key %s: stored document is damaged: %w", id, err)
	}
	plain, _, err := s.unseal(doc.Sealed, []byte("accesskey:"+id))
	if err != nil {
		return "", "", fmt.Errorf("access key %s cannot be decrypted: %w", id, err)
	}
	return string(plain), doc.TokenHash, nil
}

// deleteAccessKeys forgets the access keys of token name (it was revoked).
func (s *Service) deleteAccessKeys(ctx context.Context, name string) error {
	rows, err := s.store.Definitions(ctx, store.KindAccessKey)
	if err != nil {
		return err
	}
	for _, r := range rows {
		var doc accessKeyDoc
		if json.Unmarshal(r.Document, &doc) == nil && doc.Token == name {
			if err := s.store.DeleteDefinition(ctx, store.KindAccessKey, r.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
	}
	return nil
}

// IsAccessKeyID reports whether id has the shape of a sluice access key id.
func IsAccessKeyID(id string) bool {
	return len(id) == 20 && strings.HasPrefix(id, accessKeyIDPrefix)
}
