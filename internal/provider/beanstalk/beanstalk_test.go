package beanstalk

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	eb "github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk"
	"github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/provider"
)

func conn(endpoint string) *awsconn.Conn {
	c := awsconn.Static("moto", mototest.Region, endpoint, mototest.Key, mototest.Secret, "")
	c.Bucket = "releases"
	return c
}

func newJob(t *testing.T, ep string, cfg map[string]string) (*provider.Job, *bytes.Buffer) {
	var log bytes.Buffer
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.py"), []byte("print('v2')\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, ".ebextensions"), 0o755)
	os.WriteFile(filepath.Join(dir, ".ebextensions", "env.config"), []byte("option_settings: []\n"), 0o644)
	return &provider.Job{
		ID: "j1", Pipeline: "shop", ExecutionID: "e-42", Action: "Deploy", Attempt: 1,
		Configuration: cfg, WorkDir: dir, ScratchDir: t.TempDir(), Inputs: []string{"Build"}, Log: &log,
		AWS: func(ctx context.Context, name string) (*awsconn.Conn, error) {
			if name != "moto" {
				return nil, errors.New("no connection " + name)
			}
			return conn(ep), nil
		},
	}, &log
}

// TestAgainstMoto deploys to an environment moto holds. moto 5.2 implements
// applications and environments but not CreateApplicationVersion,
// UpdateEnvironment or DescribeEvents (it answers 500): against it the test
// checks what comes before (the environment is found, the bundle is
// uploaded) and says it skips the rest, which TestProgress covers.
func TestAgainstMoto(t *testing.T) {
	moto := mototest.Start(t)
	ep := moto.URL
	ctx := context.Background()
	c := conn(ep)
	if _, err := S3Client(c).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(c.Bucket)}); err != nil {
		t.Fatal(err)
	}
	client := Client(c)
	if _, err := client.CreateApplication(ctx, &eb.CreateApplicationInput{ApplicationName: aws.String("shop")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateEnvironment(ctx, &eb.CreateEnvironmentInput{
		ApplicationName: aws.String("shop"), EnvironmentName: aws.String("shop-live"), SolutionStackName: aws.String("64bit Amazon Linux 2023 v4.0.0 running Python 3.11"),
	}); err != nil {
		t.Fatal(err)
	}

	t.Run("no such environment", func(t *testing.T) {
		job, _ := newJob(t, ep, map[string]string{"Connection": "moto", "ApplicationName": "shop", "EnvironmentName": "shop-test"})
		_, err := Provider{}.Run(ctx, job)
		if err == nil || !strings.Contains(err.Error(), "application shop has no environment shop-test") {
			t.Fatalf("run = %v, want an error naming the missing environment", err)
		}
	})

	// A repository's link out of the artifact does not take what it points
	// to into the bundle: the deployment fails before anything is uploaded.
	t.Run("link out of the artifact", func(t *testing.T) {
		job, _ := newJob(t, ep, map[string]string{"Connection": "moto", "ApplicationName": "shop", "EnvironmentName": "shop-live"})
		job.ExecutionID = "e-link"
		os.Symlink("/etc/passwd", filepath.Join(job.WorkDir, "passwd"))
		_, err := Provider{}.Run(ctx, job)
		if err == nil || !strings.Contains(err.Error(), "source bundle") || !strings.Contains(err.Error(), "passwd") {
			t.Fatalf("run = %v, want the bundle refused naming the link", err)
		}
		list, lerr := S3Client(c).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("releases"), Prefix: aws.String("sluice/shop/sluice-e-link")})
		if lerr != nil || len(list.Contents) != 0 {
			t.Errorf("objects = %v, %v; want nothing uploaded", list, lerr)
		}
	})

	t.Run("version deployed", func(t *testing.T) {
		job, log := newJob(t, ep, map[string]string{"Connection": "moto", "ApplicationName": "shop", "EnvironmentName": "shop-live"})
		_, err := Provider{PollInterval: 10 * time.Millisecond, Timeout: 30 * time.Second}.Run(ctx, job)

		// The bundle is the input artifact, at the key named for the
		// execution and action.
		obj, gerr := S3Client(c).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("releases"), Key: aws.String("sluice/shop/sluice-e-42-Deploy.zip")})
		if gerr != nil {
			t.Fatalf("bundle not uploaded: %v (run: %v)\n%s", gerr, err, log)
		}
		data, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		zr, zerr := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if zerr != nil {
			t.Fatal(zerr)
		}
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		if got := strings.Join(names, ","); !strings.Contains(got, "app.py") || !strings.Contains(got, ".ebextensions/env.config") {
			t.Errorf("bundle holds %s, want the artifact's files", got)
		}

		if err != nil && strings.Contains(err.Error(), "create application version") && strings.Contains(err.Error(), "StatusCode: 500") {
			t.Skip("moto does not implement CreateApplicationVersion, UpdateEnvironment or DescribeEvents: the update and the wait are covered by TestProgress")
		}
		if err != nil {
			t.Fatalf("run: %v\n%s", err, log)
		}
		out, derr := client.DescribeEnvironments(ctx, &eb.DescribeEnvironmentsInput{EnvironmentNames: []string{"shop-live"}})
		if derr != nil || len(out.Environments) != 1 || aws.ToString(out.Environments[0].VersionLabel) != "sluice-e-42-Deploy" {
			t.Errorf("environment = %+v, %v; want it on version sluice-e-42-Deploy", out, derr)
		}
	})
}

