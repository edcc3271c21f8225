package bulk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// JSONVersion is the version of the JSON format: WriteJSON writes it, and
// ParseJSON reads only it.
const JSONVersion = 1

// The JSON format, one object:
//
//	{"version": 1, "routes": [{
//	  "host": "example.com",            // or "*.example.com"
//	  "target": "https://new.example/", // the whole-host redirect, optional,
//	  "status": 301,                    //   with its status (default 301)
//	  "keepPath": true, "keepQuery": true,
//	  "ignoreCase": true, "ignoreTrailingSlash": true,
//	  "fallback": {"kind": "redirect", "target": "https://new.example/", "status": 302},
//	  "rules": [{"source": "/docs", "target": "https://new.example/help", "status": 308,
//	             "subpath": true, "keepSuffix": true, "keepQuery": true}]}]}
//
// Unlike the CSV format it carries every route setting, so an export in it
// imports back to exactly the same routes. Members are optional unless said,
// false and zero are their defaults, and null is refused everywhere.
type jsonFile struct {
	Version int         `json:"version"`
	Routes  []jsonRoute `json:"routes"`
}

type jsonRoute struct {
	Host                string        `json:"host"`
	Target              string        `json:"target,omitzero"`
	Status              int           `json:"status,omitzero"`
	KeepPath            bool          `json:"keepPath,omitzero"`
	KeepQuery           bool          `json:"keepQuery,omitzero"`
	IgnoreCase          bool          `json:"ignoreCase,omitzero"`
	IgnoreTrailingSlash bool          `json:"ignoreTrailingSlash,omitzero"`
	Fallback            *jsonFallback `json:"fallback,omitzero"`
	Rules               []jsonRule    `json:"rules,omitzero"`
}

type jsonFallback struct {
	Kind   string `json:"kind"`
	Target string `json:"target,omitzero"`
	Status int    `json:"status,omitzero"`
}

type jsonRule struct {
	Source     string `json:"source"`
	Target     string `json:"target"`
	Status     int    `json:"status,omitzero"`
	Subpath    bool   `json:"subpath,omitzero"`
	KeepSuffix bool   `json:"keepSuffix,omitzero"`
	KeepQuery  bool   `json:"keepQuery,omitzero"`
}

// WriteJSON writes routes in the JSON format, indented so that an import's
// line numbers point somewhere useful.
func WriteJSON(w io.Writer, routes []Route) error {
	f := jsonFile{Version: JSONVersion, Routes: make([]jsonRoute, len(routes))}
	for i, r := range routes {
		jr := jsonRoute{Host: r.Host, Target: r.Target, KeepPath: r.KeepPath, KeepQuery: r.KeepQuery,
			IgnoreCase: r.IgnoreCase, IgnoreTrailingSlash: r.IgnoreTrailingSlash}
		if r.Target != "" {
			jr.Status = r.Status
			if jr.Status == 0 {
				jr.Status = reroute.DefaultStatus
			}
		}
		if r.Fallback != (reroute.Fallback{}) {
			jr.Fallback = &jsonFallback{Kind: string(r.Fallback.Kind), Target: r.Fallback.Target, Status: r.Fallback.Status}
		}
		jr.Rules = make([]jsonRule, len(r.Rules))
		for j, rule := range r.Rules {
			status := rule.Status
			if status == 0 {
				status = reroute.DefaultStatus
			}
			jr.Rules[j] = jsonRule{Source: rule.Source, Target: rule.Target, Status: status,
				Subpath: rule.Subpath, KeepSuffix: rule.KeepSuffix && rule.Subpath, KeepQuery: rule.KeepQuery}
		}
		f.Routes[i] = jr
	}
	if err := jsonv2.MarshalWrite(w, f, jsontext.WithIndent("  "), jsontext.EscapeForHTML(false)); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// ParseJSON reads a file in the JSON format, of at most MaxBytes and MaxLines
// rules. It is strict as the API is: names match exactly and at most once,
// unknown members, null and anything after the object are refused. It returns
// the routes, in order and in canonical form (Line set), and the same content as
// entries (Group(entries) lists the same hosts and rules), for Plan.
//
// A syntax error, or a value of the wrong type, stops the reading: it is the
// only error then. Otherwise every invalid value is reported, each with its line
// and its JSON pointer, in a *ParseError.
func ParseJSON(r io.Reader) ([]Route, []Entry, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the file: %w", err)
	}
	if len(data) > MaxBytes {
		return nil, nil, &ParseError{Errors: []LineError{{Reason: fmt.Sprintf("the file is larger than %d MiB", MaxBytes>>20)}}}
	}
	data = bytes.TrimPrefix(data, bom)
	lines := lineCounter{data: data, line: 1}
	pos, le := scanJSON(data, &lines)
	if le != nil {
		return nil, nil, &ParseError{Errors: []LineError{*le}}
	}
	var f jsonFile
	if err := jsonv2.Unmarshal(data, &f, jsonv2.RejectUnknownMembers(true)); err != nil {
		return nil, nil, &ParseError{Errors: []LineError{unmarshalError(err, data)}}
	}
	v := jsonValidator{pos: pos, hosts: hostCache{}}
	routes, entries := v.file(f)
	if len(v.errs) > 0 {
		v.locate(data)
		return routes, entries, v.errs.result()
	}
	return routes, entries, nil
}

