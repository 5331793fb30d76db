package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sluice-ci/sluice/internal/eventpattern"
	"github.com/sluice-ci/sluice/internal/follow"
	"github.com/sluice-ci/sluice/internal/function"
	"github.com/sluice-ci/sluice/internal/rule"
	"github.com/sluice-ci/sluice/internal/schedule"
	"github.com/sluice-ci/sluice/internal/store"
)

// Rules are EventBridge's rules over sluice's events. The rule runner reads
// the event log from a cursor of its own ("rules"), as the reactor does, and
// for each event an enabled rule matches inserts one delivery per target
// into the deliveries table (id rule/RULE/EVENTSEQ/TARGET, source
// rule/RULE); the cursor moves only once they are written, and writing one
// twice is a no-op, so every match is delivered at least once, crash or not.
// Events are matched as the API shows them: EventBridge's envelope around
// CodePipeline's detail. Scheduled rules fire as pipeline schedules do and
// deliver a "Scheduled Event" from "sluice.events". The deliverer
// (deliveries.go) sends what was queued: webhooks, mail, pipeline starts and
// function invocations, retried for the target's retryFor.

const rulesCursor = "rules"

// Events from sluice's scheduler.
const (
	ScheduledEventType   = "Scheduled Event"
	ScheduledEventSource = "sluice.events"
)

// FunctionInvoker runs a sluice function with an input of the caller's, for
// rule targets of kind function (functions otherwise run on workers). The
// deliverer calls it from its goroutines, up to DeliveryConfig.Concurrency at
// once. It returns nil once the function has taken the input (a command
// exited 0, a URL answered 2xx), an error otherwise; it bounds the call by the
// function's timeoutInMinutes and stops when ctx ends. The same delivery may
// be handed over again after a failure or a crash: at least once.
type FunctionInvoker interface {
	InvokeFunction(ctx context.Context, fn function.Function, input []byte) error
}

// SetFunctionInvoker wires what runs function targets; without one they
// fail for good.
func (s *Service) SetFunctionInvoker(fi FunctionInvoker) {
	s.rules.mu.Lock()
	s.rules.invoker = fi
	s.rules.mu.Unlock()
}

func (s *Service) functionInvoker() FunctionInvoker {
	s.rules.mu.Lock()
	defer s.rules.mu.Unlock()
	return s.rules.invoker
}

// ruleState is the rule runner's cache of compiled rules, and its wiring.
type ruleState struct {
	follower *follow.Follower // reads the event log; one round at a time
	mu       sync.Mutex
	invoker  FunctionInvoker
	compiled map[string]*compiledRule
	set      *eventpattern.Set
	// The current round's rules and how many deliveries it queued; only
	// the follower's round touches them.
	batchSet   *eventpattern.Set
	batchRules map[string]*compiledRule
	queued     int
}

type compiledRule struct {
	def          rule.Rule
	raw          []byte
	created      time.Time
	updated      time.Time
	createdSeq   int64                       // the rule sees events with a greater Seq
	transformers []*eventpattern.Transformer // per target, nil without one
}

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

// ApplyRule reads a rule file (YAML or JSON, told apart by filename), checks
// it and stores it, creating or replacing the rule of its name.
func (s *Service) ApplyRule(ctx context.Context, filename string, data []byte) (RuleApplyResult, error) {
	r, err := rule.Parse(filename, data)
	if err != nil {
		return RuleApplyResult{}, Errorf(CodeInvalid, "%s", err.Error())
	}
	return s.PutRule(ctx, r)
}

// PutRule checks r and stores it. Storing the same definition again changes
// nothing. A rule sees the events written after it was created.
func (s *Service) PutRule(ctx context.Context, r *rule.Rule) (RuleApplyResult, error) {
	if err := r.Validate(); err != nil {
		return RuleApplyResult{}, Errorf(CodeInvalid, "%v", err)
	}
	for i, t := range r.Targets {
		if t.Webhook == nil || t.Webhook.Secret == "" {
			continue
		}
		if _, err := s.store.Definition(ctx, store.KindSecret, t.Webhook.Secret); errors.Is(err, store.ErrNotFound) {
			return RuleApplyResult{}, Errorf(CodeInvalid, "targets[%d].webhook.secret: there is no secret %s (sluice secret put %s)", i, t.Webhook.Secret, t.Webhook.Secret)
		} else if err != nil {
			return RuleApplyResult{}, err
		}
	}
	raw, err := json.Marshal(r)
	if err != nil {
		return RuleApplyResult{}, err
	}
	res := RuleApplyResult{Name: r.Name, Created: true, Changed: true}
	now := s.now()
	row := store.Definition{Kind: store.KindRule, Name: r.Name, Document: raw, Created: now, Updated: now}
	old, err := s.store.Definition(ctx, store.KindRule, r.Name)
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
	if err := s.store.PutDefinition(ctx, row); err != nil {
		return RuleApplyResult{}, err
	}
	res.Info = RuleInfo{Rule: *r, Created: row.Created, Updated: row.Updated}
	return res, nil
}

