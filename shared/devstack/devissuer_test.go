package devstack_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dnsreroute/dnsreroute/shared/auth"
	"github.com/dnsreroute/dnsreroute/shared/devstack"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

const devAudience = "dev-dashboard"

// startDevIssuer serves a new DevIssuer on a loopback port, its URL the issuer.
func startDevIssuer(t *testing.T) (*devstack.DevIssuer, *httptest.Server) {
	t.Helper()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	d, err := devstack.NewDevIssuer(srv.URL, devAudience)
	if err != nil {
		t.Fatal(err)
	}
	h = d.Handler()
	return d, srv
}

// devVerifier is the API's verifier, configured by discovery as for any issuer.
func devVerifier(t *testing.T, issuer string, client *http.Client) *auth.JWTVerifier {
	t.Helper()
	v, err := auth.NewJWTVerifier(t.Context(), auth.JWTConfig{Issuer: issuer, Audience: devAudience}, client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func postJSON(t *testing.T, c *http.Client, u, body string) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestDevIssuerTokenVerifies(t *testing.T) {
	t.Parallel()
	_, srv := startDevIssuer(t)
	v := devVerifier(t, srv.URL, srv.Client())

	resp, body := postJSON(t, srv.Client(), srv.URL+"/dev/token", `{"email": " Dev@Example.com "}`)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("POST /dev/token = %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var out struct{ Token string }
	if err := json.Unmarshal(body, &out); err != nil || out.Token == "" {
		t.Fatalf("body %s: %v", body, err)
	}
	email, err := v.Verify(t.Context(), out.Token)
	if err != nil || email != "dev@example.com" {
		t.Fatalf("Verify = %q, %v", email, err)
	}

	// The claims an ID token has.
	claims := jwt.MapClaims{}
	tok, _, err := jwt.NewParser().ParseUnverified(out.Token, claims)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Method.Alg() != "RS256" || tok.Header["kid"] == "" {
		t.Errorf("header = %v", tok.Header)
	}
	for _, c := range []string{"iss", "aud", "sub", "email", "email_verified", "iat", "nbf", "exp"} {
		if _, ok := claims[c]; !ok {
			t.Errorf("claim %s missing", c)
		}
	}
	exp, _ := claims.GetExpirationTime()
	iat, _ := claims.GetIssuedAt()
	if d := exp.Sub(iat.Time); d != time.Hour {
		t.Errorf("lifetime = %v, want 1h", d)
	}

	// Another audience does not accept it.
	other, err := auth.NewJWTVerifier(t.Context(), auth.JWTConfig{Issuer: srv.URL, Audience: "someone-else"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Verify(t.Context(), out.Token); reroute.ErrorCode(err) != reroute.CodeUnauthenticated {
		t.Errorf("another audience: err = %v", err)
	}
}

func TestDevIssuerMint(t *testing.T) {
	t.Parallel()
	d, srv := startDevIssuer(t)
	v := devVerifier(t, srv.URL, srv.Client())

	subOf := func(token string) string {
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
			t.Fatal(err)
		}
		s, _ := claims.GetSubject()
		return s
	}
	a1, err := d.Mint("ann@example.com", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := d.Mint("ANN@example.com", 0)
	b, _ := d.Mint("bob@example.com", 0)
	if subOf(a1) == "" || subOf(a1) != subOf(a2) || subOf(a1) == subOf(b) {
		t.Errorf("subjects: %q %q %q; want stable per email", subOf(a1), subOf(a2), subOf(b))
	}
	if email, err := v.Verify(t.Context(), a1); err != nil || email != "ann@example.com" {
		t.Errorf("Verify = %q, %v", email, err)
	}

	expired, err := d.Mint("ann@example.com", -time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), expired); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("an expired token: err = %v", err)
	}
	if _, err := d.Mint("not an email", 0); reroute.ErrorCode(err) != reroute.CodeInvalid {
		t.Errorf("Mint(bad email): err = %v", err)
	}
}

// Every token the dev issuer mints says its email is verified, as the API requires;
// MintWith makes the ones it refuses.
func TestDevIssuerMintWith(t *testing.T) {
	t.Parallel()
	d, srv := startDevIssuer(t)
	v := devVerifier(t, srv.URL, srv.Client())
	claimsOf := func(token string) jwt.MapClaims {
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
			t.Fatal(err)
		}
		return claims
	}
	tok, err := d.Mint("ann@example.com", 0)
	if err != nil {
		t.Fatal(err)
	}
	if ev, ok := claimsOf(tok)["email_verified"].(bool); !ok || !ev {
		t.Errorf("email_verified = %v, want true", claimsOf(tok)["email_verified"])
	}
	for _, change := range []map[string]any{{"email_verified": nil}, {"email_verified": false}} {
		tok, err := d.MintWith("ann@example.com", 0, change)
		if err != nil {
			t.Fatal(err)
		}
		if _, present := claimsOf(tok)["email_verified"]; present != (change["email_verified"] != nil) {
			t.Errorf("%v: claims %v", change, claimsOf(tok))
		}
		if _, err := v.Verify(t.Context(), tok); reroute.ErrorCode(err) != reroute.CodeForbidden {
			t.Errorf("%v: Verify error = %v, want forbidden", change, err)
		}
	}
	tok, err = d.MintWith("ann@example.com", 0, map[string]any{"email": "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if email, err := v.Verify(t.Context(), tok); err != nil || email != "bob@example.com" {
		t.Errorf("Verify = %q, %v", email, err)
	}
}

// Client serves the issuer in-process: a verifier can be built before anything listens.
func TestDevIssuerClient(t *testing.T) {
	t.Parallel()
	d, err := devstack.NewDevIssuer("http://127.0.0.1:1", devAudience)
	if err != nil {
		t.Fatal(err)
	}
	v := devVerifier(t, d.Issuer(), d.Client())
	tok, err := d.Mint("ann@example.com", 0)
	if err != nil {
		t.Fatal(err)
	}
	if email, err := v.Verify(t.Context(), tok); err != nil || email != "ann@example.com" {
		t.Fatalf("Verify = %q, %v", email, err)
	}
	if _, err := d.Client().Get("http://example.com/"); err == nil {
		t.Error("the in-process client reached another host")
	}
}

func TestDevIssuerTokenErrors(t *testing.T) {
	t.Parallel()
	_, srv := startDevIssuer(t)
	tests := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"not JSON", `email=a@b.c`, 400, "invalid_json"},
		{"empty", ``, 400, "invalid_json"},
		{"array", `["ann@example.com"]`, 400, "invalid_json"},
		{"unknown field", `{"email": "ann@example.com", "admin": true}`, 400, "invalid_json"},
		{"two objects", `{"email": "ann@example.com"} {"email": "bob@example.com"}`, 400, "invalid_json"},
		{"no email", `{}`, 400, "validation_failed"},
		{"bad email", `{"email": "ann"}`, 400, "validation_failed"},
		{"display name", `{"email": "Ann <ann@example.com>"}`, 400, "validation_failed"},
		{"too large", `{"email": "` + strings.Repeat("a", 5000) + `@example.com"}`, 413, "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := postJSON(t, srv.Client(), srv.URL+"/dev/token", tt.body)
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("= %d %s, want %d problem: %s", resp.StatusCode, resp.Header.Get("Content-Type"), tt.status, body)
			}
			var p struct {
				Type, Title, Detail, Code string
				Status                    int
			}
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatal(err)
			}
			if p.Code != tt.code || p.Status != tt.status || p.Detail == "" || p.Type == "" {
				t.Errorf("problem = %+v, want code %s", p, tt.code)
			}
		})
	}

	resp, err := srv.Client().Get(srv.URL + "/dev/token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /dev/token = %d", resp.StatusCode)
	}
}

