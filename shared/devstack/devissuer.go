package devstack

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// DevIssuer is an OpenID Connect issuer for local runs only: it signs ID tokens for
// any email it is given, so nothing but the local stack may trust it. It serves
// its discovery document and key set like a real issuer, so the API verifies its
// tokens through the same JWKS code path as Cognito's; and the authorization code
// flow with PKCE (S256), so the dashboard signs in as it does against Cognito.
type DevIssuer struct {
	issuer    string
	audience  string
	key       *rsa.PrivateKey
	kid       string
	jwks      []byte
	discovery []byte
	now       func() time.Time

	mu    sync.Mutex
	codes map[string]authCode
}

// authCode is a pending authorization code of the code flow.
type authCode struct {
	email, clientID, redirectURI, challenge, nonce string
	expires                                        time.Time
}

// Limits of the dev issuer.
const (
	devTokenTTL    = time.Hour
	devCodeTTL     = time.Minute
	devMaxCodes    = 1000
	devMaxBodySize = 4 << 10
)

// NewDevIssuer returns an issuer named issuerURL (such as "http://127.0.0.1:8080")
// whose tokens are for audience, signing with a new RSA-2048 key.
func NewDevIssuer(issuerURL, audience string) (*DevIssuer, error) {
	u, err := url.Parse(issuerURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("devstack: issuer %q is not an absolute http(s) URL", issuerURL)
	}
	if audience == "" {
		return nil, errors.New("devstack: an audience is required")
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("devstack: generating the issuer's key: %w", err)
	}
	kid := rand.Text()[:16]
	jwk, err := jwkset.NewJWKFromKey(&key.PublicKey, jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{ALG: jwkset.AlgRS256, KID: kid, USE: jwkset.UseSig},
	})
	if err != nil {
		return nil, fmt.Errorf("devstack: the issuer's JWK: %w", err)
	}
	jwks, err := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{jwk.Marshal()}})
	if err != nil {
		return nil, fmt.Errorf("devstack: the issuer's JWKS: %w", err)
	}
	base := strings.TrimSuffix(issuerURL, "/")
	discovery, err := json.Marshal(map[string]any{
		"issuer":                                issuerURL,
		"jwks_uri":                              base + "/.well-known/jwks.json",
		"authorization_endpoint":                base + "/authorize",
		"token_endpoint":                        base + "/token",
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"none"},
		"scopes_supported":                      []string{"openid", "email"},
		"claims_supported":                      []string{"iss", "aud", "sub", "email", "email_verified", "iat", "nbf", "exp", "nonce"},
	})
	if err != nil {
		return nil, fmt.Errorf("devstack: the discovery document: %w", err)
	}
	return &DevIssuer{
		issuer: issuerURL, audience: audience, key: key, kid: kid, jwks: jwks, discovery: discovery,
		now: time.Now, codes: make(map[string]authCode),
	}, nil
}

// Issuer returns the issuer URL, the "iss" of its tokens.
func (d *DevIssuer) Issuer() string { return d.issuer }

// Audience returns the "aud" of its tokens.
func (d *DevIssuer) Audience() string { return d.audience }

// Mint returns a signed RS256 ID token for email, valid for ttl (an hour if zero;
// a negative ttl gives an already expired token, for tests).
func (d *DevIssuer) Mint(email string, ttl time.Duration) (string, error) {
	return d.mint(email, ttl, "", nil)
}

// MintWith is Mint with claims changed, for tests of the tokens the API refuses:
// each entry sets a claim, or removes it when its value is nil (for example
// "email_verified", which every other token of the dev issuer carries as true).
func (d *DevIssuer) MintWith(email string, ttl time.Duration, claims map[string]any) (string, error) {
	return d.mint(email, ttl, "", claims)
}

