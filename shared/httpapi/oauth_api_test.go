package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/oauth2"
)

// oauthEnv is the API served over HTTP, as a third-party app reaches it, with
// org A (owner alice, member carol, one route) and org B (owner bob).
type oauthEnv struct {
	*apiEnv
	srv            *httptest.Server
	orgA, orgB     string
	alice, bob     string // user tokens
	carol          string
	confidential   oauthApp
	public         oauthApp
	redirect       string
	publicRedirect string
}

type oauthApp struct{ id, secret string }

func newOAuthEnv(t *testing.T) *oauthEnv {
	t.Helper()
	e := &oauthEnv{apiEnv: newAPIEnv(t), redirect: "https://app.example.net/callback", publicRedirect: "http://127.0.0.1/callback"}
	e.srv = httptest.NewServer(e.h)
	t.Cleanup(e.srv.Close)
	e.alice, e.bob, e.carol = e.token("alice@example.com"), e.token("bob@example.com"), e.token("carol@example.com")
	e.orgA = e.newPaidOrg("alice@example.com", "developer")
	e.want(e.do("POST", "/v1/orgs/"+e.orgA+"/members", e.alice, map[string]any{"email": "carol@example.com", "role": "member"}), 201, "")
	e.want(e.do("POST", "/v1/orgs/"+e.orgA+"/routes", e.alice, map[string]any{"host": "a.example.com", "target": "https://a.example.org/"}), 201, "")
	e.orgB = e.newOrg("bob@example.com", "B")
	e.want(e.do("POST", "/v1/orgs/"+e.orgB+"/routes", e.bob, map[string]any{"host": "b.example.com", "target": "https://b.example.org/"}), 201, "")
	r := e.do("POST", "/v1/orgs/"+e.orgA+"/oauth-apps", e.alice, map[string]any{"name": "Registrar", "redirectUris": []string{e.redirect}, "confidential": true})
	e.want(r, 201, "")
	e.confidential = oauthApp{r.str("clientId"), r.str("clientSecret")}
	r = e.do("POST", "/v1/orgs/"+e.orgA+"/oauth-apps", e.alice, map[string]any{"name": "CLI", "redirectUris": []string{e.publicRedirect}, "confidential": false})
	e.want(r, 201, "")
	e.public = oauthApp{r.str("clientId"), ""}
	if e.confidential.secret == "" || r.str("clientSecret") != "" {
		t.Fatalf("a confidential app gets a secret, a public one none: %+v %s", e.confidential, r.body)
	}
	return e
}

func (e *oauthEnv) config(app oauthApp, scopes ...string) *oauth2.Config {
	redirect := e.redirect
	if app.secret == "" {
		redirect = e.publicRedirect
	}
	return &oauth2.Config{
		ClientID: app.id, ClientSecret: app.secret, RedirectURL: redirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: dashboard + "/oauth/authorize", TokenURL: e.srv.URL + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader},
	}
}

// consent does what the dashboard's consent page does with the authorization
// URL an app sent the user to: it posts the request with the user's token and
// the org picked, and answers the redirect.
func (e *oauthEnv) consent(authURL, userToken, orgID string, extra map[string]any) (int, map[string]any) {
	e.t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		e.t.Fatal(err)
	}
	body := map[string]any{"orgId": orgID}
	for k, v := range u.Query() {
		body[k] = v[0]
	}
	for k, v := range extra {
		if v == nil {
			delete(body, k)
		} else {
			body[k] = v
		}
	}
	buf, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", e.srv.URL+"/v1/oauth/authorizations", bytes.NewReader(buf))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+userToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// code runs the consent and answers the code of the redirect, checking state.
func (e *oauthEnv) code(conf *oauth2.Config, userToken, orgID string, opts ...oauth2.AuthCodeOption) (string, url.Values) {
	e.t.Helper()
	status, out := e.consent(conf.AuthCodeURL("state-1234567890", opts...), userToken, orgID, nil)
	if status != 200 {
		e.t.Fatalf("consent: %d %v", status, out)
	}
	to, _ := out["redirectTo"].(string)
	u, err := url.Parse(to)
	if err != nil || !strings.HasPrefix(to, conf.RedirectURL+"?") {
		e.t.Fatalf("redirect %q is not to %s", to, conf.RedirectURL)
	}
	q := u.Query()
	if q.Get("state") != "state-1234567890" {
		e.t.Fatalf("state not returned: %s", to)
	}
	return q.Get("code"), q
}

