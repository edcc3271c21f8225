package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

type callerKey struct{}

func withCaller(ctx context.Context, c reroute.Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

func callerOf(ctx context.Context) reroute.Caller {
	c, _ := ctx.Value(callerKey{}).(reroute.Caller)
	return c
}

// permission is an action on an org's objects.
type permission int

const (
	readRoutes permission = iota
	writeRoutes
	readOrg
	manageOrg // rename
	deleteOrg
	readMembers
	manageMembers
	manageKeys
	readBilling
	manageBilling
	readAnalytics
	manageApps // register and change OAuth apps
	readGrants // every member's authorizations of apps
	manageWebhooks
)

var permissionWords = map[permission]string{
	readRoutes: "read routes", writeRoutes: "change routes", readOrg: "read the org",
	manageOrg: "change the org", deleteOrg: "delete the org", readMembers: "list members",
	manageMembers: "manage members", manageKeys: "manage API keys",
	readBilling: "read billing", manageBilling: "manage billing", readAnalytics: "read analytics",
	manageApps: "manage OAuth apps", readGrants: "see every member's authorized apps",
	manageWebhooks: "manage webhooks",
}

// appScopeOf is the OAuth scope each permission needs an app's token to carry;
// a permission without one is never an app's.
var appScopeOf = map[permission][]string{
	readRoutes:    {reroute.OAuthScopeRoutesRead, reroute.OAuthScopeRoutesWrite},
	writeRoutes:   {reroute.OAuthScopeRoutesWrite},
	readAnalytics: {reroute.OAuthScopeAnalyticsRead},
}

// access is what the caller may do in one org.
type access struct {
	org    reroute.Org
	caller reroute.Caller
	role   reroute.Role // the user's role; "" for an API key
}

var errOrgNotFound = errorf(reroute.CodeNotFound, "org_not_found", "no such org")

// orgAccess loads the org in the path for the caller and checks that it may do p.
// An org the caller does not belong to answers exactly like one that does not
// exist, so that no one learns which orgs exist.
func (s *server) orgAccess(r *http.Request, p permission) (access, error) {
	ctx := r.Context()
	orgID := r.PathValue("orgId")
	noteOrg(ctx, orgID)
	c := callerOf(ctx)
	a := access{caller: c}
	if c.IsKey() {
		if c.Key.OrgID != orgID {
			return a, errOrgNotFound
		}
	} else {
		// An app's token acts in its one org, for a user who must still be a
		// member there, with that user's role.
		if c.IsApp() && c.App.OrgID != orgID {
			return a, errOrgNotFound
		}
		m, err := s.Orgs.GetMember(ctx, orgID, c.Email)
		if reroute.IsNotFound(err) {
			return a, errOrgNotFound
		}
		if err != nil {
			return a, err
		}
		a.role = m.Role
	}
	org, err := s.Orgs.GetOrg(ctx, orgID)
	if reroute.IsNotFound(err) {
		return a, errOrgNotFound
	}
	if err != nil {
		return a, err
	}
	a.org = org
	return a, a.may(p)
}

// may checks one permission. API keys only ever touch routes (and their
// analytics), within their scope; an app's token needs a scope for p and its
// user's role to allow p.
func (a access) may(p permission) error {
	if a.caller.IsApp() {
		scopes, ok := appScopeOf[p]
		if !ok {
			return errorf(reroute.CodeForbidden, "app_not_allowed", fmt.Sprintf("apps cannot %s: sign in to do that", permissionWords[p]))
		}
		if !slices.ContainsFunc(scopes, a.caller.App.Has) {
			return errorf(reroute.CodeForbidden, "insufficient_scope", fmt.Sprintf("this token needs the scope %s to %s", scopes[0], permissionWords[p]))
		}
	}
	if a.caller.IsKey() {
		switch {
		case p == readRoutes || p == readAnalytics:
			return nil
		case p == writeRoutes && a.caller.Key.Scope == reroute.ScopeWrite:
			return nil
		case p == writeRoutes:
			return errorf(reroute.CodeForbidden, "insufficient_scope", "this API key is read-only: create a write key to change routes")
		}
		return errorf(reroute.CodeForbidden, "api_key_not_allowed", fmt.Sprintf("API keys cannot %s: sign in to do that", permissionWords[p]))
	}
	ok := false
	switch p {
	case readRoutes, writeRoutes, readOrg, readMembers, readAnalytics:
		ok = true
	case manageOrg, manageMembers, manageKeys, readBilling, manageApps, readGrants, manageWebhooks:
		ok = a.role.ManagesMembers()
	case deleteOrg, manageBilling:
		ok = a.role == reroute.RoleOwner
	}
	if !ok {
		return errorf(reroute.CodeForbidden, "role_not_allowed", fmt.Sprintf("a %s cannot %s", a.role, permissionWords[p]))
	}
	return nil
}

// userOnly refuses API keys and apps' tokens on endpoints about the user rather
// than an org.
func userOnly(c reroute.Caller) error {
	if c.IsKey() {
		return errorf(reroute.CodeForbidden, "api_key_not_allowed", "API keys act for their org only: sign in to use this endpoint")
	}
	if c.IsApp() {
		return errorf(reroute.CodeForbidden, "app_not_allowed", "apps act in their org only: sign in to use this endpoint")
	}
	return nil
}
