// Package routeimport applies a bulk file (a Cloudflare Bulk Redirects CSV file or
// the service's JSON format, as package bulk reads them) to an org's routes.
//
// An import is all or nothing: every line is checked (the file itself, each route
// as it would become, the org's route limit and each route's rule limit) before
// anything is written, and one failing line refuses the whole file, naming every
// failing line. Rules merge into existing routes (a rule with the same source,
// under the route's matching options, is replaced) and are never removed, so
// importing a file twice, or an export, writes nothing the second time.
package routeimport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/bulk"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// File is a parsed bulk file: its entries (one path rule for one host each, with
// the line it came from), and, for the JSON format, its routes with their
// settings (matching options, fallback), which CSV files do not carry.
type File struct {
	Entries []bulk.Entry
	Routes  []bulk.Route
	// JSON is set for a file in the JSON format: errors then name fields as
	// its members ("target"), not as CSV columns ("target_url").
	JSON bool
	// Errors are the lines the parser refused: an import refuses the file with
	// them, a dry run lists them among the lines that would import.
	Errors []bulk.LineError
}

// ParseCSV reads a Cloudflare Bulk Redirects CSV file (see bulk.ParseCSV). The
// lines it refuses are in File.Errors; the error is only for a file that could
// not be read.
func ParseCSV(r io.Reader) (File, error) {
	entries, err := bulk.ParseCSV(r)
	var pe *bulk.ParseError
	if errors.As(err, &pe) {
		return File{Entries: entries, Errors: pe.Errors}, nil
	}
	return File{Entries: entries}, err
}

// ParseJSON reads a file in the service's JSON format (see bulk.ParseJSON), as
// ParseCSV does. A JSON file with errors is not planned further: its values
// are not checked one by one as CSV lines are, so only its errors are listed.
func ParseJSON(r io.Reader) (File, error) {
	routes, entries, err := bulk.ParseJSON(r)
	var pe *bulk.ParseError
	if errors.As(err, &pe) {
		return File{JSON: true, Errors: pe.Errors}, nil
	}
	return File{Entries: entries, Routes: routes, JSON: true}, err
}

// Action is what importing a line does.
type Action string

const (
	Create    Action = "create"    // adds a rule (and the route, if new), or a new route's settings
	Update    Action = "update"    // replaces a rule or a route's settings that differ
	Unchanged Action = "unchanged" // the route has that already
	Failed    Action = "error"     // the line is refused; Reason says why
)

// Line is what importing one line of the file does.
type Line struct {
	Line   int      `json:"line"`
	Action Action   `json:"action"`
	Hosts  []string `json:"hosts"`
	Field  string   `json:"field,omitempty"`
	Reason string   `json:"reason,omitempty"`
}

// Summary counts the lines by action.
type Summary struct {
	Create    int `json:"create"`
	Update    int `json:"update"`
	Unchanged int `json:"unchanged"`
	Error     int `json:"error"`
}

// Result is what an import did, or, in a dry run, would do.
type Result struct {
	DryRun  bool
	Lines   []Line
	Summary Summary
	// RoutesCreated and RoutesUpdated count the routes written (or to write).
	RoutesCreated, RoutesUpdated int
	// Written lists the hosts written, in the order their writes finished.
	Written []string
}

// Deps are what an import reads and writes with.
type Deps struct {
	Store reroute.RouteStore
	Rules reroute.Rules
	// NewDomain is the domain a new route starts with (reroute.Domains.NewDomain).
	NewDomain func(host string) reroute.Domain
	Now       func() time.Time
	// Workers bounds the routes written at once; zero means 4.
	Workers int
}

// maxAttempts bounds the writes of one route whose rules another write changed
// meanwhile: each attempt reads it again and applies the file's lines anew.
const maxAttempts = 3

// Import applies f to org's routes; with dryRun it only says what it would do.
//
// A refused file answers *Error (with the Result, whose Lines say what each line
// would have done), and nothing is written; a dry run answers the same Result
// without the error. A write that fails midway answers *WriteError, naming the
// routes written before it: importing the same file again is safe.
func Import(ctx context.Context, d Deps, org reroute.Org, f File, dryRun bool) (Result, error) {
	res := Result{DryRun: dryRun}
	if d.Now == nil {
		d.Now = time.Now
	}
	p, err := newPlan(ctx, d, org, f)
	if err != nil {
		return res, err
	}
	res.Lines, res.Summary = p.lines()
	for _, h := range p.hosts {
		switch {
		case !h.changed():
		case h.exists:
			res.RoutesUpdated++
		default:
			res.RoutesCreated++
		}
	}
	if len(p.errs) > 0 {
		if dryRun {
			return res, nil
		}
		return res, p.refusal()
	}
	if dryRun {
		return res, nil
	}
	res.Written, err = p.write(ctx)
	return res, err
}