func (d *DevIssuer) mint(email string, ttl time.Duration, nonce string, change map[string]any) (string, error) {
	e, err := reroute.NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	if ttl == 0 {
		ttl = devTokenTTL
	}
	now := d.now().Truncate(time.Second)
	sub := sha256.Sum256([]byte("dnsreroute-dev-subject:" + e))
	claims := jwt.MapClaims{
		"iss":            d.issuer,
		"aud":            d.audience,
		"sub":            "dev-" + hex.EncodeToString(sub[:16]),
		"email":          e,
		"email_verified": true,
		"iat":            now.Unix(),
		"nbf":            now.Unix(),
		"exp":            now.Add(ttl).Unix(),
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	for k, v := range change {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = d.kid
	s, err := t.SignedString(d.key)
	if err != nil {
		return "", fmt.Errorf("devstack: signing a token: %w", err)
	}
	return s, nil
}

// Handler serves the issuer, with paths relative to the issuer URL's root (mount
// it under http.StripPrefix if the issuer URL has a path):
//
//	GET  /.well-known/openid-configuration  discovery document
//	GET  /.well-known/jwks.json             the public key set
//	POST /dev/token  {"email": "..."}       {"token": "<ID token>"}, no sign-in page
//	GET  /authorize, POST /authorize        sign-in form of the code flow (PKCE S256);
//	                                        GET with prompt=none answers without the form
//	POST /token                             code for tokens
func (d *DevIssuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /.well-known/openid-configuration", corsAny(rawJSON(d.discovery)))
	mux.Handle("GET /.well-known/jwks.json", corsAny(rawJSON(d.jwks)))
	mux.HandleFunc("POST /dev/token", d.devToken)
	mux.HandleFunc("GET /authorize", d.authorizeForm)
	mux.HandleFunc("POST /authorize", d.authorize)
	mux.Handle("POST /token", corsAny(http.HandlerFunc(d.token)))
	mux.Handle("OPTIONS /token", corsAny(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	return mux
}

// Client returns an HTTP client that answers requests under the issuer URL with
// Handler in-process, so that a verifier can be built before anything listens;
// other requests fail.
func (d *DevIssuer) Client() *http.Client {
	return &http.Client{Transport: inProcess{base: strings.TrimSuffix(d.issuer, "/"), h: d.Handler()}, Timeout: 10 * time.Second}
}

type inProcess struct {
	base string
	h    http.Handler
}

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	u := r.URL.String()
	if !strings.HasPrefix(u, t.base+"/") {
		return nil, fmt.Errorf("devstack: %s is not under the dev issuer %s", u, t.base)
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func rawJSON(b []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(b)
	})
}

// corsAny lets pages of any origin read the response, as public OIDC endpoints do.
func corsAny(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
			w.Header().Set("Access-Control-Max-Age", "600")
		}
		h.ServeHTTP(w, r)
	})
}

// devToken mints a token for the email of a JSON body, with no sign-in.
func (d *DevIssuer) devToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email string `json:"email"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, devMaxBodySize))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			problem(w, http.StatusRequestEntityTooLarge, "body_too_large", "the body is larger than 4 KiB")
			return
		}
		problem(w, http.StatusBadRequest, "invalid_json", `the body must be a JSON object {"email": "..."}`)
		return
	}
	if dec.More() {
		problem(w, http.StatusBadRequest, "invalid_json", "the body must hold one JSON object")
		return
	}
	token, err := d.Mint(in.Email, 0)
	if err != nil {
		if reroute.ErrorCode(err) == reroute.CodeInvalid {
			problem(w, http.StatusBadRequest, "validation_failed", "an email address such as name@example.com is required")
			return
		}
		problem(w, http.StatusInternalServerError, "internal_error", "the token could not be made")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"token": token})
}

// authParams are the parameters of an authorization request.
type authParams struct {
	ClientID, RedirectURI, State, Challenge, Nonce, LoginHint string
}

// authParamsOf validates an authorization request. A request whose client or
// redirect_uri is wrong is answered here, never redirected.
func (d *DevIssuer) authParamsOf(f url.Values) (authParams, error) {
	p := authParams{
		ClientID: f.Get("client_id"), RedirectURI: f.Get("redirect_uri"), State: f.Get("state"),
		Challenge: f.Get("code_challenge"), Nonce: f.Get("nonce"), LoginHint: f.Get("login_hint"),
	}
	switch {
	case p.ClientID != d.audience:
		return p, errors.New("unknown client_id")
	case !loopbackURL(p.RedirectURI):
		return p, errors.New("redirect_uri must be an http(s) URL on a loopback host")
	case f.Get("response_type") != "code":
		return p, errors.New(`response_type must be "code"`)
	case f.Get("code_challenge_method") != "S256":
		return p, errors.New(`code_challenge_method must be "S256"`)
	case len(p.Challenge) != 43 || strings.Trim(p.Challenge, base64URLAlphabet) != "":
		return p, errors.New("code_challenge must be a base64url SHA-256")
	case len(p.State) > 1024 || len(p.Nonce) > 1024 || len(p.LoginHint) > reroute.MaxEmailLen:
		return p, errors.New("a parameter is too long")
	}
	return p, nil
}

const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// loopbackURL reports whether s is an absolute http(s) URL on this machine, the
// only place a dev issuer sends codes to.
func loopbackURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Fragment != "" || u.User != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

var signInPage = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dev sign-in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main>
<h1>Dev sign-in</h1>
<p>Local development issuer: any email signs in, no password.</p>
<form method="post" action="{{.Action}}">
<label>Email <input type="email" name="email" value="{{.P.LoginHint}}" required autofocus></label>
<input type="hidden" name="response_type" value="code">
<input type="hidden" name="code_challenge_method" value="S256">
<input type="hidden" name="client_id" value="{{.P.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.P.RedirectURI}}">
<input type="hidden" name="state" value="{{.P.State}}">
<input type="hidden" name="code_challenge" value="{{.P.Challenge}}">
<input type="hidden" name="nonce" value="{{.P.Nonce}}">
<button type="submit">Sign in</button>
</form>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
</main></body></html>
`))

