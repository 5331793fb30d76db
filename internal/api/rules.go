package api

import (
	"io"
	"net/http"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/rule"
	"github.com/sluice-ci/sluice/internal/service"
)

func (s *Server) ruleRoutes() {
	s.handle("POST /api/v1/rules", "PutRule", resDeclaredRule, s.applyRule)
	s.handle("GET /api/v1/rules", "ListRules", resAll, s.listRules)
	s.handle("GET /api/v1/rules/{name}", "GetRule", resRule, s.getRule)
	s.handle("DELETE /api/v1/rules/{name}", "DeleteRule", resRule, s.deleteRule)
	s.handle("GET /api/v1/rules/{name}/failures", "ListRuleFailures", resRule, s.ruleFailures)
}

var resRule = pathResource("rule", "name")

// resDeclaredRule is rule/NAME of the rule a PutRule body defines.
var resDeclaredRule = bodyResource("rule", maxPipelineFile, func(r *http.Request, data []byte) (string, error) {
	ru, err := rule.Parse(fileName(r, "rule"), data)
	if err != nil {
		return "", service.Errorf(service.CodeInvalid, "%s", err.Error())
	}
	return ru.Name, nil
})

func (s *Server) applyRule(w http.ResponseWriter, r *http.Request) error {
	filename := fileName(r, "rule")
	data, err := io.ReadAll(io.LimitReader(r.Body, maxPipelineFile+1))
	if err != nil {
		return service.Errorf(service.CodeInvalid, "read request body: %v", err)
	}
	if len(data) > maxPipelineFile {
		return service.Errorf(service.CodeInvalid, "%s: larger than %d bytes", filename, maxPipelineFile)
	}
	// A webhook target signs what it sends with a sluice secret, to a URL
	// the rule's author chose: using a secret so needs the right to read it.
	if ru, err := rule.Parse(filename, data); err == nil {
		c := caller(r)
		for _, t := range ru.Targets {
			if t.Webhook != nil && t.Webhook.Secret != "" {
				if err := c.Authorize("GetSecretValue", "secret/"+t.Webhook.Secret); err != nil {
					return service.Errorf(service.CodeForbidden, "rule %s signs with secret %s: %s", ru.Name, t.Webhook.Secret, service.ErrorMessage(err))
				}
			}
		}
	}
	res, err := s.svc.ApplyRule(r.Context(), filename, data)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, client.RuleApplyResult{
		Name: res.Name, Created: res.Created, Changed: res.Changed, Rule: s.ruleView(res.Info),
	})
}

func (s *Server) ruleView(info service.RuleInfo) client.Rule {
	r := info.Rule
	out := client.Rule{
		Name: r.Name, Description: r.Description, EventPattern: r.EventPattern, ScheduleExpression: r.ScheduleExpression,
		State: r.State, ARN: s.svc.RuleARN(r.Name), Targets: []client.RuleTarget{}, Created: info.Created, Updated: info.Updated,
	}
	for _, t := range r.Targets {
		var ct client.RuleTarget
		switch {
		case t.Webhook != nil:
			w := t.Webhook
			ct.Webhook = &client.RuleWebhook{URL: w.URL, Secret: w.Secret, Headers: w.Headers,
				InputTransformer: transformerView(w.InputTransformer), RetryFor: w.RetryFor}
		case t.Pipeline != nil:
			p := t.Pipeline
			ct.Pipeline = &client.RulePipeline{Name: p.Name, Variables: p.Variables, RetryFor: p.RetryFor}
		case t.Function != nil:
			f := t.Function
			ct.Function = &client.RuleFunction{Name: f.Name, InputTransformer: transformerView(f.InputTransformer), RetryFor: f.RetryFor}
		case t.Email != nil:
			e := t.Email
			ct.Email = &client.RuleEmail{To: e.To, InputTransformer: transformerView(e.InputTransformer), RetryFor: e.RetryFor}
		}
		out.Targets = append(out.Targets, ct)
	}
	return out
}

func transformerView(t *rule.InputTransformer) *client.InputTransformer {
	if t == nil {
		return nil
	}
	return &client.InputTransformer{InputPathsMap: t.InputPathsMap, InputTemplate: t.InputTemplate}
}

func (s *Server) listRules(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.svc.Rules(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Rules []client.Rule `json:"rules"`
	}{Rules: []client.Rule{}}
	for _, ru := range rules {
		out.Rules = append(out.Rules, s.ruleView(ru))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getRule(w http.ResponseWriter, r *http.Request) error {
	info, err := s.svc.Rule(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.ruleView(info))
}

func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeleteRule(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) ruleFailures(w http.ResponseWriter, r *http.Request) error {
	fs, err := s.svc.RuleFailures(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	out := struct {
		Failures []client.RuleDelivery `json:"failures"`
	}{Failures: []client.RuleDelivery{}}
	for _, f := range fs {
		d := f.Delivery
		out.Failures = append(out.Failures, client.RuleDelivery{
			ID: d.ID, Kind: d.Kind, Target: f.To, EventID: f.EventID, Status: d.Status, Attempts: d.Attempts,
			LastError: d.LastError, Created: d.Created, Updated: d.Updated,
		})
	}
	return writeJSON(w, http.StatusOK, out)
}
