package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/toolcache"
	"github.com/sluice-ci/sluice/internal/wire"
)

// benchS3Events measures an S3 source's event-driven start: from an
// object store's notification to the source job being claimed by a worker
// long-polling the server, over real HTTP on 127.0.0.1. Two paths:
//
//   - versitygw: from PutObject returning to the job claimed. versitygw
//     sends its notification after answering, from a goroutine, without a
//     version id, so sluice also asks it (ListObjectVersions) which version
//     the ETag is: the whole path a versitygw user gets.
//   - direct: an AWS-shaped notification (with its versionId) POSTed to the
//     connection's webhook, from the POST's start to the job claimed: what
//     S3 through SNS, or any store that sends version ids, costs.
func benchS3Events(ctx context.Context, runs int) error {
	if runs == 0 {
		runs = 100
	}
	bin, skip, err := toolcache.VersityGW.Find()
	if err != nil {
		return err
	}
	if bin == "" {
		return fmt.Errorf("%s", skip)
	}
	c, base, _, cleanup, err := startServerURL(ctx, 0)
	if err != nil {
		return err
	}
	defer cleanup()
	const hookSecret = "bench-s3-hook-secret"
	webhook := strings.Replace(base, "http://", "http://sluice:"+hookSecret+"@", 1) + "/webhooks/connections/store"

	dir, err := os.MkdirTemp("", "sluice-bench-s3events-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, d := range []string{"data", "versions"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.CommandContext(ctx, bin, "--access", "bench", "--secret", "bench-secret", "--port", addr,
		"--event-webhook-url", webhook, "posix", "--versioning-dir", filepath.Join(dir, "versions"), filepath.Join(dir, "data"))
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for deadline := time.Now().Add(15 * time.Second); ; {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("versitygw did not listen on %s", addr)
		}
		time.Sleep(20 * time.Millisecond) // versitygw has no readiness signal
	}

	if err := c.PutSecret(ctx, "store-hook", []byte(hookSecret)); err != nil {
		return err
	}
	if err := c.PutSecret(ctx, "store-keys", []byte(`{"accessKeyId":"bench","secretAccessKey":"bench-secret"}`)); err != nil {
		return err
	}
	if _, err := c.ApplyConnection(ctx, "store.yml", []byte("name: store\nkind: aws\nregion: us-east-1\nendpoint: http://"+addr+
		"\ncredentials: {secret: store-keys}\nwebhookSecret: store-hook\n")); err != nil {
		return err
	}
	src := "name: app\nexecutionMode: PARALLEL\nstages:\n  - name: Source\n    actions:\n      - name: src\n" +
		"        actionTypeId: {category: Source, owner: AWS, provider: S3, version: '1'}\n" +
		"        configuration: {S3Bucket: drops, S3ObjectKey: app.zip, Connection: store, PollForSourceChanges: 'false'}\n" +
		"        outputArtifacts: [code]\n  - name: Build\n    actions:\n      - name: b\n        provider: Noop\n        inputArtifacts: [code]\n"
	if err := apply(ctx, c, src); err != nil {
		return err
	}
	s3c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("bench", "bench-secret", "")})
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("drops")}); err != nil {
		return err
	}
	if _, err := s3c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("drops"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		return err
	}

	viaStore := func(i int) (time.Time, error) {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		f, _ := zw.Create("n.txt")
		fmt.Fprint(f, i)
		zw.Close()
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("drops"), Key: aws.String("app.zip"), Body: bytes.NewReader(b.Bytes())}); err != nil {
			return time.Time{}, err
		}
		return time.Now(), nil
	}
	direct := func(i int) (time.Time, error) {
		body := fmt.Sprintf(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put",`+
			`"s3":{"bucket":{"name":"drops"},"object":{"key":"app.zip","size":1,"eTag":"e%d","versionId":"bench-v%d","sequencer":"%016x"}}}]}`, i, i, i)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/webhooks/connections/store", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+hookSecret)
		started := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return time.Time{}, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return time.Time{}, fmt.Errorf("notification answered %s", resp.Status)
		}
		return started, nil
	}
	for _, m := range []struct {
		name string
		send func(int) (time.Time, error)
	}{{"versitygw PutObject returned -> source job claimed", viaStore}, {"direct notification POSTed -> source job claimed", direct}} {
		gaps, err := notifyToClaim(ctx, c, runs, m.send)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		fmt.Printf("%s (%d objects): p50 %s, p99 %s, max %s\n", m.name, len(gaps),
			ms(percentile(gaps, 0.5)), ms(percentile(gaps, 0.99)), ms(percentile(gaps, 1)))
	}
	return nil
}

// notifyToClaim runs send runs+1 times (the first warms up), each with a
// worker long-polling for the S3 source's job, and returns the gaps from
// the time send returns to the claim.
func notifyToClaim(ctx context.Context, c *client.Client, runs int, send func(int) (time.Time, error)) ([]time.Duration, error) {
	var gaps []time.Duration
	for i := range runs + 1 {
		claimed := make(chan time.Time, 1)
		errc := make(chan error, 1)
		go func() {
			j, err := c.ClaimJob(ctx, wire.ClaimRequest{WorkerID: "bench", Providers: []string{"S3"}, WaitSeconds: 10})
			if err == nil && j == nil {
				err = fmt.Errorf("no job within 10 s of the notification")
			}
			if err != nil {
				errc <- err
				return
			}
			claimed <- time.Now()
			c.CompleteJob(ctx, j.ID, wire.JobResult{WorkerID: "bench", Message: "benchmark"})
		}()
		from, err := send(i)
		if err != nil {
			return nil, err
		}
		select {
		case err := <-errc:
			return nil, err
		case t := <-claimed:
			if i > 0 {
				gaps = append(gaps, max(t.Sub(from), 0))
			}
		}
	}
	return gaps, nil
}
