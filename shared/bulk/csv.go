package bulk

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// The CSV format is Cloudflare's, for Bulk Redirect Lists: no header row, one
// redirect a line,
//
//	SOURCE_URL,TARGET_URL[,STATUS_CODE,PRESERVE_QUERY_STRING,INCLUDE_SUBDOMAINS,SUBPATH_MATCHING,PRESERVE_PATH_SUFFIX]
//
// where only the URLs are required, an empty or missing status is 301, a
// boolean is TRUE, true, FALSE, false or empty (false), trailing commas may be
// left out, and a URL holding a comma is quoted.
// https://developers.cloudflare.com/rules/url-forwarding/bulk-redirects/reference/csv-file-format/
// The parameters mean what they mean there:
// https://developers.cloudflare.com/rules/url-forwarding/bulk-redirects/reference/parameters/
//
// Beyond Cloudflare's format, the parser accepts a UTF-8 byte order mark, CRLF
// line ends, blank lines, lines starting with "#" (comments; no source URL can
// start so) and "*.example.com/path" sources, a rule for a wildcard route only.
// Cloudflare applies PRESERVE_PATH_SUFFIX only with SUBPATH_MATCHING, so a line
// with the one and not the other is accepted and means what it means there: an
// exact rule, keeping no suffix (KeepSuffix false).

// The CSV columns, named as errors name them.
const (
	colSource = iota
	colTarget
	colStatus
	colKeepQuery
	colSubdomains
	colSubpath
	colKeepSuffix
	numCols
)

var colNames = [numCols]string{"source_url", "target_url", "status_code", "preserve_query_string", "include_subdomains", "subpath_matching", "preserve_path_suffix"}

var bom = []byte("\ufeff")

// ParseCSV reads a Cloudflare Bulk Redirects CSV file of at most MaxBytes and
// MaxLines. It returns an entry for every valid line, in order, and, if any
// line is invalid, a *ParseError listing every invalid line: all of them, not
// only the first. A (host, source path) pair given twice is an error naming both
// lines.
func ParseCSV(r io.Reader) ([]Entry, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the file: %w", err)
	}
	if len(data) > MaxBytes {
		return nil, &ParseError{Errors: []LineError{{Reason: fmt.Sprintf("the file is larger than %d MiB", MaxBytes>>20)}}}
	}
	data = bytes.TrimPrefix(data, bom)
	lines := bytes.Count(data, []byte{'\n'})
	if lines > MaxLines || lines == MaxLines && !bytes.HasSuffix(data, []byte{'\n'}) {
		return nil, &ParseError{Errors: []LineError{{Line: MaxLines + 1, Reason: fmt.Sprintf("the file has more than %d lines", MaxLines)}}}
	}

	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.ReuseRecord = true
	p := parser{hosts: hostCache{}, seen: make(map[sourceKey]int, lines+1)}
	entries := make([]Entry, 0, lines+1)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				// A quoting error leaves the reader's position unknowable: stop here.
				p.errs.add(pe.StartLine, "", "%s", csvReason(pe))
				break
			}
			return nil, fmt.Errorf("reading the file: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if e, ok := p.line(line, rec); ok {
			entries = append(entries, e)
		}
	}
	if len(entries) == 0 {
		entries = nil
	}
	return entries, p.errs.result()
}

// csvReason words a quoting error for people who edit CSV in a spreadsheet.
func csvReason(pe *csv.ParseError) string {
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return `a field has a quote (") inside it but does not start with one: enclose the whole field in quotes and double the inner quote ("")`
	case errors.Is(pe.Err, csv.ErrQuote):
		return `a quoted field does not end with a quote (") followed by a comma or the end of the line`
	}
	return pe.Err.Error()
}

// sourceKey identifies a rule within a file.
type sourceKey struct{ host, source string }

// parser holds what one file's lines share.
type parser struct {
	hosts hostCache
	seen  map[sourceKey]int // the line of each (host, source)
	errs  errs
	// started is set once a line other than a blank or a comment was read.
	started bool
}

