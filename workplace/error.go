package workplace

import (
	"errors"
	"fmt"
	"time"
)

// Error codes a client of the gateway sees. They name what went wrong in
// terms a front end can act on, never how the gateway is built.
const (
	ENOTFOUND     = "NOT_FOUND"
	EINVALID      = "BAD_USER_INPUT"
	ECONFLICT     = "CONFLICT"
	ERATELIMITED  = "UPSTREAM_RATE_LIMITED"
	EUNAVAILABLE  = "UPSTREAM_UNAVAILABLE"
	EUNAUTHORIZED = "UNAUTHENTICATED"
	EFORBIDDEN    = "FORBIDDEN"
	ECLIENTLIMIT  = "RATE_LIMITED"
	EINTERNAL     = "INTERNAL"
)

// Error is a failure with a code and a message safe to show a client.
type Error struct {
	Code    string
	Message string
	// RetryAfter is how long the client should wait, for ERATELIMITED.
	RetryAfter time.Duration
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("workplace error: code=%s message=%s", e.Code, e.Message)
}

// ErrorCode implements Coder.
func (e *Error) ErrorCode() string { return e.Code }

// ErrorMessage implements Coder.
func (e *Error) ErrorMessage() string { return e.Message }

// RetryAfterDuration implements Coder.
func (e *Error) RetryAfterDuration() time.Duration { return e.RetryAfter }

// Errorf returns an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Coder is implemented by errors that know their client-facing code, so an
// adapter (the engage client's HTTP errors) can carry one without this
// package knowing the adapter.
type Coder interface {
	error
	ErrorCode() string
	ErrorMessage() string
	RetryAfterDuration() time.Duration
}

// ErrorCode returns the code of the first Coder in err's chain, EINTERNAL for
// any other error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var c Coder
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err: a Coder's own message,
// or a generic one that reveals nothing of an internal error.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var c Coder
	if errors.As(err, &c) {
		return c.ErrorMessage()
	}
	return "An internal error has occurred."
}

// RetryAfter returns how long the client should wait before retrying, when
// err says so.
func RetryAfter(err error) time.Duration {
	var c Coder
	if errors.As(err, &c) {
		return c.RetryAfterDuration()
	}
	return 0
}
