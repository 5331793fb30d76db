package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/store"
)

// pollTimeout bounds one look at a remote branch.
const pollTimeout = 30 * time.Second

// RemoteHeads reads the head of a branch of a remote git repository, as
// `git ls-remote` does; secret is the CredentialsSecret's value, or nil.
type RemoteHeads interface {
	Head(ctx context.Context, url, branch string, secret []byte) (string, error)
}

// SetRemoteHeads gives the service a way to poll remote repositories.
func (s *Service) SetRemoteHeads(r RemoteHeads) { s.remote = r }

// RunPoller polls, every interval, the branches that GitRemote source actions
// follow with PollForSourceChanges on (the default), until ctx ends.
func (s *Service) RunPoller(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.PollOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("poll for source changes", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PollOnce checks every polled branch once and starts the pipelines whose head
// moved. The last head seen is kept in the store, written in the same
// transaction as the start, so a restart neither misses a change nor starts
// twice for one. The first look at a branch only records its head.
func (s *Service) PollOnce(ctx context.Context) error {
	if s.remote == nil {
		return nil
	}
	infos, err := s.Pipelines(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, info := range infos {
		decl := info.Declaration
		for _, st := range decl.Stages {
			for _, a := range st.Actions {
				if a.ActionTypeID.Provider != pipeline.ProviderGitRemote || a.Configuration["PollForSourceChanges"] == "false" {
					continue
				}
				if err := s.pollAction(ctx, decl.Name, a.Name, a.Configuration); err != nil {
					errs = append(errs, fmt.Errorf("pipeline %s action %s: %w", decl.Name, a.Name, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Service) pollAction(ctx context.Context, name, action string, cfg map[string]string) error {
	url, branch := cfg["Url"], cfg["BranchName"]
	var secret []byte
	if cs := cfg["CredentialsSecret"]; cs != "" {
		var err error
		if secret, err = s.secretValue(ctx, cs); err != nil {
			return err
		}
	}
	// One unreachable remote must not hold up the others' polls.
	headCtx, cancel := context.WithTimeout(ctx, pollTimeout)
	head, err := s.remote.Head(headCtx, url, branch, secret)
	cancel()
	if err != nil {
		return s.noteIgnored(ctx, name, TriggerNote{
			Type: TriggerPoll, Detail: fmt.Sprintf("poll of branch %s of %s", branch, url),
			Reason: err.Error(),
		})
	}
	key := name + "/poll/" + action
	prev, err := s.store.TriggerState(ctx, key)
	if err != nil {
		return err
	}
	switch {
	case prev == head:
		return nil
	case prev == "":
		return s.store.Update(ctx, name, func(tx store.Tx) error {
			return tx.SetTriggerState(ctx, key, head, s.now())
		})
	}
	detail := fmt.Sprintf("new commit %s on branch %s of %s", short(head), branch, url)
	return s.start(ctx, StartRequest{
		Pipeline:        name,
		SourceRevisions: map[string]string{action: head},
		Trigger:         engine.Trigger{Type: TriggerPoll, Detail: detail},
		IdempotencyKey:  "poll/" + name + "/" + action + "/" + head,
		TriggerState:    map[string]string{key: head},
		Note:            &TriggerNote{Type: TriggerPoll, Detail: detail},
	})
}
