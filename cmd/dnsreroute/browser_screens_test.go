package main

import (
	"fmt"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// screen checks the screen shown in every way a customer sees it: axe-core in
// light and dark mode, no wider than 375 px on a phone, and screenshots at
// 1280 and 375 px (name-1280.png, name-375.png, name-dark-1280.png), which
// people look at.
func (b *browser) screen(name string) {
	b.t.Helper()
	b.axe(name + " (light)")
	b.screenshot(name + "-1280")
	b.colorScheme("dark")
	b.axe(name + " (dark)")
	b.screenshot(name + "-dark-1280")
	b.colorScheme("")
	b.run(chromedp.EmulateViewport(375, 812))
	// Nothing wider than the screen, its scroll bar aside.
	b.waitJS(`document.documentElement.scrollWidth <= document.documentElement.clientWidth`, fmt.Sprintf("the %s no wider than 375 px", name))
	// The header keeps "Sign out" on one line.
	b.waitJS(`!document.querySelector(".signout") || document.querySelector(".signout").getBoundingClientRect().height < 48`, "Sign out on one line")
	b.screenshot(name + "-375")
	b.axe(name + " (375 px)")
	if _, err := chromedp.Call(b.ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
		b.t.Fatalf("clear the narrow viewport: %v", err)
	}
}

// colorScheme emulates prefers-color-scheme ("dark", "light", or "" for none).
func (b *browser) colorScheme(v string) {
	b.t.Helper()
	p := emulation.SetEmulatedMediaParams{}
	if v != "" {
		p.Features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}
	}
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, p); err != nil {
		b.t.Fatalf("emulate the %q colour scheme: %v", v, err)
	}
}

// summary is a <summary> by its accessible name (a row's actions menu).
func summary(name string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//summary[normalize-space(.)=%[1]q or @aria-label=%[1]q]`, name))
}

// path is the page's location path.
func (b *browser) path() string {
	b.t.Helper()
	p, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil {
		b.t.Fatal(err)
	}
	return p
}