func TestNoBucket(t *testing.T) {
	job, _ := newJob(t, "", map[string]string{"Connection": "moto", "ApplicationName": "shop", "EnvironmentName": "shop-live"})
	job.AWS = func(context.Context, string) (*awsconn.Conn, error) {
		return awsconn.Static("plain", "us-east-1", "http://127.0.0.1:1", "k", "s", ""), nil
	}
	if _, err := (Provider{}).Run(context.Background(), job); err == nil || !strings.Contains(err.Error(), "aws connection plain names no bucket") {
		t.Fatalf("run = %v, want an error saying the connection has no bucket", err)
	}
}

func TestProgress(t *testing.T) {
	env := func(status types.EnvironmentStatus, label string) *types.EnvironmentDescription {
		return &types.EnvironmentDescription{EnvironmentName: aws.String("shop-live"), Status: status, VersionLabel: aws.String(label)}
	}
	events := []types.EventDescription{ // newest first, as DescribeEvents returns them
		{Severity: types.EventSeverityError, Message: aws.String("Failed to deploy application.")},
		{Severity: types.EventSeverityError, Message: aws.String("Instance deployment failed: pip install exited 1")},
	}
	for _, tc := range []struct {
		name    string
		env     *types.EnvironmentDescription
		events  []types.EventDescription
		done    bool
		errWant string
	}{
		{"updating", env(types.EnvironmentStatusUpdating, "v2"), nil, false, ""},
		{"ready on it", env(types.EnvironmentStatusReady, "v2"), nil, true, ""},
		{"ready with errors", env(types.EnvironmentStatusReady, "v2"), events, false,
			"the update of environment shop-live to v2 failed (ERROR: Instance deployment failed: pip install exited 1; ERROR: Failed to deploy application.)"},
		{"rolled back", env(types.EnvironmentStatusReady, "v1"), events[:1], false, "ready on version v1, not v2 (ERROR: Failed to deploy application.)"},
		{"terminating", env(types.EnvironmentStatusTerminating, "v1"), nil, false, "environment shop-live is Terminating"},
	} {
		done, err := Progress(tc.env, "v2", tc.events)
		if done != tc.done || (err == nil) != (tc.errWant == "") || (err != nil && err.Error() != strings.TrimSpace(err.Error())) || (err != nil && !strings.Contains(err.Error(), tc.errWant)) {
			t.Errorf("%s: Progress = %v, %v; want %v, %q", tc.name, done, err, tc.done, tc.errWant)
		}
	}
}

func TestVersionLabel(t *testing.T) {
	if got := VersionLabel("e-42", "Deploy Live", 1); got != "sluice-e-42-Deploy-Live" {
		t.Errorf("label = %q", got)
	}
	if got := VersionLabel("e-42", "Deploy", 3); got != "sluice-e-42-Deploy-3" {
		t.Errorf("retry label = %q", got)
	}
	long := VersionLabel(strings.Repeat("x", 120), "Deploy", 2)
	if len(long) != maxLabel || !strings.HasSuffix(long, "-2") {
		t.Errorf("long label %q (%d): want %d characters ending in the attempt", long, len(long), maxLabel)
	}
}
