// Package s3 is an artifact.Store on an S3-compatible object store (AWS S3,
// MinIO, versitygw, ...), a thin mapping of Put, Get, Stat and Delete onto
// PutObject (multipart, streamed), GetObject, HeadObject and DeleteObject.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

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
//
// Requests are path-style (https://ENDPOINT/BUCKET/KEY), which every
// S3-compatible server understands, and signed with Signature Version 4, or
// sent unsigned when neither key is given. Each part carries a CRC32C
// checksum that the server verifies, and Get verifies a whole object's
// checksum where the server returns one.
type Store struct {
	client   *s3.Client
	bucket   string
	prefix   string
	partSize int64

	// With no region configured, the bucket's region is asked of the server
	// on first use (HeadBucket's x-amz-bucket-region) and kept.
	findRegion bool
	regionMu   sync.Mutex
	region     string
	// global is set for AWS's global endpoint (s3.amazonaws.com), which
	// answers path-style requests for a bucket of another region with a
	// redirect: once the bucket's region is known, requests go to that
	// region's endpoint.
	global bool
	scheme string
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
	if partSize > 5<<30 {
		return nil, fmt.Errorf("open s3 artifact store: part size %d is above S3's maximum of 5 GiB", partSize)
	}
	scheme := "http://"
	if cfg.TLS {
		scheme = "https://"
	}
	if strings.Contains(cfg.Endpoint, "/") {
		return nil, fmt.Errorf("open s3 artifact store: endpoint %q is not HOST:PORT", cfg.Endpoint)
	}
	region := cmpOr(cfg.Region, amazonRegion(cfg.Endpoint))
	opts := s3.Options{
		Region:       cmpOr(region, "us-east-1"),
		BaseEndpoint: aws.String(scheme + cfg.Endpoint),
		UsePathStyle: true,
		Credentials:  aws.AnonymousCredentials{},
	}
	if cfg.AccessKey != "" || cfg.SecretKey != "" {
		opts.Credentials = credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, "")
	}
	if cfg.Transport != nil {
		opts.HTTPClient = &http.Client{Transport: cfg.Transport}
	}
	host, _, _ := strings.Cut(cfg.Endpoint, ":")
	return &Store{
		client: s3.New(opts), bucket: cfg.Bucket, prefix: prefix, partSize: int64(partSize),
		findRegion: region == "", region: region,
		global: strings.EqualFold(host, "s3.amazonaws.com"), scheme: scheme,
	}, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// amazonRegion is REGION of an endpoint s3.REGION.amazonaws.com (or
// s3-REGION.amazonaws.com), else "".
func amazonRegion(endpoint string) string {
	host, _, _ := strings.Cut(endpoint, ":")
	rest, ok := strings.CutSuffix(host, ".amazonaws.com")
	if !ok {
		return ""
	}
	if r, ok := strings.CutPrefix(rest, "s3."); ok && !strings.Contains(r, ".") {
		return r
	}
	if r, ok := strings.CutPrefix(rest, "s3-"); ok && !strings.Contains(r, ".") {
		return r
	}
	return ""
}

// inRegion is the per-request option that signs for the bucket's region,
// found on first use when none was configured. A server that answers without
// naming one (most S3-compatible servers) is taken to be in us-east-1, as
// S3's own GetBucketLocation says of an empty location; when the server does
// not answer at all nothing is kept, and the request goes out signed for
// us-east-1 and fails, or not, on its own terms.
func (s *Store) inRegion(ctx context.Context) func(*s3.Options) {
	s.regionMu.Lock()
	defer s.regionMu.Unlock()
	if s.region == "" && s.findRegion {
		if region, answered := s.bucketRegion(ctx); answered {
			s.region = cmpOr(region, "us-east-1")
		}
	}
	region, global, scheme := s.region, s.global, s.scheme
	return func(o *s3.Options) {
		if region == "" {
			return
		}
		o.Region = region
		if global && region != "us-east-1" {
			o.BaseEndpoint = aws.String(scheme + "s3." + region + ".amazonaws.com")
		}
	}
}

// bucketRegion asks the server where the bucket is: AWS names the region in
// the x-amz-bucket-region header of a HEAD of the bucket, whatever the answer's
// status (a redirect or a refusal included). answered is false when no answer
// came.
func (s *Store) bucketRegion(ctx context.Context) (region string, answered bool) {
	out, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)})
	if err == nil {
		return aws.ToString(out.BucketRegion), true
	}
	if re, ok := errors.AsType[*awshttp.ResponseError](err); ok && re.Response != nil {
		return re.Response.Header.Get("X-Amz-Bucket-Region"), true
	}
	return "", false
}

