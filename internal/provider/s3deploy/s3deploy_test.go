package s3deploy

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/provider"
)

func writeFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// job is an S3 deploy job whose input artifact is dir.
func job(t *testing.T, conn *awsconn.Conn, dir string, cfg map[string]string) (*provider.Job, *bytes.Buffer) {
	var log bytes.Buffer
	return &provider.Job{
		ID: "j1", Provider: "S3", Configuration: cfg, Inputs: []string{"site"},
		InputDirs: map[string]string{"site": dir}, WorkDir: dir, Log: &log,
		AWS: func(ctx context.Context, name string) (*awsconn.Conn, error) {
			if name != cfg["Connection"] {
				t.Errorf("asked for connection %q", name)
			}
			return conn, nil
		},
	}, &log
}

func get(t *testing.T, c *s3.Client, bucket, key string) (*s3.GetObjectOutput, []byte) {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return out, data
}

func TestDeploy(t *testing.T) {
	moto := mototest.Start(t)
	ctx := context.Background()
	conn := moto.Conn("moto")
	c := Client(conn)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	big := make([]byte, 2*PartSize+12345) // multipart: three parts
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "index.html", []byte("<h1>hi</h1>"))
	writeFile(t, dir, "css/app.css", []byte("body{}"))
	writeFile(t, dir, "data/big.bin", big)
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "leak")); err != nil {
		t.Fatal(err)
	}

	t.Run("extract", func(t *testing.T) {
		j, log := job(t, conn, dir, map[string]string{
			"BucketName": "web", "Extract": "true", "ObjectKey": "v1/", "CacheControl": "max-age=60",
			"CannedACL": "public-read", "Connection": "prod",
		})
		res, err := Provider{}.Run(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(res.Summary, "uploaded 3 object(s)") {
			t.Fatalf("summary %q", res.Summary)
		}
		list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("web")})
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, o := range list.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		if want := []string{"v1/css/app.css", "v1/data/big.bin", "v1/index.html"}; !slices.Equal(keys, want) {
			t.Fatalf("keys %v, want %v (a link out of the artifact is never uploaded)", keys, want)
		}
		out, data := get(t, c, "web", "v1/index.html")
		if string(data) != "<h1>hi</h1>" || !strings.HasPrefix(aws.ToString(out.ContentType), "text/html") || aws.ToString(out.CacheControl) != "max-age=60" {
			t.Fatalf("index.html: %q type %q cache %q", data, aws.ToString(out.ContentType), aws.ToString(out.CacheControl))
		}
		if out, _ := get(t, c, "web", "v1/css/app.css"); !strings.HasPrefix(aws.ToString(out.ContentType), "text/css") {
			t.Fatalf("css type %q", aws.ToString(out.ContentType))
		}
		out, data = get(t, c, "web", "v1/data/big.bin")
		if !bytes.Equal(data, big) {
			t.Fatal("big.bin differs")
		}
		if tag := aws.ToString(out.ETag); !strings.HasSuffix(strings.Trim(tag, `"`), "-3") {
			t.Errorf("big.bin ETag %s: not a three-part multipart upload", tag)
		}
		acl, err := c.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String("web"), Key: aws.String("v1/index.html")})
		if err != nil {
			t.Fatal(err)
		}
		public := false
		for _, g := range acl.Grants {
			if g.Grantee != nil && strings.HasSuffix(aws.ToString(g.Grantee.URI), "/global/AllUsers") && g.Permission == "READ" {
				public = true
			}
		}
		if !public {
			t.Errorf("CannedACL public-read not applied: %+v", acl.Grants)
		}
		if !strings.Contains(log.String(), "uploaded s3://web/v1/index.html") {
			t.Errorf("log: %s", log)
		}
	})

	t.Run("single object with a link out", func(t *testing.T) {
		j, _ := job(t, conn, dir, map[string]string{"BucketName": "web", "Extract": "false", "ObjectKey": "leak.zip"})
		_, err := Provider{}.Run(ctx, j)
		if err == nil || !strings.Contains(err.Error(), "symbolic link leak -> /etc/passwd points outside") {
			t.Fatalf("err = %v", err)
		}
		if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("web"), Key: aws.String("leak.zip")}); err == nil {
			t.Fatal("leak.zip was uploaded")
		}
	})
	if err := os.Remove(filepath.Join(dir, "leak")); err != nil {
		t.Fatal(err)
	}

	t.Run("single object", func(t *testing.T) {
		j, _ := job(t, conn, dir, map[string]string{
			"BucketName": "web", "Extract": "false", "ObjectKey": "releases/site.zip",
			"KMSEncryptionKeyARN": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		})
		if _, err := (Provider{}).Run(ctx, j); err != nil {
			t.Fatal(err)
		}
		out, data := get(t, c, "web", "releases/site.zip")
		if out.ServerSideEncryption != "aws:kms" || !strings.HasSuffix(aws.ToString(out.SSEKMSKeyId), "1234567890ab") {
			t.Errorf("encryption %q key %q", out.ServerSideEncryption, aws.ToString(out.SSEKMSKeyId))
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range zr.File {
			if !f.FileInfo().IsDir() {
				names = append(names, f.Name)
			}
		}
		if want := []string{"css/app.css", "data/big.bin", "index.html"}; !slices.Equal(names, want) {
			t.Fatalf("zip holds %v, want %v", names, want)
		}
	})

	t.Run("no such bucket", func(t *testing.T) {
		j, _ := job(t, conn, dir, map[string]string{"BucketName": "nope", "Extract": "false", "ObjectKey": "a.zip"})
		_, err := Provider{}.Run(ctx, j)
		if err == nil || !strings.Contains(err.Error(), "s3://nope/a.zip") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestConfig(t *testing.T) {
	for _, tt := range []struct {
		cfg  map[string]string
		want string
	}{
		{map[string]string{"Extract": "true"}, "BucketName is required"},
		{map[string]string{"BucketName": "b", "Extract": "false"}, "ObjectKey is required when Extract is false"},
		{map[string]string{"BucketName": "b", "Extract": "yes"}, `Extract: "yes" is not true or false`},
	} {
		if _, err := readConfig(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want %s", tt.cfg, err, tt.want)
		}
	}
}
