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
		box, err := process.Sandbox(p.Isolation, root, job.ScratchDir, []string{job.WorkDir, filepath.Join(root, "inputs")}, job.Env,
			!strings.EqualFold(job.Configuration[ConfigNetwork], "false"))
		if err != nil {
			return provider.Result{}, err
		}
		defer box.Close()
		spec.Wrap, spec.User, spec.Env = box.Args, box.User, box.Env
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
