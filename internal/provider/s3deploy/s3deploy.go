// Package s3deploy is CodePipeline's S3 deploy action: it puts the action's
// input artifact into a bucket of an aws connection (AWS or any S3-compatible
// server), either unpacked, one object per file under an optional key prefix
// (Extract true), or as one zip object (Extract false). Every upload streams
// through the SDK's transfer manager, in multipart parts for large files, so
// memory stays bounded whatever the artifact's size.
package s3deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/provider"
)

// Upload tuning: parts of PartSize, Concurrency parts of one object at once,
// Files objects at once. Memory is about PartSize × Concurrency × Files at
// most (a stream of unknown length is buffered part by part; a file is read
// in place).
const (
	PartSize    = 8 << 20
	Concurrency = 4
	Files       = 4
)

// Provider is the S3 deploy provider.
type Provider struct{}

// config is the action's configuration.
type config struct {
	bucket, objectKey, acl, cacheControl, kmsKey string
	extract                                      bool
}

func readConfig(c map[string]string) (config, error) {
	cfg := config{
		bucket: c["BucketName"], objectKey: c["ObjectKey"], acl: c["CannedACL"],
		cacheControl: c["CacheControl"], kmsKey: c["KMSEncryptionKeyARN"],
	}
	if cfg.bucket == "" {
		return cfg, errors.New("configuration BucketName is required")
	}
	switch c["Extract"] {
	case "true":
		cfg.extract = true
	case "false":
		if cfg.objectKey == "" {
			return cfg, errors.New("configuration ObjectKey is required when Extract is false")
		}
	default:
		return cfg, fmt.Errorf("configuration Extract: %q is not true or false", c["Extract"])
	}
	return cfg, nil
}

// Run implements provider.Provider.
func (Provider) Run(ctx context.Context, job *provider.Job) (provider.Result, error) {
	cfg, err := readConfig(job.Configuration)
	if err != nil {
		return provider.Result{}, err
	}
	if len(job.Inputs) != 1 {
		return provider.Result{}, errors.New("an S3 deploy action takes exactly one input artifact")
	}
	if job.AWS == nil {
		return provider.Result{}, errors.New("this worker cannot get aws connections")
	}
	conn, err := job.AWS(ctx, job.Configuration["Connection"])
	if err != nil {
		return provider.Result{}, err
	}
	fmt.Fprintf(job.Log, "deploying to s3://%s through connection %s (region %s)\n", cfg.bucket, conn.Name, conn.Config.Region)
	tm := transfermanager.New(Client(conn), func(o *transfermanager.Options) {
		o.PartSizeBytes = PartSize
		o.Concurrency = Concurrency
	})
	d := &deployer{tm: tm, cfg: cfg, log: job.Log}
	dir := job.InputDirs[job.Inputs[0]]
	if cfg.extract {
		err = d.extract(ctx, dir)
	} else {
		err = d.zip(ctx, dir)
	}
	if err != nil {
		return provider.Result{}, err
	}
	where := "s3://" + cfg.bucket + "/" + cfg.objectKey
	return provider.Result{Summary: fmt.Sprintf("uploaded %d object(s), %d bytes, to %s", d.objects.Load(), d.bytes.Load(), where)}, nil
}

// Client is an S3 client for the connection: its endpoint for s3, and path
// style addressing where the connection asks for it.
func Client(conn *awsconn.Conn) *s3.Client {
	return s3.NewFromConfig(conn.Config, func(o *s3.Options) {
		if ep := conn.EndpointFor("s3"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
		o.UsePathStyle = conn.S3PathStyle
	})
}

type deployer struct {
	tm             *transfermanager.Client
	cfg            config
	log            io.Writer
	objects, bytes atomic.Int64
}

// input is one upload's request with the action's settings.
func (d *deployer) input(key, contentType string, body io.Reader) *transfermanager.UploadObjectInput {
	in := &transfermanager.UploadObjectInput{Bucket: aws.String(d.cfg.bucket), Key: aws.String(key), Body: body}
	if contentType != "" {
		in.ContentType = aws.String(contentType)
	}
	if d.cfg.acl != "" {
		in.ACL = tmtypes.ObjectCannedACL(d.cfg.acl)
	}
	if d.cfg.cacheControl != "" {
		in.CacheControl = aws.String(d.cfg.cacheControl)
	}
	if d.cfg.kmsKey != "" {
		in.ServerSideEncryption = tmtypes.ServerSideEncryptionAwsKms
		in.SSEKMSKeyID = aws.String(d.cfg.kmsKey)
	}
	return in
}

func (d *deployer) upload(ctx context.Context, key, contentType string, body io.Reader) error {
	if _, err := d.tm.UploadObject(ctx, d.input(key, contentType, body)); err != nil {
		return fmt.Errorf("upload s3://%s/%s: %w", d.cfg.bucket, key, err)
	}
	d.objects.Add(1)
	return nil
}

// zip uploads the artifact as one zip object, written as it is uploaded.
func (d *deployer) zip(ctx context.Context, dir string) error {
	pr, pw := io.Pipe()
	go func() {
		_, err := artifact.Zip(ctx, countingWriter{pw, &d.bytes}, dir, []string{"**/*"})
		pw.CloseWithError(err)
	}()
	err := d.upload(ctx, d.cfg.objectKey, "application/zip", pr)
	pr.CloseWithError(err) // stops the zip writer when the upload failed
	if err == nil {
		fmt.Fprintf(d.log, "uploaded the artifact as s3://%s/%s (%d bytes)\n", d.cfg.bucket, d.cfg.objectKey, d.bytes.Load())
	}
	return err
}

// extract uploads every file of the artifact under the key prefix, with a
// content type guessed from its extension. Files are opened through an
// os.Root on the artifact, so no link leads the upload outside it.
func (d *deployer) extract(ctx context.Context, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	prefix := strings.Trim(d.cfg.objectKey, "/")
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(Files)
	err = fs.WalkDir(root.FS(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if gctx.Err() != nil {
			return gctx.Err()
		}
		if !e.Type().IsRegular() {
			return nil // directories, and links the artifact kept, are not objects
		}
		key := p
		if prefix != "" {
			key = prefix + "/" + p
		}
		g.Go(func() error {
			f, err := root.Open(filepath.FromSlash(p))
			if err != nil {
				return err
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return err
			}
			if err := d.upload(gctx, key, contentType(p), f); err != nil {
				return err
			}
			d.bytes.Add(st.Size())
			fmt.Fprintf(d.log, "uploaded s3://%s/%s (%d bytes)\n", d.cfg.bucket, key, st.Size())
			return nil
		})
		return nil
	})
	if werr := g.Wait(); err == nil {
		err = werr
	}
	return err
}

// contentType is the MIME type for a file's extension, or
// application/octet-stream.
func contentType(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}
