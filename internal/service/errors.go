package service

import (
	"errors"
	"fmt"

	"github.com/sluice-ci/sluice/internal/errcode"
	"github.com/sluice-ci/sluice/internal/store"
)

// Error codes: errcode's, under the names the service has always used.
const (
	CodeInvalid      = errcode.Invalid
	CodeNotFound     = errcode.NotFound
	CodeConflict     = errcode.Conflict
	CodeUnauthorized = errcode.Unauthorized
	CodeForbidden    = errcode.Forbidden
	CodeInternal     = errcode.Internal
	// CodeTooLarge is a request body beyond its operation's limit (413).
	CodeTooLarge = errcode.TooLarge
)

// Error is a failure whose message is safe to show to the caller: an
// errcode error that also names what the API needs to improve its message.
type Error struct {
	Code errcode.Code
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

// ErrorCode implements errcode.Coder.
func (e *Error) ErrorCode() errcode.Code { return e.Code }

// Errorf makes an *Error.
func Errorf(code errcode.Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, CodeInternal for errors sluice did not
// expect. The store's not-found and conflict are read as those codes.
func ErrorCode(err error) errcode.Code {
	var c errcode.Coder
	if errors.As(err, &c) {
		return c.ErrorCode()
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
		var c errcode.Coder
		if errors.As(err, &c) {
			return c.Error()
		}
		return err.Error()
	}
}
