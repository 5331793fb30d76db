package pipeline

import (
	"gopkg.in/yaml.v3"
)

// Stage conditions have CodePipeline V2's shape (StageDeclaration's
// beforeEntry, onSuccess and onFailure). A condition holds up to five rules
// and a result; it is met when every rule succeeds.
//
//   - beforeEntry: checked before the stage's actions start. Met, the stage
//     runs; not met, its result engages: FAIL fails the stage (and the
//     execution), SKIP skips the stage and the execution goes on.
//   - onSuccess: checked once every action of the stage succeeded. Met, the
//     stage succeeds; not met, FAIL fails it, ROLLBACK fails it and rolls the
//     stage back to the last execution that succeeded through it.
//   - onFailure: what happens when the stage fails: ROLLBACK or RETRY (with
//     retryConfiguration.retryMode FAILED_ACTIONS or ALL_ACTIONS). With a
//     condition, the result engages only when the condition is not met (a
//     CloudWatchAlarm rule's alarm is in ALARM, say), as for the other kinds;
//     without one, on every failure.
//
// The yaml tags let MarshalYAML write them back as they were read.

// Condition kinds, named as StageDeclaration's fields are.
const (
	ConditionBeforeEntry = "beforeEntry"
	ConditionOnSuccess   = "onSuccess"
	ConditionOnFailure   = "onFailure"
)

// Condition results.
const (
	ResultFail     = "FAIL"
	ResultSkip     = "SKIP"
	ResultRollback = "ROLLBACK"
	ResultRetry    = "RETRY"
)

// Retry modes of an automatic retry.
const (
	RetryFailedActions = "FAILED_ACTIONS"
	RetryAllActions    = "ALL_ACTIONS"
)

// RuleCategory is the one category of a rule type.
const RuleCategory = "Rule"

// Rule providers.
const (
	RuleVariableCheck    = "VariableCheck"
	RuleDeploymentWindow = "DeploymentWindow"
	RuleCommands         = "Commands"
	RuleLambdaInvoke     = "LambdaInvoke"
	RuleCloudWatchAlarm  = "CloudWatchAlarm"
	// RuleMetric is sluice's own: a PromQL query against a
	// Prometheus-compatible endpoint, compared with a threshold.
	RuleMetric = "Metric"
)

// resultsFor lists the results each kind of condition allows, first the
// default of a condition that gives none.
var resultsFor = map[string][]string{
	ConditionBeforeEntry: {ResultFail, ResultSkip},
	ConditionOnSuccess:   {ResultFail, ResultRollback},
	ConditionOnFailure:   {ResultRollback, ResultRetry},
}

// BeforeEntryConditions are checked before a stage is entered.
type BeforeEntryConditions struct {
	Conditions []Condition `json:"conditions" yaml:"conditions"`
}

// SuccessConditions are checked once a stage's actions all succeeded.
type SuccessConditions struct {
	Conditions []Condition `json:"conditions" yaml:"conditions"`
}

// FailureConditions say what happens when a stage fails.
type FailureConditions struct {
	Result             string              `json:"result,omitempty" yaml:"result,omitempty"`
	RetryConfiguration *RetryConfiguration `json:"retryConfiguration,omitempty" yaml:"retryConfiguration,omitempty"`
	Conditions         []Condition         `json:"conditions,omitempty" yaml:"conditions,omitempty"`
}

// RetryConfiguration says which actions an automatic retry runs again.
type RetryConfiguration struct {
	RetryMode string `json:"retryMode,omitempty" yaml:"retryMode,omitempty"`
}

// Condition is a set of rules, met when all of them succeed, and the result
// that engages (see the top of this file).
type Condition struct {
	Result string            `json:"result,omitempty" yaml:"result,omitempty"`
	Rules  []RuleDeclaration `json:"rules" yaml:"rules"`
}

