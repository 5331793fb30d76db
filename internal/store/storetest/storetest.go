// Package storetest is the conformance suite every store.Store implementation
// passes: run it from the implementation's own tests with a function that opens
// a fresh, empty store.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

// Open opens a fresh, empty store for one test.
type Open func(t *testing.T) store.Store

// Run runs the whole suite.
func Run(t *testing.T, open Open) {
	t.Run("PipelineVersions", func(t *testing.T) { testPipelineVersions(t, open(t)) })
	t.Run("UpdateRollsBack", func(t *testing.T) { testUpdateRollsBack(t, open(t)) })
	t.Run("Executions", func(t *testing.T) { testExecutions(t, open(t)) })
	t.Run("ClaimOrderAndProviders", func(t *testing.T) { testClaim(t, open(t)) })
	t.Run("ClaimConcurrent", func(t *testing.T) { testClaimConcurrent(t, open(t)) })
	t.Run("HeartbeatAndExpiry", func(t *testing.T) { testHeartbeat(t, open(t)) })
	t.Run("CancelAndFinish", func(t *testing.T) { testCancelFinish(t, open(t)) })
	t.Run("Logs", func(t *testing.T) { testLogs(t, open(t)) })
	t.Run("Events", func(t *testing.T) { testEvents(t, open(t)) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, open(t)) })
	t.Run("DeletePipeline", func(t *testing.T) { testDelete(t, open(t)) })
	t.Run("TriggerBookkeeping", func(t *testing.T) { testTriggerBookkeeping(t, open(t)) })
	t.Run("Webhooks", func(t *testing.T) { testWebhooks(t, open(t)) })
	t.Run("Secrets", func(t *testing.T) { testSecrets(t, open(t)) })
	t.Run("Reports", func(t *testing.T) { testReports(t, open(t)) })
	t.Run("Projects", func(t *testing.T) { testProjects(t, open(t)) })
	t.Run("Functions", func(t *testing.T) { testFunctions(t, open(t)) })
	t.Run("Rules", func(t *testing.T) { testRules(t, open(t)) })
	t.Run("Policies", func(t *testing.T) { testPolicies(t, open(t)) })
	t.Run("HeldJobs", func(t *testing.T) { testHeldJobs(t, open(t)) })
	t.Run("Locks", func(t *testing.T) { testLocks(t, open(t)) })
	t.Run("Cursors", func(t *testing.T) { testCursors(t, open(t)) })
	t.Run("Deliveries", func(t *testing.T) { testDeliveries(t, open(t)) })
	t.Run("PruneEvents", func(t *testing.T) { testPruneEvents(t, open(t)) })
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func putPipeline(t *testing.T, s store.Store, name string, version int) {
	t.Helper()
	must(t, s.Update(context.Background(), name, func(tx store.Tx) error {
		return tx.PutPipeline(context.Background(), store.Pipeline{
			Name: name, Version: version, Declaration: []byte(fmt.Sprintf(`{"v":%d}`, version)), Created: t0, Updated: t0,
		})
	}))
}

func insertJob(t *testing.T, s store.Store, pipeline, id, provider string, created time.Time) {
	t.Helper()
	must(t, s.Update(context.Background(), pipeline, func(tx store.Tx) error {
		return tx.InsertJob(context.Background(), store.Job{
			ID: id, ExecutionID: "e1", Pipeline: pipeline, Stage: "S", Action: "A", Attempt: 1, Provider: provider,
			Payload: []byte(`{}`), Deadline: created.Add(time.Hour), Created: created,
		})
	}))
}

