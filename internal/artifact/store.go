// Package artifact keeps the zip files that actions hand to one another: a small
// Store interface with a local-disk implementation, and Zip/Unzip that pack and
// unpack a working directory without letting an archive reach outside it.
package artifact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Store keeps artifacts: immutable zip files addressed by a key such as
// "EXECID/Name/JOBID.zip".
//
// The contract every implementation (disk, S3) must keep, and that the shared
// suite in artifacttest checks:
//
//   - All methods are safe for concurrent use by any number of goroutines, in
//     this process and, where the backend is shared, in others.
//   - Keys are checked with ValidKey; an invalid key fails with an error
//     matching ErrInvalidKey and nothing is touched.
//   - Put is atomic: until it returns nil, Get and Stat see either the previous
//     object or none, never a partial one; on error nothing new is visible.
//     Putting a key that exists replaces it (last writer wins), so a retried job
//     may upload its output again. Callers write each key once in normal
//     operation; immutability is a convention of the callers, not enforced here.
//   - Get and Stat fail with an error matching ErrNotFound (errors.Is) when the
//     key holds no object. A reader returned by Get keeps reading the object it
//     opened even if the key is replaced or deleted meanwhile; the caller must
//     close it.
//   - Delete is idempotent: deleting a missing key is not an error.
//   - The context bounds the call; for Get it bounds opening, not reading.
//
// Keys are opaque to a Store: it never lists or interprets them, which keeps an
// S3 implementation a thin mapping onto PutObject, GetObject, HeadObject and
// DeleteObject.
type Store interface {
	Put(ctx context.Context, key string, r io.Reader) (size int64, err error)
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	Stat(ctx context.Context, key string) (size int64, err error)
	Delete(ctx context.Context, key string) error
}

// ErrNotFound is returned (wrapped) by Get and Stat when the key holds no object.
var ErrNotFound = errors.New("artifact not found")

// ErrInvalidKey is returned (wrapped) by ValidKey and by every Store method
// given a key ValidKey refuses, so callers can tell bad input from a failing
// store.
var ErrInvalidKey = errors.New("invalid artifact key")

// MaxKeyLen matches S3's limit on object keys, so a key valid on disk is valid
// in a bucket too.
const MaxKeyLen = 1024

// ValidKey reports whether key can address an artifact in every Store. A key is
// a relative, slash-separated path of non-empty segments. It rejects what could
// escape a directory or mean different things on different backends: absolute
// paths, "." and ".." segments, empty segments, backslashes, NUL and other
// control characters, invalid UTF-8, and segments starting with "." (reserved
// for a store's own temporary files).
func ValidKey(key string) error {
	if reason := keyProblem(key); reason != "" {
		return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, reason)
	}
	return nil
}

func keyProblem(key string) string {
	switch {
	case key == "":
		return "empty"
	case len(key) > MaxKeyLen:
		return fmt.Sprintf("longer than %d bytes", MaxKeyLen)
	case !utf8.ValidString(key):
		return "not valid UTF-8"
	case strings.HasPrefix(key, "/"):
		return "absolute"
	case strings.HasSuffix(key, "/"):
		return "ends with a slash"
	}
	for _, c := range key {
		switch {
		case c == 0:
			return "contains NUL"
		case c == '\\':
			return "contains a backslash"
		case c < 0x20 || c == 0x7f:
			return "contains a control character"
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return "has an empty segment"
		case seg == "." || seg == "..":
			return fmt.Sprintf("has a %q segment", seg)
		case strings.HasPrefix(seg, "."):
			return "has a segment starting with a dot"
		}
	}
	return ""
}
