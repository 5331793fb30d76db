package buildspec

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// This file turns bytes into a yaml.Node tree, with errors that name a line.
// It mirrors internal/pipeline/source.go, whose helpers are unexported.

var utf8BOM = []byte("\xef\xbb\xbf")

// readYAML reads exactly one YAML document.
func readYAML(data []byte) (root *yaml.Node, e *pipeline.Error) {
	// yaml.v3 is meant to fail with an error, but a parser of user input
	// must not take a server down if some input finds a panic in it.
	defer func() {
		if r := recover(); r != nil {
			root, e = nil, &pipeline.Error{Line: 1, Msg: fmt.Sprintf("invalid YAML: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, &pipeline.Error{Line: 1, Msg: "empty file: no buildspec in it"}
		}
		return nil, yamlError(data, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == io.EOF:
	case err != nil:
		return nil, yamlError(data, err)
	default:
		return nil, &pipeline.Error{Line: max(extra.Line, 1), Msg: "a buildspec is one YAML document, but this is a second one"}
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0], nil
	}
	return &doc, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserProblems are the messages of libyaml's parser, whose lines
// yaml.v3 counts from 0 (the scanner's count from 1).
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

var yamlAnchorRE = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)

// yamlReaderProblems are libyaml's complaints about bytes rather than
// syntax; they carry no position at all.
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

func yamlError(data []byte, err error) *pipeline.Error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		for _, p := range yamlParserProblems {
			if m[2] == p {
				line++
				break
			}
		}
		return &pipeline.Error{Line: max(line, 1), Msg: "invalid YAML: " + m[2]}
	}
	if m := yamlAnchorRE.FindStringSubmatch(msg); m != nil {
		line := 1
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			line = lineAtOffset(data, i)
		}
		return &pipeline.Error{Line: line, Msg: fmt.Sprintf("invalid YAML: unknown anchor %q referenced", m[1])}
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 1 // yaml.v3 leaves out the line when it is the first
	for _, p := range yamlReaderProblems {
		if strings.HasPrefix(msg, p) {
			line = badByteLine(data)
			break
		}
	}
	return &pipeline.Error{Line: line, Msg: "invalid YAML: " + msg}
}

// badByteLine returns the line of the first byte YAML cannot read, or 1.
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

func lineAtOffset(data []byte, off int) int {
	off = min(max(off, 0), len(data))
	return 1 + bytes.Count(data[:off], []byte{'\n'})
}
