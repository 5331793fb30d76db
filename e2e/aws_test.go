package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// needAWSTools finds the aws CLI and boto3, installing them from PyPI when
// CI=true, else skipping the test, saying how to get them.
func needAWSTools(t *testing.T) {
	t.Helper()
	have := func() bool {
		_, err := exec.LookPath("aws")
		return err == nil && exec.Command("python3", "-c", "import boto3").Run() == nil
	}
	if have() {
		return
	}
	if os.Getenv("CI") != "true" {
		t.Skip("the aws CLI and boto3 are not installed: pip install awscli boto3 (CI=true installs them)")
	}
	// PyPI first; a Python whose packages the system manages refuses
	// that, and then Debian's own packages do.
	var log []byte
	for _, args := range [][]string{
		{"python3", "-m", "pip", "install", "-q", "awscli", "boto3"},
		{"python3", "-m", "pip", "install", "-q", "--break-system-packages", "awscli", "boto3"},
		{"apt-get", "install", "-y", "-qq", "awscli", "python3-boto3"},
	} {
		t.Logf("installing the aws CLI and boto3: %s", strings.Join(args, " "))
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		log = append(log, out...)
		if err == nil && have() {
			return
		}
	}
	t.Fatalf("could not install the aws CLI and boto3:\n%s", log)
}

// awsKeys makes a token with an access key through the CLI and returns the
// key's id and secret, as `token create --aws-keys` prints them.
func awsKeys(t *testing.T, s *server, name, policy string) (string, string) {
	t.Helper()
	out := s.ok("token", "create", name, "--policy", policy, "--aws-keys")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "sluice_") {
		t.Fatalf("token create --aws-keys printed:\n%s", out)
	}
	id, ok1 := strings.CutPrefix(lines[1], "AWS_ACCESS_KEY_ID=")
	secret, ok2 := strings.CutPrefix(lines[2], "AWS_SECRET_ACCESS_KEY=")
	if !ok1 || !ok2 || len(id) != 20 || len(secret) != 40 {
		t.Fatalf("token create --aws-keys printed:\n%s", out)
	}
	return id, secret
}

// TestAWSToolsDriveSluice runs a script that drives the real server with
// the aws CLI and boto3 as a CodePipeline user does: create, start,
// reject, retry, approve, stop, errors as botocore reads them, and a
// custom action's job worker polling, acknowledging and answering.
func TestAWSToolsDriveSluice(t *testing.T) {
	needAWSTools(t)
	s := startServer(t)
	id, secret := awsKeys(t, s, "ci", "admin")
	wid, wsecret := awsKeys(t, s, "deployer", "worker")
	vid, vsecret := awsKeys(t, s, "viewer", "viewer")
	script, err := filepath.Abs("testdata/aws_e2e.py")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", script, s.url, s.scratch("aws"))
	cmd.Env = append(cliEnv("", ""),
		"AWS_ACCESS_KEY_ID="+id, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		"WORKER_KEY_ID="+wid, "WORKER_SECRET="+wsecret, "VIEWER_KEY_ID="+vid, "VIEWER_SECRET="+vsecret)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "OK") {
		t.Fatalf("aws_e2e.py: %v\n%s", err, out)
	}

	// The worker's output artifact, put through S3 with the job's
	// credentials, is the execution's.
	var run string
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "DEPLOY_RUN="); ok {
			run = v
		}
	}
	dir := s.scratch("receipt")
	s.ok("artifact", "download", "deploy", run, "receipt", "--out", dir)
	if b, err := os.ReadFile(filepath.Join(dir, "receipt.txt")); err != nil || string(b) != "shipped to prod" {
		t.Fatalf("the worker's artifact: %q %v", b, err)
	}

	// The refusals the script met are in the audit trail, by principal.
	denied := s.ok("audit", "--denied", "-o", "json")
	for _, want := range []string{"DeletePipeline", "viewer", "InvalidSignatureException", "AccessDeniedException"} {
		if !strings.Contains(denied, want) {
			t.Errorf("sluice audit --denied lacks %q:\n%s", want, denied)
		}
	}
	// Revoking the token ends its key at once.
	s.ok("token", "revoke", "ci")
	res := exec.Command("aws", "--endpoint-url", s.url, "--region", "us-east-1", "codepipeline", "list-pipelines")
	res.Env = cmd.Env
	if b, err := res.CombinedOutput(); err == nil || !strings.Contains(string(b), "UnrecognizedClientException") {
		t.Fatalf("a revoked token's key: %v\n%s", err, b)
	}
}

// TestAWSRegionAndAccount: a server told its AWS region and account signs
// for that region only and writes both in its ARNs.
func TestAWSRegionAndAccount(t *testing.T) {
	needAWSTools(t)
	s := startServer(t, "--aws-region", "eu-west-2", "--aws-account-id", "123456789012")
	id, secret := awsKeys(t, s, "ci", "admin")
	awsCLI := func(region string, args ...string) (string, error) {
		cmd := exec.Command("aws", append([]string{"--endpoint-url", s.url, "--region", region, "--output", "json", "codepipeline"}, args...)...)
		cmd.Env = append(cliEnv("", ""), "AWS_ACCESS_KEY_ID="+id, "AWS_SECRET_ACCESS_KEY="+secret,
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := awsCLI("us-east-1", "list-pipelines"); err == nil || !strings.Contains(out, "InvalidSignatureException") || !strings.Contains(out, "eu-west-2") {
		t.Fatalf("signed for another region: %v\n%s", err, out)
	}
	s.apply("testdata/commands.yml")
	out, err := awsCLI("eu-west-2", "get-pipeline", "--name", "commands")
	if err != nil || !strings.Contains(out, `"pipelineArn": "arn:aws:codepipeline:eu-west-2:123456789012:commands"`) {
		t.Fatalf("get-pipeline: %v\n%s", err, out)
	}
}
