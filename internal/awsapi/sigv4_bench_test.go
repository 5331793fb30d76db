package awsapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// BenchmarkVerify is the server's own cost of a SigV4 check: parse the
// Authorization header, hash the body, recompute the signature with the
// SDK's signer, compare.
func BenchmarkVerify(b *testing.B) {
	body := []byte(`{"name":"bench"}`)
	now := time.Now()
	r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:8080/", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", TargetPrefix+"GetPipelineState")
	sum := sha256.Sum256(body)
	secret := strings.Repeat("s", 40)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIABENCHBENCHBENCH0", SecretAccessKey: secret},
		r, hex.EncodeToString(sum[:]), "codepipeline", "us-east-1", now); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := parseAuthorization(r)
		if err != nil {
			b.Fatal(err)
		}
		if err := verify(context.Background(), r, body, s, secret, serviceName, "us-east-1", now); err != nil {
			b.Fatal(err)
		}
	}
}
