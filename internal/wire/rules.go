package wire

import (
	"encoding/json"
	"time"
)

// Rule is an event rule as the API shows it.
type Rule struct {
	Name               string          `json:"name"`
	Description        string          `json:"description,omitempty"`
	EventPattern       json.RawMessage `json:"eventPattern,omitempty"`
	ScheduleExpression string          `json:"scheduleExpression,omitempty"`
	State              string          `json:"state"` // ENABLED or DISABLED
	Targets            []RuleTarget    `json:"targets"`
	ARN                string          `json:"arn"`
	Created            time.Time       `json:"created"`
	Updated            time.Time       `json:"updated"`
}

// RuleTarget is one target of a rule: exactly one field is set.
type RuleTarget struct {
	// ID, Input and InputPath are EventBridge's (set through the
	// AWS-compatible endpoint's PutTargets).
	ID        string `json:"id,omitempty"`
	Input     string `json:"input,omitempty"`
	InputPath string `json:"inputPath,omitempty"`

	Webhook  *RuleWebhook  `json:"webhook,omitempty"`
	Pipeline *RulePipeline `json:"pipeline,omitempty"`
	Function *RuleFunction `json:"function,omitempty"`
	Email    *RuleEmail    `json:"email,omitempty"`
}

// InputTransformer shapes what a target receives, as EventBridge's does.
type InputTransformer struct {
	InputPathsMap map[string]string `json:"inputPathsMap,omitempty"`
	InputTemplate string            `json:"inputTemplate"`
}

// RuleWebhook POSTs to a URL, signed with a sluice secret when one is named.
type RuleWebhook struct {
	URL              string            `json:"url"`
	Secret           string            `json:"secret,omitempty"`
	Headers          map[string]string `json:"headers,omitempty"`
	InputTransformer *InputTransformer `json:"inputTransformer,omitempty"`
	RetryFor         string            `json:"retryFor,omitempty"`
}

// RulePipeline starts a pipeline with variables from the event.
type RulePipeline struct {
	Name      string            `json:"name"`
	Variables map[string]string `json:"variables,omitempty"`
	RetryFor  string            `json:"retryFor,omitempty"`
}

// RuleFunction invokes a function with the event as its input.
type RuleFunction struct {
	Name             string            `json:"name"`
	InputTransformer *InputTransformer `json:"inputTransformer,omitempty"`
	RetryFor         string            `json:"retryFor,omitempty"`
}

// RuleEmail mails the event.
type RuleEmail struct {
	To               []string          `json:"to"`
	InputTransformer *InputTransformer `json:"inputTransformer,omitempty"`
	RetryFor         string            `json:"retryFor,omitempty"`
}

// RuleApplyResult says what applying a rule did.
type RuleApplyResult struct {
	Name    string `json:"name"`
	Created bool   `json:"created"`
	Changed bool   `json:"changed"`
	Rule    Rule   `json:"rule"`
}

// RuleDelivery is one delivery of a rule to one of its targets.
type RuleDelivery struct {
	ID        string    `json:"id"` // rule/RULE/EVENTSEQ/TARGET
	Kind      string    `json:"kind"`
	Target    string    `json:"target"` // where to, in a few words
	EventID   string    `json:"eventId,omitempty"`
	Status    string    `json:"status"` // Pending, Delivered, Failed
	Attempts  int       `json:"attempts"`
	LastError string    `json:"lastError,omitempty"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
}

// CommitStatus is a commit status an execution set (or tried to set) on its
// git host, and how sending it went.
type CommitStatus struct {
	Connection  string    `json:"connection"`
	Repository  string    `json:"repository"`
	Commit      string    `json:"commit"`
	State       string    `json:"state"` // pending, success, failure, error, stopped
	Context     string    `json:"context"`
	Description string    `json:"description"`
	TargetURL   string    `json:"targetUrl"`
	Delivery    string    `json:"delivery"` // Pending, Delivered, Failed
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"lastError,omitempty"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}
