package pipeline

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// The CloudFormation action's modes (CodePipeline's ActionMode) and the keys
// each needs beyond StackName.
var cloudFormationModes = map[string][]string{
	"CREATE_UPDATE":      {"TemplatePath"},
	"REPLACE_ON_FAILURE": {"TemplatePath"},
	"DELETE_ONLY":        nil,
	"CHANGE_SET_REPLACE": {"ChangeSetName", "TemplatePath"},
	"CHANGE_SET_EXECUTE": {"ChangeSetName"},
}

var cloudFormationModeNames = []string{"CREATE_UPDATE", "DELETE_ONLY", "REPLACE_ON_FAILURE", "CHANGE_SET_REPLACE", "CHANGE_SET_EXECUTE"}

var (
	cloudFormationKeys = []string{"ActionMode", "StackName", "ChangeSetName", "TemplatePath", "TemplateConfiguration",
		"ParameterOverrides", "Capabilities", "RoleArn", "OutputFileName", ConfigConnection}
	stackSetKeys = []string{"StackSetName", "Description", "TemplatePath", "Parameters", "Capabilities", "PermissionModel",
		"AdministrationRoleArn", "ExecutionRoleName", "OrganizationsAutoDeployment", "DeploymentTargets", "Regions",
		"FailureTolerancePercentage", "FailureToleranceCount", "MaxConcurrentPercentage", "MaxConcurrentCount", ConfigConnection}
	stackInstancesKeys = []string{"StackSetName", "DeploymentTargets", "Regions", "ParameterOverrides",
		"FailureTolerancePercentage", "FailureToleranceCount", "MaxConcurrentPercentage", "MaxConcurrentCount", ConfigConnection}
	capabilityNames = []string{"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"}
)

// unknownKeysSuggesting is unknownKeys with a suggestion for a misspelt key.
func unknownKeysSuggesting(cfg map[string]string, known []string) []ConfigProblem {
	var out []ConfigProblem
	for _, k := range sortedKeys(cfg) {
		if slices.Contains(known, k) {
			continue
		}
		msg := "unknown configuration key"
		if s := yamlnode.Suggest(k, known); s != "" {
			msg += " (did you mean " + strconv.Quote(s) + "?)"
		} else {
			msg += " (this provider reads " + strings.Join(known, ", ") + ")"
		}
		out = append(out, ConfigProblem{Key: k, Msg: msg})
	}
	return out
}

// artifactPath checks an "ArtifactName::path/in/it" value.
func artifactPath(cfg map[string]string, key string) []ConfigProblem {
	v, ok := cfg[key]
	if !ok || hasVariables(v) {
		return nil
	}
	a, p, found := strings.Cut(v, "::")
	if !found || a == "" || p == "" {
		return []ConfigProblem{{Key: key, Msg: fmt.Sprintf("%q is not ArtifactName::path/in/it", v)}}
	}
	if strings.HasPrefix(p, "/") || slices.Contains(strings.Split(p, "/"), "..") {
		return []ConfigProblem{{Key: key, Msg: fmt.Sprintf("%q must name a relative path inside the artifact", v)}}
	}
	return nil
}

func checkCapabilities(cfg map[string]string) []ConfigProblem {
	v, ok := cfg["Capabilities"]
	if !ok || hasVariables(v) {
		return nil
	}
	var out []ConfigProblem
	for _, c := range strings.Split(v, ",") {
		c = strings.TrimSpace(c)
		if !slices.Contains(capabilityNames, c) {
			out = append(out, ConfigProblem{Key: "Capabilities", Msg: fmt.Sprintf("%q is not a capability (want %s)%s",
				c, strings.Join(capabilityNames, ", "), suggestion(c, capabilityNames))})
		}
	}
	return out
}

func suggestion(word string, candidates []string) string {
	if s := yamlnode.Suggest(word, candidates); s != "" {
		return " (did you mean " + strconv.Quote(s) + "?)"
	}
	return ""
}

func cloudFormationConfig(cfg map[string]string) []ConfigProblem {
	out := unknownKeysSuggesting(cfg, cloudFormationKeys)
	mode, ok := cfg["ActionMode"]
	if ok && !hasVariables(mode) {
		need, known := cloudFormationModes[mode]
		if !known {
			out = append(out, ConfigProblem{Key: "ActionMode", Msg: fmt.Sprintf("%q is not an action mode (want %s)%s",
				mode, strings.Join(cloudFormationModeNames, ", "), suggestion(mode, cloudFormationModeNames))})
		}
		for _, k := range append([]string{"StackName"}, need...) {
			if _, ok := cfg[k]; !ok {
				out = append(out, ConfigProblem{Key: k, Msg: fmt.Sprintf("required when ActionMode is %s", mode)})
			}
		}
	}
	out = append(out, artifactPath(cfg, "TemplatePath")...)
	out = append(out, artifactPath(cfg, "TemplateConfiguration")...)
	out = append(out, checkCapabilities(cfg)...)
	if v, ok := cfg["ParameterOverrides"]; ok && !hasVariables(v) && strings.TrimSpace(v) != "" {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			out = append(out, ConfigProblem{Key: "ParameterOverrides", Msg: fmt.Sprintf("must be a JSON object of parameter names to values: %v", err)})
		}
	}
	if v, ok := cfg["OutputFileName"]; ok && (v == "" || strings.HasPrefix(v, "/") || slices.Contains(strings.Split(v, "/"), "..")) {
		out = append(out, ConfigProblem{Key: "OutputFileName", Msg: fmt.Sprintf("%q must be a relative file name in the output artifact", v)})
	}
	return out
}

