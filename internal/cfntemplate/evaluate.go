package cfntemplate

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/google/uuid"

	"github.com/sluice-ci/sluice/internal/awsid"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// noValue is what Ref AWS::NoValue evaluates to: the property (or the list
// element) that holds it is left out.
var noValue = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!sluice-novalue"}

// Limits on what evaluating one template may build: an alias bomb or a
// Join of itself must not take the machine.
const (
	maxEvals  = 250_000 // a 1 MB template (CloudFormation's largest) has fewer values
	maxString = 1 << 20
)

type parameter struct {
	noEcho  bool // a secret: its value is never repeated in a message
	typ     string
	def     *yaml.Node
	allowed []string
	line    int
}

type evaluator struct {
	file       string
	opts       Options
	params     map[string]parameter
	mappings   *yaml.Node
	conditions map[string]*yaml.Node
	condValues map[string]bool
	condBusy   map[string]bool
	resources  map[string]*yaml.Node
	order      []string
	busy       map[string]bool // physical names being worked out, against cycles
	budget     int
	errs       yamlnode.ErrorList
	missing    map[string]*missingUse
	failed     bool // the budget ran out: say so once
}

func newEvaluator(file string, opts Options) *evaluator {
	if opts.StackName == "" {
		opts.StackName = "sluice"
	}
	if opts.AWS.Region == "" || opts.AWS.Account == "" {
		d := awsid.Default()
		if opts.AWS.Region == "" {
			opts.AWS.Region = d.Region
		}
		if opts.AWS.Account == "" {
			opts.AWS.Account = d.Account
		}
	}
	return &evaluator{
		file: file, opts: opts, params: map[string]parameter{},
		conditions: map[string]*yaml.Node{}, condValues: map[string]bool{}, condBusy: map[string]bool{},
		resources: map[string]*yaml.Node{}, busy: map[string]bool{}, budget: maxEvals, missing: map[string]*missingUse{},
	}
}