// positions are the lines of the route and rule objects of a file.
type positions struct {
	routes []int
	rules  [][]int
}

// lineCounter turns increasing byte offsets into line numbers.
type lineCounter struct {
	data []byte
	off  int
	line int
}

func (c *lineCounter) at(off int64) int {
	o := min(int(off), len(c.data))
	if o < c.off { // never, for the offsets of one walk; kept correct anyway
		c.off, c.line = 0, 1
	}
	c.line += bytes.Count(c.data[c.off:o], []byte{'\n'})
	c.off = o
	return c.line
}

// scanJSON reads data token by token: jsontext refuses duplicate names and
// invalid UTF-8 by default, and this walk refuses null anywhere, anything but an
// object at the top and anything after it, and notes where each route and rule
// object starts.
func scanJSON(data []byte, lines *lineCounter) (positions, *LineError) {
	var pos positions
	if len(bytes.TrimSpace(data)) == 0 {
		return pos, &LineError{Line: 1, Reason: "the file is empty: it holds one JSON object"}
	}
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	member := "" // the top-level member being read
	for first := true; first || dec.StackDepth() > 0; first = false {
		tok, err := dec.ReadToken()
		if err != nil {
			return pos, syntaxError(err, lines)
		}
		depth := dec.StackDepth()
		kind := tok.Kind()
		switch {
		case first && kind != '{':
			return pos, &LineError{Line: 1, Reason: "the file holds one JSON object, as in {\"version\": 1, \"routes\": []}"}
		case kind == 'n':
			return pos, &LineError{Line: lines.at(dec.InputOffset()), Field: string(dec.StackPointer()), Reason: "null is not allowed: leave the member out instead"}
		case depth == 1 && kind == '"':
			if _, n := dec.StackIndex(1); n%2 == 1 {
				member = tok.String()
			}
		case kind == '{' && depth == 3 && member == "routes":
			pos.routes = append(pos.routes, lines.at(dec.InputOffset()-1))
			pos.rules = append(pos.rules, nil)
		case kind == '{' && depth == 5 && member == "routes" && len(pos.rules) > 0:
			i := len(pos.rules) - 1
			pos.rules[i] = append(pos.rules[i], lines.at(dec.InputOffset()-1))
		}
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return pos, &LineError{Line: lines.at(dec.InputOffset()), Reason: "the file has data after its JSON object"}
	}
	return pos, nil
}

// syntaxError explains where a file stops being the JSON it should be.
func syntaxError(err error, lines *lineCounter) *LineError {
	var se *jsontext.SyntacticError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &LineError{Line: lines.at(int64(len(lines.data))), Reason: "the file ends before its JSON object does"}
	case !errors.As(err, &se):
		return &LineError{Reason: "the file is not valid JSON"}
	}
	le := &LineError{Line: lines.at(se.ByteOffset), Field: string(se.JSONPointer)}
	switch {
	case errors.Is(se.Err, jsontext.ErrDuplicateName):
		le.Reason = "the member appears more than once"
	// jsontext's invalid-UTF-8 error is not exported; its text is stable.
	case se.Err != nil && strings.Contains(se.Err.Error(), "invalid UTF-8"):
		le.Reason = "the text is not valid UTF-8"
	default:
		le.Reason = "the file is not valid JSON here"
		if se.Err != nil {
			le.Reason += ": " + se.Err.Error()
		}
	}
	return le
}

