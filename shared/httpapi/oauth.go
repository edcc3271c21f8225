package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// OAuthServer is the authorization server third-party apps use. Its token,
// revocation and introspection endpoints speak RFC 6749 section 5.2 errors, not
// problems; *oauth.Server is one.
type OAuthServer interface {
	// Authorize completes a consented (or denied) authorization request and
	// answers where to send the browser.
	Authorize(ctx context.Context, a reroute.OAuthAuthorization) (redirectTo string, err error)
	Token(w http.ResponseWriter, r *http.Request)
	Revoke(w http.ResponseWriter, r *http.Request)
	Introspect(w http.ResponseWriter, r *http.Request)
	Metadata(w http.ResponseWriter, r *http.Request)
}

var errOAuthNotConfigured = errorf(reroute.CodeNotConfigured, "oauth_not_configured", "this deployment has no OAuth authorization server")

// oauthProtocol serves one of the authorization server's own endpoints.
func (s *server) oauthProtocol(serve func(OAuthServer, http.ResponseWriter, *http.Request)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.OAuth == nil {
			return errOAuthNotConfigured
		}
		serve(s.OAuth, w, r)
		return nil
	}
}

type oauthAppJSON struct {
	ClientID     string    `json:"clientId"`
	Name         string    `json:"name"`
	RedirectURIs []string  `json:"redirectUris"`
	Confidential bool      `json:"confidential"`
	SecretHint   string    `json:"secretHint,omitempty"`
	CreatedBy    string    `json:"createdBy"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
	ClientSecret string    `json:"clientSecret,omitempty"` // only in the answers that make one
}

func toOAuthAppJSON(a reroute.OAuthApp) oauthAppJSON {
	return oauthAppJSON{ClientID: a.ClientID, Name: a.Name, RedirectURIs: a.RedirectURIs, Confidential: a.Confidential,
		SecretHint: a.SecretHint, CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

type oauthAppInput struct {
	Name         string   `json:"name"`
	RedirectURIs []string `json:"redirectUris"`
	Confidential *bool    `json:"confidential"`
}

func (s *server) oauthApps() (reroute.OAuthStore, error) {
	if s.OAuth == nil || s.OAuthStore == nil {
		return nil, errOAuthNotConfigured
	}
	return s.OAuthStore, nil
}

func (s *server) listOAuthApps(w http.ResponseWriter, r *http.Request) error {
	store, err := s.oauthApps()
	if err != nil {
		return err
	}
	a, err := s.orgAccess(r, manageApps)
	if err != nil {
		return err
	}
	page, err := pageRequest(r.URL.Query())
	if err != nil {
		return err
	}
	p, err := store.ListOAuthApps(r.Context(), a.org.ID, page)
	if err != nil {
		return err
	}
	out := list[oauthAppJSON]{Items: make([]oauthAppJSON, len(p.Items)), NextCursor: p.NextCursor}
	for i, app := range p.Items {
		out.Items[i] = toOAuthAppJSON(app)
	}
	encodeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) createOAuthApp(w http.ResponseWriter, r *http.Request) error {
	store, err := s.oauthApps()
	if err != nil {
		return err
	}
	a, err := s.orgAccess(r, manageApps)
	if err != nil {
		return err
	}
	in, err := decode[oauthAppInput](r)
	if err != nil {
		return err
	}
	if err := reroute.ValidateOAuthApp(in.Name, in.RedirectURIs); err != nil {
		return err
	}
	if in.Confidential == nil {
		return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "the app is not valid",
			Fields: []reroute.FieldError{{Field: "confidential", Message: "true for an app with a server that keeps a secret, false for a native or single-page app"}}}
	}
	id, err := reroute.NewOAuthClientID(s.Rand)
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	app := reroute.OAuthApp{ClientID: id, OrgID: a.org.ID, Name: in.Name, RedirectURIs: in.RedirectURIs,
		Confidential: *in.Confidential, CreatedBy: a.caller.Email, CreatedAt: now, UpdatedAt: now}
	secret := ""
	if app.Confidential {
		if secret, app.SecretHash, app.SecretHint, err = reroute.NewOAuthClientSecret(s.Rand); err != nil {
			return err
		}
	}
	if err := store.CreateOAuthApp(r.Context(), app); err != nil {
		return err
	}
	out := toOAuthAppJSON(app)
	out.ClientSecret = secret
	w.Header().Set("Cache-Control", "no-store")
	encodeJSON(w, http.StatusCreated, out)
	return nil
}

// orgApp loads the app in the path, which must be the org's.
func (s *server) orgApp(r *http.Request, store reroute.OAuthStore, a access) (reroute.OAuthApp, error) {
	app, err := store.GetOAuthApp(r.Context(), r.PathValue("clientId"))
	if err == nil && app.OrgID != a.org.ID {
		err = errorf(reroute.CodeNotFound, "oauth_app_not_found", "no such app")
	}
	return app, err
}

func (s *server) getOAuthApp(w http.ResponseWriter, r *http.Request) error {
	store, err := s.oauthApps()
	if err != nil {
		return err
	}
	a, err := s.orgAccess(r, manageApps)
	if err != nil {
		return err
	}
	app, err := s.orgApp(r, store, a)
	if err != nil {
		return err
	}
	encodeJSON(w, http.StatusOK, toOAuthAppJSON(app))
	return nil
}

type oauthAppPatch struct {
	Name         *string  `json:"name"`
	RedirectURIs []string `json:"redirectUris"`
}

func (s *server) updateOAuthApp(w http.ResponseWriter, r *http.Request) error {
	store, err := s.oauthApps()
	if err != nil {
		return err
	}
	a, err := s.orgAccess(r, manageApps)
	if err != nil {
		return err
	}
	in, err := decode[oauthAppPatch](r)
	if err != nil {
		return err
	}
	app, err := s.orgApp(r, store, a)
	if err != nil {
		return err
	}
	if in.Name != nil {
		app.Name = *in.Name
	}
	if in.RedirectURIs != nil {
		app.RedirectURIs = in.RedirectURIs
	}
	if err := reroute.ValidateOAuthApp(app.Name, app.RedirectURIs); err != nil {
		return err
	}
	app.UpdatedAt = s.Now().UTC()
	if err := store.UpdateOAuthApp(r.Context(), app); err != nil {
		return err
	}
	encodeJSON(w, http.StatusOK, toOAuthAppJSON(app))
	return nil
}

// rotateOAuthAppSecret replaces a confidential app's secret: the old one stops
// working at once; tokens already issued stay valid.
func (s *server) rotateOAuthAppSecret(w http.ResponseWriter, r *http.Request) error {
	store, err := s.oauthApps()
	if err != nil {
		return err
	}
	a, err := s.orgAccess(r, manageApps)
	if err != nil {
		return err
	}
	app, err := s.orgApp(r, store, a)
	if err != nil {
		return err
	}
	if !app.Confidential {
		return errorf(reroute.CodeConflict, "oauth_app_public", "a public app has no secret to rotate")
	}
	secret, hash, hint, err := reroute.NewOAuthClientSecret(s.Rand)
	if err != nil {
		return err
	}
	app.SecretHash, app.SecretHint, app.UpdatedAt = hash, hint, s.Now().UTC()
	if err := store.UpdateOAuthApp(r.Context(), app); err != nil {
		return err
	}
	out := toOAuthAppJSON(app)
	out.ClientSecret = secret
	w.Header().Set("Cache-Control", "no-store")
	encodeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) deleteOAuthApp(w http.ResponseWriter, r *http.Request) error {
	store, err := s.oauthApps()
	if err != nil {
		return err
	}
	a, err := s.orgAccess(r, manageApps)
	if err != nil {
		return err
	}
	if err := store.DeleteOAuthApp(r.Context(), a.org.ID, r.PathValue("clientId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// getOAuthClient tells a signed-in user, on the consent page, which app asks:
// its name and kind, nothing an org keeps to itself.
func (s *server) getOAuthClient(w http.ResponseWriter, r *http.Request) error {
	store, err := s.oauthApps()
	if err != nil {
		return err
	}
	if err := userOnly(callerOf(r.Context())); err != nil {
		return err
	}
	app, err := store.GetOAuthApp(r.Context(), r.PathValue("clientId"))
	if err != nil {
		return err
	}
	type scopeJSON struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	scopes := make([]scopeJSON, len(reroute.OAuthScopes))
	for i, sc := range reroute.OAuthScopes {
		scopes[i] = scopeJSON{Name: sc, Description: reroute.OAuthScopeWords[sc]}
	}
	encodeJSON(w, http.StatusOK, map[string]any{
		"clientId": app.ClientID, "name": app.Name, "confidential": app.Confidential, "scopes": scopes,
	})
	return nil
}

type authorizationInput struct {
	ClientID            string `json:"client_id"`
	RedirectURI         string `json:"redirect_uri"`
	Scope               string `json:"scope"`
	State               string `json:"state"`
	CodeChallenge       string `json:"code_challenge"`
	CodeChallengeMethod string `json:"code_challenge_method"`
	ResponseType        string `json:"response_type"`
	OrgID               string `json:"orgId"`
	Deny                bool   `json:"deny"`
}

// authorize completes the authorization code flow for the signed-in user: the
// consent page posts the app's request with the org the user picked and the
// user's decision, and sends the browser where the answer says.
func (s *server) authorize(w http.ResponseWriter, r *http.Request) error {
	if s.OAuth == nil {
		return errOAuthNotConfigured
	}
	c := callerOf(r.Context())
	if err := userOnly(c); err != nil {
		return err
	}
	in, err := decode[authorizationInput](r)
	if err != nil {
		return err
	}
	if in.ResponseType != "" && in.ResponseType != "code" {
		return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "only the authorization code flow is offered",
			Fields: []reroute.FieldError{{Field: "response_type", Message: `"code" or absent`}}}
	}
	if !in.Deny {
		if in.OrgID == "" {
			return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "pick the org the app will act on",
				Fields: []reroute.FieldError{{Field: "orgId", Message: "required"}}}
		}
		if _, err := s.Orgs.GetMember(r.Context(), in.OrgID, c.Email); err != nil {
			if reroute.IsNotFound(err) {
				return errOrgNotFound
			}
			return err
		}
	}
	to, err := s.OAuth.Authorize(r.Context(), reroute.OAuthAuthorization{
		ClientID: in.ClientID, RedirectURI: in.RedirectURI, Scope: in.Scope, State: in.State,
		CodeChallenge: in.CodeChallenge, CodeChallengeMethod: in.CodeChallengeMethod,
		OrgID: in.OrgID, Email: c.Email, Deny: in.Deny,
	})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	encodeJSON(w, http.StatusOK, map[string]string{"redirectTo": to})
	return nil
}

type oauthGrantJSON struct {
	ClientID  string    `json:"clientId"`
	AppName   string    `json:"appName"`
	Email     string    `json:"email"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// listOAuthGrants lists the apps the caller authorized in the org, or, with
// ?all=true, every member's (owners and admins).
func (s *server) listOAuthGrants(w http.ResponseWriter, r *http.Request) error {
	store, err := s.oauthApps()
	if err != nil {
		return err
	}
	all := r.URL.Query().Get("all") == "true"
	need := readOrg
	if all {
		need = readGrants
	}
	if err := userOnly(callerOf(r.Context())); err != nil {
		return err
	}
	a, err := s.orgAccess(r, need)
	if err != nil {
		return err
	}
	page, err := pageRequest(r.URL.Query())
	if err != nil {
		return err
	}
	email := a.caller.Email
	if all {
		email = ""
	}
	p, err := store.ListOAuthGrants(r.Context(), a.org.ID, email, page)
	if err != nil {
		return err
	}
	out := list[oauthGrantJSON]{Items: make([]oauthGrantJSON, len(p.Items)), NextCursor: p.NextCursor}
	for i, g := range p.Items {
		out.Items[i] = oauthGrantJSON{ClientID: g.ClientID, AppName: g.AppName, Email: g.Email, Scopes: g.Scopes,
			CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
	}
	encodeJSON(w, http.StatusOK, out)
	return nil
}

// revokeOAuthGrant revokes an app's access for the caller in the org, or, with
// ?email=, for another member (owners and admins): every token it holds stops
// working at once.
func (s *server) revokeOAuthGrant(w http.ResponseWriter, r *http.Request) error {
	store, err := s.oauthApps()
	if err != nil {
		return err
	}
	if err := userOnly(callerOf(r.Context())); err != nil {
		return err
	}
	a, err := s.orgAccess(r, readOrg)
	if err != nil {
		return err
	}
	email := a.caller.Email
	if other := r.URL.Query().Get("email"); other != "" && other != email {
		if err := a.may(readGrants); err != nil {
			return err
		}
		email = other
	}
	if err := store.RevokeOAuthGrant(r.Context(), a.org.ID, email, r.PathValue("clientId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