// Error refuses a file before anything is written: every failing line.
type Error struct {
	Errors []bulk.LineError
	// Limit is set when every error is a plan limit (CodeLimit).
	Limit bool
}

func (e *Error) Error() string { return e.domain().Error() }

// Unwrap is the domain error the API maps: CodeInvalid "invalid_import", or
// CodeLimit "plan_limit_reached" when only plan limits are in the way.
func (e *Error) Unwrap() error { return e.domain() }

func (e *Error) domain() *reroute.Error {
	de := &reroute.Error{Code: reroute.CodeInvalid, Reason: "invalid_import",
		Message: fmt.Sprintf("nothing was imported: %d line(s) of the file are refused", countLines(e.Errors))}
	if e.Limit {
		de.Code, de.Reason = reroute.CodeLimit, "plan_limit_reached"
		de.Message = fmt.Sprintf("nothing was imported: %d line(s) of the file go beyond the plan's limits: upgrade, or import fewer", countLines(e.Errors))
	}
	for i, le := range e.Errors {
		if i == 10 {
			de.Message += fmt.Sprintf("; and %d more", len(e.Errors)-i)
			break
		}
		de.Message += "; " + le.String()
	}
	return de
}

func countLines(errs []bulk.LineError) int {
	n, last := 0, -1
	for _, e := range errs {
		if e.Line != last {
			n, last = n+1, e.Line
		}
	}
	return n
}

// WriteError is an import that failed while writing: the routes in Written
// were written in full, the others not at all. Every write is the whole route,
// so importing the same file again writes only what is still missing.
type WriteError struct {
	Written []string
	Host    string // the route whose write failed
	Err     error
}

func (e *WriteError) Error() string { return e.message() + ": " + e.Err.Error() }

func (e *WriteError) message() string {
	done := "no route was written"
	if len(e.Written) > 0 {
		done = fmt.Sprintf("%d route(s) were written (%s)", len(e.Written), strings.Join(e.Written, ", "))
	}
	return fmt.Sprintf("writing %s failed; %s, the others not: importing the same file again is safe, and writes only what is missing", e.Host, done)
}

// Unwrap keeps the failed write's code (a store that is down is still
// "unavailable"), with a message saying what was written.
func (e *WriteError) Unwrap() error {
	de := &reroute.Error{Code: reroute.CodeInternal, Reason: "import_incomplete", Err: e.Err}
	var cause *reroute.Error
	if errors.As(e.Err, &cause) {
		de.Code, de.Reason, de.Fields, de.RetryAfter = cause.Code, cause.Reason, cause.Fields, cause.RetryAfter
		de.Message = e.message() + ": " + cause.Message
	} else {
		de.Message = e.message()
	}
	return de
}

// ---------------------------------------------------------------------------
// The plan: every route the file touches, as it is and as it would become.

type plan struct {
	d     Deps
	org   reroute.Org
	f     File
	hosts []*hostPlan // in the order the file first names them
	// byLine holds what each line does, whatever route it touches.
	byLine map[int]*lineState
	errs   []bulk.LineError
	// limitOnly stays set while every error is a plan limit.
	limitOnly bool
}

type lineState struct {
	hosts   []string
	actions []Action
	errs    []bulk.LineError
}

// hostPlan is one route the file touches.
type hostPlan struct {
	host      string
	firstLine int
	exists    bool
	before    reroute.Route
	after     reroute.Route
	entries   []bulk.Entry
	settings  *bulk.Route // the JSON file's route for host
	// actions is what each line does to this route; errs what is wrong.
	actions map[int]Action
	errs    []bulk.LineError
	// newRules lists the lines adding a rule (not replacing one), in order.
	newRules []int
	dirty    bool
}

func (h *hostPlan) changed() bool { return h.dirty || !h.exists }

