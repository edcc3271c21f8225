package httpapi

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// A route's path rules are read and edited one at a time here; the route's own
// JSON carries only their count. A rule is named by its id: the base64url (no
// padding) of its canonical source path, which is unique within the route.

type pathOptionsJSON struct {
	IgnoreCase          bool `json:"ignoreCase"`
	IgnoreTrailingSlash bool `json:"ignoreTrailingSlash"`
}

// pathOptionsInput changes the options given; absent ones keep their value.
type pathOptionsInput struct {
	IgnoreCase          *bool `json:"ignoreCase"`
	IgnoreTrailingSlash *bool `json:"ignoreTrailingSlash"`
}

func (in pathOptionsInput) apply(o *reroute.PathOptions) {
	if in.IgnoreCase != nil {
		o.IgnoreCase = *in.IgnoreCase
	}
	if in.IgnoreTrailingSlash != nil {
		o.IgnoreTrailingSlash = *in.IgnoreTrailingSlash
	}
}

// fallbackJSON is a route's answer for a path no rule matches, in and out.
type fallbackJSON struct {
	Kind   string `json:"kind"`
	Target string `json:"target,omitempty"`
	Status int    `json:"status,omitempty"`
}

func toFallbackJSON(f reroute.Fallback) fallbackJSON {
	return fallbackJSON{Kind: string(f.Answer()), Target: f.Target, Status: f.Status}
}

func (f fallbackJSON) fallback() reroute.Fallback {
	return reroute.Fallback{Kind: reroute.FallbackKind(f.Kind), Target: f.Target, Status: f.Status}
}

type ruleJSON struct {
	ID         string `json:"id"`
	Source     string `json:"source"`
	Target     string `json:"target"`
	Status     int    `json:"status"`
	Subpath    bool   `json:"subpath"`
	KeepSuffix bool   `json:"keepSuffix"`
	KeepQuery  bool   `json:"keepQuery"`
}

func toRuleJSON(pr reroute.PathRule) ruleJSON {
	return ruleJSON{ID: ruleID(pr.Source), Source: pr.Source, Target: pr.Target, Status: pr.Status,
		Subpath: pr.Subpath, KeepSuffix: pr.KeepSuffix, KeepQuery: pr.KeepQuery}
}

type ruleInput struct {
	Source     string `json:"source"`
	Target     string `json:"target"`
	Status     int    `json:"status"`
	Subpath    bool   `json:"subpath"`
	KeepSuffix bool   `json:"keepSuffix"`
	KeepQuery  bool   `json:"keepQuery"`
}

func (in ruleInput) rule() reroute.PathRule {
	return reroute.PathRule{Source: in.Source, Target: in.Target, Status: in.Status,
		Subpath: in.Subpath, KeepSuffix: in.KeepSuffix, KeepQuery: in.KeepQuery}
}

// rulePatch holds the fields of a rule a PATCH may change.
type rulePatch struct {
	Source     *string `json:"source"`
	Target     *string `json:"target"`
	Status     *int    `json:"status"`
	Subpath    *bool   `json:"subpath"`
	KeepSuffix *bool   `json:"keepSuffix"`
	KeepQuery  *bool   `json:"keepQuery"`
}

func (in rulePatch) apply(pr *reroute.PathRule) {
	if in.Source != nil {
		pr.Source = *in.Source
	}
	if in.Target != nil {
		pr.Target = *in.Target
	}
	if in.Status != nil {
		pr.Status = *in.Status
		if pr.Status == 0 {
			pr.Status = -1 // an explicit 0 is invalid, not "the default"
		}
	}
	if in.Subpath != nil {
		pr.Subpath = *in.Subpath
	}
	if in.KeepSuffix != nil {
		pr.KeepSuffix = *in.KeepSuffix
	}
	if in.KeepQuery != nil {
		pr.KeepQuery = *in.KeepQuery
	}
}

// ruleID names a rule by its canonical source.
func ruleID(source string) string { return base64.RawURLEncoding.EncodeToString([]byte(source)) }

// sourceOfID is the source a rule id names; ok is false for an id no rule has.
func sourceOfID(id string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(b) == 0 || b[0] != '/' {
		return "", false
	}
	return string(b), true
}

// sortRules keeps a route's rules in source order, as they are stored and listed.
func sortRules(rules []reroute.PathRule) {
	slices.SortFunc(rules, func(a, b reroute.PathRule) int { return cmp.Compare(a.Source, b.Source) })
}

