// Package s3source is CodePipeline's S3 source action: it reads one object
// (S3Bucket, S3ObjectKey) from a bucket of an aws connection, which must be
// a zip, and passes it on unchanged as the action's output artifact. Its
// revision is the object's version id, or its ETag where the bucket does
// not keep versions; a pinned revision (a poll's, or a manual start's
// sourceRevisions) reads that version. A start's S3_OBJECT_KEY override
// (allowed by AllowOverrideForS3ObjectKey) arrives as the job's
// S3ObjectKey: the engine puts the overridden key there.
package s3source

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/provider/s3deploy"
)

// Provider is the S3 source provider.
type Provider struct{}

// IsSource reports whether an S3 action's configuration is a source
// action's (it names S3Bucket or S3ObjectKey; a deploy's names BucketName).
func IsSource(cfg map[string]string) bool {
	_, b := cfg["S3Bucket"]
	_, k := cfg["S3ObjectKey"]
	return b || k
}

// Or returns the provider for the name S3, which CodePipeline uses for a
// source action and a deploy action alike: this one for a source action's
// configuration, deploy for any other.
func Or(deploy provider.Provider) provider.Provider {
	return provider.Func(func(ctx context.Context, job *provider.Job) (provider.Result, error) {
		if IsSource(job.Configuration) {
			return Provider{}.Run(ctx, job)
		}
		return deploy.Run(ctx, job)
	})
}

// Object is what identifies an object's revision.
type Object struct {
	VersionID string // "" where the bucket keeps no versions
	ETag      string // without its quotes
}

// Revision is the object's source revision: its version id, else its ETag.
func (o Object) Revision() string { return pipeline.ObjectRevision(o.VersionID, o.ETag) }

// Head reads the current version id and ETag of s3://bucket/key.
func Head(ctx context.Context, c *s3.Client, bucket, key string) (Object, error) {
	out, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return Object{}, fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
	}
	return Object{VersionID: aws.ToString(out.VersionId), ETag: strings.Trim(aws.ToString(out.ETag), `"`)}, nil
}

// Run implements provider.Provider.
func (Provider) Run(ctx context.Context, job *provider.Job) (provider.Result, error) {
	bucket, key := job.Configuration["S3Bucket"], job.Configuration["S3ObjectKey"]
	if bucket == "" || key == "" {
		return provider.Result{}, errors.New("an S3 source action needs configuration S3Bucket and S3ObjectKey")
	}
	if len(job.Outputs) != 1 {
		return provider.Result{}, fmt.Errorf("an S3 source action has exactly one output artifact; this one has %d", len(job.Outputs))
	}
	if job.AWS == nil {
		return provider.Result{}, errors.New("this worker cannot get aws connections")
	}
	conn, err := job.AWS(ctx, job.Configuration["Connection"])
	if err != nil {
		return provider.Result{}, err
	}
	return fetch(ctx, job, conn, bucket, key)
}

func fetch(ctx context.Context, job *provider.Job, conn *awsconn.Conn, bucket, key string) (provider.Result, error) {
	c := s3deploy.Client(conn)
	where := "s3://" + bucket + "/" + key
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if rev := job.Revision; rev != "" {
		// A pinned revision is a version id, or, where the bucket keeps no
		// versions, the ETag it had: then only that content will do.
		cur, err := Head(ctx, c, bucket, key)
		if err != nil {
			return provider.Result{}, err
		}
		switch {
		case rev == cur.ETag && cur.Revision() == cur.ETag:
			in.IfMatch = aws.String(`"` + rev + `"`)
		case rev == cur.ETag:
			in.VersionId = aws.String(cur.VersionID)
		default:
			in.VersionId = aws.String(rev)
		}
		fmt.Fprintf(job.Log, "reading %s at revision %s through connection %s\n", where, rev, conn.Name)
	} else {
		fmt.Fprintf(job.Log, "reading %s through connection %s\n", where, conn.Name)
	}
	out, err := c.GetObject(ctx, in)
	if err != nil {
		if job.Revision != "" {
			return provider.Result{}, fmt.Errorf("%s: revision %s: %w", where, job.Revision, err)
		}
		return provider.Result{}, fmt.Errorf("%s: %w", where, err)
	}
	defer out.Body.Close()
	obj := Object{VersionID: aws.ToString(out.VersionId), ETag: strings.Trim(aws.ToString(out.ETag), `"`)}
	path := job.Outputs[0].Path
	n, err := save(path, out.Body)
	if err != nil {
		return provider.Result{}, fmt.Errorf("%s: %w", where, err)
	}
	if err := checkZip(path, n); err != nil {
		os.Remove(path)
		return provider.Result{}, fmt.Errorf("%s is not a zip file (an S3 source action passes the object on as its artifact, which must be a zip): %v", where, err)
	}
	fmt.Fprintf(job.Log, "read %s (%d bytes), revision %s\n", where, n, obj.Revision())
	vars := map[string]string{"ETag": obj.ETag}
	if obj.VersionID != "" && obj.VersionID != "null" {
		vars["VersionId"] = obj.VersionID
	}
	return provider.Result{Summary: fmt.Sprintf("%s revision %s", where, obj.Revision()), OutputVariables: vars}, nil
}

func save(path string, r io.Reader) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

func checkZip(path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = zip.NewReader(f, size)
	return err
}

// Revisions reads the revisions of the objects S3 source actions follow,
// for the poller: Conn opens an action's connection.
type Revisions struct {
	Conn func(ctx context.Context, pipeline, stage, action string) (*awsconn.Conn, error)
}

// ObjectRevision returns the current revision of the action's object.
func (r Revisions) ObjectRevision(ctx context.Context, pipelineName, stage string, a pipeline.Action) (string, error) {
	conn, err := r.Conn(ctx, pipelineName, stage, a.Name)
	if err != nil {
		return "", err
	}
	obj, err := Head(ctx, s3deploy.Client(conn), a.Configuration["S3Bucket"], a.Configuration["S3ObjectKey"])
	if err != nil {
		return "", err
	}
	return obj.Revision(), nil
}

// VersionOf finds the version of the action's object whose ETag is etag,
// the newest of them: what an object store's notification meant when it
// gave an ETag and no version id (versitygw's do), in a bucket that keeps
// versions. It returns "" when the bucket keeps none.
func (r Revisions) VersionOf(ctx context.Context, pipelineName, stage string, a pipeline.Action, etag string) (string, error) {
	conn, err := r.Conn(ctx, pipelineName, stage, a.Name)
	if err != nil {
		return "", err
	}
	bucket, key := a.Configuration["S3Bucket"], a.Configuration["S3ObjectKey"]
	out, err := s3deploy.Client(conn).ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(key)})
	if err != nil {
		return "", fmt.Errorf("s3://%s/%s: list versions: %w", bucket, key, err)
	}
	var best *types.ObjectVersion
	for i, v := range out.Versions {
		if aws.ToString(v.Key) != key || strings.Trim(aws.ToString(v.ETag), `"`) != etag {
			continue
		}
		if id := aws.ToString(v.VersionId); id == "" || id == "null" {
			return "", nil
		}
		if best == nil || aws.ToBool(v.IsLatest) || aws.ToTime(v.LastModified).After(aws.ToTime(best.LastModified)) {
			best = &out.Versions[i]
			if aws.ToBool(v.IsLatest) {
				break
			}
		}
	}
	if best == nil {
		return "", fmt.Errorf("s3://%s/%s has no version with ETag %s", bucket, key, etag)
	}
	return aws.ToString(best.VersionId), nil
}
