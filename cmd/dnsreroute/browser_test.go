package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/dnsreroute/dnsreroute/shared/analytics"
	"github.com/dnsreroute/dnsreroute/shared/dnscheck/dnstest"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/redirect"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// chromiumPath is Debian's Chromium (make chromium installs it).
const chromiumPath = "/usr/bin/chromium"

// browserWait bounds each wait for the page or the stack: generous, since a busy
// machine may take long, and a wait ends as soon as its condition holds.
const browserWait = time.Minute

// screenshotDir is where each step's screenshot goes (git-ignored), from the
// repository's root; the test runs in cmd/dnsreroute.
const screenshotDir = "../../.screenshots"

// TestBrowserDashboard drives the dashboard in headless Chromium against the local
// stack (DynamoDB Local, the API with the dev issuer, the SPA from web/dist, the
// redirector), each on a free loopback port, as a user would: sign in, create an
// org, add, use, edit and delete a route, hit the free plan's limits, make and
// revoke an API key, give the route path rules (one added, more imported from a
// CSV file through its preview), try a URL on it, export, sign out. Any console error or uncaught exception in the page
// fails it.
func TestBrowserDashboard(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is not installed at %s: run `make chromium` (as root), or `make test`", chromiumPath)
	}
	dist := filepath.Join("..", "..", "web", "dist")
	if _, err := os.Stat(filepath.Join(dist, "index.html")); err != nil {
		t.Fatalf("the dashboard is not built (%v): run `make web` first (`make test` does)", err)
	}
	start := time.Now()
	apiURL, redirectURL, store := startLocalStack(t, dist)

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
	const (
		email  = "owner@example.com"
		host   = "old.example.com"
		target = "https://new.example.org/"
		edited = "https://newer.example.org/landing"
	)

	rowState := func(host, state string) string {
		return fmt.Sprintf(`[...document.querySelectorAll("table.routes tbody tr")].some(r => r.innerText.includes(%q) && r.querySelector(".state-badge").innerText.includes(%q))`, host, state)
	}
	var orgPath string // /orgs/<id>

	b.step("01-signed-in", func() {
		b.run(chromedp.Navigate(apiURL + "/"))
		b.run(chromedp.WaitVisible(button("Sign in")))
		b.waitJS(`document.title === "Sign in · DNSReRoute"`, "the signed-out page's title")
		b.screen("00-signed-out")
		b.click(button("Sign in"))
		// The dev issuer's own page.
		b.waitText("Email")
		b.run(chromedp.SendKeys(field("Email"), email))
		b.screenshot("01-dev-issuer-sign-in")
		b.click(button("Sign in"))
		b.waitText("Welcome: create your org")
		b.waitText(email)
	})
	b.step("02-org-created", func() {
		b.run(chromedp.SendKeys(field("Org name"), "Acme"))
		b.click(button("Create org"))
		b.waitText("No routes yet")
		// A new org is walked to its first redirect, and sees its usage.
		b.waitText("Getting started")
		b.waitText("0 of 1 route on the free plan")
		b.screen("02-routes-empty")
		orgPath = strings.TrimSuffix(b.path(), "/routes")
	})
	b.step("03-route-listed", func() {
		b.click(link("Add route"))
		b.run(chromedp.WaitVisible(field("Hostname")))
		// One default everywhere: the API's (path and query not kept), and the
		// permanent status explained where it is chosen.
		b.waitJS(`!document.getElementById("route-keepPath").checked && !document.getElementById("route-keepQuery").checked`, "keep path and query off, as in the API")
		b.waitText("browsers remember it")
		// Field borders stand out from the page (3:1), in both colour schemes.
		b.waitJS(controlsContrast, "field borders of 3:1 contrast")
		b.colorScheme("dark")
		b.waitJS(controlsContrast, "field borders of 3:1 contrast in dark mode")
		b.colorScheme("")
		b.screen("03-route-editor")
		// Pasted values are cleaned, saying what changed.
		b.run(
			chromedp.SendKeys(field("Hostname"), "https://Old.Example.com/some/path"),
			chromedp.SendKeys(field("Target URL"), "new.example.org/"),
		)
		b.click(button("Add route"))
		b.waitText("Route added")
		b.waitText("Changed https://Old.Example.com/some/path to " + host)
		b.waitText("Changed new.example.org/ to " + target)
		b.screenshot("03-route-added")
		b.click(link("Back to routes"))
		b.waitText(host)
		b.waitText(target)
		// What a visitor gets leads the row: the local edge serves a hostname at once.
		b.waitJS(rowState(host, "Redirecting"), "the route redirecting")
		// The local stack has no KeyValueStore: the origin answers, and the
		// row says why.
		b.waitText("Served by the origin: this deployment has no edge store")
		b.waitText("1 of 1 route on the free plan")
		b.waitJS(`document.title === "Routes · Acme · DNSReRoute"`, "the routes screen's title")
		b.screen("03-routes")
	})
	b.step("03-dns-check", func() {
		// The test's DNS knows no such name: the check says so, in words.
		b.click(summary("Actions for " + host))
		b.click(button("Check DNS of " + host))
		b.waitText(host + " does not exist in DNS")
	})
	b.step("03-disabled-leads", func() {
		b.click(summary("Actions for " + host))
		b.click(button("Disable " + host))
		b.waitJS(rowState(host, "Disabled")+` && !`+rowState(host, "Redirecting"), "the disabled route saying so first")
		b.click(summary("Actions for " + host))
		b.click(button("Enable " + host))
		b.waitJS(rowState(host, "Redirecting"), "the route redirecting again")
	})
	b.step("04-redirector", func() {
		// The resolver caches a miss for a second; the route was added just now.
		deadline := time.Now().Add(browserWait)
		for {
			status, loc, err := redirectRequest(redirectURL, host)
			if err == nil && status == http.StatusMovedPermanently && loc == target {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("redirector for Host %s: status %d, Location %q, err %v; want 301 to %s", host, status, loc, err, target)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	b.step("05-route-limit", func() {
		// The limit shows before any form, with the way to upgrade.
		b.waitText("Upgrade to add more")
		b.run(chromedp.WaitVisible(link("Upgrade to add routes")))
		// A full reload of a deep link: the session is kept.
		b.run(chromedp.Navigate(apiURL + orgPath + "/routes/new"))
		b.waitText("Your plan's route limit is reached")
		b.waitJS(`!document.getElementById("route-host")`, "no form to fill in past the limit")
		b.screenshot("05-route-limit-message")
		b.click(link("See plans and upgrade"))
		b.waitText("Plan & billing")
		// What each plan offers comes from GET /v1/plans: the free plan allows
		// wildcard routes and API keys, and says so.
		b.waitJS(`[...document.querySelectorAll("main .card")][0].innerText.includes("Wildcard routes") && [...document.querySelectorAll("main .card")][0].innerText.includes("API keys")`,
			"the free plan's card listing wildcard routes and API keys")
		b.waitText("Billing is not set up here")
		b.screen("05-billing")
	})
	if withMembersAndKeys {
		b.step("06-members", func() {
			b.click(link("Members"))
			b.waitText("Upgrade to add members")
			b.waitText("1 of 1 member on the free plan")
			// The sole owner can neither leave nor change role.
			b.waitText("The org's only owner")
			b.waitJS(`![...document.querySelectorAll("main button")].some(e => e.innerText.trim() === "Leave") && !document.querySelector("main select")`,
				"no Leave button and no role menu for the sole owner")
			b.screen("06-members")
		})
		b.step("06-new-tab-signed-in", func() {
			// A link opened in a new tab keeps the session (localStorage).
			tab, cancel := chromedp.NewContext(b.ctx)
			defer cancel()
			if _, err := chromedp.Run(tab, chromedp.Navigate(apiURL+orgPath+"/members")); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(browserWait)
			for {
				txt, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
				if strings.Contains(txt, "People in Acme") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("a new tab on the members screen: %q", txt)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
		b.step("07-api-key-created", func() {
			b.click(link("API keys"))
			b.run(
				chromedp.WaitVisible(field("Name")),
			)
			b.screen("07-api-keys")
			b.run(chromedp.SendKeys(field("Name"), "ci"))
			b.setScope()
			b.click(button("Create key"))
			b.run(chromedp.WaitVisible(chromedp.CSS(`[data-testid=api-key-secret]`)))
			secret, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(`[data-testid=api-key-secret]`)))
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(secret) == "" {
				t.Fatal("the new key's secret is empty")
			}
		})
		b.step("07-api-key-revoked", func() {
			b.click(button("Revoke"))
			b.screenshot("07-api-key-revoke-confirm")
			// The confirmation dialog's own "Revoke" button.
			b.click(`//dialog[@open]//button[normalize-space(.)="Revoke"]`)
			b.waitJS(`!document.querySelector("dialog[open]") && ![...document.querySelectorAll("main li, main tr")].some(e => e.innerText.includes("ci"))`,
				"the revoked key gone from the list")
		})
	}
	b.step("07-settings", func() {
		b.click(link("Settings"))
		b.waitText("Delete this org")
		b.waitText("cancels its subscription")
		b.screen("07-settings")
		b.retype(field("Org name"), "Acme Inc")
		b.click(button("Rename"))
		b.waitText("The org is now called Acme Inc")
		b.waitJS(`document.querySelector(".org-switch select").selectedOptions[0].innerText === "Acme Inc"`, "the new name in the org menu")
		b.click(link("Plan"))
		b.waitText("Plans and billing")
		b.screen("07-settings-plan")
	})
	b.step("07-upgrade-shows-everywhere", func() {
		// The payment provider's webhook moves the org to Developer; back from
		// checkout, the billing screen confirms it and every screen follows.
		plan, _ := reroute.DefaultCatalog().Get(reroute.PlanDeveloper)
		orgID := strings.TrimPrefix(orgPath, "/orgs/")
		if _, err := store.ApplyBilling(context.Background(), orgID, reroute.BillingChange{EventID: "evt_browser", EventAt: time.Now().UTC(),
			CustomerID: "cus_browser", SubscriptionID: "sub_browser", Status: "active", Plan: plan.Name, CurrentPeriodEnd: time.Now().AddDate(0, 1, 0)}, plan); err != nil {
			t.Fatal(err)
		}
		b.run(chromedp.Navigate(apiURL + "/billing?checkout=success"))
		b.waitText("You are on the Developer plan")
		if withMembersAndKeys {
			b.click(link("Members"))
			b.waitText("1 of 5 members on the developer plan")
			b.run(chromedp.WaitVisible(field("Email")))
			b.waitJS(`!document.querySelector("main").innerText.includes("Upgrade to add members")`, "no upgrade prompt after the upgrade")
		}
		b.click(link("Routes"))
		b.waitText("1 of 10 routes on the developer plan")
	})
	b.step("07-wildcard-records-kept", func() {
		// A wildcard route's certificate record stays listed until it is issued.
		const wild = "*.wild.example.com"
		b.click(link("Add route"))
		b.run(chromedp.WaitVisible(field("Hostname")), chromedp.SendKeys(field("Hostname"), wild), chromedp.SendKeys(field("Target URL"), target))
		b.click(button("Add route"))
		b.waitText("Route added")
		rt, err := store.GetRoute(context.Background(), wild)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.SaveDomain(context.Background(), rt, reroute.Domain{State: reroute.DomainPendingCertificate, Reason: "The certificate waits for its validation record.",
			Refs: rt.Domain.Refs, VerifiedAt: time.Now().UTC(), CheckedAt: time.Now().UTC(),
			CertificateRecords: []reroute.DNSRecord{{Type: "CNAME", Name: "_c0ffee.wild.example.com", Value: "_v.acm-validations.aws", Purpose: "certificate"}}}); err != nil {
			t.Fatal(err)
		}
		b.click(link("Back to routes"))
		b.waitJS(rowState(wild, "Issuing certificate"), "the wildcard issuing its certificate")
		b.waitText("Still to do at your DNS provider")
		b.waitJS(`[...document.querySelectorAll(".to-create code")].some(e => e.innerText === "_c0ffee.wild")`, "the certificate record named relative to the zone")
		b.waitText("DNS only")
		b.screen("07-routes-todo")
		// The route's own page keeps it too.
		b.click(link(wild))
		b.waitText("DNS records to create for " + wild)
		b.screen("07-route-page-todo")
		b.click(link("Routes"))
		// Search asks the API, across every page.
		b.run(chromedp.SendKeys(field("Search routes"), "wild"))
		b.waitJS(`document.querySelectorAll("table.routes tbody tr").length === 1`, "only the wildcard found")
		b.retype(field("Search routes"), "")
		b.waitJS(`document.querySelectorAll("table.routes tbody tr").length === 2`, "both routes again")
		// Bulk delete, confirmed.
		b.click(`//input[@aria-label="Select ` + wild + `"]`)
		b.click(`//div[@class="bulk-bar"]//button[normalize-space(.)="Delete"]`)
		b.waitText("Delete 1 route?")
		b.click(button("Delete routes"))
		b.waitJS(`document.querySelectorAll("table.routes tbody tr").length === 1`, "the wildcard deleted")
	})
	b.step("08-route-edited", func() {
		b.click(summary("Actions for " + host))
		b.click(link("Edit " + host))
		b.run(
			chromedp.WaitVisible(field("Target URL")),
		)
		b.retype(field("Target URL"), edited)
		b.click(button("Save"))
		b.waitText("Route saved")
		b.waitText(edited)
	})
	b.rulesSteps(host, t.TempDir())
	b.analyticsSteps(store, host)
	b.step("08-route-delete-confirm", func() {
		b.waitText(edited)
		b.click(summary("Actions for " + host))
		b.click(button("Delete " + host))
		b.waitText("Delete " + host + "?")
	})
	b.step("08-route-deleted", func() {
		b.click(button("Delete route"))
		b.waitText("No routes yet")
	})
	b.step("08-api-reference", func() {
		b.click(link("API reference"))
		// The viewer renders the OpenAPI document into its shadow DOM.
		b.waitJS(`document.querySelector("rapi-doc") && document.querySelector("rapi-doc").shadowRoot &&
			document.querySelector("rapi-doc").shadowRoot.textContent.includes("/v1/orgs/{orgId}/routes")`, "the API reference")
		b.run(chromedp.EmulateViewport(375, 812))
		b.waitJS(`document.documentElement.scrollWidth <= 375`, "the API reference no wider than 375 px")
		// The tabs scroll sideways, and fade at the edge to say so.
		b.click(link("Routes"))
		b.waitJS(`document.querySelector(".tabs").scrollWidth > document.querySelector(".tabs").clientWidth && getComputedStyle(document.querySelector(".tabs")).maskImage !== "none"`,
			"the tab strip faded where it scrolls")
	})
	b.step("08-narrow-375", func() {
		b.waitText("No routes yet")
		// Usable at 375 px: nothing wider than the screen.
		b.waitJS(`document.documentElement.scrollWidth <= 375`, "a page no wider than 375 px")
	})
	if _, err := chromedp.Call(b.ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
		t.Fatalf("clear the narrow viewport: %v", err)
	}
	b.step("08-api-back", func() {
		// With the API unreachable the error screen keeps the header, so one can
		// still sign out; "Try again" recovers once the API answers.
		blockAPI := func(on bool) {
			var pats []*network.BlockPattern
			if on {
				pats = []*network.BlockPattern{{URLPattern: "*://*:*/v1/*", Block: true}}
			}
			if _, err := chromedp.Call(b.ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: pats}); err != nil {
				t.Fatalf("block the API: %v", err)
			}
		}
		if _, err := chromedp.Call(b.ctx, network.Enable, network.EnableParams{}); err != nil {
			t.Fatalf("enable the network domain: %v", err)
		}
		blockAPI(true)
		b.run(chromedp.Reload())
		b.waitText("Your account could not be loaded")
		b.waitJS(`[...document.querySelectorAll("header button")].some((x) => x.textContent.trim() === "Sign out")`, "Sign out in the error screen's header")
		b.axe("the error screen")
		b.screenshot("08-api-down")
		blockAPI(false)
		b.click(button("Try again"))
		b.waitText("No routes yet")
		// The blocked requests' own log lines are this step's doing, not the page's.
		var other []string
		for _, e := range b.errs.take() {
			if !strings.Contains(e, "ERR_BLOCKED_BY_CLIENT") {
				other = append(other, e)
			}
		}
		if len(other) > 0 {
			t.Fatalf("the page logged errors while the API was down:\n  %s", strings.Join(other, "\n  "))
		}
	})
	b.step("09-signed-out", func() {
		b.click(button("Sign out"))
		b.run(chromedp.WaitVisible(button("Sign in")))
	})
	pageErrs.mu.Lock()
	for _, l := range pageErrs.ignored {
		t.Logf("expected browser log line (4xx answer): %s", l)
	}
	pageErrs.mu.Unlock()
	t.Logf("browser test took %v", time.Since(start).Round(time.Millisecond))
}

// withMembersAndKeys runs the steps of the Members and API keys tabs (6 and 7).
// Set it to false to leave them out while those screens are rebuilt.
const withMembersAndKeys = true

// startLocalStack serves the API, the dev issuer and the SPA (as `dnsreroute dev`
// does, through devAPI) and the redirector, each on a free loopback port, on a
// table of the test's own in DynamoDB Local. It returns their base URLs.
func startLocalStack(t *testing.T, dist string) (apiURL, redirectURL string, store *dynamo.Store) {
	t.Helper()
	client, table := dynamotest.NewTable(t)
	store = dynamo.New(client, table)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	apiLn := listen(t)
	apiURL = "http://" + apiLn.Addr().String()
	// No STRIPE_* settings: billing as in `make dev` without a Stripe account.
	noEnv := func(string) string { return "" }
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	// DNS from a server of the test's own: hostnames the test never sets do not exist.
	dnsServer := dnstest.Start(t)
	doms := devDomains(store, func(k string) string {
		if k == "DNS_SERVERS" {
			return dnsServer.Addr
		}
		return ""
	}, log)
	h, err := devAPI(ctx, apiURL, store, doms, os.DirFS(dist), noEnv, log)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, apiLn, h)

	resolver := redirect.NewResolver(store, redirect.Config{
		ServiceHost: devServiceHost, PositiveTTL: time.Second, NegativeTTL: time.Second, NoHTTPS: true,
	}, time.Now, log)
	redirLn := listen(t)
	serve(t, redirLn, redirect.NewHandler(resolver, false))
	return apiURL, "http://" + redirLn.Addr().String(), store
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func serve(t *testing.T, ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve %s: %v", ln.Addr(), err)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	})
}

// redirectRequest asks the redirector for http://host/ and returns its status and
// Location, without following it.
func redirectRequest(base, host string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, base+"/", nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// newBrowser starts headless Chromium with a fresh profile, as the machine's probe
// does (no background networking: the network is closed).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true),
		// Screenshots at 375 px show the whole width, not the width less a scroll bar.
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

// pageErrors collects console errors and uncaught exceptions of the page.
type pageErrors struct {
	mu      sync.Mutex
	errs    []string
	ignored []string // the browser's lines for 4xx answers
}

func (p *pageErrors) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var args []string
		for _, a := range ev.Args {
			if a.Value != nil {
				args = append(args, string(a.Value))
			} else {
				args = append(args, a.Description)
			}
		}
		msg = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = "uncaught exception: " + d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		msg += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber)
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		// The browser's own line for a response with an error status ("Failed to
		// load resource: the server responded with a status of 402"), such as the
		// route-limit answer, is no error of the page's: it is expected.
		if e.Level != cdplog.EntryLevelError {
			return
		}
		if e.Source == cdplog.EntrySourceNetwork && strings.Contains(e.Text, "the server responded with a status of 4") {
			p.mu.Lock()
			p.ignored = append(p.ignored, e.Text+" "+e.URL)
			p.mu.Unlock()
			return
		}
		msg = fmt.Sprintf("browser log (%s): %s %s", e.Source, e.Text, e.URL)
	default:
		return
	}
	p.mu.Lock()
	p.errs = append(p.errs, msg)
	p.mu.Unlock()
}

func (p *pageErrors) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.errs
	p.errs = nil
	return e
}