// ruleLimit is the org's bound on each route's rules, as the store reads it (an
// org saved before rule limits has the free plan's until its plan changes).
func (s *server) ruleLimit(org reroute.Org) int { return org.RuleLimit }

// checkRuleLimit refuses a route with more rules than the org's plan allows
// before the store is asked (which refuses it too, atomically).
func (s *server) checkRuleLimit(org reroute.Org, n int) error {
	if limit := s.ruleLimit(org); n > limit {
		return reroute.Errorf(reroute.CodeLimit, "plan_limit_reached",
			"the %s plan allows %d path rules per route: upgrade to add more", org.Plan, limit)
	}
	return nil
}

var errRuleNotFound = errorf(reroute.CodeNotFound, "rule_not_found", "no such rule")

// ruleIndex finds the rule an id names in rt, by its source under the route's
// options; -1 if none.
func ruleIndex(rt reroute.Route, id string) int {
	src, ok := sourceOfID(id)
	if !ok {
		return -1
	}
	key := rt.PathOptions.Key(src)
	return slices.IndexFunc(rt.PathRules, func(pr reroute.PathRule) bool { return rt.PathOptions.Key(pr.Source) == key })
}

func (s *server) listRules(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, readRoutes)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := pageRequest(q)
	if err != nil {
		return err
	}
	size, _ := page.Size()
	after := ""
	if page.Cursor != "" {
		var ok bool
		if after, ok = sourceOfID(page.Cursor); !ok {
			return errorf(reroute.CodeInvalid, "invalid_cursor", "the cursor is not one this list gave")
		}
	}
	rt, err := s.routeInPath(r, a)
	if err != nil {
		return err
	}
	rules := slices.Clone(rt.PathRules)
	sortRules(rules)
	needle := strings.ToLower(first(q["q"]))
	out := list[ruleJSON]{Items: []ruleJSON{}}
	for _, pr := range rules {
		if pr.Source <= after && after != "" {
			continue
		}
		if needle != "" && !strings.Contains(strings.ToLower(pr.Source), needle) && !strings.Contains(strings.ToLower(pr.Target), needle) {
			continue
		}
		if len(out.Items) == size {
			out.NextCursor = out.Items[size-1].ID
			break
		}
		out.Items = append(out.Items, toRuleJSON(pr))
	}
	encodeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) getRule(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, readRoutes)
	if err != nil {
		return err
	}
	rt, err := s.routeInPath(r, a)
	if err != nil {
		return err
	}
	i := ruleIndex(rt, r.PathValue("ruleId"))
	if i < 0 {
		return errRuleNotFound
	}
	encodeJSON(w, http.StatusOK, toRuleJSON(rt.PathRules[i]))
	return nil
}

func (s *server) addRule(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, writeRoutes)
	if err != nil {
		return err
	}
	in, err := decode[ruleInput](r)
	if err != nil {
		return err
	}
	var added reroute.PathRule
	rt, err := s.changeRoute(r, a, func(rt *reroute.Route) (reroute.RulesUpdate, error) {
		added = in.rule()
		if err := s.rules.NormalizePathRule(rt.Host, &added); err != nil {
			return reroute.ReplaceRules, err
		}
		if i := ruleIndex(*rt, ruleID(added.Source)); i >= 0 {
			return reroute.ReplaceRules, ruleExists(*rt, added.Source, rt.PathRules[i].Source)
		}
		rt.PathRules = append(rt.PathRules, added)
		return reroute.ReplaceRules, nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/orgs/"+a.org.ID+"/routes/"+rt.Host+"/rules/"+ruleID(added.Source))
	encodeJSON(w, http.StatusCreated, toRuleJSON(added))
	return nil
}

func ruleExists(rt reroute.Route, src, other string) error {
	msg := fmt.Sprintf("the route has a rule for %s already: change that one", other)
	if src != other {
		msg = fmt.Sprintf("the route has a rule for %s, which is the same path as %s under its options: change that one", other, src)
	}
	return reroute.Errorf(reroute.CodeConflict, "rule_exists", "%s", msg)
}

func (s *server) updateRule(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, writeRoutes)
	if err != nil {
		return err
	}
	in, err := decode[rulePatch](r)
	if err != nil {
		return err
	}
	var changed reroute.PathRule
	_, err = s.changeRoute(r, a, func(rt *reroute.Route) (reroute.RulesUpdate, error) {
		i := ruleIndex(*rt, r.PathValue("ruleId"))
		if i < 0 {
			return reroute.ReplaceRules, errRuleNotFound
		}
		changed = rt.PathRules[i]
		in.apply(&changed)
		if err := s.rules.NormalizePathRule(rt.Host, &changed); err != nil {
			return reroute.ReplaceRules, err
		}
		if j := ruleIndex(*rt, ruleID(changed.Source)); j >= 0 && j != i {
			return reroute.ReplaceRules, ruleExists(*rt, changed.Source, rt.PathRules[j].Source)
		}
		rt.PathRules[i] = changed
		return reroute.ReplaceRules, nil
	})
	if err != nil {
		return err
	}
	encodeJSON(w, http.StatusOK, toRuleJSON(changed))
	return nil
}

