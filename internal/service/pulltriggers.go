package service

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
)

// Pull-request triggers for hosted repositories: a pipeline whose source
// action reads a hosted repository, with a git trigger for that action that
// has pullRequest filters (CodePipeline's V2 filters, evaluated by
// pipeline.GitPullRequestFilter as for git host connections), starts on the
// pull request's source commit when it is opened (OPEN), when its source
// branch moves (UPDATED) and when it is closed or merged (CLOSED), once per
// source commit and phase. The executions carry the pull request in their
// trigger variables (#{trigger.PullRequestId} …), which is how a pull
// request finds the executions it started.

// TriggerPullRequest is the trigger type of executions a hosted pull request
// started: CodeCommit's pull request events reach CodePipeline as EventBridge
// events, as its pushes do.
const TriggerPullRequest = TriggerPush

// pullRequestToPipelines starts the pipelines whose triggers take event
// (OPEN, UPDATED, CLOSED) of pr. Failures to start are joined; the pull
// request's own change is made already.
func (s *Service) pullRequestToPipelines(ctx context.Context, pr PullRequest, event string) error {
	infos, err := s.Pipelines(ctx)
	if err != nil {
		return err
	}
	var files []string
	filesRead := false
	var errs []error
	for _, info := range infos {
		decl := info.Declaration
		for _, a := range hostedSources(decl, pr.Repository) {
			matched := false
			for _, t := range decl.Triggers {
				if t.ProviderType != pipeline.TriggerGit || t.GitConfiguration == nil || t.GitConfiguration.SourceActionName != a.Name {
					continue
				}
				for _, f := range t.GitConfiguration.PullRequest {
					if f.FilePaths != nil && !filesRead && s.repos != nil {
						filesRead = true
						files, err = s.repos.ChangedFiles(ctx, pr.Repository, pr.MergeBase, pr.SourceCommit)
						if err != nil {
							errs = append(errs, fmt.Errorf("pull request %d: changed files: %w", pr.ID, err))
						}
					}
					if f.Match(event, pr.Destination, files) {
						matched = true
					}
				}
			}
			if !matched {
				continue
			}
			phase := "open"
			if event == "CLOSED" {
				phase = "closed"
			}
			detail := fmt.Sprintf("pull request %d %s: %s into %s of %s at %s", pr.ID, event, pr.Source, pr.Destination, pr.Repository, short(pr.SourceCommit))
			err := s.start(ctx, StartRequest{
				Pipeline:        decl.Name,
				SourceRevisions: map[string]string{a.Name: pr.SourceCommit},
				Trigger:         engine.Trigger{Type: TriggerPullRequest, Detail: detail},
				IdempotencyKey:  fmt.Sprintf("pullrequest/%d/%s/%s/%s/%s", pr.ID, pr.SourceCommit, phase, decl.Name, a.Name),
				Note:            &TriggerNote{Type: TriggerPullRequest, Detail: detail},
				TriggerVariables: map[string]string{
					"PullRequestId": strconv.FormatInt(pr.ID, 10), "PullRequestTitle": pr.Title, "PullRequestEvent": event,
					"SourceBranch": pr.Source, "DestinationBranch": pr.Destination,
					"SourceCommitId": pr.SourceCommit, "DestinationCommitId": pr.DestinationCommit,
					"BranchName": pr.Source, "CommitId": pr.SourceCommit, "FullRepositoryName": pr.Repository, "ProviderType": "CodeCommit",
				},
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("pipeline %s: %w", decl.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// pullRequestsPushed starts the pipelines of the open pull requests whose
// source branch a push moved (UPDATED).
func (s *Service) pullRequestsPushed(ctx context.Context, p Push) error {
	var errs []error
	for _, u := range p.Updates {
		branch, ok := strings.CutPrefix(u.Ref, "refs/heads/")
		if !ok || u.deleted() {
			continue
		}
		open, err := s.PullRequests(ctx, PullRequestFilter{Repository: p.Repository, Status: PullRequestOpen})
		if err != nil {
			return err
		}
		for _, pr := range open {
			if pr.Source != branch {
				continue
			}
			pr.SourceCommit = u.New // as pushed, whatever came since
			s.pullEvent(ctx, pr, pullNote{event: "pullRequestSourceBranchUpdated"})
			if err := s.pullRequestToPipelines(ctx, pr, "UPDATED"); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// PullExecution is an execution a pull request started.
type PullExecution struct {
	Pipeline, ExecutionID, Status, SourceCommit string
}

// pullExecutionScan is how many recent executions of each pipeline are
// looked at for a pull request's.
const pullExecutionScan = 100

// PullRequestExecutions lists the executions pr started, newest first per
// pipeline: its status as its pipelines see it.
func (s *Service) PullRequestExecutions(ctx context.Context, pr PullRequest) []PullExecution {
	infos, err := s.Pipelines(ctx)
	if err != nil {
		return nil
	}
	id := strconv.FormatInt(pr.ID, 10)
	var out []PullExecution
	for _, info := range infos {
		if len(hostedSources(info.Declaration, pr.Repository)) == 0 {
			continue
		}
		es, err := s.Executions(ctx, info.Declaration.Name, 0, pullExecutionScan)
		if err != nil {
			continue
		}
		for _, e := range es {
			v := e.TriggerVariables
			if v["PullRequestId"] == id && v["FullRepositoryName"] == pr.Repository && v["ProviderType"] == "CodeCommit" {
				out = append(out, PullExecution{Pipeline: info.Declaration.Name, ExecutionID: e.ID, Status: string(e.Status), SourceCommit: v["SourceCommitId"]})
			}
		}
	}
	return out
}
