package awsapi

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-ci/sluice/internal/event"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/rule"
)

// CodeCommit's repository triggers, mapped onto event rules over the push
// events (docs/sources.md, "Repository triggers"): each trigger of
// PutRepositoryTriggers becomes rule codecommit-REPO-NAME whose pattern
// picks the repository, the trigger's events and branches, with the
// trigger's destination as its target: a Lambda function's ARN names a
// sluice function, a pipeline's ARN a pipeline. SNS topics have no
// counterpart in sluice (a rule's email target is the way to mail people)
// and are refused. PutRepositoryTriggers replaces every trigger of the
// repository, as CodeCommit's does. Making rules is sluice:PutRule (and
// reading them sluice:ListRules), on every rule: a trigger can start
// pipelines and functions, as a rule can.

const triggerMarker = "CodeCommit repository trigger of "

func triggerRuleName(repo, name string) string { return "codecommit-" + repo + "-" + name }

type repositoryTrigger struct {
	Name           string   `json:"name"`
	DestinationArn string   `json:"destinationArn"`
	CustomData     string   `json:"customData,omitempty"`
	Branches       []string `json:"branches"`
	Events         []string `json:"events"`
}

var triggerEvents = map[string]string{"updateReference": "referenceUpdated", "createReference": "referenceCreated", "deleteReference": "referenceDeleted"}

func (h *Handler) repoTriggerOperations(ops map[string]operation) {
	ops["PutRepositoryTriggers"] = operation{action: "PutRule", resource: all, run: h.ccPutTriggers}
	ops["GetRepositoryTriggers"] = operation{action: "ListRules", resource: all, run: h.ccGetTriggers}
}

func triggerError(typ, msg string) *Error { return &Error{Type: typ, Status: 400, Message: msg} }

// triggerRule makes the rule of trigger t of repository repo.
func (h *Handler) triggerRule(repo string, i int, t repositoryTrigger) (*rule.Rule, error) {
	if err := pipeline.CheckName(t.Name); err != nil {
		return nil, triggerError("InvalidRepositoryTriggerNameException", "triggers["+strconv.Itoa(i)+"].name: "+err.Error())
	}
	detail := map[string]any{"repositoryName": []string{repo}}
	if len(t.Events) == 0 {
		return nil, triggerError("RepositoryTriggerEventsListRequiredException", "triggers["+strconv.Itoa(i)+"].events: required")
	}
	var events []string
	for _, e := range t.Events {
		if e != "all" && triggerEvents[e] == "" {
			return nil, triggerError("InvalidRepositoryTriggerEventsException", "triggers["+strconv.Itoa(i)+"].events: "+e+" is not all, updateReference, createReference or deleteReference")
		}
		events = append(events, triggerEvents[e])
	}
	if slices.Contains(t.Events, "all") {
		events = nil // every event
	}
	if len(events) > 0 {
		detail["event"] = events
	}
	if len(t.Branches) > 0 {
		detail["referenceType"] = []string{"branch"}
		detail["referenceName"] = t.Branches
	}
	pattern, err := json.Marshal(map[string]any{"source": []string{"aws.codecommit"}, "detail-type": []string{"CodeCommit Repository State Change"}, "detail": detail})
	if err != nil {
		return nil, err
	}
	r := &rule.Rule{Name: triggerRuleName(repo, t.Name), Description: triggerMarker + repo + ": " + t.Name, EventPattern: pattern, State: rule.Enabled}
	arn := t.DestinationArn
	prefix := "arn:aws:"
	switch {
	case strings.HasPrefix(arn, prefix+"lambda:") && strings.Contains(arn, ":function:"):
		name := arn[strings.Index(arn, ":function:")+len(":function:"):]
		name, _, _ = strings.Cut(name, ":") // a version or alias
		r.Targets = []rule.Target{{Function: &rule.FunctionTarget{Name: name}}}
	case strings.HasPrefix(arn, prefix+"codepipeline:"):
		name, ok := h.id.PipelineName(arn)
		if !ok {
			return nil, triggerError("InvalidRepositoryTriggerDestinationArnException", "triggers["+strconv.Itoa(i)+"].destinationArn: "+arn+" is not a pipeline of this server")
		}
		r.Targets = []rule.Target{{Pipeline: &rule.PipelineTarget{Name: name}}}
	case arn == "":
		return nil, triggerError("RepositoryTriggerDestinationArnRequiredException", "triggers["+strconv.Itoa(i)+"].destinationArn: required")
	default:
		return nil, triggerError("InvalidRepositoryTriggerDestinationArnException", "triggers["+strconv.Itoa(i)+"].destinationArn: "+arn+
			": sluice's triggers go to functions (arn:aws:lambda:…:function:NAME) and pipelines; for mail or webhooks write a rule (sluice rule apply)")
	}
	if err := r.Validate(); err != nil {
		return nil, triggerError("InvalidRepositoryTriggerNameException", "triggers["+strconv.Itoa(i)+"]: "+err.Error())
	}
	return r, nil
}

