package main

import (
	"bytes"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestRunRefusesBadFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{"no clients", []string{"-clients", "0"}},
		{"too many clients", []string{"-clients", "100000"}},
		{"no duration", []string{"-duration", "0s"}},
		{"too long", []string{"-duration", "2h"}},
		{"no requests", []string{"-max-requests", "0"}},
		{"negative count", []string{"-requests", "-1"}},
		{"count and duration", []string{"-requests", "4", "-duration", "1s"}},
		{"arguments", []string{"extra"}},
		{"unknown flag", []string{"-nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tt.args, func(string) string { return "http://127.0.0.1:1" }, &stdout, &stderr)
			if !errors.Is(err, errUsage) {
				t.Fatalf("run = %v, want the usage error", err)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
}

func TestExpected(t *testing.T) {
	t.Parallel()
	limit := []byte(`{"type":"https://dnsreroute.dev/problems/plan_limit_reached","status":403,"code":"plan_limit_reached"}`)
	forbidden := []byte(`{"type":"https://dnsreroute.dev/problems/role_not_allowed","status":403,"code":"role_not_allowed"}`)
	tests := []struct {
		name        string
		op          op
		status      int
		body        []byte
		ok, limited bool
	}{
		{"created", opCreate, 201, []byte(`{}`), true, false},
		{"at the limit", opCreate, 403, limit, true, true},
		{"another 403", opCreate, 403, forbidden, false, false},
		{"403 without a body", opCreate, 403, nil, false, false},
		{"conflict", opCreate, 409, nil, false, false},
		{"unavailable", opCreate, 503, nil, false, false},
		{"create answered 200", opCreate, 200, nil, false, false},
		{"listed", opList, 200, []byte(`{"items":[]}`), true, false},
		{"list at the limit", opList, 403, limit, false, false},
		{"list failed", opList, 500, nil, false, false},
	}
	for _, tt := range tests {
		ok, limited := expected(tt.op, tt.status, tt.body)
		if ok != tt.ok || limited != tt.limited {
			t.Errorf("%s: expected = %v, %v; want %v, %v", tt.name, ok, limited, tt.ok, tt.limited)
		}
	}
}

func TestRunNeedsAnEndpoint(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), nil, func(string) string { return "" }, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "DYNAMODB_ENDPOINT") {
		t.Fatalf("run = %v, want a word about DYNAMODB_ENDPOINT", err)
	}
}

// A short run against DynamoDB Local, bounded by a count of requests, so that
// what it sends does not depend on the machine's speed: every answer expected,
// both operations reported, the free orgs filled (their second create is refused).
func TestRunShortLoad(t *testing.T) {
	t.Parallel()
	if os.Getenv("DYNAMODB_ENDPOINT") == "" {
		t.Fatal("DynamoDB Local is not running: use `make test`, or set DYNAMODB_ENDPOINT")
	}
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"-clients", "4", "-requests", "4"}, os.Getenv, &stdout, &stderr)
	if err != nil {
		t.Fatalf("run = %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	out := stdout.String()
	for _, want := range []string{"apiload: 4 clients for 4 requests each", "setup: 4 users, 2 free orgs through the API, 2 enterprise orgs",
		", 16 requests\n", "unexpected answers: 0\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	// op, requests, req/s, p50, p90, p99, max, limit 403s
	row := func(op string) (requests, limited int) {
		m := regexp.MustCompile(`(?m)^ *` + op + ` +(\d+) +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ +(\d+) *$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no %s row in the report:\n%s", op, out)
		}
		requests, _ = strconv.Atoi(m[1])
		limited, _ = strconv.Atoi(m[2])
		return requests, limited
	}
	// Each client: create, list, create, list. A free org holds one route: each
	// of the two free clients' second create is refused, and nothing else.
	for _, want := range []struct {
		op                string
		requests, limited int
	}{
		{"create", 8, 2},
		{"list", 8, 0},
		{"create 201", 6, 0},
		{"create 403", 2, 2},
	} {
		if n, limited := row(want.op); n != want.requests || limited != want.limited {
			t.Errorf("%s: %d requests, %d refused at the limit; want %d and %d:\n%s", want.op, n, limited, want.requests, want.limited, out)
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr = %q, want nothing (no API log at warn or above)", stderr.String())
	}
}