// RuleDeclaration is one rule of a condition, as CodePipeline declares it.
type RuleDeclaration struct {
	Name             string            `json:"name" yaml:"name"`
	RuleTypeID       RuleTypeID        `json:"ruleTypeId" yaml:"ruleTypeId"`
	Configuration    map[string]string `json:"configuration,omitempty" yaml:"configuration,omitempty"`
	Commands         []string          `json:"commands,omitempty" yaml:"commands,omitempty"`
	InputArtifacts   []InputArtifact   `json:"inputArtifacts,omitempty" yaml:"inputArtifacts,omitempty"`
	Region           string            `json:"region,omitempty" yaml:"region,omitempty"`
	RoleArn          string            `json:"roleArn,omitempty" yaml:"roleArn,omitempty"`
	TimeoutInMinutes int               `json:"timeoutInMinutes,omitempty" yaml:"timeoutInMinutes,omitempty"`
}

// RuleTypeID names the kind of a rule: category Rule, owner AWS.
type RuleTypeID struct {
	Category string `json:"category" yaml:"category"`
	Owner    string `json:"owner" yaml:"owner"`
	Provider string `json:"provider" yaml:"provider"`
	Version  string `json:"version" yaml:"version"`
}

// Condition returns the conditions of the given kind declared on st, and
// for onFailure its result and retry mode (for the others, "").
func (st *Stage) Condition(kind string) (conds []Condition, result, retryMode string) {
	switch kind {
	case ConditionBeforeEntry:
		if st.BeforeEntry != nil {
			return st.BeforeEntry.Conditions, "", ""
		}
	case ConditionOnSuccess:
		if st.OnSuccess != nil {
			return st.OnSuccess.Conditions, "", ""
		}
	case ConditionOnFailure:
		if f := st.OnFailure; f != nil {
			mode := ""
			if f.RetryConfiguration != nil {
				mode = f.RetryConfiguration.RetryMode
			}
			return f.Conditions, f.Result, mode
		}
	}
	return nil, "", ""
}

// ConditionResult is the result a condition of kind engages: its own, or
// the onFailure result, or the kind's default.
func ConditionResult(kind string, c Condition, failureResult string) string {
	switch {
	case c.Result != "":
		return c.Result
	case kind == ConditionOnFailure:
		return failureResult
	}
	return resultsFor[kind][0]
}

var (
	beforeEntryFields = []string{"conditions"}
	failureFields     = []string{"result", "retryConfiguration", "conditions"}
	retryConfigFields = []string{"retryMode"}
	conditionFields   = []string{"result", "rules"}
	ruleFields        = []string{"name", "ruleTypeId", "configuration", "commands", "inputArtifacts", "region", "roleArn", "timeoutInMinutes"}
	ruleTypeFields    = []string{"category", "owner", "provider", "version"}
)

func (d *decoder) beforeEntry(n *yaml.Node, path string) *BeforeEntryConditions {
	out := &BeforeEntryConditions{}
	for _, f := range d.Mapping(n, path) {
		fp := joinPath(path, f.Key)
		switch f.Key {
		case "conditions":
			out.Conditions = d.conditions(f.Value, fp)
		default:
			d.Unknown(f, fp, beforeEntryFields)
		}
	}
	return out
}

func (d *decoder) onSuccess(n *yaml.Node, path string) *SuccessConditions {
	b := d.beforeEntry(n, path)
	return &SuccessConditions{Conditions: b.Conditions}
}

func (d *decoder) onFailure(n *yaml.Node, path string) *FailureConditions {
	out := &FailureConditions{}
	for _, f := range d.Mapping(n, path) {
		fp := joinPath(path, f.Key)
		switch f.Key {
		case "result":
			out.Result = d.Str(f.Value, fp)
		case "retryConfiguration":
			out.RetryConfiguration = &RetryConfiguration{}
			for _, g := range d.Mapping(f.Value, fp) {
				gp := joinPath(fp, g.Key)
				switch g.Key {
				case "retryMode":
					out.RetryConfiguration.RetryMode = d.Str(g.Value, gp)
				default:
					d.Unknown(g, gp, retryConfigFields)
				}
			}
		case "conditions":
			out.Conditions = d.conditions(f.Value, fp)
		default:
			d.Unknown(f, fp, failureFields)
		}
	}
	return out
}

