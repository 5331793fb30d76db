package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdks3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/artifact/s3"
	"github.com/sluice-ci/sluice/internal/region"
	"github.com/sluice-ci/sluice/internal/toolcache"
)

// benchRegions copies a 1 GiB artifact from the home region's store (a
// directory) into another region's, as an action in that region has its
// input staged: once into a directory store, once into versitygw's S3 on
// 127.0.0.1 when it is installed, each with the SHA-256 read-back that
// checks the copy. Against it: a plain `cp` of the same file, and `cp`
// followed by `sha256sum` of the copy (the same work the check does).
func benchRegions(ctx context.Context, runs int) error {
	if runs == 0 {
		runs = 3
	}
	dir, err := os.MkdirTemp("", "sluice-bench-regions-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	home, err := artifact.NewDisk(filepath.Join(dir, "home"))
	if err != nil {
		return err
	}
	defer home.Close()
	// Half random, half text, as build outputs are; written through the
	// store, so that it is where a job's output would be.
	const key = "exec/app/job.zip"
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeGiB(pw)) }()
	if _, err := home.Put(ctx, key, pr); err != nil {
		return err
	}
	pr.Close()
	src := filepath.Join(dir, "home", filepath.FromSlash(key))

	others := map[string]artifact.Store{}
	euDisk, err := artifact.NewDisk(filepath.Join(dir, "eu"))
	if err != nil {
		return err
	}
	defer euDisk.Close()
	others["directory"] = euDisk
	if gw, stop, err := benchVersityGW(ctx, dir); err != nil {
		fmt.Printf("regions: no versitygw (%v); the S3 figure is left out\n", err)
	} else {
		defer stop()
		others["versitygw"] = gw
	}
	for _, kind := range []string{"directory", "versitygw"} {
		dst, ok := others[kind]
		if !ok {
			continue
		}
		var times []time.Duration
		for range runs {
			// A fresh set each run: one copy per execution and region.
			set := region.New("home", home, []region.Region{{Name: "there", Store: dst, Location: kind}})
			_ = dst.Delete(ctx, key)
			t0 := time.Now()
			if err := set.Stage(ctx, "there", []string{key}); err != nil {
				return err
			}
			times = append(times, time.Since(t0))
			if set.Copies() != 1 {
				return fmt.Errorf("%d copies", set.Copies())
			}
		}
		fmt.Printf("regions: 1 GiB artifact staged into a %s store (copy + SHA-256 read-back), %d runs: %s\n", kind, runs, durations(times))
	}
	var cps, cpSums []time.Duration
	for range runs {
		dst := filepath.Join(dir, "cp.bin")
		os.Remove(dst)
		t0 := time.Now()
		if out, err := exec.CommandContext(ctx, "cp", src, dst).CombinedOutput(); err != nil {
			return fmt.Errorf("cp: %v %s", err, out)
		}
		cps = append(cps, time.Since(t0))
		if out, err := exec.CommandContext(ctx, "sha256sum", dst).CombinedOutput(); err != nil {
			return fmt.Errorf("sha256sum: %v %s", err, out)
		}
		cpSums = append(cpSums, time.Since(t0))
	}
	fmt.Printf("regions: plain cp of the same file, %d runs: %s\n", runs, durations(cps))
	fmt.Printf("regions: cp then sha256sum of the copy, %d runs: %s\n", runs, durations(cpSums))
	return nil
}

func durations(ds []time.Duration) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, ms(d))
	}
	return strings.Join(parts, ", ")
}

// benchVersityGW starts versitygw on a directory under dir, with a bucket,
// and returns an artifact store on it.
func benchVersityGW(ctx context.Context, dir string) (artifact.Store, func(), error) {
	bin, skip, err := toolcache.VersityGW.Find()
	if err != nil {
		return nil, nil, err
	}
	if bin == "" {
		return nil, nil, fmt.Errorf("%s", skip)
	}
	data := filepath.Join(dir, "gw")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, nil, err
	}
	const access, secret = "bench-access", "bench-secret-not-a-real-one"
	addr, stop, err := toolcache.RunVersityGW(bin, data, access, secret, nil, toolcache.VersityGWOptions{})
	if err != nil {
		return nil, nil, err
	}
	mc := sdks3.New(sdks3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(access, secret, ""),
	})
	if _, err := mc.CreateBucket(ctx, &sdks3.CreateBucketInput{Bucket: aws.String("there")}); err != nil {
		stop()
		return nil, nil, err
	}
	st, err := s3.New(s3.Config{Endpoint: addr, Bucket: "there", Prefix: "artifacts/", AccessKey: access, SecretKey: secret})
	if err != nil {
		stop()
		return nil, nil, err
	}
	return st, stop, nil
}
