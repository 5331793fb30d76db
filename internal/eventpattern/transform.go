package eventpattern

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/lazyregexp"
)

// The input transformer, as EventBridge's: an input paths map names values
// of the event by JSONPath ({"state": "$.detail.state"}), and a template
// places them (<state>).
//
// A template that starts with {, [ or " is JSON, and its output must be
// valid JSON: a placeholder outside a string becomes the value as JSON (a
// string quoted, an object as an object), one inside a string becomes the
// value's text, escaped for the string. Any other template is text, where
// placeholders become the value's text (strings unquoted, other values as
// JSON). A path the event does not have yields null outside strings and
// nothing inside them and in text. JSON output is minified.

// Predefined variables, usable in any template without a path.
const (
	VarRuleName      = "aws.events.rule-name"
	VarRuleARN       = "aws.events.rule-arn"
	VarEvent         = "aws.events.event"      // the event without its detail
	VarEventJSON     = "aws.events.event.json" // the whole event
	VarIngestionTime = "aws.events.event.ingestion-time"
)

var predefined = []string{VarRuleName, VarRuleARN, VarEvent, VarEventJSON, VarIngestionTime}

// Predefined holds the values of the predefined variables that do not come
// from the event itself.
type Predefined struct {
	RuleName      string
	RuleARN       string
	IngestionTime time.Time
}

// MaxInputPaths is how many variables an input paths map may define.
const MaxInputPaths = 100

var varNameRE = lazyregexp.New(`^[A-Za-z0-9_.:-]{1,256}$`)

// Transformer is a compiled input transformer; it is safe for concurrent use.
type Transformer struct {
	paths map[string]*jsonPath
	parts []part
	json  bool
}

type part struct {
	lit      string
	name     string // a placeholder when non-empty
	inString bool
}

// TransformError is a problem in an input transformer: Field is
// "inputPathsMap.NAME" or "inputTemplate".
type TransformError struct {
	Field string
	Msg   string
}

func (e *TransformError) Error() string { return e.Field + ": " + e.Msg }

// CompileTransformer checks an input paths map and template.
func CompileTransformer(inputPathsMap map[string]string, inputTemplate string) (*Transformer, error) {
	t := &Transformer{paths: map[string]*jsonPath{}}
	if len(inputPathsMap) > MaxInputPaths {
		return nil, &TransformError{Field: "inputPathsMap", Msg: fmt.Sprintf("at most %d variables, not %d", MaxInputPaths, len(inputPathsMap))}
	}
	names := make([]string, 0, len(inputPathsMap))
	for n := range inputPathsMap {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		field := "inputPathsMap." + n
		switch {
		case strings.HasPrefix(strings.ToLower(n), "aws."):
			return nil, &TransformError{Field: field, Msg: "names starting with aws. are reserved for the predefined variables"}
		case !varNameRE.MatchString(n):
			return nil, &TransformError{Field: field, Msg: fmt.Sprintf("%q is not a variable name (letters, digits, _, ., : and -)", n)}
		}
		p, err := parsePath(inputPathsMap[n])
		if err != nil {
			return nil, &TransformError{Field: field, Msg: err.Error()}
		}
		t.paths[n] = p
	}
	trimmed := strings.TrimSpace(inputTemplate)
	t.json = strings.HasPrefix(trimmed, "{") || strings.HasPrefix(trimmed, "[") || strings.HasPrefix(trimmed, `"`)
	if err := t.parseTemplate(inputTemplate); err != nil {
		return nil, &TransformError{Field: "inputTemplate", Msg: err.Error()}
	}
	if t.json {
		// Filled with any values, the template must be JSON.
		out := t.render(func(string) (any, bool) { return "x", true })
		if !json.Valid(out) {
			return nil, &TransformError{Field: "inputTemplate", Msg: "starts like JSON but is not valid JSON (placeholders stand for values: <name> outside a string, \"…<name>…\" inside one)"}
		}
	}
	return t, nil
}

func (t *Transformer) known(name string) bool {
	_, ok := t.paths[name]
	return ok || slices.Contains(predefined, name)
}

func (t *Transformer) parseTemplate(s string) error {
	var lit strings.Builder
	inString, escaped := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '<' {
			if end := strings.IndexByte(s[i+1:], '>'); end >= 0 {
				name := s[i+1 : i+1+end]
				if t.known(name) {
					if t.json && !inString && followedByColon(s[i+2+end:]) {
						return fmt.Errorf("placeholder <%s> cannot be an object key", name)
					}
					t.parts = append(t.parts, part{lit: lit.String()}, part{name: name, inString: t.json && inString})
					lit.Reset()
					i += end + 1
					escaped = false
					continue
				}
			}
		}
		lit.WriteByte(c)
		if !t.json {
			continue
		}
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		}
	}
	t.parts = append(t.parts, part{lit: lit.String()})
	return nil
}

func followedByColon(rest string) bool {
	rest = strings.TrimLeft(rest, " \t\r\n")
	return strings.HasPrefix(rest, ":")
}

