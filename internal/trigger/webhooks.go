package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/webhook"
)

// Webhooks are CodePipeline's: a definition names a pipeline and its source
// action, filters on the body and an authentication. The SecretToken is kept
// as a sluice secret, never in the stored definition, and never shown again.

// Webhooks are the webhook use cases: definitions kept in the store, and
// deliveries that start their pipelines.
type Webhooks struct{ svc Service }

// NewWebhooks returns the webhook use cases over svc.
func NewWebhooks(svc Service) *Webhooks { return &Webhooks{svc: svc} }

// WebhookInfo is a stored webhook, its secret left out.
type WebhookInfo struct {
	Definition webhook.Definition
	Created    time.Time
	Updated    time.Time
}

func webhookSecretName(name string) string { return "webhook/" + name }

// Put creates or replaces a webhook.
func (w *Webhooks) Put(ctx context.Context, def *webhook.Definition) error {
	p, err := w.svc.Pipeline(ctx, def.TargetPipeline)
	if err != nil {
		return service.Errorf(service.CodeInvalid, "targetPipeline: pipeline %s not found", def.TargetPipeline)
	}
	if err := def.CheckTarget(p.Declaration); err != nil {
		return service.Errorf(service.CodeInvalid, "%v", err)
	}
	stored := *def
	stored.AuthenticationConfiguration.SecretToken = ""
	raw, err := json.Marshal(stored)
	if err != nil {
		return err
	}
	if token := def.AuthenticationConfiguration.SecretToken; token != "" {
		if err := w.svc.PutSecret(ctx, webhookSecretName(def.Name), []byte(token)); err != nil {
			return err
		}
	}
	now := w.svc.Now()
	created := now
	if old, err := w.svc.Store().Definition(ctx, store.KindWebhook, def.Name); err == nil {
		created = old.Created
	}
	return w.svc.Store().PutDefinition(ctx, store.Definition{Kind: store.KindWebhook, Name: def.Name, Document: raw, Created: created, Updated: now})
}

