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

// controlsContrast is true when every text field and menu's border has a
// contrast of 3:1 at least with what is behind it (WCAG 1.4.11, which
// axe-core does not check).
const controlsContrast = `(() => {
  const lum = (c) => {
    const [r, g, b] = c.match(/[\d.]+/g).slice(0, 3).map(Number).map((v) => v / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const behind = (el) => {
    for (let e = el.parentElement; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (c && c !== "transparent" && !/^rgba\(.*, 0\)$/.test(c)) return c;
    }
    return "rgb(255, 255, 255)";
  };
  const fields = [...document.querySelectorAll("input[type=text], input[type=url], input[type=search], input[type=email], select")].filter((i) => i.offsetParent);
  return fields.length > 0 && fields.every((i) => {
    const a = lum(getComputedStyle(i).borderTopColor), b = lum(behind(i));
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) >= 3;
  });
})()`
