// Package bulk reads and writes lists of routes and their path rules: Cloudflare
// Bulk Redirects CSV files, unchanged, and the service's own versioned JSON format.
// It only parses, validates, writes and compares; storing is someone else's job.
//
// A CSV line and a JSON rule both become an Entry: a path rule for a hostname.
// Export writes Routes; Group turns entries back into Routes, and Plan compares
// entries with the routes that exist, line by line, so that a dry run can say what
// an import would do and a second import of the same file does nothing.
package bulk

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Bounds of one imported file, whatever its format.
const (
	// MaxBytes bounds a file: 10,000 rules of long URLs fit many times over.
	MaxBytes = 10 << 20
	// MaxLines bounds the CSV lines (comments and blank lines included) and the
	// JSON rules, whole-host targets counted, of one file.
	MaxLines = 100_000
	// MaxSourceLen bounds a source URL as written and a source path once
	// canonical. Cloudflare allows 32 KB; no browser sends a path that long to a
	// redirect, and targets are bounded at reroute.MaxTargetLen already.
	MaxSourceLen = 2048
)

// Entry is one path rule for one hostname, read from line Line of a file.
type Entry struct {
	Line int
	// Host is canonical (reroute.NormalizeHost): an exact name, or a "*." wildcard
	// when the file names one (an extension of Cloudflare's format, which has no
	// wildcards but INCLUDE_SUBDOMAINS).
	Host string
	// IncludeSubdomains (INCLUDE_SUBDOMAINS) applies the rule to Host and to every
	// name below it: to the route for Host and to the route for "*."+Host, since
	// a wildcard route covers every deeper name but not its base. See Hosts.
	IncludeSubdomains bool
	Rule              reroute.PathRule
}

// Hosts lists the route hostnames the entry writes its rule to: Host, and its
// wildcard with IncludeSubdomains.
func (e Entry) Hosts() []string {
	if e.IncludeSubdomains {
		return []string{e.Host, "*." + e.Host}
	}
	return []string{e.Host}
}

// Route is a hostname's redirect as the bulk formats carry it: the whole-host
// redirect routes have always had (Target, Status, KeepPath, KeepQuery; no Target
// means none), its matching options, its fallback and its path rules in order.
// The whole-host redirect is the subpath rule on "/" (see PathRules).
type Route struct {
	Host      string
	Target    string
	Status    int
	KeepPath  bool
	KeepQuery bool
	reroute.PathOptions
	Fallback reroute.Fallback
	Rules    []reroute.PathRule
	// Line is where the route starts in the JSON file it was read from; zero
	// otherwise. Writers and comparisons ignore it.
	Line int
}

// WholeHostRule is the whole-host redirect expressed as a path rule: a subpath
// rule on "/" that keeps the path when KeepPath is on. ok is false without a Target.
func (r Route) WholeHostRule() (rule reroute.PathRule, ok bool) {
	if r.Target == "" {
		return reroute.PathRule{}, false
	}
	status := r.Status
	if status == 0 {
		status = reroute.DefaultStatus
	}
	return reroute.PathRule{Source: "/", Target: r.Target, Status: status, Subpath: true, KeepSuffix: r.KeepPath, KeepQuery: r.KeepQuery}, true
}

// PathRules lists every rule of the route: the whole-host rule first, if any,
// then Rules.
func (r Route) PathRules() []reroute.PathRule {
	whole, ok := r.WholeHostRule()
	if !ok {
		return r.Rules
	}
	return append([]reroute.PathRule{whole}, r.Rules...)
}

// isWholeHost reports whether a rule is what a route's whole-host redirect
// becomes, and so goes back into Target rather than into Rules.
func isWholeHost(rule reroute.PathRule) bool { return rule.Source == "/" && rule.Subpath }

// Group turns entries into the routes they describe, in the order their hosts
// first appear: an entry with IncludeSubdomains goes to two routes, and a subpath
// rule on "/" becomes the route's whole-host redirect. Group does not check the
// entries again: give it what ParseCSV or ParseJSON returned.
func Group(entries []Entry) []Route {
	var out []Route
	index := map[string]int{}
	for _, e := range entries {
		for _, host := range e.Hosts() {
			i, ok := index[host]
			if !ok {
				i = len(out)
				index[host] = i
				out = append(out, Route{Host: host})
			}
			r := &out[i]
			if isWholeHost(e.Rule) && r.Target == "" {
				r.Target, r.Status, r.KeepPath, r.KeepQuery = e.Rule.Target, e.Rule.Status, e.Rule.KeepSuffix, e.Rule.KeepQuery
				continue
			}
			r.Rules = append(r.Rules, e.Rule)
		}
	}
	return out
}

// LineError is what is wrong with one line of a file: Field is the CSV column
// ("target_url") or the JSON member's pointer ("/routes/0/rules/3/target"), empty
// when the error is about the whole line or file.
type LineError struct {
	Line   int    `json:"line"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

func (e LineError) String() string {
	var b strings.Builder
	if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// ParseError lists every error of a file, in line order. It unwraps to a
// reroute CodeInvalid error (reason "invalid_import") naming each line, so that
// the API maps it like any other validation error.
type ParseError struct {
	Errors []LineError
}

// maxErrorText bounds how many errors Error spells out.
const maxErrorText = 10

func (e *ParseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the file has %d error(s)", len(e.Errors))
	for i, le := range e.Errors {
		if i == maxErrorText {
			fmt.Fprintf(&b, "; and %d more", len(e.Errors)-i)
			break
		}
		b.WriteString("; ")
		b.WriteString(le.String())
	}
	return b.String()
}

func (e *ParseError) Unwrap() error {
	fields := make([]reroute.FieldError, len(e.Errors))
	for i, le := range e.Errors {
		field := "line " + strconv.Itoa(le.Line)
		if le.Field != "" {
			field += " " + le.Field
		}
		fields[i] = reroute.FieldError{Field: field, Message: le.Reason}
	}
	return &reroute.Error{Code: reroute.CodeInvalid, Reason: "invalid_import", Message: "the file is not valid", Fields: fields}
}

// errs collects the errors of one file.
type errs []LineError

func (e *errs) add(line int, field, format string, args ...any) {
	*e = append(*e, LineError{Line: line, Field: field, Reason: fmt.Sprintf(format, args...)})
}

// result returns nil for no errors, the errors sorted by line otherwise.
func (e errs) result() error {
	if len(e) == 0 {
		return nil
	}
	slices.SortStableFunc(e, func(a, b LineError) int { return a.Line - b.Line })
	return &ParseError{Errors: e}
}
