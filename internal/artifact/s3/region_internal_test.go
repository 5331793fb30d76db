package s3

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Requests are signed for the bucket's region, and those for a bucket of
// another region than us-east-1 go to its regional endpoint when the store
// was given AWS's global one (which would answer them with a redirect).
func TestRequestRegionAndEndpoint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		endpoint, region, found  string // found: the bucket's region, as the server named it
		wantRegion, wantEndpoint string
	}{
		{"s3.amazonaws.com", "", "eu-west-1", "eu-west-1", "https://s3.eu-west-1.amazonaws.com"},
		{"s3.amazonaws.com", "", "us-east-1", "us-east-1", "https://s3.amazonaws.com"},
		{"s3.eu-west-3.amazonaws.com", "", "", "eu-west-3", "https://s3.eu-west-3.amazonaws.com"},
		{"s3-eu-west-2.amazonaws.com", "", "", "eu-west-2", "https://s3-eu-west-2.amazonaws.com"},
		{"s3.amazonaws.com", "ap-south-1", "", "ap-south-1", "https://s3.ap-south-1.amazonaws.com"},
		{"127.0.0.1:7070", "", "us-east-1", "us-east-1", "https://127.0.0.1:7070"},
		{"gw.example:7070", "eu-central-1", "", "eu-central-1", "https://gw.example:7070"},
	} {
		st, err := New(Config{Endpoint: tc.endpoint, Bucket: "b", Region: tc.region, TLS: true})
		if err != nil {
			t.Fatal(err)
		}
		if tc.found != "" {
			if !st.findRegion {
				t.Fatalf("%s, region %q: the bucket's region would not be asked for", tc.endpoint, tc.region)
			}
			st.region = tc.found // what bucketRegion would have kept
		}
		o := st.client.Options()
		st.inRegion(t.Context())(&o)
		if o.Region != tc.wantRegion || aws.ToString(o.BaseEndpoint) != tc.wantEndpoint {
			t.Errorf("%s, region %q, bucket in %q: requests signed for %q to %q; want %q to %q",
				tc.endpoint, tc.region, tc.found, o.Region, aws.ToString(o.BaseEndpoint), tc.wantRegion, tc.wantEndpoint)
		}
	}
}
