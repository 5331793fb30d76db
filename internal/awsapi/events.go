package awsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/event"
	"github.com/sluice-ci/sluice/internal/eventpattern"
	"github.com/sluice-ci/sluice/internal/function"
	"github.com/sluice-ci/sluice/internal/lazyregexp"
	"github.com/sluice-ci/sluice/internal/rule"
	"github.com/sluice-ci/sluice/internal/schedule"
	"github.com/sluice-ci/sluice/internal/service"
)

// EventBridge's API (X-Amz-Target: AWSEvents.OPERATION, signed for the
// service "events") over sluice's rules, on the default event bus, the only
// one sluice has. A target's Arn names a sluice function (its name, or
// arn:aws:lambda:REGION:ACCOUNT:function:NAME) or a pipeline
// (arn:aws:codepipeline:REGION:ACCOUNT:NAME); the rules' other targets
// (webhooks, mail), made with `sluice rule apply`, are listed and kept, not
// made here. The policy actions are the native API's for rules: PutRule for
// every change short of DeleteRule, GetRule for reads; a target that starts
// a pipeline also needs StartPipelineExecution on it, and a function target
// GetFunction on it, so that a rule cannot do what its author may not.

// EventsTargetPrefix is what EventBridge's X-Amz-Target starts with.
const EventsTargetPrefix = "AWSEvents."

// eventsService is the service EventBridge's requests are signed for.
const eventsService = "events"

// scopeService is the service a request's credential scope must name: its
// target says which API it is for.
func scopeService(r *http.Request) string {
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), EventsTargetPrefix) {
		return eventsService
	}
	return serviceName
}

const defaultBus = "default"

// eventOperations adds EventBridge's operations, keyed by their whole target.
func (h *Handler) eventOperations(ops map[string]operation) {
	rules := event.NewRules(h.svc)
	e := &eventsAPI{h: h, rules: rules}
	add := func(name, action string, resource func([]byte) (string, error), run func(context.Context, *call, []byte) (any, error)) {
		ops[EventsTargetPrefix+name] = operation{action: action, resource: resource, run: run}
	}
	add("PutRule", "PutRule", ruleOf("Name"), e.putRule)
	add("DescribeRule", "GetRule", ruleOf("Name"), e.describeRule)
	add("ListRules", "ListRules", all, e.listRules)
	add("DeleteRule", "DeleteRule", ruleOf("Name"), e.deleteRule)
	add("EnableRule", "PutRule", ruleOf("Name"), e.setState(rule.Enabled))
	add("DisableRule", "PutRule", ruleOf("Name"), e.setState(rule.Disabled))
	add("PutTargets", "PutRule", ruleOf("Rule"), e.putTargets)
	add("RemoveTargets", "PutRule", ruleOf("Rule"), e.removeTargets)
	add("ListTargetsByRule", "GetRule", ruleOf("Rule"), e.listTargets)
	add("PutEvents", "PutEvents", all, e.putEvents)
}

type eventsAPI struct {
	h     *Handler
	rules *event.Rules
}

var ruleNameRE = lazyregexp.New(`^[\.\-_A-Za-z0-9]{1,64}$`)

