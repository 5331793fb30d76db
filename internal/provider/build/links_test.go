package build

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/report"
)

// CodeBuild always attempts UPLOAD_ARTIFACTS, even after BUILD failed: the
// build's outputs are written and named in KeptOutputs for the worker.
func TestFailedBuildKeepsOutputs(t *testing.T) {
	spec := `version: 0.2
phases:
  build:
    commands:
      - mkdir -p out && echo partial > out/x.txt
      - exit 2
artifacts:
  files: ['out/**/*']
`
	f := newJob(t, Project{Name: "p", Buildspec: spec, Isolation: "none"}, nil, "bin")
	res, err := Provider{}.Run(context.Background(), f.job)
	if err == nil || !strings.Contains(err.Error(), "exited with code 2") {
		t.Fatalf("err = %v\n%s", err, f.log)
	}
	if !slices.Equal(res.KeptOutputs, []string{"bin"}) {
		t.Fatalf("KeptOutputs = %q", res.KeptOutputs)
	}
	if got := zipNames(t, f.job.Outputs[0].Path); got["out/x.txt"] != "partial\n" {
		t.Fatalf("kept artifact holds %v", got)
	}

	// One that cannot be collected is not kept, and leaves no file behind.
	spec = strings.Replace(spec, "echo partial > out/x.txt", "ln -s /etc out/etc", 1)
	f = newJob(t, Project{Name: "p", Buildspec: spec, Isolation: "none"}, nil, "bin")
	res, err = Provider{}.Run(context.Background(), f.job)
	if err == nil || len(res.KeptOutputs) != 0 {
		t.Fatalf("err = %v, KeptOutputs = %q", err, res.KeptOutputs)
	}
	if _, err := os.Stat(f.job.Outputs[0].Path); !os.IsNotExist(err) {
		t.Errorf("a refused artifact left %s: %v", f.job.Outputs[0].Path, err)
	}
	if !strings.Contains(f.log.String(), "out/etc -> /etc") {
		t.Errorf("log does not name the link:\n%s", f.log)
	}
}

// A build links a host file into its artifact, its test report and its cache,
// all of which the worker reads outside the sandbox. None of them is read.
func TestBuildLinksOutOfTheWorkspace(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "admin.token")
	// Valid JUnit XML, so that a report parser reading it would keep it.
	if err := os.WriteFile(secret, []byte(`<testsuite name="TOPSECRET" tests="1"><testcase name="leak"/></testsuite>`), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := `version: 0.2
phases:
  build:
    commands:
      - mkdir -p out reports deps
      - ln -s ` + secret + ` out/tok
      - ln -s ` + secret + ` reports/junit.xml
      - ln -s ` + secret + ` deps/lib.txt
reports:
  unit:
    files: ['reports/*.xml']
    file-format: JUNITXML
cache:
  paths: ['deps/**/*']
artifacts:
  files: ['out/**/*']
`
	f := newJob(t, Project{Name: "p", Buildspec: spec, Isolation: "none"}, nil, "bin")
	var reports []string
	f.job.Report = func(_ context.Context, group string, r *report.Report) error {
		reports = append(reports, group+": "+r.Summary())
		return nil
	}
	var cache []byte
	f.job.LoadCache = func(context.Context) (io.ReadCloser, error) { return nil, fs.ErrNotExist }
	f.job.SaveCache = func(_ context.Context, r io.Reader) error {
		var err error
		cache, err = io.ReadAll(r)
		return err
	}
	_, err := Provider{}.Run(context.Background(), f.job)
	if err == nil || !strings.Contains(err.Error(), "out/tok -> "+secret) || !strings.Contains(err.Error(), "outside the workspace") {
		t.Fatalf("err = %v\n%s", err, f.log)
	}
	if len(reports) != 0 {
		t.Errorf("a report was read through the link: %q", reports)
	}
	if !strings.Contains(f.log.String(), "reports/junit.xml -> "+secret) {
		t.Errorf("the log does not say why the report was skipped:\n%s", f.log)
	}
	if strings.Contains(f.log.String(), "TOPSECRET") {
		t.Errorf("the log holds the linked file:\n%s", f.log)
	}

	// The cache is saved after a build that succeeded: one without the
	// artifact.
	spec = strings.Replace(spec, "artifacts:\n  files: ['out/**/*']\n", "", 1)
	f = newJob(t, Project{Name: "p", Buildspec: spec, Isolation: "none"}, nil)
	f.job.LoadCache = func(context.Context) (io.ReadCloser, error) { return nil, fs.ErrNotExist }
	f.job.SaveCache = func(_ context.Context, r io.Reader) error {
		var err error
		cache, err = io.ReadAll(r)
		return err
	}
	if _, err := (Provider{}).Run(context.Background(), f.job); err != nil {
		t.Fatalf("%v\n%s", err, f.log)
	}
	if bytes.Contains(cache, []byte("TOPSECRET")) {
		t.Error("the cache holds the linked file")
	}
	if !strings.Contains(f.log.String(), "cache not saved") || !strings.Contains(f.log.String(), "deps/lib.txt -> "+secret) {
		t.Errorf("the log does not say why the cache was not saved:\n%s", f.log)
	}
}
