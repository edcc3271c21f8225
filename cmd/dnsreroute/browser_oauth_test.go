package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"
)

// TestBrowserOAuth drives the dashboard's OAuth screens in Chromium: an owner
// registers an app (its secret shown once) and rotates its secret, a user
// allows the app on the consent page and is sent back to the app with a code
// the app exchanges, then revokes the app under authorized apps. axe-core
// checks each screen; screenshots at 1280 and 375 px.
func TestBrowserOAuth(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is not installed at %s: run `make chromium` (as root), or `make test`", chromiumPath)
	}
	dist := filepath.Join("..", "..", "web", "dist")
	if _, err := os.Stat(filepath.Join(dist, "index.html")); err != nil {
		t.Fatalf("the dashboard is not built (%v): run `make web` first (`make test` does)", err)
	}
	apiURL, _, _ := startLocalStack(t, dist)
	// The app's callback, on loopback as a native app's would be.
	codes := make(chan url.Values, 4)
	cbLn := listen(t)
	serve(t, cbLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r) // the browser's favicon.ico
			return
		}
		codes <- r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="en"><title>Acme Registrar</title><main><h1>Connected to DNSReRoute</h1></main></html>`)
	}))
	callback := "http://" + cbLn.Addr().String() + "/callback"

	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)
	var pageErrs pageErrors
	if err := chromedp.Listen(ctx, pageErrs.listen); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("enable the browser log: %v", err)
	}
	b := &browser{t: t, ctx: ctx, errs: &pageErrs}
	const email = "owner@example.com"
	var orgPath, clientID, secret string

	b.step("oauth-01-signed-in", func() {
		b.run(chromedp.Navigate(apiURL + "/"))
		b.click(button("Sign in"))
		b.waitText("Email")
		b.run(chromedp.SendKeys(field("Email"), email))
		b.click(button("Sign in"))
		b.waitText("Welcome: create your org")
		b.run(chromedp.SendKeys(field("Org name"), "Acme"))
		b.click(button("Create org"))
		b.waitText("No routes yet")
		orgPath = strings.TrimSuffix(b.eval(`location.pathname`), "/routes")
	})
	b.step("oauth-02-app-registered", func() {
		b.run(chromedp.Navigate(apiURL + orgPath + "/settings/oauth-apps"))
		b.waitText("Register an app")
		b.run(
			chromedp.SendKeys(field("Name"), "Acme Registrar"),
			chromedp.SendKeys(field("Redirect URIs"), callback),
		)
		b.click(button("Register app"))
		b.waitText("Copy the client secret now")
		secret = b.eval(`document.querySelector("[data-testid=oauth-client-secret]").textContent`)
		clientID = b.eval(`document.querySelector(".secret .secret-value").textContent`)
		if !strings.HasPrefix(secret, "dro_cs_") || !strings.HasPrefix(clientID, "app_") {
			t.Fatalf("client %q secret %q", clientID, secret)
		}
		b.axe("OAuth apps settings")
	})
	b.step("oauth-03-secret-rotated", func() {
		b.click(button("Done"))
		b.click(button("Rotate secret"))
		b.waitText("Copy the client secret now")
		rotated := b.eval(`document.querySelector("[data-testid=oauth-client-secret]").textContent`)
		if rotated == secret || !strings.HasPrefix(rotated, "dro_cs_") {
			t.Fatalf("rotated secret %q", rotated)
		}
		secret = rotated
		b.click(button("Done"))
	})

	conf := &oauth2.Config{
		ClientID: clientID, ClientSecret: secret, RedirectURL: callback, Scopes: []string{"routes:read", "analytics:read"},
		Endpoint: oauth2.Endpoint{AuthURL: apiURL + "/oauth/authorize", TokenURL: apiURL + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader},
	}
	verifier := oauth2.GenerateVerifier()
	b.step("oauth-04-consent", func() {
		b.run(chromedp.Navigate(conf.AuthCodeURL("state-in-the-browser", oauth2.S256ChallengeOption(verifier))))
		b.waitText("Acme Registrar asks to act for you")
		b.waitText("See your redirects and their rules")
		b.waitText("See how often your redirects are used")
		b.axe("consent page")
	})
	b.step("oauth-04-consent-narrow-375", func() {
		b.run(chromedp.EmulateViewport(375, 812))
		b.waitText("Acme Registrar asks to act for you")
		b.waitJS(`document.documentElement.scrollWidth <= 375`, "a page no wider than 375 px")
	})
	var tok *oauth2.Token
	b.step("oauth-05-allowed", func() {
		b.run(chromedp.EmulateViewport(1280, 900))
		b.click(button("Allow Acme Registrar"))
		b.waitText("Connected to DNSReRoute")
		var q url.Values
		select {
		case q = <-codes:
		case <-time.After(browserWait):
			t.Fatal("the app's callback was never called")
		}
		if q.Get("state") != "state-in-the-browser" || q.Get("code") == "" {
			t.Fatalf("callback: %v", q)
		}
		var err error
		tok, err = conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if status := apiStatus(t, apiURL+"/v1"+orgPath+"/routes", tok.AccessToken); status != 200 {
			t.Fatalf("the app lists routes: %d", status)
		}
	})
	b.step("oauth-06-authorized-apps", func() {
		b.run(chromedp.Navigate(apiURL + orgPath + "/settings/authorized-apps"))
		b.waitText("Acme Registrar")
		b.waitText("routes:read")
		b.axe("authorized apps")
	})
	b.step("oauth-06-authorized-apps-narrow-375", func() {
		b.run(chromedp.EmulateViewport(375, 812))
		b.waitText("Acme Registrar")
		b.waitJS(`document.documentElement.scrollWidth <= 375`, "a page no wider than 375 px")
	})
	b.step("oauth-07-revoked", func() {
		b.run(chromedp.EmulateViewport(1280, 900))
		b.click(button("Revoke"))
		b.waitText("Revoke Acme Registrar?")
		b.click(chromedp.Search(`//dialog//button[normalize-space(.)="Revoke"]`))
		b.waitText("You have not connected any app to this org")
		if status := apiStatus(t, apiURL+"/v1"+orgPath+"/routes", tok.AccessToken); status != 401 {
			t.Fatalf("a revoked app lists routes: %d", status)
		}
	})
	b.step("oauth-08-denied", func() {
		b.run(chromedp.Navigate(conf.AuthCodeURL("state-denied-123", oauth2.S256ChallengeOption(verifier))))
		b.click(button("Deny"))
		b.waitText("Connected to DNSReRoute") // the app's page, told access_denied
		select {
		case q := <-codes:
			if q.Get("error") != "access_denied" || q.Get("code") != "" {
				t.Fatalf("callback after deny: %v", q)
			}
		case <-time.After(browserWait):
			t.Fatal("the app's callback was never called")
		}
	})
}

// eval answers a JavaScript expression's string value.
func (b *browser) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return strings.TrimSpace(s)
}

func apiStatus(t *testing.T, u, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
