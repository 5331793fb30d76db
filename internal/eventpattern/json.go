package eventpattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// A pattern is read token by token rather than into a map, so that keys keep
// their order (explanations then follow the pattern as written), a key given
// twice is an error instead of silently the last one, and numbers keep the
// literal the author wrote (EventBridge compares exact numbers as written).

type kind int

const (
	kNull kind = iota
	kBool
	kNumber
	kString
	kArray
	kObject
)

// value is one JSON value of a pattern.
type value struct {
	kind  kind
	str   string // a string's text, a number's literal
	b     bool
	keys  []string
	vals  []*value // an object's values, in the order of keys
	items []*value // an array's items
}

// Limits that keep a hostile pattern cheap to refuse.
const (
	maxPatternSize  = 256 << 10
	maxPatternDepth = 64
)

// MaxSize is the largest pattern, in bytes of JSON: what writes one from
// another form stops there rather than expand it further.
const MaxSize = maxPatternSize

func parseJSON(data []byte) (*value, error) {
	if len(data) > maxPatternSize {
		return nil, fmt.Errorf("larger than %d bytes", maxPatternSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid JSON: more than one value")
	}
	return v, nil
}

func readValue(dec *json.Decoder, depth int) (*value, error) {
	if depth > maxPatternDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxPatternDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(err)
	}
	switch t := tok.(type) {
	case nil:
		return &value{kind: kNull}, nil
	case bool:
		return &value{kind: kBool, b: t}, nil
	case json.Number:
		return &value{kind: kNumber, str: t.String()}, nil
	case string:
		return &value{kind: kString, str: t}, nil
	case json.Delim:
		switch t {
		case '[':
			v := &value{kind: kArray}
			for dec.More() {
				item, err := readValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				v.items = append(v.items, item)
			}
			if _, err := dec.Token(); err != nil {
				return nil, jsonError(err)
			}
			return v, nil
		case '{':
			v := &value{kind: kObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, jsonError(err)
				}
				key, _ := kt.(string)
				for _, k := range v.keys {
					if k == key {
						return nil, fmt.Errorf("key %q given twice", key)
					}
				}
				item, err := readValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				v.keys = append(v.keys, key)
				v.vals = append(v.vals, item)
			}
			if _, err := dec.Token(); err != nil {
				return nil, jsonError(err)
			}
			return v, nil
		}
	}
	return nil, fmt.Errorf("invalid JSON: unexpected %v", tok)
}

func jsonError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("invalid JSON: unexpected end")
	}
	return fmt.Errorf("invalid JSON: %v", err)
}

// describe names a pattern value for an error message.
func (v *value) describe() string {
	switch v.kind {
	case kNull:
		return "null"
	case kBool:
		return strconv.FormatBool(v.b)
	case kNumber:
		return "the number " + v.str
	case kString:
		return "the string " + strconv.Quote(v.str)
	case kArray:
		return "a list"
	}
	return "an object"
}

// DecodeEvent reads an event for Match. Numbers keep their literal
// (json.Number), as EventBridge compares exact numeric values by how they are
// written; numeric ranges compare their values.
func DecodeEvent(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	if m == nil {
		return nil, errors.New("event: not a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("event: more than one JSON value")
	}
	return m, nil
}
