package rule

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/eventpattern"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// Parse reads a rule definition for `sluice rule apply -f`, in YAML or JSON
// (told apart by filename). The event pattern may be written as a mapping,
// in the file's own syntax, or as a string of JSON, as EventBridge's
// PutRule takes it. On failure the error is a yamlnode.ErrorList holding
// every problem, in file order, each naming file, line and field (for a
// problem inside the pattern: eventPattern.detail.state).
func Parse(filename string, data []byte) (*Rule, error) {
	root, perr := yamlnode.ReadDocument(filename, data, "rule")
	if perr != nil {
		return nil, yamlnode.ErrorList{perr}
	}
	d := newDecoder(filename)
	r := d.document(root)
	if r == nil {
		return nil, d.Sorted()
	}
	errs := r.validate()
	if len(r.Targets) == 0 && !d.Failed("targets") {
		errs = append(errs, &yamlnode.Error{Path: "targets", Msg: "at least one target is required"})
	}
	for _, e := range errs {
		if d.Failed(e.Path) {
			continue // its value did not decode; that was reported already
		}
		e.File, e.Line = filename, max(d.LineOf(e.Path), 1)
		d.Errs = append(d.Errs, e)
	}
	if len(d.Errs) > 0 {
		return nil, d.Sorted()
	}
	return r, nil
}

var (
	ruleFields        = []string{"name", "description", "eventPattern", "scheduleExpression", "state", "targets"}
	targetKinds       = []string{KindWebhook, KindPipeline, KindFunction, KindEmail}
	webhookFields     = []string{"url", "secret", "headers", "inputTransformer", "retryFor"}
	pipelineFields    = []string{"name", "variables", "retryFor"}
	functionFields    = []string{"name", "inputTransformer", "retryFor"}
	emailFields       = []string{"to", "inputTransformer", "retryFor"}
	transformerFields = []string{"inputPathsMap", "inputTemplate"}
)

type decoder struct {
	*yamlnode.FileDecoder
	tooLarge bool // toJSON has said that the pattern is too large
}

func newDecoder(file string) *decoder {
	return &decoder{FileDecoder: yamlnode.NewFileDecoder(file, yamlnode.Options{CheckTags: true, FailOnBadKey: true})}
}

func (d *decoder) document(root *yaml.Node) *Rule {
	if root = d.Root(root, "rule"); root == nil {
		return nil
	}
	r := &Rule{State: Enabled}
	d.SetLine("", root.Line)
	for _, f := range d.Mapping(root, "") {
		path := f.Key
		switch f.Key {
		case "name":
			r.Name = d.Str(f.Value, path)
		case "description":
			r.Description = d.Str(f.Value, path)
		case "eventPattern":
			r.EventPattern = d.pattern(f.Value, path)
		case "scheduleExpression":
			r.ScheduleExpression = strings.TrimSpace(d.Str(f.Value, path))
		case "state":
			if s := d.Str(f.Value, path); s != "" {
				r.State = strings.ToUpper(s)
			}
		case "targets":
			for i, item := range d.ListOf(f.Value, path, "a list of targets") {
				r.Targets = append(r.Targets, d.target(item, yamlnode.Index(path, i)))
			}
		default:
			d.Unknown(f, path, ruleFields)
		}
	}
	return r
}

// pattern reads the event pattern: a mapping turned into JSON (recording
// the line of each of its fields), or a string of JSON.
func (d *decoder) pattern(n *yaml.Node, path string) json.RawMessage {
	n = yamlnode.Resolve(n)
	switch {
	case yamlnode.IsNull(n):
		return nil
	case n.Kind == yaml.ScalarNode:
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(n.Value)); err != nil {
			d.Fail(path)
			d.Errorf(n.Line, path, "a string pattern must be JSON: %v", err)
			return nil
		}
		return b.Bytes()
	case n.Kind == yaml.MappingNode:
		var b strings.Builder
		if !d.toJSON(&b, n, path) {
			d.Fail(path)
			return nil
		}
		return json.RawMessage(b.String())
	}
	d.TypeError(n, path, "a mapping (the pattern) or a string of JSON")
	return nil
}

// jsonNumberRE is a JSON number, which a pattern's numbers must be.
var jsonNumberRE = lazyregexp.New(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)

// toJSON writes a YAML value as JSON, numbers as written.
func (d *decoder) toJSON(b *strings.Builder, n *yaml.Node, path string) bool {
	// The size is checked as the pattern is written, not once it all is:
	// aliases make a small file stand for a large pattern.
	if b.Len() > eventpattern.MaxSize {
		if !d.tooLarge {
			d.tooLarge = true
			d.Errorf(n.Line, path, "the pattern is larger than %d bytes as JSON", eventpattern.MaxSize)
		}
		return false
	}
	n = yamlnode.Resolve(n)
	if !d.TagOK(n, path) {
		return false
	}
	switch n.Kind {
	case yaml.MappingNode:
		b.WriteByte('{')
		ok := true
		for i, f := range d.Fields(n, path) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(jsonString(f.Key))
			b.WriteByte(':')
			ok = d.toJSON(b, f.Value, yamlnode.Join(path, f.Key)) && ok
		}
		b.WriteByte('}')
		return ok
	case yaml.SequenceNode:
		b.WriteByte('[')
		ok := true
		for i, item := range d.List(n, path) {
			if i > 0 {
				b.WriteByte(',')
			}
			ok = d.toJSON(b, item, yamlnode.Index(path, i)) && ok
		}
		b.WriteByte(']')
		return ok
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			b.WriteString("null")
		case "!!bool":
			b.WriteString(strconv.FormatBool(strings.EqualFold(n.Value, "true")))
		case "!!int", "!!float":
			if !jsonNumberRE.MatchString(n.Value) {
				d.Errorf(n.Line, path, "%s is not a number as JSON writes them (quote it to match a string)", n.Value)
				return false
			}
			b.WriteString(n.Value)
		default:
			b.WriteString(jsonString(n.Value))
		}
		return true
	}
	d.TypeError(n, path, "a value")
	return false
}