// browser runs the steps of one test in one tab.
type browser struct {
	t    *testing.T
	ctx  context.Context
	errs *pageErrors
}

// step runs fn, then takes the screenshot named after the step and fails on any
// error the page logged meanwhile.
func (b *browser) step(name string, fn func()) {
	b.t.Helper()
	began := time.Now()
	fn()
	b.screenshot(name)
	b.checkErrors(name)
	b.t.Logf("step %s: %v", name, time.Since(began).Round(time.Millisecond))
}

func (b *browser) checkErrors(step string) {
	b.t.Helper()
	// Events arrive asynchronously: give the last ones a moment.
	time.Sleep(100 * time.Millisecond)
	if errs := b.errs.take(); len(errs) > 0 {
		b.t.Fatalf("step %s: the page logged errors:\n  %s", step, strings.Join(errs, "\n  "))
	}
}

func (b *browser) run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.screenshot("failed")
		b.t.Fatalf("%v (page errors: %v; page text: %q)", err, b.errs.take(), b.text())
	}
}

func (b *browser) click(xpath chromedp.Search) {
	b.t.Helper()
	b.run(chromedp.WaitVisible(xpath), chromedp.Click(xpath))
}

func (b *browser) waitText(s string) {
	b.t.Helper()
	b.waitJS(fmt.Sprintf(`document.body && document.body.innerText.replace(/\s+/g, " ").includes(%q)`, s), fmt.Sprintf("the text %q", s))
}

