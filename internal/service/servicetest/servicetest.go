// Package servicetest holds what the tests of the service and of the packages
// built on it (event, trigger) share: a clock moved by hand, a real SQLite
// store and disk artifact store in a test's temporary directory, and
// applying a pipeline from its YAML.
package servicetest

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/store/sqlite"
)

// Clock is a clock a test moves by hand; give its Now to service.Config.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock is a clock at a fixed, arbitrary instant.
func NewClock() *Clock { return NewClockAt(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)) }

// NewClockAt is a clock at t.
func NewClockAt(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Stores opens a SQLite store and a disk artifact store in a temporary
// directory of t's; the store is closed when t ends.
func Stores(t testing.TB) (store.Store, artifact.Store) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	arts, err := artifact.NewDisk(filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	return st, arts
}

// Apply parses src as a pipeline file and applies it, failing t on an error.
func Apply(t testing.TB, svc *service.Service, src string) service.ApplyResult {
	t.Helper()
	p, err := pipeline.Parse("p.yml", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	res, err := svc.ApplyPipeline(context.Background(), p)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return res
}

// Pipelines the tests of several packages apply.
const (
	// HostedPipeline follows branch main of hosted repository repo, in
	// PARALLEL mode.
	HostedPipeline = `
name: app
executionMode: PARALLEL
stages:
  - name: Source
    actions:
      - name: src
        provider: Git
        configuration: {RepositoryName: repo, BranchName: main}
        outputArtifacts: [code]
  - name: Build
    actions:
      - name: make
        provider: Noop
        inputArtifacts: [code]
`
	// ApprovalPipeline waits for approval review in stage Approve, then
	// ships.
	ApprovalPipeline = `
name: release
stages:
  - name: Approve
    actions:
      - name: review
        provider: Manual
        configuration: {CustomData: "check the canary"}
  - name: Deploy
    actions:
      - name: ship
        provider: Commands
        commands: [ship]
`
)
