// Package deploygroup reads and checks CodeDeploy-style deployment groups:
// which agents a deployment of an application reaches (their group and
// tags), how many of them at a time (the deployment configuration), and
// whether a failed deployment rolls back. It plans a rollout over a fleet
// but runs nothing. It imports only yamlnode.
package deploygroup

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sluice-ci/sluice/internal/lazyregexp"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// Group is a deployment group of an application.
type Group struct {
	Application string `json:"applicationName"`
	Name        string `json:"deploymentGroupName"`
	// AgentGroup is the --group the agents of this group were started with.
	AgentGroup string `json:"agentGroup"`
	// Tags must all be among an agent's --tag pairs for it to be a target.
	Tags map[string]string `json:"tags,omitempty"`
	// Config is a CodeDeployDefault configuration's name, or "Custom" with
	// MinimumHealthyHosts.
	Config              string       `json:"deploymentConfigName"`
	MinimumHealthyHosts *MinHealthy  `json:"minimumHealthyHosts,omitempty"`
	AutoRollback        AutoRollback `json:"autoRollbackConfiguration"`
	Alarms              Alarms       `json:"alarmConfiguration,omitzero"`
	// ShiftsTraffic runs the traffic events (BeforeBlockTraffic, …) too, as
	// CodeDeploy does for a group behind a load balancer.
	ShiftsTraffic bool `json:"shiftsTraffic,omitempty"`
}

// MinHealthy is CodeDeploy's minimumHealthyHosts: HOST_COUNT or FLEET_PERCENT.
type MinHealthy struct {
	Type  string `json:"type"`
	Value int    `json:"value"`
}

// AutoRollback says whether a failed deployment redeploys the last revision
// that succeeded on the group.
type AutoRollback struct {
	Enabled bool     `json:"enabled"`
	Events  []string `json:"events,omitempty"`
}

// Alarms is CodeDeploy's alarmConfiguration: while a deployment runs (and
// for WatchSeconds after its hosts are done), an alarm in ALARM, or a rule
// that fails, stops it; with DEPLOYMENT_STOP_ON_ALARM among the rollback
// events the last revision that succeeded is deployed again. Connection,
// Rules and WatchSeconds are sluice's.
type Alarms struct {
	Enabled bool `json:"enabled"`
	// Alarms are CloudWatch alarm names, read through Connection.
	Alarms []Alarm `json:"alarms,omitempty"`
	// IgnorePollAlarmFailure keeps a deployment going when an alarm or rule
	// cannot be read; otherwise that stops it too, as in CodeDeploy.
	IgnorePollAlarmFailure bool `json:"ignorePollAlarmFailure,omitempty"`
	// Connection is the aws connection the alarms are read through ("": the
	// one named default).
	Connection string `json:"connection,omitempty"`
	// Rules are stage-condition rules (CloudWatchAlarm, Metric) watched the
	// same way, each read once per look.
	Rules []Rule `json:"rules,omitempty"`
	// WatchSeconds keeps a deployment whose hosts all finished InProgress
	// that long, still watched, before it succeeds.
	WatchSeconds int `json:"watchSeconds,omitempty"`
}

// Alarm is one CloudWatch alarm, by name.
type Alarm struct {
	Name string `json:"name"`
}

// Rule is a stage-condition rule a group watches.
type Rule struct {
	Name          string            `json:"name"`
	Provider      string            `json:"provider"`
	Configuration map[string]string `json:"configuration,omitempty"`
}

// Check is one thing a deployment of the group watches: a rule type of the
// stage conditions and its configuration, to be evaluated once.
type Check struct {
	Name          string
	Provider      string
	Configuration map[string]string
}

// The rule types a group's alarmConfiguration may watch, and CodeDeploy's
// limit on its alarms.
const (
	RuleCloudWatchAlarm = "CloudWatchAlarm"
	RuleMetric          = "Metric"
	maxAlarms           = 10
)

// Watches reports whether deployments of the group watch alarms or rules.
func (g *Group) Watches() bool {
	return g.Alarms.Enabled && (len(g.Alarms.Alarms) > 0 || len(g.Alarms.Rules) > 0)
}

// Checks lists what a deployment of the group watches, each read at once:
// every alarm as a CloudWatchAlarm rule through the group's connection,
// then the rules, with no WaitTime (a look is one reading).
func (g *Group) Checks() []Check {
	if !g.Watches() {
		return nil
	}
	var out []Check
	for _, a := range g.Alarms.Alarms {
		out = append(out, Check{Name: "alarm " + a.Name, Provider: RuleCloudWatchAlarm,
			Configuration: map[string]string{"AlarmName": a.Name, "Connection": g.Alarms.Connection}})
	}
	for _, r := range g.Alarms.Rules {
		cfg := map[string]string{}
		for k, v := range r.Configuration {
			if k != "WaitTime" {
				cfg[k] = v
			}
		}
		if r.Provider == RuleCloudWatchAlarm && cfg["Connection"] == "" {
			cfg["Connection"] = g.Alarms.Connection
		}
		out = append(out, Check{Name: "rule " + r.Name, Provider: r.Provider, Configuration: cfg})
	}
	return out
}

