// Package s3 is an artifact.Store on an S3-compatible object store (AWS S3,
// MinIO, versitygw, ...), a thin mapping of Put, Get, Stat and Delete onto
// PutObject (multipart, streamed), GetObject, HeadObject and DeleteObject.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sluice-ci/sluice/internal/artifact"
)

// DefaultPartSize is the multipart part size Put uses when Config.PartSize is
// zero. Put holds one part in memory at a time, so it bounds a Put's memory.
const DefaultPartSize = 16 << 20

// Config says where a Store keeps its objects.
type Config struct {
	Endpoint  string // host:port, without a scheme
	Bucket    string
	Prefix    string // prepended to every key; a trailing slash is added if missing
	Region    string // may be empty for servers that ignore it
	AccessKey string
	SecretKey string // never logged nor included in errors
	TLS       bool
	// PartSize is the multipart part size in bytes (at least 5 MiB); zero means
	// DefaultPartSize.
	PartSize uint64
	// Transport replaces the default HTTP transport, for tests.
	Transport http.RoundTripper
}

// String describes the configuration without its secret.
func (c Config) String() string {
	scheme := "http"
	if c.TLS {
		scheme = "https"
	}
	return fmt.Sprintf("s3://%s/%s (%s://%s, region %q)", c.Bucket, c.Prefix, scheme, c.Endpoint, c.Region)
}

// Store is an artifact.Store in one bucket, under one prefix. Each key is the
// object name prefix+key. It is safe for concurrent use.
//
// Put streams its reader as a multipart upload of PartSize parts, so an object
// appears only when the upload completes, and a failed or cancelled Put aborts
// the upload. Even a small object goes that way: versitygw's posix backend
// fails a plain PutObject when a Delete beside it prunes the directory it
// writes into. An abort that itself fails (the server unreachable) leaves
// parts that are invisible but take space: give the bucket a lifecycle rule
// that aborts incomplete multipart uploads after a day.
type Store struct {
	core     minio.Core
	bucket   string
	prefix   string
	partSize uint64
}

var _ artifact.Store = (*Store)(nil)

// New returns a Store for cfg. It does not contact the server; see Check.
func New(cfg Config) (*Store, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("open s3 artifact store: no endpoint")
	}
	if cfg.Bucket == "" {
		return nil, errors.New("open s3 artifact store: no bucket")
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix != "" {
		if err := artifact.ValidKey(prefix); err != nil {
			return nil, fmt.Errorf("open s3 artifact store: prefix: %w", err)
		}
		prefix += "/"
	}
	partSize := cfg.PartSize
	if partSize == 0 {
		partSize = DefaultPartSize
	}
	if partSize < 5<<20 {
		return nil, fmt.Errorf("open s3 artifact store: part size %d is below S3's minimum of 5 MiB", partSize)
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       cfg.TLS,
		Region:       cfg.Region,
		BucketLookup: minio.BucketLookupPath,
		Transport:    cfg.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("open s3 artifact store: %w", err)
	}
	return &Store{core: minio.Core{Client: c}, bucket: cfg.Bucket, prefix: prefix, partSize: partSize}, nil
}

// Check reports whether the bucket exists and the credentials reach it.
func (s *Store) Check(ctx context.Context) error {
	ok, err := s.core.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("check bucket %q: %w", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("check bucket %q: no such bucket", s.bucket)
	}
	return nil
}

func (s *Store) name(key string) string { return s.prefix + key }

// Location is where key is kept: the bucket and the object name, as events'
// s3location give an artifact's place.
func (s *Store) Location(key string) (bucket, object string) { return s.bucket, s.name(key) }

// Put streams r into the object under key and returns its size.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := artifact.ValidKey(key); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("put %q: %w", key, err)
	}
	// The client may report a failing reader in its own words; keep the
	// reader's error so the caller can recognise it.
	er := &errReader{r: r}
	info, err := s.core.Client.PutObject(ctx, s.bucket, s.name(key), er, -1, minio.PutObjectOptions{
		PartSize:    s.partSize,
		ContentType: "application/zip",
	})
	if err != nil {
		switch {
		case er.err != nil && !errors.Is(err, er.err):
			err = fmt.Errorf("%w (%v)", er.err, err)
		case ctx.Err() != nil && !errors.Is(err, ctx.Err()):
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return 0, fmt.Errorf("put %q: %w", key, err)
	}
	return info.Size, nil
}

// Get opens the object under key. The request is made before Get returns, so
// a missing key fails here and the reader streams the version that was opened.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := artifact.ValidKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get %q: %w", key, err)
	}
	// The context bounds opening only, as the Store contract says: the body is
	// read under a context that is not cancelled with ctx, and Close ends it.
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	body, _, _, err := s.core.GetObject(rctx, s.bucket, s.name(key), minio.GetObjectOptions{})
	stop()
	if err != nil {
		cancel()
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, fmt.Errorf("get %q: %w", key, notFound(err))
	}
	return &objectBody{ReadCloser: body, cancel: cancel}, nil
}

type objectBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *objectBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// Stat returns the size of the object under key.
func (s *Store) Stat(ctx context.Context, key string) (int64, error) {
	if err := artifact.ValidKey(key); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("stat %q: %w", key, err)
	}
	info, err := s.core.StatObject(ctx, s.bucket, s.name(key), minio.StatObjectOptions{})
	if err != nil {
		return 0, fmt.Errorf("stat %q: %w", key, notFound(err))
	}
	return info.Size, nil
}

// Delete removes the object under key; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := artifact.ValidKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	err := s.core.RemoveObject(ctx, s.bucket, s.name(key), minio.RemoveObjectOptions{})
	if err != nil && !errors.Is(notFound(err), artifact.ErrNotFound) {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}

// notFound maps S3's "no such key" answers to artifact.ErrNotFound, keeping
// the server's message.
func notFound(err error) error {
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == minio.NoSuchKey, resp.StatusCode == http.StatusNotFound && resp.Code != minio.NoSuchBucket:
		return fmt.Errorf("%w: %v", artifact.ErrNotFound, err)
	}
	return err
}

// errReader remembers the first error other than io.EOF its reader returned.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}
