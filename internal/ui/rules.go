package ui

import (
	"net/http"

	"github.com/sluice-ci/sluice/internal/event"
)

// rulesPage lists the event rules with their dead letters: deliveries that
// never got through and are no longer retried.
type rulesPage struct {
	Rules []ruleView
}

type ruleView struct {
	event.RuleInfo
	Targets     []string
	CanFailures bool
	Failures    []event.RuleDelivery
}

// The page follows every change, failed deliveries among them.
func (rulesPage) liveURL() string { return Prefix + "live" }

func (rulesPage) navKey() string { return "rules" }

// failuresShown bounds the dead letters listed per rule.
const failuresShown = 20

func (s *Server) rulesPage(w http.ResponseWriter, r *http.Request, c *call) error {
	rules, err := s.rules.List(r.Context())
	if err != nil {
		return err
	}
	page := rulesPage{}
	for _, ri := range rules {
		rv := ruleView{RuleInfo: ri, CanFailures: c.perm.Can(actListRuleFailures, "rule/"+ri.Rule.Name)}
		for _, t := range ri.Rule.Targets {
			rv.Targets = append(rv.Targets, t.Describe())
		}
		if rv.CanFailures {
			fs, err := s.rules.Failures(r.Context(), ri.Rule.Name)
			if err != nil {
				return err
			}
			if len(fs) > failuresShown {
				fs = fs[:failuresShown]
			}
			rv.Failures = fs
		}
		page.Rules = append(page.Rules, rv)
	}
	s.render(w, r, c, "rules", "Rules", page)
	return nil
}