// Connections are the aws connections the group's checks read through.
func (g *Group) Connections() []string {
	var out []string
	for _, c := range g.Checks() {
		if n, ok := c.Configuration["Connection"]; ok && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// The deployment configurations CodeDeploy predefines for servers.
const (
	AllAtOnce   = "CodeDeployDefault.AllAtOnce"
	HalfAtATime = "CodeDeployDefault.HalfAtATime"
	OneAtATime  = "CodeDeployDefault.OneAtATime"
	Custom      = "Custom"
)

// Configs are the names a group's deploymentConfigName may take.
var Configs = []string{AllAtOnce, HalfAtATime, OneAtATime, Custom}

// RollbackEvents are the events autoRollbackConfiguration may name.
var RollbackEvents = []string{EventFailure, EventStopOnAlarm}

// Key is the name a group is stored under: APPLICATION/GROUP.
func (g *Group) Key() string { return Key(g.Application, g.Name) }

// Key is the stored name of group name of application app.
func Key(app, name string) string { return app + "/" + name }

var nameRE = lazyregexp.New(`^[A-Za-z0-9._+=,@-]{1,100}$`)

// Validate checks g; the error is a yamlnode.ErrorList naming each field.
func (g *Group) Validate() error { return g.validate().Err() }

func (g *Group) validate() yamlnode.ErrorList {
	var errs yamlnode.ErrorList
	if !nameRE.MatchString(g.Application) {
		errs.Add("applicationName", fmt.Sprintf("%q must be 1 to 100 letters, digits or ._+=,@-", g.Application))
	}
	if !nameRE.MatchString(g.Name) {
		errs.Add("deploymentGroupName", fmt.Sprintf("%q must be 1 to 100 letters, digits or ._+=,@-", g.Name))
	}
	if !nameRE.MatchString(g.AgentGroup) {
		errs.Add("targets.agentGroup", fmt.Sprintf("%q must name the --group of the agents to deploy to", g.AgentGroup))
	}
	for k := range g.Tags {
		if k == "" || strings.ContainsAny(k, "=,") {
			errs.Add("targets.tags", fmt.Sprintf("tag key %q must be non-empty, without = or ,", k))
		}
	}
	switch g.Config {
	case AllAtOnce, HalfAtATime, OneAtATime:
		if g.MinimumHealthyHosts != nil {
			errs.Add("minimumHealthyHosts", fmt.Sprintf("is for deploymentConfigName Custom; %s has its own", g.Config))
		}
	case Custom:
		m := g.MinimumHealthyHosts
		switch {
		case m == nil:
			errs.Add("minimumHealthyHosts", "missing: a Custom configuration gives type (HOST_COUNT or FLEET_PERCENT) and value")
		case m.Type != "HOST_COUNT" && m.Type != "FLEET_PERCENT":
			errs.Add("minimumHealthyHosts.type", fmt.Sprintf("must be HOST_COUNT or FLEET_PERCENT, not %q", m.Type))
		case m.Value < 0 || (m.Type == "FLEET_PERCENT" && m.Value > 99):
			errs.Add("minimumHealthyHosts.value", fmt.Sprintf("%d is out of range (HOST_COUNT: 0 or more; FLEET_PERCENT: 0 to 99)", m.Value))
		}
	default:
		errs.Add("deploymentConfigName", fmt.Sprintf("%q is not one of %s", g.Config, strings.Join(Configs, ", ")))
	}
	for i, e := range g.AutoRollback.Events {
		ok := false
		for _, k := range RollbackEvents {
			ok = ok || k == e
		}
		if !ok {
			errs.Add(yamlnode.Index("autoRollbackConfiguration.events", i), fmt.Sprintf("%q is not one of %s", e, strings.Join(RollbackEvents, ", ")))
		}
	}
	a := g.Alarms
	if a.Enabled && len(a.Alarms) == 0 && len(a.Rules) == 0 {
		errs.Add("alarmConfiguration", "enabled, but names no alarms and no rules")
	}
	if len(a.Alarms) > maxAlarms {
		errs.Add("alarmConfiguration.alarms", fmt.Sprintf("%d alarms; CodeDeploy allows at most %d", len(a.Alarms), maxAlarms))
	}
	for i, al := range a.Alarms {
		if al.Name == "" || len(al.Name) > 255 {
			errs.Add(yamlnode.Join(yamlnode.Index("alarmConfiguration.alarms", i), "name"), "must be a CloudWatch alarm name, 1 to 255 characters")
		}
	}
	if a.Connection != "" && !nameRE.MatchString(a.Connection) {
		errs.Add("alarmConfiguration.connection", fmt.Sprintf("%q is not a connection name", a.Connection))
	}
	seen := map[string]bool{}
	for i, r := range a.Rules {
		rp := yamlnode.Index("alarmConfiguration.rules", i)
		if !nameRE.MatchString(r.Name) || seen[r.Name] {
			errs.Add(yamlnode.Join(rp, "name"), fmt.Sprintf("%q must be a name of 1 to 100 letters, digits or ._+=,@-, used once", r.Name))
		}
		seen[r.Name] = true
		if r.Provider != RuleCloudWatchAlarm && r.Provider != RuleMetric {
			errs.Add(yamlnode.Join(rp, "provider"), fmt.Sprintf("%q: a deployment group watches %s or %s rules", r.Provider, RuleCloudWatchAlarm, RuleMetric))
		}
	}
	if a.WatchSeconds < 0 || a.WatchSeconds > 3600 {
		errs.Add("alarmConfiguration.watchSeconds", fmt.Sprintf("%d is out of range (0 to 3600)", a.WatchSeconds))
	}
	if slices.Contains(g.AutoRollback.Events, EventStopOnAlarm) && !g.Watches() {
		errs.Add("autoRollbackConfiguration.events", EventStopOnAlarm+" needs an enabled alarmConfiguration with alarms or rules")
	}
	return errs
}

// The events autoRollbackConfiguration names.
const (
	EventFailure     = "DEPLOYMENT_FAILURE"
	EventStopOnAlarm = "DEPLOYMENT_STOP_ON_ALARM"
)

// RollsBackOnFailure reports whether a failed deployment rolls back.
func (g *Group) RollsBackOnFailure() bool { return g.RollsBackOn(EventFailure) }

// RollsBackOn reports whether a deployment that ended by event rolls back:
// an enabled autoRollbackConfiguration naming it, or naming no events at
// all for a failure.
func (g *Group) RollsBackOn(event string) bool {
	if !g.AutoRollback.Enabled {
		return false
	}
	if len(g.AutoRollback.Events) == 0 {
		return event == EventFailure
	}
	return slices.Contains(g.AutoRollback.Events, event)
}

// Agent is what a group's targeting sees of an agent.
type Agent struct {
	Group string
	Tags  map[string]string
}

// Targets reports whether the group deploys to agent a.
func (g *Group) Targets(a Agent) bool {
	if a.Group != g.AgentGroup {
		return false
	}
	for k, v := range g.Tags {
		if a.Tags[k] != v {
			return false
		}
	}
	return true
}

// Plan is how a deployment rolls over a fleet of Hosts hosts.
type Plan struct {
	Hosts int
	// Batch is how many hosts are deployed to at once.
	Batch int
	// MinHealthy is how many hosts must stay healthy: the deployment stops
	// once more than Hosts-MinHealthy have failed, and succeeds when at
	// least max(MinHealthy, 1) hosts succeeded.
	MinHealthy int
	// LastMayFail is OneAtATime's exception: a failure on the last host
	// alone does not fail the deployment.
	LastMayFail bool
}

// PlanFor plans a deployment to hosts hosts, as CodeDeploy does: AllAtOnce
// deploys to all and succeeds if one succeeds; HalfAtATime to up to half
// (rounded down) at a time and succeeds if at least half (rounded up) do;
// OneAtATime to one at a time and succeeds only if all do (but the last);
// a custom configuration keeps its minimum healthy and deploys to the rest.
func (g *Group) PlanFor(hosts int) (Plan, error) {
	if hosts == 0 {
		return Plan{}, fmt.Errorf("deployment group %s has no agents to deploy to (agentGroup %s%s)", g.Key(), g.AgentGroup, tagText(g.Tags))
	}
	p := Plan{Hosts: hosts}
	switch g.Config {
	case AllAtOnce:
		p.MinHealthy = 0
	case HalfAtATime:
		p.MinHealthy = (hosts + 1) / 2
	case OneAtATime:
		p.MinHealthy = hosts - 1
		p.LastMayFail = true
	case Custom:
		m := g.MinimumHealthyHosts
		if m.Type == "HOST_COUNT" {
			p.MinHealthy = m.Value
		} else {
			p.MinHealthy = (hosts*m.Value + 99) / 100
		}
		if p.MinHealthy >= hosts {
			return Plan{}, fmt.Errorf("minimum healthy hosts %d leaves none of the group's %d agents to deploy to", p.MinHealthy, hosts)
		}
	default:
		return Plan{}, fmt.Errorf("unknown deployment configuration %q", g.Config)
	}
	p.Batch = max(hosts-p.MinHealthy, 1)
	return p, nil
}

// Succeeded says whether a deployment with these counts succeeded.
func (p Plan) Succeeded(succeeded, failed int, lastFailed bool) bool {
	if p.LastMayFail && failed == 1 && lastFailed {
		// Not for a group of one host: nothing was deployed.
		return succeeded >= 1
	}
	return failed == 0 || (succeeded >= max(p.MinHealthy, 1) && p.Hosts-failed >= p.MinHealthy)
}

// Stop says whether a deployment must stop after this many failures,
// starting no more hosts.
func (p Plan) Stop(failed int) bool {
	return failed > p.Hosts-p.MinHealthy || (p.LastMayFail && failed > 0)
}

func tagText(tags map[string]string) string {
	if len(tags) == 0 {
		return ""
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, ", tag %s=%s", k, tags[k])
	}
	return b.String()
}
