package report

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// xmlHandler receives one format's tokens. start is called first for the
// root element; returning an error stops the parse.
type xmlHandler interface {
	// roots lists the root element names the format accepts.
	roots() []string
	start(se xml.StartElement) error
	end(name string)
	text(data []byte)
}

// rootFormats names the root element of each XML format, to tell a user who
// chose the wrong file-format which one the file is.
var rootFormats = map[string]Format{
	"testsuites":     JUnitXML,
	"testsuite":      JUnitXML,
	"testng-results": TestNGXML,
	"test-results":   NUnitXML,
	"test-run":       NUnit3XML,
	"TestRun":        VisualStudioTRX,
}

// maxDepth bounds element nesting, so a hostile file cannot grow the
// parsers' stacks without limit.
const maxDepth = 10_000

// skipper ignores a subtree: while depth > 0 the handlers drop everything.
type skipper struct{ depth int }

func (s *skipper) skipping() bool { return s.depth > 0 }

// parseXML streams r through h, wrapping every failure in a ParseError.
func parseXML(b *builder, filename string, r io.Reader, h xmlHandler) error {
	format := b.rep.Format
	fail := func(line int, err error) error {
		return &ParseError{File: filename, Format: format, Line: line, Err: err}
	}
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	if c, err := firstByte(br); err == nil && (c == '[' || c == '{') {
		return fail(1, fmt.Errorf("%w: the file is JSON, not XML", ErrWrongFormat))
	}
	d := xml.NewDecoder(br)
	d.CharsetReader = charsetReader
	d.Entity = xml.HTMLEntity // tolerate &nbsp; and friends from HTML-minded tools
	depth := 0
	rooted := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if !rooted {
				return fail(0, fmt.Errorf("%w: no XML element found", ErrWrongFormat))
			}
			if depth > 0 {
				line, _ := d.InputPos()
				return fail(line, errors.New("unexpected end of file"))
			}
			return nil
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return fail(se.Line, errors.New(se.Msg))
			}
			line, _ := d.InputPos()
			return fail(line, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if !rooted {
				rooted = true
				if err := checkRoot(format, t.Name.Local, h.roots()); err != nil {
					line, _ := d.InputPos()
					return fail(line, err)
				}
			} else if depth == 0 {
				line, _ := d.InputPos()
				return fail(line, fmt.Errorf("a second root element <%s>", t.Name.Local))
			}
			depth++
			if depth > maxDepth {
				line, _ := d.InputPos()
				return fail(line, fmt.Errorf("elements nested deeper than %d", maxDepth))
			}
			if err := h.start(t); err != nil {
				line, _ := d.InputPos()
				return fail(line, err)
			}
		case xml.EndElement:
			depth--
			h.end(t.Name.Local)
		case xml.CharData:
			if depth > 0 {
				h.text(t)
			}
		}
	}
}

// checkRoot accepts the format's roots and otherwise says what the file
// looks like.
func checkRoot(format Format, root string, want []string) error {
	for _, w := range want {
		if root == w {
			return nil
		}
	}
	if other, ok := rootFormats[root]; ok {
		return fmt.Errorf("%w: root element <%s> is a %s report, not %s", ErrWrongFormat, root, other, format)
	}
	return fmt.Errorf("%w: root element <%s> is not a %s report (expected <%s>)",
		ErrWrongFormat, root, format, strings.Join(want, "> or <"))
}

// charsetReader decodes the single-byte encodings some tools declare.
// UTF-8 needs no reader; windows-1252 is read as ISO-8859-1, which differs
// only in 0x80-0x9F.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "windows-1252", "cp1252":
		return &latin1Reader{r: bufio.NewReader(input)}, nil
	case "us-ascii", "ascii", "utf8":
		return input, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", charset)
}

type latin1Reader struct{ r *bufio.Reader }

func (l *latin1Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c, err := l.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if c < utf8.RuneSelf {
			p[n] = c
			n++
			continue
		}
		if n+2 > len(p) {
			l.r.UnreadByte()
			break
		}
		n += utf8.EncodeRune(p[n:], rune(c))
	}
	if n == 0 && len(p) > 0 {
		return 0, io.ErrShortBuffer
	}
	return n, nil
}

// attr returns the value of the attribute with the given local name.
func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}