func (e *evaluator) errorf(line int, path, format string, args ...any) {
	e.errs = append(e.errs, &yamlnode.Error{File: e.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// missingf records that what key names must be given (a parameter, a
// resource's value): once, at its first use, with how many more uses
// there are, since one --parameter or --resource-value answers them all.
func (e *evaluator) missingf(key string, line int, path, format string, args ...any) {
	if m, ok := e.missing[key]; ok {
		m.more++
		return
	}
	e.errorf(line, path, format, args...)
	e.missing[key] = &missingUse{err: e.errs[len(e.errs)-1]}
}

type missingUse struct {
	err  *yamlnode.Error
	more int
}

// finish adds to each missing value's error how often else it is used.
func (e *evaluator) finish() {
	for _, m := range e.missing {
		if m.more > 0 {
			m.err.Msg += fmt.Sprintf(" (used %d more times)", m.more)
		}
	}
}

func (e *evaluator) readParameters(key, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], yamlnode.Resolve(n.Content[i+1])
		p := parameter{line: k.Line}
		if t := field(v, "Type"); t != nil {
			p.typ = t.Value
		}
		p.def = field(v, "Default")
		if ne := field(v, "NoEcho"); ne != nil && strings.EqualFold(ne.Value, "true") {
			p.noEcho = true
		}
		if av := field(v, "AllowedValues"); av != nil && av.Kind == yaml.SequenceNode {
			for _, a := range av.Content {
				p.allowed = append(p.allowed, a.Value)
			}
		}
		e.params[k.Value] = p
	}
	for _, name := range sortedKeys(e.opts.Parameters) {
		p, ok := e.params[name]
		if !ok {
			e.errorf(key.Line, "Parameters", "--parameter %s: the template declares no parameter %s", name, name)
			continue
		}
		e.checkAllowed(name, p, e.opts.Parameters[name])
	}
}

// checkAllowed checks a parameter's value against its AllowedValues, as
// CloudFormation does before it creates anything.
func (e *evaluator) checkAllowed(name string, p parameter, v string) bool {
	if len(p.allowed) == 0 || strings.HasPrefix(p.typ, "List<") || p.typ == "CommaDelimitedList" {
		return true
	}
	for _, a := range p.allowed {
		if a == v {
			return true
		}
	}
	if _, said := e.missing["allowed "+name]; said {
		return false // said once, where it is declared
	}
	shown := fmt.Sprintf("%q", v)
	if p.noEcho {
		shown = "(NoEcho, not shown)"
	}
	e.missingf("allowed "+name, p.line, "Parameters."+name, "value %s is not one of its AllowedValues (%s)", shown, strings.Join(p.allowed, ", "))
	return false
}

func (e *evaluator) resourceType(logical string) string {
	if t := field(e.resources[logical], "Type"); t != nil {
		return t.Value
	}
	return ""
}

// eval resolves the intrinsic functions in n. It returns nil after recording
// an error, noValue for AWS::NoValue.
func (e *evaluator) eval(n *yaml.Node, path string) *yaml.Node {
	n = yamlnode.Resolve(n)
	if n == nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	if e.failed {
		return nil
	}
	if e.budget--; e.budget < 0 {
		if !e.failed {
			e.failed = true
			e.errorf(n.Line, path, "too large: more than %d values once aliases and functions are expanded", maxEvals)
		}
		return nil
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		fn := n.Tag[1:]
		arg := *n
		arg.Tag = ""
		switch arg.Kind {
		case yaml.ScalarNode:
			arg.Tag = "!!str"
		case yaml.SequenceNode:
			arg.Tag = "!!seq"
		case yaml.MappingNode:
			arg.Tag = "!!map"
		}
		if fn != "Ref" && fn != "Condition" {
			fn = "Fn::" + fn
		}
		return e.intrinsic(fn, &arg, n.Line, path)
	}
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content) == 2 {
			k := n.Content[0].Value
			if k == "Ref" || strings.HasPrefix(k, "Fn::") {
				return e.intrinsic(k, yamlnode.Resolve(n.Content[1]), n.Content[0].Line, path)
			}
		}
		out := mapping(n.Line)
		out.Column = n.Column
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			v := e.eval(n.Content[i+1], path+"."+k.Value)
			if v == nil || v == noValue {
				continue
			}
			out.Content = append(out.Content, k, v)
		}
		return out
	case yaml.SequenceNode:
		out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: n.Line, Column: n.Column}
		for i, c := range n.Content {
			v := e.eval(c, fmt.Sprintf("%s[%d]", path, i))
			if v == nil || v == noValue {
				continue
			}
			out.Content = append(out.Content, v)
		}
		return out
	}
	c := *n
	return &c
}

// str evaluates n to a string; ok is false after an error.
func (e *evaluator) str(n *yaml.Node, path, what string) (string, bool) {
	v := e.eval(n, path)
	if v == nil {
		return "", false
	}
	if v.Kind != yaml.ScalarNode || v == noValue {
		e.errorf(lineOf(n), path, "%s must be a string, not %s", what, describe(v))
		return "", false
	}
	return v.Value, true
}

// args checks that an intrinsic's argument is a list of n.
func (e *evaluator) args(fn string, arg *yaml.Node, n int, line int, path string) ([]*yaml.Node, bool) {
	if arg.Kind != yaml.SequenceNode || len(arg.Content) != n {
		e.errorf(line, path, "%s takes a list of %d, not %s", fn, n, describe(arg))
		return nil, false
	}
	return arg.Content, true
}

