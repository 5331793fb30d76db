package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/provider/s3deploy"
)

// benchS3 deploys a 1 GiB artifact to moto's S3 with the S3 deploy
// provider, unpacked (one 1 GiB file: a multipart upload read from the file
// in place) and as one zip object (written while it is uploaded: a stream of
// unknown length, buffered part by part), reporting the heap's peak and
// the growth of the process's peak resident set for each.
func benchS3(ctx context.Context, _ int) error {
	moto, stop, err := mototest.Run(ctx, nil)
	if err != nil {
		return err
	}
	defer stop()
	dir, err := os.MkdirTemp("", "sluice-bench-s3-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "site")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	// Half random, half text, as build outputs are.
	f, err := os.Create(filepath.Join(src, "big.bin"))
	if err != nil {
		return err
	}
	if err := writeGiB(f); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	conn := moto.Conn("moto")
	client := s3deploy.Client(conn)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bench")}); err != nil {
		return err
	}
	for _, extract := range []string{"true", "false"} {
		job := &provider.Job{
			ID: "bench", Provider: "S3", Inputs: []string{"site"}, InputDirs: map[string]string{"site": src}, WorkDir: src, Log: io.Discard,
			Configuration: map[string]string{"BucketName": "bench", "Extract": extract, "ObjectKey": "site.zip"},
			AWS:           func(context.Context, string) (*awsconn.Conn, error) { return conn, nil },
		}
		key := "unpacked"
		if extract == "false" {
			key = "site.zip"
		}
		job.Configuration["ObjectKey"] = key
		// What earlier work left on the heap is not the deploy's.
		debug.FreeOSMemory()
		rss0 := peakRSS()
		var mem runtimeMem
		mem.start()
		t0 := time.Now()
		res, err := s3deploy.Provider{}.Run(ctx, job)
		took := time.Since(t0)
		heap := mem.stop()
		if err != nil {
			return err
		}
		fmt.Printf("S3 deploy of a 1 GiB artifact to moto, Extract=%s: %s (%.0f MiB/s), heap peak %d MiB, process peak RSS %d MiB (%d MiB before); %s\n",
			extract, ms(took), 1024/took.Seconds(), heap>>20, peakRSS()>>20, rss0>>20, res.Summary)
	}
	return nil
}

// writeGiB writes 1 GiB to w, half random and half text (64 MiB of each in
// turn), as build outputs are; 1 MiB at a time, so that making it leaves
// the process small.
func writeGiB(w io.Writer) error {
	chunk := make([]byte, 1<<20)
	for i := range 1024 {
		if (i/64)%2 == 0 {
			rand.Read(chunk)
		} else {
			for j := range chunk {
				chunk[j] = byte('a' + j%26)
			}
		}
		if _, err := w.Write(chunk); err != nil {
			return err
		}
	}
	return nil
}

// peakRSS is the process's peak resident set (VmHWM), in bytes.
func peakRSS() uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
