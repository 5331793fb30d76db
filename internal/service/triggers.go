package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/store"
)

// Triggers: what starts pipelines besides a user. A push to a hosted repository,
// a webhook, a poll that saw a new head, a schedule's tick each become a
// StartRequest with a trigger, pinned source revisions and an idempotency key,
// and leave a TriggerNote on the pipeline saying what they did, or why they
// started nothing.

// Trigger types, CodePipeline's names where it has one.
const (
	TriggerUser     = "StartPipelineExecution"
	TriggerPush     = "CloudWatchEvent" // CodeCommit pushes reach CodePipeline as EventBridge events
	TriggerWebhook  = "Webhook"
	TriggerPoll     = "PollForSourceChanges"
	TriggerSchedule = "Schedule"
)

// TriggerNote is what the last trigger of a pipeline did.
type TriggerNote struct {
	Time        time.Time `json:"time"`
	Type        string    `json:"triggerType"`
	Detail      string    `json:"triggerDetail"`
	Started     bool      `json:"started"`
	ExecutionID string    `json:"pipelineExecutionId,omitempty"`
	// Reason says why nothing started.
	Reason string `json:"reason,omitempty"`
}

func (s *Service) writeNote(ctx context.Context, tx store.Tx, note TriggerNote) error {
	if note.Time.IsZero() {
		note.Time = s.now()
	}
	raw, err := json.Marshal(note)
	if err != nil {
		return err
	}
	return tx.SetTriggerNote(ctx, raw)
}

// noteIgnored records on a pipeline that a trigger started nothing, and why.
func (s *Service) noteIgnored(ctx context.Context, name string, note TriggerNote) error {
	note.Started = false
	return s.store.Update(ctx, name, func(tx store.Tx) error {
		if _, err := tx.Pipeline(ctx); err != nil {
			return err
		}
		return s.writeNote(ctx, tx, note)
	})
}

// start runs a trigger's start, treating a replayed key as done.
func (s *Service) start(ctx context.Context, req StartRequest) error {
	_, err := s.StartExecution(ctx, req)
	if errors.Is(err, ErrAlreadyStarted) {
		return nil
	}
	return err
}

// Push is an accepted push to a hosted repository.
type Push struct {
	ID         string
	Repository string
	Principal  string
	Updates    []RefUpdate
}

// RefUpdate is one reference a push changed; all-zero ids mean created or deleted.
type RefUpdate struct {
	Ref, Old, New string
	// Commits are the commits the update brought, newest first (at most
	// 100; CommitsTruncated says there were more). The push event carries
	// them, which CodeCommit's lacks.
	Commits          []PushCommit
	CommitsTruncated bool
}

// PushCommit is a commit a push brought, in CodeCommit's GetCommit shape.
type PushCommit struct {
	CommitID  string     `json:"commitId"`
	Message   string     `json:"message"`
	Author    CommitUser `json:"author"`
	Committer CommitUser `json:"committer"`
}

// CommitUser is who wrote or committed a commit, and when.
type CommitUser struct {
	Name  string    `json:"name"`
	Email string    `json:"email"`
	Date  time.Time `json:"date"`
}

func (u RefUpdate) deleted() bool { return strings.Trim(u.New, "0") == "" }

// Repos reads hosted repositories, for trigger filters on file paths.
type Repos interface {
	ChangedFiles(ctx context.Context, repo, old, new string) ([]string, error)
}

// SetRepos gives the service access to hosted repositories, and to their
// pull requests when r can merge (PullRepos).
func (s *Service) SetRepos(r Repos) {
	s.repos = r
	if pr, ok := r.(PullRepos); ok {
		s.pullRepos = pr
	}
}