func (e *evaluator) intrinsic(fn string, arg *yaml.Node, line int, path string) *yaml.Node {
	switch fn {
	case "Ref":
		if arg.Kind != yaml.ScalarNode {
			e.errorf(line, path, "Ref takes a name, not %s", describe(arg))
			return nil
		}
		return e.ref(arg.Value, line, path)
	case "Fn::GetAtt":
		var logical, attr string
		switch arg.Kind {
		case yaml.ScalarNode:
			var ok bool
			logical, attr, ok = strings.Cut(arg.Value, ".")
			if !ok {
				e.errorf(line, path, "Fn::GetAtt %q: write RESOURCE.Attribute", arg.Value)
				return nil
			}
		case yaml.SequenceNode:
			a, ok := e.args(fn, arg, 2, line, path)
			if !ok {
				return nil
			}
			logical = a[0].Value
			if attr, ok = e.str(a[1], path, "Fn::GetAtt's attribute"); !ok {
				return nil
			}
		default:
			e.errorf(line, path, "Fn::GetAtt takes RESOURCE.Attribute or [RESOURCE, Attribute], not %s", describe(arg))
			return nil
		}
		return e.getAtt(logical, attr, line, path)
	case "Fn::Sub":
		return e.sub(arg, line, path)
	case "Fn::Join":
		a, ok := e.args(fn, arg, 2, line, path)
		if !ok {
			return nil
		}
		delim, ok := e.str(a[0], path, "Fn::Join's delimiter")
		if !ok {
			return nil
		}
		list := e.eval(a[1], path)
		if list == nil {
			return nil
		}
		if list.Kind != yaml.SequenceNode {
			e.errorf(line, path, "Fn::Join joins a list, not %s", describe(list))
			return nil
		}
		var parts []string
		size := 0
		for _, c := range list.Content {
			if c.Kind != yaml.ScalarNode {
				e.errorf(c.Line, path, "Fn::Join joins strings, not %s", describe(c))
				return nil
			}
			parts = append(parts, c.Value)
			if size += len(c.Value) + len(delim); size > maxString {
				e.errorf(line, path, "Fn::Join makes a string longer than %d bytes", maxString)
				return nil
			}
		}
		return scalar(strings.Join(parts, delim), line)
	case "Fn::Select":
		a, ok := e.args(fn, arg, 2, line, path)
		if !ok {
			return nil
		}
		is, ok := e.str(a[0], path, "Fn::Select's index")
		if !ok {
			return nil
		}
		i, err := strconv.Atoi(is)
		if err != nil || i < 0 {
			e.errorf(line, path, "Fn::Select's index %q is not a number from 0", is)
			return nil
		}
		list := e.eval(a[1], path)
		if list == nil {
			return nil
		}
		if list.Kind != yaml.SequenceNode {
			e.errorf(line, path, "Fn::Select selects from a list, not %s", describe(list))
			return nil
		}
		if i >= len(list.Content) {
			e.errorf(line, path, "Fn::Select: index %d, but the list has %d", i, len(list.Content))
			return nil
		}
		return list.Content[i]
	case "Fn::Split":
		a, ok := e.args(fn, arg, 2, line, path)
		if !ok {
			return nil
		}
		delim, ok := e.str(a[0], path, "Fn::Split's delimiter")
		if !ok {
			return nil
		}
		s, ok := e.str(a[1], path, "what Fn::Split splits")
		if !ok {
			return nil
		}
		if delim == "" {
			e.errorf(line, path, "Fn::Split needs a delimiter")
			return nil
		}
		out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: line}
		for _, p := range strings.Split(s, delim) {
			out.Content = append(out.Content, scalar(p, line))
		}
		return out
	case "Fn::If":
		a, ok := e.args(fn, arg, 3, line, path)
		if !ok {
			return nil
		}
		var on bool
		if c := yamlnode.Resolve(a[0]); c.Kind == yaml.ScalarNode && (c.Tag == "!!str" || c.Tag == "") {
			on, ok = e.condition(c.Value, line, path)
		} else { // a condition function written in place, as some templates do
			on, ok = e.cond(c, line, path)
		}
		if !ok {
			return nil
		}
		if on {
			return e.eval(a[1], path)
		}
		return e.eval(a[2], path)
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition":
		b, ok := e.boolean(fn, arg, line, path)
		if !ok {
			return nil
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b), Line: line}
	case "Fn::FindInMap":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) < 3 {
			e.errorf(line, path, "Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey]")
			return nil
		}
		var keys [3]string
		for i := range 3 {
			s, ok := e.str(arg.Content[i], path, "Fn::FindInMap's key")
			if !ok {
				return nil
			}
			keys[i] = s
		}
		m := field(e.mappings, keys[0])
		if m == nil {
			e.errorf(line, path, "Fn::FindInMap: the template has no mapping %s", keys[0])
			return nil
		}
		top := field(m, keys[1])
		if top == nil {
			if len(arg.Content) == 4 { // the language extension's DefaultValue
				if dv := field(arg.Content[3], "DefaultValue"); dv != nil {
					return e.eval(dv, path)
				}
			}
			e.errorf(line, path, "Fn::FindInMap: mapping %s has no key %s", keys[0], keys[1])
			return nil
		}
		v := field(top, keys[2])
		if v == nil {
			e.errorf(line, path, "Fn::FindInMap: mapping %s.%s has no key %s", keys[0], keys[1], keys[2])
			return nil
		}
		return e.eval(v, path)
	case "Fn::Base64":
		s, ok := e.str(arg, path, "what Fn::Base64 encodes")
		if !ok {
			return nil
		}
		return scalar(base64.StdEncoding.EncodeToString([]byte(s)), line)
	case "Fn::ImportValue":
		name, ok := e.str(arg, path, "Fn::ImportValue's export name")
		if !ok {
			return nil
		}
		if v, ok := e.opts.Values["import:"+name]; ok {
			return scalar(v, line)
		}
		e.missingf("import:"+name, line, path, "Fn::ImportValue %s is another stack's export, which only CloudFormation knows: give it with --resource-value 'import:%s=VALUE' (or in a --resource-values file)", name, name)
		return nil
	case "Fn::ToJsonString":
		v := e.eval(arg, path)
		if v == nil {
			return nil
		}
		b, err := json.Marshal(toAny(v))
		if err != nil {
			e.errorf(line, path, "Fn::ToJsonString: %v", err)
			return nil
		}
		return scalar(string(b), line)
	}
	e.errorf(line, path, "%q is not supported here: sluice resolves Ref, Fn::Sub, Fn::GetAtt, Fn::Join, Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::Or, Fn::FindInMap, Fn::Select, Fn::Split, Fn::Base64, Fn::ImportValue and Fn::ToJsonString; give the value itself", fn)
	return nil
}

