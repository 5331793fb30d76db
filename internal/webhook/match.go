package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"github.com/ohler55/ojg/oj"
)

// Match reports whether body passes every filter of the definition (a
// definition without filters passes every JSON body). Each filter's JSONPath is
// evaluated on the body; the filter passes when one of the values it selects
// equals MatchEquals, with {Key} placeholders replaced by config(Key) (the
// target action's configuration; nil leaves them as written). Strings compare
// as they are, other values by their JSON text (true, 42, null). A filter
// without MatchEquals passes when its path selects anything.
//
// A body that is not JSON gives an error wrapping ErrBadRequest; GitHub's
// form-encoded deliveries (payload=...) are read as the JSON they carry.
func (d *Definition) Match(body []byte, config func(key string) string) (bool, error) {
	// The body is read even without filters, so that a body that is not
	// JSON is refused the same way whatever the definition.
	data, err := decodeBody(body)
	if err != nil {
		return false, err
	}
	for i, f := range d.Filters {
		x, err := compilePath(f.JSONPath)
		if err != nil {
			// Validate refuses such definitions; this one was built
			// some other way, which is sluice's fault, not the sender's.
			return false, fmt.Errorf("webhook %q: filters[%d].jsonPath: %v", d.Name, i, err)
		}
		got := x.Get(data)
		if f.MatchEquals == "" {
			if len(got) == 0 {
				return false, nil
			}
			continue
		}
		want := substitute(f.MatchEquals, config)
		found := false
		for _, v := range got {
			if text(v) == want {
				found = true
				break
			}
		}
		if !found {
			return false, nil
		}
	}
	return true, nil
}

// placeholderRE finds CodePipeline's {Key} placeholders. Keys are action
// configuration keys, which are names; anything else in braces (a JSON
// snippet, say) is left alone.
var placeholderRE = lazyregexp.New(`\{([A-Za-z0-9_.-]+)\}`)

func substitute(s string, config func(string) string) string {
	if config == nil {
		return s
	}
	return placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		return config(m[1 : len(m)-1])
	})
}

// text is how a selected value compares with MatchEquals.
func text(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// decodeBody reads a webhook body for JSONPath: strictly valid JSON, checked
// by encoding/json (which also bounds nesting), then parsed by the JSONPath
// library's own reader, whose numbers its filters compare correctly.
func decodeBody(body []byte) (any, error) {
	payload, err := jsonPayload(body)
	if err != nil {
		return nil, err
	}
	data, err := oj.Parse(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: body is not JSON: %v", ErrBadRequest, err)
	}
	return data, nil
}

// jsonPayload returns the JSON document body carries: the body itself, or
// the payload field of a form-encoded body as GitHub sends when a webhook's
// content type is application/x-www-form-urlencoded.
func jsonPayload(body []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] != '{' && trimmed[0] != '[' {
		if form, err := url.ParseQuery(string(trimmed)); err == nil && form.Has("payload") {
			trimmed = []byte(form.Get("payload"))
		}
	}
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: empty body, want JSON", ErrBadRequest)
	}
	if err := json.Unmarshal(trimmed, new(json.RawMessage)); err != nil {
		return nil, fmt.Errorf("%w: body is not JSON: %v", ErrBadRequest, err)
	}
	return trimmed, nil
}
