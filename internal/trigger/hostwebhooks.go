package trigger

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluice-ci/sluice/internal/connection"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/githost"
	"github.com/sluice-ci/sluice/internal/hostconn"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
)

// Connection webhooks: a git host connection's repositories send their
// webhooks to POST /webhooks/connections/NAME. A delivery is checked against
// the connection's webhookSecret, read (githost), and starts every pipeline
// whose source action reads the delivery's repository through the
// connection (ConnectionArn naming it, FullRepositoryId the repository,
// DetectChanges not "false"): a push as CodePipeline's V2 push triggers
// say (or, with no trigger, a push to BranchName), a pull request's change
// as its pullRequest triggers say. A pull request's new head stops the
// executions still running for its earlier heads.

// TriggerWebhookV2 is CodePipeline's trigger type for executions a
// connection's webhook started.
const TriggerWebhookV2 = "WebhookV2"

// connectionSourceProviders are the source providers that read a
// repository through a git host connection.
var connectionSourceProviders = map[string]bool{"CodeStarSourceConnection": true, "CodeConnections": true}

// HostAPI asks a connection's host, with the connection's credentials,
// what its deliveries do not say: the files a pull request changes (for
// file path filters), and the full id of an abbreviated commit (Bitbucket's
// pull-request deliveries abbreviate them).
type HostAPI interface {
	PullRequestFiles(ctx context.Context, c *connection.Connection, repo string, number int) ([]string, error)
	ResolveCommit(ctx context.Context, c *connection.Connection, repo, rev string) (string, error)
}

// ConnectionWebhooks are the deliveries of git host connections' webhooks.
type ConnectionWebhooks struct {
	svc      Service
	files    HostAPI
	versions ObjectVersions // nil: notifications without a version id are pinned to the ETag
}

// NewConnectionWebhooks returns the connection webhook use cases over svc;
// files, when not nil, asks hosts what deliveries do not say.
func NewConnectionWebhooks(svc Service, files HostAPI) *ConnectionWebhooks {
	return &ConnectionWebhooks{svc: svc, files: files}
}

// HostWebhookResult says what a delivery did.
type HostWebhookResult struct {
	Event   string             `json:"event"`
	Started []StartedExecution `json:"started"`
	// Superseded are executions stopped because their pull request's head
	// moved.
	Superseded []StartedExecution `json:"superseded,omitempty"`
	// Reasons say why pipelines that follow the repository started
	// nothing, or why the delivery starts nothing at all.
	Reasons []string `json:"reasons,omitempty"`
}

// StartedExecution names one execution.
type StartedExecution struct {
	Pipeline    string `json:"pipelineName"`
	ExecutionID string `json:"pipelineExecutionId"`
}

// HostOf is the githost speaking for a connection kind, "" for kinds that
// are not git hosts.
func HostOf(kind string) githost.Host {
	return (&connection.Connection{Kind: kind}).GitHost()
}

// Handle checks and acts on a delivery to connection name's webhook. An
// unknown connection is NotFound; a connection without a webhookSecret, or a
// delivery whose signature does not match it, is Unauthorized; a body the
// host would not send is Invalid. None of those starts anything. An aws
// connection's deliveries are its object store's event notifications
// (s3events.go).
func (w *ConnectionWebhooks) Handle(ctx context.Context, name string, hdr http.Header, body []byte) (HostWebhookResult, error) {
	info, err := w.svc.Connection(ctx, name)
	if err != nil {
		return HostWebhookResult{}, err
	}
	c := &info.Connection
	if c.Kind == connection.KindAWS {
		return w.s3Notifications(ctx, c, hdr, body)
	}
	host := HostOf(c.Kind)
	if host == "" {
		return HostWebhookResult{}, service.Errorf(service.CodeNotFound, "connection %s is of kind %s, not a git host: it takes no webhooks", name, c.Kind)
	}
	secret, err := w.webhookSecret(ctx, c)
	if err != nil {
		return HostWebhookResult{}, err
	}
	if err := githost.Verify(host, hdr, body, secret); err != nil {
		return HostWebhookResult{}, service.Errorf(service.CodeUnauthorized, "connection %s: %s", name, hostReason(err))
	}
	ev, err := githost.Parse(host, hdr, body)
	if err != nil {
		return HostWebhookResult{}, service.Errorf(service.CodeInvalid, "connection %s: %s", name, hostReason(err))
	}
	res := HostWebhookResult{Event: ev.Name, Started: []StartedExecution{}}
	switch {
	case ev.IsPush():
		err = w.pushes(ctx, c, ev, &res)
	case ev.PullRequest != nil:
		err = w.pullRequest(ctx, c, ev, &res)
	default:
		res.Reasons = append(res.Reasons, fmt.Sprintf("a %s event starts nothing", ev.Name))
	}
	return res, err
}

