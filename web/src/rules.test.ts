import { describe, expect, it } from "vitest";
import type { Route, Rule } from "./api";
import { emptyRouteForm, fallbackOf, formOf, routeInputOf, routePatchOf, usesFallback, validateRouteForm } from "./logic";
import { href, match } from "./router";
import {
  ariaSort,
  defaultRuleSort,
  detectFormat,
  emptyRuleForm,
  exportFileName,
  fallbackText,
  filterLines,
  importChanges,
  importSummaryText,
  lineText,
  newIdempotencyKey,
  nextSort,
  ruleFormOf,
  ruleInputOf,
  ruleOptions,
  rulePatchOf,
  slicePage,
  sortRules,
  tryAnswerText,
  tryUrlOf,
  validateRuleForm,
  validateSource,
} from "./rules";

const rule = (source: string, target: string, status: Rule["status"] = 301, extra: Partial<Rule> = {}): Rule => ({
  id: btoa(source).replace(/=+$/, ""), source, target, status, subpath: false, keepSuffix: false, keepQuery: false, ...extra,
});

const route = (extra: Partial<Route> = {}): Route => ({
  host: "old.example.com", target: "", status: 301, keepPath: true, keepQuery: true, enabled: true, cnameTarget: "localhost",
  httpsRedirect: true, hsts: false, domain: { state: "active", reason: "", verified: true }, dnsRecords: [],
  ownershipRecord: { type: "TXT", name: "_dnsreroute.old.example.com", value: "x", purpose: "ownership" },
  createdAt: "", updatedAt: "", paused: false, edge: { servedFrom: "pending" }, ruleCount: 2, pathOptions: { ignoreCase: false, ignoreTrailingSlash: false },
  fallback: { kind: "not_configured" }, ...extra,
});

describe("sortRules", () => {
  const rs = [rule("/b", "https://z.example/", 302), rule("/a", "https://y.example/", 301), rule("/c", "https://y.example/", 302)];
  const sources = (xs: Rule[]) => xs.map((r) => r.source);
  it("sorts by each column both ways, by source within ties", () => {
    expect(sources(sortRules(rs, defaultRuleSort))).toEqual(["/a", "/b", "/c"]);
    expect(sources(sortRules(rs, { key: "source", dir: "desc" }))).toEqual(["/c", "/b", "/a"]);
    expect(sources(sortRules(rs, { key: "target", dir: "asc" }))).toEqual(["/a", "/c", "/b"]);
    expect(sources(sortRules(rs, { key: "status", dir: "asc" }))).toEqual(["/a", "/b", "/c"]);
    expect(sources(sortRules(rs, { key: "status", dir: "desc" }))).toEqual(["/c", "/b", "/a"]);
  });
  it("leaves its input as it was", () => {
    const before = sources(rs);
    sortRules(rs, { key: "source", dir: "desc" });
    expect(sources(rs)).toEqual(before);
  });
  it("toggles a column and says so to assistive technology", () => {
    const s1 = nextSort(defaultRuleSort, "source");
    expect(s1).toEqual({ key: "source", dir: "desc" });
    expect(nextSort(s1, "status")).toEqual({ key: "status", dir: "asc" });
    expect(ariaSort(s1, "source")).toBe("descending");
    expect(ariaSort(defaultRuleSort, "source")).toBe("ascending");
    expect(ariaSort(s1, "target")).toBe("none");
  });
});