func (b *browser) waitJS(expr, what string) {
	b.t.Helper()
	// A plain loop rather than chromedp.Poll: a poll that spans a navigation (the
	// sign-in's redirects) fails with "Inspected target navigated".
	deadline := time.Now().Add(browserWait)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+expr+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	b.screenshot("failed")
	b.t.Fatalf("waiting for %s: timed out (last error: %v; page errors: %v; page text: %q)", what, last, b.errs.take(), b.text())
}

// retype replaces the text of a field as a user does: select it all, delete it,
// type anew.
func (b *browser) retype(sel chromedp.Search, text string) {
	b.t.Helper()
	b.run(
		chromedp.Focus(sel),
		chromedp.Legacy(legacyFunc(func(ctx context.Context) error {
			_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.activeElement.select(), true`))
			return err
		})),
		chromedp.KeyEvent(kb.Backspace),
		chromedp.SendKeys(sel, text),
	)
}

type legacyFunc func(context.Context) error

func (f legacyFunc) Do(ctx context.Context) error { return f(ctx) }

// setScope picks the first scope offered, whatever the Scope field is.
func (b *browser) setScope() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(field("Scope")))
	if err != nil {
		b.t.Fatalf("the Scope field: %v", err)
	}
	if nodes[0].NodeName == "SELECT" {
		return // a select has its first scope already
	}
	b.run(chromedp.SendKeys(field("Scope"), "routes:read"))
}

func (b *browser) text() string {
	var s string
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return s
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	// Quality 100 gives a PNG.
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(screenshotDir, name+".png"), png, 0o644); err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
	}
}

// XPath selectors by accessible name, as a user finds things.

func button(name string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//button[normalize-space(.)=%[1]q or @aria-label=%[1]q]`, name))
}

func link(name string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//a[normalize-space(.)=%[1]q or @aria-label=%[1]q]`, name))
}

// field is the input, select or textarea labelled name (by label[for] or by a
// label around it).
func field(name string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//*[(self::input or self::select or self::textarea) and @id=//label[normalize-space(.)=%[1]q]/@for] | //label[starts-with(normalize-space(.), %[1]q)]//*[self::input or self::select or self::textarea][not(@type="hidden")]`, name))
}

// rulesSteps open host's page from the routes list, add a rule, import a CSV file
// (a refused one first, then one through its preview), try a URL, export in both
// formats, and look at the page on a narrow screen; they end on the routes list.
// axe-core checks each screen.
func (b *browser) rulesSteps(host, downloads string) {
	t := b.t
	t.Helper()
	b.step("10-route-page", func() {
		b.click(link("Routes"))
		b.click(summary("Actions for " + host))
		b.click(link("Rules of " + host))
		b.waitText("Path rules")
		b.waitText("No path rules yet")
		b.waitText("Served by the origin: this deployment has no edge store")
		b.axe("route page")
	})
	b.step("10-rule-added", func() {
		b.click(button("Add rule"))
		b.run(
			chromedp.WaitVisible(field("Source path")),
			chromedp.SendKeys(field("Source path"), "/contact"),
			chromedp.SendKeys(field("Redirect to"), "https://new.example.org/contact-us"),
		)
		b.axe("rule form")
		b.click(`//form//button[normalize-space(.)="Add rule"]`)
		b.waitJS(`[...document.querySelectorAll("table.rules tbody tr")].some(r => r.innerText.includes("/contact") && r.innerText.includes("https://new.example.org/contact-us"))`,
			"the new rule in the table")
	})
	b.step("10-import-refused", func() {
		b.click(link("Import CSV"))
		b.run(chromedp.WaitVisible(field("Or paste the lines")))
		b.run(chromedp.SendKeys(field("Or paste the lines"), host+"/ok,https://new.example.org/ok\n"+host+"/bad,not-a-url\n"))
		b.click(button("Preview import"))
		// The second line is refused, by its number.
		b.waitJS(`[...document.querySelectorAll(".line-error .line-no")].some(e => e.innerText.trim() === "2")`, "line 2 marked as failing")
		b.axe("import refused")
	})
	b.step("10-import-preview", func() {
		csv := filepath.Join(downloads, "redirects.csv")
		lines := host + "/blog,https://new.example.org/articles,301,,,TRUE,TRUE\n" +
			host + "/about,https://new.example.org/about-us,308\n" +
			host + "/contact,https://new.example.org/contact-us,301\n"
		if err := os.WriteFile(csv, []byte(lines), 0o644); err != nil {
			t.Fatal(err)
		}
		b.run(chromedp.SetUploadFiles(field("File"), []string{csv}))
		b.waitJS(`document.getElementById("import-text").value.includes("/about-us")`, "the file's lines in the text box")
		b.click(button("Preview import"))
		b.waitText("rules to create")
		b.waitJS(`[...document.querySelectorAll("table.import-lines tbody tr")].length === 3`, "a preview row for each line")
		b.axe("import preview")
	})
	b.step("10-import-applied", func() {
		b.click(button("Apply import"))
		b.waitText("Import done")
		b.waitText("rules created")
		b.click(link("Back to routes"))
		b.click(summary("Actions for " + host))
		b.click(link("Rules of " + host))
		b.waitJS(`document.querySelectorAll("table.rules tbody tr").length === 3`, "three rules in the table")
	})
	b.step("10-rules-searched-sorted", func() {
		b.run(chromedp.SendKeys(field("Search"), "about"))
		b.waitJS(`document.querySelectorAll("table.rules tbody tr").length === 1 && document.querySelector("table.rules tbody").innerText.includes("/about")`, "only /about found")
		b.retype(field("Search"), "")
		b.waitJS(`document.querySelectorAll("table.rules tbody tr").length === 3`, "every rule again")
		b.click(`//th//button[starts-with(normalize-space(.), "Source")]`)
		b.waitJS(`[...document.querySelectorAll("table.rules tbody tr td:first-child")].map(e => e.innerText.trim()).join(" ") === "/contact /blog /about"`, "rules sorted by source, descending")
		b.screen("10-rules")
	})
	b.step("10-try-url", func() {
		b.run(chromedp.SendKeys(field("URL or path"), "/blog/2020/post?utm=x"))
		b.click(button("Try"))
		b.waitText("by the rule for /blog")
		b.waitText("https://new.example.org/articles/2020/post")
		b.waitJS(`document.querySelector("table.rules tr.matched") && document.querySelector("table.rules tr.matched").innerText.includes("/blog")`, "the /blog rule marked as matched")
		b.axe("try a URL")
	})
	b.step("10-export", func() {
		if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
		}); err != nil {
			t.Fatalf("allow downloads: %v", err)
		}
		// The CSV names a rule by its source URL, the JSON by host and source path.
		for format, want := range map[string]string{"csv": host + "/blog", "json": `"source": "/blog"`} {
			b.click(button("Export " + strings.ToUpper(format)))
			b.waitText("Downloaded dnsreroute-acme-")
			b.waitFile(downloads, "."+format, want)
		}
	})
	b.step("10-route-page-narrow-375", func() {
		b.run(chromedp.EmulateViewport(375, 812))
		b.waitJS(`document.documentElement.scrollWidth <= 375`, "a page no wider than 375 px")
	})
	if _, err := chromedp.Call(b.ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
		t.Fatalf("clear the narrow viewport: %v", err)
	}
	b.click(link("Routes"))
}

