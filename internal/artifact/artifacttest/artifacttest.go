// Package artifacttest is the conformance suite for artifact.Store: every
// implementation (disk, S3) runs the same tests, so they keep one contract.
package artifacttest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/sluice-ci/sluice/internal/artifact"
)

// RunStore runs the suite. newStore must return an empty store private to the
// calling test; it registers its own cleanup.
func RunStore(t *testing.T, newStore func(t *testing.T) artifact.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, n := range []int{0, 1, 4096, 1<<20 + 7} {
			key := fmt.Sprintf("exec/Out/job-%d.zip", n)
			data := payload(uint64(n), n)
			size, err := s.Put(t.Context(), key, bytes.NewReader(data))
			if err != nil {
				t.Fatalf("Put(%s): %v", key, err)
			}
			if size != int64(n) {
				t.Fatalf("Put(%s) size = %d, want %d", key, size, n)
			}
			if got := mustGet(t, s, key); !bytes.Equal(got, data) {
				t.Fatalf("Get(%s): got %d bytes, want %d identical bytes", key, len(got), n)
			}
			if size, err := s.Stat(t.Context(), key); err != nil || size != int64(n) {
				t.Fatalf("Stat(%s) = %d, %v; want %d, nil", key, size, err, n)
			}
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.Get(t.Context(), "exec/Out/missing.zip"); !errors.Is(err, artifact.ErrNotFound) {
			t.Fatalf("Get missing: err = %v, want ErrNotFound", err)
		}
		if _, err := s.Stat(t.Context(), "exec/Out/missing.zip"); !errors.Is(err, artifact.ErrNotFound) {
			t.Fatalf("Stat missing: err = %v, want ErrNotFound", err)
		}
		put(t, s, "exec/Out/job.zip", []byte("x"))
		// A key that names a "directory" of other keys holds no object.
		if _, err := s.Get(t.Context(), "exec/Out"); !errors.Is(err, artifact.ErrNotFound) {
			t.Fatalf("Get prefix: err = %v, want ErrNotFound", err)
		}
		if _, err := s.Stat(t.Context(), "exec"); !errors.Is(err, artifact.ErrNotFound) {
			t.Fatalf("Stat prefix: err = %v, want ErrNotFound", err)
		}
		// A key below an object holds no object either.
		if _, err := s.Get(t.Context(), "exec/Out/job.zip/deeper"); !errors.Is(err, artifact.ErrNotFound) {
			t.Fatalf("Get below object: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if err := s.Delete(t.Context(), "exec/Out/never.zip"); err != nil {
			t.Fatalf("Delete missing: %v", err)
		}
		put(t, s, "exec/Out/a.zip", []byte("a"))
		put(t, s, "exec/Out/b.zip", []byte("b"))
		for range 2 {
			if err := s.Delete(t.Context(), "exec/Out/a.zip"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
		}
		if _, err := s.Get(t.Context(), "exec/Out/a.zip"); !errors.Is(err, artifact.ErrNotFound) {
			t.Fatalf("Get deleted: err = %v, want ErrNotFound", err)
		}
		if got := mustGet(t, s, "exec/Out/b.zip"); string(got) != "b" {
			t.Fatalf("sibling after Delete = %q, want %q", got, "b")
		}
		if err := s.Delete(t.Context(), "exec/Out/b.zip"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		// The key space is reusable after everything under a prefix is gone.
		put(t, s, "exec/Out/a.zip", []byte("again"))
		if got := mustGet(t, s, "exec/Out/a.zip"); string(got) != "again" {
			t.Fatalf("Get after re-Put = %q", got)
		}
	})

	t.Run("PutReplaces", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		put(t, s, "exec/Out/job.zip", []byte("first version"))
		put(t, s, "exec/Out/job.zip", []byte("second"))
		if got := mustGet(t, s, "exec/Out/job.zip"); string(got) != "second" {
			t.Fatalf("Get = %q, want %q", got, "second")
		}
		if size, err := s.Stat(t.Context(), "exec/Out/job.zip"); err != nil || size != 6 {
			t.Fatalf("Stat = %d, %v; want 6", size, err)
		}
	})

	t.Run("FailedPutLeavesNothing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		boom := errors.New("boom")
		r := io.MultiReader(bytes.NewReader(make([]byte, 100_000)), errReader{boom})
		if _, err := s.Put(t.Context(), "exec/Out/new.zip", r); !errors.Is(err, boom) {
			t.Fatalf("Put with failing reader: err = %v, want %v", err, boom)
		}
		if _, err := s.Stat(t.Context(), "exec/Out/new.zip"); !errors.Is(err, artifact.ErrNotFound) {
			t.Fatalf("Stat after failed Put: err = %v, want ErrNotFound", err)
		}

		put(t, s, "exec/Out/old.zip", []byte("old"))
		r = io.MultiReader(bytes.NewReader([]byte("partial")), errReader{boom})
		if _, err := s.Put(t.Context(), "exec/Out/old.zip", r); err == nil {
			t.Fatal("Put with failing reader succeeded")
		}
		if got := mustGet(t, s, "exec/Out/old.zip"); string(got) != "old" {
			t.Fatalf("after failed replace, Get = %q, want %q", got, "old")
		}

		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := s.Put(ctx, "exec/Out/cancelled.zip", bytes.NewReader([]byte("x"))); !errors.Is(err, context.Canceled) {
			t.Fatalf("Put with cancelled context: err = %v, want context.Canceled", err)
		}
		if _, err := s.Stat(t.Context(), "exec/Out/cancelled.zip"); !errors.Is(err, artifact.ErrNotFound) {
			t.Fatalf("Stat after cancelled Put: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("InvalidKeys", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, key := range []string{"", "/abs/key.zip", "../up.zip", "a/../b.zip", "a\\b.zip", "a\x00b", "a//b", "a/", ".hidden", "a/./b"} {
			if _, err := s.Put(t.Context(), key, bytes.NewReader([]byte("x"))); !errors.Is(err, artifact.ErrInvalidKey) {
				t.Errorf("Put(%q): err = %v, want ErrInvalidKey", key, err)
			}
			if _, err := s.Get(t.Context(), key); !errors.Is(err, artifact.ErrInvalidKey) {
				t.Errorf("Get(%q): err = %v, want ErrInvalidKey", key, err)
			}
			if _, err := s.Stat(t.Context(), key); !errors.Is(err, artifact.ErrInvalidKey) {
				t.Errorf("Stat(%q): err = %v, want ErrInvalidKey", key, err)
			}
			if err := s.Delete(t.Context(), key); !errors.Is(err, artifact.ErrInvalidKey) {
				t.Errorf("Delete(%q): err = %v, want ErrInvalidKey", key, err)
			}
		}
	})

	t.Run("ReaderOutlivesReplaceAndDelete", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		data := payload(1, 256<<10)
		put(t, s, "exec/Out/job.zip", data)
		rc, err := s.Get(t.Context(), "exec/Out/job.zip")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		put(t, s, "exec/Out/job.zip", []byte("replacement"))
		if err := s.Delete(t.Context(), "exec/Out/job.zip"); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("reading an opened object after Delete: %v", err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("opened reader returned %d bytes, not the object it opened", len(got))
		}
	})

	t.Run("ConcurrentPutGetSameKey", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		const key = "exec/Out/job.zip"
		const writers, rounds, readers = 4, 8, 4
		// Every version carries its own checksum, so a reader can tell a whole
		// object from a torn or mixed one without knowing which version won.
		put(t, s, key, version(0, 0))
		var wg sync.WaitGroup
		errs := make(chan error, writers*rounds+readers)
		done := make(chan struct{})
		for w := range writers {
			wg.Go(func() {
				for r := range rounds {
					if _, err := s.Put(t.Context(), key, bytes.NewReader(version(w+1, r))); err != nil {
						errs <- fmt.Errorf("writer %d: %w", w, err)
					}
				}
			})
		}
		var readWG sync.WaitGroup
		for r := range readers {
			readWG.Go(func() {
				for n := 0; ; n++ {
					select {
					case <-done:
						if n > 0 {
							return
						}
					default:
					}
					rc, err := s.Get(t.Context(), key)
					if err != nil {
						errs <- fmt.Errorf("reader %d: %w", r, err)
						return
					}
					b, err := io.ReadAll(rc)
					rc.Close()
					if err != nil {
						errs <- fmt.Errorf("reader %d: %w", r, err)
						return
					}
					if err := checkVersion(b); err != nil {
						errs <- fmt.Errorf("reader %d: %w", r, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(done)
		readWG.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if err := checkVersion(mustGet(t, s, key)); err != nil {
			t.Fatalf("final object: %v", err)
		}
	})

	t.Run("ConcurrentPutDeleteSamePrefix", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		// Deleting the last key under a prefix while another key is being put
		// under it must not make the Put fail (a disk store prunes empty
		// directories).
		var wg sync.WaitGroup
		errs := make(chan error, 4*50)
		for w := range 4 {
			wg.Go(func() {
				key := fmt.Sprintf("exec/Out/job-%d.zip", w)
				for range 50 {
					if _, err := s.Put(t.Context(), key, bytes.NewReader([]byte(key))); err != nil {
						errs <- err
						return
					}
					if err := s.Delete(t.Context(), key); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

func put(t *testing.T, s artifact.Store, key string, data []byte) {
	t.Helper()
	if _, err := s.Put(t.Context(), key, bytes.NewReader(data)); err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
}

func mustGet(t *testing.T, s artifact.Store, key string) []byte {
	t.Helper()
	rc, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%s): read: %v", key, err)
	}
	return b
}

func payload(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// version is a payload of varying length followed by its SHA-256.
func version(writer, round int) []byte {
	b := payload(uint64(writer*1000+round), 64<<10+writer*4096+round)
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

func checkVersion(b []byte) error {
	if len(b) < sha256.Size {
		return fmt.Errorf("object of %d bytes is torn", len(b))
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return fmt.Errorf("object of %d bytes is torn or mixed", len(b))
	}
	return nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