// authorize runs the whole flow and answers the token.
func (e *oauthEnv) authorize(app oauthApp, userToken, orgID string, scopes ...string) *oauth2.Token {
	e.t.Helper()
	conf := e.config(app, scopes...)
	verifier := oauth2.GenerateVerifier()
	code, q := e.code(conf, userToken, orgID, oauth2.S256ChallengeOption(verifier))
	if code == "" {
		e.t.Fatalf("no code: %v", q)
	}
	tok, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		e.t.Fatalf("exchange: %v", err)
	}
	return tok
}

// call sends an API request with an access token over HTTP.
func (e *oauthEnv) call(method, path, token string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		buf, _ := json.Marshal(body)
		rd = bytes.NewReader(buf)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (e *oauthEnv) wantCall(method, path, token string, body any, status int, code string) {
	e.t.Helper()
	got, out := e.call(method, path, token, body)
	if got != status || code != "" && out["code"] != code {
		e.t.Fatalf("%s %s: got %d %v, want %d %s", method, path, got, out, status, code)
	}
}

// form posts a form to one of the authorization server's endpoints.
func (e *oauthEnv) form(path string, app oauthApp, v url.Values) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if app.secret != "" {
		req.SetBasicAuth(url.QueryEscape(app.id), url.QueryEscape(app.secret))
	} else if app.id != "" {
		v.Set("client_id", app.id)
		req.Body = io.NopCloser(strings.NewReader(v.Encode()))
		req.ContentLength = int64(len(v.Encode()))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// oauthErrorCode is the "error" of a token endpoint failure oauth2 reports.
func oauthErrorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func TestOAuthFlow(t *testing.T) {
	e := newOAuthEnv(t)
	ctx := context.Background()
	a := "/v1/orgs/" + e.orgA

	// Metadata (RFC 8414).
	resp, err := http.Get(e.srv.URL + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if meta["issuer"] != apiIssuer || meta["token_endpoint"] != apiIssuer+"/oauth/token" ||
		meta["authorization_endpoint"] != dashboard+"/oauth/authorize" || !strings.Contains(string(must(json.Marshal(meta["code_challenge_methods_supported"]))), `["S256"]`) {
		t.Fatalf("metadata: %v", meta)
	}

	// The consent page learns the app's name.
	r := e.do("GET", "/v1/oauth/clients/"+e.confidential.id, e.alice, nil)
	e.want(r, 200, "")
	if r.str("name") != "Registrar" {
		t.Fatalf("client: %s", r.body)
	}

	// Authorize, exchange, call the API.
	tok := e.authorize(e.confidential, e.alice, e.orgA, "routes:read", "analytics:read")
	if !strings.HasPrefix(tok.AccessToken, "dro_at_") || !strings.HasPrefix(tok.RefreshToken, "dro_rt_") || tok.Expiry.Before(time.Now().Add(50*time.Minute)) {
		t.Fatalf("token: %+v", tok)
	}
	conf := e.config(e.confidential, "routes:read", "analytics:read")
	client := conf.Client(ctx, tok)
	res, err := client.Get(e.srv.URL + a + "/routes")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("list routes with the token: %v %v", res, err)
	}
	res.Body.Close()
	e.wantCall("GET", a+"/analytics?host=a.example.com", tok.AccessToken, nil, 200, "")
	e.wantCall("POST", a+"/routes", tok.AccessToken, map[string]any{"host": "c.example.com", "target": "https://c.example.org/"}, 403, "insufficient_scope")
	e.wantCall("GET", a+"/members", tok.AccessToken, nil, 403, "app_not_allowed")
	e.wantCall("GET", "/v1/me", tok.AccessToken, nil, 403, "app_not_allowed")
	e.wantCall("GET", "/v1/orgs/"+e.orgB+"/routes", tok.AccessToken, nil, 404, "org_not_found")

	// The user sees the app among their authorized apps.
	r = e.do("GET", a+"/oauth-grants", e.alice, nil)
	e.want(r, 200, "")
	if len(r.items()) != 1 || r.items()[0].(map[string]any)["appName"] != "Registrar" {
		t.Fatalf("grants: %s", r.body)
	}

	// Introspection (RFC 7662), by the confidential client about its own token.
	status, intro := e.form("/oauth/introspect", e.confidential, url.Values{"token": {tok.AccessToken}})
	if status != 200 || intro["active"] != true || intro["client_id"] != e.confidential.id || intro["scope"] != "routes:read analytics:read" || intro["sub"] != "alice@example.com" {
		t.Fatalf("introspect: %d %v", status, intro)
	}
	status, intro = e.form("/oauth/introspect", e.public, url.Values{"token": {tok.AccessToken}})
	if status != 401 {
		t.Fatalf("a public client introspects: %d %v", status, intro)
	}

	// Refresh: the refresh token rotates and the old access token stops working.
	ts := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken})
	tok2, err := ts.Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if tok2.RefreshToken == tok.RefreshToken || tok2.AccessToken == tok.AccessToken {
		t.Fatal("the refresh token did not rotate")
	}
	e.wantCall("GET", a+"/routes", tok2.AccessToken, nil, 200, "")
	e.wantCall("GET", a+"/routes", tok.AccessToken, nil, 401, "invalid_token")

	// Revoke (RFC 7009) the new access token: the whole authorization ends.
	status, out := e.form("/oauth/revoke", e.confidential, url.Values{"token": {tok2.AccessToken}})
	if status != 200 {
		t.Fatalf("revoke: %d %v", status, out)
	}
	e.wantCall("GET", a+"/routes", tok2.AccessToken, nil, 401, "invalid_token")
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok2.RefreshToken}).Token(); err == nil {
		t.Fatal("a revoked authorization's refresh token still works")
	}
	status, intro = e.form("/oauth/introspect", e.confidential, url.Values{"token": {tok2.AccessToken}})
	if status != 200 || intro["active"] != false {
		t.Fatalf("introspect a revoked token: %d %v", status, intro)
	}

	// A public client: PKCE alone, loopback redirect.
	ptok := e.authorize(e.public, e.carol, e.orgA, "routes:write")
	e.wantCall("POST", a+"/routes", ptok.AccessToken, map[string]any{"host": "c.example.com", "target": "https://c.example.org/"}, 201, "")
	e.wantCall("GET", a+"/routes/c.example.com", ptok.AccessToken, nil, 200, "")
	// Never beyond the user's role: carol is a member.
	e.wantCall("GET", a+"/api-keys", ptok.AccessToken, nil, 403, "app_not_allowed")
	pconf := e.config(e.public, "routes:write")
	ptok2, err := pconf.TokenSource(ctx, &oauth2.Token{RefreshToken: ptok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("public refresh: %v", err)
	}
	// Admins see every member's grants; the user revokes theirs.
	r = e.do("GET", a+"/oauth-grants?all=true", e.alice, nil)
	e.want(r, 200, "")
	if len(r.items()) != 2 {
		t.Fatalf("all grants: %s", r.body)
	}
	e.want(e.do("GET", a+"/oauth-grants?all=true", e.carol, nil), 403, "role_not_allowed")
	e.want(e.do("DELETE", a+"/oauth-grants/"+e.public.id, e.carol, nil), 204, "")
	e.wantCall("GET", a+"/routes", ptok2.AccessToken, nil, 401, "invalid_token")
	if _, err := pconf.TokenSource(ctx, &oauth2.Token{RefreshToken: ptok2.RefreshToken}).Token(); err == nil {
		t.Fatal("a revoked grant's refresh token still works")
	}

	// A member who leaves the org: the token answers like any other org's.
	ctok := e.authorize(e.public, e.carol, e.orgA, "routes:read")
	e.want(e.do("DELETE", a+"/members/carol@example.com", e.alice, nil), 204, "")
	e.wantCall("GET", a+"/routes", ctok.AccessToken, nil, 404, "org_not_found")

	// Deleting an app revokes everything issued to it.
	tok3 := e.authorize(e.confidential, e.bob, e.orgB, "routes:read")
	e.wantCall("GET", "/v1/orgs/"+e.orgB+"/routes", tok3.AccessToken, nil, 200, "")
	e.want(e.do("DELETE", a+"/oauth-apps/"+e.confidential.id, e.alice, nil), 204, "")
	e.wantCall("GET", "/v1/orgs/"+e.orgB+"/routes", tok3.AccessToken, nil, 401, "invalid_token")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestOAuthRefused(t *testing.T) {
	e := newOAuthEnv(t)
	ctx := context.Background()
	a := "/v1/orgs/" + e.orgA
	conf := e.config(e.confidential, "routes:read")
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("state-1234567890", oauth2.S256ChallengeOption(verifier))

	t.Run("redirect URIs match exactly", func(t *testing.T) {
		for _, uri := range []string{"https://evil.example/callback", e.redirect + "/extra", e.redirect + "?x=1", "https://app.example.net/Callback"} {
			status, out := e.consent(authURL, e.alice, e.orgA, map[string]any{"redirect_uri": uri})
			if status != 400 || out["redirectTo"] != nil {
				t.Errorf("redirect_uri %s: %d %v", uri, status, out)
			}
		}
	})
	t.Run("an unknown client", func(t *testing.T) {
		status, out := e.consent(authURL, e.alice, e.orgA, map[string]any{"client_id": "app_AAAAAAAAAAAAAAAAAAAAAA"})
		if status != 400 {
			t.Errorf("%d %v", status, out)
		}
	})
	errorRedirect := func(t *testing.T, extra map[string]any, want string) {
		t.Helper()
		status, out := e.consent(authURL, e.alice, e.orgA, extra)
		to, _ := out["redirectTo"].(string)
		u, _ := url.Parse(to)
		if status != 200 || !strings.HasPrefix(to, e.redirect+"?") || u.Query().Get("error") != want || u.Query().Get("code") != "" {
			t.Errorf("%v: %d %v, want an error redirect %s", extra, status, out, want)
		}
	}
	t.Run("plain challenge", func(t *testing.T) {
		errorRedirect(t, map[string]any{"code_challenge": verifier, "code_challenge_method": "plain"}, "invalid_request")
	})
	t.Run("no challenge", func(t *testing.T) {
		errorRedirect(t, map[string]any{"code_challenge": nil, "code_challenge_method": nil}, "invalid_request")
	})
	t.Run("unknown scope", func(t *testing.T) {
		errorRedirect(t, map[string]any{"scope": "routes:read admin"}, "invalid_scope")
	})
	t.Run("denied", func(t *testing.T) {
		errorRedirect(t, map[string]any{"deny": true}, "access_denied")
	})
	t.Run("another org than the user's", func(t *testing.T) {
		status, out := e.consent(authURL, e.alice, e.orgB, nil)
		if status != 404 || out["code"] != "org_not_found" {
			t.Errorf("%d %v", status, out)
		}
	})
	t.Run("PKCE mismatch", func(t *testing.T) {
		code, _ := e.code(conf, e.alice, e.orgA, oauth2.S256ChallengeOption(verifier))
		_, err := conf.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if oauthErrorCode(err) != "invalid_grant" {
			t.Errorf("another verifier: %v", err)
		}
	})
	t.Run("code reused", func(t *testing.T) {
		code, _ := e.code(conf, e.alice, e.orgA, oauth2.S256ChallengeOption(verifier))
		tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		e.wantCall("GET", a+"/routes", tok.AccessToken, nil, 200, "")
		_, err = conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if oauthErrorCode(err) != "invalid_grant" {
			t.Errorf("second use: %v", err)
		}
		// The tokens issued from it are revoked.
		e.wantCall("GET", a+"/routes", tok.AccessToken, nil, 401, "invalid_token")
		if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
			t.Error("the refresh token of a reused code still works")
		}
	})
	t.Run("refresh token reused", func(t *testing.T) {
		tok := e.authorize(e.confidential, e.alice, e.orgA, "routes:read")
		tok2, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil {
			t.Fatal(err)
		}
		_, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err == nil {
			t.Fatal("a rotated refresh token works again")
		}
		// The whole family is revoked: the rotated refresh token and its access token.
		e.wantCall("GET", a+"/routes", tok2.AccessToken, nil, 401, "invalid_token")
		if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok2.RefreshToken}).Token(); err == nil {
			t.Error("the family's latest refresh token still works")
		}
	})
	t.Run("wrong client secret", func(t *testing.T) {
		code, _ := e.code(conf, e.alice, e.orgA, oauth2.S256ChallengeOption(verifier))
		bad := *conf
		bad.ClientSecret = "dro_cs_" + strings.Repeat("A", 43)
		_, err := bad.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if oauthErrorCode(err) != "invalid_client" {
			t.Errorf("wrong secret: %v", err)
		}
		// client_secret_post works with the right one.
		post := *conf
		post.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		if _, err := post.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err != nil {
			t.Errorf("client_secret_post: %v", err)
		}
	})
	t.Run("public client and client_credentials", func(t *testing.T) {
		status, out := e.form("/oauth/token", e.public, url.Values{"grant_type": {"client_credentials"}, "scope": {"routes:read"}})
		if status < 400 || status >= 500 || out["error"] == nil || out["access_token"] != nil {
			t.Errorf("%d %v", status, out)
		}
		status, out = e.form("/oauth/token", e.confidential, url.Values{"grant_type": {"client_credentials"}})
		if status < 400 || status >= 500 || out["access_token"] != nil {
			t.Errorf("confidential: %d %v", status, out)
		}
	})
	t.Run("scope escalation on refresh", func(t *testing.T) {
		tok := e.authorize(e.confidential, e.alice, e.orgA, "routes:read")
		wider := e.config(e.confidential, "routes:read", "routes:write")
		// A refresh asking for more than was granted gets no more (RFC 6749 section 6).
		status, out := e.form("/oauth/token", e.confidential, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "scope": {strings.Join(wider.Scopes, " ")}})
		if status == 200 && out["scope"] != "routes:read" || status != 200 && out["error"] != "invalid_scope" {
			t.Fatalf("%d %v", status, out)
		}
		access, _ := out["access_token"].(string)
		if access == "" {
			access = tok.AccessToken
		}
		e.wantCall("POST", a+"/routes", access, map[string]any{"host": "d.example.com", "target": "https://d.example.org/"}, 403, "insufficient_scope")
	})
	t.Run("errors are RFC 6749 JSON", func(t *testing.T) {
		status, out := e.form("/oauth/token", e.confidential, url.Values{"grant_type": {"authorization_code"}, "code": {"dro_ac_nope"}, "redirect_uri": {e.redirect}})
		if status != 400 || out["error"] != "invalid_grant" {
			t.Errorf("%d %v", status, out)
		}
	})
}

