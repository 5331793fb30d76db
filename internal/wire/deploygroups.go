package wire

import "time"

// DeployGroup is a deployment group as the API shows it.
type DeployGroup struct {
	Application         string            `json:"applicationName"`
	Name                string            `json:"deploymentGroupName"`
	AgentGroup          string            `json:"agentGroup"`
	Tags                map[string]string `json:"tags,omitempty"`
	Config              string            `json:"deploymentConfigName"`
	MinimumHealthyType  string            `json:"minimumHealthyHostsType,omitempty"`
	MinimumHealthyValue int               `json:"minimumHealthyHostsValue,omitempty"`
	AutoRollback        bool              `json:"autoRollback"`
	RollbackEvents      []string          `json:"autoRollbackEvents,omitempty"`
	ShiftsTraffic       bool              `json:"shiftsTraffic,omitempty"`
	Created             time.Time         `json:"created"`
	Updated             time.Time         `json:"updated"`
}

// DeployGroupApplyResult says what applying a deployment group did.
type DeployGroupApplyResult struct {
	Created bool        `json:"created"`
	Changed bool        `json:"changed"`
	Group   DeployGroup `json:"deploymentGroup"`
}
