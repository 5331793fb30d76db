package pipeline

import "fmt"

// ConfigNetwork is the Commands configuration key that turns the network off
// in the action's sandbox ("false"); it is on by default.
const ConfigNetwork = "Network"

// commandsConfig checks a Commands action's configuration: only its Network
// value, since the keys CodePipeline may add are passed through.
func commandsConfig(cfg map[string]string) []ConfigProblem {
	if v, ok := cfg[ConfigNetwork]; ok && !hasVariables(v) && v != "true" && v != "false" {
		return []ConfigProblem{{Key: ConfigNetwork, Msg: fmt.Sprintf("%q is not true or false", v)}}
	}
	return nil
}