func TestOAuthCodeExpires(t *testing.T) {
	e := newOAuthEnv(t)
	conf := e.config(e.confidential, "routes:read")
	verifier := oauth2.GenerateVerifier()
	code, _ := e.code(conf, e.alice, e.orgA, oauth2.S256ChallengeOption(verifier))
	e.advanceAuthClock(61 * time.Second)
	_, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("an expired code: %v", err)
	}
}

func TestOAuthAccessTokenExpires(t *testing.T) {
	e := newOAuthEnv(t)
	tok := e.authorize(e.confidential, e.alice, e.orgA, "routes:read")
	e.wantCall("GET", "/v1/orgs/"+e.orgA+"/routes", tok.AccessToken, nil, 200, "")
	e.advanceAuthClock(time.Hour + time.Minute)
	e.wantCall("GET", "/v1/orgs/"+e.orgA+"/routes", tok.AccessToken, nil, 401, "token_expired")
	// The refresh token outlives it.
	if _, err := e.config(e.confidential, "routes:read").TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
		t.Fatalf("refresh after the access token expired: %v", err)
	}
}

func TestOAuthApps(t *testing.T) {
	e := newOAuthEnv(t)
	a := "/v1/orgs/" + e.orgA
	for _, body := range []map[string]any{
		{"name": "x", "redirectUris": []string{"http://app.example.net/cb"}, "confidential": true},
		{"name": "x", "redirectUris": []string{"https://app.example.net/cb#frag"}, "confidential": true},
		{"name": "x", "redirectUris": []string{}, "confidential": true},
		{"name": "", "redirectUris": []string{"https://app.example.net/cb"}, "confidential": true},
		{"name": "x", "redirectUris": []string{"https://app.example.net/cb"}},
		{"name": "x", "redirectUris": []string{"/relative"}, "confidential": false},
	} {
		e.want(e.do("POST", a+"/oauth-apps", e.alice, body), 400, "validation_failed")
	}
	r := e.do("POST", a+"/oauth-apps", e.alice, map[string]any{"name": "Native", "redirectUris": []string{"http://localhost:8080/cb", "http://[::1]/cb"}, "confidential": false})
	e.want(r, 201, "")
	e.want(e.do("POST", a+"/oauth-apps", e.carol, map[string]any{"name": "x", "redirectUris": []string{"https://a.example/cb"}, "confidential": true}), 403, "role_not_allowed")
	r = e.do("GET", a+"/oauth-apps?limit=2", e.alice, nil)
	e.want(r, 200, "")
	if len(r.items()) != 2 || r.str("nextCursor") == "" {
		t.Fatalf("first page: %s", r.body)
	}
	r = e.do("GET", a+"/oauth-apps?limit=2&cursor="+r.str("nextCursor"), e.alice, nil)
	e.want(r, 200, "")
	if len(r.items()) != 1 {
		t.Fatalf("second page: %s", r.body)
	}
	e.want(e.do("GET", "/v1/orgs/"+e.orgB+"/oauth-apps/"+e.confidential.id, e.bob, nil), 404, "oauth_app_not_found")
	r = e.do("PATCH", a+"/oauth-apps/"+e.confidential.id, e.alice, map[string]any{"name": "Registrar 2"})
	e.want(r, 200, "")
	if r.str("name") != "Registrar 2" || r.str("clientSecret") != "" {
		t.Fatalf("patch: %s", r.body)
	}
	// Rotating the secret: the old one stops working.
	r = e.do("POST", a+"/oauth-apps/"+e.confidential.id+"/secret", e.alice, nil)
	e.want(r, 200, "")
	old := e.confidential
	e.confidential.secret = r.str("clientSecret")
	if e.confidential.secret == "" || e.confidential.secret == old.secret {
		t.Fatalf("rotate: %s", r.body)
	}
	conf := e.config(old, "routes:read")
	verifier := oauth2.GenerateVerifier()
	code, _ := e.code(conf, e.alice, e.orgA, oauth2.S256ChallengeOption(verifier))
	if _, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier)); oauthErrorCode(err) != "invalid_client" {
		t.Fatalf("the old secret: %v", err)
	}
	e.authorize(e.confidential, e.alice, e.orgA, "routes:read")
	e.want(e.do("POST", a+"/oauth-apps/"+e.public.id+"/secret", e.alice, nil), 409, "oauth_app_public")
}