// Rules lists the rules by name.
func (s *Service) Rules(ctx context.Context) ([]RuleInfo, error) {
	rows, err := s.store.Definitions(ctx, store.KindRule)
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

// Rule returns one rule.
func (s *Service) Rule(ctx context.Context, name string) (RuleInfo, error) {
	row, err := s.store.Definition(ctx, store.KindRule, name)
	if errors.Is(err, store.ErrNotFound) {
		return RuleInfo{}, Errorf(CodeNotFound, "rule %s not found", name)
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

// DeleteRule deletes a rule. What it queued is still sent; its dead letters
// stay listed.
func (s *Service) DeleteRule(ctx context.Context, name string) error {
	if err := s.store.DeleteDefinition(ctx, store.KindRule, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Errorf(CodeNotFound, "rule %s not found", name)
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

// RuleFailures lists a rule's dead letters, newest first: deliveries that
// never got through and are no longer retried, with their attempts and last
// error. They outlive the rule.
func (s *Service) RuleFailures(ctx context.Context, name string) ([]RuleDelivery, error) {
	failed, err := s.store.DeliveriesIn(ctx, ruleSource(name), store.DeliveryFailed, maxRuleDeliveries)
	if err != nil {
		return nil, err
	}
	if len(failed) == 0 {
		if _, err := s.Rule(ctx, name); err != nil {
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

// ---- the runner ----

// RunRules follows the event log for rules, and fires scheduled rules, until
// ctx ends. It wakes at once when an execution changes (the notifier the
// reactor waits on too), and looks every second anyway.
func (s *Service) RunRules(ctx context.Context) {
	s.rules.follower.Run(ctx, s.changed.wait, time.Second, func(ctx context.Context) {
		if err := s.RuleSchedulesOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("scheduled rules", "err", err)
		}
	})
}

// rulesBatch is how many events one RulesOnce reads.
const rulesBatch = 500

// newRuleFollower is the rule runner's follower of the event log: it
// compiles the rules once per batch, matches each event against them and
// wakes the deliverer when it queued something.
func (s *Service) newRuleFollower() *follow.Follower {
	st := &s.rules
	return &follow.Follower{
		Log: s.store, Cursor: rulesCursor, Batch: rulesBatch, Now: s.now, Logger: s.log,
		What: "match events against rules",
		Begin: func(ctx context.Context) error {
			var err error
			st.batchSet, st.batchRules, err = s.loadRules(ctx)
			st.queued = 0
			return err
		},
		Handle: func(ctx context.Context, r store.Event) error {
			ev, err := s.eventOf(r)
			if err != nil || st.batchSet.Len() == 0 {
				return err
			}
			q, err := s.ruleEvent(ctx, st.batchSet, st.batchRules, ev)
			st.queued += q
			return err
		},
		End: func(context.Context) {
			if st.queued > 0 {
				s.deliveriesQueued.broadcast()
			}
		},
	}
}

// RulesOnce matches the events written since the last call against the
// rules, queues the deliveries of every match, and reports how many events
// it read. An event whose deliveries cannot be written is tried again by the
// next call, up to three times, then skipped with an error in the log.
func (s *Service) RulesOnce(ctx context.Context) (int, error) { return s.rules.follower.Once(ctx) }

// ruleEvent queues the deliveries of the rules one event matches.
func (s *Service) ruleEvent(ctx context.Context, set *eventpattern.Set, compiled map[string]*compiledRule, ev Event) (int, error) {
	raw, err := json.Marshal(ev)
	if err != nil {
		return 0, err
	}
	m, err := eventpattern.DecodeEvent(raw)
	if err != nil {
		return 0, err
	}
	queued := 0
	for _, name := range set.Matching(m) {
		cr := compiled[name]
		// A rule sees what happened after it was made, as EventBridge's do.
		// "After" is by the events' sequence, not by clocks, which replicas
		// do not share.
		if cr == nil || !cr.def.IsEnabled() || ev.Seq <= cr.createdSeq {
			continue
		}
		q, err := s.queueRuleDeliveries(ctx, cr, fmt.Sprint(ev.Seq), raw, m, ev.ID, ev.Time)
		queued += q
		if err != nil {
			return queued, err
		}
	}
	return queued, nil
}

// ruleTarget is a rule delivery's target document: what the deliverer needs
// to send it (see deliveryTarget, which reads it).
type ruleTarget struct {
	Rule        string            `json:"rule"`
	URL         string            `json:"url,omitempty"`
	Secret      string            `json:"secret,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Recipients  []string          `json:"recipients,omitempty"`
	Pipeline    string            `json:"pipeline,omitempty"`
	Variables   map[string]string `json:"variables,omitempty"`
	Function    string            `json:"function,omitempty"`
	EventID     string            `json:"eventId,omitempty"`
	Transformed bool              `json:"transformed,omitempty"` // the payload is the input transformer's output
	RetryFor    string            `json:"retryFor"`
}

// queueRuleDeliveries inserts one delivery per target of a rule for one
// event (key: the event's sequence, or a schedule's tick).
func (s *Service) queueRuleDeliveries(ctx context.Context, cr *compiledRule, key string, raw []byte, m map[string]any, eventID string, at time.Time) (int, error) {
	now := s.now()
	r := cr.def
	for i, t := range r.Targets {
		rt := ruleTarget{Rule: r.Name, EventID: eventID, RetryFor: t.RetryFor().String()}
		switch {
		case t.Webhook != nil:
			rt.URL, rt.Secret, rt.Headers = t.Webhook.URL, t.Webhook.Secret, t.Webhook.Headers
		case t.Email != nil:
			rt.Recipients = t.Email.To
		case t.Pipeline != nil:
			rt.Pipeline, rt.Variables = t.Pipeline.Name, t.Pipeline.Variables
		case t.Function != nil:
			rt.Function = t.Function.Name
		}
		d := store.Delivery{
			ID: fmt.Sprintf("rule/%s/%s/%d", r.Name, key, i), Kind: t.Kind(), Source: ruleSource(r.Name),
			Payload: raw, Next: now, Created: now, Updated: now,
		}
		if tr := cr.transformers[i]; tr != nil {
			rt.Transformed = true
			out, err := tr.Apply(m, eventpattern.Predefined{RuleName: r.Name, RuleARN: rule.ARN(s.region, r.Name), IngestionTime: at})
			if err != nil {
				// Nothing to send: a dead letter at once, saying why.
				d.Status, d.LastError, d.Payload = store.DeliveryFailed, err.Error(), raw
			} else {
				d.Payload = out
			}
		}
		target, err := json.Marshal(rt)
		if err != nil {
			return i, err
		}
		d.Target = target
		if err := s.store.InsertDelivery(ctx, d); err != nil {
			return i, err
		}
	}
	return len(r.Targets), nil
}

// loadRules returns the event rules' set and the compiled rules, compiling
// only what changed since the last call.
func (s *Service) loadRules(ctx context.Context) (*eventpattern.Set, map[string]*compiledRule, error) {
	rows, err := s.store.Definitions(ctx, store.KindRule)
	if err != nil {
		return nil, nil, err
	}
	st := &s.rules
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.compiled == nil {
		st.compiled = map[string]*compiledRule{}
	}
	changed := st.set == nil
	seen := make(map[string]bool, len(rows))
	for _, row := range rows {
		seen[row.Name] = true
		if c, ok := st.compiled[row.Name]; ok && c.updated.Equal(row.Updated) && bytes.Equal(c.raw, row.Document) {
			continue
		}
		c, err := compileRule(row)
		if err != nil {
			// Validated when stored: only an older sluice's rule could fail.
			s.log.Error("rule does not compile; it is left out", "rule", row.Name, "err", err)
			delete(st.compiled, row.Name)
		} else {
			st.compiled[row.Name] = c
		}
		changed = true
	}
	for name := range st.compiled {
		if !seen[name] {
			delete(st.compiled, name)
			changed = true
		}
	}
	if changed {
		set := eventpattern.NewSet()
		for name, c := range st.compiled {
			if p, _ := c.def.Pattern(); p != nil && c.def.IsEnabled() {
				set.Add(name, p)
			}
		}
		st.set = set
	}
	snapshot := make(map[string]*compiledRule, len(st.compiled))
	for k, v := range st.compiled {
		snapshot[k] = v
	}
	return st.set, snapshot, nil
}

func compileRule(row store.Definition) (*compiledRule, error) {
	info, err := decodeRule(row)
	if err != nil {
		return nil, err
	}
	c := &compiledRule{def: info.Rule, raw: row.Document, created: row.Created, updated: row.Updated, createdSeq: row.CreatedSeq}
	if _, err := c.def.Pattern(); err != nil {
		return nil, err
	}
	for _, t := range c.def.Targets {
		var tr *eventpattern.Transformer
		if it := t.Transformer(); it != nil {
			if tr, err = eventpattern.CompileTransformer(it.InputPathsMap, it.InputTemplate); err != nil {
				return nil, err
			}
		}
		c.transformers = append(c.transformers, tr)
	}
	return c, nil
}

// ---- schedules ----

// RuleSchedulesOnce fires every enabled scheduled rule whose tick is due, as
// ScheduleOnce does for pipelines: the state (first seen, last tick fired)
// is kept in the store, written after the tick's deliveries, which are keyed
// by the tick, so that a tick fires once even across a crash; ticks missed
// while the server was down fire once, as the latest of them. Rules run on
// UTC, as EventBridge's do. Changing a rule starts its schedule afresh.
func (s *Service) RuleSchedulesOnce(ctx context.Context) error {
	rows, err := s.store.Definitions(ctx, store.KindRule)
	if err != nil {
		return err
	}
	var errs []error
	queued := false
	for _, row := range rows {
		info, err := decodeRule(row)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r := info.Rule
		if r.ScheduleExpression == "" || !r.IsEnabled() {
			continue
		}
		fired, err := s.ruleScheduleTick(ctx, row, r)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %w", r.Name, err))
		}
		queued = queued || fired
	}
	if queued {
		s.deliveriesQueued.broadcast()
	}
	return errors.Join(errs...)
}

func (s *Service) ruleScheduleTick(ctx context.Context, row store.Definition, r rule.Rule) (bool, error) {
	sched, err := schedule.Parse(r.ScheduleExpression)
	if err != nil {
		return false, err
	}
	// Rule names hold no ":", pipeline names neither: the key is apart from
	// every pipeline's, and the version in it makes a changed rule start anew.
	key := fmt.Sprintf("rule:%s/%d/schedule/%s", r.Name, row.Updated.UnixMilli(), r.ScheduleExpression)
	raw, err := s.store.TriggerState(ctx, key)
	if err != nil {
		return false, err
	}
	now := s.now()
	anchor, last, ok := schedule.ParseTicks(raw)
	if !ok {
		return false, s.store.UpdateGlobal(ctx, func(tx store.Tx) error {
			return tx.SetTriggerState(ctx, key, schedule.FormatTicks(now, now), now)
		})
	}
	tick := sched.Due(anchor, last, now, time.UTC)
	if tick.IsZero() {
		return false, nil
	}
	c := &compiledRule{def: r, raw: row.Document, created: row.Created, updated: row.Updated, createdSeq: row.CreatedSeq}
	for _, t := range r.Targets {
		var tr *eventpattern.Transformer
		if it := t.Transformer(); it != nil {
			if tr, err = eventpattern.CompileTransformer(it.InputPathsMap, it.InputTemplate); err != nil {
				return false, err
			}
		}
		c.transformers = append(c.transformers, tr)
	}
	ev := Event{
		ID: fmt.Sprintf("schedule-%s-%d", r.Name, tick.UnixMilli()), Version: "0",
		DetailType: ScheduledEventType, Source: ScheduledEventSource, Time: tick, Region: s.region,
		Resources: []string{rule.ARN(s.region, r.Name)}, Detail: map[string]any{},
	}
	evRaw, err := json.Marshal(ev)
	if err != nil {
		return false, err
	}
	m, err := eventpattern.DecodeEvent(evRaw)
	if err != nil {
		return false, err
	}
	if _, err := s.queueRuleDeliveries(ctx, c, fmt.Sprintf("tick-%d", tick.UnixMilli()), evRaw, m, ev.ID, tick); err != nil {
		return false, err
	}
	return true, s.store.UpdateGlobal(ctx, func(tx store.Tx) error {
		return tx.SetTriggerState(ctx, key, schedule.FormatTicks(anchor, tick), s.now())
	})
}

// RuleARN names a rule as EventBridge's ARNs do.
func (s *Service) RuleARN(name string) string { return rule.ARN(s.region, name) }
