package wire

import (
	"time"
)

// Project is a build project as the API shows it.
type Project struct {
	Name                 string                `json:"name"`
	Description          string                `json:"description,omitempty"`
	Buildspec            string                `json:"buildspec"`
	EnvironmentVariables []EnvironmentVariable `json:"environmentVariables"`
	TimeoutInMinutes     int                   `json:"timeoutInMinutes"`
	Isolation            string                `json:"isolation"`
	Network              bool                  `json:"network"`
	// ServiceRole is the policy the project's builds run with (see
	// docs/permissions.md); Connection the aws connection its builds read
	// AWS secrets through.
	ServiceRole string    `json:"serviceRole,omitempty"`
	Connection  string    `json:"connection,omitempty"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

// EnvironmentVariable is one of a project's variables; for PARAMETER_STORE and
// SECRETS_MANAGER, Value is the secret's name, not its value.
type EnvironmentVariable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Type  string `json:"type"`
}
