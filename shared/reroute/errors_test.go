package reroute_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

func TestErrorCode(t *testing.T) {
	t.Parallel()
	notFound := reroute.Errorf(reroute.CodeNotFound, "route_not_found", "no route for %s", "example.com")
	tests := []struct {
		name         string
		err          error
		want         reroute.Code
		wantNotFound bool
	}{
		{"nil", nil, "", false},
		{"not found", notFound, reroute.CodeNotFound, true},
		{"wrapped not found", fmt.Errorf("get route: %w", notFound), reroute.CodeNotFound, true},
		{"joined not found", errors.Join(io.EOF, notFound), reroute.CodeNotFound, true},
		{"conflict", reroute.Errorf(reroute.CodeConflict, "host_taken", "taken"), reroute.CodeConflict, false},
		{"invalid", &reroute.Error{Code: reroute.CodeInvalid}, reroute.CodeInvalid, false},
		{"forbidden", &reroute.Error{Code: reroute.CodeForbidden}, reroute.CodeForbidden, false},
		{"limit", &reroute.Error{Code: reroute.CodeLimit}, reroute.CodeLimit, false},
		{"unavailable", &reroute.Error{Code: reroute.CodeUnavailable, Err: io.ErrUnexpectedEOF}, reroute.CodeUnavailable, false},
		{"foreign error", io.EOF, reroute.CodeInternal, false},
		{"wrapped foreign error", fmt.Errorf("x: %w", io.EOF), reroute.CodeInternal, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reroute.ErrorCode(tt.err); got != tt.want {
				t.Errorf("ErrorCode = %q, want %q", got, tt.want)
			}
			if got := reroute.IsNotFound(tt.err); got != tt.wantNotFound {
				t.Errorf("IsNotFound = %v, want %v", got, tt.wantNotFound)
			}
		})
	}
}

func TestErrorf(t *testing.T) {
	t.Parallel()
	e := reroute.Errorf(reroute.CodeConflict, "host_taken", "%s is already routed", "example.com")
	if e.Code != reroute.CodeConflict || e.Reason != "host_taken" || e.Message != "example.com is already routed" || e.Err != nil || e.Fields != nil {
		t.Errorf("Errorf = %#v", e)
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	cause := errors.New("connection reset")
	tests := []struct {
		name string
		err  *reroute.Error
		want string
	}{
		{"message", &reroute.Error{Code: reroute.CodeNotFound, Message: "no route"}, "no route"},
		{"fields", &reroute.Error{Code: reroute.CodeInvalid, Message: "the input is not valid",
			Fields: []reroute.FieldError{{Field: "host", Message: "bad host"}, {Field: "status", Message: "bad status"}}},
			"the input is not valid; host: bad host; status: bad status"},
		{"cause", &reroute.Error{Code: reroute.CodeUnavailable, Message: "the store is unavailable", Err: cause},
			"the store is unavailable: connection reset"},
		{"fields and cause", &reroute.Error{Message: "m", Fields: []reroute.FieldError{{Field: "f", Message: "x"}}, Err: cause},
			"m; f: x: connection reset"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%s: Error() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestErrorUnwrap(t *testing.T) {
	t.Parallel()
	cause := io.ErrUnexpectedEOF
	err := fmt.Errorf("find: %w", &reroute.Error{Code: reroute.CodeUnavailable, Message: "unavailable", Err: cause})
	if !errors.Is(err, cause) {
		t.Error("errors.Is does not reach the cause")
	}
	if reroute.ErrorCode(err) != reroute.CodeUnavailable {
		t.Errorf("ErrorCode = %q", reroute.ErrorCode(err))
	}
	if (&reroute.Error{}).Unwrap() != nil {
		t.Error("Unwrap of an error without a cause is not nil")
	}
}
