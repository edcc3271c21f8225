package httpapi

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// maxSearchScan bounds the routes one filtered page reads: past it the page
// ends early, with a cursor to go on from, so that a search of a large org
// answers in bounded time.
const maxSearchScan = 10 * reroute.MaxPageSize

// routeFilter is a list's `search` and `state`: a route is listed when its
// hostname or target contains search (ignoring case) and it is in state.
type routeFilter struct {
	search string
	state  reroute.RouteState
}

func (f routeFilter) empty() bool { return f.search == "" && f.state == "" }

func (f routeFilter) match(rt reroute.Route) bool {
	if f.state != "" && rt.State() != f.state {
		return false
	}
	if f.search == "" {
		return true
	}
	return strings.Contains(strings.ToLower(rt.Host), f.search) || strings.Contains(strings.ToLower(rt.Target), f.search)
}

// routeFilterOf reads and checks the filter of a list request.
func routeFilterOf(q url.Values) (routeFilter, error) {
	f := routeFilter{search: strings.ToLower(strings.TrimSpace(q.Get("search"))), state: reroute.RouteState(q.Get("state"))}
	var fields []reroute.FieldError
	if utf8.RuneCountInString(f.search) > 200 {
		fields = append(fields, reroute.FieldError{Field: "search", Message: "search must be 200 characters or fewer"})
	}
	if f.state != "" && !slices.Contains(reroute.RouteStates, f.state) {
		fields = append(fields, reroute.FieldError{Field: "state",
			Message: "state must be redirecting, paused, disabled, pending_dns, pending_certificate or needs_attention"})
	}
	if fields != nil {
		return f, &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "the input is not valid", Fields: fields}
	}
	return f, nil
}

// searchRoutes is a page of the org's routes that match f, in host order,
// read page by page from the store so that a search covers every route. The
// cursor it answers is the store's, after the last route listed: found by
// reading again up to that route (a store cursor points after an item read).
// It is absent when no further route matches.
func (s *server) searchRoutes(ctx context.Context, orgID string, page reroute.PageRequest, f routeFilter) (reroute.Page[reroute.Route], error) {
	size, err := page.Size()
	if err != nil {
		return reroute.Page[reroute.Route]{}, err
	}
	var out reroute.Page[reroute.Route]
	out.Items = []reroute.Route{}
	cursor, scanned := page.Cursor, 0
	// Where the last listed route was read: the cursor of its store page, and its index there.
	lastFrom, lastAt := "", -1
	for {
		p, err := s.Routes.ListRoutes(ctx, orgID, reroute.PageRequest{Limit: reroute.MaxPageSize, Cursor: cursor})
		if err != nil {
			return reroute.Page[reroute.Route]{}, err
		}
		scanned += len(p.Items)
		for i, rt := range p.Items {
			if !f.match(rt) {
				continue
			}
			if len(out.Items) == size {
				// Another match follows the page: end it after its last route.
				return s.endSearchPage(ctx, orgID, out, lastFrom, lastAt)
			}
			out.Items = append(out.Items, rt)
			lastFrom, lastAt = cursor, i
		}
		if p.NextCursor == "" {
			return out, nil // every route read
		}
		if scanned >= maxSearchScan {
			if len(out.Items) < size {
				// A short page: go on after everything read.
				out.NextCursor = p.NextCursor
				return out, nil
			}
			return s.endSearchPage(ctx, orgID, out, lastFrom, lastAt)
		}
		cursor = p.NextCursor
	}
}

// endSearchPage sets the cursor after the last listed route, read at index at
// of the store page that starts at from.
func (s *server) endSearchPage(ctx context.Context, orgID string, out reroute.Page[reroute.Route], from string, at int) (reroute.Page[reroute.Route], error) {
	p, err := s.Routes.ListRoutes(ctx, orgID, reroute.PageRequest{Limit: at + 1, Cursor: from})
	if err != nil {
		return reroute.Page[reroute.Route]{}, err
	}
	out.NextCursor = p.NextCursor
	return out, nil
}