// webhookSecret reads the secret c's webhooks are checked with; without
// one, they are refused.
func (w *ConnectionWebhooks) webhookSecret(ctx context.Context, c *connection.Connection) ([]byte, error) {
	if c.WebhookSecret == "" {
		return nil, service.Errorf(service.CodeUnauthorized, "connection %s: no webhookSecret is set, so its webhooks are refused", c.Name)
	}
	secret, err := w.svc.SecretValue(ctx, c.WebhookSecret)
	if err != nil {
		// The caller is not authenticated yet: the secret's name is for
		// the server's log, not the answer.
		w.svc.Logger().Warn("connection webhook: its webhookSecret cannot be read", "connection", c.Name, "secret", c.WebhookSecret, "err", err)
		return nil, service.Errorf(service.CodeUnauthorized, "connection %s: its webhook secret cannot be read", c.Name)
	}
	return secret, nil
}

func hostReason(err error) string {
	s := err.Error()
	for _, p := range []string{githost.ErrUnauthorized.Error() + ": ", githost.ErrBadRequest.Error() + ": "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

// connectionSources lists, per pipeline, the source actions that read repo
// through c and detect changes.
func (w *ConnectionWebhooks) connectionSources(ctx context.Context, c *connection.Connection, repo string) ([]*pipeline.Pipeline, map[string][]pipeline.Action, error) {
	infos, err := w.svc.Pipelines(ctx)
	if err != nil {
		return nil, nil, err
	}
	var decls []*pipeline.Pipeline
	sources := map[string][]pipeline.Action{}
	for _, info := range infos {
		decl := info.Declaration
		for _, st := range decl.Stages {
			for _, a := range st.Actions {
				cfg := a.Configuration
				if !connectionSourceProviders[a.ActionTypeID.Provider] || !c.MatchesARN(cfg["ConnectionArn"]) ||
					!strings.EqualFold(cfg["FullRepositoryId"], repo) || strings.EqualFold(cfg["DetectChanges"], "false") {
					continue
				}
				if len(sources[decl.Name]) == 0 {
					decls = append(decls, decl)
				}
				sources[decl.Name] = append(sources[decl.Name], a)
			}
		}
	}
	return decls, sources, nil
}

// gitTrigger is the git trigger of source action a, or nil.
func gitTrigger(decl *pipeline.Pipeline, a string) *pipeline.GitConfiguration {
	for _, t := range decl.Triggers {
		if t.ProviderType == pipeline.TriggerGit && t.GitConfiguration != nil && t.GitConfiguration.SourceActionName == a {
			return t.GitConfiguration
		}
	}
	return nil
}

// pushMatches decides whether push p starts decl through a: with no git
// trigger, a push to its BranchName does, as in CodePipeline; with a trigger
// of neither push nor pull-request filters, the same; with push filters,
// one must match; with only pull-request filters, no push does.
func pushMatches(decl *pipeline.Pipeline, a pipeline.Action, p githost.Push) (bool, string) {
	g := gitTrigger(decl, a.Name)
	follows := a.Configuration["BranchName"]
	if g == nil || (len(g.Push) == 0 && len(g.PullRequest) == 0) {
		if p.Branch != "" && p.Branch == follows {
			return true, ""
		}
		return false, fmt.Sprintf("%s: action %s follows branch %s", p.Ref, a.Name, follows)
	}
	if len(g.Push) == 0 {
		return false, fmt.Sprintf("action %s's trigger starts on pull requests, not pushes", a.Name)
	}
	for _, f := range g.Push {
		if f.FilePaths != nil && !p.ChangedFilesKnown {
			continue // Bitbucket's pushes list no files
		}
		if f.Match(p.Branch, p.Tag, p.ChangedFiles) {
			return true, ""
		}
	}
	why := fmt.Sprintf("%s matches no push filter of the trigger of action %s", p.Ref, a.Name)
	if !p.ChangedFilesKnown {
		why += " (this host's push deliveries list no changed files, so file path filters cannot match)"
	}
	return false, why
}

func (w *ConnectionWebhooks) pushes(ctx context.Context, c *connection.Connection, ev *githost.Event, res *HostWebhookResult) error {
	decls, sources, err := w.connectionSources(ctx, c, ev.Repository)
	if err != nil {
		return err
	}
	if len(decls) == 0 {
		res.Reasons = append(res.Reasons, fmt.Sprintf("no pipeline's source action reads %s through connection %s", ev.Repository, c.Name))
		return nil
	}
	var errs []error
	for _, decl := range decls {
		var reasons []string
		started := false
		for _, p := range ev.Pushes {
			if p.Deleted {
				reasons = append(reasons, p.Ref+" was deleted")
				continue
			}
			if !isCommitID(p.After) {
				reasons = append(reasons, fmt.Sprintf("%s: %q is not a commit id", p.Ref, p.After))
				continue
			}
			detail := fmt.Sprintf("push to %s %s at %s", ev.Repository, p.Ref, short(p.After))
			if p.Pusher != "" {
				detail += " by " + p.Pusher
			}
			detail += " (connection " + c.Name + ")"
			for _, a := range sources[decl.Name] {
				ok, why := pushMatches(decl, a, p)
				if !ok {
					reasons = append(reasons, why)
					continue
				}
				key := p.After
				if ev.DeliveryID != "" {
					key = ev.DeliveryID
				}
				vars := map[string]string{"BranchName": p.Branch, "CommitId": p.After, "FullRepositoryName": ev.Repository,
					"ProviderType": hostconn.ProviderType(c.Kind)}
				e, err := w.svc.StartExecution(ctx, service.StartRequest{
					Pipeline:         decl.Name,
					SourceRevisions:  map[string]string{a.Name: p.After},
					Trigger:          engine.Trigger{Type: TriggerWebhookV2, Detail: detail},
					IdempotencyKey:   "connection/" + c.Name + "/" + key + "/" + decl.Name + "/" + a.Name + "/" + p.Ref,
					Note:             &service.TriggerNote{Type: TriggerWebhookV2, Detail: detail},
					TriggerVariables: vars,
				})
				switch {
				case errors.Is(err, service.ErrAlreadyStarted):
					reasons = append(reasons, "this delivery was handled already")
				case err != nil:
					errs = append(errs, fmt.Errorf("pipeline %s: %w", decl.Name, err))
				default:
					started = true
					res.Started = append(res.Started, StartedExecution{decl.Name, e.ID})
				}
			}
		}
		if !started {
			res.Reasons = append(res.Reasons, decl.Name+": "+strings.Join(reasons, "; "))
			note := service.TriggerNote{Type: TriggerWebhookV2, Detail: fmt.Sprintf("push to %s (connection %s)", ev.Repository, c.Name),
				Reason: strings.Join(reasons, "; ")}
			if err := w.svc.NoteIgnored(ctx, decl.Name, note); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (w *ConnectionWebhooks) pullRequest(ctx context.Context, c *connection.Connection, ev *githost.Event, res *HostWebhookResult) error {
	pr := ev.PullRequest
	if pr.Action == "" {
		res.Reasons = append(res.Reasons, fmt.Sprintf("pull request #%d: %q is not an OPEN, UPDATED or CLOSED event", pr.Number, pr.HostAction))
		return nil
	}
	if !isCommitID(pr.HeadCommit) && w.files != nil && pr.HeadCommit != "" {
		full, err := w.files.ResolveCommit(ctx, c, ev.Repository, pr.HeadCommit)
		if err != nil {
			res.Reasons = append(res.Reasons, fmt.Sprintf("pull request #%d: head %s cannot be resolved to a full commit id: %v", pr.Number, pr.HeadCommit, err))
			return nil
		}
		pr.HeadCommit = full
	}
	if !isCommitID(pr.HeadCommit) {
		res.Reasons = append(res.Reasons, fmt.Sprintf("pull request #%d: head %q is not a full commit id", pr.Number, pr.HeadCommit))
		return nil
	}
	if pr.HeadRepository != "" && pr.HeadRef == "" {
		res.Reasons = append(res.Reasons, fmt.Sprintf("pull request #%d comes from fork %s, and this host keeps no reference to its head in %s: forks' pull requests are not built", pr.Number, pr.HeadRepository, ev.Repository))
		return nil
	}
	decls, sources, err := w.connectionSources(ctx, c, ev.Repository)
	if err != nil {
		return err
	}
	if len(decls) == 0 {
		res.Reasons = append(res.Reasons, fmt.Sprintf("no pipeline's source action reads %s through connection %s", ev.Repository, c.Name))
		return nil
	}
	var files []string
	filesRead := false
	var errs []error
	for _, decl := range decls {
		var reasons []string
		listens := false // some action of decl has pull-request filters
		for _, a := range sources[decl.Name] {
			g := gitTrigger(decl, a.Name)
			if g == nil || len(g.PullRequest) == 0 {
				reasons = append(reasons, fmt.Sprintf("action %s has no pull-request trigger", a.Name))
				continue
			}
			listens = true
			matched := false
			for _, f := range g.PullRequest {
				if f.FilePaths != nil && !filesRead && w.files != nil {
					filesRead = true
					files, err = w.files.PullRequestFiles(ctx, c, ev.Repository, pr.Number)
					if err != nil {
						reasons = append(reasons, fmt.Sprintf("the files of pull request #%d cannot be listed: %v", pr.Number, err))
					}
				}
				if f.Match(pr.Action, pr.DestinationBranch, files) {
					matched = true
					break
				}
			}
			if !matched {
				reasons = append(reasons, fmt.Sprintf("pull request #%d (%s into %s) matches no pull-request filter of action %s",
					pr.Number, pr.Action, pr.DestinationBranch, a.Name))
				continue
			}
			e, err := w.startPullRequest(ctx, c, ev, decl, a)
			switch {
			case errors.Is(err, service.ErrAlreadyStarted):
				reasons = append(reasons, fmt.Sprintf("pull request #%d at %s was built already", pr.Number, short(pr.HeadCommit)))
				continue
			case err != nil:
				errs = append(errs, fmt.Errorf("pipeline %s: %w", decl.Name, err))
				continue
			}
			res.Started = append(res.Started, StartedExecution{decl.Name, e.ID})
			stopped, err := w.supersede(ctx, decl.Name, ev.Repository, pr, e.ID)
			res.Superseded = append(res.Superseded, stopped...)
			if err != nil {
				errs = append(errs, err)
			}
		}
		if len(reasons) > 0 && !startedIn(res.Started, decl.Name) {
			res.Reasons = append(res.Reasons, decl.Name+": "+strings.Join(reasons, "; "))
			if !listens {
				// A pipeline built on pushes only: its last-trigger note
				// keeps saying what its pushes did.
				continue
			}
			note := service.TriggerNote{Type: TriggerWebhookV2, Detail: fmt.Sprintf("pull request #%d of %s (connection %s)", pr.Number, ev.Repository, c.Name),
				Reason: strings.Join(reasons, "; ")}
			if err := w.svc.NoteIgnored(ctx, decl.Name, note); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func startedIn(started []StartedExecution, pipeline string) bool {
	for _, s := range started {
		if s.Pipeline == pipeline {
			return true
		}
	}
	return false
}

// startPullRequest starts decl on the pull request's head, once per head
// (and once more when it closes).
func (w *ConnectionWebhooks) startPullRequest(ctx context.Context, c *connection.Connection, ev *githost.Event, decl *pipeline.Pipeline, a pipeline.Action) (*engine.Execution, error) {
	pr := ev.PullRequest
	from := pr.SourceBranch
	if pr.HeadRepository != "" {
		from = pr.HeadRepository + ":" + pr.SourceBranch
	}
	detail := fmt.Sprintf("pull request #%d %s: %s into %s at %s (connection %s)", pr.Number, pr.Action, from, pr.DestinationBranch, short(pr.HeadCommit), c.Name)
	phase := "open" // OPEN and UPDATED of one head are one build
	if pr.Action == githost.PRClosed {
		phase = "closed"
	}
	vars := map[string]string{
		"PullRequestId": strconv.Itoa(pr.Number), "PullRequestTitle": pr.Title, "PullRequestUrl": pr.URL, "PullRequestEvent": pr.Action,
		"SourceBranch": pr.SourceBranch, "DestinationBranch": pr.DestinationBranch,
		"SourceCommitId": pr.HeadCommit, "DestinationCommitId": pr.BaseCommit,
		"BranchName": pr.SourceBranch, "CommitId": pr.HeadCommit, "FullRepositoryName": ev.Repository, "ProviderType": hostconn.ProviderType(c.Kind),
	}
	// The head is fetched from the pull request's own repository's
	// reference for it, so a fork's head is read without its clone URL;
	// and a fork's head is code its author controls, which the service
	// keeps the pipeline's secrets from (service.ForkHeadRepository).
	if pr.HeadRef != "" {
		vars[pipeline.TriggerHeadRef] = pr.HeadRef
	}
	if pr.HeadRepository != "" {
		vars[pipeline.TriggerHeadRepository] = pr.HeadRepository
	}
	return w.svc.StartExecution(ctx, service.StartRequest{
		Pipeline:         decl.Name,
		SourceRevisions:  map[string]string{a.Name: pr.HeadCommit},
		Trigger:          engine.Trigger{Type: TriggerWebhookV2, Detail: detail},
		IdempotencyKey:   fmt.Sprintf("connection/%s/pr/%s#%d/%s/%s/%s/%s", c.Name, ev.Repository, pr.Number, pr.HeadCommit, phase, decl.Name, a.Name),
		Note:             &service.TriggerNote{Type: TriggerWebhookV2, Detail: detail},
		TriggerVariables: vars,
	})
}

// supersedeScan is how many recent executions of a pipeline are looked at
// for earlier heads of a pull request.
const supersedeScan = 100

// supersede stops the executions of pipeline name still running for earlier
// heads of pull request pr of repo: their results no longer say anything
// about the pull request.
func (w *ConnectionWebhooks) supersede(ctx context.Context, name, repo string, pr *githost.PullRequest, keep string) ([]StartedExecution, error) {
	es, err := w.svc.Executions(ctx, name, 0, supersedeScan)
	if err != nil {
		return nil, err
	}
	var stopped []StartedExecution
	var errs []error
	id := strconv.Itoa(pr.Number)
	for _, e := range es {
		v := e.TriggerVariables
		if e.ID == keep || e.Status != engine.ExecutionInProgress || v["PullRequestId"] != id ||
			!strings.EqualFold(v["FullRepositoryName"], repo) || v["SourceCommitId"] == pr.HeadCommit {
			continue
		}
		reason := fmt.Sprintf("superseded: pull request #%d moved to %s", pr.Number, short(pr.HeadCommit))
		if err := w.svc.StopExecution(ctx, name, e.ID, false, reason); err != nil {
			errs = append(errs, fmt.Errorf("stop execution %s of %s: %w", e.ID, name, err))
			continue
		}
		stopped = append(stopped, StartedExecution{name, e.ID})
	}
	return stopped, errors.Join(errs...)
}

// Secrets reads sluice secrets.
type Secrets = connection.SecretReader

// HostFiles lists pull requests' files through the connection's host API.
type HostFiles struct {
	Secrets Secrets
	HTTP    *http.Client
}

// PullRequestFiles implements PullRequestFiles.
func (h HostFiles) PullRequestFiles(ctx context.Context, c *connection.Connection, repo string, number int) ([]string, error) {
	cl, err := c.OpenHostClient(ctx, h.Secrets, h.HTTP)
	if err != nil {
		return nil, err
	}
	return cl.PullRequestFiles(ctx, repo, number)
}

// ResolveCommit implements HostAPI.
func (h HostFiles) ResolveCommit(ctx context.Context, c *connection.Connection, repo, rev string) (string, error) {
	cl, err := c.OpenHostClient(ctx, h.Secrets, h.HTTP)
	if err != nil {
		return "", err
	}
	return cl.ResolveCommit(ctx, repo, rev)
}
