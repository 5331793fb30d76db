package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestAWSExample runs examples/aws/run.sh as the README says to: moto and a
// sluice server on this machine, the app pushed, the pipeline through its
// self-update, build, change set replaced and executed, and the stack's
// outputs printed by the last action.
func TestAWSExample(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"moto_server", "python3", "curl", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: the AWS example needs it", tool)
		}
	}
	if exec.Command("python3", "-c", "import boto3").Run() != nil {
		t.Skip("python3 has no boto3: the AWS example's set-up needs it")
	}
	// A bound for a hang, not a measure of speed: the script stops what it
	// started when it ends.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "examples/aws/run.sh")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("examples/aws/run.sh: %v\n%s", err, out)
	}
	for _, want := range []string{"\nSucceeded\n", "is in bucket serverless-app-site-", "recorded in /serverless-app/release", "stateMachine:serverless-app-Workflow-"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the example's output lacks %q:\n%s", want, out)
		}
	}
}