func newPlan(ctx context.Context, d Deps, org reroute.Org, f File) (*plan, error) {
	p := &plan{d: d, org: org, f: f, byLine: map[int]*lineState{}, limitOnly: true}
	index := map[string]*hostPlan{}
	at := func(host string, line int) *hostPlan {
		h, ok := index[host]
		if !ok {
			h = &hostPlan{host: host, firstLine: line}
			index[host] = h
			p.hosts = append(p.hosts, h)
		}
		h.firstLine = min(h.firstLine, line)
		return h
	}
	for i := range f.Routes {
		r := &f.Routes[i]
		at(r.Host, r.Line).settings = r
		p.line(r.Line).hosts = append(p.line(r.Line).hosts, r.Host)
	}
	for _, e := range f.Entries {
		ls := p.line(e.Line)
		for _, host := range e.Hosts() {
			h := at(host, e.Line)
			h.entries = append(h.entries, bulk.Entry{Line: e.Line, Host: host, Rule: e.Rule})
			if !slices.Contains(ls.hosts, host) {
				ls.hosts = append(ls.hosts, host)
			}
		}
	}
	slices.SortStableFunc(p.hosts, func(a, b *hostPlan) int { return a.firstLine - b.firstLine })
	for _, e := range f.Errors {
		ls := p.line(e.Line)
		ls.errs = append(ls.errs, e)
	}

	for _, h := range p.hosts {
		cur, err := d.Store.GetRoute(ctx, h.host)
		switch {
		case reroute.IsNotFound(err):
		case err != nil:
			return nil, err
		case cur.OrgID != org.ID:
			h.reject("", fmt.Sprintf("%s is routed by another account", h.host))
			continue
		default:
			h.exists, h.before = true, cur
		}
		h.apply(p.d.Rules, org, f.JSON)
	}
	p.checkRouteLimit()
	for _, h := range p.hosts {
		h.checkRuleLimit(ruleLimit(org))
	}
	for _, h := range p.hosts {
		for line, a := range h.actions {
			ls := p.line(line)
			ls.actions = append(ls.actions, a)
		}
		for _, e := range h.errs {
			p.line(e.Line).errs = append(p.line(e.Line).errs, e)
		}
	}
	for _, line := range slices.Sorted(maps.Keys(p.byLine)) {
		for _, e := range p.byLine[line].errs {
			p.errs = append(p.errs, e)
			if !strings.HasPrefix(e.Reason, limitPrefix) {
				p.limitOnly = false
			}
		}
	}
	return p, nil
}

func (p *plan) line(n int) *lineState {
	ls, ok := p.byLine[n]
	if !ok {
		ls = &lineState{}
		p.byLine[n] = ls
	}
	return ls
}

// ruleLimit is the org's bound on each route's rules.
func ruleLimit(org reroute.Org) int { return org.RuleLimit }

// limitPrefix starts the reason of every plan-limit error.
const limitPrefix = "plan limit: "

// reject refuses every line that touches the route.
func (h *hostPlan) reject(field, reason string) {
	for _, line := range h.lines() {
		h.errs = append(h.errs, bulk.LineError{Line: line, Field: field, Reason: reason})
	}
}