// pseudo are the pseudo parameters, for the options.
func (e *evaluator) pseudo(name string) (*yaml.Node, bool) {
	id := e.opts.AWS
	switch name {
	case "AWS::Region":
		return scalar(id.Region, 0), true
	case "AWS::AccountId":
		return scalar(id.Account, 0), true
	case "AWS::StackName":
		return scalar(e.opts.StackName, 0), true
	case "AWS::Partition":
		return scalar(awsid.Partition, 0), true
	case "AWS::URLSuffix":
		return scalar("amazonaws.com", 0), true
	case "AWS::NoValue":
		return noValue, true
	case "AWS::StackId":
		h := sha256.Sum256([]byte(id.Region + "/" + id.Account + "/" + e.opts.StackName))
		return scalar(id.ARN("cloudformation", "stack/"+e.opts.StackName+"/"+uuid.UUID(h[:16]).String()), 0), true
	case "AWS::NotificationARNs":
		return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}, true
	}
	return nil, false
}

func (e *evaluator) ref(name string, line int, path string) *yaml.Node {
	if v, ok := e.pseudo(name); ok {
		if v != noValue {
			c := *v
			c.Line = line
			return &c
		}
		return v
	}
	if p, ok := e.params[name]; ok {
		return e.parameter(name, p, line, path)
	}
	if _, ok := e.resources[name]; ok {
		if v, ok := e.opts.Values[name]; ok {
			return scalar(v, line)
		}
		v, why := e.physical(name, "", line, path)
		if v != nil || why == "" {
			return v
		}
		e.missingf(name, line, path, "!Ref %s names resource %s (%s), %s: give it with --resource-value %s=VALUE (or in a --resource-values file)", name, name, e.resourceType(name), why, name)
		return nil
	}
	e.errorf(line, path, "!Ref %s: the template has no parameter or resource %s", name, name)
	return nil
}

