package s3_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/sluice-ci/sluice/internal/toolcache"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdks3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/artifact/artifacttest"
	"github.com/sluice-ci/sluice/internal/artifact/s3"
)

const (
	accessKey = "sluice-test-access"
	secretKey = "sluice-test-secret-not-a-real-one"
)

var (
	endpoint   string // host:port of the running server, empty if none
	skipReason string // why the tests skip, if endpoint is empty
	buckets    atomic.Int64
)

func TestMain(m *testing.M) {
	stop, err := startServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3:", err)
		os.Exit(1)
	}
	code := m.Run()
	if stop != nil {
		stop()
	}
	os.Exit(code)
}

// startServer starts versitygw, installing it first when asked to. With no
// binary and no request to install, it sets skipReason and returns no error;
// an error means the server should have run and did not.
func startServer() (stop func(), err error) {
	bin, skip, err := toolcache.VersityGW.Find()
	if err != nil || bin == "" {
		skipReason = skip
		return nil, err
	}

	data, err := os.MkdirTemp("", "sluice-s3-test-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(data)
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "--access", accessKey, "--secret", secretKey, "--port", addr, "posix", data)
	logFile, err := os.CreateTemp("", "sluice-versitygw-*.log")
	if err != nil {
		os.RemoveAll(data)
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		os.RemoveAll(data)
		return nil, fmt.Errorf("start versitygw: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() {
		cmd.Process.Kill()
		<-exited
		logFile.Close()
		os.Remove(logFile.Name())
		os.RemoveAll(data)
	}
	// versitygw is an external process with no readiness signal of its own:
	// poll a TCP connect, within a bounded deadline.
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			exited <- err
			log, _ := os.ReadFile(logFile.Name())
			stop()
			return nil, fmt.Errorf("versitygw exited before accepting connections (%v): %s", err, log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("versitygw did not accept connections on %s within 15s", addr)
		}
	}
	endpoint = addr
	return stop, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func requireServer(t *testing.T) {
	t.Helper()
	if endpoint == "" {
		t.Skip(skipReason)
	}
}

// newBucket creates an empty bucket private to the test.
func newBucket(t *testing.T) string {
	t.Helper()
	c := sdks3.New(sdks3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://" + endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
	})
	name := fmt.Sprintf("sluice-test-%d", buckets.Add(1))
	if _, err := c.CreateBucket(t.Context(), &sdks3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("make bucket %s: %v", name, err)
	}
	return name
}

