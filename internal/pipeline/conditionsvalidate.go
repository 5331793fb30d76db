package pipeline

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/schedule"
)

// Limits on conditions, from CodePipeline's API reference: one condition
// per kind, one to five rules in it.
const (
	maxConditions = 1
	maxRules      = 5
)

// RuleInfo is what validation knows about one rule provider.
type RuleInfo struct {
	Name string
	// Keys are the configuration keys the rule reads; Required those it
	// cannot do without.
	Keys     []string
	Required []string
	// Commands means the rule takes `commands` (and input artifacts).
	Commands bool
	Check    func(cfg map[string]string) []ConfigProblem
}

// Operators a VariableCheck rule takes.
var variableOperators = []string{"EQ", "NE", "CONTAINS", "MATCHES"}

// Operators a Metric rule compares its query's value with its threshold by.
var metricOperators = []string{"GT", "GE", "LT", "LE", "EQ", "NE"}

// AlarmStates a CloudWatchAlarm rule may watch for.
var alarmStates = []string{"ALARM", "OK", "INSUFFICIENT_DATA"}

var ruleProviders = map[string]RuleInfo{
	RuleVariableCheck: {Name: RuleVariableCheck, Keys: []string{"Variable", "Value", "Operator"},
		Required: []string{"Variable", "Value", "Operator"}, Check: checkVariableRule},
	RuleDeploymentWindow: {Name: RuleDeploymentWindow, Keys: []string{"Cron", "TimeZone"},
		Required: []string{"Cron"}, Check: checkWindowRule},
	RuleCommands:     {Name: RuleCommands, Commands: true},
	RuleLambdaInvoke: {Name: RuleLambdaInvoke, Keys: []string{"FunctionName", "UserParameters", ConfigConnection}, Required: []string{"FunctionName"}},
	RuleCloudWatchAlarm: {Name: RuleCloudWatchAlarm, Keys: []string{"AlarmName", "AlarmStates", "WaitTime", ConfigConnection},
		Required: []string{"AlarmName"}, Check: checkAlarmRule},
	RuleMetric: {Name: RuleMetric, Keys: []string{"Endpoint", "Query", "Operator", "Threshold", "WaitTime"},
		Required: []string{"Endpoint", "Query", "Operator", "Threshold"}, Check: checkMetricRule},
}

// WorkerRules are the rule providers a worker runs with a provider of their
// own name; VariableCheck and DeploymentWindow are decided by the engine,
// and Commands and LambdaInvoke run as the Commands and Lambda actions do.
var WorkerRules = []string{RuleCloudWatchAlarm, RuleMetric}