func (e *evaluator) parameter(name string, p parameter, line int, path string) *yaml.Node {
	var s string
	if v, ok := e.opts.Parameters[name]; ok {
		s = v
	} else if p.def != nil {
		if p.def.Kind == yaml.SequenceNode { // a list's default written as a list
			var parts []string
			for _, c := range p.def.Content {
				parts = append(parts, c.Value)
			}
			s = strings.Join(parts, ",")
		} else {
			s = p.def.Value
		}
	} else {
		e.missingf("parameter "+name, line, path, "parameter %s (declared on line %d) has no Default: give it with --parameter %s=VALUE", name, p.line, name)
		return nil
	}
	if !e.checkAllowed(name, p, s) {
		return nil
	}
	if p.typ == "CommaDelimitedList" || strings.HasPrefix(p.typ, "List<") {
		out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: line}
		for _, part := range strings.Split(s, ",") {
			out.Content = append(out.Content, scalar(strings.TrimSpace(part), line))
		}
		return out
	}
	return scalar(s, line)
}

func (e *evaluator) getAtt(logical, attr string, line int, path string) *yaml.Node {
	if _, ok := e.resources[logical]; !ok {
		e.errorf(line, path, "!GetAtt %s.%s: the template has no resource %s", logical, attr, logical)
		return nil
	}
	if v, ok := e.opts.Values[logical+"."+attr]; ok {
		return scalar(v, line)
	}
	v, why := e.physical(logical, attr, line, path)
	if v != nil || why == "" {
		return v
	}
	e.missingf(logical+"."+attr, line, path, "!GetAtt %s.%s is an attribute of resource %s (%s), %s: give it with --resource-value %s.%s=VALUE (or in a --resource-values file)",
		logical, attr, logical, e.resourceType(logical), why, logical, attr)
	return nil
}

// sub is Fn::Sub: ${Name} is a parameter's or a resource's Ref, ${R.Attr}
// an attribute, ${!Literal} stays ${Literal}.
func (e *evaluator) sub(arg *yaml.Node, line int, path string) *yaml.Node {
	var tmpl string
	vars := map[string]*yaml.Node{}
	switch arg.Kind {
	case yaml.ScalarNode:
		tmpl = arg.Value
	case yaml.SequenceNode:
		if len(arg.Content) != 2 || yamlnode.Resolve(arg.Content[0]).Kind != yaml.ScalarNode {
			e.errorf(line, path, "Fn::Sub takes a string or [string, {Name: value}]")
			return nil
		}
		tmpl = yamlnode.Resolve(arg.Content[0]).Value
		m := yamlnode.Resolve(arg.Content[1])
		if m.Kind != yaml.MappingNode {
			e.errorf(line, path, "Fn::Sub's variables must be a mapping, not %s", describe(m))
			return nil
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			vars[m.Content[i].Value] = m.Content[i+1]
		}
	default:
		e.errorf(line, path, "Fn::Sub takes a string or [string, {Name: value}], not %s", describe(arg))
		return nil
	}
	var b strings.Builder
	ok := true
	for {
		i := strings.Index(tmpl, "${")
		if i < 0 {
			b.WriteString(tmpl)
			break
		}
		b.WriteString(tmpl[:i])
		rest := tmpl[i+2:]
		j := strings.Index(rest, "}")
		if j < 0 {
			b.WriteString(tmpl[i:])
			break
		}
		name := rest[:j]
		tmpl = rest[j+1:]
		if lit, isLit := strings.CutPrefix(name, "!"); isLit {
			b.WriteString("${" + lit + "}")
			continue
		}
		name = strings.TrimSpace(name)
		var v *yaml.Node
		if n, isVar := vars[name]; isVar {
			v = e.eval(n, path)
		} else if logical, attr, isAtt := strings.Cut(name, "."); isAtt {
			v = e.getAtt(logical, attr, line, path)
		} else {
			v = e.ref(name, line, path)
		}
		if v == nil {
			ok = false
			continue
		}
		if v.Kind != yaml.ScalarNode || v == noValue {
			e.errorf(line, path, "Fn::Sub: ${%s} is %s, not a string", name, describe(v))
			ok = false
			continue
		}
		b.WriteString(v.Value)
		if b.Len() > maxString {
			e.errorf(line, path, "Fn::Sub makes a string longer than %d bytes", maxString)
			return nil
		}
	}
	if !ok {
		return nil
	}
	return scalar(b.String(), line)
}

