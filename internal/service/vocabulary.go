package service

import (
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/store"
)

// The names below are what the service's callers (the API, the console) read
// and pass. They are the engine's and the store's types today, named here so
// that a protocol front imports the service alone and the layering test
// (internal/arch) holds; a front that needs a type not listed adds it here.
type (
	// Execution is one run of a pipeline, as StartExecution and Execution return it.
	Execution = engine.Execution
	// ActionExecution is one action of an execution.
	ActionExecution = engine.Action
	// Trigger says what started an execution.
	Trigger = engine.Trigger
	// ConditionState is the evaluation of a stage's conditions.
	ConditionState = engine.ConditionState
	// EventFilter selects events for Events and WaitEvents.
	EventFilter = store.EventFilter
	// Token is a stored API token (its hash, never the token).
	Token = store.Token
)

// ActionInProgress is the status of an action that runs or waits.
const ActionInProgress = engine.ActionInProgress

// ActionNotStarted and ActionFailed are the statuses of an action not yet
// run in an execution, and of one that failed.
const (
	ActionNotStarted = engine.ActionNotStarted
	ActionFailed     = engine.ActionFailed
)

// ErrNotFound is what a lookup returns when the thing is not there.
var ErrNotFound = store.ErrNotFound
