// Package errcode is sluice's one vocabulary of failures: the codes an error
// may carry, the HTTP status each is answered with, and the error type whose
// message is safe to show to whoever made the call. The service and the
// engine make these errors, the API and the console answer them, and the API
// client reads them back, so a code means the same on both sides of the wire.
package errcode

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is the kind of a failure, as the API's error bodies name it.
type Code string

// The codes. Their strings are part of the API: clients compare them.
const (
	// Invalid is a request or declaration that is wrong (400).
	Invalid Code = "Invalid"
	// NotFound is something named that does not exist (404).
	NotFound Code = "NotFound"
	// Conflict is a request the current state refuses: a job no longer
	// the caller's, an execution already ended (409).
	Conflict Code = "Conflict"
	// Unauthorized is a caller who could not be identified (401).
	Unauthorized Code = "Unauthorized"
	// Forbidden is a caller not allowed to do what it asked (403).
	Forbidden Code = "Forbidden"
	// Internal is a failure sluice did not expect; its details belong in
	// the server's log, not in the answer (500).
	Internal Code = "Internal"
	// TooLarge is a request body beyond its operation's limit (413).
	TooLarge Code = "TooLarge"
)

// statuses is the one table from codes to HTTP statuses.
var statuses = map[Code]int{
	Invalid:      http.StatusBadRequest,
	NotFound:     http.StatusNotFound,
	Conflict:     http.StatusConflict,
	Unauthorized: http.StatusUnauthorized,
	Forbidden:    http.StatusForbidden,
	Internal:     http.StatusInternalServerError,
	TooLarge:     http.StatusRequestEntityTooLarge,
}

// HTTPStatus is the status an error of code is answered with; a code this
// table does not know is the caller's mistake (400).
func HTTPStatus(code Code) int {
	if st, ok := statuses[code]; ok {
		return st
	}
	return http.StatusBadRequest
}

// FromHTTPStatus is the code of an answer with status that carried none (a
// proxy's 502, say): the code answered with that status, Internal for any
// other server-side failure, Invalid for any other refusal, "" for success.
func FromHTTPStatus(status int) Code {
	for code, st := range statuses {
		if st == status {
			return code
		}
	}
	switch {
	case status >= 500:
		return Internal
	case status >= 400:
		return Invalid
	}
	return ""
}

// Error is a failure whose Message is safe to show to the caller. Err, when
// set, is the cause, kept for the server's log and for errors.Is; it is never
// shown.
type Error struct {
	Code    Code
	Message string
	Err     error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode implements Coder.
func (e *Error) ErrorCode() Code { return e.Code }

// Errorf makes an *Error.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Coder is an error that knows its code. *Error is one; packages whose errors
// carry more than a code and a message (the service's names the field or the
// pipeline they are about) implement it so that Of reads them.
type Coder interface {
	error
	ErrorCode() Code
}

// Of returns the code of err: that of the first Coder in its chain, Internal
// for errors sluice did not expect, "" for nil.
func Of(err error) Code {
	if err == nil {
		return ""
	}
	var c Coder
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	return Internal
}

// Message returns what may be shown of err: the message of its Coder, or a
// generic one for internal failures, whose details belong in the server's
// log.
func Message(err error) string {
	if err == nil {
		return ""
	}
	var c Coder
	if !errors.As(err, &c) || c.ErrorCode() == Internal {
		return "internal error"
	}
	return c.Error()
}

// Body is the JSON form of an error, the body of every error answer of the
// API and of the console's answers to scripts.
type Body struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}
