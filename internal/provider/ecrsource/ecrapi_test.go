package ecrsource_test

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/provider/ecrsource"
)

// manifest is a Docker image manifest whose config names n, so that each
// n is another image.
func manifest(n int) string {
	return fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",`+
		`"config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":%d,"digest":"sha256:%064x"},`+
		`"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":100,"digest":"sha256:%064x"}]}`, 10+n, n, n+1000)
}

// An ECR source with only CodePipeline's keys (RepositoryName; ImageTag
// left to latest) reads the ECR of its aws connection (moto's): the tag's
// digest through DescribeImages, imageDetail.json with ECR's registry id
// and image URI; a pinned digest that the tag no longer names keeps no
// tag; a missing tag or repository fails naming it; the poller's
// ECRDigests reads the tag's current digest.
func TestECRThroughConnection(t *testing.T) {
	moto := mototest.Start(t)
	ctx := context.Background()
	conn := moto.Conn("moto")
	c := ecr.NewFromConfig(conn.Config, func(o *ecr.Options) { o.BaseEndpoint = aws.String(moto.URL) })
	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("team/app")}); err != nil {
		t.Fatal(err)
	}
	push := func(n int, tag string) string {
		out, err := c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("team/app"), ImageManifest: aws.String(manifest(n)), ImageTag: aws.String(tag)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Image.ImageId.ImageDigest)
	}
	d1 := push(1, "latest")
	// Tagged v1 too: moto, unlike ECR, deletes an image whose last tag
	// moves to another, and the pinned run below reads this one.
	push(1, "v1")
	run := func(cfg map[string]string, rev string) (ecrsource.ImageDetail, provider.Result, error) {
		dir := t.TempDir()
		job := &provider.Job{ID: "j", Provider: "ECR", Configuration: cfg, Revision: rev, Log: io.Discard,
			Outputs: []provider.Output{{Name: "image", Path: filepath.Join(dir, "out.zip")}},
			AWS: func(_ context.Context, name string) (*awsconn.Conn, error) {
				if name != "" {
					return nil, fmt.Errorf("connection %s not found", name)
				}
				return conn, nil
			}}
		res, err := ecrsource.Provider{}.Run(ctx, job)
		if err != nil {
			return ecrsource.ImageDetail{}, res, err
		}
		zr, err := zip.OpenReader(job.Outputs[0].Path)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		f, err := zr.Open("imageDetail.json")
		if err != nil {
			t.Fatal(err)
		}
		var d ecrsource.ImageDetail
		if err := json.NewDecoder(f).Decode(&d); err != nil {
			t.Fatal(err)
		}
		return d, res, nil
	}
	d, res, err := run(map[string]string{"RepositoryName": "team/app"}, "")
	if err != nil {
		t.Fatal(err)
	}
	const registry = "123456789012"
	wantURI := registry + ".dkr.ecr." + mototest.Region + ".amazonaws.com/team/app@" + d1
	if d.ImageDigest != d1 || d.RegistryID != registry || d.RepositoryName != "team/app" || d.ImageURI != wantURI ||
		len(d.ImageTags) != 1 || d.ImageTags[0] != "latest" || d.ImagePushedAt == "" || d.Version != "1.0" {
		t.Errorf("imageDetail.json %+v, want digest %s, URI %s", d, d1, wantURI)
	}
	if v := res.OutputVariables; v["ImageDigest"] != d1 || v["RegistryId"] != registry || v["ImageURI"] != wantURI || v["ImageTag"] != "latest" {
		t.Errorf("variables %v", v)
	}

	d2 := push(2, "latest")
	if d2 == d1 {
		t.Fatal("two manifests, one digest")
	}
	got, err := ecrsource.ECRDigests{Conn: func(context.Context, string, string, string) (*awsconn.Conn, error) { return conn, nil }}.
		ImageDigest(ctx, "p", "Source", pipeline.Action{Name: "img", Configuration: map[string]string{"RepositoryName": "team/app"}})
	if err != nil || got != d2 {
		t.Errorf("poll digest %q %v, want %s", got, err, d2)
	}
	d, _, err = run(map[string]string{"RepositoryName": "team/app", "ImageTag": "latest"}, d1)
	if err != nil || d.ImageDigest != d1 || len(d.ImageTags) != 0 {
		t.Errorf("pinned to the older digest: %+v %v", d, err)
	}
	for _, c := range []struct {
		cfg  map[string]string
		want string
	}{
		{map[string]string{"RepositoryName": "team/app", "ImageTag": "v9"}, "image team/app:v9 not found in the ECR of connection moto"},
		{map[string]string{"RepositoryName": "team/none"}, "repository team/none not found in the ECR of connection moto"},
		{map[string]string{"RepositoryName": "team/app", "Connection": "nope"}, "connection nope not found"},
	} {
		if _, _, err := run(c.cfg, ""); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.cfg, err, c.want)
		}
	}
}