func stackSetConfig(cfg map[string]string) []ConfigProblem {
	out := unknownKeysSuggesting(cfg, stackSetKeys)
	out = append(out, artifactPath(cfg, "TemplatePath")...)
	out = append(out, checkCapabilities(cfg)...)
	if v, ok := cfg["PermissionModel"]; ok && !hasVariables(v) && v != "SELF_MANAGED" && v != "SERVICE_MANAGED" {
		out = append(out, ConfigProblem{Key: "PermissionModel", Msg: fmt.Sprintf("%q is not SELF_MANAGED or SERVICE_MANAGED", v)})
	}
	if v, ok := cfg["OrganizationsAutoDeployment"]; ok && !hasVariables(v) && !slices.Contains([]string{"Enabled", "Disabled", "EnabledWithStackRetention"}, v) {
		out = append(out, ConfigProblem{Key: "OrganizationsAutoDeployment", Msg: fmt.Sprintf("%q is not Enabled, Disabled or EnabledWithStackRetention", v)})
	}
	return append(out, stackSetCommon(cfg)...)
}

func stackInstancesConfig(cfg map[string]string) []ConfigProblem {
	return append(unknownKeysSuggesting(cfg, stackInstancesKeys), stackSetCommon(cfg)...)
}

var regionName = lazyregexp.New(`^[a-z]{2}(-[a-z]+)+-\d+$`)

// stackSetCommon checks the keys both stack set actions read.
func stackSetCommon(cfg map[string]string) []ConfigProblem {
	var out []ConfigProblem
	for _, k := range []string{"FailureTolerancePercentage", "MaxConcurrentPercentage", "FailureToleranceCount", "MaxConcurrentCount"} {
		v, ok := cfg[k]
		if !ok || hasVariables(v) {
			continue
		}
		hi := 100
		if strings.HasSuffix(k, "Count") {
			hi = 1 << 30
		}
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > hi {
			out = append(out, ConfigProblem{Key: k, Msg: fmt.Sprintf("%q is not a whole number from 0 to %d", v, hi)})
		}
	}
	if cfg["FailureTolerancePercentage"] != "" && cfg["FailureToleranceCount"] != "" {
		out = append(out, ConfigProblem{Key: "FailureToleranceCount", Msg: "give FailureTolerancePercentage or FailureToleranceCount, not both"})
	}
	if cfg["MaxConcurrentPercentage"] != "" && cfg["MaxConcurrentCount"] != "" {
		out = append(out, ConfigProblem{Key: "MaxConcurrentCount", Msg: "give MaxConcurrentPercentage or MaxConcurrentCount, not both"})
	}
	if v, ok := cfg["Regions"]; ok && !hasVariables(v) {
		for _, r := range strings.Split(v, ",") {
			if r = strings.TrimSpace(r); !regionName.MatchString(r) {
				out = append(out, ConfigProblem{Key: "Regions", Msg: fmt.Sprintf("%q is not a region name (as in eu-west-1)", r)})
			}
		}
	}
	return out
}

// cloudFormationArtifacts checks that the artifacts a CloudFormation or stack
// set action's configuration reads from are among its input artifacts, and
// that OutputFileName has an output artifact to go in.
func cloudFormationArtifacts(cfg map[string]string, inputs []string, outputs int) []ConfigProblem {
	var out []ConfigProblem
	check := func(key, artifact string) {
		if !slices.Contains(inputs, artifact) {
			have := "it has none"
			if len(inputs) > 0 {
				have = "it has " + strings.Join(inputs, ", ")
			}
			out = append(out, ConfigProblem{Key: key, Msg: fmt.Sprintf("artifact %q is not an input artifact of this action (%s)%s", artifact, have, suggestion(artifact, inputs))})
		}
	}
	for _, k := range []string{"TemplatePath", "TemplateConfiguration", "DeploymentTargets", "Parameters", "ParameterOverrides"} {
		v := cfg[k]
		if hasVariables(v) || strings.HasPrefix(strings.TrimSpace(v), "{") || strings.HasPrefix(strings.TrimSpace(v), "[") {
			continue
		}
		if a, p, ok := strings.Cut(v, "::"); ok && a != "" && p != "" {
			check(k, a)
		}
	}
	// Fn::GetParam and Fn::GetArtifactAtt name artifacts too.
	if v := cfg["ParameterOverrides"]; !hasVariables(v) && strings.HasPrefix(strings.TrimSpace(v), "{") {
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(v), &m) == nil {
			for _, name := range slices.Sorted(maps.Keys(m)) {
				var fn map[string][]string
				if json.Unmarshal(m[name], &fn) != nil {
					continue
				}
				for f, args := range fn {
					if (f == "Fn::GetParam" || f == "Fn::GetArtifactAtt") && len(args) > 0 {
						check("ParameterOverrides", args[0])
					}
				}
			}
		}
	}
	if _, ok := cfg["OutputFileName"]; ok && outputs == 0 {
		out = append(out, ConfigProblem{Key: "OutputFileName", Msg: "the action has no output artifact to write it to"})
	}
	return out
}
