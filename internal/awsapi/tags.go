package awsapi

import (
	"context"
	"sort"
	"strings"

	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/trigger"
)

// Tags of pipelines and webhooks, by ARN. Tagging is changing the resource
// (sluice:PutPipeline, sluice:PutWebhook), listing its tags reading it
// (sluice:GetPipeline, sluice:ListWebhooks).

func (h *Handler) tagOperations(ops map[string]operation) {
	errs := errorNames{notFound: "ResourceNotFoundException", conflict: "TooManyTagsException", invalid: "InvalidTagsException"}
	change := map[string]string{"pipeline": "PutPipeline", "webhook": "PutWebhook"}
	read := map[string]string{"pipeline": "GetPipeline", "webhook": "ListWebhooks"}
	ops["TagResource"] = operation{action: "PutPipeline", actionOf: change, resource: h.arnResource, run: h.tagResource, errs: errs}
	ops["UntagResource"] = operation{action: "PutPipeline", actionOf: change, resource: h.arnResource, run: h.untagResource, errs: errs}
	ops["ListTagsForResource"] = operation{action: "GetPipeline", actionOf: read, resource: h.arnResource, run: h.listTags, errs: errs}
}

// arnResource is TYPE/NAME of the body's resourceArn: a pipeline or a
// webhook of this server's region and account.
func (h *Handler) arnResource(body []byte) (string, error) {
	var in struct {
		ResourceArn string `json:"resourceArn"`
	}
	if err := decodeInput(body, &in); err != nil {
		return "", err
	}
	if name, ok := h.id.PipelineName(in.ResourceArn); ok {
		return "pipeline/" + name, nil
	}
	if name, ok := strings.CutPrefix(in.ResourceArn, h.id.WebhookARN("")); ok && name != "" && !strings.ContainsAny(name, ":/") {
		return "webhook/" + name, nil
	}
	return "", &Error{Type: "InvalidArnException", Status: 400,
		Message: "resourceArn " + in.ResourceArn + ": sluice tags pipelines (" + h.id.PipelineARN("NAME") + ") and webhooks (" + h.id.WebhookARN("NAME") + ")"}
}

// taggable returns the ARN of the body's resource once it is known to exist.
func (h *Handler) taggable(ctx context.Context, body []byte) (string, error) {
	res, err := h.arnResource(body)
	if err != nil {
		return "", err
	}
	typ, name, _ := strings.Cut(res, "/")
	switch typ {
	case "pipeline":
		if _, err := h.svc.Pipeline(ctx, name); err != nil {
			if service.ErrorCode(err) == service.CodeNotFound {
				return "", &Error{Type: "ResourceNotFoundException", Status: 400, Message: "pipeline " + name + " not found"}
			}
			return "", err
		}
		return h.id.PipelineARN(name), nil
	default:
		hooks, err := trigger.NewWebhooks(h.svc).List(ctx)
		if err != nil {
			return "", err
		}
		for _, w := range hooks {
			if w.Definition.Name == name {
				return h.id.WebhookARN(name), nil
			}
		}
		return "", &Error{Type: "ResourceNotFoundException", Status: 400, Message: "webhook " + name + " not found"}
	}
}

func (h *Handler) tagResource(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		Tags []tag `json:"tags"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	arn, err := h.taggable(ctx, body)
	if err != nil {
		return nil, err
	}
	add := map[string]string{}
	for _, t := range in.Tags {
		add[t.Key] = t.Value
	}
	return nil, h.svc.TagResource(ctx, arn, add, nil)
}

func (h *Handler) untagResource(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		TagKeys []string `json:"tagKeys"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	arn, err := h.taggable(ctx, body)
	if err != nil {
		return nil, err
	}
	return nil, h.svc.TagResource(ctx, arn, nil, in.TagKeys)
}

func (h *Handler) listTags(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		NextToken string `json:"nextToken"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if in.NextToken != "" {
		// At most 50 tags: they fit in one page.
		if _, err := decodeToken("tags", in.NextToken); err != nil {
			return nil, err
		}
	}
	arn, err := h.taggable(ctx, body)
	if err != nil {
		return nil, err
	}
	tags, err := h.svc.ResourceTags(ctx, arn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"tags": tagList(tags)}, nil
}

func tagList(tags map[string]string) []tag {
	out := []tag{}
	for k, v := range tags {
		out = append(out, tag{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
