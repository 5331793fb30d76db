package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

// exerciseJobs runs the contract of jobs: claims, leases, ends, held jobs.
func exerciseJobs(t *testing.T, open Open) {
	parallel(t, open, []test{
		{"ClaimOrderAndProviders", testClaim},
		{"ClaimConcurrent", testClaimConcurrent},
		{"ClaimByRegion", testClaimRegion},
		{"ClaimInTransaction", testClaimInTx},
		{"HeartbeatAndExpiry", testHeartbeat},
		{"CancelAndFinish", testCancelFinish},
		{"HeldJobs", testHeldJobs},
	})
}

func testClaim(t *testing.T, s store.Store) {
	ctx := context.Background()
	putPipeline(t, s, "p", 1)
	insertJob(t, s, "p", "j2", "Commands", t0.Add(2*time.Second))
	insertJob(t, s, "p", "j1", "Commands", t0.Add(time.Second))
	insertJob(t, s, "p", "j3", "Build", t0)
	j, err := s.ClaimJob(ctx, store.ClaimJobParams{Worker: "w1", Providers: []string{"Commands"}, Now: t0, LeaseUntil: t0.Add(30 * time.Second)})
	must(t, err)
	if j.ID != "j1" || j.Status != store.JobInProgress || j.Worker != "w1" || !j.LeaseUntil.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("first claim = %+v", j)
	}
	j, err = s.ClaimJob(ctx, store.ClaimJobParams{Worker: "w1", Providers: []string{"Commands"}, Now: t0, LeaseUntil: t0.Add(30 * time.Second)})
	must(t, err)
	if j.ID != "j2" {
		t.Fatalf("second claim = %s", j.ID)
	}
	if _, err := s.ClaimJob(ctx, store.ClaimJobParams{Worker: "w1", Providers: []string{"Commands"}, Now: t0, LeaseUntil: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("nothing left: %v", err)
	}
	j, err = s.ClaimJob(ctx, store.ClaimJobParams{Worker: "w2", Providers: []string{"Noop", "Build"}, Now: t0, LeaseUntil: t0})
	must(t, err)
	if j.ID != "j3" {
		t.Fatalf("build claim = %s", j.ID)
	}
}

// testClaimRegion: a job of a region goes to a worker of that region only,
// and a home job ("") to a home worker only.
func testClaimRegion(t *testing.T, s store.Store) {
	ctx := context.Background()
	putPipeline(t, s, "p", 1)
	must(t, s.Update(ctx, "p", func(tx store.Tx) error {
		return tx.InsertJob(ctx, store.Job{ID: "eu-job", ExecutionID: "e1", Pipeline: "p", Stage: "s", Action: "a", Attempt: 1,
			Provider: "Commands", Payload: []byte(`{}`), Status: store.JobQueued, Created: t0, Deadline: t0.Add(time.Hour), Region: "eu"})
	}))
	insertJob(t, s, "p", "home-job", "Commands", t0.Add(time.Second))
	claim := func(worker, region string) (store.Job, error) {
		return s.ClaimJob(ctx, store.ClaimJobParams{Worker: worker, Providers: []string{"Commands"}, Region: region, Now: t0.Add(time.Minute), LeaseUntil: t0.Add(time.Hour)})
	}
	if _, err := claim("us", "us"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a worker of another region claimed: %v", err)
	}
	j, err := claim("home", "")
	must(t, err)
	if j.ID != "home-job" || j.Region != "" {
		t.Fatalf("home claim = %s (%q)", j.ID, j.Region)
	}
	j, err = claim("eu", "eu")
	must(t, err)
	if j.ID != "eu-job" || j.Region != "eu" {
		t.Fatalf("eu claim = %s (%q)", j.ID, j.Region)
	}
	if got, err := s.Job(ctx, "eu-job"); err != nil || got.Region != "eu" {
		t.Fatalf("stored region = %q (%v)", got.Region, err)
	}
}