func (h *Handler) ccPutTriggers(ctx context.Context, c *call, body []byte) (any, error) {
	var in struct {
		RepositoryName string              `json:"repositoryName"`
		Triggers       []repositoryTrigger `json:"triggers"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if _, err := h.repoOf(ctx, body); err != nil {
		return nil, err
	}
	if len(in.Triggers) > 10 {
		return nil, triggerError("MaximumRepositoryTriggersExceededException", "triggers: at most 10")
	}
	var rules []*rule.Rule
	seen := map[string]bool{}
	for i, t := range in.Triggers {
		r, err := h.triggerRule(in.RepositoryName, i, t)
		if err != nil {
			return nil, err
		}
		if seen[r.Name] {
			return nil, triggerError("InvalidRepositoryTriggerNameException", "triggers["+strconv.Itoa(i)+"].name: "+t.Name+" twice")
		}
		seen[r.Name] = true
		rules = append(rules, r)
	}
	rs := event.NewRules(h.svc)
	for _, r := range rules {
		if _, err := rs.Put(ctx, r); err != nil {
			return nil, err
		}
	}
	existing, err := rs.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, info := range existing {
		if strings.HasPrefix(info.Rule.Description, triggerMarker+in.RepositoryName+": ") && !seen[info.Rule.Name] {
			if err := rs.Delete(ctx, info.Rule.Name); err != nil {
				return nil, err
			}
		}
	}
	return map[string]any{"configurationId": newRequestID()}, nil
}

func (h *Handler) ccGetTriggers(ctx context.Context, c *call, body []byte) (any, error) {
	r, err := h.repoOf(ctx, body)
	if err != nil {
		return nil, err
	}
	existing, err := event.NewRules(h.svc).List(ctx)
	if err != nil {
		return nil, err
	}
	out := []repositoryTrigger{}
	for _, info := range existing {
		name, ok := strings.CutPrefix(info.Rule.Description, triggerMarker+r.Name+": ")
		if !ok || len(info.Rule.Targets) != 1 {
			continue
		}
		t := repositoryTrigger{Name: name, Branches: []string{}, Events: []string{"all"}}
		var p struct {
			Detail struct {
				Event         []string `json:"event"`
				ReferenceName []string `json:"referenceName"`
			} `json:"detail"`
		}
		if json.Unmarshal(info.Rule.EventPattern, &p) == nil {
			if len(p.Detail.ReferenceName) > 0 {
				t.Branches = p.Detail.ReferenceName
			}
			if len(p.Detail.Event) > 0 {
				t.Events = nil
				for _, e := range p.Detail.Event {
					for k, v := range triggerEvents {
						if v == e {
							t.Events = append(t.Events, k)
						}
					}
				}
				slices.Sort(t.Events)
			}
		}
		switch tg := info.Rule.Targets[0]; {
		case tg.Function != nil:
			t.DestinationArn = h.id.ARN("lambda", "function:"+tg.Function.Name)
		case tg.Pipeline != nil:
			t.DestinationArn = h.id.PipelineARN(tg.Pipeline.Name)
		}
		out = append(out, t)
	}
	return map[string]any{"configurationId": "", "triggers": out}, nil
}