describe("rule form", () => {
  it("validates the source path as the API does", () => {
    const cases: [string, RegExp | undefined][] = [
      ["/contact", undefined],
      ["/caf%C3%A9", undefined],
      ["", /Enter the path/],
      ["contact", /starts with/],
      ["//evil", /cannot start/],
      ["/a?x=1", /query/],
      ["/a#top", /fragment/],
      ["/a b", /spaces/],
    ];
    for (const [src, want] of cases) {
      const got = validateSource(src);
      if (want) expect(got, src).toMatch(want);
      else expect(got, src).toBeUndefined();
    }
  });
  it("validates the target and prefixes the fields", () => {
    expect(validateRuleForm({ ...emptyRuleForm, source: "/a", target: "https://b.example/" })).toEqual({});
    expect(Object.keys(validateRuleForm({ ...emptyRuleForm, source: "a", target: "ftp://x" }))).toEqual(["source", "target"]);
    expect(Object.keys(validateRuleForm({ ...emptyRuleForm, target: "" }, "rules[0]."))).toEqual(["rules[0].source", "rules[0].target"]);
  });
  it("sends the suffix option only with subpaths", () => {
    const f = { ...emptyRuleForm, source: " /docs ", target: " https://new.example/docs ", keepSuffix: true };
    expect(ruleInputOf(f)).toEqual({ source: "/docs", target: "https://new.example/docs", status: 301, subpath: false, keepSuffix: false, keepQuery: false });
    expect(ruleInputOf({ ...f, subpath: true }).keepSuffix).toBe(true);
  });
  it("patches only what changed", () => {
    const r = rule("/a", "https://b.example/", 301, { subpath: true, keepSuffix: true });
    expect(rulePatchOf(r, ruleFormOf(r))).toEqual({});
    expect(rulePatchOf(r, { ...ruleFormOf(r), status: 308, keepQuery: true })).toEqual({ status: 308, keepQuery: true });
    expect(rulePatchOf(r, { ...ruleFormOf(r), source: " /other " })).toEqual({ source: "/other" });
    expect(rulePatchOf(r, { ...ruleFormOf(r), subpath: false })).toEqual({ subpath: false, keepSuffix: false });
  });
  it("words the options", () => {
    expect(ruleOptions(rule("/a", "x"))).toEqual([]);
    expect(ruleOptions(rule("/a", "x", 301, { subpath: true, keepSuffix: true, keepQuery: true }))).toEqual(["subpaths, keeps suffix", "keeps query"]);
  });
});

describe("route form with rules", () => {
  it("creates a route of rules alone: no target, its first rule and fallback", () => {
    const f = { ...emptyRouteForm, mode: "rules" as const, host: "old.example.com", fallbackKind: "gone" as const, rule: { ...emptyRuleForm, source: "/a", target: "https://b.example/" } };
    expect(validateRouteForm(f, true)).toEqual({});
    const input = routeInputOf(f);
    expect(input.target).toBeUndefined();
    expect(input.rules).toEqual([{ source: "/a", target: "https://b.example/", status: 301, subpath: false, keepSuffix: false, keepQuery: false }]);
    expect(input.fallback).toEqual({ kind: "gone" });
    expect(input.pathOptions).toBeUndefined();
    expect(routeInputOf({ ...f, ignoreCase: true }).pathOptions).toEqual({ ignoreCase: true, ignoreTrailingSlash: false });
  });
  it("reports the first rule's fields as the API names them", () => {
    const f = { ...emptyRouteForm, mode: "rules" as const, host: "old.example.com" };
    expect(Object.keys(validateRouteForm(f, true))).toEqual(["rules[0].source", "rules[0].target"]);
  });
  it("needs a target unless the route has rules", () => {
    const f = formOf(route({ target: "https://x.example/" }));
    expect(validateRouteForm({ ...f, target: "" }, false, false)).toHaveProperty("target");
    expect(validateRouteForm({ ...f, target: "" }, false, true)).toEqual({});
  });
  it("checks a redirect fallback's URL only when the fallback is used", () => {
    const f = { ...formOf(route()), fallbackKind: "redirect" as const, fallbackTarget: "nope" };
    expect(validateRouteForm(f, false, true)).toHaveProperty(["fallback.target"]);
    expect(validateRouteForm({ ...f, target: "https://x.example/" }, false, true)).toEqual({});
    expect(usesFallback(f, false)).toBe(true);
    expect(usesFallback({ ...f, target: "https://x.example/" }, false)).toBe(false);
    expect(usesFallback({ ...emptyRouteForm, mode: "target" }, true)).toBe(false);
  });
  it("patches path options, the fallback, and clears the target", () => {
    const before = route({ target: "https://x.example/" });
    const f = formOf(before);
    expect(f.mode).toBe("target");
    expect(routePatchOf(before, f)).toEqual({});
    expect(routePatchOf(before, { ...f, ignoreTrailingSlash: true })).toEqual({ pathOptions: { ignoreCase: false, ignoreTrailingSlash: true } });
    expect(routePatchOf(before, { ...f, target: "", fallbackKind: "redirect", fallbackTarget: " https://new.example/ ", fallbackStatus: 302 })).toEqual({
      target: "",
      fallback: { kind: "redirect", target: "https://new.example/", status: 302 },
    });
    // A route that gains a target drops its fallback: the target answers every path.
    const gone = route({ fallback: { kind: "gone" } });
    expect(routePatchOf(gone, { ...formOf(gone), target: "https://x.example/" })).toEqual({ target: "https://x.example/", fallback: { kind: "not_configured" } });
    expect(routePatchOf(gone, formOf(gone))).toEqual({});
  });
  it("describes fallbacks", () => {
    expect(fallbackOf({ fallbackKind: "not_configured", fallbackTarget: "x", fallbackStatus: 301 })).toEqual({ kind: "not_configured" });
    expect(fallbackText(undefined)).toMatch(/not configured/);
    expect(fallbackText({ kind: "gone" })).toBe("410 Gone");
    expect(fallbackText({ kind: "redirect", target: "https://n.example/", status: 302 })).toBe("a 302 redirect to https://n.example/");
  });
});

