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
	// Watches lists what its deployments watch when alarmConfiguration is
	// enabled: "alarm NAME" and "rule NAME" (its type and configuration).
	Watches         []string  `json:"watches,omitempty"`
	AlarmConnection string    `json:"alarmConnection,omitempty"`
	Created         time.Time `json:"created"`
	Updated         time.Time `json:"updated"`
}

// DeployGroupApplyResult says what applying a deployment group did.
type DeployGroupApplyResult struct {
	Created bool        `json:"created"`
	Changed bool        `json:"changed"`
	Group   DeployGroup `json:"deploymentGroup"`
}

// Deployment is a deployment to a group: its hosts and their events.
type Deployment struct {
	ID          string           `json:"deploymentId"`
	Application string           `json:"applicationName"`
	Group       string           `json:"deploymentGroupName"`
	Config      string           `json:"deploymentConfigName"`
	Status      string           `json:"status"`
	Message     string           `json:"message,omitempty"`
	SHA256      string           `json:"revisionSha256"`
	RollbackOf  string           `json:"rollbackOf,omitempty"`
	RolledBack  string           `json:"rollbackDeploymentId,omitempty"`
	Creator     string           `json:"creator,omitempty"`
	Batch       int              `json:"batchSize"`
	MinHealthy  int              `json:"minimumHealthyHosts"`
	Hosts       []DeploymentHost `json:"hosts"`
	Created     time.Time        `json:"created"`
	Updated     time.Time        `json:"updated"`
}

// DeploymentHost is a deployment on one agent.
type DeploymentHost struct {
	Agent    string      `json:"agent"`
	Status   string      `json:"status"`
	Message  string      `json:"message,omitempty"`
	Started  *time.Time  `json:"started,omitempty"`
	Finished *time.Time  `json:"finished,omitempty"`
	Events   []HostEvent `json:"events,omitempty"`
}

// HostEvent is how one lifecycle event went on a host, with its log.
type HostEvent struct {
	Event      string `json:"event"`
	Status     string `json:"status"`
	DurationMS int64  `json:"durationMs"`
	HookMS     int64  `json:"hookMs"`
	Message    string `json:"message,omitempty"`
	Log        string `json:"log,omitempty"`
}

// AgentClaim is what an agent asks for work with: who it is.
type AgentClaim struct {
	Group       string            `json:"group"`
	Tags        map[string]string `json:"tags,omitempty"`
	WaitSeconds int               `json:"waitSeconds"`
}

// AgentRegistration is an agent's group and tags as an admin sets them.
type AgentRegistration struct {
	Group string            `json:"group"`
	Tags  map[string]string `json:"tags,omitempty"`
}

// HostTask is a host deployment handed to an agent.
type HostTask struct {
	DeploymentID     string    `json:"deploymentId"`
	Application      string    `json:"applicationName"`
	Group            string    `json:"deploymentGroupName"`
	GroupID          string    `json:"deploymentGroupId"`
	Traffic          bool      `json:"shiftsTraffic,omitempty"`
	SHA256           string    `json:"revisionSha256"`
	LeaseUntil       time.Time `json:"leaseUntil"`
	HeartbeatSeconds float64   `json:"heartbeatSeconds"`
}

// HostResult is how a host deployment went, or (Heartbeat) that it goes on.
type HostResult struct {
	Heartbeat bool        `json:"heartbeat,omitempty"`
	Succeeded bool        `json:"succeeded"`
	Message   string      `json:"message,omitempty"`
	Events    []HostEvent `json:"events,omitempty"`
}

// Agent is a registered deployment agent.
type Agent struct {
	ID       string            `json:"id"`
	Group    string            `json:"group"`
	Tags     map[string]string `json:"tags,omitempty"`
	LastSeen time.Time         `json:"lastSeen"`
}
