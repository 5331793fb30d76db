package errcode

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestStatusesRoundTrip(t *testing.T) {
	for code, status := range statuses {
		if got := HTTPStatus(code); got != status {
			t.Errorf("HTTPStatus(%s) = %d, want %d", code, got, status)
		}
		if got := FromHTTPStatus(status); got != code {
			t.Errorf("FromHTTPStatus(%d) = %s, want %s", status, got, code)
		}
	}
	if got := HTTPStatus("Unheard"); got != http.StatusBadRequest {
		t.Errorf("HTTPStatus of an unknown code = %d, want 400", got)
	}
	for status, want := range map[int]Code{
		http.StatusBadGateway: Internal, http.StatusTooManyRequests: Invalid, http.StatusOK: "",
	} {
		if got := FromHTTPStatus(status); got != want {
			t.Errorf("FromHTTPStatus(%d) = %q, want %q", status, got, want)
		}
	}
}

type fieldError struct{ field string }

func (e *fieldError) Error() string   { return e.field + ": bad" }
func (e *fieldError) ErrorCode() Code { return Invalid }

func TestOfAndMessage(t *testing.T) {
	cause := errors.New("disk on fire at /var/lib/sluice")
	for _, tc := range []struct {
		name     string
		err      error
		code     Code
		message  string
		causeToo bool
	}{
		{"nil", nil, "", "", false},
		{"plain", Errorf(NotFound, "pipeline %s not found", "app"), NotFound, "pipeline app not found", false},
		{"wrapped", fmt.Errorf("apply: %w", Errorf(Conflict, "taken")), Conflict, "taken", false},
		{"with a cause", &Error{Code: Invalid, Message: "bad file", Err: cause}, Invalid, "bad file", true},
		{"another Coder", fmt.Errorf("x: %w", &fieldError{"name"}), Invalid, "name: bad", false},
		{"unexpected", cause, Internal, "internal error", true},
		{"internal hides its message", Errorf(Internal, "secret detail"), Internal, "internal error", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Of(tc.err); got != tc.code {
				t.Errorf("Of = %q, want %q", got, tc.code)
			}
			if got := Message(tc.err); got != tc.message {
				t.Errorf("Message = %q, want %q", got, tc.message)
			}
			if got := errors.Is(tc.err, cause); got != tc.causeToo {
				t.Errorf("errors.Is(cause) = %v, want %v", got, tc.causeToo)
			}
		})
	}
}