// List lists the webhooks.
func (w *Webhooks) List(ctx context.Context) ([]WebhookInfo, error) {
	rows, err := w.svc.Store().Definitions(ctx, store.KindWebhook)
	if err != nil {
		return nil, err
	}
	out := make([]WebhookInfo, 0, len(rows))
	for _, r := range rows {
		w, err := decodeWebhook(r)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

func decodeWebhook(r store.Definition) (WebhookInfo, error) {
	w := WebhookInfo{Created: r.Created, Updated: r.Updated}
	if err := json.Unmarshal(r.Document, &w.Definition); err != nil {
		return w, fmt.Errorf("decode webhook %s: %w", r.Name, err)
	}
	return w, nil
}

// Delete deletes a webhook and its secret.
func (w *Webhooks) Delete(ctx context.Context, name string) error {
	if err := w.svc.Store().DeleteDefinition(ctx, store.KindWebhook, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return service.Errorf(service.CodeNotFound, "webhook %s not found", name)
		}
		return err
	}
	if err := w.svc.Store().DeleteDefinition(ctx, store.KindSecret, webhookSecretName(name)); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// WebhookResult says what a delivery did.
type WebhookResult struct {
	Started     bool   `json:"started"`
	ExecutionID string `json:"pipelineExecutionId,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// Handle checks a delivery to webhook name and, when its filters match,
// starts the target pipeline, pinned to the pushed commit when the body is a
// push the source action can build. A bad signature or address is
// Unauthorized, a malformed body Invalid; neither starts anything.
func (w *Webhooks) Handle(ctx context.Context, name string, r *http.Request, body []byte) (WebhookResult, error) {
	row, err := w.svc.Store().Definition(ctx, store.KindWebhook, name)
	if errors.Is(err, store.ErrNotFound) {
		return WebhookResult{}, service.Errorf(service.CodeNotFound, "webhook %s not found", name)
	}
	if err != nil {
		return WebhookResult{}, err
	}
	info, err := decodeWebhook(row)
	if err != nil {
		return WebhookResult{}, err
	}
	def := info.Definition
	if def.Authentication == webhook.AuthGitHubHMAC {
		token, err := w.svc.SecretValue(ctx, webhookSecretName(name))
		if err != nil {
			return WebhookResult{}, err
		}
		def.AuthenticationConfiguration.SecretToken = string(token)
	}
	if err := def.Authenticate(r, body); err != nil {
		if errors.Is(err, webhook.ErrUnauthorized) {
			return WebhookResult{}, service.Errorf(service.CodeUnauthorized, "webhook %s: %s", name, webhookReason(err))
		}
		return WebhookResult{}, service.Errorf(service.CodeInvalid, "webhook %s: %s", name, webhookReason(err))
	}
	p, err := w.svc.Pipeline(ctx, def.TargetPipeline)
	if err != nil {
		return WebhookResult{}, err
	}
	action, ok := findAction(p.Declaration, def.TargetAction)
	if !ok {
		return WebhookResult{}, service.Errorf(service.CodeConflict, "webhook %s: pipeline %s no longer has action %s", name, def.TargetPipeline, def.TargetAction)
	}
	matched, err := def.Match(body, func(key string) string { return action.Configuration[key] })
	if err != nil {
		return WebhookResult{}, service.Errorf(service.CodeInvalid, "webhook %s: %s", name, webhookReason(err))
	}
	push, err := webhook.ParsePush(r, body)
	if err != nil {
		return WebhookResult{}, service.Errorf(service.CodeInvalid, "webhook %s: %s", name, webhookReason(err))
	}
	detail := "webhook " + name
	if push.Ref != "" {
		detail += fmt.Sprintf(": %s %s", push.Ref, short(push.After))
		if push.Pusher != "" {
			detail += " by " + push.Pusher
		}
	}
	note := service.TriggerNote{Type: service.TriggerWebhook, Detail: detail}
	if !matched || push.Deleted {
		reason := "the body matches no filter of the webhook"
		if push.Deleted {
			reason = push.Ref + " was deleted"
		}
		note.Reason = reason
		return WebhookResult{Reason: reason}, w.svc.NoteIgnored(ctx, def.TargetPipeline, note)
	}
	req := service.StartRequest{
		Pipeline: def.TargetPipeline,
		Trigger:  engine.Trigger{Type: service.TriggerWebhook, Detail: detail},
		Note:     &note,
	}
	if action.ActionTypeID.Category == pipeline.CategorySource && isCommitID(push.After) {
		req.SourceRevisions = map[string]string{action.Name: push.After}
	}
	if id := deliveryID(r); id != "" {
		req.IdempotencyKey = "webhook/" + name + "/" + id
	}
	e, err := w.svc.StartExecution(ctx, req)
	if errors.Is(err, service.ErrAlreadyStarted) {
		return WebhookResult{Reason: "this delivery was handled already"}, nil
	}
	if err != nil {
		return WebhookResult{}, err
	}
	return WebhookResult{Started: true, ExecutionID: e.ID}, nil
}

// deliveryID is the id a git host gives each delivery, so that a redelivery
// starts nothing new.
func deliveryID(r *http.Request) string {
	for _, h := range []string{"X-GitHub-Delivery", "X-Gitea-Delivery", "X-Gitlab-Event-UUID"} {
		if v := r.Header.Get(h); v != "" {
			return h + "/" + v
		}
	}
	return ""
}

func isCommitID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return s != "0000000000000000000000000000000000000000"
}

func findAction(decl *pipeline.Pipeline, name string) (pipeline.Action, bool) {
	for _, st := range decl.Stages {
		for _, a := range st.Actions {
			if a.Name == name {
				return a, true
			}
		}
	}
	return pipeline.Action{}, false
}

// webhookReason is a webhook error's message without the package's own prefix,
// which the caller's "webhook NAME:" replaces.
func webhookReason(err error) string {
	return strings.TrimPrefix(err.Error(), "webhook: ")
}
