package iam

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// Parse reads a policy document in JSON (IAM's own form) or YAML, told apart
// by filename as pipelines are:
//
//	Version: "2012-10-17"          # optional
//	Statement:                     # a list, or a single statement
//	  - Sid: DeployApp             # optional, unique
//	    Effect: Allow              # or Deny
//	    Action: sluice:StartPipelineExecution   # or a list; wildcards * and ?
//	    Resource: [pipeline/app, pipeline/app-*] # or a string; "*" for all
//
// On failure the error is a yamlnode.ErrorList holding every problem in file
// order, each naming file, line and field (Statement[0].Action[1]).
func Parse(filename string, data []byte) (*Policy, error) {
	root, perr := yamlnode.ReadDocument(filename, data, "policy")
	if perr != nil {
		return nil, yamlnode.ErrorList{perr}
	}
	var errs yamlnode.ErrorList
	d := &decoder{Decoder: yamlnode.New(yamlnode.Options{
		Report: func(line int, path, msg string) {
			errs = append(errs, &yamlnode.Error{File: filename, Line: max(line, 1), Path: path, Msg: msg})
		},
		CheckTags: true,
	})}
	p := d.document(root)
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return nil, errs
	}
	return p, nil
}

var (
	policyFields    = []string{"Version", "Statement", "Id"}
	statementFields = []string{"Sid", "Effect", "Action", "Resource"}
	// IAM's, which sluice does not take: a statement using them would mean
	// something else here than the user meant.
	unsupportedFields = []string{"NotAction", "NotResource", "Principal", "NotPrincipal", "Condition"}
)

type decoder struct {
	*yamlnode.Decoder
}

func (d *decoder) document(root *yaml.Node) *Policy {
	root = yamlnode.Resolve(root)
	if yamlnode.IsNull(root) {
		d.Errorf(root.Line, "", "empty document: no policy in it")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.Errorf(root.Line, "", "a policy must be a mapping, not %s", d.Describe(root))
		return nil
	}
	p := &Policy{}
	var statements *yaml.Node
	for _, f := range d.Fields(root, "") {
		switch f.Key {
		case "Version":
			p.Version = d.Str(f.Value, f.Key)
		case "Id":
			d.Str(f.Value, f.Key) // IAM's optional policy id; kept nowhere
		case "Statement":
			statements = f.Value
		default:
			d.Unknown(f, f.Key, policyFields)
		}
	}
	if statements == nil {
		d.Errorf(root.Line, "Statement", "required: the list of statements that allow or deny")
		return p
	}
	n := yamlnode.Resolve(statements)
	switch {
	case n.Kind == yaml.MappingNode: // a single statement, as IAM allows
		p.Statement = append(p.Statement, d.statement(n, "Statement"))
	case yamlnode.IsNull(n) || n.Kind == yaml.SequenceNode && len(n.Content) == 0:
		d.Errorf(n.Line, "Statement", "empty: a policy without statements allows nothing; give at least one")
	default:
		for i, item := range d.ListOf(n, "Statement", "a list of statements") {
			p.Statement = append(p.Statement, d.statement(item, yamlnode.Index("Statement", i)))
		}
	}
	sids := map[string]string{}
	for i, st := range p.Statement {
		if st.Sid == "" {
			continue
		}
		path := yamlnode.Index("Statement", i)
		if n.Kind == yaml.MappingNode {
			path = "Statement"
		}
		if first, dup := sids[st.Sid]; dup {
			d.Errorf(d.LineOf(path+".Sid"), path+".Sid", "%q is also the Sid of %s; Sids must be unique", st.Sid, first)
			continue
		}
		sids[st.Sid] = path
	}
	return p
}

