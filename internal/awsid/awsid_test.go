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

func TestNewAndARNs(t *testing.T) {
	id, err := New("", "")
	if err != nil || id != Default() {
		t.Fatalf("defaults: %+v %v", id, err)
	}
	id, err = New("eu-west-2", "123456789012")
	if err != nil {
		t.Fatal(err)
	}
	if got := id.PipelineARN("app"); got != "arn:aws:codepipeline:eu-west-2:123456789012:app" {
		t.Fatalf("pipeline arn %s", got)
	}
	if got := id.RepositoryARN("repo"); got != "arn:aws:codecommit:eu-west-2:123456789012:repo" {
		t.Fatalf("repository arn %s", got)
	}
	if name, ok := id.PipelineName("arn:aws:codepipeline:eu-west-2:123456789012:app"); !ok || name != "app" {
		t.Fatalf("pipeline name %q %v", name, ok)
	}
	for _, arn := range []string{
		"arn:aws:codepipeline:us-east-1:123456789012:app", // another region
		"arn:aws:codepipeline:eu-west-2:000000000000:app", // another account
		"arn:aws:codepipeline:eu-west-2:123456789012:webhook:w",
		"app",
	} {
		if _, ok := id.PipelineName(arn); ok {
			t.Errorf("%s read as a pipeline of %+v", arn, id)
		}
	}
	for _, bad := range [][2]string{{"local", ""}, {"US-EAST-1", ""}, {"", "12345"}, {"", "abcdefghijkl"}} {
		if _, err := New(bad[0], bad[1]); err == nil {
			t.Errorf("New(%q, %q) accepted", bad[0], bad[1])
		}
	}
}
