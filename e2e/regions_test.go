package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdks3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-ci/sluice/internal/toolcache"
	"github.com/sluice-ci/sluice/internal/wire"
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
	logf, err := os.Create(filepath.Join(t.TempDir(), "versitygw.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	addr, stop, err := toolcache.RunVersityGW(bin, t.TempDir(), gwAccess, gwSecret, logf, toolcache.VersityGWOptions{})
	if err != nil {
		b, _ := os.ReadFile(logf.Name())
		t.Fatalf("%v: %s", err, b)
	}
	t.Cleanup(stop)
	if _, err := gwClient(addr).CreateBucket(context.Background(), &sdks3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("make bucket %s: %v", bucket, err)
	}
	return addr
}

func gwClient(addr string) *sdks3.Client {
	return sdks3.New(sdks3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(gwAccess, gwSecret, ""),
	})
}

// gwKeys lists the objects under prefix in bucket.
func gwKeys(t *testing.T, addr, bucket, prefix string) []string {
	var keys []string
	p := sdks3.NewListObjectsV2Paginator(gwClient(addr), &sdks3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
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
		// No worker is ever started in ap-south-1.
		"--region", "ap-south-1="+t.TempDir(),
		// Nothing listens on port 1: the server starts all the same.
		"--region", "down=s3://east/down?endpoint=127.0.0.1:1&tls=false")
	wantContains(t, "server log", s.serverLog(), "region's artifact store not reachable", "region=down")

	token := strings.TrimSpace(s.ok("token", "create", "regional", "--policy", "worker"))
	tokenFile := filepath.Join(s.scratch("workers"), "token")
	writeFile(t, tokenFile, token)
	for _, r := range []string{"us-east-1", "down"} {
		startWorker(t, s, tokenFile, "w-"+r, "--isolation", "none", "--region", r)
	}
	// eu-west-1's worker is someone else's machine: its token may poll in
	// eu-west-1 only. Saying it is in the home region gets it nothing.
	euPolicy := s.writeScratch("eu-worker.json", `{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"sluice:PollForJobs","Resource":"region/eu-west-1"},
  {"Effect":"Allow","Action":["sluice:AcknowledgeJob","sluice:PutJob*","sluice:GetJob*"],"Resource":"job/*"}]}`)
	euToken := strings.TrimSpace(s.ok("token", "create", "eu", "--policy", euPolicy))
	euFile := filepath.Join(s.scratch("workers"), "eu-token")
	writeFile(t, euFile, euToken)
	startWorker(t, s, euFile, "w-eu-west-1", "--isolation", "none", "--region", "eu-west-1")
	rogue := startWorker(t, s, euFile, "w-rogue", "--isolation", "none", "--region", "us-west-2")
	eventually(t, 20*time.Second, "the rogue worker to be refused", func() bool {
		return strings.Contains(readFile(t, rogue.log), "not allowed sluice:PollForJobs on region/us-west-2")
	})

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

	// A job of a region no worker is in waits, and says for what.
	s.apply(s.writeScratch("stranded.yml", `name: stranded
stages:
  - name: S
    actions:
      - {name: far, provider: Commands, region: ap-south-1, commands: ["true"]}
`))
	id = s.start("stranded")
	eventually(t, 20*time.Second, "the stranded execution to say what it waits for", func() bool {
		return strings.Contains(s.ok("execution", "get", "stranded", id), "InProgress (waiting for a worker in region ap-south-1)")
	})

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

// The cross-region sample of CodePipeline's user guide, applied unchanged: a
// CodeCommit source in the pipeline's region (us-west-2, the home one) and a
// CodeDeploy action in us-east-1, with artifactStores naming both. The
// deployment runs on a worker of us-east-1 from the copy in that region's
// store (versitygw) and reaches the agents tagged region=us-east-1 only.
func TestRegionsCrossRegionSample(t *testing.T) {
	const sample = "../../shared/corpus/pipelines/awsdocs__aws-codepipeline-user-guide__doc_source__actions-create-cross-region.md__L244-L314__get-pipeline-cross-region.json"
	if _, err := os.Stat(sample); err != nil {
		t.Skip("the shared corpus is not here: ", err)
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 serves the test application")
	}
	t.Parallel()
	gw := startVersityGW(t, "east")
	env := []string{"SLUICE_S3_ACCESS_KEY=" + gwAccess, "SLUICE_S3_SECRET_KEY=" + gwSecret}
	s := startServerEnv(t, env, "--region", "us-west-2", "--region", "us-east-1=s3://east/artifacts?endpoint="+gw+"&tls=false")

	// The sample as it is refused by a server that does not declare
	// us-east-1 is tested below; here the repository it names.
	s.ok("repo", "create", "MyTestRepo")
	g := newGit(t, s)
	work := s.scratch("repo")
	g.initRepo(work)
	if out, err := exec.Command("cp", "-a", appRevision(t, "v-east", false)+"/.", work).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	g.commit(work, "app", nil)
	g.run(work, "push", "-q", s.gitURL("MyTestRepo"), "main")

	workerToken := strings.TrimSpace(s.ok("token", "create", "east-worker", "--policy", "worker"))
	workerFile := filepath.Join(s.scratch("workers"), "token")
	writeFile(t, workerFile, workerToken)
	startWorker(t, s, workerFile, "w-east", "--isolation", "none", "--region", "us-east-1")
	var east []*agentProc
	for i, r := range []string{"us-east-1", "us-east-1", "us-west-2"} {
		root := t.TempDir()
		port := pickPort(t)
		writeFile(t, filepath.Join(root, "port"), strconv.Itoa(port))
		a := startAgent(t, s, fmt.Sprintf("h%d-%s", i, r), root, port, "--tag", "region="+r)
		t.Cleanup(func() { stopShop(a) })
		if r == "us-east-1" {
			east = append(east, a)
		}
	}
	eventually(t, 20*time.Second, "three agents registered", func() bool {
		var as []wire.Agent
		s.json(&as, "deployment", "agents")
		return len(as) == 3
	})
	group := filepath.Join(s.scratch("groups"), "group.yaml")
	// The group targets every agent of web: the action's region keeps
	// its deployment to those tagged region=us-east-1.
	writeFile(t, group, "applicationName: name\ndeploymentGroupName: name\ntargets:\n  agentGroup: web\n  tags: {env: prod}\n")
	s.ok("deploy-group", "apply", "-f", group)

	// The sample's roleArn is the placeholder "ARN": a policy of that name.
	policy := s.writeScratch("role.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sluice:GetSecretValue","Resource":"secret/none"}]}`)
	s.ok("policy", "apply", "ARN", "-f", policy)
	s.apply(sample)
	id := s.start("AnyCompanyPipeline")
	s.waitEnd("AnyCompanyPipeline", id, "Succeeded")
	for _, a := range east {
		wantEqual(t, "page in us-east-1", page(a.port), "shop v-east")
	}
	wantContains(t, "deploy log", s.ok("logs", "AnyCompanyPipeline", id, "Deploy"), "h0-us-east-1: Succeeded", "h1-us-east-1: Succeeded")
	if strings.Contains(s.ok("logs", "AnyCompanyPipeline", id, "Deploy"), "us-west-2") {
		t.Errorf("the us-west-2 agent took part")
	}
	wantEqual(t, "copies to us-east-1", s.metric(`sluice_region_copies_total{region="us-east-1"}`), "1")
	if keys := gwKeys(t, gw, "east", "artifacts/"+id+"/SourceArtifact/"); len(keys) != 1 {
		t.Errorf("us-east-1's store holds %v", keys)
	}

	// On a server that does not declare us-east-1 beside another region,
	// the same file is refused where artifactStores names it.
	other := startServer(t, "--region", "us-west-2", "--region", "eu-west-1="+t.TempDir())
	other.ok("policy", "apply", "ARN", "-f", policy)
	res := other.fails("pipeline", "apply", "-f", sample)
	wantContains(t, "artifactStores naming an undeclared region", res.stderr, `artifactStores.us-east-1`, `"us-east-1" is not a region this server declares`)
}