func TestDevIssuerDiscovery(t *testing.T) {
	t.Parallel()
	_, srv := startDevIssuer(t)
	resp, err := srv.Client().Get(srv.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"issuer":                                srv.URL,
		"jwks_uri":                              srv.URL + "/.well-known/jwks.json",
		"authorization_endpoint":                srv.URL + "/authorize",
		"token_endpoint":                        srv.URL + "/token",
		"response_types_supported":              []any{"code"},
		"subject_types_supported":               []any{"public"},
		"id_token_signing_alg_values_supported": []any{"RS256"},
		"code_challenge_methods_supported":      []any{"S256"},
	}
	for k, w := range want {
		if got, _ := json.Marshal(doc[k]); string(got) != mustJSON(t, w) {
			t.Errorf("%s = %s, want %s", k, got, mustJSON(t, w))
		}
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Error("discovery is not readable cross-origin")
	}
	jwks, err := srv.Client().Get(srv.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer jwks.Body.Close()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.NewDecoder(jwks.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 || set.Keys[0]["kty"] != "RSA" || set.Keys[0]["alg"] != "RS256" || set.Keys[0]["d"] != nil {
		t.Errorf("JWKS = %v", set)
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNewDevIssuerFails(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ issuer, aud string }{
		{"127.0.0.1:8080", devAudience},
		{"ftp://127.0.0.1", devAudience},
		{"http://127.0.0.1:8080?x=1", devAudience},
		{"http://127.0.0.1:8080", ""},
	} {
		if _, err := devstack.NewDevIssuer(tt.issuer, tt.aud); err == nil {
			t.Errorf("NewDevIssuer(%q, %q) succeeded", tt.issuer, tt.aud)
		}
	}
}

// The dashboard's sign-in: authorization code with PKCE, as against Cognito.
func TestDevIssuerCodeFlow(t *testing.T) {
	t.Parallel()
	_, srv := startDevIssuer(t)
	v := devVerifier(t, srv.URL, srv.Client())
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	const redirectURI = "http://localhost:5173/callback"
	verifier := strings.Repeat("v", 50)
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	authz := url.Values{
		"response_type": {"code"}, "client_id": {devAudience}, "redirect_uri": {redirectURI},
		"scope": {"openid email"}, "state": {"st-1"}, "nonce": {"n-1"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}

	// The sign-in page.
	resp, err := client.Get(srv.URL + "/authorize?" + authz.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `name="email"`) || !strings.Contains(string(page), challenge) {
		t.Fatalf("GET /authorize = %d: %s", resp.StatusCode, page)
	}

	// Signing in redirects back with a code and the state.
	signIn := func(form url.Values) (*http.Response, string) {
		resp, err := client.PostForm(srv.URL+"/authorize", form)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	form := url.Values{"email": {"Dev@Example.com"}}
	for k, vs := range authz {
		form[k] = vs
	}
	resp, _ = signIn(form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /authorize = %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirectURI+"?") || loc.Query().Get("state") != "st-1" || loc.Query().Get("code") == "" {
		t.Fatalf("Location = %q", resp.Header.Get("Location"))
	}
	code := loc.Query().Get("code")

	exchange := func(form url.Values) (int, map[string]any) {
		resp, err := client.PostForm(srv.URL+"/token", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, out
	}
	tokenForm := func(code, verifier string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {devAudience},
			"redirect_uri": {redirectURI}, "code_verifier": {verifier}}
	}

	// A wrong verifier spends the code.
	resp, _ = signIn(form)
	spent := mustCode(t, resp)
	if status, out := exchange(tokenForm(spent, strings.Repeat("w", 50))); status != 400 || out["error"] != "invalid_grant" {
		t.Errorf("wrong verifier: %d %v", status, out)
	}
	if status, out := exchange(tokenForm(spent, verifier)); status != 400 || out["error"] != "invalid_grant" {
		t.Errorf("code after a failed exchange: %d %v", status, out)
	}

	status, out := exchange(tokenForm(code, verifier))
	if status != http.StatusOK || out["token_type"] != "Bearer" {
		t.Fatalf("POST /token = %d %v", status, out)
	}
	idToken, _ := out["id_token"].(string)
	if email, err := v.Verify(t.Context(), idToken); err != nil || email != "dev@example.com" {
		t.Fatalf("Verify(id_token) = %q, %v", email, err)
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(idToken, claims); err != nil || claims["nonce"] != "n-1" {
		t.Errorf("nonce = %v, %v", claims["nonce"], err)
	}
	if status, out := exchange(tokenForm(code, verifier)); status != 400 || out["error"] != "invalid_grant" {
		t.Errorf("code reused: %d %v", status, out)
	}

	// Requests that are refused without a redirect.
	bad := []struct {
		name   string
		change func(url.Values)
	}{
		{"wrong client", func(q url.Values) { q.Set("client_id", "other") }},
		{"remote redirect_uri", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }},
		{"relative redirect_uri", func(q url.Values) { q.Set("redirect_uri", "/cb") }},
		{"implicit flow", func(q url.Values) { q.Set("response_type", "token") }},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }},
		{"no challenge", func(q url.Values) { q.Del("code_challenge") }},
	}
	for _, b := range bad {
		q := url.Values{}
		for k, vs := range form {
			q[k] = vs
		}
		b.change(q)
		resp, err := client.Get(srv.URL + "/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET /authorize %s = %d, want 400", b.name, resp.StatusCode)
		}
		if resp, _ := signIn(q); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("POST /authorize %s = %d %q, want 400", b.name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	form.Set("email", "nope")
	if resp, body := signIn(form); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "<form") {
		t.Errorf("bad email: %d, want the form again", resp.StatusCode)
	}
}

func mustCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("no code in %q", resp.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

// Silent renewal: prompt=none answers at once, with a code for the user who
// signed in before, and login_required for a browser that never did.
func TestDevIssuerPromptNone(t *testing.T) {
	t.Parallel()
	_, srv := startDevIssuer(t)
	v := devVerifier(t, srv.URL, srv.Client())
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	const redirectURI = "http://localhost:5173/silent-renew"
	verifier := strings.Repeat("s", 60)
	sum := sha256.Sum256([]byte(verifier))
	authz := url.Values{
		"response_type": {"code"}, "client_id": {devAudience}, "redirect_uri": {redirectURI},
		"scope": {"openid email"}, "state": {"st-2"}, "nonce": {"n-2"}, "prompt": {"none"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	get := func(cookie *http.Cookie) *http.Response {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/authorize?"+authz.Encode(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if cookie != nil {
			req.AddCookie(cookie)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	// Without a session: login_required, with the state, and no form.
	resp := get(nil)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode/100 != 3 || err != nil || !strings.HasPrefix(loc.String(), redirectURI+"?") ||
		loc.Query().Get("error") != "login_required" || loc.Query().Get("state") != "st-2" || loc.Query().Get("code") != "" {
		t.Fatalf("prompt=none without a session = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A cookie that is not one of ours is no session.
	if resp := get(&http.Cookie{Name: "dnsreroute_dev_session", Value: "not base64!"}); !strings.Contains(resp.Header.Get("Location"), "error=login_required") {
		t.Errorf("prompt=none with a bad cookie: %q", resp.Header.Get("Location"))
	}

	// Signing in with the form sets the session cookie.
	form := url.Values{"email": {"Renew@Example.com"}}
	for k, vs := range authz {
		if k != "prompt" {
			form[k] = vs
		}
	}
	resp, err = client.PostForm(srv.URL+"/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "dnsreroute_dev_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Value == "" {
		t.Fatalf("POST /authorize set no HttpOnly SameSite=Lax session cookie: %v", resp.Cookies())
	}
	if strings.Contains(session.Value, "@") {
		t.Errorf("cookie value %q is not encoded", session.Value)
	}
	mustCode(t, resp)

	// With it: a code at once, for that user, with the state.
	resp = get(session)
	loc, _ = url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Query().Get("state") != "st-2" || loc.Query().Get("error") != "" {
		t.Fatalf("prompt=none with a session = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	code := mustCode(t, resp)
	tr, err := client.PostForm(srv.URL+"/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"client_id": {devAudience}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(tr.Body).Decode(&out); err != nil || tr.StatusCode != http.StatusOK {
		t.Fatalf("POST /token = %d %v %v", tr.StatusCode, out, err)
	}
	idToken, _ := out["id_token"].(string)
	if email, err := v.Verify(t.Context(), idToken); err != nil || email != "renew@example.com" {
		t.Fatalf("Verify(id_token) = %q, %v", email, err)
	}

	// A bad request is still refused without a redirect, session or not.
	authz.Set("client_id", "other")
	if resp := get(session); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("prompt=none, wrong client = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
