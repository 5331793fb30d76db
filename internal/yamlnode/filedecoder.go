package yamlnode

import (
	"sort"

	"gopkg.in/yaml.v3"
)

// FileDecoder decodes the node tree of one declaration file (a function, a
// rule, a build project, a webhook, a policy), collecting every problem as
// an Error of that file rather than stopping at the first. Packages embed it
// in their own decoder and add their fields' readers.
type FileDecoder struct {
	*Decoder
	File string
	Errs ErrorList
}

// NewFileDecoder returns a decoder of file. opts.Report is set here: every
// problem becomes an Error of file, at line 1 or later.
func NewFileDecoder(file string, opts Options) *FileDecoder {
	d := &FileDecoder{File: file}
	opts.Report = func(line int, path, msg string) {
		d.Errs = append(d.Errs, &Error{File: file, Line: max(line, 1), Path: path, Msg: msg})
	}
	d.Decoder = New(opts)
	return d
}

// Root checks that root holds a mapping, reporting an empty document or
// another kind of value in words of what (e.g. "function"); it returns the
// resolved mapping, or nil after reporting.
func (d *FileDecoder) Root(root *yaml.Node, what string) *yaml.Node {
	root = Resolve(root)
	if IsNull(root) {
		d.Errorf(max(root.Line, 1), "", "empty document: no %s in it", what)
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.Errorf(root.Line, "", "a %s must be a mapping, not %s", what, d.Describe(root))
		return nil
	}
	return root
}

// Place adds validation problems found after decoding, giving each the file
// and the line of its path; a path whose value did not decode was reported
// already and is skipped.
func (d *FileDecoder) Place(errs ErrorList) {
	for _, e := range errs {
		if d.Failed(e.Path) {
			continue
		}
		e.File, e.Line = d.File, d.LineOf(e.Path)
		d.Errs = append(d.Errs, e)
	}
}

// Sorted returns the problems in file order.
func (d *FileDecoder) Sorted() ErrorList {
	sort.SliceStable(d.Errs, func(i, j int) bool { return d.Errs[i].Line < d.Errs[j].Line })
	return d.Errs
}
