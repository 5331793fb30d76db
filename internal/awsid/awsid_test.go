package awsid

import "testing"

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
