package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Cucumber JSON is an array of features, each with elements (scenarios and
// backgrounds) made of steps whose result has a status and a duration in
// nanoseconds. Each scenario is one test case; a background's steps count
// towards the scenario that follows it, as Cucumber runs them. The array
// and each feature's elements are read one at a time, so memory follows
// the largest scenario, not the file.

type cucumberStep struct {
	Keyword string   `json:"keyword"`
	Name    string   `json:"name"`
	Output  []string `json:"output"`
	Result  struct {
		Status       string  `json:"status"`
		Duration     float64 `json:"duration"`
		ErrorMessage string  `json:"error_message"`
	} `json:"result"`
}

type cucumberElement struct {
	Name   string         `json:"name"`
	Type   string         `json:"type"`
	Before []cucumberStep `json:"before"`
	Steps  []cucumberStep `json:"steps"`
	After  []cucumberStep `json:"after"`
}

type cucumberParser struct {
	b          *builder
	dec        *json.Decoder
	background []cucumberStep
}

func parseCucumber(b *builder, filename string, r io.Reader) error {
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	p := &cucumberParser{b: b, dec: json.NewDecoder(br)}
	fail := func(err error) error {
		pe := &ParseError{File: filename, Format: CucumberJSON, Offset: p.dec.InputOffset(), Err: err}
		var se *json.SyntaxError
		var oe *offsetError
		switch {
		case errors.As(err, &se):
			pe.Offset = se.Offset
		case errors.As(err, &oe):
			pe.Offset = oe.offset
		case errors.Is(err, io.EOF):
			pe.Err = io.ErrUnexpectedEOF
		}
		return pe
	}
	first, err := firstByte(br)
	if err != nil {
		if err == io.EOF {
			return fail(fmt.Errorf("%w: empty file", ErrWrongFormat))
		}
		return fail(err)
	}
	switch first {
	case '[':
	case '<':
		return fail(fmt.Errorf("%w: the file is XML, not Cucumber JSON", ErrWrongFormat))
	case '{':
		return fail(fmt.Errorf("%w: a JSON object, not the array of features Cucumber writes", ErrWrongFormat))
	default:
		return fail(fmt.Errorf("%w: not Cucumber JSON (it starts with %q)", ErrWrongFormat, first))
	}
	if _, err := p.dec.Token(); err != nil { // '['
		return fail(err)
	}
	for p.dec.More() {
		if err := p.feature(); err != nil {
			return fail(err)
		}
	}
	if _, err := p.dec.Token(); err != nil { // ']'
		return fail(err)
	}
	if _, err := p.dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the array of features")
		}
		return fail(err)
	}
	return nil
}

// firstByte peeks at the first byte that is not white space.
func firstByte(br *bufio.Reader) (byte, error) {
	for {
		c, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c, br.UnreadByte()
	}
}

func (p *cucumberParser) feature() error {
	if err := p.delim('{', "a feature object"); err != nil {
		return err
	}
	var name, uri string
	first := len(p.b.rep.Cases)
	p.background = nil
	for p.dec.More() {
		tok, err := p.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		switch key {
		case "name":
			err = p.dec.Decode(&name)
		case "uri":
			err = p.dec.Decode(&uri)
		case "elements":
			err = p.elements(name, uri)
		default:
			var skip json.RawMessage
			err = p.dec.Decode(&skip)
		}
		if err != nil {
			return fmt.Errorf("feature %q: %s: %w", name, key, err)
		}
	}
	if _, err := p.dec.Token(); err != nil { // '}'
		return err
	}
	// name and uri may come after the elements.
	for i := first; i < len(p.b.rep.Cases); i++ {
		tc := &p.b.rep.Cases[i]
		if tc.Suite == "" {
			tc.Suite = name
		}
		if tc.File == "" {
			tc.File = uri
		}
	}
	return nil
}

func (p *cucumberParser) delim(want json.Delim, what string) error {
	tok, err := p.dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("%w: expected %s, found %v", ErrWrongFormat, what, tok)
	}
	return nil
}

func (p *cucumberParser) elements(feature, uri string) error {
	tok, err := p.dec.Token()
	if err != nil {
		return err
	}
	if tok == nil { // "elements": null
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("expected an array, found %v", tok)
	}
	for p.dec.More() {
		var el cucumberElement
		start := p.dec.InputOffset()
		if err := p.dec.Decode(&el); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				// te.Offset counts from the start of this element.
				return &offsetError{offset: start + te.Offset, err: err}
			}
			return err
		}
		if strings.EqualFold(el.Type, "background") {
			p.background = el.Steps
			continue
		}
		p.scenario(feature, uri, &el)
		p.background = nil
	}
	_, err = p.dec.Token() // ']'
	return err
}

func (p *cucumberParser) scenario(feature, uri string, el *cucumberElement) {
	tc := TestCase{Suite: feature, Name: el.Name, File: uri, Status: Succeeded}
	msg, out := p.b.text(), p.b.text()
	var failed, errored, unknown, skipped, passed bool
	groups := [][]cucumberStep{el.Before, p.background, el.Steps, el.After}
	for _, steps := range groups {
		for i := range steps {
			s := &steps[i]
			tc.Duration = addDuration(tc.Duration, nanos(s.Result.Duration))
			for _, o := range s.Output {
				appendText(&out, o)
			}
			switch strings.ToLower(s.Result.Status) {
			case "passed":
				passed = true
				continue
			case "failed":
				failed = true
			case "undefined", "ambiguous":
				errored = true
			case "skipped", "pending":
				skipped = true
				continue
			default:
				unknown = true
			}
			if msg.empty() {
				step := strings.TrimSpace(s.Keyword + s.Name)
				if step == "" {
					step = "hook"
				}
				msg.writeString(joinMessage(step+" ("+strings.ToLower(s.Result.Status)+")", s.Result.ErrorMessage))
			}
		}
	}
	switch {
	case failed:
		tc.Status = Failed
	case errored:
		tc.Status = Error
	case unknown:
		tc.Status = Unknown
	case skipped:
		tc.Status = Skipped
	case passed:
		tc.Status = Succeeded
	}
	tc.Message, tc.Output = msg.String(), out.String()
	p.b.add(tc)
}

func nanos(f float64) time.Duration {
	return secondsDuration(f / 1e9)
}

// offsetError places an error at a byte offset in the file.
type offsetError struct {
	offset int64
	err    error
}

func (e *offsetError) Error() string { return e.err.Error() }
func (e *offsetError) Unwrap() error { return e.err }
