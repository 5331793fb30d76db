package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/store"
)

// loadLocks reads, inside the decision's transaction, every lock the pipeline
// or its executions name. A holder, or the first in the queue, that is no
// longer an active execution (its pipeline was deleted, or a bug let it end
// without letting go) is dropped as the lock is read, so that a lock can
// never stay taken, or promised, to someone who is gone.
func (s *Service) loadLocks(ctx context.Context, tx store.Tx, decl *pipeline.Pipeline, st *engine.State, h engine.Happening) (map[string]*engine.Lock, error) {
	var names []string
	add := func(n string) {
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	add(decl.Lock)
	for _, stg := range decl.Stages {
		add(stg.Lock)
	}
	execs := slices.Clone(st.Executions)
	switch h := h.(type) {
	case engine.Start:
		execs = append(execs, h.Execution)
	case engine.Restart:
		execs = append(execs, h.Next)
	}
	local := map[string]bool{}
	for _, e := range execs {
		local[e.ID] = true
		add(e.Lock)
		for _, stg := range e.Stages {
			add(stg.Lock)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	// Always in the same order: a store that locks each lock's row as it
	// reads it (PostgreSQL) cannot then deadlock two pipelines naming the same
	// locks in different orders.
	slices.Sort(names)
	out := make(map[string]*engine.Lock, len(names))
	for _, name := range names {
		doc, err := tx.Lock(ctx, name)
		if err != nil {
			return nil, err
		}
		l := &engine.Lock{}
		if doc != nil {
			if err := json.Unmarshal(doc, l); err != nil {
				return nil, fmt.Errorf("decode lock %s: %w", name, err)
			}
		}
		alive := func(h engine.LockHolder) (bool, error) {
			if local[h.ExecutionID] {
				return true, nil
			}
			row, err := s.store.Execution(ctx, h.ExecutionID)
			if errors.Is(err, store.ErrNotFound) {
				return false, nil
			}
			return err == nil && row.Active, err
		}
		if l.Holder != nil {
			ok, err := alive(*l.Holder)
			if err != nil {
				return nil, err
			}
			if !ok {
				s.log.WarnContext(ctx, "lock held by an execution that ended; released", "lock", name, "holder_execution_id", l.Holder.ExecutionID)
				l.Holder = nil
			}
		}
		// Only the head of the queue can be given the lock, so only it is
		// checked: one gone further back is dropped when it reaches the head,
		// which keeps a decision's cost flat however long the queue.
		for len(l.Queue) > 0 {
			ok, err := alive(l.Queue[0])
			if err != nil {
				return nil, err
			}
			if ok {
				break
			}
			l.Queue = l.Queue[1:]
		}
		out[name] = l
	}
	return out, nil
}

// LockState is a lock as the API shows it.
type LockState struct {
	Name string
	engine.Lock
}

// Locks lists every lock with its holder and queue.
func (s *Service) Locks(ctx context.Context) ([]LockState, error) {
	rows, err := s.store.Locks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]LockState, 0, len(rows))
	for _, r := range rows {
		l := LockState{Name: r.Name}
		if err := json.Unmarshal(r.Document, &l.Lock); err != nil {
			return nil, fmt.Errorf("decode lock %s: %w", r.Name, err)
		}
		out = append(out, l)
	}
	return out, nil
}
