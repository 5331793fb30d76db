package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/sluice-ci/sluice/internal/event"
	"github.com/sluice-ci/sluice/internal/rule"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/wire"
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
			// A function target runs with the function's role.
			if t.Function != nil {
				if info, err := s.svc.Function(r.Context(), t.Function.Name); err == nil {
					if err := s.svc.CheckFunctionRole(r.Context(), c.Policy, c.Name, info.Function); err != nil {
						return service.Errorf(service.CodeForbidden, "rule %s invokes function %s: %s", ru.Name, t.Function.Name, service.ErrorMessage(err))
					}
				}
			}
			if t.Webhook != nil && t.Webhook.Secret != "" {
				if err := c.Authorize("GetSecretValue", "secret/"+t.Webhook.Secret); err != nil {
					return service.Errorf(service.CodeForbidden, "rule %s signs with secret %s: %s", ru.Name, t.Webhook.Secret, service.ErrorMessage(err))
				}
			}
		}
	}
	res, err := s.rules.Apply(r.Context(), filename, data)
	if err != nil {
		return err
	}
	view, err := s.ruleView(res.Info)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wire.RuleApplyResult{
		Name: res.Name, Created: res.Created, Changed: res.Changed, Rule: view,
	})
}

// ruleView is a rule as declared, with what the server adds (its ARN and
// times). The declaration and wire.Rule share their JSON, which wire's tests
// hold them to, so the one becomes the other through it: no field is copied
// by hand, and none can be forgotten.
func (s *Server) ruleView(info event.RuleInfo) (wire.Rule, error) {
	var out wire.Rule
	data, err := json.Marshal(info.Rule)
	if err == nil {
		err = json.Unmarshal(data, &out)
	}
	if err != nil {
		return wire.Rule{}, fmt.Errorf("rule %s: %w", info.Rule.Name, err)
	}
	if out.Targets == nil {
		out.Targets = []wire.RuleTarget{}
	}
	out.ARN, out.Created, out.Updated = s.rules.ARN(info.Rule.Name), info.Created, info.Updated
	return out, nil
}

func (s *Server) listRules(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.rules.List(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Rules []wire.Rule `json:"rules"`
	}{Rules: []wire.Rule{}}
	for _, ru := range rules {
		view, err := s.ruleView(ru)
		if err != nil {
			return err
		}
		out.Rules = append(out.Rules, view)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getRule(w http.ResponseWriter, r *http.Request) error {
	info, err := s.rules.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	view, err := s.ruleView(info)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, view)
}

func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request) error {
	if err := s.rules.Delete(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) ruleFailures(w http.ResponseWriter, r *http.Request) error {
	fs, err := s.rules.Failures(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	out := struct {
		Failures []wire.RuleDelivery `json:"failures"`
	}{Failures: []wire.RuleDelivery{}}
	for _, f := range fs {
		d := f.Delivery
		out.Failures = append(out.Failures, wire.RuleDelivery{
			ID: d.ID, Kind: d.Kind, Target: f.To, EventID: f.EventID, Status: d.Status, Attempts: d.Attempts,
			LastError: d.LastError, Created: d.Created, Updated: d.Updated,
		})
	}
	return writeJSON(w, http.StatusOK, out)
}
