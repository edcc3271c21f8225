package dnsreroute_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/httpapi"
)

// TestTemplateAPIRoutesReachTheFunction: every operation the API serves,
// the OAuth authorization server's included, has an HTTP API route to the API
// function, and the function's routes lead nowhere else.
func TestTemplateAPIRoutesReachTheFunction(t *testing.T) {
	fn := resourcesOfType(t, "AWS::Serverless::Function")["ApiFunction"]
	type apiRoute struct{ path, method string }
	var routes []apiRoute
	events := get(fn, "Properties", "Events")
	for _, name := range keys(events) {
		ev := get(events, name)
		if get(ev, "Type").Value != "HttpApi" {
			continue
		}
		if api := get(ev, "Properties", "ApiId"); api == nil || api.Value != "HttpApi" {
			t.Errorf("ApiFunction.%s: not on the stack's HTTP API", name)
		}
		routes = append(routes, apiRoute{get(ev, "Properties", "Path").Value, get(ev, "Properties", "Method").Value})
	}
	reaches := func(op httpapi.Operation) bool {
		for _, r := range routes {
			if r.method != "ANY" && !strings.EqualFold(r.method, op.Method) {
				continue
			}
			if prefix, ok := strings.CutSuffix(r.path, "{proxy+}"); ok && strings.HasPrefix(op.Path, prefix) || r.path == op.Path {
				return true
			}
		}
		return false
	}
	for _, op := range httpapi.Operations() {
		if !reaches(op) {
			t.Errorf("%s: no HTTP API route reaches the API function", op)
		}
	}
	for _, p := range []string{"OAuthAccessTokenTTL", "OAuthRefreshTokenTTL"} {
		param := get(templateRoot(t), "Parameters", p)
		def, pattern := get(param, "Default").Value, regexp.MustCompile(get(param, "AllowedPattern").Value)
		if !pattern.MatchString(def) {
			t.Errorf("%s: the default %q is not allowed", p, def)
		}
		for _, v := range []string{def, "15m", "99h"} {
			if pattern.MatchString(v) {
				if d, err := time.ParseDuration(v); err != nil || d <= 0 {
					t.Errorf("%s: %q is allowed but the function cannot read it (%v)", p, v, err)
				}
			}
		}
	}
}
