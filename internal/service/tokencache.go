package service

import (
	"context"
	"sync"

	"github.com/sluice-ci/sluice/internal/store"
)

// Every request's token used to be read from the store; now this server
// remembers the tokens it has found, by the hash of their secret, and
// forgets them all whenever any token is created, rotated or revoked:
// on this server before the change is answered, and on every other replica
// sharing the database when the change's notification (ChangeTokens)
// reaches it. A token unknown to the store is never remembered, so a new
// one works at once everywhere. There is no time after which an entry goes
// stale and nothing else could change a remembered token: its expiry is
// checked at every use (access.Guard), and its policy document is part of
// the token row. While this replica may miss notifications (its
// connection listening for them is down: SetTokenCacheUsable), it reads
// the store every time.

// maxCachedTokens bounds the memory the cache holds: past it, a token is
// read from the store each time, as before.
const maxCachedTokens = 10000

type tokenCache struct {
	mu     sync.Mutex
	byHash map[string]store.Token
	gen    uint64 // moved by every invalidation
	// usable says whether this replica hears every change (see
	// SetTokenCacheUsable); nil means always (one server on its database).
	usable func() bool
}

// Token returns the token whose secret hashes to hash (access.Tokens): the
// store's answer, remembered until a token changes anywhere.
func (s *Service) Token(ctx context.Context, hash string) (store.Token, error) {
	c := &s.tokens
	if c.usable != nil && !c.usable() {
		return s.store.Token(ctx, hash)
	}
	c.mu.Lock()
	t, ok := c.byHash[hash]
	gen := c.gen
	c.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := s.store.Token(ctx, hash)
	if err != nil {
		return t, err
	}
	c.mu.Lock()
	// A change since the read began may have made t stale: not kept.
	if c.gen == gen && len(c.byHash) < maxCachedTokens {
		if c.byHash == nil {
			c.byHash = map[string]store.Token{}
		}
		c.byHash[hash] = t
	}
	c.mu.Unlock()
	return t, nil
}

// SetTokenCacheUsable makes the token cache ask usable before each use:
// false while this replica may be missing other replicas' notifications,
// when every lookup reads the store. Call it before serving.
func (s *Service) SetTokenCacheUsable(usable func() bool) { s.tokens.usable = usable }

// TokensChanged forgets every remembered token here and tells the other
// replicas to forget theirs; call it after any write to the tokens outside
// the service (the server's own tokens at start).
func (s *Service) TokensChanged() {
	s.forgetTokens()
	if p := s.publish.Load(); p != nil {
		(*p)(ChangeTokens)
	}
}

func (s *Service) forgetTokens() {
	c := &s.tokens
	c.mu.Lock()
	clear(c.byHash)
	c.gen++
	c.mu.Unlock()
}
