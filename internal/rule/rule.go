// Package rule reads and checks sluice's event rules, on the model of
// EventBridge's: a rule matches sluice's events with an event pattern (or
// fires on a schedule) and sends what it matched to its targets: webhooks,
// pipelines to start, functions to invoke, mail.
package rule

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"github.com/sluice-ci/sluice/internal/awsid"
	"github.com/sluice-ci/sluice/internal/eventpattern"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/schedule"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// Rule states.
const (
	Enabled  = "ENABLED"
	Disabled = "DISABLED"
)

// Limits, EventBridge's where it has one.
const (
	MaxTargets        = 5
	MaxDescription    = 512
	DefaultRetryFor   = 24 * time.Hour
	MinRetryFor       = time.Second
	MaxRetryFor       = 7 * 24 * time.Hour
	MaxWebhookHeaders = 32
)

// Target kinds, also the kinds of the deliveries made for them.
const (
	KindWebhook  = "webhook"
	KindPipeline = "pipeline"
	KindFunction = "function"
	KindEmail    = "email"
)

// Rule is a rule definition.
type Rule struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// EventPattern is the pattern as compact JSON; exactly one of it and
	// ScheduleExpression is set.
	EventPattern       json.RawMessage `json:"eventPattern,omitempty"`
	ScheduleExpression string          `json:"scheduleExpression,omitempty"`
	State              string          `json:"state"`
	Targets            []Target        `json:"targets"`
}

// Target is where a rule sends what it matched: exactly one field is set.
type Target struct {
	// ID names the target within its rule, as EventBridge's target Id
	// (PutTargets and RemoveTargets address targets by it); optional in a
	// rule file.
	ID string `json:"id,omitempty"`
	// Input and InputPath are EventBridge's other ways of shaping what a
	// function or webhook target receives: a constant JSON text, or the
	// part of the event at a JSONPath. At most one of them and an
	// InputTransformer is set.
	Input     string `json:"input,omitempty"`
	InputPath string `json:"inputPath,omitempty"`

	Webhook  *WebhookTarget  `json:"webhook,omitempty"`
	Pipeline *PipelineTarget `json:"pipeline,omitempty"`
	Function *FunctionTarget `json:"function,omitempty"`
	Email    *EmailTarget    `json:"email,omitempty"`
}

// InputTransformer shapes what a target receives (see eventpattern).
type InputTransformer struct {
	InputPathsMap map[string]string `json:"inputPathsMap,omitempty"`
	InputTemplate string            `json:"inputTemplate"`
}

// WebhookTarget POSTs the event (or the transformed input) to a URL.
type WebhookTarget struct {
	URL string `json:"url"`
	// Secret names a sluice secret that signs the body
	// (X-Sluice-Signature-256).
	Secret           string            `json:"secret,omitempty"`
	Headers          map[string]string `json:"headers,omitempty"`
	InputTransformer *InputTransformer `json:"inputTransformer,omitempty"`
	RetryFor         string            `json:"retryFor,omitempty"`
}

// PipelineTarget starts a pipeline. A variable's value is a JSONPath into
// the event ($.detail.pipeline) or, when it does not start with $, a literal.
type PipelineTarget struct {
	Name      string            `json:"name"`
	Variables map[string]string `json:"variables,omitempty"`
	RetryFor  string            `json:"retryFor,omitempty"`
}

// FunctionTarget invokes a sluice function with the event (or the
// transformed input) as its input.
type FunctionTarget struct {
	Name             string            `json:"name"`
	InputTransformer *InputTransformer `json:"inputTransformer,omitempty"`
	RetryFor         string            `json:"retryFor,omitempty"`
}

// EmailTarget mails the event, readably, or the transformed input.
type EmailTarget struct {
	To               []string          `json:"to"`
	InputTransformer *InputTransformer `json:"inputTransformer,omitempty"`
	RetryFor         string            `json:"retryFor,omitempty"`
}

// Kind names the target's kind: webhook, pipeline, function or email.
func (t Target) Kind() string {
	switch {
	case t.Webhook != nil:
		return KindWebhook
	case t.Pipeline != nil:
		return KindPipeline
	case t.Function != nil:
		return KindFunction
	case t.Email != nil:
		return KindEmail
	}
	return ""
}

// Transformer is the target's input transformer, nil when it has none.
// Input and InputPath are transformers too: a template without placeholders,
// and one that is a single placeholder.
func (t Target) Transformer() *InputTransformer {
	switch {
	case t.Input != "":
		return &InputTransformer{InputTemplate: t.Input}
	case t.InputPath != "":
		return &InputTransformer{InputPathsMap: map[string]string{inputPathVar: t.InputPath}, InputTemplate: "<" + inputPathVar + ">"}
	case t.Webhook != nil:
		return t.Webhook.InputTransformer
	case t.Function != nil:
		return t.Function.InputTransformer
	case t.Email != nil:
		return t.Email.InputTransformer
	}
	return nil
}

