package awsapi

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/trigger"
	"github.com/sluice-ci/sluice/internal/webhook"
)

// Webhooks: CodePipeline's PutWebhook, ListWebhooks and DeleteWebhook are
// sluice's own webhooks (whose definitions are CodePipeline's shape), served
// at /webhooks/NAME.

func (h *Handler) webhookOperations(ops map[string]operation) {
	hooks := trigger.NewWebhooks(h.svc)
	errs := errorNames{notFound: "WebhookNotFoundException", invalid: "InvalidWebhookFilterPatternException"}
	ops["PutWebhook"] = operation{action: "PutWebhook", resource: webhookResource("webhook.name"), run: h.putWebhook(hooks), errs: errs}
	ops["ListWebhooks"] = operation{action: "ListWebhooks", resource: all, run: h.listWebhooks(hooks), errs: errs}
	ops["DeleteWebhook"] = operation{action: "DeleteWebhook", resource: webhookResource("name"), run: h.deleteWebhook(hooks), errs: errs}
}

// webhookResource is webhook/NAME of the name at field of the body.
func webhookResource(field string) func([]byte) (string, error) {
	byPipeline := resourceOf(field)
	return func(body []byte) (string, error) {
		res, err := byPipeline(body)
		if err != nil {
			return "", err
		}
		return "webhook/" + res[len("pipeline/"):], nil
	}
}

// webhookItem is a webhook as ListWebhooks shows it; its secret is never
// shown.
func (h *Handler) webhookItem(info trigger.WebhookInfo) map[string]any {
	d := info.Definition.Redacted()
	raw, _ := json.Marshal(d)
	var def map[string]any
	_ = json.Unmarshal(raw, &def)
	if def["filters"] == nil {
		def["filters"] = []any{}
	}
	item := map[string]any{
		"definition": def,
		"url":        h.cfg.BaseURL + "/webhooks/" + d.Name,
		"arn":        h.id.WebhookARN(d.Name),
	}
	return item
}

func (h *Handler) putWebhook(hooks *trigger.Webhooks) func(context.Context, *call, []byte) (any, error) {
	return func(ctx context.Context, c *call, body []byte) (any, error) {
		def, err := webhook.ParseDefinition("PutWebhook request", body)
		if err != nil {
			return nil, service.Errorf(service.CodeInvalid, "%s", err.Error())
		}
		if err := hooks.Put(ctx, def); err != nil {
			if service.ErrorCode(err) == service.CodeInvalid {
				if _, perr := h.svc.Pipeline(ctx, def.TargetPipeline); service.ErrorCode(perr) == service.CodeNotFound {
					return nil, &Error{Type: "PipelineNotFoundException", Status: 400, Message: service.ErrorMessage(err)}
				}
			}
			return nil, err
		}
		return map[string]any{"webhook": h.webhookItem(trigger.WebhookInfo{Definition: *def})}, nil
	}
}

func (h *Handler) listWebhooks(hooks *trigger.Webhooks) func(context.Context, *call, []byte) (any, error) {
	return func(ctx context.Context, c *call, body []byte) (any, error) {
		// ListWebhooks alone of CodePipeline's operations capitalises these.
		var in struct {
			NextToken  string `json:"NextToken"`
			MaxResults int    `json:"MaxResults"`
		}
		if err := decodeInput(body, &in); err != nil {
			return nil, err
		}
		limit, err := maxResults(in.MaxResults, 100, 100)
		if err != nil {
			return nil, err
		}
		after := ""
		if in.NextToken != "" {
			if after, err = decodeToken("webhooks", in.NextToken); err != nil {
				return nil, err
			}
		}
		list, err := hooks.List(ctx)
		if err != nil {
			return nil, err
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Definition.Name < list[j].Definition.Name })
		items := []map[string]any{}
		next := ""
		for _, w := range list {
			if after != "" && w.Definition.Name <= after {
				continue
			}
			if len(items) == limit {
				next = encodeToken("webhooks", items[limit-1]["definition"].(map[string]any)["name"].(string))
				break
			}
			items = append(items, h.webhookItem(w))
		}
		out := map[string]any{"webhooks": items}
		if next != "" {
			out["NextToken"] = next
		}
		return out, nil
	}
}

func (h *Handler) deleteWebhook(hooks *trigger.Webhooks) func(context.Context, *call, []byte) (any, error) {
	return func(ctx context.Context, c *call, body []byte) (any, error) {
		var in struct {
			Name string `json:"name"`
		}
		if err := decodeInput(body, &in); err != nil {
			return nil, err
		}
		err := hooks.Delete(ctx, in.Name)
		if service.ErrorCode(err) == service.CodeNotFound {
			// CodePipeline answers the deletion of a webhook that does
			// not exist with success.
			return nil, nil
		}
		return nil, err
	}
}