// line validates one CSV record: every field is checked, so that a line with two
// mistakes reports both.
func (p *parser) line(n int, rec []string) (Entry, bool) {
	before := len(p.errs)
	e := Entry{Line: n}
	if len(rec) > numCols {
		p.errs.add(n, "", "a line has at most %d fields (SOURCE_URL,TARGET_URL,STATUS_CODE,PRESERVE_QUERY_STRING,INCLUDE_SUBDOMAINS,SUBPATH_MATCHING,PRESERVE_PATH_SUFFIX), this one has %d", numCols, len(rec))
		return e, false
	}
	var f [numCols]string
	for i, v := range rec {
		f[i] = strings.TrimSpace(v)
	}
	if len(rec) == 1 && f[colSource] == "" {
		return e, false // a line of spaces: blank
	}
	first := !p.started
	p.started = true
	if len(rec) < 2 {
		p.errs.add(n, colNames[colTarget], "a line needs a source URL and a target URL, separated by a comma")
		return e, false
	}
	if first && strings.EqualFold(strings.ReplaceAll(f[colSource], " ", "_"), "source_url") {
		p.errs.add(n, "", "the file starts with a header row, which Cloudflare's format does not have: remove it")
		return e, false
	}

	host, source, err := splitSource(f[colSource])
	if err != nil {
		p.errs.add(n, colNames[colSource], "%s", err)
	} else if h, err := p.hosts.normalize(host); err != nil {
		p.errs.add(n, colNames[colSource], "%s", err)
	} else {
		e.Host = h
	}
	e.Rule.Source = source
	if e.Rule.Target, err = reroute.NormalizeTarget(f[colTarget]); err != nil {
		p.errs.add(n, colNames[colTarget], "%s", err)
	}
	e.Rule.Status = reroute.DefaultStatus
	if s := f[colStatus]; s != "" {
		e.Rule.Status, err = strconv.Atoi(s)
		if err != nil || !reroute.ValidStatus(e.Rule.Status) {
			p.errs.add(n, colNames[colStatus], "the status is 301, 302, 307 or 308 (or empty, for 301), not %q", clip(s))
		}
	}
	e.Rule.KeepQuery = p.boolean(n, colKeepQuery, f[colKeepQuery])
	e.IncludeSubdomains = p.boolean(n, colSubdomains, f[colSubdomains])
	e.Rule.Subpath = p.boolean(n, colSubpath, f[colSubpath])
	e.Rule.KeepSuffix = p.boolean(n, colKeepSuffix, f[colKeepSuffix]) && e.Rule.Subpath
	if e.IncludeSubdomains && reroute.IsWildcard(e.Host) {
		p.errs.add(n, colNames[colSubdomains], "%s is a wildcard already: INCLUDE_SUBDOMAINS adds nothing to it", e.Host)
	} else if e.IncludeSubdomains && e.Host != "" {
		if _, err := p.hosts.normalize("*." + e.Host); err != nil {
			p.errs.add(n, colNames[colSubdomains], "%s", err)
		}
	}
	if len(p.errs) > before {
		return e, false
	}
	for _, h := range e.Hosts() {
		if first, ok := p.seen[sourceKey{h, source}]; ok {
			p.errs.add(n, colNames[colSource], "line %d already has a redirect from %s%s", first, h, source)
			return e, false
		}
	}
	for _, h := range e.Hosts() {
		p.seen[sourceKey{h, source}] = n
	}
	return e, true
}

// boolean reads one of Cloudflare's boolean fields.
func (p *parser) boolean(n, col int, v string) bool {
	switch v {
	case "TRUE", "true":
		return true
	case "", "FALSE", "false":
		return false
	}
	p.errs.add(n, colNames[col], "the value is TRUE, true, FALSE, false or empty (false), not %q", clip(v))
	return false
}

// clip shortens a value quoted back in an error.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// WriteCSV writes routes as a Cloudflare Bulk Redirects CSV file: each route's
// whole-host redirect as a subpath rule on "/" (PRESERVE_PATH_SUFFIX is its
// KeepPath), then its rules, every line with all seven fields. A rule that a
// host and its "*." wildcard both have, identically, is one line with
// INCLUDE_SUBDOMAINS; a wildcard's other rules are written with a "*.example.com"
// source, which this package reads and Cloudflare does not. The matching options
// and the fallback have no column in this format and are left out: the JSON
// format keeps them.
func WriteCSV(w io.Writer, routes []Route) error {
	exact := map[string]map[string]reroute.PathRule{}
	for _, r := range routes {
		if !reroute.IsWildcard(r.Host) {
			rules := map[string]reroute.PathRule{}
			for _, rule := range r.PathRules() {
				rules[rule.Source] = rule
			}
			exact[r.Host] = rules
		}
	}
	// The wildcard rules that fold into their base's lines.
	folded := map[sourceKey]bool{}
	for _, r := range routes {
		if base, ok := strings.CutPrefix(r.Host, "*."); ok {
			for _, rule := range r.PathRules() {
				if other, ok := exact[base][rule.Source]; ok && other == rule {
					folded[sourceKey{r.Host, rule.Source}] = true
				}
			}
		}
	}
	cw := csv.NewWriter(w)
	rec := make([]string, numCols)
	for _, r := range routes {
		wildcard := reroute.IsWildcard(r.Host)
		for _, rule := range r.PathRules() {
			sub := false
			if wildcard {
				if folded[sourceKey{r.Host, rule.Source}] {
					continue
				}
			} else {
				sub = folded[sourceKey{"*." + r.Host, rule.Source}]
			}
			rec[colSource] = r.Host + rule.Source
			rec[colTarget] = rule.Target
			status := rule.Status
			if status == 0 {
				status = reroute.DefaultStatus
			}
			rec[colStatus] = strconv.Itoa(status)
			rec[colKeepQuery] = csvBool(rule.KeepQuery)
			rec[colSubdomains] = csvBool(sub)
			rec[colSubpath] = csvBool(rule.Subpath)
			rec[colKeepSuffix] = csvBool(rule.KeepSuffix && rule.Subpath)
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvBool(b bool) string {
	if b {
		return "TRUE"
	}
	return "FALSE"
}