// inputPathVar is the placeholder an InputPath becomes.
const inputPathVar = "input-path"

// RetryFor is how long deliveries to the target are retried.
func (t Target) RetryFor() time.Duration {
	var s string
	switch {
	case t.Webhook != nil:
		s = t.Webhook.RetryFor
	case t.Pipeline != nil:
		s = t.Pipeline.RetryFor
	case t.Function != nil:
		s = t.Function.RetryFor
	case t.Email != nil:
		s = t.Email.RetryFor
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d
	}
	return DefaultRetryFor
}

// Describe says in a few words where the target sends.
func (t Target) Describe() string {
	switch {
	case t.Webhook != nil:
		u, err := url.Parse(t.Webhook.URL)
		if err != nil {
			return "webhook"
		}
		return "webhook " + u.Redacted()
	case t.Pipeline != nil:
		return "pipeline " + t.Pipeline.Name
	case t.Function != nil:
		return "function " + t.Function.Name
	case t.Email != nil:
		return "email " + strings.Join(t.Email.To, ", ")
	}
	return "nothing"
}

// IsEnabled reports whether the rule acts.
func (r *Rule) IsEnabled() bool { return r.State != Disabled }

// Pattern compiles the rule's event pattern; nil for a scheduled rule. A
// legacy source it names matches AWS's too (see Deprecations).
func (r *Rule) Pattern() (*eventpattern.Pattern, error) {
	if len(r.EventPattern) == 0 {
		return nil, nil
	}
	p, _ := withAliases(r.EventPattern)
	return eventpattern.Compile(p)
}

// ARN names the rule the way EventBridge's ARNs do:
// arn:aws:events:REGION:ACCOUNT:rule/NAME.
func ARN(id awsid.ID, name string) string { return id.ARN("events", "rule/"+name) }

