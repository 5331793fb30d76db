package s3_test

import (
	"testing"

	"github.com/sluice-ci/sluice/internal/artifact/s3"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		raw  string
		want s3.Config
	}{
		{"s3://arts", s3.Config{Bucket: "arts", Endpoint: "s3.amazonaws.com", TLS: true}},
		{"s3://arts/sluice/prod/?region=eu-west-1", s3.Config{Bucket: "arts", Prefix: "sluice/prod", Region: "eu-west-1", Endpoint: "s3.eu-west-1.amazonaws.com", TLS: true}},
		{"s3://arts/p?endpoint=127.0.0.1:7070&region=us-east-1&tls=false", s3.Config{Bucket: "arts", Prefix: "p", Region: "us-east-1", Endpoint: "127.0.0.1:7070"}},
	} {
		got, err := s3.ParseURL(tc.raw)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tc.raw, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseURL(%q) = %#v, want %#v", tc.raw, got, tc.want)
		}
	}
	for _, raw := range []string{"http://arts", "s3:///p", "s3://k:secret@arts/p", "s3://arts?tls=maybe", "s3://arts?endpint=x"} {
		if _, err := s3.ParseURL(raw); err == nil {
			t.Errorf("ParseURL(%q) succeeded", raw)
		}
	}
}
