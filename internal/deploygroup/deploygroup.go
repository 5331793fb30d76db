// Package deploygroup reads and checks CodeDeploy-style deployment groups:
// which agents a deployment of an application reaches (their group and
// tags), how many of them at a time (the deployment configuration), and
// whether a failed deployment rolls back. It plans a rollout over a fleet
// but runs nothing. It imports only yamlnode.
package deploygroup

import (
	"fmt"
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
var RollbackEvents = []string{"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"}

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
	return errs
}

// RollsBackOnFailure reports whether a failed deployment rolls back.
func (g *Group) RollsBackOnFailure() bool {
	if !g.AutoRollback.Enabled {
		return false
	}
	if len(g.AutoRollback.Events) == 0 {
		return true
	}
	for _, e := range g.AutoRollback.Events {
		if e == "DEPLOYMENT_FAILURE" {
			return true
		}
	}
	return false
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