// lines lists every line touching the route, in order.
func (h *hostPlan) lines() []int {
	var out []int
	if h.settings != nil {
		out = append(out, h.settings.Line)
	}
	for _, e := range h.entries {
		out = append(out, e.Line)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// apply computes the route as the file would make it from h.before (or a new
// route), what each line does to it, and what is wrong with it.
func (h *hostPlan) apply(rules reroute.Rules, org reroute.Org, json bool) {
	h.actions, h.errs, h.newRules, h.dirty = map[int]Action{}, h.errs[:0], nil, false
	after := h.before
	if !h.exists {
		after = reroute.Route{Host: h.host, OrgID: org.ID, Enabled: true, HTTPSRedirect: true}
	}
	after.PathRules = slices.Clone(after.PathRules)
	// origin is the line that set each rule of after.PathRules (0: stored).
	origin := make([]int, len(after.PathRules))
	targetLine := 0
	note := func(line int, a Action) {
		if !h.exists {
			a = Create
		}
		if prev, ok := h.actions[line]; ok && prev != a {
			if prev == Failed || a == Failed {
				a = Failed
			} else {
				a = Update
			}
		}
		h.actions[line] = a
		if a != Unchanged {
			h.dirty = true
		}
	}
	if s := h.settings; s != nil {
		after.PathOptions, after.Fallback = s.PathOptions, s.Fallback
		if after.PathOptions == h.before.PathOptions && sameFallback(after.Fallback, h.before.Fallback) {
			note(s.Line, Unchanged)
		} else {
			note(s.Line, Update)
		}
	}
	fromFile := map[string]int{} // rule key under the route's options -> line
	for _, e := range h.entries {
		rule := canonicalRule(e.Rule)
		key := after.PathOptions.Key(rule.Source)
		if first, dup := fromFile[key]; dup {
			h.errs = append(h.errs, bulk.LineError{Line: e.Line, Field: field(json, "source"),
				Reason: fmt.Sprintf("line %d has a redirect from the same path of %s%s", first, h.host, optionsNote(after.PathOptions))})
			continue
		}
		fromFile[key] = e.Line
		i := slices.IndexFunc(after.PathRules, func(r reroute.PathRule) bool { return after.PathOptions.Key(r.Source) == key })
		if rule.Source == "/" && rule.Subpath && (i < 0 || !after.PathRules[i].Subpath) {
			// The whole-host redirect: the route's target.
			targetLine = e.Line
			was := reroute.PathRule{Source: "/", Target: after.Target, Status: after.Status, Subpath: true, KeepSuffix: after.KeepPath, KeepQuery: after.KeepQuery}
			switch {
			case after.Target == "":
				note(e.Line, Create)
			case canonicalRule(was) == rule:
				note(e.Line, Unchanged)
			default:
				note(e.Line, Update)
			}
			after.Target, after.Status, after.KeepPath, after.KeepQuery = rule.Target, rule.Status, rule.KeepSuffix, rule.KeepQuery
			continue
		}
		switch {
		case i < 0:
			after.PathRules = append(after.PathRules, rule)
			origin = append(origin, e.Line)
			h.newRules = append(h.newRules, e.Line)
			note(e.Line, Create)
		case canonicalRule(after.PathRules[i]) == rule:
			origin[i] = e.Line
			note(e.Line, Unchanged)
		default:
			after.PathRules[i] = rule
			origin[i] = e.Line
			note(e.Line, Update)
		}
	}
	// Stored sorted by source, as the rules endpoints list them.
	order := make([]int, len(after.PathRules))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(after.PathRules[a].Source, after.PathRules[b].Source) })
	sorted, sortedOrigin := make([]reroute.PathRule, len(order)), make([]int, len(order))
	for i, j := range order {
		sorted[i], sortedOrigin[i] = after.PathRules[j], origin[j]
	}
	after.PathRules, origin = sorted, sortedOrigin
	h.after = after
	if !h.changed() || len(h.errs) > 0 {
		return
	}
	if err := rules.Normalize(&h.after); err != nil {
		h.mapErrors(err, origin, targetLine, json)
	}
}

// mapErrors turns a route's validation errors back into the lines that made
// the field: a rule's into the line of the rule, the target's into the line of
// the whole-host redirect, the rest into the route's line (JSON) or every line.
func (h *hostPlan) mapErrors(err error, origin []int, targetLine int, json bool) {
	var de *reroute.Error
	if !errors.As(err, &de) || len(de.Fields) == 0 {
		h.reject("", err.Error())
		return
	}
	for _, fe := range de.Fields {
		var lines []int
		name := fe.Field
		if rest, ok := strings.CutPrefix(fe.Field, "rules["); ok {
			idx, after, _ := strings.Cut(rest, "]")
			i, _ := strconv.Atoi(idx)
			name = strings.TrimPrefix(after, ".")
			if i >= 0 && i < len(origin) && origin[i] > 0 {
				lines = []int{origin[i]}
			}
		} else if (name == "target" || name == "status") && targetLine > 0 {
			lines = []int{targetLine}
		}
		if len(lines) == 0 && h.settings != nil {
			lines = []int{h.settings.Line}
		}
		if len(lines) == 0 {
			lines = h.lines()
		}
		for _, line := range lines {
			h.errs = append(h.errs, bulk.LineError{Line: line, Field: field(json, name), Reason: fe.Message})
		}
	}
}

