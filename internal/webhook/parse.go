package webhook

import (
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// ParseDefinition reads a webhook definition for `sluice webhook apply -f`,
// in YAML or JSON: CodePipeline's WebhookDefinition itself, or the input of
// `aws codepipeline put-webhook --cli-input-json`, which wraps it as
// {"webhook": {...}, "tags": [...]} (tags are ignored). filename is used in
// errors and to tell JSON from YAML. On failure the error is a
// yamlnode.ErrorList holding every problem, in file order, each naming file,
// line and field, as pipeline.Parse does.
func ParseDefinition(filename string, data []byte) (*Definition, error) {
	root, perr := yamlnode.ReadDocument(filename, data, "webhook definition")
	if perr != nil {
		return nil, yamlnode.ErrorList{perr}
	}
	d := newDecoder(filename)
	def := d.document(root)
	if def == nil {
		return nil, d.sorted()
	}
	var problems yamlnode.ErrorList
	if err := def.Validate(); err != nil {
		problems, _ = err.(yamlnode.ErrorList)
	}
	for _, e := range problems {
		if d.Failed(e.Path) {
			// Its value did not decode; the zero value's complaint
			// would only repeat the one already made.
			continue
		}
		e.File, e.Line = filename, d.LineOf(e.Path)
		d.errs = append(d.errs, e)
	}
	if len(d.errs) > 0 {
		return nil, d.sorted()
	}
	return def, nil
}

var (
	wrapperFields    = []string{"webhook", "tags"}
	definitionFields = []string{"name", "targetPipeline", "targetAction", "filters", "authentication", "authenticationConfiguration"}
	filterFields     = []string{"jsonPath", "matchEquals"}
	authConfigFields = []string{"SecretToken", "AllowedIPRange"}
)

// decoder walks a node tree into a Definition, recording each field's line
// and every problem rather than stopping at the first.
type decoder struct {
	*yamlnode.Decoder
	errs yamlnode.ErrorList
}

func newDecoder(file string) *decoder {
	d := &decoder{}
	d.Decoder = yamlnode.New(yamlnode.Options{
		Report: func(line int, path, msg string) {
			d.errs = append(d.errs, &yamlnode.Error{File: file, Line: line, Path: path, Msg: msg})
		},
		QuoteScalars: true,
	})
	return d
}

func (d *decoder) sorted() yamlnode.ErrorList {
	sort.SliceStable(d.errs, func(i, j int) bool { return d.errs[i].Line < d.errs[j].Line })
	return d.errs
}

func (d *decoder) document(root *yaml.Node) *Definition {
	root = yamlnode.Resolve(root)
	if yamlnode.IsNull(root) {
		d.Errorf(max(root.Line, 1), "", "empty document: no webhook definition in it")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.Errorf(root.Line, "", "a webhook definition must be a mapping, not %s", d.Describe(root))
		return nil
	}
	if !d.HasKey(root, "webhook") {
		return d.definition(root)
	}
	var def *Definition
	// The wrapper's keys share paths with the definition's, so their lines
	// are not recorded: a field missing from the definition is reported
	// where the definition is, not where a stray key of that name stands.
	for _, f := range d.Entries(root, "") {
		switch f.Key {
		case "webhook":
			n := yamlnode.Resolve(f.Value)
			if n.Kind != yaml.MappingNode {
				d.Errorf(n.Line, "webhook", "must be a mapping, not %s", d.Describe(n))
				continue
			}
			def = d.definition(n)
		case "tags":
			// put-webhook's tags; sluice has none.
		default:
			d.Unknown(f, f.Key, wrapperFields)
		}
	}
	return def
}

func (d *decoder) definition(n *yaml.Node) *Definition {
	def := &Definition{}
	d.SetLine("", n.Line)
	for _, f := range d.Mapping(n, "") {
		path := f.Key
		switch f.Key {
		case "name":
			def.Name = d.Str(f.Value, path)
		case "targetPipeline":
			def.TargetPipeline = d.Str(f.Value, path)
		case "targetAction":
			def.TargetAction = d.Str(f.Value, path)
		case "filters":
			def.Filters = d.filters(f.Value, path)
		case "authentication":
			// Read in any case, as the pipeline's enumerations are.
			def.Authentication = strings.ToUpper(d.Str(f.Value, path))
		case "authenticationConfiguration":
			for _, af := range d.Mapping(f.Value, path) {
				ap := yamlnode.Join(path, af.Key)
				switch af.Key {
				case "SecretToken":
					def.AuthenticationConfiguration.SecretToken = d.Str(af.Value, ap)
				case "AllowedIPRange":
					def.AuthenticationConfiguration.AllowedIPRange = d.Str(af.Value, ap)
				default:
					d.Unknown(af, ap, authConfigFields)
				}
			}
		default:
			d.Unknown(f, path, definitionFields)
		}
	}
	return def
}

func (d *decoder) filters(n *yaml.Node, path string) []Filter {
	items := d.List(n, path)
	if items == nil {
		return nil
	}
	out := make([]Filter, len(items))
	for i, item := range items {
		ip := yamlnode.Index(path, i)
		for _, f := range d.Mapping(item, ip) {
			fp := yamlnode.Join(ip, f.Key)
			switch f.Key {
			case "jsonPath":
				out[i].JSONPath = d.Str(f.Value, fp)
			case "matchEquals":
				out[i].MatchEquals = d.Str(f.Value, fp)
			default:
				d.Unknown(f, fp, filterFields)
			}
		}
	}
	return out
}
