package deploygroup

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	g, err := Parse("web.yaml", []byte(`applicationName: shop
deploymentGroupName: prod
targets:
  agentGroup: web
  tags: {env: prod}
deploymentConfigName: Custom
minimumHealthyHosts: {type: FLEET_PERCENT, value: 75}
autoRollbackConfiguration: {enabled: true, events: [DEPLOYMENT_FAILURE]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if g.Key() != "shop/prod" || g.AgentGroup != "web" || g.Tags["env"] != "prod" || !g.RollsBackOnFailure() || g.MinimumHealthyHosts.Value != 75 {
		t.Errorf("%+v", g)
	}
	if !g.Targets(Agent{Group: "web", Tags: map[string]string{"env": "prod", "x": "y"}}) ||
		g.Targets(Agent{Group: "web", Tags: map[string]string{"env": "dev"}}) ||
		g.Targets(Agent{Group: "db", Tags: map[string]string{"env": "prod"}}) {
		t.Error("targeting")
	}
	d, err := Parse("d.json", []byte(`{"applicationName": "a", "deploymentGroupName": "g", "targets": {"agentGroup": "w"}}`))
	if err != nil || d.Config != OneAtATime || d.RollsBackOnFailure() {
		t.Fatalf("defaults: %+v %v", d, err)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"deploymentGroupName: g\ntargets: {agentGroup: w}\n", "g.yaml:1: applicationName:"},
		{"applicationName: a\ndeploymentGroupName: g\n", "targets.agentGroup"},
		{"applicationName: a\ndeploymentGroupName: g\ntargets: {agentGroup: w}\ndeploymentConfigName: CodeDeployDefault.HalfAtTime\n", `g.yaml:4: deploymentConfigName: "CodeDeployDefault.HalfAtTime" is not a deployment configuration (did you mean "CodeDeployDefault.HalfAtATime"?)`},
		{"applicationName: a\ndeploymentGroupName: g\ntargets: {agentGroup: w}\ndeploymentConfigName: Custom\n", "minimumHealthyHosts: missing"},
		{"applicationName: a\ndeploymentGroupName: g\ntargets: {agentGroup: w}\ndeploymentConfigName: Custom\nminimumHealthyHosts:\n  type: PERCENT\n  value: 1\n", "g.yaml:6: minimumHealthyHosts.type: must be HOST_COUNT or FLEET_PERCENT"},
		{"applicationName: a\ndeploymentGroupName: g\ntargets: {agentGroup: w}\ndeploymentConfigName: Custom\nminimumHealthyHosts:\n  type: FLEET_PERCENT\n  value: 100\n", "g.yaml:7: minimumHealthyHosts.value: 100 is out of range"},
		{"applicationName: a\ndeploymentGroupName: g\ntargets: {agentGroup: w}\nautoRollbackConfiguration:\n  enabled: yes please\n", "g.yaml:5: autoRollbackConfiguration.enabled: must be true or false"},
		{"applicationName: a\ndeploymentGroupName: g\ntargets: {agentGroup: w}\nautoRollbackConfiguration:\n  events: [ON_FAILURE]\n", `g.yaml:5: autoRollbackConfiguration.events[0]: "ON_FAILURE" is not one of`},
		{"applicationName: a\ndeploymentGroupName: g\ntarget: {agentGroup: w}\n", `g.yaml:3: target: unknown field (did you mean "targets"?)`},
		{"applicationName: a b\ndeploymentGroupName: g\ntargets: {agentGroup: w}\n", `g.yaml:1: applicationName: "a b" must be`},
		{"applicationName: a\ndeploymentGroupName: g\ntargets: {agentGroup: w}\nalarmConfiguration:\n  enabled: true\n", "g.yaml:4: alarmConfiguration: enabled, but names no alarms and no rules"},
		{"applicationName: a\ndeploymentGroupName: g\ntargets: {agentGroup: w}\nalarmConfiguration:\n  enabled: true\n  alarms: [{nmae: x}]\n", `g.yaml:6: alarmConfiguration.alarms[0].nmae: unknown field (did you mean "name"?)`},
		{"applicationName: a\ndeploymentGroupName: g\ntargets: {agentGroup: w}\nalarmConfiguration:\n  enabled: true\n  rules:\n    - name: r\n      provider: VariableCheck\n", `g.yaml:8: alarmConfiguration.rules[0].provider: "VariableCheck": a deployment group watches CloudWatchAlarm or Metric rules`},
		{"applicationName: a\ndeploymentGroupName: g\ntargets: {agentGroup: w}\nalarmConfiguration:\n  enabled: true\n  alarms: [{name: x}]\n  watchSeconds: 7200\n", "g.yaml:7: alarmConfiguration.watchSeconds: 7200 is out of range"},
		{"applicationName: a\ndeploymentGroupName: g\ntargets: {agentGroup: w}\nautoRollbackConfiguration:\n  enabled: true\n  events: [DEPLOYMENT_STOP_ON_ALARM]\n", "autoRollbackConfiguration.events: DEPLOYMENT_STOP_ON_ALARM needs an enabled alarmConfiguration"},
	}
	for _, c := range cases {
		_, err := Parse("g.yaml", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s", c.src, err, c.want)
		}
	}
}

// The plans follow CodeDeploy's documented rules for each configuration.
func TestPlans(t *testing.T) {
	group := func(cfg string, m *MinHealthy) *Group {
		return &Group{Application: "a", Name: "g", AgentGroup: "w", Config: cfg, MinimumHealthyHosts: m}
	}
	cases := []struct {
		g                 *Group
		hosts             int
		batch, minHealthy int
	}{
		{group(AllAtOnce, nil), 4, 4, 0},
		{group(HalfAtATime, nil), 4, 2, 2},
		{group(HalfAtATime, nil), 5, 2, 3},
		{group(HalfAtATime, nil), 1, 1, 1},
		{group(OneAtATime, nil), 3, 1, 2},
		{group(Custom, &MinHealthy{"HOST_COUNT", 1}), 3, 2, 1},
		{group(Custom, &MinHealthy{"FLEET_PERCENT", 50}), 3, 1, 2},
	}
	for _, c := range cases {
		p, err := c.g.PlanFor(c.hosts)
		if err != nil {
			t.Fatal(err)
		}
		if p.Batch != c.batch || p.MinHealthy != c.minHealthy {
			t.Errorf("%s on %d: batch %d min %d, want %d %d", c.g.Config, c.hosts, p.Batch, p.MinHealthy, c.batch, c.minHealthy)
		}
	}
	if _, err := group(Custom, &MinHealthy{"HOST_COUNT", 3}).PlanFor(3); err == nil {
		t.Error("a minimum of all hosts leaves none to deploy to")
	}
	if _, err := group(AllAtOnce, nil).PlanFor(0); err == nil || !strings.Contains(err.Error(), "no agents") {
		t.Errorf("no hosts: %v", err)
	}
	all, _ := group(AllAtOnce, nil).PlanFor(3)
	if !all.Succeeded(1, 2, false) || all.Succeeded(0, 3, true) || all.Stop(2) || !all.Stop(4) {
		t.Error("AllAtOnce succeeds when one host does")
	}
	half, _ := group(HalfAtATime, nil).PlanFor(4)
	if !half.Succeeded(2, 2, false) || half.Succeeded(1, 3, false) || half.Stop(2) || !half.Stop(3) {
		t.Error("HalfAtATime needs half")
	}
	one, _ := group(OneAtATime, nil).PlanFor(3)
	if !one.Succeeded(3, 0, false) || !one.Succeeded(2, 1, true) || one.Succeeded(0, 1, false) || !one.Stop(1) {
		t.Error("OneAtATime needs all but the last")
	}
	single, _ := group(OneAtATime, nil).PlanFor(1)
	if single.Succeeded(0, 1, true) {
		t.Error("OneAtATime on one host that failed succeeded")
	}
}

// A group's checks are its alarms, read through its connection, then its
// rules without their WaitTime: each look is one reading.
func TestChecks(t *testing.T) {
	g, err := Parse("g.yaml", []byte(`applicationName: a
deploymentGroupName: g
targets: {agentGroup: w}
alarmConfiguration:
  enabled: true
  connection: prod
  alarms: [{name: five-xx}]
  rules:
    - {name: lat, provider: Metric, configuration: {Endpoint: "http://127.0.0.1:9090", Query: q, Operator: LT, Threshold: "1", WaitTime: "5"}}
    - {name: cw, provider: CloudWatchAlarm, configuration: {AlarmName: other}}
`))
	if err != nil {
		t.Fatal(err)
	}
	cs := g.Checks()
	if len(cs) != 3 || cs[0].Name != "alarm five-xx" || cs[0].Configuration["Connection"] != "prod" ||
		cs[1].Provider != "Metric" || cs[1].Configuration["WaitTime"] != "" || cs[1].Configuration["Query"] != "q" ||
		cs[2].Configuration["Connection"] != "prod" || cs[2].Configuration["AlarmName"] != "other" {
		t.Fatalf("checks: %+v", cs)
	}
	if c := g.Connections(); len(c) != 1 || c[0] != "prod" {
		t.Errorf("connections: %v", c)
	}
	g.Alarms.Enabled = false
	if g.Checks() != nil || g.RollsBackOn(EventStopOnAlarm) {
		t.Error("a disabled alarmConfiguration is watched")
	}
}
