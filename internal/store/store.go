// Package store declares how sluice keeps its state: pipelines and their
// versions, executions, jobs, logs, events, tokens, and named definitions of
// each Kind (webhooks, build projects, functions, rules, secrets).
// Implementations live in sub-packages (sqlite, the embedded default, and
// postgres) and pass the same conformance suite, storetest.
//
// The store knows rows, not rules: execution and job documents are opaque JSON
// that the service encodes, so the schema does not weld itself to the engine's
// types and the engine does not know a database exists.
package store

import (
	"context"
	"errors"
	"time"
)

// MaxLogRead is about how much of a log one Log call returns.
const MaxLogRead = 4 << 20

// ErrNotFound is returned, wrapped, when a row does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned, wrapped, when a conditional write finds the row changed.
var ErrConflict = errors.New("conflict")

// Store is the whole of sluice's state. Every method is safe for concurrent use.
type Store interface {
	// Update runs fn in one write transaction that holds pipeline name's lock: no
	// other Update of the same pipeline runs at the same time, on any replica
	// sharing the store. fn's writes commit together or not at all. A missing
	// pipeline is not an error here; tx.Pipeline reports it.
	// Update of the empty name is UpdateGlobal; call that by its name.
	Update(ctx context.Context, pipeline string, fn func(tx Tx) error) error
	// UpdateGlobal runs fn in one write transaction that belongs to no
	// pipeline, for writes of sluice's own (recording a push's events, a
	// rule's schedule ticks). It holds the global lock: no other UpdateGlobal
	// runs at the same time, on any replica. It does not exclude Updates of
	// pipelines (on SQLite it does, as every write waits for the one writer).
	// The Tx's methods about its pipeline (Pipeline, PutPipeline, NextSeq, …)
	// find no pipeline.
	UpdateGlobal(ctx context.Context, fn func(tx Tx) error) error

	Pipelines(ctx context.Context) ([]Pipeline, error)
	// PipelinePage returns at most limit pipelines whose names sort after
	// after, in name order: one page of a paged listing, read through the
	// primary key's index rather than the whole table. It reads what a list
	// shows, the summary columns (PipelineSummary), not the declaration,
	// transitions or trigger note, which stay nil.
	PipelinePage(ctx context.Context, after string, limit int) ([]Pipeline, error)
	Pipeline(ctx context.Context, name string) (Pipeline, error)
	PipelineVersion(ctx context.Context, name string, version int) (PipelineVersion, error)

	Execution(ctx context.Context, id string) (Execution, error)
	// Executions lists a pipeline's executions, newest first, at most limit of them
	// with a sequence number below before (0: from the newest).
	Executions(ctx context.Context, pipeline string, before int64, limit int) ([]Execution, error)
	// LatestExecutions returns the latest execution of each named pipeline
	// in one query (a page of a list shows them): out[i] is pipelines[i]'s,
	// the zero Execution (ID "") for a pipeline that never ran. What a list
	// shows is in the columns (status, trigger, times); Document is read only
	// of an execution still active, since what it waits for is in there, and
	// is nil for the others.
	LatestExecutions(ctx context.Context, pipelines []string) ([]Execution, error)

	Job(ctx context.Context, id string) (Job, error)
	// ClaimJob gives the worker the oldest queued job whose provider is one of
	// its providers, or ErrNotFound when there is none.
	ClaimJob(ctx context.Context, c ClaimJobParams) (Job, error)
	// Heartbeat extends the lease of a job the worker holds. ErrConflict when the
	// worker no longer holds it (cancelled, timed out, or its lease was given up):
	// the worker must then kill what it runs.
	Heartbeat(ctx context.Context, id, worker string, leaseUntil time.Time) (Job, error)
	// ExpiredJobs lists running jobs whose lease ended before now, and jobs not yet
	// finished whose deadline passed, at most limit of them.
	ExpiredJobs(ctx context.Context, now time.Time, limit int) ([]Job, error)
	// JobsOfAction lists the jobs of one action of one execution, oldest first.
	JobsOfAction(ctx context.Context, executionID, stage, action string) ([]Job, error)

	AppendLog(ctx context.Context, jobID string, data []byte) error
	// Log returns the job's log from byte offset on: at most about MaxLogRead
	// bytes (whole chunks), so that a huge log is read in pieces.
	Log(ctx context.Context, jobID string, offset int64) ([]byte, error)

	Events(ctx context.Context, filter EventFilter) ([]Event, error)
	// PruneEvents deletes up to limit events older than before that every
	// reader of the event log (see Cursor) has passed, and says how many.
	PruneEvents(ctx context.Context, before time.Time, limit int) (int64, error)

	Token(ctx context.Context, hash string) (Token, error)
	PutToken(ctx context.Context, t Token) error
	Tokens(ctx context.Context) ([]Token, error)

	// Console sessions (package ui), by the hash of the cookie's value.
	// PutConsoleSession inserts or replaces; PruneConsoleSessions deletes
	// those last used before idleBefore or created before createdBefore.
	PutConsoleSession(ctx context.Context, cs ConsoleSession) error
	ConsoleSession(ctx context.Context, idHash string) (ConsoleSession, error)
	DeleteConsoleSession(ctx context.Context, idHash string) error
	PruneConsoleSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int, error)

	// PutReport stores a test report of a job, replacing one of the same group.
	PutReport(ctx context.Context, r Report) error
	// Reports lists an execution's reports, oldest first.
	Reports(ctx context.Context, executionID string) ([]Report, error)
	DeleteToken(ctx context.Context, name string) error

	// TriggerState returns the value stored under key, "" when there is none.
	// Keys start with "PIPELINE/", so that deleting a pipeline forgets them.
	TriggerState(ctx context.Context, key string) (string, error)

	// Definition returns the definition of kind called name.
	Definition(ctx context.Context, kind Kind, name string) (Definition, error)
	// Definitions lists the definitions of kind, by name.
	Definitions(ctx context.Context, kind Kind) ([]Definition, error)
	// PutDefinition creates d, or replaces the definition of its kind and name
	// keeping the first creation time, whatever its revision (d.Revision is
	// ignored; Tx.PutDefinition is the conditional write).
	PutDefinition(ctx context.Context, d Definition) error
	// DeleteDefinition deletes the definition of kind called name, ErrNotFound
	// when there is none. What refers to it (a rule's deliveries) stays.
	DeleteDefinition(ctx context.Context, kind Kind, name string) error

	// NextBuildNumber allocates the next number of a build project's builds
	// (CodeBuild's CODEBUILD_BUILD_NUMBER): 1 for its first build, then one
	// more each call, atomically, across replicas and restarts. Deleting
	// and re-creating the project does not start it again.
	NextBuildNumber(ctx context.Context, project string) (int64, error)

	// QueuedJobs lists the queued jobs of providers, oldest first: the actions
	// the server holds itself (gates, approvals, invocations, self-updates)
	// wait there.
	QueuedJobs(ctx context.Context, providers []string) ([]Job, error)

	// Locks lists every lock with its holder and queue.
	Locks(ctx context.Context) ([]Lock, error)

	// Cursor is how far the named reader of the event log got (0 at first);
	// SetCursor moves it.
	Cursor(ctx context.Context, name string) (int64, error)
	SetCursor(ctx context.Context, name string, seq int64, now time.Time) error

	// InsertDelivery records a notification to send; a delivery whose id exists
	// already is left alone, so that replaying what caused it sends nothing twice.
	InsertDelivery(ctx context.Context, d Delivery) error
	// DueDeliveries lists pending deliveries whose next attempt is due.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	// UpdateDelivery records an attempt's outcome.
	UpdateDelivery(ctx context.Context, d Delivery) error
	// Deliveries lists the deliveries of a source (a rule, an approval), newest
	// first; with status set, only those in it (DeliveryFailed: the dead letters).
	Deliveries(ctx context.Context, source string, limit int) ([]Delivery, error)
	DeliveriesIn(ctx context.Context, source, status string, limit int) ([]Delivery, error)
	// PruneDeliveries deletes up to limit delivered deliveries last updated
	// before before, and says how many. Dead letters stay until their
	// source's owner looks at them.
	PruneDeliveries(ctx context.Context, before time.Time, limit int) (int64, error)

	Close() error
}