// unmarshalError explains a value the format cannot hold: an unknown member
// (with the known one it differs from only in case, if any) or a wrong type.
func unmarshalError(err error, data []byte) LineError {
	var se *jsonv2.SemanticError
	if !errors.As(err, &se) {
		return LineError{Reason: "the file is not valid JSON"}
	}
	lines := lineCounter{data: data, line: 1}
	le := LineError{Line: lines.at(se.ByteOffset), Field: string(se.JSONPointer)}
	if errors.Is(se.Err, jsonv2.ErrUnknownName) {
		name := se.JSONPointer.LastToken()
		le.Reason = "unknown member"
		for _, t := range []reflect.Type{reflect.TypeFor[jsonFile](), reflect.TypeFor[jsonRoute](), reflect.TypeFor[jsonFallback](), reflect.TypeFor[jsonRule]()} {
			for f := range t.Fields() {
				if known, _, _ := strings.Cut(f.Tag.Get("json"), ","); strings.EqualFold(known, name) {
					le.Reason = fmt.Sprintf("unknown member: names are case-sensitive, did you mean %q?", known)
				}
			}
		}
		return le
	}
	le.Reason = "the value must be " + kindOf(se.GoType)
	return le
}

func kindOf(t reflect.Type) string {
	if t == nil {
		return "of another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int:
		return "an integer"
	case reflect.Slice:
		return "an array"
	}
	return "an object"
}

// jsonValidator checks a decoded file, collecting every error under its JSON
// pointer; locate then finds their lines.
type jsonValidator struct {
	pos   positions
	hosts hostCache
	errs  errs
	rules int
}

func (v *jsonValidator) add(ptr, format string, args ...any) {
	v.errs.add(0, ptr, format, args...)
}

func (v *jsonValidator) routeLine(i int) int {
	if i < len(v.pos.routes) {
		return v.pos.routes[i]
	}
	return 0
}

func (v *jsonValidator) ruleLine(i, j int) int {
	if i < len(v.pos.rules) && j < len(v.pos.rules[i]) {
		return v.pos.rules[i][j]
	}
	return 0
}

func (v *jsonValidator) file(f jsonFile) ([]Route, []Entry) {
	if f.Version != JSONVersion {
		v.add("/version", "the version is %d (the only one this service reads), not %d", JSONVersion, f.Version)
		return nil, nil
	}
	routes := make([]Route, 0, len(f.Routes))
	var entries []Entry
	seen := map[string]int{}
	for i, jr := range f.Routes {
		r := v.route(i, jr)
		if r.Host != "" {
			if first, ok := seen[r.Host]; ok {
				v.add(fmt.Sprintf("/routes/%d/host", i), "the route starting on line %d is for %s already", v.routeLine(first), r.Host)
			} else {
				seen[r.Host] = i
			}
		}
		routes = append(routes, r)
		if whole, ok := r.WholeHostRule(); ok {
			entries = append(entries, Entry{Line: r.Line, Host: r.Host, Rule: whole})
		}
		for j, rule := range r.Rules {
			entries = append(entries, Entry{Line: v.ruleLine(i, j), Host: r.Host, Rule: rule})
		}
	}
	if v.rules > MaxLines {
		v.add("/routes", "the file has %d rules (whole-host targets counted): at most %d are imported at once", v.rules, MaxLines)
	}
	return routes, entries
}

func (v *jsonValidator) route(i int, jr jsonRoute) Route {
	at := fmt.Sprintf("/routes/%d/", i)
	r := Route{Line: v.routeLine(i), Status: jr.Status, KeepPath: jr.KeepPath, KeepQuery: jr.KeepQuery,
		PathOptions: reroute.PathOptions{IgnoreCase: jr.IgnoreCase, IgnoreTrailingSlash: jr.IgnoreTrailingSlash}}
	var err error
	if r.Host, err = v.hosts.normalize(jr.Host); err != nil {
		v.add(at+"host", "%s", err)
	}
	if jr.Target != "" {
		v.rules++
		if r.Target, err = reroute.NormalizeTarget(jr.Target); err != nil {
			v.add(at+"target", "%s", err)
		}
		if r.Status == 0 {
			r.Status = reroute.DefaultStatus
		} else if !reroute.ValidStatus(r.Status) {
			v.add(at+"status", "the status is 301, 302, 307 or 308")
		}
	} else {
		for _, m := range []struct {
			name string
			set  bool
		}{{"status", jr.Status != 0}, {"keepPath", jr.KeepPath}, {"keepQuery", jr.KeepQuery}} {
			if m.set {
				v.add(at+m.name, "%s applies to the whole-host target: give a target, or leave %s out", m.name, m.name)
			}
		}
	}
	if jr.Fallback != nil {
		r.Fallback = v.fallback(at+"fallback/", *jr.Fallback)
	}
	sources := map[string]int{}
	r.Rules = make([]reroute.PathRule, 0, len(jr.Rules))
	for j, jrule := range jr.Rules {
		v.rules++
		rule := v.rule(fmt.Sprintf("%srules/%d/", at, j), jrule)
		if rule.Source != "" {
			if first, ok := sources[rule.Source]; ok {
				v.add(fmt.Sprintf("%srules/%d/source", at, j), "the rule on line %d has this source already", v.ruleLine(i, first))
			} else {
				sources[rule.Source] = j
			}
			if isWholeHost(rule) && jr.Target != "" {
				v.add(fmt.Sprintf("%srules/%d", at, j), "a subpath rule on \"/\" is the route's whole-host target, which it has already: give one or the other")
			}
		}
		r.Rules = append(r.Rules, rule)
	}
	return r
}

