package function

import (
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// Parse reads a function definition for `sluice function apply -f`, in YAML
// or JSON (told apart by filename). Absent fields take the defaults. On
// failure the error is a yamlnode.ErrorList holding every problem, in file
// order, each naming file, line and field.
func Parse(filename string, data []byte) (*Function, error) {
	root, perr := yamlnode.ReadDocument(filename, data, "function")
	if perr != nil {
		return nil, yamlnode.ErrorList{perr}
	}
	d := newDecoder(filename)
	f := d.document(root)
	if f == nil {
		return nil, d.Sorted()
	}
	d.Place(f.validate())
	if len(d.Errs) > 0 {
		return nil, d.Sorted()
	}
	return f, nil
}

var fields = []string{"name", "command", "url", "environment", "workingDirectory", "timeoutInMinutes", "role"}

// decoder walks a node tree into a Function, recording each field's line and
// every problem rather than stopping at the first.
type decoder struct {
	*yamlnode.FileDecoder
}

func newDecoder(file string) *decoder {
	return &decoder{yamlnode.NewFileDecoder(file, yamlnode.Options{StrconvScalars: true})}
}

func (d *decoder) document(root *yaml.Node) *Function {
	if root = d.Root(root, "function"); root == nil {
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
		case "role":
			f.Role = d.Str(fl.Value, path)
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
