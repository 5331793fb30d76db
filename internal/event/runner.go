package event

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/eventpattern"
	"github.com/sluice-ci/sluice/internal/follow"
	"github.com/sluice-ci/sluice/internal/function"
	"github.com/sluice-ci/sluice/internal/rule"
	"github.com/sluice-ci/sluice/internal/schedule"
	"github.com/sluice-ci/sluice/internal/service"
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
// deliver a "Scheduled Event" from "aws.events". The deliverer
// (deliveries.go) sends what was queued: webhooks, mail, pipeline starts and
// function invocations, retried for the target's retryFor.

const rulesCursor = "rules"

// Events from sluice's scheduler.
const (
	ScheduledEventType   = "Scheduled Event"
	ScheduledEventSource = "aws.events" // as EventBridge's own scheduled events
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

type compiledRule struct {
	def          rule.Rule
	raw          []byte
	created      time.Time
	updated      time.Time
	createdSeq   int64                       // the rule sees events with a greater Seq
	transformers []*eventpattern.Transformer // per target, nil without one
}

// Runner runs the rules and sends the deliveries: the rule runner follows
// the event log and fires scheduled rules (RunRules), the deliverer sends
// what rules and approvals queued (RunDeliveries).
type Runner struct {
	svc       Service
	log       *slog.Logger
	cfg       DeliveryConfig
	functions FunctionInvoker
	delivery  follow.Notifier                   // a delivery is waiting to be sent
	publish   atomic.Pointer[func(kind string)] // see SetPublisher

	follower *follow.Follower // reads the event log; one round at a time
	wake     *follow.Listener // wakes it
	mu       sync.Mutex
	compiled map[string]*compiledRule
	set      *eventpattern.Set
	// kinds are the types of the events the rules and commit statuses can
	// act on; nil when a rule may match any.
	kinds []string
	// The current round's rules and how many deliveries it queued; only
	// the follower's round touches them.
	batchSet   *eventpattern.Set
	batchRules map[string]*compiledRule
	queued     int
}

// NewRunner returns the rule runner and deliverer over svc.
func NewRunner(svc Service, cfg Config) *Runner {
	rn := &Runner{svc: svc, log: svc.Logger(), cfg: cfg.Deliveries.withDefaults(), functions: cfg.Functions}
	if rn.log == nil {
		rn.log = slog.New(slog.DiscardHandler)
	}
	rn.follower, rn.wake = rn.newRuleFollower(), svc.ListenEvents()
	return rn
}

// RunRules follows the event log for rules, and fires scheduled rules, until
// ctx ends. It wakes at once when an execution changes (the notifier the
// reactor waits on too), and looks every second anyway.
func (rn *Runner) RunRules(ctx context.Context) {
	rn.follower.Run(ctx, rn.wakeOn, time.Second, func(ctx context.Context) {
		if err := rn.RuleSchedulesOnce(ctx); err != nil && ctx.Err() == nil {
			rn.log.Warn("scheduled rules", "err", err)
		}
	})
}

// wakeOn returns a channel closed when events of the kinds the rules and
// commit statuses read were written (any kind before the rules are loaded).
func (rn *Runner) wakeOn() <-chan struct{} {
	rn.mu.Lock()
	kinds := rn.kinds
	if rn.set == nil {
		kinds = nil
	}
	rn.mu.Unlock()
	return rn.wake.Wait(kinds)
}

// rulesBatch is how many events one RulesOnce reads.
const rulesBatch = 500

// newRuleFollower is the rule runner's follower of the event log: it
// compiles the rules once per round, reads only the kinds of events they or
// commit statuses can act on (with no rules, the executions' state changes
// alone), matches each event against them and wakes the deliverer when it
// queued something.
//
// A rule sees the events after the one that was newest when it was created
// (createdSeq) that a round reads once the rule is stored. The follower
// compiles the rules after it has noted the newest event of its round and
// reads no further than that: a rule created later has a createdSeq at least
// that event's, so it never misses an event of its kinds that a round passed
// over before it existed.
func (rn *Runner) newRuleFollower() *follow.Follower {
	return &follow.Follower{
		Log: rn.svc.Store(), Cursor: rulesCursor, Batch: rulesBatch, Now: rn.svc.Now, Logger: rn.log,
		What: "match events against rules",
		Kinds: func(ctx context.Context) ([]string, error) {
			var err error
			var kinds []string
			rn.batchSet, rn.batchRules, kinds, err = rn.loadRules(ctx)
			return kinds, err
		},
		Begin: func(context.Context) error {
			rn.queued = 0
			return nil
		},
		Handle: func(ctx context.Context, r store.Event) error {
			ev, err := rn.svc.EventOf(r)
			if err != nil {
				return err
			}
			// Commit statuses ride on the rules' cursor: queued before
			// it moves, like a rule's deliveries.
			q, err := rn.statusEvent(ctx, ev)
			rn.queued += q
			if err != nil || rn.batchSet.Len() == 0 {
				return err
			}
			q, err = rn.ruleEvent(ctx, rn.batchSet, rn.batchRules, ev)
			rn.queued += q
			return err
		},
		End: func(context.Context) {
			if rn.queued > 0 {
				rn.deliveryQueued()
			}
		},
	}
}

// RulesOnce matches the events written since the last call against the
// rules, queues the deliveries of every match, and reports how many events
// it read. An event whose deliveries cannot be written is tried again by the
// next call, up to three times, then skipped with an error in the log.
func (rn *Runner) RulesOnce(ctx context.Context) (int, error) { return rn.follower.Once(ctx) }

// ruleEvent queues the deliveries of the rules one event matches.
func (rn *Runner) ruleEvent(ctx context.Context, set *eventpattern.Set, compiled map[string]*compiledRule, ev service.Event) (int, error) {
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
		q, err := rn.queueRuleDeliveries(ctx, cr, fmt.Sprint(ev.Seq), raw, m, ev.ID, ev.Time)
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
func (rn *Runner) queueRuleDeliveries(ctx context.Context, cr *compiledRule, key string, raw []byte, m map[string]any, eventID string, at time.Time) (int, error) {
	now := rn.svc.Now()
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
			out, err := tr.Apply(m, eventpattern.Predefined{RuleName: r.Name, RuleARN: rule.ARN(rn.svc.AWS(), r.Name), IngestionTime: at})
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
		if err := rn.svc.Store().InsertDelivery(ctx, d); err != nil {
			return i, err
		}
	}
	return len(r.Targets), nil
}

// loadRules returns the event rules' set, the compiled rules and the kinds
// of events to read (nil: all), compiling only what changed since the last
// call.
func (rn *Runner) loadRules(ctx context.Context) (*eventpattern.Set, map[string]*compiledRule, []string, error) {
	rows, err := rn.svc.Store().Definitions(ctx, store.KindRule)
	if err != nil {
		return nil, nil, nil, err
	}
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if rn.compiled == nil {
		rn.compiled = map[string]*compiledRule{}
	}
	changed := rn.set == nil
	seen := make(map[string]bool, len(rows))
	for _, row := range rows {
		seen[row.Name] = true
		if c, ok := rn.compiled[row.Name]; ok && c.updated.Equal(row.Updated) && bytes.Equal(c.raw, row.Document) {
			continue
		}
		c, err := compileRule(row)
		if err != nil {
			// Validated when stored: only an older sluice's rule could fail.
			rn.log.Error("rule does not compile; it is left out", "rule", row.Name, "err", err)
			delete(rn.compiled, row.Name)
		} else {
			rn.compiled[row.Name] = c
		}
		changed = true
	}
	for name := range rn.compiled {
		if !seen[name] {
			delete(rn.compiled, name)
			changed = true
		}
	}
	if changed {
		set := eventpattern.NewSet()
		// Commit statuses are set on executions' state changes.
		kinds, every := []string{engine.PipelineEvent}, false
		for name, c := range rn.compiled {
			if p, _ := c.def.Pattern(); p != nil && c.def.IsEnabled() {
				set.Add(name, p)
				types, ok := p.Requires("detail-type")
				every = every || !ok
				for _, t := range types {
					kinds = append(kinds, service.StoredTypes(t)...)
				}
			}
		}
		if every {
			kinds = nil
		}
		rn.set, rn.kinds = set, kinds
	}
	snapshot := make(map[string]*compiledRule, len(rn.compiled))
	for k, v := range rn.compiled {
		snapshot[k] = v
	}
	return rn.set, snapshot, rn.kinds, nil
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
// trigger.Scheduler does for pipelines: the state (first seen, last tick fired)
// is kept in the store, written after the tick's deliveries, which are keyed
// by the tick, so that a tick fires once even across a crash; ticks missed
// while the server was down fire once, as the latest of them. Rules run on
// UTC, as EventBridge's do. Changing a rule starts its schedule afresh.
func (rn *Runner) RuleSchedulesOnce(ctx context.Context) error {
	rows, err := rn.svc.Store().Definitions(ctx, store.KindRule)
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
		fired, err := rn.ruleScheduleTick(ctx, row, r)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %w", r.Name, err))
		}
		queued = queued || fired
	}
	if queued {
		rn.deliveryQueued()
	}
	return errors.Join(errs...)
}