// checkRuleLimit refuses the lines adding rules beyond the org's limit to the
// route: the first ones fit, the rest do not.
func (h *hostPlan) checkRuleLimit(limit int) {
	n := len(h.before.PathRules)
	if !h.exists {
		n = 0
	}
	for _, line := range h.newRules {
		n++
		if n > limit {
			h.errs = append(h.errs, bulk.LineError{Line: line,
				Reason: fmt.Sprintf("%sthe plan allows %d path rules per route, and %s would have more", limitPrefix, limit, h.host)})
		}
	}
}

// checkRouteLimit refuses the lines creating routes beyond the org's room:
// the routes the file names first fit, the later ones do not.
func (p *plan) checkRouteLimit() {
	room := max(p.org.RouteLimit-p.org.RouteCount, 0)
	for _, h := range p.hosts {
		if h.exists || len(h.errs) > 0 && !h.onlyLimitErrors() {
			continue
		}
		if room > 0 {
			room--
			continue
		}
		h.reject("", fmt.Sprintf("%sthe %s plan allows %d routes and the org has %d: %s would be one more",
			limitPrefix, p.org.Plan, p.org.RouteLimit, p.org.RouteCount, h.host))
	}
}

func (h *hostPlan) onlyLimitErrors() bool {
	for _, e := range h.errs {
		if !strings.HasPrefix(e.Reason, limitPrefix) {
			return false
		}
	}
	return true
}

// lines sums up each line's actions and errors, in line order.
func (p *plan) lines() ([]Line, Summary) {
	var s Summary
	out := make([]Line, 0, len(p.byLine))
	for _, n := range slices.Sorted(maps.Keys(p.byLine)) {
		ls := p.byLine[n]
		l := Line{Line: n, Hosts: ls.hosts}
		if l.Hosts == nil {
			l.Hosts = []string{}
		}
		switch {
		case len(ls.errs) > 0:
			l.Action, l.Field = Failed, ls.errs[0].Field
			reasons := make([]string, len(ls.errs))
			for i, e := range ls.errs {
				reasons[i] = e.Reason
				if e.Field != "" && i > 0 {
					reasons[i] = e.Field + ": " + e.Reason
				}
			}
			l.Reason = strings.Join(slices.Compact(reasons), "; ")
			s.Error++
		case allAre(ls.actions, Create):
			l.Action = Create
			s.Create++
		case allAre(ls.actions, Unchanged):
			l.Action = Unchanged
			s.Unchanged++
		default:
			l.Action = Update
			s.Update++
		}
		out = append(out, l)
	}
	return out, s
}

func allAre(as []Action, a Action) bool {
	for _, x := range as {
		if x != a {
			return false
		}
	}
	return true
}

func (p *plan) refusal() error {
	return &Error{Errors: p.errs, Limit: p.limitOnly}
}

// ---------------------------------------------------------------------------
// Writing.