// ClaimJobParams say who claims a job of which providers, and when.
type ClaimJobParams struct {
	Worker    string
	Providers []string
	// Region is the region the worker is in: only jobs of that region are
	// given to it ("" is the server's home region).
	Region     string
	Now        time.Time // a job held back until after Now is not claimed
	LeaseUntil time.Time // the worker's lease on the job it gets
}

// FinishJobParams say how a job ended.
type FinishJobParams struct {
	ID      string
	Status  JobStatus // a finished one
	Message string
	Now     time.Time
}

// Lock is a stored lock: its holder and queue, a document owned by the service.
type Lock struct {
	Name     string
	Document []byte
	Updated  time.Time
}

// Delivery statuses.
const (
	DeliveryPending   = "Pending"
	DeliveryDelivered = "Delivered"
	DeliveryFailed    = "Failed" // gave up: a dead letter
)

// Delivery is a notification to an outside receiver and how sending it went.
type Delivery struct {
	ID        string
	Kind      string // webhook, email, …
	Source    string // what made it: "approval/JOB", "rule/NAME"
	Target    []byte // JSON owned by the service: where to
	Payload   []byte // what to send
	Status    string
	Attempts  int
	Next      time.Time // when to try next, while Pending
	LastError string
	Created   time.Time
	Updated   time.Time
}

