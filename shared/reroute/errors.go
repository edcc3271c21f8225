// Package reroute is the domain of the redirect service: routes, their rules, errors
// with codes and the interfaces the adapters implement. It imports no AWS, Stripe or
// HTTP package, so every other package can depend on it and it on none of them.
package reroute

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Code classifies an error so that each front (HTTP, Lambda, CLI) maps it once.
type Code string

const (
	CodeInvalid         Code = "invalid"
	CodeUnauthenticated Code = "unauthenticated"
	CodeNotFound        Code = "not_found"
	CodeConflict        Code = "conflict"
	CodeForbidden       Code = "forbidden"
	CodeLimit           Code = "limit"
	CodeUnavailable     Code = "unavailable"
	// CodeRateLimited: too many requests of a kind; Error.RetryAfter says when
	// the next one is allowed.
	CodeRateLimited Code = "rate_limited"
	// CodeNotConfigured: a feature the operator has not set up (billing without keys).
	CodeNotConfigured Code = "not_configured"
	CodeInternal      Code = "internal"
)

// FieldError names one input field that failed validation and says why.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the domain error. Reason is a stable, machine-readable word such as
// "host_taken"; Message is safe to show to the caller; Err is the cause, for logs only.
type Error struct {
	Code    Code
	Reason  string
	Message string
	Fields  []FieldError
	Err     error
	// RetryAfter, when set, is how long the caller should wait before trying
	// again (a CodeRateLimited error's window's end).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error with a code, a stable reason and a caller-safe message.
func Errorf(code Code, reason, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, CodeInternal for errors the domain did not make.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// IsNotFound reports whether err is a not-found domain error.
func IsNotFound(err error) bool { return ErrorCode(err) == CodeNotFound }

// invalid collects field errors and turns them into one CodeInvalid error.
type invalid []FieldError

func (v *invalid) add(field, format string, args ...any) {
	*v = append(*v, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (v invalid) err() error {
	if len(v) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Reason: "validation_failed", Message: "the input is not valid", Fields: v}
}
