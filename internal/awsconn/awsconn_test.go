package awsconn

import (
	"context"
	"testing"
)

func TestEndpointFor(t *testing.T) {
	c := Static("dev", "eu-west-1", "http://127.0.0.1:5000", "k", "s", "")
	c.Endpoints = map[string]string{"s3": "http://127.0.0.1:9000"}
	if got := c.EndpointFor("S3"); got != "http://127.0.0.1:9000" {
		t.Errorf("s3 endpoint = %q", got)
	}
	if got := c.EndpointFor("cloudformation"); got != "http://127.0.0.1:5000" {
		t.Errorf("cloudformation endpoint = %q", got)
	}
	if !c.S3PathStyle {
		t.Error("a connection with an endpoint addresses buckets by path")
	}
	creds, err := c.Config.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "k" || creds.SecretAccessKey != "s" {
		t.Errorf("credentials = %+v, %v", creds, err)
	}
	if aws := Static("prod", "us-east-1", "", "k", "s", ""); aws.EndpointFor("s3") != "" || aws.S3PathStyle {
		t.Errorf("a connection without an endpoint uses AWS's: %+v", aws)
	}
}