func (rn *Runner) ruleScheduleTick(ctx context.Context, row store.Definition, r rule.Rule) (bool, error) {
	sched, err := schedule.Parse(r.ScheduleExpression)
	if err != nil {
		return false, err
	}
	// Rule names hold no ":", pipeline names neither: the key is apart from
	// every pipeline's, and the version in it makes a changed rule start anew.
	key := fmt.Sprintf("rule:%s/%d/schedule/%s", r.Name, row.Updated.UnixMilli(), r.ScheduleExpression)
	raw, err := rn.svc.Store().TriggerState(ctx, key)
	if err != nil {
		return false, err
	}
	now := rn.svc.Now()
	anchor, last, ok := schedule.ParseTicks(raw)
	if !ok {
		return false, rn.svc.Store().UpdateGlobal(ctx, func(tx store.Tx) error {
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
	ev := service.Event{
		ID: service.NamedUUID(fmt.Sprintf("schedule/%s/%d", r.Name, tick.UnixMilli())), Version: "0",
		DetailType: ScheduledEventType, Source: ScheduledEventSource, Account: rn.svc.AWS().Account, Time: tick, Region: rn.svc.AWS().Region,
		Resources: []string{rule.ARN(rn.svc.AWS(), r.Name)}, Detail: map[string]any{},
	}
	evRaw, err := json.Marshal(ev)
	if err != nil {
		return false, err
	}
	m, err := eventpattern.DecodeEvent(evRaw)
	if err != nil {
		return false, err
	}
	if _, err := rn.queueRuleDeliveries(ctx, c, fmt.Sprintf("tick-%d", tick.UnixMilli()), evRaw, m, ev.ID, tick); err != nil {
		return false, err
	}
	return true, rn.svc.Store().UpdateGlobal(ctx, func(tx store.Tx) error {
		return tx.SetTriggerState(ctx, key, schedule.FormatTicks(anchor, tick), rn.svc.Now())
	})
}

// ChangeDeliveries is the kind of change announced to other replicas when a
// delivery is queued (see SetPublisher).
const ChangeDeliveries = "deliveries"

// SetPublisher makes every queued delivery also announced to publish
// (package replica tells the other replicas, whose Wake wakes their
// deliverer). publish must not wait.
func (rn *Runner) SetPublisher(publish func(kind string)) { rn.publish.Store(&publish) }

// Wake wakes the deliverer for a delivery another replica queued.
func (rn *Runner) Wake() { rn.delivery.Broadcast() }

func (rn *Runner) deliveryQueued() {
	rn.delivery.Broadcast()
	if p := rn.publish.Load(); p != nil {
		(*p)(ChangeDeliveries)
	}
}