// A claim inside a pipeline's transaction sees the jobs the transaction
// inserted and any other pipeline's, and is undone with the transaction.
func testClaimInTx(t *testing.T, s store.Store) {
	ctx := context.Background()
	putPipeline(t, s, "p", 1)
	putPipeline(t, s, "q", 1)
	insertJob(t, s, "q", "other", "Build", t0)
	claim := store.ClaimJobParams{Worker: "w1", Providers: []string{"Noop"}, Now: t0, LeaseUntil: t0.Add(time.Minute)}
	errUndo := errors.New("undo")
	err := s.Update(ctx, "p", func(tx store.Tx) error {
		must(t, tx.InsertJob(ctx, store.Job{ID: "mine", Pipeline: "p", ExecutionID: "e1", Stage: "S", Action: "A", Attempt: 1, Provider: "Noop",
			Payload: []byte(`{}`), Deadline: t0.Add(time.Hour), Created: t0}))
		j, err := tx.ClaimJob(ctx, claim)
		must(t, err)
		if j.ID != "mine" || j.Status != store.JobInProgress || j.Worker != "w1" {
			t.Errorf("claim in the transaction = %+v", j)
		}
		return errUndo
	})
	if !errors.Is(err, errUndo) {
		t.Fatalf("update: %v", err)
	}
	if _, err := s.Job(ctx, "mine"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the rolled-back transaction's job: %v", err)
	}
	must(t, s.Update(ctx, "p", func(tx store.Tx) error {
		j, err := tx.ClaimJob(ctx, store.ClaimJobParams{Worker: "w2", Providers: []string{"Build"}, Now: t0, LeaseUntil: t0.Add(time.Minute)})
		if err != nil {
			return err
		}
		if j.ID != "other" {
			t.Errorf("claim of another pipeline's job = %s", j.ID)
		}
		_, err = tx.ClaimJob(ctx, claim)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("claim with nothing queued: %v", err)
		}
		return nil
	}))
	if j, err := s.Job(ctx, "other"); err != nil || j.Status != store.JobInProgress || j.Worker != "w2" {
		t.Fatalf("after commit: %+v, %v", j, err)
	}
}

func testClaimConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	putPipeline(t, s, "p", 1)
	const n = 40
	for i := range n {
		insertJob(t, s, "p", fmt.Sprintf("j%02d", i), "Noop", t0.Add(time.Duration(i)*time.Millisecond))
	}
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker := fmt.Sprintf("w%d", w)
			for {
				j, err := s.ClaimJob(ctx, store.ClaimJobParams{Worker: worker, Providers: []string{"Noop"}, Now: t0, LeaseUntil: t0.Add(time.Minute)})
				if errors.Is(err, store.ErrNotFound) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if other, dup := seen[j.ID]; dup {
					t.Errorf("job %s claimed by %s and %s", j.ID, other, worker)
				}
				seen[j.ID] = worker
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("claimed %d jobs, want %d", len(seen), n)
	}
}

func testHeartbeat(t *testing.T, s store.Store) {
	ctx := context.Background()
	putPipeline(t, s, "p", 1)
	insertJob(t, s, "p", "j", "Noop", t0)
	_, err := s.ClaimJob(ctx, store.ClaimJobParams{Worker: "w", Providers: []string{"Noop"}, Now: t0, LeaseUntil: t0.Add(10 * time.Second)})
	must(t, err)
	if _, err := s.Heartbeat(ctx, "j", "other", t0.Add(time.Hour)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("heartbeat by another worker: %v", err)
	}
	if got, _ := s.ExpiredJobs(ctx, t0.Add(5*time.Second), 10); len(got) != 0 {
		t.Fatalf("expired before the lease ended: %v", got)
	}
	j, err := s.Heartbeat(ctx, "j", "w", t0.Add(20*time.Second))
	must(t, err)
	if !j.LeaseUntil.Equal(t0.Add(20 * time.Second)) {
		t.Fatalf("lease = %v", j.LeaseUntil)
	}
	if got, _ := s.ExpiredJobs(ctx, t0.Add(15*time.Second), 10); len(got) != 0 {
		t.Fatalf("expired despite the heartbeat: %v", got)
	}
	got, err := s.ExpiredJobs(ctx, t0.Add(21*time.Second), 10)
	must(t, err)
	if len(got) != 1 || got[0].ID != "j" {
		t.Fatalf("expired = %v", got)
	}
	// A queued job is returned once its deadline passed.
	insertJob(t, s, "p", "q", "Noop", t0)
	got, _ = s.ExpiredJobs(ctx, t0.Add(2*time.Hour), 10)
	if len(got) != 2 {
		t.Fatalf("expired with deadline = %d jobs", len(got))
	}
}

