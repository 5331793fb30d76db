package service_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/region"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/service/servicetest"
)

// corrupting is a region's artifact store that, while on, serves every object
// with its first byte changed: what a store that damages a copy looks like
// to the copy's read-back.
type corrupting struct {
	artifact.Store
	on atomic.Bool
}

func (c *corrupting) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	r, err := c.Store.Get(ctx, key)
	if err != nil || !c.on.Load() {
		return r, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if len(b) > 0 {
		b[0] ^= 0xff
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// unreachable is a region's store that never answers.
type unreachable struct{}

var errRefused = errors.New("dial tcp 127.0.0.1:9: connect: connection refused")

func (unreachable) Put(context.Context, string, io.Reader) (int64, error) { return 0, errRefused }
func (unreachable) Get(context.Context, string) (io.ReadCloser, error)    { return nil, errRefused }
func (unreachable) Stat(context.Context, string) (int64, error)           { return 0, errRefused }
func (unreachable) Delete(context.Context, string) error                  { return errRefused }

type regionFixture struct {
	*fixture
	regions *region.Set
	euDir   string
	eu      *corrupting
}

func newRegionFixture(t *testing.T) *regionFixture {
	st, arts := servicetest.Stores(t)
	euDir := t.TempDir()
	disk, err := artifact.NewDisk(euDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { disk.Close() })
	eu := &corrupting{Store: disk}
	regions := region.New("local", arts, []region.Region{
		{Name: "eu-west-1", Store: eu, Location: euDir},
		{Name: "down", Store: unreachable{}, Location: "s3://down/prefix at 127.0.0.1:9"},
	})
	c := servicetest.NewClock()
	svc := service.New(st, arts, service.Config{Lease: 30 * time.Second, Now: c.Now, Regions: regions})
	f := &fixture{t: t, ctx: context.Background(), svc: svc, store: st, clock: c}
	return &regionFixture{fixture: f, regions: regions, euDir: euDir, eu: eu}
}

func (f *regionFixture) claimIn(worker, regionName string) *service.ClaimedJob {
	f.t.Helper()
	j, err := f.svc.ClaimJobIn(f.ctx, worker, regionName, allProviders, 0)
	if err != nil {
		f.t.Fatalf("claim in %s: %v", regionName, err)
	}
	return j
}

// build runs the first stage's action at home and uploads its artifact.
func (f *regionFixture) build(body string) {
	f.t.Helper()
	j := f.claim("home")
	if j.Job.Action != "make" {
		f.t.Fatalf("first job is %s", j.Job.Action)
	}
	if _, err := f.svc.PutOutput(f.ctx, j.Job.ID, "home", "bin", strings.NewReader(body)); err != nil {
		f.t.Fatal(err)
	}
	f.succeed(j, nil)
}

func (f *regionFixture) read(j *service.ClaimedJob, name string) (string, error) {
	r, err := f.svc.OpenInput(f.ctx, j.Job.ID, j.Worker, name)
	if err != nil {
		return "", err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	return string(b), err
}

const twoRegions = `
name: p
stages:
  - name: Build
    actions:
      - name: make
        provider: Commands
        commands: [make]
        outputArtifacts: [{name: bin, files: ["**"]}]
  - name: Deploy
    actions:
      - {name: eu-a, provider: Commands, region: eu-west-1, inputArtifacts: [bin], commands: [a]}
      - {name: eu-b, provider: Commands, region: eu-west-1, inputArtifacts: [bin], commands: [b]}
      - {name: here, provider: Commands, inputArtifacts: [bin], commands: [c]}
`

// An action's region routes its job to that region's workers only; its input
// is copied into the region's store once for the execution (not once per
// action), and read from there; a worker of the region is given nothing of
// any other execution or action.
func TestRegionRoutesJobsAndCopiesInputsOnce(t *testing.T) {
	f := newRegionFixture(t)
	f.apply(twoRegions)
	id := f.start("p")
	if j := f.claimIn("eu", "eu-west-1"); j != nil {
		t.Fatalf("an eu worker was given %s of the home region", j.Job.Action)
	}
	f.build("zip-bytes")

	here := f.claim("home")
	if here.Job.Action != "here" {
		t.Fatalf("the home worker got %s", here.Job.Action)
	}
	f.noJob() // the eu actions wait for an eu worker, and say so
	ws, err := f.svc.ExecutionWaiting(f.ctx, f.execution("p", id))
	if err != nil || ws[0] == nil || ws[0].Label() != "waiting for a worker in region eu-west-1" || ws[0].Action != "Deploy/eu-a" {
		t.Errorf("waiting = %+v (%v)", ws[0], err)
	}
	if f.regions.Copies() != 0 {
		t.Fatalf("%d copies before any eu worker claimed", f.regions.Copies())
	}

	a := f.claimIn("eu", "eu-west-1")
	b := f.claimIn("eu2", "eu-west-1")
	if a == nil || b == nil || a.Job.Action != "eu-a" || b.Job.Action != "eu-b" {
		t.Fatalf("eu claims: %v, %v", a, b)
	}
	if got := f.regions.Copies(); got != 1 {
		t.Errorf("copies = %d, want 1 (once per execution and region)", got)
	}
	// The job reads the copy in its region's store.
	if s, err := f.read(a, "bin"); err != nil || s != "zip-bytes" {
		t.Fatalf("eu input: %q, %v", s, err)
	}
	key := a.Job.InputArtifacts[0].Key
	if b, err := os.ReadFile(filepath.Join(f.euDir, filepath.FromSlash(key))); err != nil || string(b) != "zip-bytes" {
		t.Fatalf("eu store holds %q (%v)", b, err)
	}

	// Attack: the eu worker is someone else's. It gets its own job's inputs
	// and nothing else: no other name, no other job, no job of another
	// region.
	if _, err := f.read(a, "../bin"); service.ErrorCode(err) != service.CodeNotFound {
		t.Errorf("another name: %v", err)
	}
	if _, err := f.svc.OpenInput(f.ctx, here.Job.ID, "eu", "bin"); service.ErrorCode(err) != service.CodeConflict {
		t.Errorf("the home job's input: %v", err)
	}
	if _, err := f.svc.ClaimJobIn(f.ctx, "eu", "eu-wset-1", allProviders, 0); service.ErrorCode(err) != service.CodeInvalid ||
		!strings.Contains(err.Error(), `did you mean "eu-west-1"?`) {
		t.Errorf("an undeclared region: %v", err)
	}
	// The eu store holds this execution's inputs, and nothing else.
	var held []string
	filepath.WalkDir(f.euDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(f.euDir, p)
			held = append(held, filepath.ToSlash(rel))
		}
		return nil
	})
	if len(held) != 1 || held[0] != key || !strings.HasPrefix(key, id+"/") {
		t.Errorf("eu store holds %v, want only %s", held, key)
	}
	for _, j := range []*service.ClaimedJob{here, a, b} {
		f.succeed(j, nil)
	}
	if e := f.execution("p", id); e.Status != engine.ExecutionSucceeded {
		t.Errorf("execution %s", e.Status)
	}
	// The next execution copies its own artifact, once.
	f.start("p")
	f.build("zip-2")
	f.claim("home")
	f.claimIn("eu", "eu-west-1")
	f.claimIn("eu", "eu-west-1")
	if got := f.regions.Copies(); got != 2 {
		t.Errorf("copies after a second execution = %d, want 2", got)
	}
}

// A copy that does not read back as written is caught before any job sees
// it: the action fails naming the region and its store, and the copy is
// deleted. A region whose store does not answer fails its own actions only.
func TestRegionCopyCheckedAndUnreachableStoreFailsItsActions(t *testing.T) {
	f := newRegionFixture(t)
	f.apply(strings.Replace(twoRegions, "region: eu-west-1, inputArtifacts: [bin], commands: [b]", "region: down, inputArtifacts: [bin], commands: [b]", 1))
	id := f.start("p")
	f.build("zip-bytes")
	f.eu.on.Store(true)
	if j := f.claimIn("eu", "eu-west-1"); j != nil {
		t.Fatalf("a corrupted copy was offered to %s", j.Job.Action)
	}
	if j := f.claimIn("down", "down"); j != nil {
		t.Fatalf("a job of an unreachable region was offered: %s", j.Job.Action)
	}
	e := f.execution("p", id)
	_, euA, _ := service.FindAction(e, "eu-a")
	if euA.Status != engine.ActionFailed || !strings.Contains(euA.Summary, "region eu-west-1: artifact store "+f.euDir) ||
		!strings.Contains(euA.Summary, "copy does not match its source") || !strings.Contains(euA.Summary, "SHA-256") {
		t.Errorf("eu-a: %s %q", euA.Status, euA.Summary)
	}
	_, down, _ := service.FindAction(e, "eu-b")
	if down.Status != engine.ActionFailed || !strings.Contains(down.Summary, "region down: artifact store s3://down/prefix") ||
		!strings.Contains(down.Summary, "connection refused") {
		t.Errorf("the unreachable region's action: %s %q", down.Status, down.Summary)
	}
	f.eu.on.Store(false)
	key := strings.SplitN(euA.Summary, "input artifact ", 2)[1]
	key = key[:strings.Index(key, ":")]
	if _, err := f.eu.Stat(f.ctx, key); !errors.Is(err, artifact.ErrNotFound) {
		t.Errorf("the corrupted copy %s was kept: %v", key, err)
	}
	// The home region's action still runs.
	if j := f.claim("home"); j.Job.Action != "here" {
		t.Errorf("home job %s", j.Job.Action)
	}
}

// Apply refuses an action region or an artifactStores region the server does
// not declare, naming the field and the region likely meant; the home region
// also answers to the server's AWS region.
func TestApplyRefusesUndeclaredRegions(t *testing.T) {
	f := newRegionFixture(t)
	apply := func(src string) error {
		p, err := pipeline.Parse("p.yml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.ApplyPipeline(f.ctx, p)
		return err
	}
	err := apply("name: x\nstages:\n  - name: S\n    actions:\n      - {name: a, provider: Noop, region: eu-wset-1}\n")
	var se *service.Error
	if !errors.As(err, &se) || se.Field != "stages[0].actions[0].region" || !strings.Contains(err.Error(), `did you mean "eu-west-1"?`) ||
		!strings.Contains(err.Error(), "it declares local, down, eu-west-1") {
		t.Errorf("undeclared action region: %v", err)
	}
	err = apply("name: x\nartifactStores:\n  us-east-1: {type: S3, location: home-bucket}\n  ap-south-1: {type: S3, location: b-ap}\n" +
		"stages:\n  - name: S\n    actions:\n      - {name: a, provider: Noop, region: us-east-1}\n")
	if !errors.As(err, &se) || se.Field != "artifactStores.ap-south-1" {
		t.Errorf("undeclared artifactStores region: %v", err)
	}
	if err := apply("name: x\nartifactStores:\n  us-east-1: {type: S3, location: home-bucket}\n  eu-west-1: {type: S3, location: b-eu}\n" +
		"stages:\n  - name: S\n    actions:\n      - {name: a, provider: Noop, region: us-east-1}\n      - {name: b, provider: Noop, region: eu-west-1}\n"); err != nil {
		t.Errorf("declared regions, the home one by its AWS name: %v", err)
	}
}
