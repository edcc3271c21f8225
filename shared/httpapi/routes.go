package httpapi

import (
	"net/http"
	"strings"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// endpoint is one operation of the API. The table below is the only place one is
// declared: the server registers it, and Operations lists it for the OpenAPI test.
type endpoint struct {
	method, pattern string
	public          bool // served without authentication
	handle          func(w http.ResponseWriter, r *http.Request) error
}

func (s *server) endpoints() []endpoint {
	return []endpoint{
		{"GET", "/v1/plans", true, s.listPlans},
		{"GET", "/v1/openapi.json", true, s.openAPI},

		{"GET", "/v1/me", false, s.getMe},

		{"POST", "/v1/orgs", false, s.createOrg},
		{"GET", "/v1/orgs/{orgId}", false, s.getOrg},
		{"PATCH", "/v1/orgs/{orgId}", false, s.updateOrg},
		{"DELETE", "/v1/orgs/{orgId}", false, s.deleteOrg},

		{"GET", "/v1/orgs/{orgId}/members", false, s.listMembers},
		{"POST", "/v1/orgs/{orgId}/members", false, s.addMember},
		{"PATCH", "/v1/orgs/{orgId}/members/{email}", false, s.updateMember},
		{"DELETE", "/v1/orgs/{orgId}/members/{email}", false, s.removeMember},

		{"GET", "/v1/orgs/{orgId}/routes", false, s.listRoutes},
		{"POST", "/v1/orgs/{orgId}/routes", false, s.createRoute},
		{"GET", "/v1/orgs/{orgId}/routes/{host}", false, s.getRoute},
		{"PATCH", "/v1/orgs/{orgId}/routes/{host}", false, s.updateRoute},
		{"DELETE", "/v1/orgs/{orgId}/routes/{host}", false, s.deleteRoute},
		{"POST", "/v1/orgs/{orgId}/routes/{host}/check", false, s.checkRoute},
		{"POST", "/v1/orgs/{orgId}/routes/{host}/try", false, s.tryURL},
		{"GET", "/v1/orgs/{orgId}/routes/{host}/rules", false, s.listRules},
		{"POST", "/v1/orgs/{orgId}/routes/{host}/rules", false, s.addRule},
		{"GET", "/v1/orgs/{orgId}/routes/{host}/rules/{ruleId}", false, s.getRule},
		{"PATCH", "/v1/orgs/{orgId}/routes/{host}/rules/{ruleId}", false, s.updateRule},
		{"DELETE", "/v1/orgs/{orgId}/routes/{host}/rules/{ruleId}", false, s.deleteRule},
		{"POST", "/v1/orgs/{orgId}/routes/import", false, s.importRoutes},
		{"GET", "/v1/orgs/{orgId}/routes/export", false, s.exportRoutes},

		{"GET", "/v1/orgs/{orgId}/analytics", false, s.getAnalytics},

		{"GET", "/v1/orgs/{orgId}/api-keys", false, s.listAPIKeys},
		{"POST", "/v1/orgs/{orgId}/api-keys", false, s.createAPIKey},
		{"DELETE", "/v1/orgs/{orgId}/api-keys/{keyId}", false, s.deleteAPIKey},

		{"GET", "/v1/orgs/{orgId}/oauth-apps", false, s.listOAuthApps},
		{"POST", "/v1/orgs/{orgId}/oauth-apps", false, s.createOAuthApp},
		{"GET", "/v1/orgs/{orgId}/oauth-apps/{clientId}", false, s.getOAuthApp},
		{"PATCH", "/v1/orgs/{orgId}/oauth-apps/{clientId}", false, s.updateOAuthApp},
		{"DELETE", "/v1/orgs/{orgId}/oauth-apps/{clientId}", false, s.deleteOAuthApp},
		{"POST", "/v1/orgs/{orgId}/oauth-apps/{clientId}/secret", false, s.rotateOAuthAppSecret},
		{"GET", "/v1/orgs/{orgId}/oauth-grants", false, s.listOAuthGrants},
		{"DELETE", "/v1/orgs/{orgId}/oauth-grants/{clientId}", false, s.revokeOAuthGrant},
		{"GET", "/v1/oauth/clients/{clientId}", false, s.getOAuthClient},
		{"POST", "/v1/oauth/authorizations", false, s.authorize},
		// The authorization server's own endpoints speak OAuth, not problems.
		{"POST", "/oauth/token", true, s.oauthProtocol(OAuthServer.Token)},
		{"POST", "/oauth/revoke", true, s.oauthProtocol(OAuthServer.Revoke)},
		{"POST", "/oauth/introspect", true, s.oauthProtocol(OAuthServer.Introspect)},
		{"GET", "/.well-known/oauth-authorization-server", true, s.oauthProtocol(OAuthServer.Metadata)},
		{"GET", "/v1/events", true, s.listEventTypes},
		{"GET", "/v1/unsubscribe", true, s.unsubscribe},
		{"POST", "/v1/unsubscribe", true, s.unsubscribe},
		{"GET", "/v1/orgs/{orgId}/members/me/notifications", false, s.getMyNotifications},
		{"PUT", "/v1/orgs/{orgId}/members/me/notifications", false, s.putMyNotifications},
		{"GET", "/v1/orgs/{orgId}/webhooks", false, s.listWebhooks},
		{"POST", "/v1/orgs/{orgId}/webhooks", false, s.createWebhook},
		{"GET", "/v1/orgs/{orgId}/webhooks/{webhookId}", false, s.getWebhook},
		{"PATCH", "/v1/orgs/{orgId}/webhooks/{webhookId}", false, s.updateWebhook},
		{"DELETE", "/v1/orgs/{orgId}/webhooks/{webhookId}", false, s.deleteWebhook},
		{"POST", "/v1/orgs/{orgId}/webhooks/{webhookId}/rotate-secret", false, s.rotateWebhookSecret},
		{"POST", "/v1/orgs/{orgId}/webhooks/{webhookId}/test", false, s.testWebhook},
		{"GET", "/v1/orgs/{orgId}/webhooks/{webhookId}/deliveries", false, s.listDeliveries},

		{"GET", "/v1/orgs/{orgId}/billing", false, s.getBilling},
		{"POST", "/v1/orgs/{orgId}/billing/checkout", false, s.checkout},
		{"POST", "/v1/orgs/{orgId}/billing/portal", false, s.portal},
	}
}

// route is one path with its methods, as registered on the mux.
type route struct {
	pattern string
	methods methods
}

func (s *server) routes() []route {
	var out []route
	index := map[string]int{}
	for _, e := range s.endpoints() {
		i, ok := index[e.pattern]
		if !ok {
			i = len(out)
			index[e.pattern] = i
			out = append(out, route{pattern: e.pattern, methods: methods{}})
		}
		out[i].methods[e.method] = s.handler(e)
	}
	return out
}

// handler runs an endpoint: it authenticates the caller unless the endpoint is
// public, and answers any error the endpoint returns as a problem.
func (s *server) handler(e endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !e.public {
			caller, err := s.Auth.Authenticate(r.Context(), r.Header.Get("Authorization"))
			if err != nil {
				if reroute.ErrorCode(err) == reroute.CodeUnauthenticated {
					w.Header().Set("WWW-Authenticate", `Bearer realm="dnsreroute"`)
				}
				writeError(w, r, s.Log, err)
				return
			}
			r = r.WithContext(withCaller(r.Context(), caller))
		}
		handle := e.handle
		if e.method == http.MethodPost && !e.public {
			// After authentication: a key belongs to who sends it.
			handle = func(w http.ResponseWriter, r *http.Request) error { return s.idempotent(w, r, e.handle) }
		}
		if err := handle(w, r); err != nil {
			writeError(w, r, s.Log, err)
		}
	})
}

// Operation is a method and path template the API serves ("GET /v1/me").
type Operation struct{ Method, Path string }

// Operations lists every operation the API serves, from the same table the server
// registers, so that the OpenAPI document can be checked against it.
func Operations() []Operation {
	var out []Operation
	for _, e := range (&server{}).endpoints() {
		out = append(out, Operation{Method: e.method, Path: e.pattern})
	}
	return out
}

func (o Operation) String() string { return o.Method + " " + strings.TrimSpace(o.Path) }
