package arch

import (
	"os/exec"
	"strings"
	"testing"
)

// schemasAllowed are the AWS SDK schemas packages the binary may link: none.
// (ecs's last release without one lacks TrustedExecutionConfiguration; the
// ECS deploy provider copies task definitions as JSON, which keeps it.)
var schemasAllowed = map[string]bool{}

// Every package linked into the sluice binary runs its init at the start of
// every command, `sluice --help` included. The AWS SDK's clients released
// after it enabled schema-based (de)serialization import a generated schemas
// package whose init builds every shape of the service (ssm's alone is
// 1.4 MB in 7,900 allocations); go.mod pins the clients to their releases
// before that. This fails when an upgrade (`go get -u`) brings one back.
func TestNoSDKSchemasInTheBinary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../../cmd/sluice").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/aws/aws-sdk-go-v2/") && strings.HasSuffix(p, "/schemas") && !schemasAllowed[p] {
			t.Errorf("cmd/sluice links %s, whose init builds the service's whole schema at every start: pin its module to the release before \"Enable schema-based (de)serialization\" in its CHANGELOG.md (go.mod's comment lists the pins)", p)
		}
	}
}

// The client-only build (go build -tags sluiceclient, documented in the
// README and measured by bench cli) leaves the server, worker and agent
// commands out; a helper the client commands share must not live in one of
// those files, or that build stops compiling while the default one passes.
func TestClientOnlyBuildCompiles(t *testing.T) {
	if out, err := exec.Command("go", "vet", "-tags", "sluiceclient", "../../cmd/sluice", "../../internal/cli").CombinedOutput(); err != nil {
		t.Fatalf("go vet -tags sluiceclient: %v\n%s", err, out)
	}
}
