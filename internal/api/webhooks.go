package api

import (
	"io"
	"net/http"

	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/trigger"
	"github.com/sluice-ci/sluice/internal/webhook"
	"github.com/sluice-ci/sluice/internal/wire"
)

const maxWebhookBody = 1 << 20

func (s *Server) webhookRoutes() {
	s.handle("POST /api/v1/webhooks", "PutWebhook", resDeclaredWebhook, s.putWebhook)
	s.handle("GET /api/v1/webhooks", "ListWebhooks", resAll, s.listWebhooks)
	s.handle("DELETE /api/v1/webhooks/{name}", "DeleteWebhook", resWebhook, s.deleteWebhook)
	s.exempt("POST /webhooks/{name}", "webhook deliveries carry no sluice token: the webhook's own authentication (GITHUB_HMAC, IP, UNAUTHENTICATED) decides",
		http.HandlerFunc(s.deliverWebhook))
	s.exempt("POST /webhooks/connections/{name}", "git host deliveries carry no sluice token: the signature with the connection's webhookSecret decides",
		http.HandlerFunc(s.deliverConnectionWebhook))
}

// SetObjectVersions lets S3 event notifications that give an object's ETag
// and no version id (versitygw's) be pinned to the version it names.
func (s *Server) SetObjectVersions(v trigger.ObjectVersions) { s.hostHooks.WithObjectVersions(v) }

// deliverConnectionWebhook takes a git host connection's webhook delivery:
// 401 with the reason for a wrong or missing signature, 404 for an unknown
// connection, 202 when something started, 200 otherwise.
func (s *Server) deliverConnectionWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	if err != nil {
		s.writeError(w, r, service.Errorf(service.CodeInvalid, "read body: %v", err))
		return
	}
	if len(body) > maxWebhookBody {
		s.writeError(w, r, service.Errorf(service.CodeInvalid, "body larger than %d bytes", maxWebhookBody))
		return
	}
	res, err := s.hostHooks.Handle(r.Context(), r.PathValue("name"), r.Header, body)
	if err != nil {
		if service.ErrorCode(err) == service.CodeUnauthorized {
			s.log.Warn("connection webhook delivery refused", "connection", r.PathValue("name"), "remote", r.RemoteAddr, "err", err)
		}
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if len(res.Started) > 0 {
		status = http.StatusAccepted
	}
	writeJSON(w, status, res)
}

// resDeclaredWebhook is webhook/NAME of the webhook a PutWebhook body
// defines.
var resDeclaredWebhook = bodyResource("webhook", maxPipelineFile, func(r *http.Request, data []byte) (string, error) {
	def, err := webhook.ParseDefinition(fileName(r, "webhook"), data)
	if err != nil {
		return "", service.Errorf(service.CodeInvalid, "%s", err.Error())
	}
	return def.Name, nil
})

func (s *Server) putWebhook(w http.ResponseWriter, r *http.Request) error {
	filename := r.URL.Query().Get("filename")
	if filename == "" {
		filename = "webhook"
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxPipelineFile+1))
	if err != nil {
		return service.Errorf(service.CodeInvalid, "read request body: %v", err)
	}
	def, err := webhook.ParseDefinition(filename, data)
	if err != nil {
		return service.Errorf(service.CodeInvalid, "%s", err.Error())
	}
	if err := s.hooks.Put(r.Context(), def); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, webhookView(trigger.WebhookInfo{Definition: *def}, r))
}

func webhookView(info trigger.WebhookInfo, r *http.Request) wire.Webhook {
	d := info.Definition
	out := wire.Webhook{
		Name: d.Name, TargetPipeline: d.TargetPipeline, TargetAction: d.TargetAction,
		Authentication: d.Authentication, AllowedIPRange: d.AuthenticationConfiguration.AllowedIPRange,
		URLPath: "/webhooks/" + d.Name, Created: info.Created, Updated: info.Updated,
	}
	for _, f := range d.Filters {
		out.Filters = append(out.Filters, wire.WebhookFilter{JSONPath: f.JSONPath, MatchEquals: f.MatchEquals})
	}
	return out
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	hooks, err := s.hooks.List(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Webhooks []wire.Webhook `json:"webhooks"`
	}{Webhooks: []wire.Webhook{}}
	for _, h := range hooks {
		out.Webhooks = append(out.Webhooks, webhookView(h, r))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := s.hooks.Delete(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deliverWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	if err != nil {
		s.writeError(w, r, service.Errorf(service.CodeInvalid, "read body: %v", err))
		return
	}
	if len(body) > maxWebhookBody {
		s.writeError(w, r, service.Errorf(service.CodeInvalid, "body larger than %d bytes", maxWebhookBody))
		return
	}
	res, err := s.hooks.Handle(r.Context(), r.PathValue("name"), r, body)
	if err != nil {
		if service.ErrorCode(err) == service.CodeUnauthorized {
			s.log.Warn("webhook delivery refused", "webhook", r.PathValue("name"), "remote", r.RemoteAddr, "err", err)
		}
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if res.Started {
		status = http.StatusAccepted
	}
	writeJSON(w, status, res)
}
