// Package noop is the Noop provider: an action that succeeds at once. It stands in
// for real work in examples and benchmarks, where the engine's own cost is measured.
package noop

import (
	"archive/zip"
	"context"
	"fmt"
	"os"

	"github.com/sluice-ci/sluice/internal/provider"
)

// Provider is the Noop provider.
type Provider struct{}

// Run implements provider.Provider: it writes an empty zip for every output.
func (Provider) Run(ctx context.Context, job *provider.Job) (provider.Result, error) {
	for _, o := range job.Outputs {
		f, err := os.Create(o.Path)
		if err != nil {
			return provider.Result{}, fmt.Errorf("create artifact %s: %w", o.Name, err)
		}
		if err := zip.NewWriter(f).Close(); err != nil {
			f.Close()
			return provider.Result{}, fmt.Errorf("write artifact %s: %w", o.Name, err)
		}
		if err := f.Close(); err != nil {
			return provider.Result{}, fmt.Errorf("write artifact %s: %w", o.Name, err)
		}
	}
	return provider.Result{}, nil
}