// write writes every changed route, a few at a time, and lists those written.
func (p *plan) write(ctx context.Context) ([]string, error) {
	workers := p.d.Workers
	if workers <= 0 {
		workers = 4
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		written []string
		failed  *WriteError
		wg      sync.WaitGroup
	)
	work := make(chan *hostPlan)
	for range workers {
		wg.Go(func() {
			for h := range work {
				err := p.writeRoute(ctx, h)
				mu.Lock()
				if err == nil {
					written = append(written, h.host)
				} else if failed == nil {
					failed = &WriteError{Host: h.host, Err: err}
					cancel()
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, h := range p.hosts {
		if !h.changed() {
			continue
		}
		select {
		case work <- h:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if failed != nil {
		failed.Written = written
		return written, failed
	}
	if err := ctx.Err(); err != nil && len(written) < p.changedCount() {
		return written, &WriteError{Written: written, Host: "the rest", Err: err}
	}
	return written, nil
}

func (p *plan) changedCount() int {
	n := 0
	for _, h := range p.hosts {
		if h.changed() {
			n++
		}
	}
	return n
}

// writeRoute creates a new route, or replaces an existing one's rules while
// they are as read; when another write changed them meanwhile, it reads the
// route again and applies the file's lines to it anew.
func (p *plan) writeRoute(ctx context.Context, h *hostPlan) error {
	now := p.d.Now().UTC()
	if !h.exists {
		r := h.after
		r.CreatedAt, r.UpdatedAt = now, now
		if p.d.NewDomain != nil {
			r.Domain = p.d.NewDomain(r.Host)
		}
		return p.d.Store.CreateRoute(ctx, r)
	}
	for attempt := 1; ; attempt++ {
		r := h.after
		r.UpdatedAt = now
		err := p.d.Store.UpdateRoute(ctx, r, reroute.ReplaceRules)
		if !isRouteChanged(err) || attempt == maxAttempts {
			return err
		}
		cur, err := p.d.Store.GetRoute(ctx, h.host)
		if err != nil {
			return err
		}
		if cur.OrgID != p.org.ID {
			return reroute.Errorf(reroute.CodeConflict, "route_changed", "%s was deleted or moved to another account during the import", h.host)
		}
		h.before = cur
		h.apply(p.d.Rules, p.org, p.f.JSON)
		h.checkRuleLimit(ruleLimit(p.org))
		if len(h.errs) > 0 {
			return &reroute.Error{Code: reroute.CodeConflict, Reason: "route_changed",
				Message: fmt.Sprintf("%s changed during the import, and the file no longer applies to it: %s", h.host, h.errs[0].String())}
		}
		if !h.dirty {
			return nil // the other write made it what the file says
		}
	}
}

func isRouteChanged(err error) bool {
	var e *reroute.Error
	return errors.As(err, &e) && e.Reason == "route_changed"
}

// ---------------------------------------------------------------------------
// Comparing and naming.

// canonicalRule is a rule as it compares: a zero status is the default, and a
// suffix is kept only by a subpath rule.
func canonicalRule(r reroute.PathRule) reroute.PathRule {
	if r.Status == 0 {
		r.Status = reroute.DefaultStatus
	}
	r.KeepSuffix = r.KeepSuffix && r.Subpath
	return r
}

// sameFallback compares fallbacks as Normalize stores them.
func sameFallback(a, b reroute.Fallback) bool {
	norm := func(f reroute.Fallback) reroute.Fallback {
		if f.Kind == reroute.FallbackNotConfigured {
			f.Kind = ""
		}
		if f.Kind == reroute.FallbackRedirect && f.Status == 0 {
			f.Status = reroute.DefaultStatus
		}
		return f
	}
	return norm(a) == norm(b)
}

func optionsNote(o reroute.PathOptions) string {
	switch {
	case o.IgnoreCase && o.IgnoreTrailingSlash:
		return " once case and a trailing slash are ignored"
	case o.IgnoreCase:
		return " once case is ignored"
	case o.IgnoreTrailingSlash:
		return " once a trailing slash is ignored"
	}
	return ""
}

// csvColumns name a route's fields as the CSV format's columns.
var csvColumns = map[string]string{
	"source": "source_url", "target": "target_url", "status": "status_code",
	"keepQuery": "preserve_query_string", "subpath": "subpath_matching", "keepSuffix": "preserve_path_suffix",
}

// field names a route's field as the file's format does.
func field(json bool, name string) string {
	if json {
		return name
	}
	if c, ok := csvColumns[name]; ok {
		return c
	}
	return name
}

// Export reads every route of an org with its path rules, in host order, as
// the bulk formats write them (bulk.WriteCSV, bulk.WriteJSON): importing the
// export changes nothing.
func Export(ctx context.Context, store reroute.RouteStore, orgID string) ([]bulk.Route, error) {
	var out []bulk.Route
	page := reroute.PageRequest{Limit: reroute.MaxPageSize}
	for {
		p, err := store.ListRoutes(ctx, orgID, page)
		if err != nil {
			return nil, err
		}
		for _, rt := range p.Items {
			if rt.RuleCount > 0 {
				// Lists leave the rules out; the route's own read has them.
				if rt, err = store.GetRoute(ctx, rt.Host); reroute.IsNotFound(err) {
					continue // deleted meanwhile
				} else if err != nil {
					return nil, err
				}
			}
			out = append(out, bulk.Route{Host: rt.Host, Target: rt.Target, Status: rt.Status, KeepPath: rt.KeepPath, KeepQuery: rt.KeepQuery,
				PathOptions: rt.PathOptions, Fallback: rt.Fallback, Rules: rt.PathRules})
		}
		if p.NextCursor == "" {
			return out, nil
		}
		page.Cursor = p.NextCursor
	}
}