func (d *decoder) statement(n *yaml.Node, path string) Statement {
	var st Statement
	n = yamlnode.Resolve(n)
	if n.Kind != yaml.MappingNode {
		d.Errorf(n.Line, path, "a statement must be a mapping, not %s", d.Describe(n))
		return st
	}
	seen := map[string]bool{}
	for _, f := range d.Fields(n, path) {
		fp := yamlnode.Join(path, f.Key)
		seen[f.Key] = true
		switch f.Key {
		case "Sid":
			st.Sid = d.Str(f.Value, fp)
		case "Effect":
			st.Effect = d.Str(f.Value, fp)
			if st.Effect != Allow && st.Effect != Deny && !d.Failed(fp) {
				hint := ""
				if strings.EqualFold(st.Effect, Allow) || strings.EqualFold(st.Effect, Deny) {
					hint = " (spelled with a capital, as IAM does)"
				}
				d.Errorf(yamlnode.Resolve(f.Value).Line, fp, "%q is not Allow or Deny%s", st.Effect, hint)
			}
		case "Action":
			st.Action = d.list(f.Value, fp)
			for i, a := range st.Action {
				ip := d.itemPath(f.Value, fp, i)
				if msg := d.checkAction(a); msg != "" && !d.Failed(ip) {
					d.Errorf(d.LineOf(ip), ip, "%s", msg)
				}
			}
		case "Resource":
			st.Resource = d.list(f.Value, fp)
			for i, r := range st.Resource {
				ip := d.itemPath(f.Value, fp, i)
				if r != "" && !knownResource(r) && !d.Failed(ip) {
					d.Errorf(d.LineOf(ip), ip,
						"%q is not a resource: give \"*\" or TYPE/NAME with TYPE one of %s (NAME may use * and ?)", r, strings.Join(ResourceTypes, ", "))
				}
			}
		default:
			if slices.Contains(unsupportedFields, f.Key) {
				d.Errorf(f.Line, fp, "sluice's policies do not take %s; write the statement with Action and Resource", f.Key)
				continue
			}
			d.Unknown(f, fp, statementFields)
		}
	}
	for _, req := range []string{"Effect", "Action", "Resource"} {
		if !seen[req] {
			d.Errorf(n.Line, yamlnode.Join(path, req), "required")
		}
	}
	return st
}

// checkAction says what is wrong with an Action entry, or "".
func (d *decoder) checkAction(a string) string {
	if a == "*" || a == "" {
		return ""
	}
	name, ok := cutPrefixFold(a, Prefix)
	if !ok {
		return fmt.Sprintf("%q is not a sluice action: write sluice:NAME (such as sluice:GetPipeline), sluice:Get* or *", a)
	}
	lower := strings.ToLower(name)
	for _, known := range Actions {
		if Match(lower, strings.ToLower(known)) {
			return ""
		}
	}
	if strings.ContainsAny(name, "*?") {
		return fmt.Sprintf("%q matches no sluice action", a)
	}
	hint := ""
	if s := yamlnode.Suggest(name, Actions); s != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", Prefix+s)
	}
	return fmt.Sprintf("%q is not a sluice action%s", a, hint)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// list reads a string or a list of strings; neither it nor its strings may
// be empty.
func (d *decoder) list(n *yaml.Node, path string) []string {
	r := yamlnode.Resolve(n)
	if r.Kind != yaml.ScalarNode && r.Kind != yaml.SequenceNode {
		d.TypeError(r, path, "a string or a list of strings")
		return nil
	}
	out := d.StringOrList(n, path)
	if len(out) == 0 && !d.Failed(path) {
		d.Errorf(r.Line, path, "must not be empty")
	}
	for i, s := range out {
		ip := d.itemPath(n, path, i)
		if s == "" && !d.Failed(ip) {
			d.Errorf(d.LineOf(ip), ip, "must not be empty")
		}
	}
	return out
}

// itemPath is the path of item i of a string-or-list at path.
func (d *decoder) itemPath(n *yaml.Node, path string, i int) string {
	if yamlnode.Resolve(n).Kind == yaml.SequenceNode {
		return yamlnode.Index(path, i)
	}
	return path
}
