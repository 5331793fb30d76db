package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/provider/alarm"
	"github.com/sluice-ci/sluice/internal/wire"
)

// A deployment group that watches a CloudWatch alarm (in moto, read through
// an aws connection): a deployment with the alarm OK succeeds once its
// watch has passed; the alarm going to ALARM while hosts are installing
// stops the deployment and, with DEPLOYMENT_STOP_ON_ALARM, rolls the group
// back to the last revision that succeeded, which the agents serve again;
// the alarm going to ALARM after the hosts are done but within the group's
// watchSeconds does the same.
func TestDeployStopsOnAlarm(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 serves the test application")
	}
	moto := mototest.Start(t)
	s := startServer(t, "--deploy-alarm-interval", "200ms")
	if r := runCLIStdin(t, cliEnv(s.url, s.token), `{"accessKeyId":"test","secretAccessKey":"test"}`, "secret", "put", "aws-moto"); r.code != 0 {
		t.Fatalf("secret put: %s", r)
	}
	dir := s.scratch("alarms")
	writeFile(t, filepath.Join(dir, "moto.yml"), "name: moto\nkind: aws\nregion: us-east-1\nendpoint: "+moto.URL+"\ncredentials: {secret: aws-moto}\n")
	s.ok("connection", "apply", "-f", filepath.Join(dir, "moto.yml"))

	ctx := context.Background()
	cw := alarm.Client(moto.Conn("test"))
	if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("shop-5xx"), MetricName: aws.String("5xx"), Namespace: aws.String("Shop"),
		Statistic: types.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(1), ComparisonOperator: types.ComparisonOperatorGreaterThanOrEqualToThreshold,
	}); err != nil {
		t.Fatal(err)
	}
	setAlarm := func(state types.StateValue) {
		t.Helper()
		if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("shop-5xx"), StateValue: state, StateReason: aws.String("set by the test")}); err != nil {
			t.Fatal(err)
		}
	}
	setAlarm(types.StateValueOk)

	group := func(watch int) {
		t.Helper()
		f := filepath.Join(dir, "group.yaml")
		writeFile(t, f, fmt.Sprintf(`applicationName: shop
deploymentGroupName: prod
targets: {agentGroup: web, tags: {env: prod}}
deploymentConfigName: CodeDeployDefault.AllAtOnce
autoRollbackConfiguration:
  enabled: true
  events: [DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM]
alarmConfiguration:
  enabled: true
  connection: moto
  alarms: [{name: shop-5xx}]
  watchSeconds: %d
`, watch))
		s.ok("deploy-group", "apply", "-f", f)
	}
	// A group that names a rollback event it cannot have is refused.
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "applicationName: shop\ndeploymentGroupName: prod\ntargets: {agentGroup: web}\nautoRollbackConfiguration:\n  enabled: true\n  events: [DEPLOYMENT_STOP_ON_ALARM]\n")
	wantContains(t, "stop on alarm without alarms", s.fails("deploy-group", "apply", "-f", bad).stderr,
		"autoRollbackConfiguration.events: DEPLOYMENT_STOP_ON_ALARM needs an enabled alarmConfiguration")

	agents := startShopAgents(t, s, "w", 2)
	eventually(t, 20*time.Second, "two agents registered", func() bool {
		var as []wire.Agent
		s.json(&as, "deployment", "agents")
		return len(as) == 2
	})
	create := func(version string) string {
		t.Helper()
		out := s.ok("deployment", "create", "--application", "shop", "--group", "prod", "--revision", appRevision(t, version, false))
		return strings.Fields(out)[1]
	}
	wait := func(id string) wire.Deployment {
		t.Helper()
		var d wire.Deployment
		eventually(t, 60*time.Second, "deployment "+id+" ends", func() bool {
			s.json(&d, "deployment", "get", id)
			return d.Status != "InProgress"
		})
		return d
	}
	// The alarm OK throughout: v1 succeeds after a second's watch.
	group(1)
	d1 := wait(create("v1"))
	if d1.Status != "Succeeded" || !strings.Contains(d1.Message, "no alarm in the 1s watched after") {
		t.Fatalf("v1: %+v", d1)
	}
	for _, a := range agents {
		wantEqual(t, "page after v1", page(a.port), "shop v1")
	}

	// ALARM while the hosts install v2: stopped, rolled back to v1.
	for _, a := range agents {
		touch(t, filepath.Join(a.root, "hold"))
	}
	id2 := create("v2")
	for _, a := range agents {
		waitFile(t, filepath.Join(a.root, "holding"))
	}
	setAlarm(types.StateValueAlarm)
	d2 := wait(id2) // ended, it names its rollback already (one commit)
	for _, a := range agents {
		os.Remove(filepath.Join(a.root, "hold"))
		os.Remove(filepath.Join(a.root, "holding"))
	}
	if d2.Status != "Stopped" || !strings.Contains(d2.Message, "alarm shop-5xx: alarm shop-5xx is ALARM") || d2.RolledBack == "" {
		t.Fatalf("v2 under ALARM: %+v", d2)
	}
	for _, h := range d2.Hosts {
		if h.Status != "Stopped" {
			t.Errorf("v2 host %s: %s, want Stopped", h.Agent, h.Status)
		}
	}
	rb := wait(d2.RolledBack)
	if rb.Status != "Succeeded" || rb.RollbackOf != id2 {
		t.Fatalf("rollback of v2 (not watched, though the alarm is still ALARM): %+v", rb)
	}
	for _, a := range agents {
		wantEqual(t, "page after the rollback of v2", page(a.port), "shop v1")
	}

	// ALARM after v3's hosts are done, within the group's watch: the same.
	setAlarm(types.StateValueOk)
	group(600)
	id3 := create("v3")
	var d3 wire.Deployment
	eventually(t, 60*time.Second, "v3's hosts done, watched", func() bool {
		s.json(&d3, "deployment", "get", id3)
		return strings.Contains(d3.Message, "watching alarms until")
	})
	if d3.Status != "InProgress" {
		t.Fatalf("v3 while watched: %+v", d3)
	}
	setAlarm(types.StateValueAlarm)
	d3 = wait(id3)
	if d3.Status != "Stopped" || d3.RolledBack == "" {
		t.Fatalf("v3 under ALARM in its watch: %+v", d3)
	}
	if rb := wait(d3.RolledBack); rb.Status != "Succeeded" {
		t.Fatalf("rollback of v3: %+v", rb)
	}
	for _, a := range agents {
		wantEqual(t, "page after the rollback of v3", page(a.port), "shop v1")
	}
	var g wire.DeployGroup
	s.json(&g, "deploy-group", "get", "shop", "prod")
	if len(g.Watches) != 1 || g.Watches[0] != "alarm shop-5xx" || g.AlarmConnection != "moto" {
		t.Errorf("deploy-group get: %+v", g)
	}
}