func testPipelineVersions(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.Pipeline(ctx, "p"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing pipeline: got %v, want ErrNotFound", err)
	}
	putPipeline(t, s, "p", 1)
	putPipeline(t, s, "p", 2)
	p, err := s.Pipeline(ctx, "p")
	must(t, err)
	if p.Version != 2 || string(p.Declaration) != `{"v":2}` || !p.Created.Equal(t0) {
		t.Fatalf("pipeline = %+v", p)
	}
	v1, err := s.PipelineVersion(ctx, "p", 1)
	must(t, err)
	if string(v1.Declaration) != `{"v":1}` {
		t.Fatalf("version 1 = %s", v1.Declaration)
	}
	if _, err := s.PipelineVersion(ctx, "p", 3); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing version: got %v", err)
	}
	putPipeline(t, s, "a", 1)
	ps, err := s.Pipelines(ctx)
	must(t, err)
	if len(ps) != 2 || ps[0].Name != "a" || ps[1].Name != "p" {
		t.Fatalf("pipelines = %+v", ps)
	}
	must(t, s.Update(ctx, "p", func(tx store.Tx) error { return tx.SetTransitions(ctx, []byte(`{"Deploy":{}}`)) }))
	p, _ = s.Pipeline(ctx, "p")
	if string(p.Transitions) != `{"Deploy":{}}` {
		t.Fatalf("transitions = %s", p.Transitions)
	}
}

