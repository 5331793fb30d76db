package yamlnode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"gopkg.in/yaml.v3"
)

// This file turns a declaration file's bytes into a yaml.Node tree; each
// kind's decoder (pipeline, buildspec, webhook, …) turns the tree into its
// type. Both YAML and JSON end up as yaml.Node so that every later error can
// name a line.

var utf8BOM = []byte("\xef\xbb\xbf")

// isJSON decides how to read data. A .json name always means JSON, so that a
// broken JSON file gets a JSON error rather than YAML's guess at what it might
// mean (YAML would accept unquoted values, for one). Without a telling name,
// data that is valid JSON is read as JSON because yaml.v3 rejects some valid
// JSON: the \/ escape and surrogate pairs.
func isJSON(filename string, data []byte) bool {
	switch strings.ToLower(filepath.Ext(filename)) {
	case ".json":
		return true
	case ".yml", ".yaml":
		return false
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(data)
}

// parseJSON checks data strictly with encoding/json, then builds the node tree
// from its tokens, recording the line of each.
func parseJSON(data []byte) (*yaml.Node, *Error) {
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, &Error{Line: lineAtOffset(data, int(se.Offset)-1), Msg: "invalid JSON: " + se.Error()}
		}
		return nil, &Error{Line: 1, Msg: "invalid JSON: " + err.Error()}
	}
	b := &jsonBuilder{data: data, dec: json.NewDecoder(bytes.NewReader(data)), line: 1}
	b.dec.UseNumber()
	n, err := b.value()
	if err != nil {
		// Unreachable after the syntax check above, but a parser must not
		// trust that.
		return nil, &Error{Line: b.line, Msg: "invalid JSON: " + err.Error()}
	}
	return n, nil
}

type jsonBuilder struct {
	data []byte
	dec  *json.Decoder
	pos  int // offset up to which newlines have been counted into line
	line int
}

// token reads the next token and the line it ends on. No JSON token spans a
// line break, so that is also the line it starts on.
func (b *jsonBuilder) token() (json.Token, int, error) {
	tok, err := b.dec.Token()
	if err != nil {
		return nil, b.line, err
	}
	end := int(b.dec.InputOffset())
	if end > len(b.data) {
		end = len(b.data)
	}
	if end > b.pos {
		b.line += bytes.Count(b.data[b.pos:end], []byte{'\n'})
		b.pos = end
	}
	return tok, b.line, nil
}

func (b *jsonBuilder) value() (*yaml.Node, error) {
	tok, line, err := b.token()
	if err != nil {
		return nil, err
	}
	return b.node(tok, line)
}

func (b *jsonBuilder) node(tok json.Token, line int) (*yaml.Node, error) {
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line, Style: yaml.FlowStyle}
			for b.dec.More() {
				ktok, kline, err := b.token()
				if err != nil {
					return nil, err
				}
				key, ok := ktok.(string)
				if !ok {
					return nil, fmt.Errorf("object key is %T, not a string", ktok)
				}
				v, err := b.value()
				if err != nil {
					return nil, err
				}
				k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: kline, Style: yaml.DoubleQuotedStyle}
				n.Content = append(n.Content, k, v)
			}
			_, _, err := b.token() // '}'
			return n, err
		case '[':
			n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: line, Style: yaml.FlowStyle}
			for b.dec.More() {
				v, err := b.value()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, v)
			}
			_, _, err := b.token() // ']'
			return n, err
		}
		return nil, fmt.Errorf("unexpected %q", rune(t))
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t, Line: line, Style: yaml.DoubleQuotedStyle}, nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(string(t), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(t), Line: line}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(t), Line: line}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null", Line: line}, nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// ReadDocument turns a file's bytes into a yaml.Node tree whose nodes know their
// lines, for sluice's declarations of every kind: a pipeline, a buildspec, a
// webhook definition. JSON (a .json name, or data that is valid JSON and looks
// like it) is read strictly by encoding/json, since yaml.v3 refuses some valid
// JSON; anything else as exactly one YAML document. A byte-order mark is
// skipped. what names the document in messages ("no buildspec in it"). The
// error, if any, names the file and the line.
func ReadDocument(filename string, data []byte, what string) (*yaml.Node, *Error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	var root *yaml.Node
	var e *Error
	if isJSON(filename, data) {
		root, e = parseJSON(data)
	} else {
		root, e = parseYAML(data, what)
	}
	if e != nil {
		e.File = filename
	}
	return root, e
}

