package arch

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/sluice-ci/sluice/"

// layers places every package of sluice's (paths under internal/, and cmd/);
// a package may import only packages of lower layers. docs/ARCHITECTURE.md
// explains each layer; a new package must be added here, or the test fails.
var layers = map[string]int{
	// 0: vocabulary and adapters that import nothing of sluice's.
	// -1: what even the packages of layer 0 use.
	"internal/lazyregexp": -1, "internal/startgc": -1, "internal/shellword": -1,
	"internal/yamlnode": 0, "internal/schedule": 0, "internal/report": 0, "internal/auth": 0,
	"internal/audit": 0, "internal/notify": 0, "internal/notify/smtpsink": 0,
	"internal/eventpattern": 0, "internal/logmask": 0, "internal/artifact": 0,
	"internal/store": 0, "internal/store/migrate": 0, "internal/arch": 0, "internal/sandbox": 0, "internal/awsconn": 0, "internal/toolcache": 0, "internal/hostconn": 0,
	"internal/errcode": 0, "internal/awsid": 0, "internal/githost": 0,
	"internal/metrics": 0, "internal/replica": 0, "internal/logctx": 0, "internal/api/inproc": 0,
	// 1: what builds on one of those alone.
	"internal/pipeline": 1, "internal/artifact/s3": 1, "internal/region": 1, "internal/artifact/artifacttest": 1,
	"internal/store/sqlite": 1, "internal/store/postgres": 1, "internal/store/postgres/pgtest": 0, "internal/store/storetest": 1, "internal/follow": 1,
	"internal/provider": 1, "internal/githost/giteatest": 1, "internal/wire": 1, "internal/wire/wiretest": 1, "internal/process": 1,
	// 2: declarations, and the pure engine.
	"internal/iam": 2, "internal/engine": 2, "internal/depgraph": 2, "internal/function": 2, "internal/connection": 2, "internal/appspec": 1, "internal/deploygroup": 1, "internal/deployagent": 2, "internal/provider/codedeploy": 5,
	"internal/webhook": 2, "internal/rule": 2, "internal/gitserver": 2, "internal/mirror": 3, "internal/api/client": 2, "internal/buildspec": 2, "internal/buildproject": 3, "internal/cfntemplate": 2,
	// 4: providers, and the service's use cases.
	"internal/provider/commands": 4, "internal/provider/build": 5, "internal/provider/lambda": 5,
	"internal/provider/gitsource": 4, "internal/provider/ecrsource": 4, "internal/provider/noop": 4, "internal/provider/s3deploy": 4, "internal/provider/s3source": 5, "internal/provider/hostsource": 5, "internal/provider/cloudformation": 4,
	"internal/service": 4, "internal/service/servicetest": 5, "internal/trigger": 5, "internal/event": 5,
	// 5: the access guard every protocol front passes through.
	"internal/access":             5,
	"internal/provider/ecsdeploy": 4, "internal/provider/beanstalk": 4, "internal/provider/stepfunctions": 4, "internal/provider/alarm": 4, "internal/provider/metric": 4, "internal/awsconn/mototest": 1,
	// 6: the worker and the protocol fronts.
	"internal/worker": 6, "internal/api": 6, "internal/awsapi": 6, "internal/ui": 6, "internal/gitssh": 6, "internal/provider/registry": 6,
	// 7: wiring, then the command line, then main.
	"internal/server": 7, "internal/cli": 8, "cmd/sluice": 9,
}

// forbidden are imports that the layers would allow but the design does not:
// a protocol front speaks the service's language, not the store's or the
// engine's.
var forbidden = map[[2]string]string{
	{"internal/api", "internal/store"}:  "the API should use the service's types",
	{"internal/api", "internal/engine"}: "the API should use the service's types",
	{"internal/ui", "internal/store"}:   "the console should use the service's read model",
	{"internal/ui", "internal/engine"}:  "the console should use the service's read model",
}

// debts are violations known today, each with the change that removes it.
// The test fails when one is gone, so that this list stays true.
var debts = map[[2]string]string{
	{"internal/ui", "internal/engine"}: "the console recomputes stage state",
}

func TestImportsPointDown(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "../../...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	seen := map[[2]string]bool{}
	var problems []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		from, ok := strings.CutPrefix(fields[0], module)
		if !ok || strings.HasPrefix(from, "e2e") || strings.HasPrefix(from, "bench") {
			continue
		}
		fromLayer, ok := layers[from]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s has no layer: add it to layers (and docs/ARCHITECTURE.md)", from))
			continue
		}
		for _, imp := range fields[1:] {
			to, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			edge := [2]string{from, to}
			toLayer, known := layers[to]
			bad := ""
			switch {
			case !known:
				bad = fmt.Sprintf("%s imports %s, which has no layer", from, to)
			case toLayer >= fromLayer:
				bad = fmt.Sprintf("%s (layer %d) imports %s (layer %d): imports must point down", from, fromLayer, to, toLayer)
			case forbidden[edge] != "":
				bad = fmt.Sprintf("%s imports %s: %s", from, to, forbidden[edge])
			}
			if bad == "" {
				continue
			}
			if debts[edge] != "" {
				seen[edge] = true
				continue
			}
			problems = append(problems, bad)
		}
	}
	for edge, why := range debts {
		if !seen[edge] {
			problems = append(problems, fmt.Sprintf("known debt %s → %s (%s) is paid: remove it from debts", edge[0], edge[1], why))
		}
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
}
