package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"
)

// TestBrowserNotifications: an owner adds a webhook endpoint (its secret shown
// once), sends it a test event, sees its deliveries, and chooses which emails
// they get; axe-core checks both screens.
func TestBrowserNotifications(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is not installed at %s: run `make chromium` (as root), or `make test`", chromiumPath)
	}
	dist := filepath.Join("..", "..", "web", "dist")
	if _, err := os.Stat(filepath.Join(dist, "index.html")); err != nil {
		t.Fatalf("the dashboard is not built (%v): run `make web` first (`make test` does)", err)
	}
	apiURL, _, _ := startLocalStack(t, dist)
	var hits atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer recv.Close()
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

	var orgPath string
	b.step("n01-signed-in", func() {
		b.run(chromedp.Navigate(apiURL + "/"))
		b.click(button("Sign in"))
		b.waitText("Email")
		b.run(chromedp.SendKeys(field("Email"), "hooks@example.com"))
		b.click(button("Sign in"))
		b.waitText("Welcome: create your org")
		b.run(chromedp.SendKeys(field("Org name"), "Hooked"))
		b.click(button("Create org"))
		b.waitText("No routes yet")
		ctx, cancel := context.WithTimeout(b.ctx, browserWait)
		defer cancel()
		p, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(strings.Trim(p, "/"), "/")
		if len(parts) < 2 || parts[0] != "orgs" {
			t.Fatalf("after creating the org the path is %q", p)
		}
		orgPath = "/orgs/" + parts[1]
	})
	b.step("n02-webhook-added", func() {
		b.run(chromedp.Navigate(apiURL + orgPath + "/settings/webhooks"))
		b.waitText("Add an endpoint")
		b.axe("webhooks settings")
		b.run(chromedp.SendKeys(field("Endpoint URL"), recv.URL+"/hook"))
		b.click(button("Add endpoint"))
		b.waitText("shown this once")
		b.waitText("whsec_")
		b.axe("webhooks settings with a new secret")
	})
	b.step("n03-webhook-tested", func() {
		b.click(button("Send test"))
		b.waitText("Test event queued")
		b.click(button("Deliveries"))
		b.waitText("Recent deliveries")
	})
	b.step("n04-notifications", func() {
		b.run(chromedp.Navigate(apiURL + orgPath + "/settings/notifications"))
		b.waitText("Email me when")
		b.axe("notification settings")
		b.click(chromedp.Search(`//label[normalize-space(.)="A route is added"]`))
		b.click(button("Save preferences"))
		b.waitText("Saved.")
	})
}
