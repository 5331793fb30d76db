package awsapi

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"
)

// The wire shapes of CodePipeline's API, as its API reference (and the
// SDKs' codepipeline types) name them. Timestamps are epoch seconds, as JSON
// 1.1 writes them.

// epoch is a timestamp as JSON 1.1 writes it: seconds since the epoch.
type epoch float64

func ts(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(float64(t.UnixMilli()) / 1000)
	return &e
}

func (e epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(e), 'f', 3, 64)), nil
}

// decodeInput reads body into v; a field of the wrong type is a
// ValidationException naming it. Unknown fields are ignored, as AWS does,
// so that a newer SDK's additions do not break older servers.
func decodeInput(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		if te, ok := err.(*json.UnmarshalTypeError); ok {
			return validation("1 validation error detected: Value at '%s' failed to satisfy constraint: must be of type %s", te.Field, te.Type)
		}
		return validation("the request body does not read: %v", err)
	}
	return nil
}

// nextToken pages a list: an opaque token holding where the next page
// starts (a name, a sequence number).
func encodeToken(kind, at string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + at))
}

func decodeToken(kind, token string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	rest, ok := "", false
	if err == nil {
		rest, ok = cutPrefix(string(b), kind+":")
	}
	if !ok {
		return "", &Error{Type: "InvalidNextTokenException", Status: 400, Message: "The next token was specified in an invalid format. Make sure that the next token you provide is the token returned by a previous call."}
	}
	return rest, nil
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || s[:len(prefix)] != prefix {
		return "", false
	}
	return s[len(prefix):], true
}

// maxResults reads a page size: def when 0, else 1 to limit.
func maxResults(n, def, limit int) (int, error) {
	switch {
	case n == 0:
		return def, nil
	case n < 1 || n > limit:
		return 0, validation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and %d", n, limit)
	}
	return n, nil
}

// resourceOf returns a resource function reading the pipeline name at
// field of the body (a dotted path: "pipeline.name").
func resourceOf(field string) func([]byte) (string, error) {
	return func(body []byte) (string, error) {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return "", validation("the request body does not read: %v", err)
		}
		path := splitPath(field)
		for _, k := range path {
			m, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = m[k]
		}
		name, ok := v.(string)
		if !ok || name == "" {
			return "", validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", field)
		}
		return "pipeline/" + name, nil
	}
}

func splitPath(p string) []string {
	var out []string
	start := 0
	for i := 0; i < len(p); i++ {
		if p[i] == '.' {
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return append(out, p[start:])
}

func all([]byte) (string, error) { return "*", nil }