// condition is the value of the template's condition name.
func (e *evaluator) condition(name string, line int, path string) (bool, bool) {
	if v, ok := e.condValues[name]; ok {
		return v, true
	}
	c, ok := e.conditions[name]
	if !ok {
		e.errorf(line, path, "the template has no condition %s", name)
		return false, false
	}
	if e.condBusy[name] {
		e.errorf(line, path, "condition %s depends on itself", name)
		return false, false
	}
	e.condBusy[name] = true
	defer delete(e.condBusy, name)
	v := e.eval(c, "Conditions."+name)
	if v == nil {
		return false, false
	}
	if v.Kind != yaml.ScalarNode || (v.Value != "true" && v.Value != "false") {
		e.errorf(c.Line, "Conditions."+name, "a condition must be Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition, not %s", describe(v))
		return false, false
	}
	e.condValues[name] = v.Value == "true"
	return v.Value == "true", true
}

func (e *evaluator) boolean(fn string, arg *yaml.Node, line int, path string) (bool, bool) {
	switch fn {
	case "Condition":
		return e.condition(arg.Value, line, path)
	case "Fn::Equals":
		a, ok := e.args(fn, arg, 2, line, path)
		if !ok {
			return false, false
		}
		x, y := e.eval(a[0], path), e.eval(a[1], path)
		if x == nil || y == nil {
			return false, false
		}
		xb, _ := json.Marshal(toAny(x))
		yb, _ := json.Marshal(toAny(y))
		return string(xb) == string(yb), true
	case "Fn::Not":
		a, ok := e.args(fn, arg, 1, line, path)
		if !ok {
			return false, false
		}
		b, ok := e.cond(a[0], line, path)
		return !b, ok
	}
	if arg.Kind != yaml.SequenceNode || len(arg.Content) < 2 || len(arg.Content) > 10 {
		e.errorf(line, path, "%s takes a list of 2 to 10 conditions", fn)
		return false, false
	}
	all := fn == "Fn::And"
	for _, c := range arg.Content {
		b, ok := e.cond(c, line, path)
		if !ok {
			return false, false
		}
		if fn == "Fn::And" {
			all = all && b
		} else {
			all = all || b
		}
	}
	return all, true
}

// cond evaluates one operand of Fn::Not, Fn::And, Fn::Or: a condition
// function, or {Condition: Name}.
func (e *evaluator) cond(n *yaml.Node, line int, path string) (bool, bool) {
	n = yamlnode.Resolve(n)
	if c := field(n, "Condition"); c != nil && len(n.Content) == 2 {
		return e.condition(c.Value, line, path)
	}
	v := e.eval(n, path)
	if v == nil {
		return false, false
	}
	if v.Kind != yaml.ScalarNode || (v.Value != "true" && v.Value != "false") {
		e.errorf(lineOf(n), path, "expected a condition, not %s", describe(v))
		return false, false
	}
	return v.Value == "true", true
}

// toAny is n as encoding/json would decode its JSON.
func toAny(n *yaml.Node) any {
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = toAny(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range n.Content {
			l = append(l, toAny(c))
		}
		return l
	case yaml.AliasNode:
		return toAny(yamlnode.Resolve(n))
	}
	switch n.Tag {
	case "!!int", "!!float":
		if _, err := strconv.ParseFloat(n.Value, 64); err == nil && json.Valid([]byte(n.Value)) {
			return json.Number(n.Value)
		}
	case "!!bool":
		return n.Value == "true"
	case "!!null":
		return nil
	}
	return n.Value
}
