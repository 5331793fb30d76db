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

// exercisePipelines runs the contract of pipelines, their versions and Update itself.
func exercisePipelines(t *testing.T, open Open) {
	parallel(t, open, []test{
		{"PipelineVersions", testPipelineVersions},
		{"UpdateRollsBack", testUpdateRollsBack},
		{"DeletePipeline", testDelete},
		{"TriggerBookkeeping", testTriggerBookkeeping},
		{"ReadsInsideManyUpdates", testReadsInsideManyUpdates},
		{"UpdateGlobal", testUpdateGlobal},
		{"UpdateGlobalExcludesItself", testUpdateGlobalExcludesItself},
		{"PipelinePage", testPipelinePage},
	})
}

// PipelinePage pages in byte order of names, on every backend alike, each
// page starting after the name given.
func testPipelinePage(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, n := range []string{"b", "B", "a_x", "a-x", "Z", "c"} {
		putPipeline(t, s, n, 1)
	}
	var got []string
	after := ""
	for range 10 {
		page, err := s.PipelinePage(ctx, after, 4)
		must(t, err)
		if len(page) > 4 {
			t.Fatalf("page of %d for a limit of 4", len(page))
		}
		for _, p := range page {
			got = append(got, p.Name)
		}
		if len(page) < 4 {
			break
		}
		after = page[len(page)-1].Name
	}
	if fmt.Sprint(got) != "[B Z a-x a_x b c]" {
		t.Fatalf("pages gave %v, want byte order [B Z a-x a_x b c]", got)
	}

	// A page carries the summary columns, not the documents; a new
	// version replaces the summary with its own.
	sum := store.PipelineSummary{ExecutionMode: "QUEUED", PipelineType: "V2", Stages: 3}
	must(t, s.Update(ctx, "c", func(tx store.Tx) error {
		return tx.PutPipeline(ctx, store.Pipeline{Name: "c", Version: 2, Declaration: []byte(`{"v":2}`), Created: t0, Updated: t0.Add(time.Minute), PipelineSummary: sum})
	}))
	page, err := s.PipelinePage(ctx, "b", 10)
	must(t, err)
	if len(page) != 1 || page[0].Name != "c" || page[0].Version != 2 || page[0].PipelineSummary != sum ||
		!page[0].Created.Equal(t0) || !page[0].Updated.Equal(t0.Add(time.Minute)) {
		t.Fatalf("page after b = %+v, want c version 2 with %+v", page, sum)
	}
	if page[0].Declaration != nil || page[0].Transitions != nil || page[0].TriggerNote != nil {
		t.Errorf("a page read the documents: %+v", page[0])
	}
	full, err := s.Pipeline(ctx, "c")
	must(t, err)
	if full.PipelineSummary != sum || string(full.Declaration) != `{"v":2}` {
		t.Errorf("Pipeline(c) = %+v", full)
	}
	must(t, s.Update(ctx, "c", func(tx store.Tx) error {
		return tx.PutPipeline(ctx, store.Pipeline{Name: "c", Version: 3, Declaration: []byte(`{"v":3}`), Created: t0, Updated: t0, PipelineSummary: store.PipelineSummary{Stages: 1}})
	}))
	if page, _ := s.PipelinePage(ctx, "b", 1); len(page) != 1 || page[0].PipelineSummary != (store.PipelineSummary{Stages: 1}) {
		t.Errorf("after version 3: %+v", page)
	}
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

// Updates that read through the store while they hold their transaction (as
// the service does) never starve each other of connections, however many
// run at once.
func testReadsInsideManyUpdates(t *testing.T, s store.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Update(ctx, fmt.Sprintf("p%d", i), func(tx store.Tx) error {
				time.Sleep(20 * time.Millisecond) // let the others take their connections
				_, err := s.Execution(ctx, "none")
				if errors.Is(err, store.ErrNotFound) {
					err = nil
				}
				return err
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// UpdateGlobal commits its writes together or not at all, and its
// transaction belongs to no pipeline.
func testUpdateGlobal(t *testing.T, s store.Store) {
	ctx := context.Background()
	putPipeline(t, s, "p", 1)
	boom := errors.New("boom")
	err := s.UpdateGlobal(ctx, func(tx store.Tx) error {
		must(t, tx.SetTriggerState(ctx, "rule:r/1/schedule/x", "rolled back", t0))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("UpdateGlobal = %v, want fn's error", err)
	}
	if v, _ := s.TriggerState(ctx, "rule:r/1/schedule/x"); v != "" {
		t.Fatalf("a failed UpdateGlobal wrote %q", v)
	}
	must(t, s.UpdateGlobal(ctx, func(tx store.Tx) error {
		if _, err := tx.Pipeline(ctx); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the global transaction's pipeline: %v, want ErrNotFound", err)
		}
		fresh, err := tx.UseKey(ctx, "push-events/1", "", t0)
		if err != nil || !fresh {
			t.Errorf("UseKey = %v, %v", fresh, err)
		}
		return tx.SetTriggerState(ctx, "rule:r/1/schedule/x", "kept", t0)
	}))
	if v, _ := s.TriggerState(ctx, "rule:r/1/schedule/x"); v != "kept" {
		t.Fatalf("trigger state after UpdateGlobal = %q", v)
	}
	if p, err := s.Pipeline(ctx, "p"); err != nil || p.Version != 1 {
		t.Fatalf("the pipeline after UpdateGlobal: %+v, %v", p, err)
	}
}

// While one UpdateGlobal runs, another waits: it does not enter its fn
// before the first returns, here until its context ends.
func testUpdateGlobalExcludesItself(t *testing.T, s store.Store) {
	ctx := context.Background()
	entered, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.UpdateGlobal(ctx, func(tx store.Tx) error {
			close(entered)
			<-release
			return tx.SetTriggerState(ctx, "k", "first", t0)
		})
	}()
	<-entered
	waitCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	err := s.UpdateGlobal(waitCtx, func(tx store.Tx) error {
		t.Error("a second UpdateGlobal ran while the first held the global lock")
		return nil
	})
	if err == nil {
		t.Fatal("the second UpdateGlobal returned without error while the first held the lock")
	}
	close(release)
	must(t, <-first)
	// Once the first is done, the next one runs.
	must(t, s.UpdateGlobal(ctx, func(tx store.Tx) error { return tx.SetTriggerState(ctx, "k", "second", t0) }))
	if v, _ := s.TriggerState(ctx, "k"); v != "second" {
		t.Fatalf("trigger state = %q", v)
	}
}