describe("try a URL", () => {
  it("makes a URL of what was typed", () => {
    expect(tryUrlOf("old.example.com", " /contact?x=1 ")).toEqual({ url: "https://old.example.com/contact?x=1" });
    expect(tryUrlOf("old.example.com", "http://old.example.com/a")).toEqual({ url: "http://old.example.com/a" });
    expect(tryUrlOf("old.example.com", "old.example.com/a")).toEqual({ url: "https://old.example.com/a" });
    expect(tryUrlOf("*.example.com", "https://a.example.com/x")).toEqual({ url: "https://a.example.com/x" });
  });
  it("refuses what is no URL", () => {
    expect(tryUrlOf("old.example.com", "")).toHaveProperty("error");
    expect(tryUrlOf("old.example.com", "/a b")).toHaveProperty("error");
    expect(tryUrlOf("old.example.com", "mailto:a@b.example")).toHaveProperty("error");
    const w = tryUrlOf("*.example.com", "/x");
    expect("error" in w && w.error).toMatch(/https:\/\/www\.example\.com\/x/);
  });
  it("words the answer", () => {
    const r = rule("/blog", "https://new.example/articles", 308, { subpath: true });
    expect(tryAnswerText({ kind: "redirect", status: 308, location: "https://new.example/articles/x", rule: r, wholeHost: false, fallback: false })).toBe("Redirects with 308 by the rule for /blog.");
    expect(tryAnswerText({ kind: "redirect", status: 302, location: "https://n.example/", rule: null, wholeHost: false, fallback: true })).toMatch(/fallback redirects with 302/);
    expect(tryAnswerText({ kind: "redirect", status: 301, location: "https://n.example/", rule: null, wholeHost: true, fallback: false })).toMatch(/target redirects with 301/);
    expect(tryAnswerText({ kind: "gone", status: 410, location: "", rule: null, wholeHost: false, fallback: true })).toMatch(/410 Gone/);
    expect(tryAnswerText({ kind: "not_configured", status: 404, location: "", rule: null, wholeHost: false, fallback: true })).toMatch(/not configured/);
  });
});