// analyticsSteps count a few CloudFront log lines of host (today and yesterday,
// a bot and a lost path among them), then open its analytics from the routes
// list's sparkline, turn its lost path into a rule, and show the org's.
func (b *browser) analyticsSteps(store *dynamo.Store, host string) {
	t := b.t
	t.Helper()
	now := time.Now().UTC()
	line := func(at time.Time, path string, status int, agent, country string) string {
		return fmt.Sprintf(`{"timestamp":%q,"x-host-header":%q,"cs-method":"GET","cs-uri-stem":%q,"sc-status":%d,"cs(Referer)":"https://news.example.net/post","cs(User-Agent)":%q,"c-country":%q,"x-edge-result-type":"Miss"}`,
			at.Format(time.RFC3339), host, path, status, agent, country)
	}
	const chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	const bingbot = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
	var lines []string
	for i := range 6 {
		lines = append(lines, line(now.Add(-time.Duration(i)*time.Hour), "/pricing", 301, chrome, "DE"))
	}
	lines = append(lines, line(now.Add(-26*time.Hour), "/pricing", 301, chrome, "US"),
		line(now.Add(-25*time.Hour), "/old-page", 404, chrome, "US"), line(now.Add(-time.Hour), "/old-page", 404, chrome, "FR"),
		line(now.Add(-2*time.Hour), "/", 301, bingbot, "US"))
	if _, err := analytics.Ingest(context.Background(), store, "test://browser/1", strings.NewReader(strings.Join(lines, "\n"))); err != nil {
		t.Fatal(err)
	}
	b.step("11-analytics-route", func() {
		b.click(link("Routes"))
		b.waitJS(`[...document.querySelectorAll(".sparkline svg")].some(s => s.getAttribute("aria-label") === "10 requests in the last 30 days")`, "the route's sparkline")
		b.click(link("Analytics of " + host))
		b.waitText("Lost traffic")
		b.waitText("/old-page")
		b.waitText("news.example.net")
		b.waitJS(`document.querySelector(".chart canvas") !== null`, "the chart")
		b.axe("route analytics")
	})
	b.step("11-analytics-bots-hidden", func() {
		b.click(field("Hide bots"))
		b.click(button("Show"))
		b.waitText("Visits without bots")
	})
	b.step("11-analytics-add-rule", func() {
		b.click(link("Add a rule for /old-page"))
		b.run(chromedp.WaitVisible(field("Source path")))
		b.waitJS(`document.getElementById("rule-source").value === "/old-page"`, "the rule editor filled in with /old-page")
	})
	b.step("11-analytics-org", func() {
		b.click(link("Analytics"))
		b.waitText("Analytics of Acme")
		b.waitText("/old-page")
		b.screen("11-analytics")
	})
	b.step("11-analytics-narrow-375", func() {
		b.run(chromedp.EmulateViewport(375, 812))
		b.waitJS(`document.documentElement.scrollWidth <= 375`, "a page no wider than 375 px")
	})
	if _, err := chromedp.Call(b.ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
		t.Fatalf("clear the narrow viewport: %v", err)
	}
	b.click(link("Routes"))
}