// parseYAML reads exactly one YAML document.
func parseYAML(data []byte, what string) (root *yaml.Node, e *Error) {
	// yaml.v3 is meant to fail with an error, but a parser of user input
	// must not take a server down if some input finds a panic in it.
	defer func() {
		if r := recover(); r != nil {
			root, e = nil, &Error{Line: 1, Msg: fmt.Sprintf("invalid YAML: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, &Error{Line: 1, Msg: "empty file: no " + what + " in it"}
		}
		return nil, yamlError(data, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == io.EOF:
	case err != nil:
		return nil, yamlError(data, err)
	default:
		return nil, &Error{Line: max(extra.Line, 1), Msg: "a file holds one " + what + ", but this is a second YAML document"}
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0], nil
	}
	return &doc, nil
}

var yamlLineRE = lazyregexp.New(`^yaml: line (\d+): (.*)$`)

// yamlParserProblems are the messages of libyaml's parser, as opposed to its
// scanner. yaml.v3 reports the parser's lines counting from 0 and the
// scanner's counting from 1, and leaves the line out when it is 0; yamlError
// evens that out.
var yamlParserProblems = []string{
	"did not find expected <stream-start>",
	"did not find expected <document start>",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found undefined tag handle",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found duplicate %TAG directive",
}

var yamlAnchorRE = lazyregexp.New(`^yaml: unknown anchor '(.*)' referenced$`)

func yamlError(data []byte, err error) *Error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		for _, p := range yamlParserProblems {
			if m[2] == p {
				line++
				break
			}
		}
		if m[2] == "did not find expected '-' indicator" || m[2] == "did not find expected key" {
			// yaml.v3 gives the line where the block began, not the line
			// that does not fit in it (a mis-indented line further down).
			if l := firstFailingLine(data, line, m[2]); l > 0 {
				line = l
			}
		}
		return &Error{Line: line, Msg: "invalid YAML: " + m[2]}
	}
	if m := yamlAnchorRE.FindStringSubmatch(msg); m != nil {
		line := 1
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			line = lineAtOffset(data, i)
		}
		return &Error{Line: line, Msg: fmt.Sprintf("invalid YAML: unknown anchor %q referenced", m[1])}
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 1 // yaml.v3 leaves out the line when it is the first
	for _, p := range yamlReaderProblems {
		if strings.HasPrefix(msg, p) {
			line = badByteLine(data)
			break
		}
	}
	return &Error{Line: line, Msg: "invalid YAML: " + msg}
}

// firstFailingLine finds the line that breaks a block: the smallest n, from
// line from on, such that the file's first n lines fail to parse with the
// same problem. Adding lines after a broken block does not mend it, so a
// binary search does: a few parses, however long the file.
func firstFailingLine(data []byte, from int, problem string) int {
	// ends[i] is the offset just past line i+1's newline.
	var ends []int
	for i, b := range data {
		if b == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(data) {
		ends = append(ends, len(data))
	}
	fails := func(n int) bool {
		var doc yaml.Node
		err := yaml.Unmarshal(data[:ends[n-1]], &doc)
		if err == nil {
			return false
		}
		m := yamlLineRE.FindStringSubmatch(err.Error())
		return m != nil && m[2] == problem
	}
	lo, hi := max(from, 1), len(ends)
	if lo > hi || !fails(hi) {
		return 0
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// yamlReaderProblems are libyaml's complaints about bytes rather than syntax;
// they carry no position at all.
var yamlReaderProblems = []string{
	"control characters are not allowed",
	"invalid Unicode character",
	"invalid leading UTF-8 octet",
	"invalid trailing UTF-8 octet",
	"invalid length of a UTF-8 sequence",
	"incomplete UTF-8 octet sequence",
	"incomplete UTF-16",
	"expected low surrogate area",
	"unexpected low surrogate area",
	"input error",
}

// badByteLine returns the line of the first byte YAML cannot read at all, or 1.
func badByteLine(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if (r == utf8.RuneError && size <= 1) || !yamlAllowed(r) {
			return lineAtOffset(data, i)
		}
		i += size
	}
	return 1
}

// yamlAllowed is the YAML 1.2 set of characters a stream may hold.
func yamlAllowed(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
		return true
	case r >= 0x20 && r <= 0x7e:
		return true
	case r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd, r >= 0x10000 && r <= 0x10ffff:
		return true
	}
	return false
}

// lineAtOffset returns the 1-based line holding data[off].
func lineAtOffset(data []byte, off int) int {
	if off > len(data) {
		off = len(data)
	}
	if off < 0 {
		off = 0
	}
	return 1 + bytes.Count(data[:off], []byte{'\n'})
}