// HandlePush starts every pipeline whose source action follows the pushed
// repository and whose trigger matches the push, one execution per matching
// reference, pinned to the pushed commit. It may be called again for the same
// push (after a crash): nothing starts twice.
func (s *Service) HandlePush(ctx context.Context, p Push) error {
	if err := s.recordPush(ctx, p); err != nil {
		return err
	}
	s.changed.broadcast() // the push's events, for streams and rules
	infos, err := s.Pipelines(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, info := range infos {
		if err := s.pushToPipeline(ctx, info.Declaration, p); err != nil {
			errs = append(errs, fmt.Errorf("pipeline %s: %w", info.Declaration.Name, err))
		}
	}
	if err := s.pullRequestsPushed(ctx, p); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s *Service) pushToPipeline(ctx context.Context, decl *pipeline.Pipeline, p Push) error {
	sources := hostedSources(decl, p.Repository)
	if len(sources) == 0 {
		return nil
	}
	var reasons []string
	started := false
	for _, u := range p.Updates {
		if u.deleted() {
			reasons = append(reasons, fmt.Sprintf("%s was deleted", u.Ref))
			continue
		}
		detail := fmt.Sprintf("push by %s to %s %s at %s", pusher(p), p.Repository, u.Ref, short(u.New))
		for _, a := range sources {
			ok, why, err := s.pushMatches(ctx, decl, a, p.Repository, u)
			if err != nil {
				return err
			}
			if !ok {
				reasons = append(reasons, why)
				continue
			}
			err = s.start(ctx, StartRequest{
				Pipeline:        decl.Name,
				SourceRevisions: map[string]string{a.Name: u.New},
				Trigger:         engine.Trigger{Type: TriggerPush, Detail: detail},
				IdempotencyKey:  "push/" + p.ID + "/" + decl.Name + "/" + a.Name + "/" + u.Ref,
				Note:            &TriggerNote{Type: TriggerPush, Detail: detail},
			})
			if err != nil {
				return err
			}
			started = true
		}
	}
	if started {
		return nil
	}
	return s.noteIgnored(ctx, decl.Name, TriggerNote{
		Type:   TriggerPush,
		Detail: fmt.Sprintf("push by %s to %s", pusher(p), p.Repository),
		Reason: strings.Join(reasons, "; "),
	})
}

// hostedSources lists the source actions of decl that read hosted repository repo.
func hostedSources(decl *pipeline.Pipeline, repo string) []pipeline.Action {
	var out []pipeline.Action
	for _, st := range decl.Stages {
		for _, a := range st.Actions {
			switch a.ActionTypeID.Provider {
			case pipeline.ProviderGit, pipeline.ProviderCodeCommit:
				if a.Configuration["RepositoryName"] == repo {
					out = append(out, a)
				}
			}
		}
	}
	return out
}

// pushMatches decides whether update u of repo starts decl through source action
// a: with no git trigger for a, a push to its branch does, as in CodePipeline;
// with triggers, any of their push filters must match.
func (s *Service) pushMatches(ctx context.Context, decl *pipeline.Pipeline, a pipeline.Action, repo string, u RefUpdate) (bool, string, error) {
	branch, isBranch := strings.CutPrefix(u.Ref, "refs/heads/")
	tag, isTag := strings.CutPrefix(u.Ref, "refs/tags/")
	var triggers []pipeline.Trigger
	for _, t := range decl.Triggers {
		if t.ProviderType == pipeline.TriggerGit && t.GitConfiguration != nil && t.GitConfiguration.SourceActionName == a.Name {
			triggers = append(triggers, t)
		}
	}
	follows := a.Configuration["BranchName"]
	if len(triggers) == 0 {
		if isBranch && branch == follows {
			return true, "", nil
		}
		return false, fmt.Sprintf("%s: action %s follows branch %s", u.Ref, a.Name, follows), nil
	}
	var files []string
	filesRead := false
	for _, t := range triggers {
		if len(t.GitConfiguration.Push) == 0 {
			if isBranch && branch == follows {
				return true, "", nil
			}
			continue
		}
		for _, f := range t.GitConfiguration.Push {
			if f.FilePaths != nil && !filesRead {
				var err error
				if files, err = s.changedFiles(ctx, repo, u); err != nil {
					return false, "", err
				}
				filesRead = true
			}
			b, tg := "", ""
			if isBranch {
				b = branch
			}
			if isTag {
				tg = tag
			}
			if f.Match(b, tg, files) {
				return true, "", nil
			}
		}
	}
	return false, fmt.Sprintf("%s matches no push filter of the triggers of action %s", u.Ref, a.Name), nil
}

func (s *Service) changedFiles(ctx context.Context, repo string, u RefUpdate) ([]string, error) {
	if s.repos == nil {
		return nil, errors.New("no access to hosted repositories for file-path filters")
	}
	return s.repos.ChangedFiles(ctx, repo, u.Old, u.New)
}

// pusher names who pushed; a push made on the server's disk, not through
// sluice, has no principal.
func pusher(p Push) string {
	if p.Principal == "" {
		return "(unknown: not pushed through sluice)"
	}
	return p.Principal
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// LastTrigger returns what the last trigger did to a pipeline, nil if none came.
func (s *Service) LastTrigger(ctx context.Context, name string) (*TriggerNote, error) {
	row, err := s.store.Pipeline(ctx, name)
	if err != nil {
		return nil, pipelineNotFound(name, err)
	}
	if len(row.TriggerNote) == 0 {
		return nil, nil
	}
	var n TriggerNote
	if err := json.Unmarshal(row.TriggerNote, &n); err != nil {
		return nil, fmt.Errorf("decode trigger note of %s: %w", name, err)
	}
	return &n, nil
}