// Check reports whether the bucket exists and the credentials reach it.
func (s *Store) Check(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)}, s.inRegion(ctx))
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			return fmt.Errorf("check bucket %q: no such bucket", s.bucket)
		}
		return fmt.Errorf("check bucket %q: %w", s.bucket, err)
	}
	return nil
}

func (s *Store) name(key string) string { return s.prefix + key }

// Location is where key is kept: the bucket and the object name, as events'
// s3location give an artifact's place.
func (s *Store) Location(key string) (bucket, object string) { return s.bucket, s.name(key) }

// maxParts is S3's limit on the parts of one multipart upload.
const maxParts = 10000

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
	size, err := s.put(ctx, s.name(key), er)
	if err != nil {
		switch {
		case er.err != nil && !errors.Is(err, er.err):
			err = fmt.Errorf("%w (%v)", er.err, err)
		case ctx.Err() != nil && !errors.Is(err, ctx.Err()):
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return 0, fmt.Errorf("put %q: %w", key, err)
	}
	return size, nil
}

// put uploads r as the parts of one multipart upload, one part in memory at a
// time, and aborts the upload if any step fails.
func (s *Store) put(ctx context.Context, name string, r io.Reader) (size int64, err error) {
	region := s.inRegion(ctx)
	bucket, object := aws.String(s.bucket), aws.String(name)
	up, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: bucket, Key: object, ContentType: aws.String("application/zip"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
	}, region)
	if err != nil {
		return 0, err
	}
	defer func() {
		if err == nil {
			return
		}
		// Abort even when ctx is what failed, within a bound of its own.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, aerr := s.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: bucket, Key: object, UploadId: up.UploadId}, region); aerr != nil {
			err = fmt.Errorf("%w (and aborting the upload: %v)", err, aerr)
		}
	}()
	var parts []types.CompletedPart
	buf := make([]byte, 0, min(s.partSize, 1<<20))
	for n := int32(1); ; n++ {
		var eof bool
		buf, eof, err = readPart(r, buf[:0], s.partSize)
		if err != nil {
			return 0, err
		}
		if len(buf) == 0 && n > 1 {
			break // the last part was full; an empty object still has one (empty) part
		}
		if n > maxParts {
			return 0, fmt.Errorf("larger than S3's %d parts of %d bytes", maxParts, s.partSize)
		}
		out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: bucket, Key: object, UploadId: up.UploadId, PartNumber: aws.Int32(n),
			Body: bytes.NewReader(buf), ContentLength: aws.Int64(int64(len(buf))),
			ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
		}, region)
		if err != nil {
			return 0, fmt.Errorf("part %d: %w", n, err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag, ChecksumCRC32C: out.ChecksumCRC32C})
		size += int64(len(buf))
		if eof {
			break
		}
	}
	_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: bucket, Key: object, UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}, region)
	if err != nil {
		return 0, err
	}
	return size, nil
}

// readPart reads up to size bytes of r into buf, growing it as the bytes
// come (so a small object does not cost a whole part's memory), and says
// whether r ended.
func readPart(r io.Reader, buf []byte, size int64) ([]byte, bool, error) {
	for int64(len(buf)) < size {
		if len(buf) == cap(buf) {
			buf = append(buf, make([]byte, min(int64(cap(buf)), size-int64(cap(buf))))...)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(int64(cap(buf)), size)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, true, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
	return buf, false, nil
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
	out, err := s.client.GetObject(rctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.name(key))}, s.inRegion(ctx))
	stop()
	if err != nil {
		cancel()
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, fmt.Errorf("get %q: %w", key, notFound(err))
	}
	return &objectBody{ReadCloser: out.Body, cancel: cancel}, nil
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
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.name(key))}, s.inRegion(ctx))
	if err != nil {
		return 0, fmt.Errorf("stat %q: %w", key, notFound(err))
	}
	return aws.ToInt64(out.ContentLength), nil
}

// Delete removes the object under key; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := artifact.ValidKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.name(key))}, s.inRegion(ctx))
	if err != nil && !errors.Is(notFound(err), artifact.ErrNotFound) {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}

// notFound maps S3's "no such key" answers to artifact.ErrNotFound, keeping
// the server's message. A HEAD's 404 has no body to tell a missing key from
// a missing bucket; it counts as a missing key.
func notFound(err error) error {
	code := ""
	if ae, ok := errors.AsType[smithy.APIError](err); ok {
		code = ae.ErrorCode()
	}
	if code == "NoSuchKey" || statusOf(err) == http.StatusNotFound && code != "NoSuchBucket" {
		return fmt.Errorf("%w: %v", artifact.ErrNotFound, err)
	}
	return err
}

// statusOf is the HTTP status of the server's answer that err reports, or 0.
func statusOf(err error) int {
	if re, ok := errors.AsType[*awshttp.ResponseError](err); ok {
		return re.HTTPStatusCode()
	}
	return 0
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
