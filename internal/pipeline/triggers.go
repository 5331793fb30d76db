package pipeline

import (
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/schedule"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// This file holds everything about a pipeline's triggers: decoding them with
// lines, validating them, and writing them back as YAML.

// Limits from CodePipeline's API reference (GitConfiguration,
// GitBranchFilterCriteria and its siblings), so that triggers valid here can
// be exported back. maxTriggers is sluice's own bound: CodePipeline allows one
// git trigger per source action, and schedules are sluice's addition.
const (
	maxTriggers       = 50
	maxPushFilters    = 3
	maxFilterPatterns = 8
	maxPatternLen     = 255
	providerTypeAlias = "CodeStarSourceConnection"
)

var (
	triggerFields      = []string{"providerType", "gitConfiguration", "schedule", "timeZone", "pipeline"}
	pipelineTrigFields = []string{"name", "on"}
	gitConfigFields    = []string{"sourceActionName", "push", "pullRequest"}
	pushFilterFields   = []string{"branches", "tags", "filePaths"}
	prFilterFields     = []string{"events", "branches", "filePaths"}
	gitFilterFields    = []string{"includes", "excludes"}
	triggerTypes       = []string{TriggerGit, TriggerSchedule, TriggerPipeline, providerTypeAlias}
)

// triggerType reads a providerType: CodePipeline's CodeStarSourceConnection
// is sluice's Git, and case is forgiven as it is for categories.
func triggerType(s string) string {
	if strings.EqualFold(s, providerTypeAlias) {
		return TriggerGit
	}
	return canonicalCase(s, triggerTypes)
}

func (d *decoder) triggers(n *yaml.Node, path string) []Trigger {
	items := d.List(n, path)
	if len(items) == 0 {
		return nil
	}
	out := make([]Trigger, len(items))
	for i, item := range items {
		ip := indexPath(path, i)
		for _, f := range d.Mapping(item, ip) {
			fp := joinPath(ip, f.Key)
			switch f.Key {
			case "providerType":
				out[i].ProviderType = triggerType(d.Str(f.Value, fp))
			case "gitConfiguration":
				out[i].GitConfiguration = d.gitConfiguration(f.Value, fp)
			case "schedule":
				out[i].Schedule = d.Str(f.Value, fp)
			case "timeZone":
				out[i].TimeZone = d.Str(f.Value, fp)
			case "pipeline":
				out[i].Pipeline = d.pipelineTrigger(f.Value, fp)
			default:
				d.Unknown(f, fp, triggerFields)
			}
		}
	}
	return out
}

func (d *decoder) pipelineTrigger(n *yaml.Node, path string) *PipelineTrigger {
	if yamlnode.IsNull(yamlnode.Resolve(n)) {
		return nil
	}
	t := &PipelineTrigger{}
	for _, f := range d.Mapping(n, path) {
		fp := joinPath(path, f.Key)
		switch f.Key {
		case "name":
			t.Name = d.Str(f.Value, fp)
		case "on":
			t.On = d.Strings(f.Value, fp)
		default:
			d.Unknown(f, fp, pipelineTrigFields)
		}
	}
	for i, s := range t.On {
		t.On[i] = canonicalCase(s, UpstreamStates)
	}
	return t
}

// gitConfiguration returns nil for a null value, so that validation can say
// it is missing; an empty mapping is a configuration with nothing in it.
func (d *decoder) gitConfiguration(n *yaml.Node, path string) *GitConfiguration {
	if yamlnode.IsNull(yamlnode.Resolve(n)) {
		return nil
	}
	g := &GitConfiguration{}
	for _, f := range d.Mapping(n, path) {
		fp := joinPath(path, f.Key)
		switch f.Key {
		case "sourceActionName":
			g.SourceActionName = d.Str(f.Value, fp)
		case "push":
			g.Push = d.pushFilters(f.Value, fp)
		case "pullRequest":
			g.PullRequest = d.pullRequestFilters(f.Value, fp)
		default:
			d.Unknown(f, fp, gitConfigFields)
		}
	}
	return g
}

func (d *decoder) pushFilters(n *yaml.Node, path string) []GitPushFilter {
	items := d.List(n, path)
	if len(items) == 0 {
		return nil
	}
	out := make([]GitPushFilter, len(items))
	for i, item := range items {
		ip := indexPath(path, i)
		for _, f := range d.Mapping(item, ip) {
			fp := joinPath(ip, f.Key)
			switch f.Key {
			case "branches":
				out[i].Branches = d.gitFilter(f.Value, fp)
			case "tags":
				out[i].Tags = d.gitFilter(f.Value, fp)
			case "filePaths":
				out[i].FilePaths = d.gitFilter(f.Value, fp)
			default:
				d.Unknown(f, fp, pushFilterFields)
			}
		}
	}
	return out
}

func (d *decoder) pullRequestFilters(n *yaml.Node, path string) []GitPullRequestFilter {
	items := d.List(n, path)
	if len(items) == 0 {
		return nil
	}
	out := make([]GitPullRequestFilter, len(items))
	for i, item := range items {
		ip := indexPath(path, i)
		for _, f := range d.Mapping(item, ip) {
			fp := joinPath(ip, f.Key)
			switch f.Key {
			case "events":
				out[i].Events = d.Strings(f.Value, fp)
				if out[i].Events == nil {
					// Given but empty: not the same as left out, and
					// refused (CodePipeline wants 1 to 3 events).
					out[i].Events = []string{}
				}
				for j, e := range out[i].Events {
					out[i].Events[j] = canonicalCase(e, PullRequestEvents)
				}
			case "branches":
				out[i].Branches = d.gitFilter(f.Value, fp)
			case "filePaths":
				out[i].FilePaths = d.gitFilter(f.Value, fp)
			default:
				d.Unknown(f, fp, prFilterFields)
			}
		}
	}
	return out
}

// gitFilter returns nil for a null value, which is the same as leaving the
// field out.
func (d *decoder) gitFilter(n *yaml.Node, path string) *GitFilter {
	if yamlnode.IsNull(yamlnode.Resolve(n)) {
		return nil
	}
	g := &GitFilter{}
	for _, f := range d.Mapping(n, path) {
		fp := joinPath(path, f.Key)
		switch f.Key {
		case "includes":
			g.Includes = d.Strings(f.Value, fp)
		case "excludes":
			g.Excludes = d.Strings(f.Value, fp)
		default:
			d.Unknown(f, fp, gitFilterFields)
		}
	}
	return g
}

// triggers checks every trigger. It runs after the stages were checked, so it
// can name source actions.
func (v *validator) triggers(v1 bool) {
	ts := v.p.Triggers
	if len(ts) == 0 {
		return
	}
	if v1 {
		v.errorf("triggers", "triggers need pipelineType %s", defaultPipelineType)
	}
	if len(ts) > maxTriggers {
		v.errorf("triggers", "too many triggers: %d, at most %d", len(ts), maxTriggers)
	}
	// The source action each git trigger names, so a second trigger for the
	// same action can say which one came first.
	claimed := map[string]int{}
	for i := range ts {
		t := &ts[i]
		tp := indexPath("triggers", i)
		switch t.ProviderType {
		case TriggerGit:
			v.gitTrigger(tp, i, t, claimed)
		case TriggerSchedule:
			v.scheduleTrigger(tp, t)
		case TriggerPipeline:
			v.pipelineTrigger(tp, t)
		case "":
			v.errorf(joinPath(tp, "providerType"), "required: %s, %s or %s", TriggerGit, TriggerSchedule, TriggerPipeline)
		case providerTypeAlias:
			// Only a Pipeline built in code gets here: Parse reads the
			// alias as Git, which is what the rest of sluice compares.
			v.errorf(joinPath(tp, "providerType"), "write %q: %s is read as %s only when a declaration is parsed",
				TriggerGit, providerTypeAlias, TriggerGit)
		default:
			v.errorf(joinPath(tp, "providerType"), "unknown trigger type %q (want %s, %s, %s or %s)%s",
				t.ProviderType, TriggerGit, providerTypeAlias, TriggerSchedule, TriggerPipeline, v.hints.didYouMean(t.ProviderType, triggerTypes))
		}
	}
}

func (v *validator) gitTrigger(tp string, i int, t *Trigger, claimed map[string]int) {
	if t.Schedule != "" {
		v.errorf(joinPath(tp, "schedule"), "only %s triggers take a schedule", TriggerSchedule)
	}
	if t.TimeZone != "" {
		v.errorf(joinPath(tp, "timeZone"), "only %s triggers take a timeZone", TriggerSchedule)
	}
	gp := joinPath(tp, "gitConfiguration")
	g := t.GitConfiguration
	if g == nil {
		v.errorf(gp, "required for a %s trigger", TriggerGit)
		return
	}
	np := joinPath(gp, "sourceActionName")
	if g.SourceActionName == "" {
		v.errorf(np, "required")
	} else if v.sourceAction(np, g.SourceActionName) {
		if first, dup := claimed[g.SourceActionName]; dup {
			v.errorf(np, "source action %q already has a trigger (triggers[%d]); give it one trigger with several push filters",
				g.SourceActionName, first)
		} else {
			claimed[g.SourceActionName] = i
		}
	}

	pp := joinPath(gp, "push")
	if len(g.Push) > maxPushFilters {
		v.errorf(pp, "too many push filters: %d, at most %d", len(g.Push), maxPushFilters)
	}
	for j := range g.Push {
		v.pushFilter(indexPath(pp, j), &g.Push[j])
	}

	rp := joinPath(gp, "pullRequest")
	if len(g.PullRequest) > 0 && g.SourceActionName != "" {
		if p := v.sourceProvider(g.SourceActionName); p != "" && !pullRequestSources[p] {
			v.errorf(rp, "pull-request triggers need a source action of provider CodeStarSourceConnection or CodeConnections (a git host connection's webhooks), or Git or CodeCommit (a hosted repository's pull requests); %s has provider %s",
				g.SourceActionName, p)
		}
	}
	if len(g.PullRequest) > maxPushFilters {
		v.errorf(rp, "too many pull-request filters: %d, at most %d", len(g.PullRequest), maxPushFilters)
	}
	for j := range g.PullRequest {
		v.pullRequestFilter(indexPath(rp, j), &g.PullRequest[j])
	}
}

// pullRequestSources are the source providers whose repositories have pull
// requests sluice hears of: a git host's, through its connection's
// webhooks, and hosted repositories' own.
var pullRequestSources = map[string]bool{"CodeStarSourceConnection": true, "CodeConnections": true, ProviderGit: true, ProviderCodeCommit: true}

// sourceProvider is the provider of the source action named name, or "".
func (v *validator) sourceProvider(name string) string {
	for _, st := range v.p.Stages {
		for _, a := range st.Actions {
			if a.Name == name {
				return a.ActionTypeID.Provider
			}
		}
	}
	return ""
}

// pullRequestFilter checks one pull-request filter: CodePipeline allows 1
// to 3 distinct events, and branches and file paths as push filters have
// them.
func (v *validator) pullRequestFilter(pp string, f *GitPullRequestFilter) {
	ep := joinPath(pp, "events")
	if f.Events != nil && len(f.Events) == 0 {
		v.errorf(ep, "give at least one event (%s), or leave events out for all of them", quotedList(PullRequestEvents, "or"))
	}
	seen := map[string]bool{}
	for i, e := range f.Events {
		ip := indexPath(ep, i)
		switch {
		case !slices.Contains(PullRequestEvents, e):
			v.errorf(ip, "unknown pull-request event %q (want %s)%s", e, quotedList(PullRequestEvents, "or"), v.hints.didYouMean(e, PullRequestEvents))
		case seen[e]:
			v.errorf(ip, "%s is listed twice", e)
		}
		seen[e] = true
	}
	if f.FilePaths != nil && f.Branches == nil {
		// CodePipeline's combinations: branches, or branches with
		// file paths.
		v.errorf(joinPath(pp, "filePaths"), "filePaths needs branches beside it (the destination branches whose pull requests are filtered by path)")
	}
	v.gitFilter(joinPath(pp, "branches"), f.Branches)
	v.gitFilter(joinPath(pp, "filePaths"), f.FilePaths)
}

// notGit holds the source providers whose changes are not git pushes, so
// that a git trigger cannot name them.
var notGit = map[string]bool{"S3": true, "ECR": true}

// sourceAction checks that name is a Source action of the pipeline whose
// changes are git pushes, and reports whether it is.
func (v *validator) sourceAction(path, name string) bool {
	var sources []string
	var other *position
	for si := range v.p.Stages {
		for ai := range v.p.Stages[si].Actions {
			a := &v.p.Stages[si].Actions[ai]
			cat := v.category(a)
			if cat == CategorySource {
				if a.Name == name {
					if notGit[a.ActionTypeID.Provider] {
						v.errorf(path, "source action %q has provider %q, whose changes are not git pushes",
							name, a.ActionTypeID.Provider)
						return false
					}
					return true
				}
				sources = append(sources, a.Name)
			} else if a.Name == name && other == nil {
				other = &position{stage: si, action: ai}
				if cat == "" {
					// Its type is already reported as wrong; saying it
					// is not a source would only add noise.
					return false
				}
			}
		}
	}
	if other != nil {
		v.errorf(path, "%s is a %s action, not a %s action", v.describe(other),
			v.category(&v.p.Stages[other.stage].Actions[other.action]), CategorySource)
		return false
	}
	if len(sources) == 0 {
		v.errorf(path, "no source action named %q: the pipeline has no source actions", name)
		return false
	}
	v.errorf(path, "no source action named %q%s", name, v.hints.didYouMean(name, sources))
	return false
}

// pushFilter checks one push filter. CodePipeline accepts three shapes:
// tags alone, branches alone, and branches with filePaths.
func (v *validator) pushFilter(pp string, f *GitPushFilter) {
	switch {
	case f.Branches == nil && f.Tags == nil && f.FilePaths == nil:
		v.errorf(pp, "give branches, tags, or branches with filePaths")
	case f.Tags != nil && (f.Branches != nil || f.FilePaths != nil):
		v.errorf(joinPath(pp, "tags"), "tags cannot be combined with branches or filePaths in one push filter; use a push filter of its own")
	case f.FilePaths != nil && f.Branches == nil:
		v.errorf(joinPath(pp, "filePaths"), "filePaths needs branches beside it (the branches whose pushes are filtered by path)")
	}
	v.gitFilter(joinPath(pp, "branches"), f.Branches)
	v.gitFilter(joinPath(pp, "tags"), f.Tags)
	v.gitFilter(joinPath(pp, "filePaths"), f.FilePaths)
}

func (v *validator) gitFilter(fp string, f *GitFilter) {
	if f == nil {
		return
	}
	if len(f.Includes) == 0 && len(f.Excludes) == 0 {
		v.errorf(fp, "give includes, excludes or both")
		return
	}
	v.patterns(joinPath(fp, "includes"), f.Includes)
	v.patterns(joinPath(fp, "excludes"), f.Excludes)
}

func (v *validator) patterns(path string, patterns []string) {
	if len(patterns) > maxFilterPatterns {
		v.errorf(path, "too many patterns: %d, at most %d", len(patterns), maxFilterPatterns)
	}
	for i, p := range patterns {
		ip := indexPath(path, i)
		if n := utf8.RuneCountInString(p); n > maxPatternLen {
			v.errorf(ip, "too long: %d characters, at most %d", n, maxPatternLen)
			continue
		}
		if _, err := compileGlob(p); err != nil {
			v.errorf(ip, "invalid glob %q: %v", p, err)
		}
	}
}

func (v *validator) scheduleTrigger(tp string, t *Trigger) {
	if t.GitConfiguration != nil {
		v.errorf(joinPath(tp, "gitConfiguration"), "only %s triggers take a gitConfiguration", TriggerGit)
	}
	sp := joinPath(tp, "schedule")
	if t.Schedule == "" {
		v.errorf(sp, `required for a %s trigger: cron(...) or rate(...), as in "cron(0 12 * * ? *)" or "rate(5 minutes)"`, TriggerSchedule)
	} else if _, err := schedule.Parse(t.Schedule); err != nil {
		v.errorf(sp, "%v", err)
	}
	if _, err := schedule.LoadLocation(t.TimeZone); err != nil {
		v.errorf(joinPath(tp, "timeZone"), "%v", err)
	}
}

func (v *validator) pipelineTrigger(tp string, t *Trigger) {
	if t.GitConfiguration != nil || t.Schedule != "" || t.TimeZone != "" {
		v.errorf(tp, "a %s trigger takes only pipeline: {name, on}", TriggerPipeline)
	}
	pp := joinPath(tp, "pipeline")
	if t.Pipeline == nil {
		v.errorf(pp, "required for a %s trigger: the upstream pipeline's name, as in pipeline: {name: infra, on: [Succeeded]}", TriggerPipeline)
		return
	}
	v.name(joinPath(pp, "name"), t.Pipeline.Name, "pipeline name", nameRE, nameChars)
	if t.Pipeline.Name == v.p.Name && t.Pipeline.Name != "" {
		v.errorf(joinPath(pp, "name"), "a pipeline cannot trigger itself")
	}
	seen := map[string]bool{}
	for i, s := range t.Pipeline.On {
		op := indexPath(joinPath(pp, "on"), i)
		switch {
		case !slices.Contains(UpstreamStates, s):
			v.errorf(op, "unknown state %q (want %s)%s", s, quotedList(UpstreamStates, "or"), v.hints.didYouMean(s, UpstreamStates))
		case seen[s]:
			v.errorf(op, "%s is listed twice", s)
		}
		seen[s] = true
	}
}

// triggersNode writes triggers in the native YAML form, which is
// CodePipeline's JSON structure (providerType Git for
// CodeStarSourceConnection) plus schedules.
func triggersNode(ts []Trigger) *yaml.Node {
	s := seqNode()
	for _, t := range ts {
		m := mapNode()
		addStr(m, "providerType", t.ProviderType, true)
		if g := t.GitConfiguration; g != nil {
			gm := mapNode()
			addStr(gm, "sourceActionName", g.SourceActionName, true)
			if len(g.Push) > 0 {
				push := seqNode()
				for _, pf := range g.Push {
					pm := mapNode()
					addGitFilter(pm, "branches", pf.Branches)
					addGitFilter(pm, "tags", pf.Tags)
					addGitFilter(pm, "filePaths", pf.FilePaths)
					push.Content = append(push.Content, pm)
				}
				add(gm, "push", push)
			}
			if len(g.PullRequest) > 0 {
				prs := seqNode()
				for _, pf := range g.PullRequest {
					pm := mapNode()
					addStrs(pm, "events", pf.Events)
					addGitFilter(pm, "branches", pf.Branches)
					addGitFilter(pm, "filePaths", pf.FilePaths)
					prs.Content = append(prs.Content, pm)
				}
				add(gm, "pullRequest", prs)
			}
			add(m, "gitConfiguration", gm)
		}
		addStr(m, "schedule", t.Schedule, false)
		addStr(m, "timeZone", t.TimeZone, false)
		if pt := t.Pipeline; pt != nil {
			pm := mapNode()
			addStr(pm, "name", pt.Name, true)
			addStrs(pm, "on", pt.On)
			add(m, "pipeline", pm)
		}
		s.Content = append(s.Content, m)
	}
	return s
}

func addGitFilter(m *yaml.Node, key string, f *GitFilter) {
	if f == nil {
		return
	}
	fm := mapNode()
	addStrs(fm, "includes", f.Includes)
	addStrs(fm, "excludes", f.Excludes)
	add(m, key, fm)
}