// registerApp registers a confidential app in orgID as owner, for the tables
// of other tests.
func registerApp(t *testing.T, e *apiEnv, orgID, owner string) oauthApp {
	t.Helper()
	r := e.do("POST", "/v1/orgs/"+orgID+"/oauth-apps", owner, map[string]any{"name": "Table app", "redirectUris": []string{"https://app.example.net/callback"}, "confidential": true})
	e.want(r, 201, "")
	return oauthApp{r.str("clientId"), r.str("clientSecret")}
}

// appTokenPair runs the whole flow for app as the user of userToken in orgID.
func appTokenPair(t *testing.T, e *apiEnv, app oauthApp, userToken, orgID, scope string) *oauth2.Token {
	t.Helper()
	oe := &oauthEnv{apiEnv: e, redirect: "https://app.example.net/callback"}
	oe.srv = httptest.NewServer(e.h)
	defer oe.srv.Close()
	return oe.authorize(app, userToken, orgID, strings.Fields(scope)...)
}

func appToken(t *testing.T, e *apiEnv, app oauthApp, userToken, orgID, scope string) string {
	t.Helper()
	return appTokenPair(t, e, app, userToken, orgID, scope).AccessToken
}

// revokedAppToken is an access token whose authorization was revoked (RFC 7009).
func revokedAppToken(t *testing.T, e *apiEnv, app oauthApp, userToken, orgID string) string {
	t.Helper()
	tok := appToken(t, e, app, userToken, orgID, "routes:read routes:write analytics:read")
	req := httptest.NewRequest("POST", "/oauth/revoke", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(app.id, app.secret)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	return tok
}

// expiredAppToken is an access token past its hour, which DynamoDB's TTL has
// not removed yet: its item's expiresAt is moved into the past, as the hour
// passing would leave it.
func expiredAppToken(t *testing.T, e *apiEnv, app oauthApp, userToken, orgID string) string {
	t.Helper()
	tok := appToken(t, e, app, userToken, orgID, "routes:read routes:write analytics:read")
	sum := sha256.Sum256([]byte(tok))
	_, err := e.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: aws.String(e.table),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "OAUTHTOK#access#" + hex.EncodeToString(sum[:])},
			"SK": &types.AttributeValueMemberS{Value: "TOKEN"},
		},
		UpdateExpression:          aws.String("SET expiresAt = :past"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":past": &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
