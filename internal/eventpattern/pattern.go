// Package eventpattern is EventBridge's event pattern language, compiled once
// and matched fast, and its input transformer.
//
// A pattern is a JSON object with the shape of the events it matches. A field
// whose value is an object matches the event's field of that name against
// the nested pattern; a field whose value is a list matches when any entry of
// the list matches the event's value (entries are OR'ed, fields AND'ed):
//
//   - exact values: strings, numbers (compared as written: 300 is not 3.0e2),
//     true, false and null;
//   - {"prefix": "x"}, {"prefix": {"equals-ignore-case": "x"}}, {"suffix": …}
//     the same ways, {"equals-ignore-case": "x"}, {"wildcard": "a*b"};
//   - {"anything-but": …} a value, a list of strings or of numbers, or
//     {"prefix"|"suffix"|"equals-ignore-case"|"wildcard": a string or a list};
//   - {"numeric": [">", 0, "<=", 5]} and {"numeric": ["=", 3.018e2]};
//   - {"cidr": "10.0.0.0/24"} (IPv4 or IPv6);
//   - {"exists": true|false}, on leaves only: a field holding an object does
//     not exist as far as exists is concerned;
//   - "$or": [{…}, {…}] at any level, alternatives of fields at that level;
//     elsewhere (an object, a list of values or of filters) "$or" is an
//     ordinary field name, as in EventBridge's matcher.
//
// When the event's value is a list, the pattern matches if any element does.
//
// It imports nothing of sluice's.
package eventpattern

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is a problem in a pattern. Path names where, in the pattern's own
// terms ("detail.state", "detail.$or[1].count").
type Error struct {
	Path string
	Msg  string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Pattern is a compiled event pattern. It is immutable and safe for
// concurrent use.
type Pattern struct {
	root *object
	text string
}

type object struct {
	fields []*field
	ors    []*orGroup
}

type orGroup struct {
	path string // the event path of the object holding it, for explanations
	alts []*object
}

type field struct {
	key  string
	path string // in the event: detail.state
	obj  *object
	leaf *leaf
}

// leaf is the list of values a field's value is matched against.
type leaf struct {
	strs        []string
	strSet      map[string]struct{} // strs as a set, when there are many
	nums        []string            // exact numbers, as written
	hasTrue     bool
	hasFalse    bool
	hasNull     bool
	ops         []matcher
	existsTrue  bool
	existsFalse bool
}

// matcher is one content filter of a leaf.
type matcher interface {
	match(sc scalar) bool
	describe() string
}

// Compile reads a pattern (JSON). The error, for a pattern that is not valid,
// is an *Error naming where.
func Compile(pattern []byte) (*Pattern, error) {
	root, err := parseJSON(pattern)
	if err != nil {
		return nil, &Error{Msg: err.Error()}
	}
	if root.kind != kObject {
		return nil, &Error{Msg: "an event pattern must be a JSON object, not " + root.describe()}
	}
	if len(root.keys) == 0 {
		return nil, &Error{Msg: "an event pattern must name at least one field"}
	}
	var c compiler
	obj := c.object(root, "", "")
	if c.err != nil {
		return nil, c.err
	}
	var b strings.Builder
	writeCompact(&b, root)
	return &Pattern{root: obj, text: b.String()}, nil
}

// MustCompile is Compile for patterns known to be valid; it panics otherwise.
func MustCompile(pattern string) *Pattern {
	p, err := Compile([]byte(pattern))
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the pattern as compact JSON.
func (p *Pattern) String() string { return p.text }

// MarshalJSON returns the pattern as compact JSON.
func (p *Pattern) MarshalJSON() ([]byte, error) { return []byte(p.text), nil }

// Match reports whether the event matches. Numbers in the event may be
// json.Number (DecodeEvent keeps them so), float64 or Go integers.
func (p *Pattern) Match(event map[string]any) bool {
	return p.root.match(event)
}

// Explain reports whether the event matches and, when it does not, why: one
// line per field that does not match, named by its path in the event
// (`detail.state: "FAILED" is not one of "SUCCEEDED"`).
func (p *Pattern) Explain(event map[string]any) (bool, []string) {
	var why []string
	ok := p.root.explain(event, &why)
	if ok {
		return true, nil
	}
	return false, why
}

// ---- compiling ----

type compiler struct {
	err *Error
}

func (c *compiler) fail(path, format string, args ...any) {
	if c.err == nil {
		c.err = &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// object compiles an object of fields at pattern path ppath, matching the
// event at event path epath.
func (c *compiler) object(v *value, ppath, epath string) *object {
	o := &object{}
	for i, key := range v.keys {
		val := v.vals[i]
		pp, ep := join(ppath, key), join(epath, key)
		if key == "$or" && isOrPrimitive(val) {
			o.ors = append(o.ors, c.or(val, pp, ppath, epath))
			continue
		}
		f := &field{key: key, path: ep}
		switch val.kind {
		case kObject:
			if len(val.keys) == 0 {
				c.fail(pp, "an object in a pattern must name at least one field")
				return o
			}
			f.obj = c.object(val, pp, ep)
		case kArray:
			f.leaf = c.leaf(val, pp)
		default:
			c.fail(pp, "must be a list of values to match (as in [%s]) or an object of fields, not %s", compactString(val), val.describe())
			return o
		}
		if c.err != nil {
			return o
		}
		o.fields = append(o.fields, f)
	}
	return o
}

// isOrPrimitive reports whether "$or": v is EventBridge's "or" rather than a
// field called "$or". Its matcher (aws/event-ruler, which documents the
// rule) reads "$or" as "or" only when it holds a list of objects none of
// whose field names, at any depth, is an operator's name; otherwise "$or"
// is an ordinary field name, as in {"$or": {"a": ["x"]}} or
// {"$or": ["x", "y"]}. (A list of one object is read as "or" here, for the
// clearer error: the matcher refuses it either way.)
func isOrPrimitive(v *value) bool {
	if v.kind != kArray || len(v.items) == 0 {
		return false
	}
	for _, it := range v.items {
		if it.kind != kObject || usesOperatorName(it) {
			return false
		}
	}
	return true
}

// usesOperatorName reports whether an object of fields, or one nested in
// it, has a field named like an operator.
func usesOperatorName(o *value) bool {
	for i, k := range o.keys {
		if contains(operators, k) {
			return true
		}
		switch v := o.vals[i]; {
		case v.kind == kObject && usesOperatorName(v):
			return true
		case k == "$or" && v.kind == kArray:
			for _, it := range v.items {
				if it.kind == kObject && usesOperatorName(it) {
					return true
				}
			}
		}
	}
	return false
}

func contains(set []string, s string) bool {
	for _, x := range set {
		if x == s {
			return true
		}
	}
	return false
}

func (c *compiler) or(v *value, pp, ppath, epath string) *orGroup {
	g := &orGroup{path: epath}
	if v.kind != kArray || len(v.items) < 2 {
		c.fail(pp, "must be a list of at least two objects, each an alternative set of fields")
		return g
	}
	for i, alt := range v.items {
		ap := fmt.Sprintf("%s[%d]", pp, i)
		if alt.kind != kObject || len(alt.keys) == 0 {
			c.fail(ap, "must be an object naming at least one field, not %s", alt.describe())
			return g
		}
		// The alternative's fields are at the same level of the event.
		g.alts = append(g.alts, c.object(alt, ap, epath))
		if c.err != nil {
			return g
		}
	}
	return g
}

// setThreshold is from how many exact strings a leaf looks them up in a map.
const setThreshold = 8

func (c *compiler) leaf(v *value, pp string) *leaf {
	l := &leaf{}
	if len(v.items) == 0 {
		c.fail(pp, "an empty list matches nothing: give at least one value")
		return l
	}
	for _, it := range v.items {
		switch it.kind {
		case kString:
			l.strs = append(l.strs, it.str)
		case kNumber:
			l.nums = append(l.nums, it.str)
		case kBool:
			if it.b {
				l.hasTrue = true
			} else {
				l.hasFalse = true
			}
		case kNull:
			l.hasNull = true
		case kArray:
			c.fail(pp, "a list inside the list of values matches nothing; flatten it")
			return l
		case kObject:
			c.operator(l, it, pp)
			if c.err != nil {
				return l
			}
		}
	}
	if len(l.strs) >= setThreshold {
		l.strSet = make(map[string]struct{}, len(l.strs))
		for _, s := range l.strs {
			l.strSet[s] = struct{}{}
		}
	}
	return l
}

var operators = []string{"prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists", "cidr", "wildcard"}

func (c *compiler) operator(l *leaf, v *value, pp string) {
	if len(v.keys) != 1 {
		if len(v.keys) == 0 {
			c.fail(pp, "an empty object is not a filter: give one of %s", strings.Join(quoteAll(operators), ", "))
		} else {
			c.fail(pp, "a filter object holds one operator, not %d (%s)", len(v.keys), strings.Join(quoteAll(v.keys), ", "))
		}
		return
	}
	op, arg := v.keys[0], v.vals[0]
	switch op {
	case "prefix", "suffix":
		s, fold, ok := stringOrIgnoreCase(arg)
		if !ok {
			c.fail(pp, "%q must be a string", op)
			return
		}
		l.ops = append(l.ops, &affix{suffix: op == "suffix", s: s, fold: fold})
	case "equals-ignore-case":
		if arg.kind != kString {
			c.fail(pp, "%q must be a string", op)
			return
		}
		l.ops = append(l.ops, &equalFold{s: arg.str})
	case "anything-but":
		if m := c.anythingBut(arg, pp); m != nil {
			l.ops = append(l.ops, m)
		}
	case "numeric":
		if m := c.numeric(arg, pp); m != nil {
			l.ops = append(l.ops, m)
		}
	case "exists":
		if arg.kind != kBool {
			c.fail(pp, `"exists" must be true or false`)
			return
		}
		if arg.b {
			l.existsTrue = true
		} else {
			l.existsFalse = true
		}
	case "cidr":
		if arg.kind != kString {
			c.fail(pp, `"cidr" must be a string such as "10.0.0.0/24"`)
			return
		}
		m, err := newCIDR(arg.str)
		if err != nil {
			c.fail(pp, `"cidr": %v`, err)
			return
		}
		l.ops = append(l.ops, m)
	case "wildcard":
		if arg.kind != kString {
			c.fail(pp, `"wildcard" must be a string`)
			return
		}
		m, err := newWildcard(arg.str)
		if err != nil {
			c.fail(pp, `"wildcard": %v`, err)
			return
		}
		l.ops = append(l.ops, m)
	default:
		c.fail(pp, "unknown operator %q%s", op, didYouMean(op, operators))
	}
}

// stringOrIgnoreCase reads "x" or {"equals-ignore-case": "x"}.
func stringOrIgnoreCase(v *value) (s string, fold, ok bool) {
	switch {
	case v.kind == kString:
		return v.str, false, true
	case v.kind == kObject && len(v.keys) == 1 && v.keys[0] == "equals-ignore-case" && v.vals[0].kind == kString:
		return v.vals[0].str, true, true
	}
	return "", false, false
}

func (c *compiler) anythingBut(v *value, pp string) matcher {
	switch v.kind {
	case kString:
		return &anythingBut{strs: []string{v.str}}
	case kNumber:
		f, err := number(v.str)
		if err != nil {
			c.fail(pp, `"anything-but": %v`, err)
			return nil
		}
		return &anythingBut{nums: []float64{f}, numText: []string{v.str}}
	case kArray:
		if len(v.items) == 0 {
			c.fail(pp, `"anything-but" must not be an empty list`)
			return nil
		}
		m := &anythingBut{}
		for _, it := range v.items {
			switch {
			case it.kind == kString && len(m.nums) == 0:
				m.strs = append(m.strs, it.str)
			case it.kind == kNumber && len(m.strs) == 0:
				f, err := number(it.str)
				if err != nil {
					c.fail(pp, `"anything-but": %v`, err)
					return nil
				}
				m.nums = append(m.nums, f)
				m.numText = append(m.numText, it.str)
			default:
				c.fail(pp, `"anything-but" list must hold only strings or only numbers`)
				return nil
			}
		}
		return m
	case kObject:
		if len(v.keys) != 1 {
			c.fail(pp, `"anything-but" object holds one of "prefix", "suffix", "equals-ignore-case" or "wildcard"`)
			return nil
		}
		op, arg := v.keys[0], v.vals[0]
		switch op {
		case "prefix", "suffix":
			// A string or a list of them, none empty, as EventBridge's
			// matcher takes them: {"anything-but": {"prefix": ["a", "b"]}}.
			strs, ok := stringList(arg)
			if !ok {
				c.fail(pp, `"anything-but": %q must be a string or a list of strings`, op)
				return nil
			}
			var inner []matcher
			for _, s := range strs {
				if s == "" {
					c.fail(pp, `"anything-but": %q must not be empty`, op)
					return nil
				}
				inner = append(inner, &affix{suffix: op == "suffix", s: s})
			}
			return &anythingBut{inner: anyOf(inner)}
		case "equals-ignore-case", "wildcard":
			strs, ok := stringList(arg)
			if !ok {
				c.fail(pp, `"anything-but": %q must be a string or a list of strings`, op)
				return nil
			}
			var inner []matcher
			for _, s := range strs {
				if op == "wildcard" {
					w, err := newWildcard(s)
					if err != nil {
						c.fail(pp, `"anything-but": "wildcard": %v`, err)
						return nil
					}
					inner = append(inner, w)
				} else {
					inner = append(inner, &equalFold{s: s})
				}
			}
			return &anythingBut{inner: anyOf(inner)}
		}
		c.fail(pp, `"anything-but": unknown operator %q%s`, op, didYouMean(op, []string{"prefix", "suffix", "equals-ignore-case", "wildcard"}))
		return nil
	}
	c.fail(pp, `"anything-but" must be a string, a number, a list of them or an object, not %s`, v.describe())
	return nil
}

func stringList(v *value) ([]string, bool) {
	if v.kind == kString {
		return []string{v.str}, true
	}
	if v.kind != kArray || len(v.items) == 0 {
		return nil, false
	}
	out := make([]string, 0, len(v.items))
	for _, it := range v.items {
		if it.kind != kString {
			return nil, false
		}
		out = append(out, it.str)
	}
	return out, true
}

// numericLimit bounds numeric filters, as EventBridge does.
const numericLimit = 5e9

func number(lit string) (float64, error) {
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%s is not a number sluice can compare", lit)
	}
	return f, nil
}

func (c *compiler) numeric(v *value, pp string) matcher {
	const syntax = `"numeric" must be a list of operators and numbers, as in [">", 0, "<=", 5] or ["=", 3]`
	if v.kind != kArray || len(v.items) == 0 || len(v.items)%2 != 0 || len(v.items) > 4 {
		c.fail(pp, "%s", syntax)
		return nil
	}
	m := &numeric{}
	for i := 0; i < len(v.items); i += 2 {
		opv, nv := v.items[i], v.items[i+1]
		if opv.kind != kString {
			c.fail(pp, "%s", syntax)
			return nil
		}
		if nv.kind != kNumber {
			c.fail(pp, `"numeric": %q must be followed by a number, not %s`, opv.str, nv.describe())
			return nil
		}
		f, err := number(nv.str)
		if err != nil {
			c.fail(pp, `"numeric": %v`, err)
			return nil
		}
		if f < -numericLimit || f > numericLimit {
			c.fail(pp, `"numeric": %s is outside the range numeric filters compare (-5e9 to 5e9)`, nv.str)
			return nil
		}
		switch opv.str {
		case "=":
			if len(v.items) != 2 {
				c.fail(pp, `"numeric": "=" stands alone, without other operators`)
				return nil
			}
			m.eq, m.hasEq = f, true
		case ">", ">=":
			if m.hasLo {
				c.fail(pp, `"numeric": two lower bounds`)
				return nil
			}
			m.lo, m.hasLo, m.loIncl = f, true, opv.str == ">="
		case "<", "<=":
			if m.hasHi {
				c.fail(pp, `"numeric": two upper bounds`)
				return nil
			}
			m.hi, m.hasHi, m.hiIncl = f, true, opv.str == "<="
		default:
			c.fail(pp, `"numeric": unknown operator %q (one of "<", "<=", "=", ">=", ">")`, opv.str)
			return nil
		}
		m.text = append(m.text, opv.str+" "+nv.str)
	}
	if m.hasLo && m.hasHi && m.lo >= m.hi {
		c.fail(pp, `"numeric": the lower bound %v is not below the upper bound %v`, m.lo, m.hi)
		return nil
	}
	return m
}

// ---- matching ----

// scalar is an event's leaf value, read once for every filter.
type scalar struct {
	kind kind
	s    string // a string, or a number as written (once lit)
	lit  bool   // s holds the number as written
	f    float64
	fok  bool
	b    bool
}

func toScalar(v any) (scalar, bool) {
	switch x := v.(type) {
	case nil:
		return scalar{kind: kNull}, true
	case string:
		return scalar{kind: kString, s: x}, true
	case bool:
		return scalar{kind: kBool, b: x}, true
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return scalar{kind: kNumber, s: string(x), lit: true, f: f, fok: err == nil}, true
	// Go numbers are written out only if an exact number is to be compared.
	case float64:
		return scalar{kind: kNumber, f: x, fok: true}, true
	case float32:
		return scalar{kind: kNumber, f: float64(x), fok: true}, true
	case int:
		return scalar{kind: kNumber, f: float64(x), fok: true, s: strconv.Itoa(x), lit: true}, true
	case int64:
		return scalar{kind: kNumber, f: float64(x), fok: true, s: strconv.FormatInt(x, 10), lit: true}, true
	case int32:
		return scalar{kind: kNumber, f: float64(x), fok: true, s: strconv.FormatInt(int64(x), 10), lit: true}, true
	case uint:
		return scalar{kind: kNumber, f: float64(x), fok: true, s: strconv.FormatUint(uint64(x), 10), lit: true}, true
	case uint64:
		return scalar{kind: kNumber, f: float64(x), fok: true, s: strconv.FormatUint(x, 10), lit: true}, true
	case uint32:
		return scalar{kind: kNumber, f: float64(x), fok: true, s: strconv.FormatUint(uint64(x), 10), lit: true}, true
	}
	return scalar{}, false
}

// formatFloat writes a float64 the way encoding/json does.
func formatFloat(f float64) string {
	b, err := json.Marshal(f)
	if err != nil {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return string(b)
}

func (o *object) match(m map[string]any) bool {
	for _, f := range o.fields {
		v, ok := m[f.key]
		if !f.match(v, ok) {
			return false
		}
	}
	for _, g := range o.ors {
		if !g.match(m) {
			return false
		}
	}
	return true
}

func (g *orGroup) match(m map[string]any) bool {
	for _, alt := range g.alts {
		if alt.match(m) {
			return true
		}
	}
	return false
}

func (f *field) match(v any, present bool) bool {
	if f.leaf != nil {
		return f.leaf.match(v, present)
	}
	switch x := v.(type) {
	case map[string]any:
		return f.obj.match(x)
	case []any:
		matched, sawObject := f.matchElements(x)
		if sawObject {
			return matched
		}
	}
	// No object here: only absence filters can match.
	return f.obj.match(nil)
}

// matchElements matches the objects of an event list (lists inside it
// flattened) against the field's nested pattern.
func (f *field) matchElements(list []any) (matched, sawObject bool) {
	for _, e := range list {
		switch x := e.(type) {
		case map[string]any:
			sawObject = true
			if f.obj.match(x) {
				return true, true
			}
		case []any:
			m, s := f.matchElements(x)
			if m {
				return true, true
			}
			sawObject = sawObject || s
		}
	}
	return false, sawObject
}

func (l *leaf) match(v any, present bool) bool {
	if !present {
		return l.existsFalse
	}
	switch x := v.(type) {
	case map[string]any:
		return l.existsFalse // an object is not a leaf
	case []any:
		matched, found := l.matchList(x)
		if !found {
			return l.existsFalse
		}
		return matched
	}
	sc, ok := toScalar(v)
	if !ok {
		return l.existsFalse
	}
	return l.matchScalar(sc)
}

// matchList matches the scalars of an event list; found says whether it had
// any.
func (l *leaf) matchList(list []any) (matched, found bool) {
	for _, e := range list {
		if sub, ok := e.([]any); ok {
			m, f := l.matchList(sub)
			if m {
				return true, true
			}
			found = found || f
			continue
		}
		sc, ok := toScalar(e)
		if !ok {
			continue
		}
		found = true
		if l.matchScalar(sc) {
			return true, true
		}
	}
	return false, found
}

func (l *leaf) matchScalar(sc scalar) bool {
	if l.existsTrue {
		return true
	}
	switch sc.kind {
	case kString:
		if l.strSet != nil {
			if _, ok := l.strSet[sc.s]; ok {
				return true
			}
		} else {
			for _, s := range l.strs {
				if s == sc.s {
					return true
				}
			}
		}
	case kNumber:
		if len(l.nums) > 0 && !sc.lit {
			sc.s, sc.lit = formatFloat(sc.f), true
		}
		for _, n := range l.nums {
			if n == sc.s {
				return true
			}
		}
	case kBool:
		if sc.b && l.hasTrue || !sc.b && l.hasFalse {
			return true
		}
	case kNull:
		if l.hasNull {
			return true
		}
	}
	for _, m := range l.ops {
		if m.match(sc) {
			return true
		}
	}
	return false
}

// ---- explaining ----

func (o *object) explain(m map[string]any, why *[]string) bool {
	ok := true
	for _, f := range o.fields {
		v, present := m[f.key]
		if !f.explain(v, present, why) {
			ok = false
		}
	}
	for _, g := range o.ors {
		if g.match(m) {
			continue
		}
		ok = false
		var parts []string
		for i, alt := range g.alts {
			var sub []string
			alt.explain(m, &sub)
			parts = append(parts, fmt.Sprintf("(%d) %s", i+1, strings.Join(sub, "; ")))
		}
		name := join(g.path, "$or")
		*why = append(*why, fmt.Sprintf("%s: no alternative matches: %s", name, strings.Join(parts, " ")))
	}
	return ok
}

func (f *field) explain(v any, present bool, why *[]string) bool {
	if f.leaf != nil {
		if f.leaf.match(v, present) {
			return true
		}
		*why = append(*why, f.path+": "+f.leaf.whyNot(v, present))
		return false
	}
	switch x := v.(type) {
	case map[string]any:
		return f.obj.explain(x, why)
	case []any:
		matched, sawObject := f.matchElements(x)
		if matched {
			return true
		}
		if sawObject {
			// Say why the first object fails: the others mostly fail alike.
			var sub []string
			for _, e := range x {
				if obj, ok := e.(map[string]any); ok {
					f.obj.explain(obj, &sub)
					break
				}
			}
			*why = append(*why, fmt.Sprintf("%s: no element of the list matches (the first: %s)", f.path, strings.Join(sub, "; ")))
			return false
		}
	}
	if f.obj.match(nil) {
		return true
	}
	if present {
		*why = append(*why, fmt.Sprintf("%s: %s, not an object", f.path, eventText(v)))
		return false
	}
	return f.obj.explain(nil, why)
}

// whyNot says why a value does not match the leaf.
func (l *leaf) whyNot(v any, present bool) string {
	wants := l.wants()
	if !present {
		return "missing"
	}
	if _, isObject := v.(map[string]any); isObject && !l.existsFalse {
		return fmt.Sprintf("an object, not a value (want %s)", strings.Join(wants, " or "))
	}
	if l.existsFalse && len(wants) == 1 {
		return fmt.Sprintf("%s is there, but the pattern wants it absent", eventText(v))
	}
	if l.onlyExact() {
		return fmt.Sprintf("%s is not one of %s", eventText(v), strings.Join(wants, ", "))
	}
	return fmt.Sprintf("%s matches none of: %s", eventText(v), strings.Join(wants, ", "))
}

func (l *leaf) onlyExact() bool {
	return len(l.ops) == 0 && !l.existsTrue && !l.existsFalse
}

// wants lists what the leaf accepts, as written in the pattern.
func (l *leaf) wants() []string {
	var out []string
	for _, s := range l.strs {
		out = append(out, strconv.Quote(s))
	}
	out = append(out, l.nums...)
	if l.hasTrue {
		out = append(out, "true")
	}
	if l.hasFalse {
		out = append(out, "false")
	}
	if l.hasNull {
		out = append(out, "null")
	}
	for _, m := range l.ops {
		out = append(out, m.describe())
	}
	if l.existsTrue {
		out = append(out, "exists: true")
	}
	if l.existsFalse {
		out = append(out, "exists: false")
	}
	return out
}

// eventText shows an event value in an explanation, cut short when long.
func eventText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// ---- small helpers ----

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

func compactString(v *value) string {
	var b strings.Builder
	writeCompact(&b, v)
	s := b.String()
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

func writeCompact(b *strings.Builder, v *value) {
	switch v.kind {
	case kNull:
		b.WriteString("null")
	case kBool:
		b.WriteString(strconv.FormatBool(v.b))
	case kNumber:
		b.WriteString(v.str)
	case kString:
		q, _ := json.Marshal(v.str)
		b.Write(q)
	case kArray:
		b.WriteByte('[')
		for i, it := range v.items {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCompact(b, it)
		}
		b.WriteByte(']')
	case kObject:
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			q, _ := json.Marshal(k)
			b.Write(q)
			b.WriteByte(':')
			writeCompact(b, v.vals[i])
		}
		b.WriteByte('}')
	}
}

// didYouMean returns ` (did you mean "x"?)` for the candidate closest to
// word, or "" when none is a plausible typo.
func didYouMean(word string, candidates []string) string {
	if len(word) > 40 {
		return ""
	}
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(word), c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + strconv.Quote(best) + "?)"
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