// RuleProviderNames lists the rule providers sluice knows, sorted.
func RuleProviderNames() []string {
	var names []string
	for n := range ruleProviders {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func checkVariableRule(cfg map[string]string) []ConfigProblem {
	var out []ConfigProblem
	op, ok := cfg["Operator"]
	if ok && !slices.Contains(variableOperators, op) {
		out = append(out, ConfigProblem{"Operator", fmt.Sprintf("unknown operator %q (want %s)", op, strings.Join(variableOperators, ", "))})
	}
	if op == "MATCHES" {
		if _, err := regexp.Compile(cfg["Value"]); err != nil {
			out = append(out, ConfigProblem{"Value", fmt.Sprintf("not a regular expression: %v", err)})
		}
	}
	if v, ok := cfg["Variable"]; ok && len(References(v)) == 0 {
		out = append(out, ConfigProblem{"Variable", fmt.Sprintf("%q is not a variable reference: give one such as #{SourceVariables.BranchName}", v)})
	}
	return out
}

// InWindow reports whether now falls in the deployment window of a
// DeploymentWindow rule (its Cron and TimeZone), and when it next opens
// otherwise (zero if never).
func InWindow(cron, timeZone string, now time.Time) (bool, time.Time, error) {
	s, err := WindowSchedule(cron)
	if err != nil {
		return false, time.Time{}, err
	}
	loc, err := schedule.LoadLocation(timeZone)
	if err != nil {
		return false, time.Time{}, err
	}
	minute := now.Truncate(time.Minute)
	if s.Next(minute.Add(-time.Second), loc).Equal(minute) {
		return true, time.Time{}, nil
	}
	return false, s.Next(now, loc), nil
}

// WindowSchedule turns a DeploymentWindow rule's Cron (CodePipeline's six or
// seven fields: seconds, minutes, hours, day of month, month, day of week,
// and an optional year) into an EventBridge schedule of minutes. The seconds
// field must be * or 0: a window is a set of whole minutes.
func WindowSchedule(cron string) (schedule.Schedule, error) {
	f := strings.Fields(cron)
	if len(f) != 6 && len(f) != 7 {
		return schedule.Schedule{}, fmt.Errorf("%q has %d fields; want 6 or 7 (seconds minutes hours day-of-month month day-of-week [year])", cron, len(f))
	}
	if f[0] != "*" && f[0] != "0" {
		return schedule.Schedule{}, fmt.Errorf("%q: the seconds field must be * or 0", cron)
	}
	year := "*"
	if len(f) == 7 {
		year = f[6]
	}
	return schedule.Parse("cron(" + strings.Join(f[1:6], " ") + " " + year + ")")
}

func checkWindowRule(cfg map[string]string) []ConfigProblem {
	var out []ConfigProblem
	if c, ok := cfg["Cron"]; ok {
		if _, err := WindowSchedule(c); err != nil {
			out = append(out, ConfigProblem{"Cron", err.Error()})
		}
	}
	if tz, ok := cfg["TimeZone"]; ok {
		if _, err := schedule.LoadLocation(tz); err != nil {
			out = append(out, ConfigProblem{"TimeZone", err.Error()})
		}
	}
	return out
}

func checkAlarmRule(cfg map[string]string) []ConfigProblem {
	var out []ConfigProblem
	if s, ok := cfg["AlarmStates"]; ok {
		for _, st := range splitList(s) {
			if !slices.Contains(alarmStates, st) {
				out = append(out, ConfigProblem{"AlarmStates", fmt.Sprintf("unknown alarm state %q (want %s)", st, strings.Join(alarmStates, ", "))})
			}
		}
	}
	out = append(out, checkWaitTime(cfg)...)
	return out
}

func checkMetricRule(cfg map[string]string) []ConfigProblem {
	var out []ConfigProblem
	if op, ok := cfg["Operator"]; ok && !slices.Contains(metricOperators, op) {
		out = append(out, ConfigProblem{"Operator", fmt.Sprintf("unknown operator %q (want %s)", op, strings.Join(metricOperators, ", "))})
	}
	if t, ok := cfg["Threshold"]; ok {
		if _, err := strconv.ParseFloat(t, 64); err != nil {
			out = append(out, ConfigProblem{"Threshold", fmt.Sprintf("%q is not a number", t)})
		}
	}
	if e, ok := cfg["Endpoint"]; ok && !strings.HasPrefix(e, "http://") && !strings.HasPrefix(e, "https://") {
		out = append(out, ConfigProblem{"Endpoint", fmt.Sprintf("%q is not an http:// or https:// URL", e)})
	}
	out = append(out, checkWaitTime(cfg)...)
	return out
}

// checkWaitTime checks WaitTime, in whole minutes as CodePipeline gives it.
func checkWaitTime(cfg map[string]string) []ConfigProblem {
	if w, ok := cfg["WaitTime"]; ok {
		if n, err := strconv.Atoi(w); err != nil || n < 0 || n > 1440 {
			return []ConfigProblem{{"WaitTime", fmt.Sprintf("%q is not a number of minutes from 0 to 1440", w)}}
		}
	}
	return nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// AlarmStatesOf is the states a CloudWatchAlarm rule's configuration
// watches for; CodePipeline's default, when none are given, is ALARM.
func AlarmStatesOf(cfg map[string]string) []string {
	if s := splitList(cfg["AlarmStates"]); len(s) > 0 {
		return s
	}
	return []string{"ALARM"}
}

// conditions checks the conditions of stage si.
func (v *validator) conditions(si int, v1 bool) {
	st := &v.p.Stages[si]
	sp := indexPath("stages", si)
	any := st.BeforeEntry != nil || st.OnSuccess != nil || st.OnFailure != nil
	if any && v1 {
		v.errorf(sp, "stage conditions need pipelineType %s", defaultPipelineType)
	}
	ruleNames := map[string]string{}
	if st.BeforeEntry != nil {
		kp := joinPath(sp, ConditionBeforeEntry)
		if len(st.BeforeEntry.Conditions) == 0 {
			v.errorf(joinPath(kp, "conditions"), "required: one condition")
		}
		v.conditionList(si, ConditionBeforeEntry, kp, st.BeforeEntry.Conditions, "", ruleNames)
	}
	if st.OnSuccess != nil {
		kp := joinPath(sp, ConditionOnSuccess)
		if len(st.OnSuccess.Conditions) == 0 {
			v.errorf(joinPath(kp, "conditions"), "required: one condition")
		}
		v.conditionList(si, ConditionOnSuccess, kp, st.OnSuccess.Conditions, "", ruleNames)
	}
	if f := st.OnFailure; f != nil {
		kp := joinPath(sp, ConditionOnFailure)
		allowed := resultsFor[ConditionOnFailure]
		if f.Result != "" && !slices.Contains(allowed, f.Result) {
			v.errorf(joinPath(kp, "result"), "%s", resultProblem(ConditionOnFailure, f.Result))
		}
		if f.Result == "" && len(f.Conditions) == 0 {
			v.errorf(joinPath(kp, "result"), "required: %s", strings.Join(allowed, " or "))
		}
		retry := f.Result == ResultRetry
		for _, c := range f.Conditions {
			if c.Result == ResultRetry {
				retry = true
			}
		}
		if rc := f.RetryConfiguration; rc != nil {
			switch {
			case !retry:
				v.errorf(joinPath(kp, "retryConfiguration"), "only a %s result takes a retryConfiguration", ResultRetry)
			case rc.RetryMode != "" && rc.RetryMode != RetryFailedActions && rc.RetryMode != RetryAllActions:
				v.errorf(joinPath(joinPath(kp, "retryConfiguration"), "retryMode"), "unknown retry mode %q (want %s or %s)", rc.RetryMode, RetryFailedActions, RetryAllActions)
			}
		}
		v.conditionList(si, ConditionOnFailure, kp, f.Conditions, f.Result, ruleNames)
	}
}

func resultProblem(kind, result string) string {
	return fmt.Sprintf("result %q is not allowed in %s (want %s)", result, kind, strings.Join(resultsFor[kind], " or "))
}

func (v *validator) conditionList(si int, kind, kp string, conds []Condition, failureResult string, ruleNames map[string]string) {
	cp := joinPath(kp, "conditions")
	if len(conds) > maxConditions {
		v.errorf(cp, "too many conditions: %d, at most %d (put more rules in the one condition)", len(conds), maxConditions)
	}
	// Rules of beforeEntry see the variables of earlier stages; those of
	// onSuccess and onFailure see the stage's own as well.
	ro := 0
	if kind != ConditionBeforeEntry {
		ro = maxRunOrder + 1
	}
	for ci, c := range conds {
		ip := indexPath(cp, ci)
		if c.Result != "" && !slices.Contains(resultsFor[kind], c.Result) {
			v.errorf(joinPath(ip, "result"), "%s", resultProblem(kind, c.Result))
		}
		if kind == ConditionOnFailure && c.Result == "" && failureResult == "" {
			v.errorf(joinPath(ip, "result"), "required: %s", strings.Join(resultsFor[kind], " or "))
		}
		rp := joinPath(ip, "rules")
		switch {
		case len(c.Rules) == 0:
			v.errorf(rp, "at least one rule is required")
		case len(c.Rules) > maxRules:
			v.errorf(rp, "too many rules: %d, at most %d", len(c.Rules), maxRules)
		}
		for ri := range c.Rules {
			v.rule(si, ro, indexPath(rp, ri), &c.Rules[ri], ruleNames)
		}
	}
}

func (v *validator) rule(si, ro int, rp string, r *RuleDeclaration, ruleNames map[string]string) {
	v.name(joinPath(rp, "name"), r.Name, "rule name", nameRE, nameChars)
	if first, dup := ruleNames[r.Name]; dup && r.Name != "" {
		v.errorf(joinPath(rp, "name"), "rule name %q is already used by %s", r.Name, first)
	} else if r.Name != "" {
		ruleNames[r.Name] = rp
	}
	tp := joinPath(rp, "ruleTypeId")
	id := r.RuleTypeID
	if id.Category != "" && id.Category != RuleCategory {
		v.errorf(joinPath(tp, "category"), "unknown rule category %q (want %s)", id.Category, RuleCategory)
	}
	if id.Owner != "" && id.Owner != OwnerAWS {
		v.errorf(joinPath(tp, "owner"), "unknown rule owner %q (want %s)", id.Owner, OwnerAWS)
	}
	if id.Version != "" && id.Version != "1" {
		v.errorf(joinPath(tp, "version"), "unknown rule version %q (want 1)", id.Version)
	}
	info, ok := ruleProviders[id.Provider]
	switch {
	case id.Provider == "":
		v.errorf(joinPath(tp, "provider"), "required")
	case !ok:
		v.errorf(joinPath(tp, "provider"), "unknown rule type %q (want one of %s)%s", id.Provider,
			strings.Join(RuleProviderNames(), ", "), v.hints.didYouMean(id.Provider, RuleProviderNames()))
	}
	cp := joinPath(rp, "configuration")
	for _, k := range sortedKeys(r.Configuration) {
		kp := joinPath(cp, k)
		if ok && !slices.Contains(info.Keys, k) {
			if len(info.Keys) == 0 {
				v.errorf(kp, "unknown configuration key: rule type %q reads none", info.Name)
			} else {
				v.errorf(kp, "unknown configuration key (rule type %q reads %s)%s", info.Name, strings.Join(info.Keys, ", "), v.hints.didYouMean(k, info.Keys))
			}
			continue
		}
		v.maxLen(kp, r.Configuration[k], 10000)
		v.references(kp, r.Configuration[k], si, ro)
	}
	if ok {
		var missing []string
		for _, k := range info.Required {
			if _, has := r.Configuration[k]; !has {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			v.errorf(cp, "missing %s (required by rule type %q)", strings.Join(missing, ", "), info.Name)
		}
		if info.Check != nil {
			for _, p := range info.Check(r.Configuration) {
				v.errorf(joinPath(cp, p.Key), "%s", p.Msg)
			}
		}
	}
	cmdp := joinPath(rp, "commands")
	switch {
	case ok && info.Commands && len(r.Commands) == 0:
		v.errorf(cmdp, "required for rule type %q", info.Name)
	case ok && !info.Commands && len(r.Commands) > 0:
		v.errorf(cmdp, "only Commands rules take commands")
	case len(r.Commands) > maxCommands:
		v.errorf(cmdp, "too many commands: %d, at most %d", len(r.Commands), maxCommands)
	}
	for i, c := range r.Commands {
		ip := indexPath(cmdp, i)
		if strings.TrimSpace(c) == "" {
			v.errorf(ip, "empty command")
		}
		v.maxLen(ip, c, maxCommandLen)
		v.references(ip, c, si, ro)
	}
	for i, in := range r.InputArtifacts {
		np := joinPath(indexPath(joinPath(rp, "inputArtifacts"), i), "name")
		pos := v.producers[in.Name]
		switch {
		case in.Name == "":
			v.errorf(np, "required")
		case pos == nil:
			v.errorf(np, "input artifact %q is not produced by any action%s", in.Name, v.hints.didYouMean(in.Name, v.artifactNames))
		case !pos.runsBefore(si, ro):
			v.errorf(np, "input artifact %q is produced by %s, which does not run before this rule", in.Name, v.describe(pos))
		}
	}
	if r.Region != "" {
		if n := len(r.Region); n < minRegionLen || n > maxRegionLen {
			v.errorf(joinPath(rp, "region"), "%q is not a valid region: use %d to %d characters", r.Region, minRegionLen, maxRegionLen)
		}
	}
	if r.TimeoutInMinutes != 0 && (r.TimeoutInMinutes < 1 || r.TimeoutInMinutes > maxTimeoutMinutes) {
		v.errorf(joinPath(rp, "timeoutInMinutes"), "%d is out of range 1 to %d", r.TimeoutInMinutes, maxTimeoutMinutes)
	}
}

// Conditions returns copies of st's conditions.
func (st Stage) Conditions() (*BeforeEntryConditions, *SuccessConditions, *FailureConditions) {
	return st.cloneConditions()
}

// cloneConditions copies st's conditions deeply enough that SetDefaults on
// the copy leaves st alone.
func (st Stage) cloneConditions() (*BeforeEntryConditions, *SuccessConditions, *FailureConditions) {
	cp := func(cs []Condition) []Condition {
		if cs == nil {
			return nil
		}
		out := make([]Condition, len(cs))
		for i, c := range cs {
			out[i] = c
			out[i].Rules = slices.Clone(c.Rules)
		}
		return out
	}
	var b *BeforeEntryConditions
	var s *SuccessConditions
	var f *FailureConditions
	if st.BeforeEntry != nil {
		b = &BeforeEntryConditions{Conditions: cp(st.BeforeEntry.Conditions)}
	}
	if st.OnSuccess != nil {
		s = &SuccessConditions{Conditions: cp(st.OnSuccess.Conditions)}
	}
	if st.OnFailure != nil {
		c := *st.OnFailure
		if c.RetryConfiguration != nil {
			rc := *c.RetryConfiguration
			c.RetryConfiguration = &rc
		}
		c.Conditions = cp(c.Conditions)
		f = &c
	}
	return b, s, f
}