// ruleOf reads the rule name at field, for the resource rule/NAME.
func ruleOf(field string) func([]byte) (string, error) {
	return func(body []byte) (string, error) {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return "", validation("the request body does not read: %v", err)
		}
		name, ok := m[field].(string)
		if !ok || name == "" {
			return "", validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(field))
		}
		if !ruleNameRE.MatchString(name) {
			return "", validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length at most 64", truncate64(name), lowerFirst(field))
		}
		return "rule/" + name, nil
	}
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func truncate64(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// checkBus refuses any event bus but the default one.
func checkBus(name string) error {
	if name == "" || name == defaultBus || strings.HasSuffix(name, ":event-bus/"+defaultBus) {
		return nil
	}
	return &Error{Type: "ResourceNotFoundException", Status: http.StatusBadRequest,
		Message: fmt.Sprintf("Event bus %s does not exist. (sluice has only the default event bus.)", name)}
}

func ruleNotFound(name string) *Error {
	return &Error{Type: "ResourceNotFoundException", Status: http.StatusBadRequest,
		Message: fmt.Sprintf("Rule %s does not exist on EventBus default.", name)}
}

// get reads a rule, or answers ResourceNotFoundException.
func (e *eventsAPI) get(ctx context.Context, name string) (event.RuleInfo, error) {
	info, err := e.rules.Get(ctx, name)
	if service.ErrorCode(err) == service.CodeNotFound {
		return info, ruleNotFound(name)
	}
	return info, err
}

// put stores r, answering the rule's own refusals as ValidationException
// (InvalidEventPatternException for its pattern).
func (e *eventsAPI) put(ctx context.Context, r *rule.Rule) error {
	_, err := e.rules.Put(ctx, r)
	if err != nil && service.ErrorCode(err) == service.CodeInvalid {
		return validation("%s", service.ErrorMessage(err))
	}
	return err
}

type putRuleInput struct {
	Name               string
	EventPattern       *string
	ScheduleExpression *string
	State              string
	Description        *string
	RoleArn            string
	EventBusName       string
}

func (e *eventsAPI) putRule(ctx context.Context, c *call, body []byte) (any, error) {
	var in putRuleInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if err := checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	c.Resource = "rule/" + in.Name
	pattern, sched := deref(in.EventPattern), strings.TrimSpace(deref(in.ScheduleExpression))
	if pattern == "" && sched == "" {
		return nil, validation("Parameter(s) EventPattern or ScheduleExpression must be specified.")
	}
	r := &rule.Rule{Name: in.Name, State: rule.Enabled}
	if old, err := e.rules.Get(ctx, in.Name); err == nil {
		// PutRule replaces the rule's settings and keeps its targets.
		r.Targets, r.Description = old.Rule.Targets, old.Rule.Description
	} else if service.ErrorCode(err) != service.CodeNotFound {
		return nil, err
	}
	if in.Description != nil {
		r.Description = *in.Description
	}
	if len(r.Description) > rule.MaxDescription {
		return nil, validation("1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to %d", rule.MaxDescription)
	}
	switch in.State {
	case "", rule.Enabled:
	case rule.Disabled:
		r.State = rule.Disabled
	default:
		return nil, validation("1 validation error detected: Value '%s' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]", in.State)
	}
	if pattern != "" {
		if _, err := eventpattern.Compile([]byte(pattern)); err != nil {
			return nil, &Error{Type: "InvalidEventPatternException", Status: http.StatusBadRequest,
				Message: "Event pattern is not valid. Reason: " + err.Error()}
		}
		compact, err := compactJSON(pattern)
		if err != nil {
			return nil, &Error{Type: "InvalidEventPatternException", Status: http.StatusBadRequest,
				Message: "Event pattern is not valid. Reason: " + err.Error()}
		}
		r.EventPattern = compact
	}
	if sched != "" {
		if _, err := schedule.Parse(sched); err != nil {
			return nil, validation("Parameter ScheduleExpression is not valid: %v", err)
		}
		r.ScheduleExpression = sched
	}
	if err := e.put(ctx, r); err != nil {
		return nil, err
	}
	return map[string]string{"RuleArn": e.rules.ARN(r.Name)}, nil
}

// compactJSON is the pattern without its spaces, its fields in the order
// given (DescribeRule answers it so).
func compactJSON(s string) (json.RawMessage, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

type nameInput struct {
	Name         string
	EventBusName string
	Force        bool
}

// ruleShape is a rule as DescribeRule and ListRules answer it.
type ruleShape struct {
	Name               string `json:"Name"`
	Arn                string `json:"Arn"`
	EventPattern       string `json:"EventPattern,omitempty"`
	ScheduleExpression string `json:"ScheduleExpression,omitempty"`
	State              string `json:"State"`
	Description        string `json:"Description,omitempty"`
	EventBusName       string `json:"EventBusName"`
	CreatedBy          string `json:"CreatedBy,omitempty"`
}

func (e *eventsAPI) shape(r rule.Rule) ruleShape {
	return ruleShape{
		Name: r.Name, Arn: e.rules.ARN(r.Name), EventPattern: string(r.EventPattern),
		ScheduleExpression: r.ScheduleExpression, State: r.State, Description: r.Description,
		EventBusName: defaultBus,
	}
}

func (e *eventsAPI) describeRule(ctx context.Context, c *call, body []byte) (any, error) {
	var in nameInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if err := checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	c.Resource = "rule/" + in.Name
	info, err := e.get(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	out := e.shape(info.Rule)
	out.CreatedBy = e.h.id.Account
	return out, nil
}

type listRulesInput struct {
	NamePrefix   string
	EventBusName string
	NextToken    string
	Limit        int
}

func (e *eventsAPI) listRules(ctx context.Context, c *call, body []byte) (any, error) {
	var in listRulesInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if err := checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	limit, err := pageLimit(in.Limit)
	if err != nil {
		return nil, err
	}
	after := ""
	if in.NextToken != "" {
		if after, err = decodeToken("rules", in.NextToken); err != nil {
			return nil, err
		}
	}
	infos, err := e.rules.List(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Rule.Name < infos[j].Rule.Name })
	out := struct {
		Rules     []ruleShape `json:"Rules"`
		NextToken string      `json:"NextToken,omitempty"`
	}{Rules: []ruleShape{}}
	for _, info := range infos {
		name := info.Rule.Name
		if !strings.HasPrefix(name, in.NamePrefix) || (after != "" && name <= after) {
			continue
		}
		if len(out.Rules) == limit {
			out.NextToken = encodeToken("rules", out.Rules[limit-1].Name)
			break
		}
		out.Rules = append(out.Rules, e.shape(info.Rule))
	}
	return out, nil
}

// pageLimit reads EventBridge's Limit: 1 to 100, 100 when absent.
func pageLimit(n int) (int, error) {
	switch {
	case n == 0:
		return 100, nil
	case n < 1 || n > 100:
		return 0, validation("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100", n)
	}
	return n, nil
}

func (e *eventsAPI) deleteRule(ctx context.Context, c *call, body []byte) (any, error) {
	var in nameInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if err := checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	c.Resource = "rule/" + in.Name
	info, err := e.rules.Get(ctx, in.Name)
	switch {
	case service.ErrorCode(err) == service.CodeNotFound:
		return nil, nil // EventBridge's DeleteRule of a rule that is not there succeeds
	case err != nil:
		return nil, err
	case len(info.Rule.Targets) > 0:
		// AWS's words exactly: tools compare them (cloud-custodian's force delete).
		return nil, validation("Rule can't be deleted since it has targets.")
	}
	if err := e.rules.Delete(ctx, in.Name); err != nil && service.ErrorCode(err) != service.CodeNotFound {
		return nil, err
	}
	return nil, nil
}

func (e *eventsAPI) setState(state string) func(context.Context, *call, []byte) (any, error) {
	return func(ctx context.Context, c *call, body []byte) (any, error) {
		var in nameInput
		if err := decodeInput(body, &in); err != nil {
			return nil, err
		}
		if err := checkBus(in.EventBusName); err != nil {
			return nil, err
		}
		c.Resource = "rule/" + in.Name
		info, err := e.get(ctx, in.Name)
		if err != nil {
			return nil, err
		}
		r := info.Rule
		r.State = state
		return nil, e.put(ctx, &r)
	}
}

// targetShape is EventBridge's Target, the fields sluice keeps.
type targetShape struct {
	Id               string                 `json:"Id"`
	Arn              string                 `json:"Arn"`
	RoleArn          string                 `json:"RoleArn,omitempty"`
	Input            string                 `json:"Input,omitempty"`
	InputPath        string                 `json:"InputPath,omitempty"`
	InputTransformer *inputTransformerShape `json:"InputTransformer,omitempty"`
	RetryPolicy      *retryPolicyShape      `json:"RetryPolicy,omitempty"`
}

type inputTransformerShape struct {
	InputPathsMap map[string]string `json:"InputPathsMap,omitempty"`
	InputTemplate string            `json:"InputTemplate"`
}

type retryPolicyShape struct {
	MaximumRetryAttempts     *int `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int `json:"MaximumEventAgeInSeconds,omitempty"`
}

// EventBridge's bounds on a target's retry policy.
const (
	minEventAge = 60
	maxEventAge = 86400
)

// targetID is the Id a target is addressed by: its own, or, for one made by
// a rule file without one, its place (target-1, …).
func targetID(t rule.Target, i int) string {
	if t.ID != "" {
		return t.ID
	}
	return "target-" + strconv.Itoa(i+1)
}

// toShape is a rule's target as ListTargetsByRule answers it.
func (e *eventsAPI) toShape(t rule.Target, i int) targetShape {
	out := targetShape{Id: targetID(t, i), Input: t.Input, InputPath: t.InputPath}
	var tr *rule.InputTransformer
	switch {
	case t.Function != nil:
		out.Arn = e.h.id.ARN("lambda", "function:"+t.Function.Name)
		tr = t.Function.InputTransformer
	case t.Pipeline != nil:
		out.Arn = e.h.id.PipelineARN(t.Pipeline.Name)
	case t.Webhook != nil:
		// Not AWS's: sluice's webhook targets are made by rule files.
		out.Arn, tr = "sluice:webhook:"+t.Describe()[len("webhook "):], t.Webhook.InputTransformer
	case t.Email != nil:
		out.Arn, tr = "sluice:email:"+strings.Join(t.Email.To, ","), t.Email.InputTransformer
	}
	if tr != nil {
		out.InputTransformer = &inputTransformerShape{InputPathsMap: tr.InputPathsMap, InputTemplate: tr.InputTemplate}
	}
	if d := t.RetryFor(); d != rule.DefaultRetryFor {
		s := int(d / time.Second)
		out.RetryPolicy = &retryPolicyShape{MaximumEventAgeInSeconds: &s}
	}
	return out
}

type putTargetsInput struct {
	Rule         string
	EventBusName string
	Targets      []targetShape
}

type failedEntry struct {
	TargetId     string `json:"TargetId"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

type targetsResult struct {
	FailedEntryCount int           `json:"FailedEntryCount"`
	FailedEntries    []failedEntry `json:"FailedEntries"`
}

var targetIDRE = lazyregexp.New(`^[\.\-_A-Za-z0-9]{1,64}$`)

func (e *eventsAPI) putTargets(ctx context.Context, c *call, body []byte) (any, error) {
	var in putTargetsInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if err := checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	c.Resource = "rule/" + in.Rule
	if len(in.Targets) == 0 || len(in.Targets) > 10 {
		return nil, validation("1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length between 1 and 10")
	}
	info, err := e.get(ctx, in.Rule)
	if err != nil {
		return nil, err
	}
	r := info.Rule
	// Every target keeps the Id it is listed with from now on.
	for i := range r.Targets {
		r.Targets[i].ID = targetID(r.Targets[i], i)
	}
	seen := map[string]bool{}
	for i, ts := range in.Targets {
		field := fmt.Sprintf("targets.%d", i+1)
		if !targetIDRE.MatchString(ts.Id) {
			return nil, validation("1 validation error detected: Value '%s' at '%s.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length between 1 and 64", truncate64(ts.Id), field)
		}
		if seen[ts.Id] {
			return nil, validation("Parameter(s) Targets: Id %s is given twice.", ts.Id)
		}
		seen[ts.Id] = true
		t, err := e.fromShape(ctx, c, ts)
		if err != nil {
			return nil, err
		}
		if j := slices.IndexFunc(r.Targets, func(o rule.Target) bool { return o.ID == ts.Id }); j >= 0 {
			r.Targets[j] = t
		} else {
			r.Targets = append(r.Targets, t)
		}
	}
	if len(r.Targets) > rule.MaxTargets {
		return nil, &Error{Type: "LimitExceededException", Status: http.StatusBadRequest,
			Message: fmt.Sprintf("The requested resource exceeds the maximum number allowed: a rule has at most %d targets, and rule %s would have %d.", rule.MaxTargets, r.Name, len(r.Targets))}
	}
	if err := e.put(ctx, &r); err != nil {
		return nil, err
	}
	return targetsResult{FailedEntries: []failedEntry{}}, nil
}

// fromShape reads one target of PutTargets: its Arn must name a function or
// a pipeline that exists, which the caller may invoke or start.
func (e *eventsAPI) fromShape(ctx context.Context, c *call, ts targetShape) (rule.Target, error) {
	t := rule.Target{ID: ts.Id, Input: ts.Input, InputPath: ts.InputPath}
	var tr *rule.InputTransformer
	if ts.InputTransformer != nil {
		tr = &rule.InputTransformer{InputPathsMap: ts.InputTransformer.InputPathsMap, InputTemplate: ts.InputTransformer.InputTemplate}
	}
	retry := ""
	if p := ts.RetryPolicy; p != nil && p.MaximumEventAgeInSeconds != nil {
		s := *p.MaximumEventAgeInSeconds
		if s < minEventAge || s > maxEventAge {
			return t, validation("Target %s: RetryPolicy.MaximumEventAgeInSeconds %d is out of range (%d to %d).", ts.Id, s, minEventAge, maxEventAge)
		}
		retry = (time.Duration(s) * time.Second).String()
	}
	kind, name := e.targetOf(ts.Arn)
	switch kind {
	case rule.KindFunction:
		info, err := e.h.svc.Function(ctx, name)
		if err != nil {
			if service.ErrorCode(err) == service.CodeNotFound {
				return t, validation("Target %s: Arn %s names function %s, which does not exist (sluice function apply).", ts.Id, ts.Arn, name)
			}
			return t, err
		}
		if err := also(c, "GetFunction", "function/"+name); err != nil {
			return t, &Error{Type: "AccessDeniedException", Status: http.StatusForbidden,
				Message: fmt.Sprintf("Target %s invokes function %s: %s", ts.Id, name, service.ErrorMessage(err))}
		}
		// A function with a role runs with it: a rule that invokes it with
		// input of its author's choosing hands the role on, which only an
		// author holding all of it may (as applying the function).
		if err := e.h.svc.CheckFunctionRole(ctx, c.principal.Policy, c.principal.Name, info.Function); err != nil {
			c.Denied = true
			return t, &Error{Type: "AccessDeniedException", Status: http.StatusForbidden,
				Message: fmt.Sprintf("Target %s invokes function %s: %s", ts.Id, name, service.ErrorMessage(err))}
		}
		t.Function = &rule.FunctionTarget{Name: name, InputTransformer: tr, RetryFor: retry}
	case rule.KindPipeline:
		if _, err := e.h.svc.Pipeline(ctx, name); err != nil {
			if service.ErrorCode(err) == service.CodeNotFound {
				return t, validation("Target %s: Arn %s names pipeline %s, which does not exist.", ts.Id, ts.Arn, name)
			}
			return t, err
		}
		if tr != nil || ts.Input != "" || ts.InputPath != "" {
			return t, validation("Target %s: a pipeline target takes no Input, InputPath or InputTransformer (CodePipeline starts an execution; the event is not passed on).", ts.Id)
		}
		if err := also(c, "StartPipelineExecution", "pipeline/"+name); err != nil {
			return t, &Error{Type: "AccessDeniedException", Status: http.StatusForbidden,
				Message: fmt.Sprintf("Target %s starts pipeline %s: %s", ts.Id, name, service.ErrorMessage(err))}
		}
		t.Pipeline = &rule.PipelineTarget{Name: name, RetryFor: retry}
	default:
		return t, validation("Target %s: Arn %q names nothing sluice can send to: give a function (its name, or arn:aws:lambda:%s:%s:function:NAME) or a pipeline (arn:aws:codepipeline:%s:%s:NAME).",
			ts.Id, ts.Arn, e.h.id.Region, e.h.id.Account, e.h.id.Region, e.h.id.Account)
	}
	return t, nil
}

// also authorizes a second action the request needs, leaving the trail's
// record naming the first (and the refusal, if any).
func also(c *call, action, resource string) error {
	err := c.principal.Authorize(action, resource)
	if err != nil {
		c.Denied = true
		c.params["alsoNeeded"] = action + " on " + resource
	}
	return err
}

// targetOf says what a target's Arn names: a function or a pipeline of this
// server's region and account, and its name.
func (e *eventsAPI) targetOf(arn string) (kind, name string) {
	if n, ok := strings.CutPrefix(arn, e.h.id.ARN("lambda", "function:")); ok && function.ValidName(n) {
		return rule.KindFunction, n
	}
	if n, ok := e.h.id.PipelineName(arn); ok {
		return rule.KindPipeline, n
	}
	if !strings.HasPrefix(arn, "arn:") && function.ValidName(arn) {
		return rule.KindFunction, arn
	}
	return "", ""
}

type removeTargetsInput struct {
	Rule         string
	EventBusName string
	Ids          []string
	Force        bool
}

func (e *eventsAPI) removeTargets(ctx context.Context, c *call, body []byte) (any, error) {
	var in removeTargetsInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if err := checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	c.Resource = "rule/" + in.Rule
	if len(in.Ids) == 0 || len(in.Ids) > 100 {
		return nil, validation("1 validation error detected: Value at 'ids' failed to satisfy constraint: Member must have length between 1 and 100")
	}
	info, err := e.get(ctx, in.Rule)
	if err != nil {
		return nil, err
	}
	r := info.Rule
	kept := r.Targets[:0:0]
	for i, t := range r.Targets {
		t.ID = targetID(t, i)
		if !slices.Contains(in.Ids, t.ID) {
			kept = append(kept, t)
		}
	}
	// An Id the rule does not have is removed already.
	r.Targets = kept
	if err := e.put(ctx, &r); err != nil {
		return nil, err
	}
	return targetsResult{FailedEntries: []failedEntry{}}, nil
}

type listTargetsInput struct {
	Rule         string
	EventBusName string
	NextToken    string
	Limit        int
}

func (e *eventsAPI) listTargets(ctx context.Context, c *call, body []byte) (any, error) {
	var in listTargetsInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if err := checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	c.Resource = "rule/" + in.Rule
	limit, err := pageLimit(in.Limit)
	if err != nil {
		return nil, err
	}
	start := 0
	if in.NextToken != "" {
		s, err := decodeToken("targets/"+in.Rule, in.NextToken)
		if err != nil {
			return nil, err
		}
		if start, err = strconv.Atoi(s); err != nil || start < 0 {
			return nil, &Error{Type: "InvalidNextTokenException", Status: 400, Message: "The next token was specified in an invalid format."}
		}
	}
	info, err := e.get(ctx, in.Rule)
	if err != nil {
		return nil, err
	}
	out := struct {
		Targets   []targetShape `json:"Targets"`
		NextToken string        `json:"NextToken,omitempty"`
	}{Targets: []targetShape{}}
	for i := start; i < len(info.Rule.Targets); i++ {
		if len(out.Targets) == limit {
			out.NextToken = encodeToken("targets/"+in.Rule, strconv.Itoa(i))
			break
		}
		out.Targets = append(out.Targets, e.toShape(info.Rule.Targets[i], i))
	}
	return out, nil
}

type putEventsEntry struct {
	Source       string
	DetailType   string
	Detail       string
	Resources    []string
	Time         *float64
	EventBusName string
}

type putEventsResultEntry struct {
	EventId      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// putEvents writes the entries that are well-formed to the event log, where
// rules match them as sluice's own events; the others are answered as
// failed entries, as EventBridge does.
func (e *eventsAPI) putEvents(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct{ Entries []putEventsEntry }
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if len(in.Entries) == 0 || len(in.Entries) > 10 {
		return nil, validation("1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and 10")
	}
	out := struct {
		FailedEntryCount int                    `json:"FailedEntryCount"`
		Entries          []putEventsResultEntry `json:"Entries"`
	}{Entries: make([]putEventsResultEntry, len(in.Entries))}
	var good []service.PutEvent
	var at []int
	for i, en := range in.Entries {
		pe := service.PutEvent{Source: en.Source, DetailType: en.DetailType, Detail: json.RawMessage(en.Detail), Resources: en.Resources}
		if en.Time != nil {
			pe.Time = time.UnixMilli(int64(*en.Time * 1000)).UTC()
		}
		code, msg := service.CheckPutEvent(pe)
		if code == "" && checkBus(en.EventBusName) != nil {
			code, msg = "InvalidArgument", checkBus(en.EventBusName).(*Error).Message
		}
		if code != "" {
			out.Entries[i] = putEventsResultEntry{ErrorCode: code, ErrorMessage: msg}
			out.FailedEntryCount++
			continue
		}
		good, at = append(good, pe), append(at, i)
	}
	if len(good) > 0 {
		ids, err := e.h.svc.PutEvents(ctx, c.principal.Name, good)
		if err != nil {
			return nil, err
		}
		for k, i := range at {
			out.Entries[i] = putEventsResultEntry{EventId: ids[k]}
		}
	}
	c.params["entries"] = strconv.Itoa(len(in.Entries))
	return out, nil
}