// devSessionCookie remembers, on this loopback issuer only, who signed in last,
// so that prompt=none (the dashboard's silent renewal) can answer without the form.
const devSessionCookie = "dnsreroute_dev_session"

// authorizeForm shows the sign-in form; with prompt=none it answers at once: a
// code for the user who signed in before (the session cookie), else
// login_required (OpenID Connect Core §3.1.2.6).
func (d *DevIssuer) authorizeForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := d.authParamsOf(q)
	if err != nil {
		problem(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if q.Get("prompt") == "none" {
		if email, ok := d.sessionEmail(r); ok {
			d.redirectWithCode(w, r, p, email)
			return
		}
		d.redirectWithError(w, r, p, "login_required", "no user is signed in at the dev issuer")
		return
	}
	d.renderSignIn(w, http.StatusOK, p, "")
}

// sessionEmail is the email of the session cookie, if there is a valid one.
func (d *DevIssuer) sessionEmail(r *http.Request) (string, bool) {
	c, err := r.Cookie(devSessionCookie)
	if err != nil {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return "", false
	}
	email, err := reroute.NormalizeEmail(string(raw))
	if err != nil {
		return "", false
	}
	return email, true
}

// setSession remembers email in an HttpOnly, SameSite=Lax cookie of the issuer's host.
func (d *DevIssuer) setSession(w http.ResponseWriter, email string) {
	path := "/"
	if u, err := url.Parse(d.issuer); err == nil && strings.TrimSuffix(u.Path, "/") != "" {
		path = strings.TrimSuffix(u.Path, "/") + "/"
	}
	http.SetCookie(w, &http.Cookie{
		Name:     devSessionCookie,
		Value:    base64.RawURLEncoding.EncodeToString([]byte(email)),
		Path:     path,
		MaxAge:   int((12 * time.Hour) / time.Second),
		HttpOnly: true,
		Secure:   strings.HasPrefix(d.issuer, "https:"),
		SameSite: http.SameSiteLaxMode,
	})
}

// redirectWithError sends an OAuth error back to the (already checked) redirect_uri.
func (d *DevIssuer) redirectWithError(w http.ResponseWriter, r *http.Request, p authParams, code, desc string) {
	u, _ := url.Parse(p.RedirectURI) // checked by authParamsOf
	q := u.Query()
	q.Set("error", code)
	q.Set("error_description", desc)
	if p.State != "" {
		q.Set("state", p.State)
	}
	q.Set("iss", d.issuer) // RFC 9207
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (d *DevIssuer) renderSignIn(w http.ResponseWriter, status int, p authParams, msg string) {
	var b bytes.Buffer
	if err := signInPage.Execute(&b, map[string]any{"Action": strings.TrimSuffix(d.issuer, "/") + "/authorize", "P": p, "Error": msg}); err != nil {
		problem(w, http.StatusInternalServerError, "internal_error", "the page could not be made")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// authorize signs the email of the form in and redirects back with a code.
func (d *DevIssuer) authorize(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, devMaxBodySize)
	if err := r.ParseForm(); err != nil {
		problem(w, http.StatusBadRequest, "invalid_request", "the form could not be read")
		return
	}
	p, err := d.authParamsOf(r.PostForm)
	if err != nil {
		problem(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	email, err := reroute.NormalizeEmail(r.PostForm.Get("email"))
	if err != nil {
		p.LoginHint = r.PostForm.Get("email")
		if len(p.LoginHint) > reroute.MaxEmailLen {
			p.LoginHint = ""
		}
		d.renderSignIn(w, http.StatusBadRequest, p, "Enter an email address such as name@example.com.")
		return
	}
	d.setSession(w, email)
	d.redirectWithCode(w, r, p, email)
}

// redirectWithCode issues a code for email and sends it to the (already checked) redirect_uri.
func (d *DevIssuer) redirectWithCode(w http.ResponseWriter, r *http.Request, p authParams, email string) {
	code := rand.Text()
	now := d.now()
	d.mu.Lock()
	if len(d.codes) >= devMaxCodes {
		for c, ac := range d.codes {
			if now.After(ac.expires) {
				delete(d.codes, c)
			}
		}
		if len(d.codes) >= devMaxCodes {
			clear(d.codes)
		}
	}
	d.codes[code] = authCode{email: email, clientID: p.ClientID, redirectURI: p.RedirectURI,
		challenge: p.Challenge, nonce: p.Nonce, expires: now.Add(devCodeTTL)}
	d.mu.Unlock()

	u, _ := url.Parse(p.RedirectURI) // checked by authParamsOf
	q := u.Query()
	q.Set("code", code)
	if p.State != "" {
		q.Set("state", p.State)
	}
	q.Set("iss", d.issuer) // RFC 9207
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// token exchanges a code for tokens (RFC 6749 §4.1.3, RFC 7636 §4.6).
func (d *DevIssuer) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, devMaxBodySize)
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request", "the form could not be read")
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "authorization_code" {
		oauthError(w, "unsupported_grant_type", `grant_type must be "authorization_code"`)
		return
	}
	code := f.Get("code")
	d.mu.Lock()
	ac, ok := d.codes[code]
	delete(d.codes, code) // a code is used once, whatever the outcome
	d.mu.Unlock()
	verifier := f.Get("code_verifier")
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	switch {
	case !ok || d.now().After(ac.expires):
		oauthError(w, "invalid_grant", "the code is unknown, used or expired")
	case f.Get("client_id") != ac.clientID:
		oauthError(w, "invalid_grant", "the code was issued to another client")
	case f.Get("redirect_uri") != ac.redirectURI:
		oauthError(w, "invalid_grant", "redirect_uri differs from the authorization request's")
	case len(verifier) < 43 || len(verifier) > 128 ||
		subtle.ConstantTimeCompare([]byte(challenge), []byte(ac.challenge)) != 1:
		oauthError(w, "invalid_grant", "code_verifier does not match the code_challenge")
	default:
		tok, err := d.mint(ac.email, devTokenTTL, ac.nonce, nil)
		if err != nil {
			oauthError(w, "server_error", "the token could not be made")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"id_token":     tok,
			"access_token": tok, // the API takes the ID token; clients want an access token too
			"token_type":   "Bearer",
			"expires_in":   int(devTokenTTL / time.Second),
			"scope":        "openid email",
		})
	}
}

func oauthError(w http.ResponseWriter, code, desc string) {
	status := http.StatusBadRequest
	if code == "server_error" {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// problem answers an RFC 9457 problem in the API's shape.
func problem(w http.ResponseWriter, status int, code, detail string) {
	b, _ := json.Marshal(map[string]any{
		"type":   "https://dnsreroute.dev/problems/" + code,
		"title":  http.StatusText(status),
		"status": status,
		"detail": detail,
		"code":   code,
	})
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	_, _ = io.WriteString(w, "\n")
}