// Tx is a write transaction scoped to one pipeline, or to none; see
// Store.Update and Store.UpdateGlobal.
type Tx interface {
	Pipeline(ctx context.Context) (Pipeline, error) // ErrNotFound if it does not exist
	// PutPipeline creates the pipeline or stores a new version of it.
	PutPipeline(ctx context.Context, p Pipeline) error
	DeletePipeline(ctx context.Context) error
	SetTransitions(ctx context.Context, transitions []byte) error
	SetTriggerNote(ctx context.Context, note []byte) error
	// UseKey records an idempotency key for an execution; fresh is false when the
	// key was used already, and then nothing is written.
	UseKey(ctx context.Context, key, executionID string, now time.Time) (fresh bool, err error)
	SetTriggerState(ctx context.Context, key, value string, now time.Time) error

	// ActiveExecutions lists the executions that are not terminal, oldest first.
	ActiveExecutions(ctx context.Context) ([]Execution, error)
	Execution(ctx context.Context, id string) (Execution, error)
	// NextSeq allocates the next execution sequence number of the pipeline.
	NextSeq(ctx context.Context) (int64, error)
	PutExecution(ctx context.Context, e Execution) error

	Job(ctx context.Context, id string) (Job, error)
	InsertJob(ctx context.Context, j Job) error
	// CancelJob ends a queued or running job as Cancelled; the worker of a running
	// one finds out at its next heartbeat. A finished job is left alone.
	CancelJob(ctx context.Context, id, reason string, now time.Time) error
	// FinishJob records a job's end; it is a no-op for a job already finished.
	FinishJob(ctx context.Context, f FinishJobParams) error
	// ClaimJob is Store.ClaimJob inside the transaction: a worker reporting
	// a result takes its next job in the same commit. The job may be any
	// pipeline's.
	ClaimJob(ctx context.Context, c ClaimJobParams) (Job, error)

	InsertEvent(ctx context.Context, e Event) error
	AppendLog(ctx context.Context, jobID string, data []byte) error

	// Lock returns a lock's document, nil when the lock was never taken.
	Lock(ctx context.Context, name string) ([]byte, error)
	PutLock(ctx context.Context, name string, document []byte, now time.Time) error
	// ParkJob lets go of a running job without ending it: its worker is done
	// with it (a function was invoked and will answer through the API), and only
	// its deadline still applies.
	ParkJob(ctx context.Context, id string) error
	// InsertDelivery is Store.InsertDelivery inside the transaction.
	InsertDelivery(ctx context.Context, d Delivery) error

	// Definition is Store.Definition read inside the transaction: it sees
	// the transaction's own writes.
	Definition(ctx context.Context, kind Kind, name string) (Definition, error)
	// PutDefinition writes d in the transaction, on condition that the
	// stored definition is still the one the write was worked out from
	// (compare-and-swap across replicas): with d.Revision 0 it creates d and
	// fails when the name is taken; with d.Revision N it replaces the
	// definition only while its revision is N (and makes it N+1). Either
	// failure is ErrConflict, and the caller reads again and retries. The
	// first creation time is kept, as by Store.PutDefinition.
	PutDefinition(ctx context.Context, d Definition) error
}

// Pipeline is a stored pipeline: its current version's declaration in canonical JSON.
type Pipeline struct {
	Name        string
	Version     int
	Declaration []byte // canonical JSON of the current version
	Transitions []byte // JSON owned by the service: disabled inbound transitions
	TriggerNote []byte // JSON owned by the service: what the last trigger did
	Created     time.Time
	Updated     time.Time
	PipelineSummary
}