// Transform applies an input transformer to an event in one step; see
// CompileTransformer and (*Transformer).Apply.
func Transform(inputPathsMap map[string]string, inputTemplate string, event map[string]any) ([]byte, error) {
	t, err := CompileTransformer(inputPathsMap, inputTemplate)
	if err != nil {
		return nil, err
	}
	return t.Apply(event, Predefined{})
}

// Apply fills the template from the event. JSON output is minified.
func (t *Transformer) Apply(event map[string]any, pre Predefined) ([]byte, error) {
	lookup := func(name string) (any, bool) {
		if p, ok := t.paths[name]; ok {
			return p.eval(event)
		}
		switch name {
		case VarRuleName:
			return pre.RuleName, pre.RuleName != ""
		case VarRuleARN:
			return pre.RuleARN, pre.RuleARN != ""
		case VarIngestionTime:
			if pre.IngestionTime.IsZero() {
				return nil, false
			}
			return pre.IngestionTime.UTC().Format(time.RFC3339), true
		case VarEventJSON:
			return event, true
		case VarEvent:
			m := make(map[string]any, len(event))
			for k, v := range event {
				if k != "detail" {
					m[k] = v
				}
			}
			return m, true
		}
		return nil, false
	}
	out := t.render(lookup)
	if !t.json {
		return out, nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, out); err != nil {
		return nil, fmt.Errorf("input transformer: the output is not valid JSON: %v", err)
	}
	return b.Bytes(), nil
}

func (t *Transformer) render(lookup func(string) (any, bool)) []byte {
	var b bytes.Buffer
	for _, p := range t.parts {
		if p.name == "" {
			b.WriteString(p.lit)
			continue
		}
		v, ok := lookup(p.name)
		switch {
		case t.json && !p.inString:
			if !ok {
				b.WriteString("null")
			} else {
				b.Write(marshal(v))
			}
		case !ok:
		case p.inString:
			q := marshal(valueText(v))
			b.Write(q[1 : len(q)-1]) // escaped for the string it stands in
		default:
			b.WriteString(valueText(v))
		}
	}
	return b.Bytes()
}

// valueText is a value as text: a string as itself, anything else as JSON.
func valueText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return string(marshal(v))
}

func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte("null")
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// ---- JSONPath, EventBridge's subset ----

// jsonPath is $ followed by .name, .*, [n] and [*] steps.
type jsonPath struct {
	text  string
	steps []step
}

type step struct {
	key   string
	index int
	kind  int // stepKey, stepIndex, stepAll
}

const (
	stepKey = iota
	stepIndex
	stepAll
)

// ParsePath checks a JSONPath of the subset EventBridge evaluates: $, then
// .name (letters, digits, -, _ and the like), [n] and the wildcards .* and [*].
func ParsePath(s string) error {
	_, err := parsePath(s)
	return err
}

func parsePath(s string) (*jsonPath, error) {
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("%q is not a JSONPath: it must start with $ (as in $.detail.state)", s)
	}
	p := &jsonPath{text: s}
	rest := s[1:]
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			name := rest[:end]
			if name == "" {
				return nil, fmt.Errorf("%q: empty name after a dot", s)
			}
			if name == "*" {
				p.steps = append(p.steps, step{kind: stepAll})
			} else {
				p.steps = append(p.steps, step{kind: stepKey, key: name})
			}
			rest = rest[end:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("%q: [ without ]", s)
			}
			inner := rest[1:end]
			if inner == "*" {
				p.steps = append(p.steps, step{kind: stepAll})
			} else {
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("%q: [%s] is not an array index (use dots for names: $.detail.state)", s, inner)
				}
				p.steps = append(p.steps, step{kind: stepIndex, index: n})
			}
			rest = rest[end+1:]
		default:
			return nil, fmt.Errorf("%q: expected . or [ after %q", s, s[:len(s)-len(rest)])
		}
	}
	return p, nil
}

// eval returns the value at the path; a path with wildcards returns the
// list of what they reach.
func (p *jsonPath) eval(event map[string]any) (any, bool) {
	wild := false
	for _, st := range p.steps {
		wild = wild || st.kind == stepAll
	}
	var out []any
	var walk func(v any, steps []step) bool
	walk = func(v any, steps []step) bool {
		if len(steps) == 0 {
			out = append(out, v)
			return true
		}
		st := steps[0]
		switch st.kind {
		case stepKey:
			m, ok := v.(map[string]any)
			if !ok {
				return false
			}
			next, ok := m[st.key]
			return ok && walk(next, steps[1:])
		case stepIndex:
			l, ok := v.([]any)
			if !ok || st.index >= len(l) {
				return false
			}
			return walk(l[st.index], steps[1:])
		}
		found := false
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				found = walk(x[k], steps[1:]) || found
			}
		case []any:
			for _, e := range x {
				found = walk(e, steps[1:]) || found
			}
		}
		return found
	}
	var root any = event
	if !walk(root, p.steps) {
		return nil, false
	}
	if wild {
		return out, true
	}
	return out[0], true
}

// ResolvePath evaluates a JSONPath against an event: the value and whether
// the event has it.
func ResolvePath(path string, event map[string]any) (any, bool, error) {
	p, err := parsePath(path)
	if err != nil {
		return nil, false, err
	}
	v, ok := p.eval(event)
	return v, ok, nil
}