func testUpdateRollsBack(t *testing.T, s store.Store) {
	ctx := context.Background()
	putPipeline(t, s, "p", 1)
	boom := errors.New("boom")
	err := s.Update(ctx, "p", func(tx store.Tx) error {
		must(t, tx.PutPipeline(ctx, store.Pipeline{Name: "p", Version: 2, Declaration: []byte(`{}`), Created: t0, Updated: t0}))
		must(t, tx.PutExecution(ctx, store.Execution{ID: "e", Pipeline: "p", Seq: 1, Status: "InProgress", Active: true, Document: []byte(`{}`), Started: t0, Updated: t0}))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want boom", err)
	}
	p, _ := s.Pipeline(ctx, "p")
	if p.Version != 1 {
		t.Fatalf("version after rollback = %d", p.Version)
	}
	if _, err := s.Execution(ctx, "e"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("execution after rollback: %v", err)
	}
}

func testExecutions(t *testing.T, s store.Store) {
	ctx := context.Background()
	putPipeline(t, s, "p", 1)
	for i := 1; i <= 5; i++ {
		must(t, s.Update(ctx, "p", func(tx store.Tx) error {
			seq, err := tx.NextSeq(ctx)
			if err != nil {
				return err
			}
			if seq != int64(i) {
				t.Errorf("NextSeq = %d, want %d", seq, i)
			}
			return tx.PutExecution(ctx, store.Execution{
				ID: fmt.Sprintf("e%d", i), Pipeline: "p", Seq: seq, Status: "InProgress", Active: i%2 == 1,
				Document: []byte(fmt.Sprintf(`{"n":%d}`, i)), Started: t0, Updated: t0,
			})
		}))
	}
	list, err := s.Executions(ctx, "p", 0, 3)
	must(t, err)
	if len(list) != 3 || list[0].ID != "e5" || list[2].ID != "e3" {
		t.Fatalf("newest first: %v", ids(list))
	}
	list, _ = s.Executions(ctx, "p", 3, 10)
	if len(list) != 2 || list[0].ID != "e2" {
		t.Fatalf("before 3: %v", ids(list))
	}
	must(t, s.Update(ctx, "p", func(tx store.Tx) error {
		active, err := tx.ActiveExecutions(ctx)
		if err != nil {
			return err
		}
		if got := ids(active); fmt.Sprint(got) != "[e1 e3 e5]" {
			t.Errorf("active oldest first = %v", got)
		}
		// An update keeps seq and start, changes the rest.
		return tx.PutExecution(ctx, store.Execution{ID: "e3", Pipeline: "p", Seq: 3, Status: "Succeeded", Active: false,
			Document: []byte(`{"done":true}`), Started: t0, Updated: t0.Add(time.Minute)})
	}))
	e, err := s.Execution(ctx, "e3")
	must(t, err)
	if e.Status != "Succeeded" || e.Active || string(e.Document) != `{"done":true}` || !e.Updated.Equal(t0.Add(time.Minute)) {
		t.Fatalf("updated execution = %+v", e)
	}
	// An execution is found only through its own pipeline's transaction.
	putPipeline(t, s, "q", 1)
	must(t, s.Update(ctx, "q", func(tx store.Tx) error {
		if _, err := tx.Execution(ctx, "e3"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("execution of p seen from q: %v", err)
		}
		return nil
	}))
}

func ids(es []store.Execution) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func testClaim(t *testing.T, s store.Store) {
	ctx := context.Background()
	putPipeline(t, s, "p", 1)
	insertJob(t, s, "p", "j2", "Commands", t0.Add(2*time.Second))
	insertJob(t, s, "p", "j1", "Commands", t0.Add(time.Second))
	insertJob(t, s, "p", "j3", "Build", t0)
	j, err := s.ClaimJob(ctx, "w1", []string{"Commands"}, t0, t0.Add(30*time.Second))
	must(t, err)
	if j.ID != "j1" || j.Status != store.JobInProgress || j.Worker != "w1" || !j.LeaseUntil.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("first claim = %+v", j)
	}
	j, err = s.ClaimJob(ctx, "w1", []string{"Commands"}, t0, t0.Add(30*time.Second))
	must(t, err)
	if j.ID != "j2" {
		t.Fatalf("second claim = %s", j.ID)
	}
	if _, err := s.ClaimJob(ctx, "w1", []string{"Commands"}, t0, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("nothing left: %v", err)
	}
	j, err = s.ClaimJob(ctx, "w2", []string{"Noop", "Build"}, t0, t0)
	must(t, err)
	if j.ID != "j3" {
		t.Fatalf("build claim = %s", j.ID)
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
				j, err := s.ClaimJob(ctx, worker, []string{"Noop"}, t0, t0.Add(time.Minute))
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
	_, err := s.ClaimJob(ctx, "w", []string{"Noop"}, t0, t0.Add(10*time.Second))
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
	_, err := s.ClaimJob(ctx, "w", []string{"Noop"}, t0, t0.Add(time.Minute))
	must(t, err) // claims "queued"; make the names honest by cancelling a fresh queued one
	insertJob(t, s, "p", "fresh", "Noop", t0.Add(3*time.Second))
	must(t, s.Update(ctx, "p", func(tx store.Tx) error {
		if err := tx.FinishJob(ctx, "done", store.JobSucceeded, "ok", t0); err != nil {
			return err
		}
		if err := tx.CancelJob(ctx, "queued", "abandoned", t0); err != nil {
			return err
		}
		if err := tx.CancelJob(ctx, "fresh", "superseded", t0); err != nil {
			return err
		}
		// Finishing or cancelling an ended job changes nothing.
		if err := tx.FinishJob(ctx, "done", store.JobFailed, "late", t0); err != nil {
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
	if j, _ := s.ClaimJob(ctx, "w", []string{"Noop"}, t0, t0.Add(time.Minute)); j.ID != "running" {
		t.Fatalf("cancelled jobs must not be claimed; got %q", j.ID)
	}
}

func testLogs(t *testing.T, s store.Store) {
	ctx := context.Background()
	// A long log is read in pieces of about MaxLogRead.
	big := bytes.Repeat([]byte("x"), 1<<20)
	for range 10 {
		must(t, s.AppendLog(ctx, "big", big))
	}
	var total int64
	for {
		got, err := s.Log(ctx, "big", total)
		must(t, err)
		if len(got) == 0 {
			break
		}
		if len(got) > store.MaxLogRead+len(big) {
			t.Fatalf("one read returned %d bytes", len(got))
		}
		total += int64(len(got))
	}
	if total != 10<<20 {
		t.Fatalf("read %d bytes of a 10 MiB log", total)
	}
	for _, chunk := range []string{"hello ", "", "world\n", "bye\n"} {
		must(t, s.AppendLog(ctx, "j", []byte(chunk)))
	}
	for off, want := range map[int64]string{0: "hello world\nbye\n", 3: "lo world\nbye\n", 6: "world\nbye\n", 16: "", 99: ""} {
		got, err := s.Log(ctx, "j", off)
		must(t, err)
		if string(got) != want {
			t.Errorf("Log from %d = %q, want %q", off, got, want)
		}
	}
}

func testEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	putPipeline(t, s, "p", 1)
	putPipeline(t, s, "q", 1)
	for i, p := range []string{"p", "q", "p"} {
		must(t, s.Update(ctx, p, func(tx store.Tx) error {
			return tx.InsertEvent(ctx, store.Event{Time: t0.Add(time.Duration(i) * time.Minute), Type: "T" + p, Pipeline: p, ExecutionID: "e", Document: []byte(`{}`)})
		}))
	}
	all, err := s.Events(ctx, store.EventFilter{})
	must(t, err)
	if len(all) != 3 || all[0].Seq >= all[1].Seq || all[1].Seq >= all[2].Seq {
		t.Fatalf("events = %+v", all)
	}
	ps, _ := s.Events(ctx, store.EventFilter{Pipeline: "p"})
	if len(ps) != 2 {
		t.Fatalf("events of p = %d", len(ps))
	}
	after, _ := s.Events(ctx, store.EventFilter{AfterSeq: all[0].Seq})
	if len(after) != 2 {
		t.Fatalf("events after the first = %d", len(after))
	}
	since, _ := s.Events(ctx, store.EventFilter{Since: t0.Add(90 * time.Second)})
	if len(since) != 1 {
		t.Fatalf("events since = %d", len(since))
	}
	typ, _ := s.Events(ctx, store.EventFilter{Type: "Tq", Limit: 5})
	if len(typ) != 1 || typ[0].Pipeline != "q" {
		t.Fatalf("events of type Tq = %+v", typ)
	}
}

func testTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.Token(ctx, "h1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing token: %v", err)
	}
	must(t, s.PutToken(ctx, store.Token{Name: "admin", Hash: "h1", Policy: "admin", Created: t0}))
	tok, err := s.Token(ctx, "h1")
	must(t, err)
	if tok.Name != "admin" || tok.Policy != "admin" {
		t.Fatalf("token = %+v", tok)
	}
	// Putting a token of the same name replaces its secret.
	must(t, s.PutToken(ctx, store.Token{Name: "admin", Hash: "h2", Policy: "admin", Created: t0}))
	if _, err := s.Token(ctx, "h1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("old secret still valid: %v", err)
	}
	if _, err := s.Token(ctx, "h2"); err != nil {
		t.Fatal(err)
	}
	must(t, s.PutToken(ctx, store.Token{Name: "ci", Hash: "h3", Policy: "read", Created: t0}))
	all, err := s.Tokens(ctx)
	must(t, err)
	if len(all) != 2 || all[0].Name != "admin" || all[1].Name != "ci" || all[1].Policy != "read" || all[1].Hash != "" {
		t.Fatalf("tokens = %+v", all)
	}
	// A policy document and an expiry are kept with the token, and replaced
	// with it.
	doc := `{"Statement":[{"Effect":"Allow","Action":["sluice:Get*"],"Resource":["*"]}]}`
	exp := t0.Add(time.Hour)
	must(t, s.PutToken(ctx, store.Token{Name: "bot", Hash: "h4", Policy: "bot.yml", PolicyDocument: doc, Created: t0, Expires: exp}))
	bot, err := s.Token(ctx, "h4")
	must(t, err)
	if bot.Policy != "bot.yml" || bot.PolicyDocument != doc || !bot.Expires.Equal(exp) || !bot.Created.Equal(t0) {
		t.Fatalf("token with a document = %+v", bot)
	}
	must(t, s.PutToken(ctx, store.Token{Name: "bot", Hash: "h5", Policy: "viewer", Created: t0.Add(time.Minute)}))
	bot, err = s.Token(ctx, "h5")
	must(t, err)
	if bot.Policy != "viewer" || bot.PolicyDocument != "" || !bot.Expires.IsZero() || !bot.Created.Equal(t0.Add(time.Minute)) {
		t.Fatalf("replaced token = %+v", bot)
	}
	all, err = s.Tokens(ctx)
	must(t, err)
	if len(all) != 3 || all[1].Name != "bot" || all[1].Policy != "viewer" {
		t.Fatalf("tokens = %+v", all)
	}
	must(t, s.DeleteToken(ctx, "bot"))
	must(t, s.DeleteToken(ctx, "ci"))
	if _, err := s.Token(ctx, "h3"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted token still valid: %v", err)
	}
	if err := s.DeleteToken(ctx, "ci"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func testDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	putPipeline(t, s, "p", 1)
	insertJob(t, s, "p", "j", "Noop", t0)
	must(t, s.AppendLog(ctx, "j", []byte("x")))
	must(t, s.Update(ctx, "p", func(tx store.Tx) error {
		return tx.PutExecution(ctx, store.Execution{ID: "e", Pipeline: "p", Seq: 1, Status: "InProgress", Active: true, Document: []byte(`{}`), Started: t0, Updated: t0})
	}))
	must(t, s.Update(ctx, "p", func(tx store.Tx) error { return tx.DeletePipeline(ctx) }))
	if _, err := s.Pipeline(ctx, "p"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pipeline after delete: %v", err)
	}
	if _, err := s.Execution(ctx, "e"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("execution after delete: %v", err)
	}
	if _, err := s.Job(ctx, "j"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("job after delete: %v", err)
	}
	// A pipeline of the same name starts afresh.
	putPipeline(t, s, "p", 1)
	must(t, s.Update(ctx, "p", func(tx store.Tx) error {
		seq, err := tx.NextSeq(ctx)
		if seq != 1 {
			t.Errorf("seq after re-create = %d", seq)
		}
		return err
	}))
}

func testTriggerBookkeeping(t *testing.T, s store.Store) {
	ctx := context.Background()
	putPipeline(t, s, "p", 1)
	putPipeline(t, s, "p2", 1)
	must(t, s.Update(ctx, "p", func(tx store.Tx) error {
		if err := tx.SetTriggerNote(ctx, []byte(`{"started":false}`)); err != nil {
			return err
		}
		fresh, err := tx.UseKey(ctx, "push/1/p", "e1", t0)
		if err != nil || !fresh {
			t.Errorf("first use of a key: fresh=%v err=%v", fresh, err)
		}
		fresh, err = tx.UseKey(ctx, "push/1/p", "e2", t0)
		if err != nil || fresh {
			t.Errorf("second use of a key: fresh=%v err=%v", fresh, err)
		}
		if err := tx.SetTriggerState(ctx, "p/poll/src", "abc", t0); err != nil {
			return err
		}
		return tx.SetTriggerState(ctx, "p/poll/src", "def", t0)
	}))
	must(t, s.Update(ctx, "p2", func(tx store.Tx) error { return tx.SetTriggerState(ctx, "p2/poll/src", "keep", t0) }))
	p, _ := s.Pipeline(ctx, "p")
	if string(p.TriggerNote) != `{"started":false}` {
		t.Fatalf("trigger note = %q", p.TriggerNote)
	}
	if v, err := s.TriggerState(ctx, "p/poll/src"); err != nil || v != "def" {
		t.Fatalf("trigger state = %q, %v", v, err)
	}
	if v, err := s.TriggerState(ctx, "nothing"); err != nil || v != "" {
		t.Fatalf("missing trigger state = %q, %v", v, err)
	}
	// A rolled-back key is not used.
	boom := errors.New("boom")
	_ = s.Update(ctx, "p", func(tx store.Tx) error {
		tx.UseKey(ctx, "push/2/p", "e3", t0)
		return boom
	})
	must(t, s.Update(ctx, "p", func(tx store.Tx) error {
		fresh, err := tx.UseKey(ctx, "push/2/p", "e3", t0)
		if !fresh {
			t.Errorf("a key from a rolled-back transaction counts as used")
		}
		return err
	}))
	// Deleting a pipeline forgets its trigger state, not another's.
	must(t, s.Update(ctx, "p", func(tx store.Tx) error { return tx.DeletePipeline(ctx) }))
	if v, _ := s.TriggerState(ctx, "p/poll/src"); v != "" {
		t.Fatalf("trigger state after delete = %q", v)
	}
	if v, _ := s.TriggerState(ctx, "p2/poll/src"); v != "keep" {
		t.Fatalf("another pipeline's trigger state = %q", v)
	}
}

func testWebhooks(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.Webhook(ctx, "w"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing webhook: %v", err)
	}
	must(t, s.PutWebhook(ctx, store.Webhook{Name: "w", Definition: []byte(`{"a":1}`), Created: t0, Updated: t0}))
	must(t, s.PutWebhook(ctx, store.Webhook{Name: "w", Definition: []byte(`{"a":2}`), Created: t0.Add(time.Hour), Updated: t0.Add(time.Hour)}))
	w, err := s.Webhook(ctx, "w")
	must(t, err)
	if string(w.Definition) != `{"a":2}` || !w.Created.Equal(t0) || !w.Updated.Equal(t0.Add(time.Hour)) {
		t.Fatalf("webhook = %+v", w)
	}
	all, _ := s.Webhooks(ctx)
	if len(all) != 1 {
		t.Fatalf("webhooks = %d", len(all))
	}
	must(t, s.DeleteWebhook(ctx, "w"))
	if err := s.DeleteWebhook(ctx, "w"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func testProjects(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.Project(ctx, "p"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing project: %v", err)
	}
	if err := s.DeleteProject(ctx, "p"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete missing project: %v", err)
	}
	must(t, s.PutProject(ctx, store.Project{Name: "p", Definition: []byte(`{"a":1}`), Created: t0, Updated: t0}))
	must(t, s.PutProject(ctx, store.Project{Name: "p", Definition: []byte(`{"a":2}`), Created: t0.Add(time.Hour), Updated: t0.Add(time.Hour)}))
	must(t, s.PutProject(ctx, store.Project{Name: "a", Definition: []byte(`{"b":1}`), Created: t0, Updated: t0}))
	p, err := s.Project(ctx, "p")
	must(t, err)
	if p.Name != "p" || string(p.Definition) != `{"a":2}` || !p.Created.Equal(t0) || !p.Updated.Equal(t0.Add(time.Hour)) {
		t.Fatalf("project = %+v", p)
	}
	all, err := s.Projects(ctx)
	must(t, err)
	if len(all) != 2 || all[0].Name != "a" || all[1].Name != "p" || string(all[1].Definition) != `{"a":2}` {
		t.Fatalf("projects = %+v", all)
	}
	must(t, s.DeleteProject(ctx, "p"))
	if _, err := s.Project(ctx, "p"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted project: %v", err)
	}
	if err := s.DeleteProject(ctx, "p"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	all, _ = s.Projects(ctx)
	if len(all) != 1 {
		t.Fatalf("projects after delete = %d", len(all))
	}
}

func testSecrets(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.PutSecret(ctx, store.Secret{Name: "b", Ciphertext: []byte{1, 2}, Created: t0, Updated: t0}))
	must(t, s.PutSecret(ctx, store.Secret{Name: "a", Ciphertext: []byte{0, 255}, Created: t0, Updated: t0}))
	must(t, s.PutSecret(ctx, store.Secret{Name: "b", Ciphertext: []byte{3}, Created: t0, Updated: t0.Add(time.Minute)}))
	sec, err := s.Secret(ctx, "b")
	must(t, err)
	if string(sec.Ciphertext) != "\x03" || !sec.Updated.Equal(t0.Add(time.Minute)) {
		t.Fatalf("secret = %+v", sec)
	}
	all, _ := s.Secrets(ctx)
	if len(all) != 2 || all[0].Name != "a" || all[0].Ciphertext[1] != 255 {
		t.Fatalf("secrets = %+v", all)
	}
	must(t, s.DeleteSecret(ctx, "a"))
	if _, err := s.Secret(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted secret: %v", err)
	}
}

func testReports(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.PutReport(ctx, store.Report{JobID: "j1", Group: "unit", ExecutionID: "e", Stage: "Build", Action: "b", Document: []byte(`{"v":1}`), Created: t0}))
	must(t, s.PutReport(ctx, store.Report{JobID: "j1", Group: "lint", ExecutionID: "e", Stage: "Build", Action: "b", Document: []byte(`{}`), Created: t0.Add(time.Second)}))
	must(t, s.PutReport(ctx, store.Report{JobID: "j1", Group: "unit", ExecutionID: "e", Stage: "Build", Action: "b", Document: []byte(`{"v":2}`), Created: t0}))
	must(t, s.PutReport(ctx, store.Report{JobID: "j9", Group: "unit", ExecutionID: "other", Stage: "S", Action: "a", Document: []byte(`{}`), Created: t0}))
	rs, err := s.Reports(ctx, "e")
	must(t, err)
	if len(rs) != 2 || rs[0].Group != "unit" || string(rs[0].Document) != `{"v":2}` || rs[1].Group != "lint" || rs[0].Stage != "Build" {
		t.Fatalf("reports = %+v", rs)
	}
}
