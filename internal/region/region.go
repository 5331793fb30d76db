// Package region holds the regions a server declares — each a name and an
// artifact store of its own — and stages an execution's artifacts into the
// store of the region an action runs in: copied from the home region's store
// once per execution, region and artifact, and checked by SHA-256 before any
// job there may read them.
package region

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/lazyregexp"
)

// nameRE is what a region name may be: AWS's own (us-east-1) and sluice's
// "local" fit; "=" is left for the NAME=STORE form of --region.
var nameRE = lazyregexp.New(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidName reports whether name can name a region.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// Region is a declared region other than the home one.
type Region struct {
	Name string
	// Store is the region's artifact store; nil when it could not even be
	// opened, and then Err says why.
	Store artifact.Store
	// Location is where the store is, as safe to show as a log line: a
	// directory, or s3://BUCKET/PREFIX at an endpoint, never a key.
	Location string
	// Err is why the store was unreachable when the server started; the
	// region still exists, and its actions fail with this reason until its
	// store answers.
	Err error
}

// ErrCorrupt is returned (wrapped) when a copy read back differs from what
// was written: the copy is deleted and no job of the region sees it.
var ErrCorrupt = errors.New("copy does not match its source")

// Set is the server's regions: the home one, whose store is the artifact
// store every output goes to, and the others. Its methods are safe for
// concurrent use.
type Set struct {
	home      string
	homeStore artifact.Store
	others    map[string]*Region

	mu     sync.Mutex
	staged map[string]bool              // REGION\x00KEY copied and checked
	flight map[string]*sync.Mutex       // one copier per REGION\x00KEY at a time
	copies atomic.Int64                 // copies made, for tests and metrics
	copied func(region string, n int64) // observes each copy's size; may be nil
}

// New returns the set of home (whose store is homeStore) and others. Names
// must be valid and distinct; the caller (the server's flag parsing) has
// checked them and says which flag was wrong.
func New(home string, homeStore artifact.Store, others []Region) *Set {
	s := &Set{home: home, homeStore: homeStore, others: map[string]*Region{}, staged: map[string]bool{}, flight: map[string]*sync.Mutex{}}
	for i := range others {
		r := others[i]
		s.others[r.Name] = &r
	}
	return s
}

// Home is the home region's name.
func (s *Set) Home() string { return s.home }

// Names lists the declared regions, the home one first, the others sorted.
func (s *Set) Names() []string {
	out := []string{s.home}
	for name := range s.others {
		out = append(out, name)
	}
	slices.Sort(out[1:])
	return out
}

// Declared reports whether name is a declared region (the home one included).
func (s *Set) Declared(name string) bool {
	_, ok := s.others[name]
	return ok || name == s.home
}

// Remote reports whether name is a declared region other than the home one.
func (s *Set) Remote(name string) bool {
	_, ok := s.others[name]
	return ok
}

// Get returns a region other than the home one.
func (s *Set) Get(name string) (Region, bool) {
	r, ok := s.others[name]
	if !ok {
		return Region{}, false
	}
	return *r, true
}

// Store returns the artifact store jobs of region name read their inputs
// from: the home store for the home region (or ""), the region's own for
// another; an error names the region and its store when it has none.
func (s *Set) Store(name string) (artifact.Store, error) {
	if name == "" || name == s.home {
		return s.homeStore, nil
	}
	r, ok := s.others[name]
	if !ok {
		return nil, fmt.Errorf("region %s is not declared by this server", name)
	}
	if r.Store == nil {
		return nil, fmt.Errorf("region %s: artifact store %s: %v", r.Name, r.Location, r.Err)
	}
	return r.Store, nil
}

// Copies says how many artifacts have been copied between regions so far.
func (s *Set) Copies() int64 { return s.copies.Load() }

// ObserveCopies calls f with the region and size of each copy made (metrics).
func (s *Set) ObserveCopies(f func(region string, n int64)) { s.copied = f }

// Stage makes every one of keys readable from region name's store: copied
// from the home store and checked, unless an earlier call (for another action
// of the same execution) did so already. Keys are the execution's own
// artifact keys, never anything a declaration names. The home region needs
// nothing. An error names the region, its store and the artifact.
func (s *Set) Stage(ctx context.Context, name string, keys []string) error {
	if name == "" || name == s.home || len(keys) == 0 {
		return nil
	}
	dst, err := s.Store(name)
	if err != nil {
		return err
	}
	r := s.others[name]
	for _, key := range keys {
		if err := s.stageOne(ctx, name, dst, key); err != nil {
			return fmt.Errorf("region %s: artifact store %s: input artifact %s: %w", name, r.Location, key, err)
		}
	}
	return nil
}

func (s *Set) stageOne(ctx context.Context, region string, dst artifact.Store, key string) error {
	id := region + "\x00" + key
	s.mu.Lock()
	if s.staged[id] {
		s.mu.Unlock()
		return nil
	}
	m := s.flight[id]
	if m == nil {
		m = &sync.Mutex{}
		s.flight[id] = m
	}
	s.mu.Unlock()
	// Two actions of one execution offered at once in one region wait for
	// a single copy rather than making two.
	m.Lock()
	defer m.Unlock()
	s.mu.Lock()
	done := s.staged[id]
	s.mu.Unlock()
	if done {
		return nil
	}
	if err := s.ensure(ctx, region, dst, key); err != nil {
		return err
	}
	s.mu.Lock()
	if len(s.staged) >= maxRemembered {
		// Forgetting costs a read of both copies (ensure finds the copy
		// in place and checks it), never a second copy.
		clear(s.staged)
	}
	s.staged[id] = true
	delete(s.flight, id)
	s.mu.Unlock()
	return nil
}

// maxRemembered bounds the copies a Set remembers having checked.
const maxRemembered = 100_000

// ensure copies key unless the region's store already holds a copy equal to
// the source (one made before a restart), and checks the copy it made.
func (s *Set) ensure(ctx context.Context, region string, dst artifact.Store, key string) error {
	if _, err := dst.Stat(ctx, key); err == nil {
		want, _, err := digest(ctx, s.homeStore, key)
		if err != nil {
			return fmt.Errorf("read source: %w", err)
		}
		if got, _, err := digest(ctx, dst, key); err == nil && bytes.Equal(got, want) {
			return nil
		}
	} else if !errors.Is(err, artifact.ErrNotFound) {
		return err
	}
	src, err := s.homeStore.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("read source: %w", err)
	}
	h := sha256.New()
	n, err := dst.Put(ctx, key, io.TeeReader(src, h))
	src.Close()
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	s.copies.Add(1)
	if s.copied != nil {
		s.copied(region, n)
	}
	want := h.Sum(nil)
	// Read back what the region's store now serves: a store that lost or
	// changed bytes on the way is caught here, not in a job.
	got, size, err := digest(ctx, dst, key)
	if err != nil {
		return fmt.Errorf("read back the copy: %w", err)
	}
	if size != n || !bytes.Equal(got, want) {
		_ = dst.Delete(context.WithoutCancel(ctx), key)
		return fmt.Errorf("%w: wrote %d bytes with SHA-256 %s, read back %d bytes with SHA-256 %s",
			ErrCorrupt, n, hex.EncodeToString(want), size, hex.EncodeToString(got))
	}
	return nil
}

// digest reads key from st whole and returns its SHA-256 and size.
func digest(ctx context.Context, st artifact.Store, key string) ([]byte, int64, error) {
	r, err := st.Get(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return nil, n, err
	}
	return h.Sum(nil), n, nil
}

// ParseFlag splits a --region value: NAME alone names the home region
// (store ""), NAME=STORE declares another region with its artifact store.
// The error names the flag and the value.
func ParseFlag(v string) (name, store string, err error) {
	name, store, hasStore := strings.Cut(v, "=")
	if !ValidName(name) {
		return "", "", fmt.Errorf("--region %q: a region name is lower-case letters, digits and hyphens, such as us-east-1 or local", v)
	}
	if hasStore && store == "" {
		return "", "", fmt.Errorf("--region %q: want NAME=STORE, STORE a directory or s3://BUCKET/PREFIX?endpoint=HOST:PORT", v)
	}
	return name, store, nil
}