func testCancelFinish(t *testing.T, s store.Store) {
	ctx := context.Background()
	putPipeline(t, s, "p", 1)
	insertJob(t, s, "p", "queued", "Noop", t0)
	insertJob(t, s, "p", "running", "Noop", t0.Add(time.Second))
	insertJob(t, s, "p", "done", "Noop", t0.Add(2*time.Second))
	_, err := s.ClaimJob(ctx, store.ClaimJobParams{Worker: "w", Providers: []string{"Noop"}, Now: t0, LeaseUntil: t0.Add(time.Minute)})
	must(t, err) // claims "queued"; make the names honest by cancelling a fresh queued one
	insertJob(t, s, "p", "fresh", "Noop", t0.Add(3*time.Second))
	must(t, s.Update(ctx, "p", func(tx store.Tx) error {
		if err := tx.FinishJob(ctx, store.FinishJobParams{ID: "done", Status: store.JobSucceeded, Message: "ok", Now: t0}); err != nil {
			return err
		}
		if err := tx.CancelJob(ctx, "queued", "abandoned", t0); err != nil {
			return err
		}
		if err := tx.CancelJob(ctx, "fresh", "superseded", t0); err != nil {
			return err
		}
		// Finishing or cancelling an ended job changes nothing.
		if err := tx.FinishJob(ctx, store.FinishJobParams{ID: "done", Status: store.JobFailed, Message: "late", Now: t0}); err != nil {
			return err
		}
		return tx.CancelJob(ctx, "done", "late", t0)
	}))
	for id, want := range map[string]store.JobStatus{"queued": store.JobCancelled, "fresh": store.JobCancelled, "done": store.JobSucceeded, "running": store.JobQueued} {
		j, err := s.Job(ctx, id)
		must(t, err)
		if j.Status != want {
			t.Errorf("job %s = %s, want %s", id, j.Status, want)
		}
	}
	if _, err := s.Heartbeat(ctx, "queued", "w", t0.Add(time.Hour)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("heartbeat of a cancelled job: %v", err)
	}
	if j, _ := s.ClaimJob(ctx, store.ClaimJobParams{Worker: "w", Providers: []string{"Noop"}, Now: t0, LeaseUntil: t0.Add(time.Minute)}); j.ID != "running" {
		t.Fatalf("cancelled jobs must not be claimed; got %q", j.ID)
	}
}

// testHeldJobs covers what the server's own actions need of jobs: queued jobs
// listed by provider, a continuation held back until its time, a parked job.
func testHeldJobs(t *testing.T, s store.Store) {
	ctx := context.Background()
	putPipeline(t, s, "p", 1)
	insertJob(t, s, "p", "gate-1", "PipelineGate", t0)
	insertJob(t, s, "p", "manual-1", "Manual", t0.Add(time.Second))
	insertJob(t, s, "p", "cmd-1", "Commands", t0)
	held, err := s.QueuedJobs(ctx, []string{"PipelineGate", "Manual"})
	must(t, err)
	if len(held) != 2 || held[0].ID != "gate-1" || held[1].ID != "manual-1" {
		t.Fatalf("QueuedJobs = %v, want gate-1, manual-1", jobIDs(held))
	}

	must(t, s.Update(ctx, "p", func(tx store.Tx) error {
		return tx.InsertJob(ctx, store.Job{ID: "fn-2", ExecutionID: "e", Pipeline: "p", Stage: "s", Action: "a", Attempt: 2,
			Provider: "Function", Payload: []byte(`{}`), Deadline: t0.Add(time.Hour), Created: t0, NotBefore: t0.Add(30 * time.Second)})
	}))
	if _, err := s.ClaimJob(ctx, store.ClaimJobParams{Worker: "w", Providers: []string{"Function"}, Now: t0.Add(29 * time.Second), LeaseUntil: t0.Add(time.Minute)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("claim before NotBefore: %v, want ErrNotFound", err)
	}
	j, err := s.ClaimJob(ctx, store.ClaimJobParams{Worker: "w", Providers: []string{"Function"}, Now: t0.Add(30 * time.Second), LeaseUntil: t0.Add(time.Minute)})
	must(t, err)
	if j.ID != "fn-2" || !j.NotBefore.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("claimed %s with NotBefore %v", j.ID, j.NotBefore)
	}
	must(t, s.Update(ctx, "p", func(tx store.Tx) error { return tx.ParkJob(ctx, "fn-2") }))
	parked, err := s.Job(ctx, "fn-2")
	must(t, err)
	if parked.Status != store.JobInProgress || parked.Worker != "" || !parked.LeaseUntil.Equal(parked.Deadline) {
		t.Fatalf("parked job: status %s worker %q lease %v deadline %v", parked.Status, parked.Worker, parked.LeaseUntil, parked.Deadline)
	}
	if _, err := s.Heartbeat(ctx, "fn-2", "w", t0.Add(2*time.Minute)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("heartbeat of a parked job: %v, want ErrConflict", err)
	}
	expired, err := s.ExpiredJobs(ctx, t0.Add(2*time.Minute), 10)
	must(t, err)
	for _, e := range expired {
		if e.ID == "fn-2" {
			t.Fatal("a parked job expired before its deadline")
		}
	}
}

func jobIDs(js []store.Job) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.ID
	}
	return out
}
