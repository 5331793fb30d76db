package awsapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/sluice-ci/sluice/internal/service"
)

// Error is an answer in AWS's JSON error shape: {"__type": Type, "message":
// Message}, with the HTTP status the SDKs expect of it (400 for a client's
// mistake, 403 for authentication and authorization), so that their retry
// and error handling behave as with AWS.
type Error struct {
	Type    string
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// validation is a ValidationException naming the request field at fault.
func validation(format string, args ...any) *Error {
	return &Error{Type: "ValidationException", Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// errorNames are the exceptions one operation answers the service's refusals
// with; "" falls back to the defaults of errorFor.
type errorNames struct {
	notFound string // a pipeline that does not exist is always PipelineNotFoundException
	conflict string
	invalid  string
}

// errorFor turns an error of the service into the exception op answers.
func (h *Handler) errorFor(op operation, err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	msg := service.ErrorMessage(err)
	var se *service.Error
	missingPipeline := errors.As(err, &se) && se.MissingPipeline != ""
	pick := func(name, fallback string) string {
		if name != "" {
			return name
		}
		return fallback
	}
	switch service.ErrorCode(err) {
	case service.CodeNotFound:
		switch {
		case missingPipeline || (strings.HasPrefix(msg, "pipeline ") && strings.HasSuffix(msg, " not found")):
			return &Error{Type: "PipelineNotFoundException", Status: 400, Message: msg}
		case strings.HasPrefix(msg, "stage "):
			return &Error{Type: "StageNotFoundException", Status: 400, Message: msg}
		case strings.HasPrefix(msg, "execution "):
			return &Error{Type: "PipelineExecutionNotFoundException", Status: 400, Message: msg}
		}
		return &Error{Type: pick(op.errs.notFound, "ResourceNotFoundException"), Status: 400, Message: msg}
	case service.CodeConflict:
		return &Error{Type: pick(op.errs.conflict, "ConflictException"), Status: 400, Message: msg}
	case service.CodeInvalid, service.CodeTooLarge:
		return &Error{Type: pick(op.errs.invalid, "ValidationException"), Status: 400, Message: msg}
	case service.CodeForbidden, service.CodeUnauthorized:
		return &Error{Type: "AccessDeniedException", Status: 403, Message: msg}
	}
	h.cfg.Logger.Error("aws endpoint: request failed", "err", err)
	return &Error{Type: "InternalFailure", Status: 500, Message: "internal error"}
}
