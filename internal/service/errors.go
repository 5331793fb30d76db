package service

import (
	"errors"
	"fmt"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/store"
)

// Error codes, shared with the API's table of HTTP statuses.
const (
	CodeInvalid      = "Invalid"
	CodeNotFound     = "NotFound"
	CodeConflict     = "Conflict"
	CodeUnauthorized = "Unauthorized"
	CodeForbidden    = "Forbidden"
	CodeInternal     = "Internal"
	// CodeTooLarge is a request body beyond its operation's limit (413).
	CodeTooLarge = "TooLarge"
)

// Error is a failure whose message is safe to show to the caller.
type Error struct {
	Code string
	Msg  string
	// MissingPipeline names the pipeline a not-found error is about, so that
	// the API can add a did-you-mean for callers allowed to list pipelines
	// (SuggestPipeline).
	MissingPipeline string
	// Field is the path, in the declaration being applied, that an Invalid
	// error found at apply time is about ("triggers[0].pipeline.name"); Msg
	// begins with it. The API puts the error on that field's line of the
	// file it was given.
	Field string
}

func (e *Error) Error() string { return e.Msg }

// Errorf makes an *Error.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, CodeInternal for errors sluice did not expect.
func ErrorCode(err error) string {
	var se *Error
	if errors.As(err, &se) {
		return se.Code
	}
	var ee *engine.Error
	if errors.As(err, &ee) {
		return ee.Code
	}
	if errors.Is(err, store.ErrNotFound) {
		return CodeNotFound
	}
	if errors.Is(err, store.ErrConflict) {
		return CodeConflict
	}
	return CodeInternal
}

// ErrorMessage returns what may be shown of err: its message for known errors,
// a generic one for internal failures, whose details belong in the server's log.
func ErrorMessage(err error) string {
	switch ErrorCode(err) {
	case CodeInternal:
		return "internal error"
	default:
		var se *Error
		if errors.As(err, &se) {
			return se.Msg
		}
		var ee *engine.Error
		if errors.As(err, &ee) {
			return ee.Msg
		}
		return err.Error()
	}
}