func (d *decoder) conditions(n *yaml.Node, path string) []Condition {
	items := d.List(n, path)
	if len(items) == 0 {
		return nil
	}
	out := make([]Condition, len(items))
	for i, item := range items {
		ip := indexPath(path, i)
		for _, f := range d.Mapping(item, ip) {
			fp := joinPath(ip, f.Key)
			switch f.Key {
			case "result":
				out[i].Result = d.Str(f.Value, fp)
			case "rules":
				out[i].Rules = d.rules(f.Value, fp)
			default:
				d.Unknown(f, fp, conditionFields)
			}
		}
	}
	return out
}

func (d *decoder) rules(n *yaml.Node, path string) []RuleDeclaration {
	items := d.List(n, path)
	if len(items) == 0 {
		return nil
	}
	out := make([]RuleDeclaration, len(items))
	for i, item := range items {
		ip := indexPath(path, i)
		r := &out[i]
		for _, f := range d.Mapping(item, ip) {
			fp := joinPath(ip, f.Key)
			switch f.Key {
			case "name":
				r.Name = d.Str(f.Value, fp)
			case "ruleTypeId":
				for _, g := range d.Mapping(f.Value, fp) {
					gp := joinPath(fp, g.Key)
					switch g.Key {
					case "category":
						r.RuleTypeID.Category = d.Str(g.Value, gp)
					case "owner":
						r.RuleTypeID.Owner = d.Str(g.Value, gp)
					case "provider":
						r.RuleTypeID.Provider = d.Str(g.Value, gp)
					case "version":
						r.RuleTypeID.Version = d.Str(g.Value, gp)
					default:
						d.Unknown(g, gp, ruleTypeFields)
					}
				}
			case "configuration":
				r.Configuration = d.configuration(f.Value, fp)
			case "commands":
				r.Commands = d.Strings(f.Value, fp)
			case "inputArtifacts":
				r.InputArtifacts = d.inputArtifacts(f.Value, fp)
			case "region":
				r.Region = d.Str(f.Value, fp)
			case "roleArn":
				r.RoleArn = d.Str(f.Value, fp)
			case "timeoutInMinutes":
				r.TimeoutInMinutes = d.Int(f.Value, fp)
			default:
				d.Unknown(f, fp, ruleFields)
			}
		}
	}
	return out
}

// conditionsNode writes a stage's conditions for MarshalYAML.
func conditionsNode(v any) *yaml.Node {
	n := &yaml.Node{}
	if err := n.Encode(v); err != nil {
		// The condition types hold only strings, ints, slices and
		// string maps, which always encode.
		panic("pipeline: encoding conditions as YAML failed: " + err.Error())
	}
	return n
}

// setRuleDefaults fills in a rule type's category, owner and version.
func setRuleDefaults(st *Stage) {
	fill := func(conds []Condition) {
		for ci := range conds {
			for ri := range conds[ci].Rules {
				id := &conds[ci].Rules[ri].RuleTypeID
				if id.Category == "" {
					id.Category = RuleCategory
				}
				if id.Owner == "" {
					id.Owner = OwnerAWS
				}
				if id.Version == "" {
					id.Version = "1"
				}
			}
		}
	}
	if st.BeforeEntry != nil {
		fill(st.BeforeEntry.Conditions)
	}
	if st.OnSuccess != nil {
		fill(st.OnSuccess.Conditions)
	}
	if st.OnFailure != nil {
		fill(st.OnFailure.Conditions)
		if st.OnFailure.RetryConfiguration != nil && st.OnFailure.RetryConfiguration.RetryMode == "" {
			st.OnFailure.RetryConfiguration.RetryMode = RetryFailedActions
		}
	}
}
