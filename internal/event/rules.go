package event

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-ci/sluice/internal/rule"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
)

// Rules are the rule use cases: apply, list, read and delete rules, and list
// a rule's dead letters.
type Rules struct{ svc Service }

// NewRules returns the rule use cases over svc.
func NewRules(svc Service) *Rules { return &Rules{svc: svc} }

// RuleInfo is a stored rule.
type RuleInfo struct {
	Rule    rule.Rule
	Created time.Time
	Updated time.Time
}

// RuleApplyResult says what applying a rule did.
type RuleApplyResult struct {
	Name    string
	Created bool
	Changed bool
	Info    RuleInfo
}

// Apply reads a rule file (YAML or JSON, told apart by filename), checks
// it and stores it, creating or replacing the rule of its name.
func (rs *Rules) Apply(ctx context.Context, filename string, data []byte) (RuleApplyResult, error) {
	r, err := rule.Parse(filename, data)
	if err != nil {
		return RuleApplyResult{}, service.Errorf(service.CodeInvalid, "%s", err.Error())
	}
	return rs.Put(ctx, r)
}

// Put checks r and stores it. Storing the same definition again changes
// nothing. A rule sees the events written after it was created.
func (rs *Rules) Put(ctx context.Context, r *rule.Rule) (RuleApplyResult, error) {
	if err := r.Validate(); err != nil {
		return RuleApplyResult{}, service.Errorf(service.CodeInvalid, "%v", err)
	}
	for i, t := range r.Targets {
		if t.Webhook == nil || t.Webhook.Secret == "" {
			continue
		}
		if _, err := rs.svc.Store().Definition(ctx, store.KindSecret, t.Webhook.Secret); errors.Is(err, store.ErrNotFound) {
			return RuleApplyResult{}, service.Errorf(service.CodeInvalid, "targets[%d].webhook.secret: there is no secret %s (sluice secret put %s)", i, t.Webhook.Secret, t.Webhook.Secret)
		} else if err != nil {
			return RuleApplyResult{}, err
		}
	}
	raw, err := json.Marshal(r)
	if err != nil {
		return RuleApplyResult{}, err
	}
	res := RuleApplyResult{Name: r.Name, Created: true, Changed: true}
	now := rs.svc.Now()
	row := store.Definition{Kind: store.KindRule, Name: r.Name, Document: raw, Created: now, Updated: now}
	old, err := rs.svc.Store().Definition(ctx, store.KindRule, r.Name)
	switch {
	case err == nil:
		res.Created = false
		row.Created = old.Created
		if canonicalJSON(old.Document, &rule.Rule{}) == string(raw) {
			res.Changed = false
			res.Info, err = decodeRule(old)
			return res, err
		}
	case !errors.Is(err, store.ErrNotFound):
		return RuleApplyResult{}, err
	}
	if err := rs.svc.Store().PutDefinition(ctx, row); err != nil {
		return RuleApplyResult{}, err
	}
	res.Info = RuleInfo{Rule: *r, Created: row.Created, Updated: row.Updated}
	return res, nil
}

// List lists the rules by name.
func (rs *Rules) List(ctx context.Context) ([]RuleInfo, error) {
	rows, err := rs.svc.Store().Definitions(ctx, store.KindRule)
	if err != nil {
		return nil, err
	}
	out := make([]RuleInfo, 0, len(rows))
	for _, r := range rows {
		info, err := decodeRule(r)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// Get returns one rule.
func (rs *Rules) Get(ctx context.Context, name string) (RuleInfo, error) {
	row, err := rs.svc.Store().Definition(ctx, store.KindRule, name)
	if errors.Is(err, store.ErrNotFound) {
		return RuleInfo{}, service.Errorf(service.CodeNotFound, "rule %s not found", name)
	}
	if err != nil {
		return RuleInfo{}, err
	}
	return decodeRule(row)
}

func decodeRule(row store.Definition) (RuleInfo, error) {
	info := RuleInfo{Created: row.Created, Updated: row.Updated}
	if err := json.Unmarshal(row.Document, &info.Rule); err != nil {
		return info, fmt.Errorf("decode rule %s: %w", row.Name, err)
	}
	return info, nil
}

// Delete deletes a rule. What it queued is still sent; its dead letters
// stay listed.
func (rs *Rules) Delete(ctx context.Context, name string) error {
	if err := rs.svc.Store().DeleteDefinition(ctx, store.KindRule, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return service.Errorf(service.CodeNotFound, "rule %s not found", name)
		}
		return err
	}
	return nil
}

// maxRuleDeliveries bounds how many of a rule's latest deliveries are looked
// through for its dead letters.
const maxRuleDeliveries = 1000

// RuleDelivery is a delivery of a rule, with where it goes in a few words
// and the event it carries.
type RuleDelivery struct {
	Delivery store.Delivery
	To       string
	EventID  string
}

// Failures lists a rule's dead letters, newest first: deliveries that
// never got through and are no longer retried, with their attempts and last
// error. They outlive the rule.
func (rs *Rules) Failures(ctx context.Context, name string) ([]RuleDelivery, error) {
	failed, err := rs.svc.Store().DeliveriesIn(ctx, ruleSource(name), store.DeliveryFailed, maxRuleDeliveries)
	if err != nil {
		return nil, err
	}
	if len(failed) == 0 {
		if _, err := rs.Get(ctx, name); err != nil {
			return nil, err
		}
	}
	out := []RuleDelivery{}
	for _, d := range failed {
		out = append(out, ruleDelivery(d))
	}
	return out, nil
}

func ruleDelivery(d store.Delivery) RuleDelivery {
	var t ruleTarget
	_ = json.Unmarshal(d.Target, &t)
	rd := RuleDelivery{Delivery: d, EventID: t.EventID}
	switch d.Kind {
	case rule.KindWebhook:
		rd.To = rule.Target{Webhook: &rule.WebhookTarget{URL: t.URL}}.Describe()
	case rule.KindEmail:
		rd.To = rule.Target{Email: &rule.EmailTarget{To: t.Recipients}}.Describe()
	case rule.KindPipeline:
		rd.To = "pipeline " + t.Pipeline
	case rule.KindFunction:
		rd.To = "function " + t.Function
	}
	return rd
}

func ruleSource(name string) string { return "rule/" + name }

// ARN names a rule as EventBridge's ARNs do.
func (rs *Rules) ARN(name string) string { return rule.ARN(rs.svc.AWS(), name) }

// canonicalJSON re-encodes a stored definition through v, so that a
// definition stored by an older sluice compares equal to the same one encoded
// now; "" when it does not decode. (The service has its own, for the
// definitions it keeps.)
func canonicalJSON(raw []byte, v any) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		return ""
	}
	out, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(out)
}
