package pipeline

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Configuration keys and values of the providers that wait on other things:
// other pipelines, people and functions.
const (
	ConfigPipelineName = "PipelineName"

	// PipelineGate
	GateIdle             = "Idle"      // the upstream has no execution in progress
	GateSucceeded        = "Succeeded" // … and its latest finished execution succeeded
	UpstreamFailureFail  = "FAIL"
	UpstreamFailureWait  = "WAIT"
	DefaultGateCondition = GateSucceeded
)

var (
	manualKeys   = []string{"CustomData", "ExternalEntityLink", "NotificationArn", "NotificationTarget", "NotificationSecret"}
	gateKeys     = []string{ConfigPipelineName, "Condition", "OnUpstreamFailure"}
	invokeKeys   = []string{ConfigPipelineName, "Variables", "SourceRevisions"}
	functionKeys = []string{"FunctionName", "UserParameters", "ContinuationIntervalSeconds", ConfigConnection}
	updateKeys   = []string{"DefinitionPath"}
)

// unknownKeys reports the keys of cfg not in known. Variables are resolved
// only at run time, so values are checked only when they hold no #{...}.
func unknownKeys(cfg map[string]string, known []string) []ConfigProblem {
	var out []ConfigProblem
	for _, k := range sortedKeys(cfg) {
		if !slices.Contains(known, k) {
			out = append(out, ConfigProblem{Key: k, Msg: fmt.Sprintf("unknown configuration key (this provider reads %s)", strings.Join(known, ", "))})
		}
	}
	return out
}

func hasVariables(s string) bool { return strings.Contains(s, "#{") }

func manualConfig(cfg map[string]string) []ConfigProblem {
	out := unknownKeys(cfg, manualKeys)
	if t := cfg["NotificationTarget"]; t != "" && !hasVariables(t) {
		if _, err := ParseNotificationTargets(t); err != nil {
			out = append(out, ConfigProblem{Key: "NotificationTarget", Msg: err.Error()})
		}
	}
	return out
}

func gateConfig(cfg map[string]string) []ConfigProblem {
	out := unknownKeys(cfg, gateKeys)
	if c, ok := cfg["Condition"]; ok && !hasVariables(c) && c != GateIdle && c != GateSucceeded {
		out = append(out, ConfigProblem{Key: "Condition", Msg: fmt.Sprintf("%q is not a condition (want %s or %s)", c, GateIdle, GateSucceeded)})
	}
	if f, ok := cfg["OnUpstreamFailure"]; ok && !hasVariables(f) && f != UpstreamFailureFail && f != UpstreamFailureWait {
		out = append(out, ConfigProblem{Key: "OnUpstreamFailure", Msg: fmt.Sprintf("%q is not an answer (want %s or %s)", f, UpstreamFailureFail, UpstreamFailureWait)})
	}
	return out
}

func invokeConfig(cfg map[string]string) []ConfigProblem {
	out := unknownKeys(cfg, invokeKeys)
	for _, k := range []string{"Variables", "SourceRevisions"} {
		if v, ok := cfg[k]; ok {
			if _, err := ParseStringMap(v); err != nil {
				out = append(out, ConfigProblem{Key: k, Msg: err.Error()})
			}
		}
	}
	return out
}

func functionConfig(cfg map[string]string) []ConfigProblem {
	out := unknownKeys(cfg, functionKeys)
	if v, ok := cfg["ContinuationIntervalSeconds"]; ok && !hasVariables(v) {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 3600 {
			out = append(out, ConfigProblem{Key: "ContinuationIntervalSeconds", Msg: fmt.Sprintf("%q is not a whole number of seconds from 1 to 3600", v)})
		}
	}
	return out
}

func updateConfig(cfg map[string]string) []ConfigProblem {
	out := unknownKeys(cfg, updateKeys)
	if p := cfg["DefinitionPath"]; p == "" || strings.HasPrefix(p, "/") || slices.Contains(strings.Split(p, "/"), "..") {
		out = append(out, ConfigProblem{Key: "DefinitionPath", Msg: fmt.Sprintf("%q must be a relative path inside the input artifact", p)})
	}
	return out
}

// ParseStringMap reads a JSON object of strings, as an invoke action's
// Variables are written: {"region": "eu-west-1", "tag": "#{Build.Tag}"}.
func ParseStringMap(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return map[string]string{}, nil
	}
	m := map[string]string{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("must be a JSON object of strings, as in {\"name\": \"value\"}: %v", err)
	}
	return m, nil
}

// NotificationTarget is one receiver of an approval's notification.
type NotificationTarget struct {
	Webhook string // an http(s) URL
	Email   string // an address
}

// ParseNotificationTargets reads a Manual action's NotificationTarget: targets
// separated by commas, each a webhook URL (http:// or https://) or an email
// address (optionally written mailto:ADDRESS).
func ParseNotificationTargets(s string) ([]NotificationTarget, error) {
	var out []NotificationTarget
	for _, part := range strings.Split(s, ",") {
		t := strings.TrimSpace(part)
		switch {
		case t == "":
			continue
		case strings.HasPrefix(t, "http://") || strings.HasPrefix(t, "https://"):
			out = append(out, NotificationTarget{Webhook: t})
		case strings.Contains(strings.TrimPrefix(t, "mailto:"), "@"):
			out = append(out, NotificationTarget{Email: strings.TrimPrefix(t, "mailto:")})
		default:
			return nil, fmt.Errorf("%q is neither a webhook URL (http:// or https://) nor an email address", t)
		}
	}
	return out, nil
}
