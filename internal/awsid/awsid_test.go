package awsid

import (
	"strings"
	"testing"
)

func TestNewDefaultsAndARNs(t *testing.T) {
	id, err := New("", "")
	if err != nil {
		t.Fatal(err)
	}
	if id.Region != "us-east-1" || id.Account != "000000000000" {
		t.Fatalf("defaults: %+v", id)
	}
	if got := id.PipelineARN("app"); got != "arn:aws:codepipeline:us-east-1:000000000000:app" {
		t.Fatalf("pipeline ARN %q", got)
	}
	id, err = New("eu-west-3", "123456789012")
	if err != nil {
		t.Fatal(err)
	}
	if got := id.RepositoryARN("web"); got != "arn:aws:codecommit:eu-west-3:123456789012:web" {
		t.Fatalf("repository ARN %q", got)
	}
	if got := (ID{}).PipelineARN("x"); got != "arn:aws:codepipeline:us-east-1:000000000000:x" {
		t.Fatalf("zero ID's ARN %q", got)
	}
}

func TestNewRefusesMalformed(t *testing.T) {
	for _, c := range []struct{ region, account, want string }{
		{"", "1234", "--aws-account-id"},
		{"", "12345678901a", "--aws-account-id"},
		{"local", "", "--aws-region"},
		{"US-EAST-1", "", "--aws-region"},
		{"us-east-1:evil", "", "--aws-region"},
	} {
		if _, err := New(c.region, c.account); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%q, %q) = %v, want an error naming %s", c.region, c.account, err, c.want)
		}
	}
	for _, r := range []string{"us-east-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1"} {
		if !IsRegion(r) {
			t.Errorf("IsRegion(%q) = false", r)
		}
	}
}