var (
	nameRE       = lazyregexp.New(`^[A-Za-z0-9._-]{1,64}$`)
	targetNameRE = lazyregexp.New(`^[A-Za-z0-9.@_-]{1,100}$`)
	targetIDRE   = lazyregexp.New(`^[A-Za-z0-9._-]{1,64}$`)
	secretNameRE = lazyregexp.New(`^[A-Za-z0-9/_+=.@-]{1,512}$`)
	variableRE   = lazyregexp.New(`^[A-Za-z0-9@_-]{1,128}$`)
	headerNameRE = lazyregexp.New("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
)

// reservedHeaders are set by sluice on every webhook delivery.
var reservedHeaders = []string{"content-type", "user-agent", "content-length", "host"}

// Validate checks r. The error, if any, is a yamlnode.ErrorList naming each
// problem's field; Parse adds the file's lines.
func (r *Rule) Validate() error { return r.validate().Err() }

func (r *Rule) validate() yamlnode.ErrorList {
	var errs yamlnode.ErrorList
	add := func(path, format string, args ...any) {
		errs = append(errs, &yamlnode.Error{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	switch {
	case r.Name == "":
		add("name", "required")
	case pipeline.CheckName(r.Name) != nil:
		add("name", "%v", pipeline.CheckName(r.Name))
	case !nameRE.MatchString(r.Name):
		add("name", "%q is not a rule name (1-64 letters, digits, ., - and _)", r.Name)
	}
	if len(r.Description) > MaxDescription {
		add("description", "at most %d characters", MaxDescription)
	}
	switch {
	case len(r.EventPattern) > 0 && r.ScheduleExpression != "":
		add("scheduleExpression", "give eventPattern or scheduleExpression, not both")
	case len(r.EventPattern) == 0 && r.ScheduleExpression == "":
		add("eventPattern", "required: the events to match (or give scheduleExpression: cron(...) or rate(...))")
	case len(r.EventPattern) > 0:
		if _, err := eventpattern.Compile(r.EventPattern); err != nil {
			if pe, ok := err.(*eventpattern.Error); ok {
				add(yamlJoin("eventPattern", pe.Path), "%s", pe.Msg)
			} else {
				add("eventPattern", "%v", err)
			}
		}
	default:
		if _, err := schedule.Parse(r.ScheduleExpression); err != nil {
			add("scheduleExpression", "%v", err)
		}
	}
	switch r.State {
	case Enabled, Disabled:
	default:
		add("state", "%q is not a state (ENABLED or DISABLED)", r.State)
	}
	// A rule may have no targets (EventBridge's PutRule makes one so,
	// PutTargets adds them); a rule file must name one (see Parse).
	if len(r.Targets) > MaxTargets {
		add("targets", "at most %d targets, not %d", MaxTargets, len(r.Targets))
	}
	ids := map[string]int{}
	for i, t := range r.Targets {
		p := fmt.Sprintf("targets[%d]", i)
		errs = append(errs, t.validate(p)...)
		if t.ID == "" {
			continue
		}
		if j, dup := ids[t.ID]; dup {
			add(p+".id", "%q is the id of targets[%d] too", t.ID, j)
		}
		ids[t.ID] = i
	}
	return errs
}

func yamlJoin(parent, key string) string {
	if key == "" {
		return parent
	}
	return parent + "." + key
}

func (t Target) validate(path string) yamlnode.ErrorList {
	var errs yamlnode.ErrorList
	add := func(p, format string, args ...any) {
		errs = append(errs, &yamlnode.Error{Path: p, Msg: fmt.Sprintf(format, args...)})
	}
	n := 0
	for _, set := range []bool{t.Webhook != nil, t.Pipeline != nil, t.Function != nil, t.Email != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		add(path, "a target is exactly one of webhook, pipeline, function or email")
		return errs
	}
	kp := path + "." + t.Kind()
	if t.ID != "" && !targetIDRE.MatchString(t.ID) {
		add(path+".id", "%q is not a target id (1-64 letters, digits, ., - and _)", t.ID)
	}
	shaped := 0
	for _, set := range []bool{t.Input != "", t.InputPath != "", t.Webhook != nil && t.Webhook.InputTransformer != nil,
		t.Function != nil && t.Function.InputTransformer != nil, t.Email != nil && t.Email.InputTransformer != nil} {
		if set {
			shaped++
		}
	}
	switch {
	case shaped > 1:
		add(path, "give at most one of input, inputPath and inputTransformer")
	case t.Pipeline != nil && (t.Input != "" || t.InputPath != ""):
		add(path, "a pipeline target takes no input or inputPath: its variables take values from the event ($.detail.pipeline)")
	case t.Input != "" && !json.Valid([]byte(t.Input)):
		add(path+".input", "not valid JSON text")
	case t.InputPath != "":
		if err := eventpattern.ParsePath(t.InputPath); err != nil {
			add(path+".inputPath", "%v", err)
		}
	}
	var retry string
	switch {
	case t.Webhook != nil:
		w := t.Webhook
		u, err := url.Parse(w.URL)
		if w.URL == "" {
			add(kp+".url", "required")
		} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(kp+".url", "not an http or https URL")
		}
		if w.Secret != "" && !secretNameRE.MatchString(w.Secret) {
			add(kp+".secret", "%q is not a secret name (the name of a sluice secret, not its value)", w.Secret)
		}
		if len(w.Headers) > MaxWebhookHeaders {
			add(kp+".headers", "at most %d headers", MaxWebhookHeaders)
		}
		for _, k := range sortedKeys(w.Headers) {
			hp := kp + ".headers." + k
			lk := strings.ToLower(k)
			switch {
			case !headerNameRE.MatchString(k):
				add(hp, "%q is not a header name", k)
			case slices.Contains(reservedHeaders, lk) || strings.HasPrefix(lk, "x-sluice-"):
				add(hp, "sluice sets this header itself")
			case strings.ContainsAny(w.Headers[k], "\r\n\x00"):
				add(hp, "the value cannot hold line breaks or NUL")
			}
		}
		retry = w.RetryFor
	case t.Pipeline != nil:
		p := t.Pipeline
		if p.Name == "" {
			add(kp+".name", "required")
		} else if !targetNameRE.MatchString(p.Name) {
			add(kp+".name", "%q is not a pipeline name", p.Name)
		}
		for _, k := range sortedKeys(p.Variables) {
			vp := kp + ".variables." + k
			if !variableRE.MatchString(k) {
				add(vp, "%q is not a variable name (letters, digits, @, - and _)", k)
				continue
			}
			if v := p.Variables[k]; strings.HasPrefix(v, "$") {
				if err := eventpattern.ParsePath(v); err != nil {
					add(vp, "%v", err)
				}
			}
		}
		retry = p.RetryFor
	case t.Function != nil:
		f := t.Function
		if f.Name == "" {
			add(kp+".name", "required")
		} else if !targetNameRE.MatchString(f.Name) {
			add(kp+".name", "%q is not a function name", f.Name)
		}
		retry = f.RetryFor
	case t.Email != nil:
		e := t.Email
		if len(e.To) == 0 {
			add(kp+".to", "required: an address, or a list of them")
		}
		for i, to := range e.To {
			if _, err := mail.ParseAddress(to); err != nil {
				add(fmt.Sprintf("%s.to[%d]", kp, i), "%q is not a mail address", to)
			}
		}
		retry = e.RetryFor
	}
	if tr := t.Transformer(); tr != nil {
		if _, err := eventpattern.CompileTransformer(tr.InputPathsMap, tr.InputTemplate); err != nil {
			if te, ok := err.(*eventpattern.TransformError); ok {
				add(kp+".inputTransformer."+te.Field, "%s", te.Msg)
			} else {
				add(kp+".inputTransformer", "%v", err)
			}
		}
	}
	if retry != "" {
		d, err := time.ParseDuration(retry)
		switch {
		case err != nil:
			add(kp+".retryFor", "%q is not a duration such as 30m, 2h or 48h", retry)
		case d < MinRetryFor || d > MaxRetryFor:
			add(kp+".retryFor", "%s is out of range (1s to 168h)", retry)
		}
	}
	return errs
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