// waitFile waits for a finished download in dir whose name ends with ext and
// whose content holds want, and removes it.
func (b *browser) waitFile(dir, ext, want string) {
	b.t.Helper()
	deadline := time.Now().Add(browserWait)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), "dnsreroute-") || !strings.HasSuffix(e.Name(), ext) {
				continue
			}
			p := filepath.Join(dir, e.Name())
			data, err := os.ReadFile(p)
			if err == nil && strings.Contains(string(data), want) {
				_ = os.Remove(p)
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatalf("no download *%s holding %q in %s", ext, want, dir)
}

// axePath is axe-core (an npm dev dependency of the dashboard), relative to the
// test's directory.
const axePath = "../../web/node_modules/axe-core/axe.min.js"

// axe runs axe-core's WCAG 2 A and AA rules on the page and fails on any
// violation, naming each with the elements it found.
func (b *browser) axe(what string) {
	b.t.Helper()
	src, err := os.ReadFile(axePath)
	if err != nil {
		b.t.Fatalf("axe-core is not installed (%v): run `make web`", err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](string(src)+";true")); err != nil {
		b.t.Fatalf("load axe-core: %v", err)
	}
	report, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]}}).then(r =>
		r.violations.map(v => v.id + " (" + v.impact + "): " + v.help + " at " + v.nodes.map(n => n.target.join(" ")).join(", ")).join("\n"))`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("run axe-core on the %s: %v", what, err)
	}
	if report != "" {
		b.screenshot("failed-axe")
		b.t.Fatalf("axe-core found accessibility violations on the %s:\n%s", what, report)
	}
}
