package wire

import (
	"time"
)

// Function is a function as the API shows it: what the Function (Lambda)
// invoke action runs.
type Function struct {
	Name             string            `json:"name"`
	Command          []string          `json:"command,omitempty"`
	URL              string            `json:"url,omitempty"`
	Environment      map[string]string `json:"environment,omitempty"`
	WorkingDirectory string            `json:"workingDirectory,omitempty"`
	TimeoutInMinutes int               `json:"timeoutInMinutes"`
	Role             string            `json:"role,omitempty"`
	Created          time.Time         `json:"created"`
	Updated          time.Time         `json:"updated"`
}

// FunctionApplyResult says what applying a function did.
type FunctionApplyResult struct {
	Name     string   `json:"name"`
	Created  bool     `json:"created"`
	Changed  bool     `json:"changed"`
	Function Function `json:"function"`
}

// AWSCredentials are a function invocation's credentials for the
// AWS-compatible endpoint, and the region it answers for; no key when the
// function gets none.
type AWSCredentials struct {
	AccessKeyID     string `json:"accessKeyId,omitempty"`
	SecretAccessKey string `json:"secretAccessKey,omitempty"`
	Region          string `json:"region"`
}
