package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sluice-ci/sluice/internal/toolcache"
)

const (
	gwAccess = "sluice-e2e-access"
	gwSecret = "sluice-e2e-secret-not-a-real-one"
)

// startVersityGW runs versitygw (an S3 gateway over a directory) on a free
// loopback port until the test ends, with bucket made in it, and returns
// its host:port. Without the binary the test is skipped, as the artifact
// store's own tests are.
func startVersityGW(t *testing.T, bucket string) string {
	t.Helper()
	bin, skip, err := toolcache.VersityGW.Find()
	if err != nil {
		t.Fatal(err)
	}
	if bin == "" {
		t.Skip(skip)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", pickPort(t))
	log := filepath.Join(t.TempDir(), "versitygw.log")
	logf, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "--access", gwAccess, "--secret", gwSecret, "--port", addr, "posix", t.TempDir())
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	// versitygw has no readiness signal of its own: a TCP connect is one.
	eventually(t, 15*time.Second, "versitygw to accept connections", func() bool {
		select {
		case <-done:
			b, _ := os.ReadFile(log)
			t.Fatalf("versitygw exited: %s", b)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if err := gwClient(t, addr).MakeBucket(context.Background(), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket %s: %v", bucket, err)
	}
	return addr
}

func gwClient(t *testing.T, addr string) *minio.Client {
	c, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(gwAccess, gwSecret, ""), BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// gwKeys lists the objects under prefix in bucket.
func gwKeys(t *testing.T, addr, bucket, prefix string) []string {
	var keys []string
	for o := range gwClient(t, addr).ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

// dirKeys lists the files under dir, slash-separated and relative to it.
func dirKeys(t *testing.T, dir string) []string {
	var keys []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			keys = append(keys, filepath.ToSlash(rel))
		}
		return nil
	})
	return keys
}

// Regions through the real binary: a server whose home region's store is a
// directory declares us-east-1 on versitygw and eu-west-1 on another
// directory (and one whose store is down); workers started with --region
// take only their region's jobs; a pipeline whose actions run in three
// regions reads the same input everywhere, copied once per region and
// execution; the down region fails its own action only; bad flags and
// undeclared regions are refused with the flag or the file, line and field.
func TestRegions(t *testing.T) {
	t.Parallel()
	gw := startVersityGW(t, "east")
	euDir := t.TempDir()

	// Bad declarations stop the start and name the flag.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--region", "eu="}, `--region "eu=": want NAME=STORE`},
		{[]string{"--region", "eu=ftp://host/x"}, `--region "eu=ftp://host/x": a store is a directory or s3://`},
		{[]string{"--region", "eu=" + euDir, "--region", "eu=" + euDir}, `region eu is declared twice`},
		{[]string{"--region", "local=" + euDir}, `region local is declared twice`},
		{[]string{"--region", "eu=s3://b?endpoint=" + gw + "&colour=red"}, `--region "eu=s3://b?endpoint=`},
		{[]string{"--region", "one", "--region", "two"}, `--region "two": the home region is already "one"`},
	} {
		res := runCLI(t, nil, append([]string{"server", "--data", t.TempDir(), "--addr", "127.0.0.1:0"}, c.args...)...)
		if res.code == 0 || !strings.Contains(res.stderr, c.want) {
			t.Errorf("%v: %s, want %q", c.args, res, c.want)
		}
	}

	env := []string{"SLUICE_S3_ACCESS_KEY=" + gwAccess, "SLUICE_S3_SECRET_KEY=" + gwSecret}
	s := startServerEnv(t, env, "--region", "us-west-2",
		"--region", "us-east-1=s3://east/artifacts?endpoint="+gw+"&tls=false",
		"--region", "eu-west-1="+euDir,
		// Nothing listens on port 1: the server starts all the same.
		"--region", "down=s3://east/down?endpoint=127.0.0.1:1&tls=false")
	wantContains(t, "server log", s.serverLog(), "region's artifact store not reachable", "region=down")

	token := strings.TrimSpace(s.ok("token", "create", "regional", "--policy", "worker"))
	tokenFile := filepath.Join(s.scratch("workers"), "token")
	writeFile(t, tokenFile, token)
	for _, r := range []string{"us-east-1", "eu-west-1", "down"} {
		startWorker(t, s, tokenFile, "w-"+r, "--isolation", "none", "--region", r)
	}

	dir := s.scratch("regions")
	project := filepath.Join(dir, "project.yml")
	writeFile(t, project, `name: regional
buildspec: |
  version: 0.2
  phases:
    build:
      commands:
        - echo "region=$AWS_REGION input=$(cat x.txt)"
environmentVariables: []
`)
	s.ok("project", "apply", "-f", project)
	pipe := filepath.Join(dir, "both.yml")
	writeFile(t, pipe, `name: both
stages:
  - name: Source
    actions:
      - name: src
        provider: Commands
        commands: ["echo payload-$RANDOM > x.txt"]
        outputArtifacts: [{name: code, files: [x.txt]}]
  - name: Build
    actions:
      - {name: home, provider: CodeBuild, configuration: {ProjectName: regional}, inputArtifacts: [code]}
      - {name: east-a, provider: CodeBuild, region: us-east-1, configuration: {ProjectName: regional}, inputArtifacts: [code]}
      - {name: east-b, provider: CodeBuild, region: us-east-1, configuration: {ProjectName: regional}, inputArtifacts: [code]}
      - {name: eu, provider: CodeBuild, region: eu-west-1, configuration: {ProjectName: regional}, inputArtifacts: [code]}
`)
	s.apply(pipe)
	for run := 1; run <= 2; run++ {
		id := s.start("both")
		s.waitEnd("both", id, "Succeeded")
		input := ""
		for action, region := range map[string]string{"home": "us-west-2", "east-a": "us-east-1", "east-b": "us-east-1", "eu": "eu-west-1"} {
			log := s.ok("logs", "both", id, action)
			i := strings.Index(log, "region="+region+" input=payload-")
			if i < 0 {
				t.Fatalf("%s's log has no region=%s:\n%s", action, region, log)
			}
			got := strings.Fields(log[i:])[1]
			if input != "" && got != input {
				t.Errorf("%s read %s, another action %s", action, got, input)
			}
			input = got
		}
		// Once per execution and region, whatever the number of actions.
		wantEqual(t, "us-east-1 copies", s.metric(`sluice_region_copies_total{region="us-east-1"}`), strconv.Itoa(run))
		wantEqual(t, "eu-west-1 copies", s.metric(`sluice_region_copies_total{region="eu-west-1"}`), strconv.Itoa(run))
		// Each region's store holds this execution's input, and only
		// what the executions so far copied there.
		east, eu := gwKeys(t, gw, "east", "artifacts/"), dirKeys(t, euDir)
		if len(east) != run || len(eu) != run {
			t.Fatalf("run %d: us-east-1 holds %v, eu-west-1 %v", run, east, eu)
		}
		if !strings.HasPrefix(eu[len(eu)-1], id+"/") && !strings.HasPrefix(eu[0], id+"/") {
			t.Errorf("eu-west-1 holds %v, none of execution %s", eu, id)
		}
	}

	// A pipeline running only at home copies nothing anywhere.
	s.apply(s.writeScratch("homebody.yml", `name: homebody
stages:
  - name: S
    actions:
      - name: src
        provider: Commands
        commands: ["echo private > x.txt"]
        outputArtifacts: [{name: code, files: [x.txt]}]
  - name: B
    actions:
      - {name: home, provider: CodeBuild, configuration: {ProjectName: regional}, inputArtifacts: [code]}
`))
	s.waitEnd("homebody", s.start("homebody"), "Succeeded")
	if eu := dirKeys(t, euDir); len(eu) != 2 {
		t.Errorf("a home pipeline's artifact reached eu-west-1: %v", eu)
	}

	// The region whose store is down fails its own action, saying why.
	s.apply(s.writeScratch("down.yml", `name: downed
stages:
  - name: S
    actions:
      - name: src
        provider: Commands
        commands: ["echo x > x.txt"]
        outputArtifacts: [{name: code, files: [x.txt]}]
  - name: B
    actions:
      - {name: there, provider: CodeBuild, region: down, configuration: {ProjectName: regional}, inputArtifacts: [code]}
      - {name: here, provider: CodeBuild, configuration: {ProjectName: regional}, inputArtifacts: [code]}
`))
	id := s.start("downed")
	e := s.waitEnd("downed", id, "Failed")
	wantContains(t, "the down region's action", e.action(t, "there").Summary,
		"region down: artifact store s3://east/down", "127.0.0.1:1")
	wantEqual(t, "the home action beside it", e.actionStatus("here"), "Succeeded")

	// An action naming a region the server does not declare is refused at
	// apply, with the file, line and field and the region meant.
	bad := s.writeScratch("typo.yml", `name: typo
stages:
  - name: S
    actions:
      - name: a
        provider: Commands
        region: us-eats-1
        commands: ["true"]
`)
	res := s.fails("pipeline", "apply", "-f", bad)
	wantContains(t, "undeclared region", res.stderr, "typo.yml:7: stages[0].actions[0].region", `did you mean "us-east-1"?`)
}