describe("import", () => {
  it("detects the format", () => {
    expect(detectFormat("redirects.json", "a,b")).toBe("json");
    expect(detectFormat("redirects.CSV", "{")).toBe("csv");
    expect(detectFormat("", '  {"routes": []}')).toBe("json");
    expect(detectFormat("", "[]")).toBe("json");
    expect(detectFormat("", "example.com/a,https://b.example/")).toBe("csv");
  });
  it("summarises a dry run and an import", () => {
    const r = { summary: { create: 1, update: 2, unchanged: 3, error: 0 }, routesCreated: 1, routesUpdated: 0 };
    expect(importSummaryText(r, true)).toBe("1 rule to create, 2 to update, 3 unchanged, in 1 new route.");
    expect(importSummaryText({ ...r, summary: { ...r.summary, error: 2 } }, true)).toBe("1 rule to create, 2 to update, 3 unchanged, in 1 new route; 2 lines refused.");
    expect(importSummaryText({ summary: { ...r.summary, create: 2 }, routesCreated: 0 }, false)).toBe("2 rules created, 2 updated, 3 unchanged.");
    expect(importChanges(r)).toBe(true);
    expect(importChanges({ summary: { create: 0, update: 0, unchanged: 5, error: 0 }, routesCreated: 0, routesUpdated: 0 })).toBe(false);
    expect(importChanges({ summary: { create: 0, update: 0, unchanged: 5, error: 0 }, routesCreated: 0, routesUpdated: 1 })).toBe(true);
  });
  it("filters and pages lines", () => {
    const lines = Array.from({ length: 250 }, (_, i) => ({ line: i + 1, action: i % 2 ? ("update" as const) : ("create" as const), hosts: ["a.example"] }));
    expect(filterLines(lines, "all")).toBe(lines);
    expect(filterLines(lines, "update")).toHaveLength(125);
    const p = slicePage(lines, 2, 100);
    expect(p).toMatchObject({ page: 2, pages: 3 });
    expect(p.items.map((l) => l.line)).toEqual(Array.from({ length: 50 }, (_, i) => 201 + i));
    expect(slicePage(lines, 9, 100).page).toBe(2);
    expect(slicePage([], 0, 100)).toEqual({ items: [], page: 0, pages: 1 });
  });
  it("finds a line's text", () => {
    const t = "a,b\r\nc,d\ne,f";
    expect(lineText(t, 1)).toBe("a,b");
    expect(lineText(t, 2)).toBe("c,d");
    expect(lineText(t, 3)).toBe("e,f");
    expect(lineText(t, 4)).toBe("");
    expect(lineText(t, 0)).toBe("");
  });
  it("names an import for retries", () => {
    expect(newIdempotencyKey(() => "u1")).toBe("import-u1");
    expect(newIdempotencyKey()).not.toBe(newIdempotencyKey());
  });
});

describe("export", () => {
  it("names the file by org and day", () => {
    expect(exportFileName("Acme Corp.", "csv", new Date(2025, 0, 31))).toBe("dnsreroute-acme-corp-2025-01-31.csv");
    expect(exportFileName("***", "json", new Date(2025, 11, 1))).toBe("dnsreroute-routes-2025-12-01.json");
  });
});

describe("router: route pages", () => {
  it("matches a route's page and the import", () => {
    expect(match("/orgs/org_a/routes/old.example.com")).toEqual({ name: "route", orgId: "org_a", host: "old.example.com" });
    expect(match("/orgs/org_a/routes/*.example.com")).toEqual({ name: "route", orgId: "org_a", host: "*.example.com" });
    expect(match("/orgs/org_a/routes/import")).toEqual({ name: "importRoutes", orgId: "org_a" });
    expect(match("/orgs/org_a/routes/new")).toEqual({ name: "newRoute", orgId: "org_a" });
    for (const s of [{ name: "route", orgId: "o", host: "a.example.com" }, { name: "importRoutes", orgId: "o" }] as const) {
      expect(match(href(s))).toEqual(s);
    }
  });
});