// The server reads a group's alarms through the connection the group
// names, with that connection's keys. Attacker: someone allowed to write
// deployment groups but not to use connection prod, who names it to have
// the server read (and reveal, through stop messages) prod's alarms:
// refused at apply, nothing stored; the same group without alarms applies.
func TestDeployGroupAlarmConnectionNeedsUse(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := s.scratch("groups")
	policy := filepath.Join(dir, "author.json")
	writeFile(t, policy, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sluice:PutDeploymentGroup","sluice:GetDeploymentGroup"],"Resource":"deploymentgroup/*"}]}`)
	author := strings.TrimSpace(strings.SplitN(s.ok("token", "create", "group-author", "--policy", policy), "\n", 2)[0])
	base := "applicationName: shop\ndeploymentGroupName: prod\ntargets: {agentGroup: web}\n"
	f := filepath.Join(dir, "group.yaml")
	writeFile(t, f, base+"alarmConfiguration: {enabled: true, connection: prod, alarms: [{name: five-xx}]}\n")
	r := runCLI(t, cliEnv(s.url, author), "deploy-group", "apply", "-f", f)
	if r.code == 0 || !strings.Contains(r.stderr, "not allowed sluice:UseConnection on connection/prod") {
		t.Fatalf("a group naming a connection its author may not use: %s", r)
	}
	if r := s.cli("deploy-group", "get", "shop", "prod"); r.code == 0 {
		t.Errorf("the refused group exists: %s", r.stdout)
	}
	writeFile(t, f, base)
	if r := runCLI(t, cliEnv(s.url, author), "deploy-group", "apply", "-f", f); r.code != 0 {
		t.Fatalf("a group without alarms: %s", r)
	}
}