// PipelineSummary is what a list of pipelines shows of a declaration, kept
// in columns beside it by the service (the store does not read
// declarations), so that a page of a list decodes none.
type PipelineSummary struct {
	ExecutionMode string
	PipelineType  string
	Stages        int // how many
}

// PipelineVersion is one version of a pipeline's declaration.
type PipelineVersion struct {
	Name        string
	Version     int
	Declaration []byte
	Created     time.Time
}

// Execution is a stored execution: a few columns for queries, the rest a document.
type Execution struct {
	ID       string
	Pipeline string
	Seq      int64
	Status   string
	Active   bool // not terminal: loaded with every decision on its pipeline
	// TriggerType and TriggerDetail are what started it, as its document
	// says: a list shows them without reading the document.
	TriggerType   string
	TriggerDetail string
	Document      []byte
	Started       time.Time
	Updated       time.Time
}

// JobStatus is where a job is in its life.
type JobStatus string

const (
	JobQueued     JobStatus = "Queued"
	JobInProgress JobStatus = "InProgress"
	JobSucceeded  JobStatus = "Succeeded"
	JobFailed     JobStatus = "Failed"
	JobCancelled  JobStatus = "Cancelled"
	JobLost       JobStatus = "Lost"
	JobTimedOut   JobStatus = "TimedOut"
)

// Finished reports whether a job in s will not run again.
func (s JobStatus) Finished() bool {
	return s != JobQueued && s != JobInProgress
}

// Job is a stored job.
type Job struct {
	ID           string
	ExecutionID  string
	Pipeline     string
	Stage        string
	Action       string
	Attempt      int
	Provider     string
	Payload      []byte // JSON owned by the service
	Status       JobStatus
	Worker       string
	LeaseUntil   time.Time
	Deadline     time.Time
	CancelReason string
	Message      string
	Created      time.Time
	Claimed      time.Time
	Finished     time.Time
	// NotBefore holds a queued job back from workers until then.
	NotBefore time.Time
	// Region is the region whose workers alone may claim the job ("": the
	// server's home region).
	Region string
}

// Event is a stored event; Seq orders all events.
type Event struct {
	Seq         int64
	Time        time.Time
	Type        string
	Pipeline    string
	ExecutionID string
	Document    []byte
}

// EventFilter selects events; zero fields select everything.
type EventFilter struct {
	Pipeline string
	Type     string
	// Types, when not empty, selects the events of these types alone (the
	// event log's followers pass over what they never act on unread).
	Types    []string
	AfterSeq int64
	// UpToSeq, when above 0, selects the events with a Seq no greater.
	UpToSeq int64
	Since   time.Time
	Limit   int
	// Newest takes the last Limit events that match instead of the first;
	// they are still returned oldest first.
	Newest bool
}

// Report is a test report of one report group of one job.
type Report struct {
	JobID       string
	Group       string
	ExecutionID string
	Stage       string
	Action      string
	Document    []byte // JSON owned by the service
	Created     time.Time
}

// ConsoleSession is one signed-in browser of the web console: it names the
// token it signed in with by the token's hash, never the token.
type ConsoleSession struct {
	IDHash    string
	TokenHash string
	Name      string // the token's name when the session began
	CSRF      string // the synchronizer token the session's forms carry
	Flash     string // a message to show once, on the next page
	Created   time.Time
	LastUsed  time.Time
}

// Token is an API credential; only a hash of the secret is stored.
type Token struct {
	Name string
	Hash string
	// Policy names the token's policy: a ready-made one, whose definition
	// is sluice's (PolicyDocument empty), or the file a document came from.
	Policy string
	// PolicyDocument is the policy as JSON, when it is not a ready-made one.
	PolicyDocument string
	Created        time.Time
	// Expires is when the token stops working; zero for never.
	Expires time.Time
}

// InOrder puts rows, the latest executions of some of names (one a
// pipeline), at their pipelines' places in a slice as long as names, for
// LatestExecutions' implementations; a pipeline without a row gets the zero
// Execution.
func InOrder(names []string, rows []Execution) []Execution {
	out := make([]Execution, len(names))
	by := make(map[string]Execution, len(rows))
	for _, r := range rows {
		by[r.Pipeline] = r
	}
	for i, n := range names {
		out[i] = by[n]
	}
	return out
}
