package function

import (
	"sort"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// Parse reads a function definition for `sluice function apply -f`, in YAML
// or JSON (told apart by filename). Absent fields take the defaults. On
// failure the error is a pipeline.ErrorList holding every problem, in file
// order, each naming file, line and field.
func Parse(filename string, data []byte) (*Function, error) {
	root, perr := pipeline.ReadDocument(filename, data, "function")
	if perr != nil {
		return nil, pipeline.ErrorList{perr}
	}
	d := newDecoder(filename)
	f := d.document(root)
	if f == nil {
		return nil, d.sorted()
	}
	for _, e := range f.validate() {
		if d.Failed(e.Path) {
			continue // its value did not decode; that was reported already
		}
		e.File, e.Line = filename, d.LineOf(e.Path)
		d.errs = append(d.errs, e)
	}
	if len(d.errs) > 0 {
		return nil, d.sorted()
	}
	return f, nil
}

var fields = []string{"name", "command", "url", "environment", "workingDirectory", "timeoutInMinutes"}

// decoder walks a node tree into a Function, recording each field's line and
// every problem rather than stopping at the first.
type decoder struct {
	*yamlnode.Decoder
	errs pipeline.ErrorList
}

func newDecoder(file string) *decoder {
	d := &decoder{}
	d.Decoder = yamlnode.New(yamlnode.Options{
		Report: func(line int, path, msg string) {
			d.errs = append(d.errs, &pipeline.Error{File: file, Line: max(line, 1), Path: path, Msg: msg})
		},
		StrconvScalars: true,
	})
	return d
}

func (d *decoder) sorted() pipeline.ErrorList {
	sort.SliceStable(d.errs, func(i, j int) bool { return d.errs[i].Line < d.errs[j].Line })
	return d.errs
}

func (d *decoder) document(root *yaml.Node) *Function {
	root = yamlnode.Resolve(root)
	if yamlnode.IsNull(root) {
		d.Errorf(max(root.Line, 1), "", "empty document: no function in it")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.Errorf(root.Line, "", "a function must be a mapping, not %s", d.Describe(root))
		return nil
	}
	f := New("")
	d.SetLine("", root.Line)
	for _, fl := range d.Mapping(root, "") {
		path := fl.Key
		switch fl.Key {
		case "name":
			f.Name = d.Str(fl.Value, path)
		case "command":
			f.Command = d.command(fl.Value, path)
		case "url":
			f.URL = d.Str(fl.Value, path)
		case "environment":
			f.Environment = d.environment(fl.Value, path)
		case "workingDirectory":
			f.WorkingDirectory = d.Str(fl.Value, path)
		case "timeoutInMinutes":
			f.TimeoutInMinutes = d.Int(fl.Value, path)
		default:
			d.Unknown(fl, path, fields)
		}
	}
	return f
}

// command reads the program and its arguments. The result is never nil when
// the field was given, so that an empty list is told from an absent one.
func (d *decoder) command(n *yaml.Node, path string) []string {
	n = yamlnode.Resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.Fail(path)
		if n.Kind == yaml.ScalarNode && !yamlnode.IsNull(n) {
			d.Errorf(n.Line, path, "must be a list: the program and its arguments, run without a shell (as in [%s]), not %s",
				strconv.Quote(n.Value), d.Describe(n))
		} else {
			d.Errorf(n.Line, path, "must be a list: the program and its arguments, not %s", d.Describe(n))
		}
		return []string{}
	}
	items := d.List(n, path)
	out := make([]string, len(items))
	for i, item := range items {
		ip := yamlnode.Index(path, i)
		if item := yamlnode.Resolve(item); yamlnode.IsNull(item) {
			d.TypeError(item, ip, "a string")
			continue
		}
		out[i] = d.Str(item, ip)
	}
	return out
}

func (d *decoder) environment(n *yaml.Node, path string) map[string]string {
	fs := d.Mapping(n, path)
	if len(fs) == 0 {
		return nil
	}
	out := make(map[string]string, len(fs))
	for _, f := range fs {
		fp := yamlnode.Join(path, f.Key)
		if v := d.Str(f.Value, fp); !d.Failed(fp) {
			out[f.Key] = v
		}
	}
	return out
}
