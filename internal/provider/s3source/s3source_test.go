package s3source

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/provider/s3deploy"
)

func zipOf(t *testing.T, name, body string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	f, err := w.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte(body))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func bucket(t *testing.T, c *s3.Client, name string, versioned bool) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if versioned {
		if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(name),
			VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
			t.Fatal(err)
		}
	}
}

func put(t *testing.T, c *s3.Client, b, key string, data []byte) *s3.PutObjectOutput {
	t.Helper()
	out, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func job(t *testing.T, conn *awsconn.Conn, cfg map[string]string, revision string) *provider.Job {
	dir := t.TempDir()
	return &provider.Job{
		ID: "j1", Provider: "S3", Configuration: cfg, Revision: revision, Log: &bytes.Buffer{},
		Outputs: []provider.Output{{Name: "code", Path: filepath.Join(dir, "out.zip")}},
		AWS: func(ctx context.Context, name string) (*awsconn.Conn, error) {
			if name != cfg["Connection"] {
				t.Errorf("asked for connection %q", name)
			}
			return conn, nil
		},
	}
}

func run(t *testing.T, j *provider.Job) (provider.Result, error) {
	return Or(provider.Func(func(context.Context, *provider.Job) (provider.Result, error) {
		t.Fatal("a source configuration went to the deploy provider")
		return provider.Result{}, nil
	})).Run(context.Background(), j)
}

func TestVersionedSource(t *testing.T) {
	moto := mototest.Start(t)
	conn := moto.Conn("aws")
	c := s3deploy.Client(conn)
	bucket(t, c, "src-versioned", true)
	v1 := aws.ToString(put(t, c, "src-versioned", "app.zip", zipOf(t, "a.txt", "one")).VersionId)
	v2 := aws.ToString(put(t, c, "src-versioned", "app.zip", zipOf(t, "a.txt", "two")).VersionId)
	if v1 == "" || v1 == v2 {
		t.Fatalf("version ids %q %q", v1, v2)
	}
	cfg := map[string]string{"S3Bucket": "src-versioned", "S3ObjectKey": "app.zip", "Connection": "aws"}

	j := job(t, conn, cfg, "")
	res, err := run(t, j)
	if err != nil {
		t.Fatal(err)
	}
	if res.OutputVariables["VersionId"] != v2 || res.OutputVariables["ETag"] == "" || !strings.Contains(res.Summary, v2) {
		t.Fatalf("head: %+v", res)
	}
	readZip(t, j.Outputs[0].Path, "a.txt", "two")

	// A pinned version id reads that version.
	j = job(t, conn, cfg, v1)
	res, err = run(t, j)
	if err != nil {
		t.Fatal(err)
	}
	if res.OutputVariables["VersionId"] != v1 {
		t.Fatalf("pinned: %+v", res)
	}
	readZip(t, j.Outputs[0].Path, "a.txt", "one")

	// A version id that does not exist fails, naming the object.
	_, err = run(t, job(t, conn, cfg, "no-such-version"))
	if err == nil || !strings.Contains(err.Error(), "s3://src-versioned/app.zip") || !strings.Contains(err.Error(), "no-such-version") {
		t.Fatalf("unknown version: %v", err)
	}
}

func TestUnversionedSourceRevisionIsTheETag(t *testing.T) {
	moto := mototest.Start(t)
	conn := moto.Conn("aws")
	c := s3deploy.Client(conn)
	bucket(t, c, "src-plain", false)
	etag := strings.Trim(aws.ToString(put(t, c, "src-plain", "app.zip", zipOf(t, "a.txt", "one")).ETag), `"`)
	cfg := map[string]string{"S3Bucket": "src-plain", "S3ObjectKey": "app.zip", "Connection": "aws"}
	j := job(t, conn, cfg, "")
	res, err := run(t, j)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := res.OutputVariables["VersionId"]; ok || res.OutputVariables["ETag"] != etag || !strings.Contains(res.Summary, etag) {
		t.Fatalf("%+v (etag %s)", res, etag)
	}
	readZip(t, j.Outputs[0].Path, "a.txt", "one")
	// Pinned to the current ETag: reads it.
	if _, err := run(t, job(t, conn, cfg, etag)); err != nil {
		t.Fatal(err)
	}
	// Pinned to content the object no longer has: fails rather than reading
	// other content.
	put(t, c, "src-plain", "app.zip", zipOf(t, "a.txt", "two"))
	if _, err := run(t, job(t, conn, cfg, etag)); err == nil || !strings.Contains(err.Error(), etag) {
		t.Fatalf("stale etag: %v", err)
	}
}

func TestNotAZipFails(t *testing.T) {
	moto := mototest.Start(t)
	conn := moto.Conn("aws")
	c := s3deploy.Client(conn)
	bucket(t, c, "src-bad", false)
	put(t, c, "src-bad", "notes.txt", []byte("just text"))
	j := job(t, conn, map[string]string{"S3Bucket": "src-bad", "S3ObjectKey": "notes.txt", "Connection": "aws"}, "")
	_, err := run(t, j)
	if err == nil || !strings.Contains(err.Error(), "s3://src-bad/notes.txt is not a zip") {
		t.Fatalf("err = %v", err)
	}
	if _, serr := os.Stat(j.Outputs[0].Path); !os.IsNotExist(serr) {
		t.Fatalf("a non-zip object was left as the artifact: %v", serr)
	}
	// A missing object names itself too.
	_, err = run(t, job(t, conn, map[string]string{"S3Bucket": "src-bad", "S3ObjectKey": "gone.zip", "Connection": "aws"}, ""))
	if err == nil || !strings.Contains(err.Error(), "s3://src-bad/gone.zip") {
		t.Fatalf("missing: %v", err)
	}
}

func readZip(t *testing.T, path, name, want string) {
	t.Helper()
	r, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := r.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b bytes.Buffer
	b.ReadFrom(f)
	if b.String() != want {
		t.Fatalf("%s = %q, want %q", name, b.String(), want)
	}
}

// An S3_OBJECT_KEY override reaches the provider as the job's S3ObjectKey
// (the engine puts the overridden key there): it reads that object, at the
// pinned version when there is one, and its summary names key and version.
func TestOverriddenObjectKey(t *testing.T) {
	moto := mototest.Start(t)
	conn := moto.Conn("aws")
	c := s3deploy.Client(conn)
	bucket(t, c, "src-keys", true)
	put(t, c, "src-keys", "app.zip", zipOf(t, "a.txt", "configured"))
	old := aws.ToString(put(t, c, "src-keys", "releases/v2.zip", zipOf(t, "a.txt", "v2 first")).VersionId)
	cur := aws.ToString(put(t, c, "src-keys", "releases/v2.zip", zipOf(t, "a.txt", "v2 second")).VersionId)
	cfg := map[string]string{"S3Bucket": "src-keys", "S3ObjectKey": "releases/v2.zip", "AllowOverrideForS3ObjectKey": "true", "Connection": "aws"}

	j := job(t, conn, cfg, "")
	res, err := run(t, j)
	if err != nil {
		t.Fatal(err)
	}
	if res.OutputVariables["VersionId"] != cur || res.Summary != "s3://src-keys/releases/v2.zip revision "+cur {
		t.Fatalf("latest of the overridden key: %+v", res)
	}
	readZip(t, j.Outputs[0].Path, "a.txt", "v2 second")

	j = job(t, conn, cfg, old)
	res, err = run(t, j)
	if err != nil {
		t.Fatal(err)
	}
	if res.OutputVariables["VersionId"] != old || res.Summary != "s3://src-keys/releases/v2.zip revision "+old {
		t.Fatalf("pinned version of the overridden key: %+v", res)
	}
	readZip(t, j.Outputs[0].Path, "a.txt", "v2 first")

	// A version of another object is not one of this key's: refused by the
	// store, naming the key.
	other := aws.ToString(put(t, c, "src-keys", "app.zip", zipOf(t, "a.txt", "configured again")).VersionId)
	if _, err := run(t, job(t, conn, cfg, other)); err == nil || !strings.Contains(err.Error(), "s3://src-keys/releases/v2.zip") {
		t.Fatalf("another object's version: %v", err)
	}
}
