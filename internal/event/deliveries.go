package event

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sluice-ci/sluice/internal/notify"
	"github.com/sluice-ci/sluice/internal/store"
)

// Notifications leave sluice through the deliveries table: what causes one
// (an approval starting to wait, a rule matching an event) inserts a
// delivery keyed by its cause, and the deliverer sends it, retrying with
// exponential backoff until it gets through or its time runs out, when it
// stays as a dead letter. A delivery
// in flight when the server dies is still Pending and is sent after restart:
// at least once, never blocking a pipeline.

// DeliveryConfig tunes deliveries; zero values take the defaults.
type DeliveryConfig struct {
	SMTP notify.SMTP
	// Backoff spaces retries; MaxAge is how long a delivery is retried,
	// unless its target says otherwise (a rule target's retryFor).
	Backoff notify.Backoff
	MaxAge  time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
	// Concurrency is how many deliveries are sent at once.
	Concurrency int
	HTTPClient  *http.Client
	// Observe, when set, is told of every attempt: the delivery's kind, its
	// result (ok, retry or failed), how long the attempt took and, for a
	// success, how long since the delivery was queued (the metrics).
	Observe func(kind, result string, attempt, sinceQueued time.Duration)
}

func (c DeliveryConfig) withDefaults() DeliveryConfig {
	if c.Backoff.Base == 0 {
		c.Backoff.Base = time.Second
	}
	if c.Backoff.Max == 0 {
		c.Backoff.Max = 5 * time.Minute
	}
	if c.MaxAge == 0 {
		c.MaxAge = 24 * time.Hour
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Concurrency == 0 {
		c.Concurrency = 4
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	return c
}

// RunDeliveries sends due deliveries until ctx ends.
func (rn *Runner) RunDeliveries(ctx context.Context) {
	cfg := rn.cfg
	sem := make(chan struct{}, cfg.Concurrency)
	var inflight sync.Map // delivery id → true, so a slow one is not sent twice at once
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		ch := rn.delivery.Wait()
		due, err := rn.svc.Store().DueDeliveries(ctx, rn.svc.Now(), 100)
		if err != nil && ctx.Err() == nil {
			rn.log.Error("list due deliveries", "err", err)
		}
		for _, d := range due {
			if _, busy := inflight.LoadOrStore(d.ID, true); busy {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem; inflight.Delete(d.ID) }()
				if err := rn.deliver(ctx, d); err != nil && ctx.Err() == nil {
					rn.log.Error("record delivery", "id", d.ID, "err", err)
				}
			}()
		}
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
}

// deliver makes one attempt and records its outcome.
func (rn *Runner) deliver(ctx context.Context, d store.Delivery) error {
	cfg := rn.cfg
	maxAge := cfg.MaxAge
	var t deliveryTarget
	if json.Unmarshal(d.Target, &t) == nil {
		// A rule's target says how long its deliveries are retried.
		if r, err := time.ParseDuration(t.RetryFor); err == nil && r > 0 {
			maxAge = r
		}
	}
	var actx context.Context
	var cancel context.CancelFunc
	if d.Kind == "function" {
		// The function's own timeoutInMinutes bounds its invocation.
		actx, cancel = context.WithCancel(ctx)
	} else {
		actx, cancel = context.WithTimeout(ctx, cfg.Timeout)
	}
	began := time.Now()
	err := rn.send(actx, d)
	took := time.Since(began)
	cancel()
	if ctx.Err() != nil {
		return nil // shutting down: the delivery stays Pending for the next start
	}
	now := rn.svc.Now()
	result := "retry"
	defer func() {
		if cfg.Observe != nil {
			cfg.Observe(d.Kind, result, took, now.Sub(d.Created))
		}
	}()
	d.Attempts++
	d.Updated = now
	switch {
	case err == nil:
		d.Status, d.LastError = store.DeliveryDelivered, ""
		result = "ok"
	case notify.Permanent(err) || refused(err) || now.Sub(d.Created) >= maxAge:
		d.Status, d.LastError = store.DeliveryFailed, err.Error()
		result = "failed"
		rn.log.Warn("delivery failed for good", "id", d.ID, "kind", d.Kind, "attempts", d.Attempts, "err", err)
	default:
		d.LastError = err.Error()
		wait := cfg.Backoff.Delay(d.Attempts, rand.Float64)
		if ra := notify.RetryAfter(err); ra > wait {
			wait = min(ra, cfg.Backoff.Max)
		}
		d.Next = now.Add(wait)
	}
	return rn.svc.Store().UpdateDelivery(ctx, d)
}

// deliveryTarget is a delivery's target document: an approval's
// notificationTarget or a rule's ruleTarget, whose JSON names agree.
type deliveryTarget struct {
	ruleTarget
	To string `json:"to,omitempty"` // an approval's mail address
}

func (rn *Runner) send(ctx context.Context, d store.Delivery) error {
	var t deliveryTarget
	if err := json.Unmarshal(d.Target, &t); err != nil {
		return fmt.Errorf("decode target of delivery %s: %w", d.ID, err)
	}
	switch d.Kind {
	case "pipeline":
		return rn.startForRule(ctx, d, t.ruleTarget)
	case DeliveryCommitStatus:
		return rn.sendCommitStatus(ctx, d)
	case "function":
		return rn.invokeForRule(ctx, d, t.ruleTarget)
	case "webhook":
		w := notify.Webhook{URL: t.URL, Headers: map[string]string{"X-Sluice-Event": eventKind(d.Source)}}
		for k, v := range t.Headers {
			w.Headers[k] = v
		}
		if t.Rule != "" {
			w.Headers["X-Sluice-Rule"] = t.Rule
		}
		if t.Secret != "" {
			secret, err := rn.svc.SecretValue(ctx, t.Secret)
			if err != nil {
				return fmt.Errorf("signing secret %s: %w", t.Secret, err)
			}
			w.Secret = secret
		}
		return w.Send(ctx, rn.cfg.HTTPClient, d.Payload, d.ID)
	case "email":
		if rn.cfg.SMTP.Addr == "" {
			return errors.New("no SMTP server is configured (sluice server --smtp-addr)")
		}
		subject, text := rn.mailFor(d)
		to := t.Recipients
		if t.To != "" {
			to = []string{t.To}
		}
		return rn.cfg.SMTP.Send(ctx, notify.Mail{To: to, Subject: subject, Text: text})
	}
	return fmt.Errorf("unknown delivery kind %q", d.Kind)
}

func eventKind(source string) string {
	kind, _, _ := strings.Cut(source, "/")
	return kind
}

// mailFor writes a delivery as a readable mail.
func (rn *Runner) mailFor(d store.Delivery) (subject, text string) {
	if eventKind(d.Source) == "rule" {
		return rn.ruleMail(d)
	}
	var n ApprovalNotification
	if eventKind(d.Source) == "approval" && json.Unmarshal(d.Payload, &n) == nil {
		a := n.Approval
		subject = fmt.Sprintf("Approval needed: %s / %s / %s", a.PipelineName, a.StageName, a.ActionName)
		var b strings.Builder
		fmt.Fprintf(&b, "Pipeline %s is waiting for an approval in stage %s, action %s.\n\n", a.PipelineName, a.StageName, a.ActionName)
		if a.CustomData != "" {
			fmt.Fprintf(&b, "%s\n\n", a.CustomData)
		}
		fmt.Fprintf(&b, "Review:     %s\n", a.ApprovalReviewLink)
		if a.ExternalEntityLink != "" {
			fmt.Fprintf(&b, "Details:    %s\n", a.ExternalEntityLink)
		}
		fmt.Fprintf(&b, "Execution:  %s\nExpires:    %s\nToken:      %s\n\n", n.Execution.ID, a.Expires, a.Token)
		fmt.Fprintf(&b, "Answer with:\n  sluice approve %s %s %s %s --comment '...'\n  sluice reject %s %s %s %s --comment '...'\n",
			a.PipelineName, n.Execution.ID, a.StageName, a.ActionName, a.PipelineName, n.Execution.ID, a.StageName, a.ActionName)
		return subject, b.String()
	}
	return "sluice notification " + d.Source, string(d.Payload)
}

// Deliveries lists the deliveries of a source, newest first.
func (rn *Runner) Deliveries(ctx context.Context, source string, limit int) ([]store.Delivery, error) {
	return rn.svc.Store().Deliveries(ctx, source, limit)
}
