package pipeline

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// The configuration keys of the ECS, ElasticBeanstalk and StepFunctions
// providers: CodePipeline's, and the connection.
var (
	ecsKeys           = []string{"ClusterName", "ServiceName", "FileName", "DeploymentTimeout", ConfigConnection}
	beanstalkKeys     = []string{"ApplicationName", "EnvironmentName", ConfigConnection}
	stepFunctionsKeys = []string{"StateMachineArn", "ExecutionNamePrefix", "InputType", "Input", ConfigConnection}
)

// strictKeys reports the keys of cfg not in known, suggesting the nearest
// known one: these providers call AWS with what they are given, so a
// misspelt key would otherwise be dropped without a word.
func strictKeys(cfg map[string]string, known []string) []ConfigProblem {
	var out []ConfigProblem
	for _, k := range sortedKeys(cfg) {
		if slices.Contains(known, k) {
			continue
		}
		msg := fmt.Sprintf("unknown configuration key (this provider reads %s)", strings.Join(known, ", "))
		if s := yamlnode.Suggest(k, known); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		out = append(out, ConfigProblem{Key: k, Msg: msg})
	}
	return out
}

// inputFilePath checks a value naming a file in the input artifact.
func inputFilePath(key, p string) []ConfigProblem {
	if hasVariables(p) {
		return nil
	}
	if p == "" || strings.HasPrefix(p, "/") || slices.Contains(strings.Split(p, "/"), "..") {
		return []ConfigProblem{{Key: key, Msg: fmt.Sprintf("%q must be a relative path inside the input artifact", p)}}
	}
	return nil
}

func ecsConfig(cfg map[string]string) []ConfigProblem {
	out := strictKeys(cfg, ecsKeys)
	if f, ok := cfg["FileName"]; ok {
		out = append(out, inputFilePath("FileName", f)...)
	}
	// CodePipeline's DeploymentTimeout: minutes, 1 to 60.
	if v, ok := cfg["DeploymentTimeout"]; ok && !hasVariables(v) {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 60 {
			out = append(out, ConfigProblem{Key: "DeploymentTimeout", Msg: fmt.Sprintf("%q is not a whole number of minutes from 1 to 60", v)})
		}
	}
	return out
}

func beanstalkConfig(cfg map[string]string) []ConfigProblem {
	return strictKeys(cfg, beanstalkKeys)
}

// executionPrefix is what an execution name may hold (express state
// machines allow no more); the prefix leaves room in Step Functions' 80
// characters for the hyphen and the action execution's id.
var executionPrefix = lazyregexp.New(`^[0-9A-Za-z_-]{1,40}$`)

func stepFunctionsConfig(cfg map[string]string) []ConfigProblem {
	out := strictKeys(cfg, stepFunctionsKeys)
	if p, ok := cfg["ExecutionNamePrefix"]; ok && !hasVariables(p) && !executionPrefix.MatchString(p) {
		out = append(out, ConfigProblem{Key: "ExecutionNamePrefix", Msg: fmt.Sprintf("%q is not 1 to 40 of the characters 0-9, A-Z, a-z, - and _", p)})
	}
	in, hasInput := cfg["Input"]
	switch t := cfg["InputType"]; {
	case hasVariables(t):
	case t == "" || t == "Literal":
		if hasInput && strings.TrimSpace(in) != "" && !hasVariables(in) && !json.Valid([]byte(in)) {
			out = append(out, ConfigProblem{Key: "Input", Msg: "is not JSON (with InputType Literal it is the execution's input)"})
		}
	case t == "FilePath":
		out = append(out, inputFilePath("Input", in)...)
	default:
		msg := fmt.Sprintf("%q is not an input type (want Literal or FilePath)", t)
		if s := yamlnode.Suggest(t, []string{"Literal", "FilePath"}); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		out = append(out, ConfigProblem{Key: "InputType", Msg: msg})
	}
	return out
}
