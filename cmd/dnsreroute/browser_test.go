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
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/dnsreroute/dnsreroute/shared/analytics"
	"github.com/dnsreroute/dnsreroute/shared/dnscheck/dnstest"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/redirect"
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

	b.step("01-signed-in", func() {
		b.run(chromedp.Navigate(apiURL + "/"))
		b.run(chromedp.WaitVisible(button("Sign in")))
		b.screenshot("00-signed-out")
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
	})
	b.step("03-route-listed", func() {
		b.click(link("Add route"))
		b.run(
			chromedp.WaitVisible(field("Hostname")),
			chromedp.SendKeys(field("Hostname"), host),
			chromedp.SendKeys(field("Target URL"), target),
		)
		b.click(button("Add route"))
		b.waitText("Route added")
		b.screenshot("03-route-added")
		b.click(link("Back to routes"))
		b.waitText(host)
		b.waitText(target)
		// Its DNS record: host CNAME localhost (the dev stack's service host).
		b.waitText(host + " CNAME " + devServiceHost)
		// The local edge serves a hostname at once.
		b.waitText("Active")
		// The local stack has no KeyValueStore: the origin answers, and the
		// badge says why.
		b.waitText("Served by the origin: this deployment has no edge store")
	})
	b.step("03-dns-check", func() {
		// The test's DNS knows no such name: the check says so, in words.
		b.click(button("Check DNS of " + host))
		b.waitText(host + " does not exist in DNS")
		b.screenshot("03-dns-check")
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
		b.click(link("Add route"))
		b.run(
			chromedp.WaitVisible(field("Hostname")),
			chromedp.SendKeys(field("Hostname"), "second.example.com"),
			chromedp.SendKeys(field("Target URL"), "https://second.example.org/"),
		)
		b.click(button("Add route"))
		// The refusal in the dashboard's words, with the next step.
		b.waitText("Your plan's limit is reached")
		b.screenshot("05-route-limit-message")
		b.click(link("Cancel"))
		b.waitText(host)
	})
	if withMembersAndKeys {
		b.step("06-members-upgrade", func() {
			b.click(link("Members"))
			b.waitJS(`/Upgrade/.test(document.querySelector("main").innerText) && /members/.test(document.querySelector("main").innerText)`,
				`a message with "Upgrade" and "members" on the Members tab`)
		})
		b.step("07-api-key-created", func() {
			b.click(link("API keys"))
			b.run(
				chromedp.WaitVisible(field("Name")),
				chromedp.SendKeys(field("Name"), "ci"),
			)
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
		b.click(link("Routes"))
		b.waitText(host)
	}
	b.step("08-route-edited", func() {
		b.click(`//a[@aria-label="Edit ` + host + `"]`)
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
		b.click(`//button[@aria-label="Delete ` + host + `"]`)
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
	})
	b.step("08-narrow-375", func() {
		b.run(chromedp.EmulateViewport(375, 812))
		b.click(link("Routes"))
		b.waitText("No routes yet")
		// Usable at 375 px: nothing wider than the screen.
		b.waitJS(`document.documentElement.scrollWidth <= 375`, "a page no wider than 375 px")
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