func newStore(t *testing.T, prefix string) *s3.Store {
	t.Helper()
	s, err := s3.New(s3.Config{
		Endpoint:  endpoint,
		Bucket:    newBucket(t),
		Prefix:    prefix,
		AccessKey: accessKey,
		SecretKey: secretKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	requireServer(t)
	artifacttest.RunStore(t, func(t *testing.T) artifact.Store { return newStore(t, "") })
}

func TestConformanceWithPrefix(t *testing.T) {
	requireServer(t)
	artifacttest.RunStore(t, func(t *testing.T) artifact.Store { return newStore(t, "sluice/artifacts") })
}

// TestLargePutBoundedMemory puts 64 MiB from a stream of unknown length and
// checks that the heap never held much more than a part or two, and that Get
// returns the same bytes.
func TestLargePutBoundedMemory(t *testing.T) {
	requireServer(t)
	s := newStore(t, "big")
	const size = 64 << 20
	const limit = 48 << 20

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	src := rand.NewChaCha8([32]byte{1, 2, 3})
	h := sha256.New()
	r := &peakReader{r: io.TeeReader(io.LimitReader(src, size), h), every: 1 << 20}
	n, err := s.Put(t.Context(), "exec/Out/big.zip", r)
	if err != nil {
		t.Fatal(err)
	}
	if n != size {
		t.Fatalf("Put size = %d, want %d", n, size)
	}
	if grew := int64(r.peak) - int64(before.HeapInuse); grew > limit {
		t.Errorf("heap in use grew by %d MiB during Put, want under %d MiB", grew>>20, limit>>20)
	} else {
		t.Logf("heap in use grew by at most %d MiB during a %d MiB Put", max(grew, 0)>>20, size>>20)
	}
	want := h.Sum(nil)

	if got, err := s.Stat(t.Context(), "exec/Out/big.zip"); err != nil || got != size {
		t.Fatalf("Stat = %d, %v; want %d", got, err, size)
	}
	rc, err := s.Get(t.Context(), "exec/Out/big.zip")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h = sha256.New()
	if got, err := io.Copy(h, rc); err != nil || got != size {
		t.Fatalf("reading back: %d bytes, %v", got, err)
	}
	if got := h.Sum(nil); string(got) != string(want) {
		t.Fatalf("Get returned different bytes: sha256 %x, want %x", got, want)
	}
}

// peakReader samples HeapInuse every so many bytes read.
type peakReader struct {
	r     io.Reader
	every int
	read  int
	peak  uint64
}

func (p *peakReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.read += n
	if p.read >= p.every || err != nil {
		p.read = 0
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		p.peak = max(p.peak, m.HeapInuse)
	}
	return n, err
}

func TestPrefixIsolates(t *testing.T) {
	requireServer(t)
	t.Parallel()
	bucket := newBucket(t)
	open := func(prefix string) *s3.Store {
		s, err := s3.New(s3.Config{Endpoint: endpoint, Bucket: bucket, Prefix: prefix, AccessKey: accessKey, SecretKey: secretKey})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := open("a"), open("b/")
	if _, err := a.Put(t.Context(), "k.zip", strings.NewReader("in a")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(t.Context(), "k.zip"); !errors.Is(err, artifact.ErrNotFound) {
		t.Fatalf("Stat under another prefix: err = %v, want ErrNotFound", err)
	}
	if size, err := open("").Stat(t.Context(), "a/k.zip"); err != nil || size != 4 {
		t.Fatalf("Stat of the full object name = %d, %v; want 4", size, err)
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	for _, cfg := range []s3.Config{
		{Bucket: "b"},
		{Endpoint: "127.0.0.1:1"},
		{Endpoint: "127.0.0.1:1", Bucket: "b", Prefix: "a/../b"},
		{Endpoint: "127.0.0.1:1", Bucket: "b", PartSize: 1 << 20},
	} {
		if _, err := s3.New(cfg); err == nil {
			t.Errorf("New(%v) succeeded", cfg)
		}
	}
}

func TestCheckMissingBucketAndSecretNotShown(t *testing.T) {
	requireServer(t)
	t.Parallel()
	cfg := s3.Config{Endpoint: endpoint, Bucket: "no-such-bucket", AccessKey: accessKey, SecretKey: secretKey}
	s, err := s3.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err = s.Check(ctx)
	if err == nil {
		t.Fatal("Check of a missing bucket succeeded")
	}
	for _, text := range []string{err.Error(), cfg.String(), fmt.Sprint(cfg)} {
		if strings.Contains(text, secretKey) {
			t.Fatalf("secret shown in %q", text)
		}
	}
}

// recorder is a transport that notes each request's method, path, query and
// checksum header before sending it on.
type recorder struct {
	mu   sync.Mutex
	reqs []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, fmt.Sprintf("%s %s?%s crc32c=%t", req.Method, req.URL.Path, req.URL.RawQuery,
		req.Header.Get("X-Amz-Checksum-Crc32c") != "" || strings.Contains(req.Header.Get("X-Amz-Trailer"), "crc32c")))
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

// TestRequestsOnTheWire checks what the store sends: path-style requests
// (BUCKET in the path, not the host name), a small object put as a multipart
// upload whose part carries a CRC32C checksum, one HEAD of the bucket to find
// its region when none is configured (not one per request), and a failed Put
// aborting its upload.
func TestRequestsOnTheWire(t *testing.T) {
	requireServer(t)
	t.Parallel()
	rec := &recorder{}
	bucket := newBucket(t)
	s, err := s3.New(s3.Config{Endpoint: endpoint, Bucket: bucket, Prefix: "p", AccessKey: accessKey, SecretKey: secretKey, Transport: rec})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(t.Context(), "a.zip", strings.NewReader("small")); err != nil {
		t.Fatal(err)
	}
	if size, err := s.Stat(t.Context(), "a.zip"); err != nil || size != 5 {
		t.Fatalf("Stat = %d, %v; want 5", size, err)
	}
	boom := errors.New("reader failed")
	if _, err := s.Put(t.Context(), "b.zip", io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(boom))); !errors.Is(err, boom) {
		t.Fatalf("Put of a failing reader: err = %v, want %v", err, boom)
	}
	reqs := rec.requests()
	var heads, parts, aborts int
	for _, r := range reqs {
		switch {
		case !strings.HasPrefix(r, "HEAD /"+bucket) && !strings.Contains(r, " /"+bucket+"/p/"):
			t.Errorf("request %q is not path-style in bucket %s under the prefix", r, bucket)
		case r == "HEAD /"+bucket+"? crc32c=false":
			heads++
		case strings.HasPrefix(r, "PUT /"+bucket+"/p/a.zip?") && strings.Contains(r, "partNumber=1"):
			parts++
			if !strings.HasSuffix(r, "crc32c=true") {
				t.Errorf("part upload %q carries no CRC32C checksum", r)
			}
		case strings.HasPrefix(r, "DELETE /"+bucket+"/p/b.zip?") && strings.Contains(r, "uploadId="):
			aborts++
		}
	}
	if heads != 1 || parts != 1 || aborts != 1 {
		t.Errorf("HEADs of the bucket %d, parts of a.zip %d, aborts of b.zip %d; want 1 each. Requests:\n%s", heads, parts, aborts, strings.Join(reqs, "\n"))
	}
	if _, err := s.Stat(t.Context(), "b.zip"); !errors.Is(err, artifact.ErrNotFound) {
		t.Errorf("Stat after a failed Put: err = %v, want ErrNotFound", err)
	}
}
