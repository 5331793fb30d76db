package trigger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
)

// pollTimeout bounds one look at a remote branch.
const pollTimeout = 30 * time.Second

// RemoteHeads reads the head of a branch of a remote git repository, as
// `git ls-remote` does; secret is the CredentialsSecret's value, or nil.
type RemoteHeads interface {
	Head(ctx context.Context, url, branch string, secret []byte) (string, error)
}

// ObjectRevisions reads the current revision of the object an S3 source
// action follows (its version id, or its ETag where the bucket keeps no
// versions), through the action's connection.
type ObjectRevisions interface {
	ObjectRevision(ctx context.Context, pipeline, stage string, a pipeline.Action) (string, error)
}

// Poller polls the branches of remote repositories that GitRemote source
// actions follow, the objects S3 source actions follow, and the image tags
// ECR source actions follow.
type Poller struct {
	svc     Service
	remote  RemoteHeads
	objects ObjectRevisions
	images  ImageDigests // nil: ECR source actions with a RegistryUrl are not polled
	ecr     ECRImages    // nil: ECR source actions without one are not polled
	hosts   HostHeads    // nil: connection source actions are not polled
}

// FollowObjects makes the poller poll S3 source actions' objects with o.
func (p *Poller) FollowObjects(o ObjectRevisions) *Poller { p.objects = o; return p }

// NewPoller returns a poller reading remote heads with remote (nil: nothing
// is polled).
func NewPoller(svc Service, remote RemoteHeads) *Poller { return &Poller{svc: svc, remote: remote} }

// Run polls, every interval, the branches that GitRemote source actions
// follow with PollForSourceChanges on (the default), until ctx ends.
func (p *Poller) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := p.Once(ctx); err != nil && ctx.Err() == nil {
			p.svc.Logger().Warn("poll for source changes", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once checks every polled branch once and starts the pipelines whose head
// moved. The last head seen is kept in the store, written in the same
// transaction as the start, so a restart neither misses a change nor starts
// twice for one. The first look at a branch only records its head.
func (p *Poller) Once(ctx context.Context) error {
	if p.remote == nil && p.objects == nil && p.images == nil && p.ecr == nil && p.hosts == nil {
		return nil
	}
	infos, err := p.svc.Pipelines(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, info := range infos {
		decl := info.Declaration
		for _, st := range decl.Stages {
			for _, a := range st.Actions {
				if a.ActionTypeID.Category != pipeline.CategorySource || a.Configuration["PollForSourceChanges"] == "false" {
					continue
				}
				var err error
				switch {
				case a.ActionTypeID.Provider == pipeline.ProviderGitRemote && p.remote != nil:
					err = p.pollAction(ctx, decl.Name, a.Name, a.Configuration)
				case a.ActionTypeID.Provider == "S3" && p.objects != nil:
					err = p.pollObject(ctx, decl.Name, st.Name, a)
				case a.ActionTypeID.Provider == providerECR && (p.images != nil || p.ecr != nil):
					err = p.pollImage(ctx, decl.Name, st.Name, a)
				case pipeline.IsHostSource(a.ActionTypeID.Provider) && p.hosts != nil && a.Configuration["DetectChanges"] != "false":
					err = p.pollHost(ctx, decl.Name, st.Name, a)
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("pipeline %s action %s: %w", decl.Name, a.Name, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func (p *Poller) pollAction(ctx context.Context, name, action string, cfg map[string]string) error {
	url, branch := cfg["Url"], cfg["BranchName"]
	var secret []byte
	if cs := cfg["CredentialsSecret"]; cs != "" {
		var err error
		if secret, err = p.svc.SecretValue(ctx, cs); err != nil {
			return err
		}
	}
	// One unreachable remote must not hold up the others' polls.
	headCtx, cancel := context.WithTimeout(ctx, pollTimeout)
	head, err := p.remote.Head(headCtx, url, branch, secret)
	cancel()
	if err != nil {
		return p.svc.NoteIgnored(ctx, name, service.TriggerNote{
			Type: service.TriggerPoll, Detail: fmt.Sprintf("poll of branch %s of %s", branch, url),
			Reason: err.Error(),
		})
	}
	return p.follow(ctx, name, action, head, fmt.Sprintf("new commit %s on branch %s of %s", short(head), branch, url))
}

// pollObject polls the object an S3 source action follows.
func (p *Poller) pollObject(ctx context.Context, name, stage string, a pipeline.Action) error {
	where := "s3://" + a.Configuration["S3Bucket"] + "/" + a.Configuration["S3ObjectKey"]
	revCtx, cancel := context.WithTimeout(ctx, pollTimeout)
	rev, err := p.objects.ObjectRevision(revCtx, name, stage, a)
	cancel()
	if err != nil {
		return p.svc.NoteIgnored(ctx, name, service.TriggerNote{
			Type: service.TriggerPoll, Detail: "poll of " + where, Reason: err.Error(),
		})
	}
	return p.follow(ctx, name, a.Name, rev, fmt.Sprintf("new revision %s of %s", rev, where))
}

// follow starts the pipeline when an action's polled revision head moved
// from the one last seen (kept in the store, written in the same
// transaction as the start); the first look only records it.
func (p *Poller) follow(ctx context.Context, name, action, head, detail string) error {
	key := name + "/poll/" + action
	prev, err := p.svc.Store().TriggerState(ctx, key)
	if err != nil {
		return err
	}
	switch {
	case prev == head:
		return nil
	case prev == "":
		return p.svc.Store().Update(ctx, name, func(tx store.Tx) error {
			return tx.SetTriggerState(ctx, key, head, p.svc.Now())
		})
	}
	return start(ctx, p.svc, service.StartRequest{
		Pipeline:        name,
		SourceRevisions: map[string]string{action: head},
		Trigger:         engine.Trigger{Type: service.TriggerPoll, Detail: detail},
		IdempotencyKey:  "poll/" + name + "/" + action + "/" + head,
		TriggerState:    map[string]string{key: head},
		Note:            &service.TriggerNote{Type: service.TriggerPoll, Detail: detail},
	})
}
