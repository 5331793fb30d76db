package commands

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/process"
	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/sandbox"
)

// Provider is the Compute/Commands action: it runs the action's commands in its
// working directory and zips the declared files of each output artifact.
type Provider struct {
	// Isolation is the worker's sandbox; nil runs the commands unsandboxed.
	Isolation *sandbox.Isolation
}

// ConfigNetwork is the Commands configuration key that takes the network
// from the commands ("false"); the network is on by default.
const ConfigNetwork = pipeline.ConfigNetwork

// Run implements provider.Provider.
func (p Provider) Run(ctx context.Context, job *provider.Job) (provider.Result, error) {
	if err := p.Isolation.Check(); err != nil {
		return provider.Result{}, err
	}
	spec := Spec{
		Dir:             job.WorkDir,
		Commands:        job.Commands,
		Env:             job.Env,
		OutputVariables: job.OutputVariables,
		Log:             job.Log,
		ScratchDir:      job.ScratchDir,
	}
	if p.Isolation.Enabled() {
		root := filepath.Dir(job.WorkDir)
		owned := []string{job.WorkDir, filepath.Join(root, "inputs")}
		network, _ := p.PreparedNetwork(job.Configuration)
		var box *process.JobSandbox
		var err error
		if pb, ok := job.Prepared.(*process.Prepared); ok && pb.Network == network && pb.Root == root && pb.Scratch == job.ScratchDir {
			box, err = pb.Job(owned, job.Env)
		}
		if box == nil {
			// None prepared in this shape, or it failed: start one.
			box, err = process.Sandbox(p.Isolation, root, job.ScratchDir, owned, job.Env, network)
		}
		if err != nil {
			return provider.Result{}, err
		}
		defer box.Close()
		spec.Wrap, spec.User, spec.Env, spec.Prepared = box.Args, box.User, box.Env, box.Prepared
	}
	res, err := Run(ctx, spec)
	if err != nil {
		var f *Failure
		if errors.As(err, &f) {
			return provider.Result{}, err
		}
		if ctx.Err() != nil {
			return provider.Result{}, err
		}
		return provider.Result{}, fmt.Errorf("run commands: %w", err)
	}
	for _, o := range job.Outputs {
		if err := zipOutput(ctx, job.WorkDir, o); err != nil {
			return provider.Result{}, err
		}
	}
	return provider.Result{OutputVariables: res.OutputVariables}, nil
}

// PreparedNetwork says the shape of the sandbox a job of configuration
// runs in, for a worker that prepares it ahead (see process.Prepared):
// whether it has the network. ok is false when the job runs unsandboxed.
func (p Provider) PreparedNetwork(configuration map[string]string) (network, ok bool) {
	return !strings.EqualFold(configuration[ConfigNetwork], "false"), p.Isolation.Enabled()
}

// Prepare starts a sandbox of that shape ahead of its job, with root as the
// job's own directory and scratch as its scratch directory.
func (p Provider) Prepare(root, scratch string, network bool) (*process.Prepared, error) {
	return process.Prepare(p.Isolation, root, scratch, network)
}

func zipOutput(ctx context.Context, dir string, o provider.Output) error {
	f, err := os.Create(o.Path)
	if err != nil {
		return fmt.Errorf("output artifact %s: %w", o.Name, err)
	}
	globs := o.Files
	if len(globs) == 0 {
		globs = []string{"**/*"}
	}
	// Zip never follows a link out of the working directory: a command's
	// `ln -s /etc out/etc` fails the action naming the link.
	if _, err := artifact.Zip(ctx, f, dir, globs); err != nil {
		f.Close()
		// A partial zip left at o.Path would be taken for an artifact.
		os.Remove(o.Path)
		return fmt.Errorf("output artifact %s: %w", o.Name, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(o.Path)
		return fmt.Errorf("output artifact %s: %w", o.Name, err)
	}
	return nil
}
