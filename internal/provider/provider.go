// Package provider declares what a worker hands to the provider that runs an
// action, and what it gets back. Providers live in sub-packages, one each, and
// know nothing of the engine, the store or the API.
package provider

import (
	"context"
	"io"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/hostconn"
	"github.com/sluice-ci/sluice/internal/report"
)

// Job is one attempt of one action, prepared by the worker: input artifacts are
// extracted, variables resolved, and the places for outputs chosen.
type Job struct {
	ID          string
	Pipeline    string
	ExecutionID string
	Stage       string
	Action      string
	Attempt     int
	Provider    string

	Configuration map[string]string
	// Revision is the source revision a Source action must produce (a commit
	// id), or "" for the head of its branch.
	Revision string
	// Project is the build project a Build action names, as the server sent it
	// (JSON), or nil.
	Project   []byte
	Commands  []string
	Variables map[string]string // the execution's pipeline variables
	// OutputVariables are the names the action declares it exports.
	OutputVariables []string

	// WorkDir is the job's private working directory. The first input artifact is
	// extracted into it; the others into the directories of InputDirs.
	WorkDir   string
	InputDirs map[string]string
	// Inputs lists the input artifact names in declared order.
	Inputs []string
	// Outputs are the artifacts to produce: the provider writes each as a zip file
	// at its Path, which the worker then uploads.
	Outputs []Output
	// ScratchDir is an empty private directory, outside WorkDir, for the
	// provider's own small files; it may be on a memory file system.
	ScratchDir string
	// Prepared, when set, is the sandbox the worker started ahead of the
	// job (a *process.Prepared) in the shape the provider asked for, with
	// WorkDir's parent as its root and ScratchDir as its scratch directory:
	// a provider runs the job's code in it in place of starting a sandbox.
	// The worker ends it after the job, used or not.
	Prepared any
	// LoadCache opens the build cache kept for the job's project (a zip), or
	// returns an error wrapping fs.ErrNotExist when there is none; SaveCache
	// replaces it. Both are nil for jobs without a cache.
	LoadCache func(ctx context.Context) (io.ReadCloser, error)
	SaveCache func(ctx context.Context, zip io.Reader) error
	// Report keeps a test report of the job under a report group's name.
	Report func(ctx context.Context, group string, r *report.Report) error
	// Secret reads a secret the job's configuration names (CredentialsSecret);
	// any other is refused by the server.
	Secret func(ctx context.Context, name string) ([]byte, error)
	// Function is the function definition a Function (Lambda) action names,
	// as the server sent it (JSON), or nil. JobToken lets the function answer
	// for this job alone (a secret: never to be logged); ContinuationToken is
	// what its previous invocation asked to be given back; ServerURL is where
	// the function calls the server.
	Function          []byte
	JobToken          string
	ContinuationToken string
	ServerURL         string
	// AWS returns the named aws connection (the action's `Connection`
	// configuration), with credentials that reach only this worker; it is
	// nil where no connection can be had.
	AWS func(ctx context.Context, connection string) (*awsconn.Conn, error)
	// GitHost returns the git host connection a connection source action
	// (CodeStarSourceConnection, CodeConnections, GitHub) reads its
	// repository through, with its token, which reaches only this worker
	// and is masked in the log; the server resolves it from the job's own
	// configuration. Nil where the worker cannot ask.
	GitHost func(ctx context.Context) (hostconn.Settings, error)
	// Deployments creates and follows a CodeDeploy action's deployment; nil
	// for other actions, or where the worker cannot ask.
	Deployments Deployments
	// Env is the base environment for processes the provider starts.
	Env []string
	// Region is the name of the region the job runs in (the server's).
	Region string
	// BuildNumber is a Build action's number among its project's builds
	// (CODEBUILD_BUILD_NUMBER), or 0 when the server gave none.
	BuildNumber int64
	// Log receives the action's log. Writes are serialised by the provider.
	Log io.Writer
}

// Output is an artifact a job must produce.
type Output struct {
	Name  string
	Files []string // globs, relative to WorkDir, where the action declares them
	Path  string   // where to write the zip
}

// Result is a successful run's outcome.
type Result struct {
	Summary         string
	OutputVariables map[string]string
	// Invoked means a function was started and will answer for the job
	// itself (success, failure or a continuation) through the API: the
	// worker lets go of the job without ending the action, and uploads no
	// outputs (the function does).
	Invoked bool
	// KeptOutputs, with an error from Run, names outputs written completely
	// although the action failed (a build whose upload phase ran after its
	// build phase failed, as CodeBuild does). The worker uploads them with
	// the failure, marked as from a failed attempt; no later action gets them.
	KeptOutputs []string
}

// Provider runs actions of one kind. Run returns an error when the action failed;
// its message becomes the action's summary, so it must say what went wrong in the
// user's terms. When ctx ends (stop, abandon, timeout), Run must stop everything
// it started before returning.
type Provider interface {
	Run(ctx context.Context, job *Job) (Result, error)
}

// Func adapts a function to Provider.
type Func func(ctx context.Context, job *Job) (Result, error)

// Run implements Provider.
func (f Func) Run(ctx context.Context, job *Job) (Result, error) { return f(ctx, job) }