func (s *server) deleteRule(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, writeRoutes)
	if err != nil {
		return err
	}
	_, err = s.changeRoute(r, a, func(rt *reroute.Route) (reroute.RulesUpdate, error) {
		i := ruleIndex(*rt, r.PathValue("ruleId"))
		if i < 0 {
			return reroute.ReplaceRules, errRuleNotFound
		}
		if len(rt.PathRules) == 1 && rt.Target == "" {
			return reroute.ReplaceRules, errorf(reroute.CodeConflict, "last_rule",
				"this is the route's last rule and it has no target: give the route a target first, or delete the route")
		}
		rt.PathRules = slices.Delete(rt.PathRules, i, i+1)
		return reroute.ReplaceRules, nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type tryInput struct {
	URL string `json:"url"`
}

type tryJSON struct {
	Kind     string    `json:"kind"` // redirect, gone or not_configured
	Status   int       `json:"status"`
	Location string    `json:"location,omitempty"`
	Rule     *ruleJSON `json:"rule"` // the path rule that matched; null for the target or the fallback
	// WholeHost is set when the route's target (its whole-host redirect) answered.
	WholeHost bool `json:"wholeHost"`
	Fallback  bool `json:"fallback"`
}

// tryURL says what the route answers for a URL: which rule matches and the
// Location it gets, by the very matcher the redirector answers with. It
// answers as the route does while enabled, whatever its switch says now.
func (s *server) tryURL(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, readRoutes)
	if err != nil {
		return err
	}
	in, err := decode[tryInput](r)
	if err != nil {
		return err
	}
	rt, err := s.routeInPath(r, a)
	if err != nil {
		return err
	}
	path, query, err := tryTarget(rt.Host, in.URL)
	if err != nil {
		return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "the input is not valid",
			Fields: []reroute.FieldError{{Field: "url", Message: err.Error()}}}
	}
	m, err := reroute.NewMatcher(rt)
	if err != nil {
		return fmt.Errorf("compiling the rules of %s: %w", rt.Host, err)
	}
	ans := m.Answer(path, query)
	out := tryJSON{Kind: string(ans.Kind), Status: ans.Status, Location: ans.Location, Fallback: ans.Fallback}
	if ans.Kind == reroute.FallbackRedirect {
		out.Kind = "redirect"
		switch {
		case ans.Rule == reroute.TargetRule:
			out.WholeHost = true
		case ans.Rule >= 0 && ans.Rule < len(rt.PathRules):
			rj := toRuleJSON(rt.PathRules[ans.Rule])
			out.Rule = &rj
		}
	}
	encodeJSON(w, http.StatusOK, out)
	return nil
}

// tryTarget splits a URL to try into its raw path and query: an http(s) URL of
// host (or of a name a wildcard host covers), or a bare path.
func tryTarget(host, raw string) (path, query string, err error) {
	raw = strings.TrimSpace(raw)
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		raw = raw[:i] // browsers never send the fragment
	}
	switch {
	case raw == "":
		return "", "", fmt.Errorf("a URL such as https://%s/path, or a path such as /path, is required", strings.TrimPrefix(host, "*."))
	case strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//"):
		path, query, _ = strings.Cut(raw, "?")
		return path, query, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", "", fmt.Errorf("give an http:// or https:// URL, or a path starting with /")
	}
	h, err := reroute.NormalizeHost(u.Hostname())
	if err != nil || h != host && !(reroute.IsWildcard(host) && reroute.WildcardMatches(host, h)) {
		return "", "", fmt.Errorf("the URL is for %s, not for %s: try a URL of this route's hostname", u.Hostname(), host)
	}
	path = u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return path, u.RawQuery, nil
}
