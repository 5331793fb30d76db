package awsapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
)

// BenchmarkCalls measures the same operations through the native API (a
// bearer token) and through the AWS endpoint (the SDK signing each request
// with SigV4, the server recomputing the signature), against one real
// server on 127.0.0.1 with the audit trail on: one caller at a time
// (ns/op is the latency of a call), and 8 callers per CPU (calls/s).
//
//	go test -run - -bench Calls -benchtime 3s ./internal/awsapi
func BenchmarkCalls(b *testing.B) {
	f := start(b)
	k := f.keys(b, "bench", "admin")
	cp := f.client(k.AccessKeyID, k.SecretAccessKey)
	ctx := context.Background()
	if _, err := cp.CreatePipeline(ctx, createInput("bench")); err != nil {
		b.Fatal(err)
	}
	const stateBody = `{"name":"bench"}`
	signedOnce := f.signed(b, request{target: "GetPipelineState", body: stateBody, id: k.AccessKeyID, secret: k.SecretAccessKey, at: time.Now()})
	calls := []struct {
		name string
		call func() error
	}{
		{"native/GetPipelineState", func() error { _, err := f.admin.State(ctx, "bench"); return err }},
		{"aws/GetPipelineState", func() error {
			_, err := cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String("bench")})
			return err
		}},
		// The server's part alone: one request signed once and sent again
		// and again (as a replay inside the allowed skew is taken), so
		// that the SDK's own work on the client is not counted.
		{"aws-signed-once/GetPipelineState", func() error {
			r := signedOnce.Clone(ctx)
			r.Body = io.NopCloser(strings.NewReader(stateBody))
			res, err := http.DefaultClient.Do(r)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				return fmt.Errorf("status %d", res.StatusCode)
			}
			return nil
		}},
		{"native/ListPipelines", func() error { _, err := f.admin.Pipelines(ctx); return err }},
		{"aws/ListPipelines", func() error {
			_, err := cp.ListPipelines(ctx, &codepipeline.ListPipelinesInput{})
			return err
		}},
	}
	for _, c := range calls {
		b.Run(c.name+"/serial", func(b *testing.B) {
			for b.Loop() {
				if err := c.call(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.call(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