func (v *jsonValidator) fallback(at string, jf jsonFallback) reroute.Fallback {
	fb := reroute.Fallback{Kind: reroute.FallbackKind(jf.Kind), Status: jf.Status}
	switch fb.Kind {
	case reroute.FallbackRedirect:
		var err error
		if fb.Target, err = reroute.NormalizeTarget(jf.Target); err != nil {
			v.add(at+"target", "%s", err)
		}
		if fb.Status != 0 && !reroute.ValidStatus(fb.Status) {
			v.add(at+"status", "the status is 301, 302, 307 or 308")
		}
	case reroute.FallbackNotConfigured, reroute.FallbackGone:
		if jf.Target != "" {
			v.add(at+"target", "only a redirect fallback has a target")
		}
		if jf.Status != 0 {
			v.add(at+"status", "only a redirect fallback has a status")
		}
	default:
		v.add(at+"kind", "the kind is %q, %q or %q", reroute.FallbackNotConfigured, reroute.FallbackGone, reroute.FallbackRedirect)
	}
	return fb
}

func (v *jsonValidator) rule(at string, jr jsonRule) reroute.PathRule {
	rule := reroute.PathRule{Status: jr.Status, Subpath: jr.Subpath, KeepSuffix: jr.KeepSuffix, KeepQuery: jr.KeepQuery}
	var err error
	if len(jr.Source) > MaxSourceLen {
		v.add(at+"source", "a source path is at most %d bytes", MaxSourceLen)
	} else if rule.Source, err = CanonicalPath(jr.Source); err != nil {
		v.add(at+"source", "%s", err)
	}
	if rule.Target, err = reroute.NormalizeTarget(jr.Target); err != nil {
		v.add(at+"target", "%s", err)
	}
	if rule.Status == 0 {
		rule.Status = reroute.DefaultStatus
	} else if !reroute.ValidStatus(rule.Status) {
		v.add(at+"status", "the status is 301, 302, 307 or 308")
	}
	if rule.KeepSuffix && !rule.Subpath {
		v.add(at+"keepSuffix", "keepSuffix applies only to a subpath rule: set subpath, or leave keepSuffix out")
	}
	return rule
}

// locate gives each error the line of its member, in one more walk through the
// file, only when it has errors. A member absent from the file (a required one
// left out) is placed on the line of its closest ancestor.
func (v *jsonValidator) locate(data []byte) {
	want := map[string]int{}
	for _, e := range v.errs {
		for ptr := jsontext.Pointer(e.Field); ptr != ""; ptr = ptr.Parent() {
			want[string(ptr)] = 0
		}
	}
	lines := lineCounter{data: data, line: 1}
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	for {
		if _, err := dec.ReadToken(); err != nil {
			break
		}
		ptr := string(dec.StackPointer())
		if line, ok := want[ptr]; ok && line == 0 {
			want[ptr] = lines.at(dec.InputOffset() - 1)
		}
		if dec.StackDepth() == 0 {
			break
		}
	}
	for i, e := range v.errs {
		v.errs[i].Line = 1
		for ptr := jsontext.Pointer(e.Field); ptr != ""; ptr = ptr.Parent() {
			if line := want[string(ptr)]; line > 0 {
				v.errs[i].Line = line
				break
			}
		}
	}
}