// jsonString quotes s as JSON, leaving <, > and & as they are.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

func (d *decoder) target(n *yaml.Node, path string) Target {
	var t Target
	all := d.Mapping(n, path)
	// Next to its kind, a target may carry EventBridge's id, input and
	// inputPath (what `rule get -o json` shows of a rule made through
	// PutTargets).
	var fs []yamlnode.Field
	for _, f := range all {
		switch f.Key {
		case "id":
			t.ID = d.Str(f.Value, yamlnode.Join(path, f.Key))
		case "input":
			t.Input = d.Str(f.Value, yamlnode.Join(path, f.Key))
		case "inputPath":
			t.InputPath = d.Str(f.Value, yamlnode.Join(path, f.Key))
		default:
			fs = append(fs, f)
		}
	}
	if len(fs) != 1 {
		if !d.Failed(path) {
			d.Fail(path)
			d.Errorf(yamlnode.Resolve(n).Line, path, "a target is a mapping of one key: webhook, pipeline, function or email (and optionally id, input, inputPath)")
		}
		return t
	}
	f := fs[0]
	kp := yamlnode.Join(path, f.Key)
	switch f.Key {
	case KindWebhook:
		w := &WebhookTarget{}
		for _, g := range d.Mapping(f.Value, kp) {
			gp := yamlnode.Join(kp, g.Key)
			switch g.Key {
			case "url":
				w.URL = d.Str(g.Value, gp)
			case "secret":
				w.Secret = d.Str(g.Value, gp)
			case "headers":
				w.Headers = d.stringMap(g.Value, gp)
			case "inputTransformer":
				w.InputTransformer = d.transformer(g.Value, gp)
			case "retryFor":
				w.RetryFor = d.Str(g.Value, gp)
			default:
				d.Unknown(g, gp, webhookFields)
			}
		}
		t.Webhook = w
	case KindPipeline:
		p := &PipelineTarget{}
		for _, g := range d.Mapping(f.Value, kp) {
			gp := yamlnode.Join(kp, g.Key)
			switch g.Key {
			case "name":
				p.Name = d.Str(g.Value, gp)
			case "variables":
				p.Variables = d.stringMap(g.Value, gp)
			case "retryFor":
				p.RetryFor = d.Str(g.Value, gp)
			case "inputTransformer":
				d.Errorf(g.Line, gp, "a pipeline target takes no inputTransformer: its variables take values from the event ($.detail.pipeline)")
			default:
				d.Unknown(g, gp, pipelineFields)
			}
		}
		t.Pipeline = p
	case KindFunction:
		fn := &FunctionTarget{}
		for _, g := range d.Mapping(f.Value, kp) {
			gp := yamlnode.Join(kp, g.Key)
			switch g.Key {
			case "name":
				fn.Name = d.Str(g.Value, gp)
			case "inputTransformer":
				fn.InputTransformer = d.transformer(g.Value, gp)
			case "retryFor":
				fn.RetryFor = d.Str(g.Value, gp)
			default:
				d.Unknown(g, gp, functionFields)
			}
		}
		t.Function = fn
	case KindEmail:
		e := &EmailTarget{}
		for _, g := range d.Mapping(f.Value, kp) {
			gp := yamlnode.Join(kp, g.Key)
			switch g.Key {
			case "to":
				e.To = d.StringOrList(g.Value, gp)
			case "inputTransformer":
				e.InputTransformer = d.transformer(g.Value, gp)
			case "retryFor":
				e.RetryFor = d.Str(g.Value, gp)
			default:
				d.Unknown(g, gp, emailFields)
			}
		}
		t.Email = e
	default:
		d.Fail(path)
		d.Errorf(f.Line, kp, "unknown target kind%s (webhook, pipeline, function or email)", d.DidYouMean(f.Key, targetKinds))
	}
	return t
}

func (d *decoder) transformer(n *yaml.Node, path string) *InputTransformer {
	t := &InputTransformer{}
	for _, f := range d.Mapping(n, path) {
		fp := yamlnode.Join(path, f.Key)
		switch f.Key {
		case "inputPathsMap":
			t.InputPathsMap = d.stringMap(f.Value, fp)
		case "inputTemplate":
			t.InputTemplate = d.Str(f.Value, fp)
		default:
			d.Unknown(f, fp, transformerFields)
		}
	}
	return t
}

func (d *decoder) stringMap(n *yaml.Node, path string) map[string]string {
	fs := d.Mapping(n, path)
	if len(fs) == 0 {
		return nil
	}
	out := make(map[string]string, len(fs))
	for _, f := range fs {
		out[f.Key] = d.Str(f.Value, yamlnode.Join(path, f.Key))
	}
	return out
}
