package store

import (
	"errors"
	"time"
)

// Kind names a kind of definition: a document kept under a name, created,
// replaced and deleted whole by the service. Each kind has its own table in
// each store and its own namespace of names.
type Kind string

// The kinds of definitions.
const (
	KindWebhook  Kind = "webhook"
	KindProject  Kind = "project" // a build project (CodeBuild's)
	KindFunction Kind = "function"
	KindRule     Kind = "rule"   // an event rule; its deliveries outlive it
	KindSecret   Kind = "secret" // Document is ciphertext: the service encrypts and decrypts
	KindPolicy   Kind = "policy" // a named policy, usable as a pipeline's or project's role
	// KindConnection is a connection to another system (an aws account);
	// its credentials stay in a secret it names, never in the document.
	KindConnection Kind = "connection"
	// KindAccessKey is an AWS access key of a token, named by its id; its
	// Document holds the token it belongs to and its secret, sealed by the
	// service (the secret must be read back to check a SigV4 signature).
	KindAccessKey Kind = "accesskey"
	// KindActionType is a custom action type (CreateCustomActionType),
	// named CATEGORY/PROVIDER/VERSION.
	KindActionType Kind = "actiontype"
	// KindSSHKey is a user's SSH public key for git over SSH, named by its
	// owner's choice; the document names the principal it stands for.
	KindSSHKey Kind = "sshkey"
	// KindTags are the tags of a resource (TagResource), named by its ARN:
	// a JSON object of key → value.
	KindTags Kind = "tags"
	// KindDeployGroup is a deployment group of an application (CodeDeploy's),
	// named APPLICATION/GROUP.
	KindDeployGroup Kind = "deploygroup"
	// KindDeployment is one deployment to a deployment group, named by its
	// id: its revision, its hosts' status and their hooks' logs, rewritten
	// whole as it goes.
	KindDeployment Kind = "deployment"
	// KindDeployAgent is a registered `sluice agent`, named by its id: its
	// group, tags and when it last asked for work.
	KindDeployAgent Kind = "deployagent"
	// KindPullRequest is a pull request of a hosted repository, named
	// REPOSITORY/ID: its comments, approvals and approval rules with it.
	KindPullRequest Kind = "pullrequest"
	// KindApprovalRuleTemplate is an approval rule template (CodeCommit's),
	// with the repositories it is associated with.
	KindApprovalRuleTemplate Kind = "approvalruletemplate"
)

// Kinds lists every kind of definition.
var Kinds = []Kind{KindWebhook, KindProject, KindFunction, KindRule, KindSecret, KindPolicy, KindConnection, KindAccessKey, KindActionType, KindSSHKey, KindTags, KindDeployGroup, KindDeployment, KindDeployAgent, KindPullRequest, KindApprovalRuleTemplate}

// ErrUnknownKind is returned, wrapped, for a Kind that is not one of Kinds:
// a bug of the caller, never input.
var ErrUnknownKind = errors.New("unknown definition kind")

// Definition is a stored definition of one kind.
type Definition struct {
	Kind     Kind
	Name     string
	Document []byte // owned by the service: JSON, or ciphertext for KindSecret
	// Created is when the definition was first put: PutDefinition keeps the
	// stored value when it replaces a definition.
	Created time.Time
	Updated time.Time
	// CreatedSeq, for rules only, is the Seq of the last event written when
	// the rule was created: the rule sees the events after it, whatever the
	// clocks of the replicas say. PutDefinition sets it when it creates the
	// rule, in the same statement, and a replacement keeps it; the value
	// given to PutDefinition is ignored. Other kinds carry 0.
	CreatedSeq int64
	// Revision counts the writes of the definition: 1 when it is created,
	// one more with each replacement, whichever replica makes it. Reads
	// return it; Store.PutDefinition ignores the value given and
	// Tx.PutDefinition takes it as the revision the write was worked out
	// from (compare-and-swap; see there).
	Revision int64
}
