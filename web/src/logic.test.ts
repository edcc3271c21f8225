import { describe, expect, it } from "vitest";
import type { Route } from "./api";
import { parseConfig } from "./config";
import { returnPath } from "./auth";
import { emptyRouteForm, filterRoutes, firstPage, formOf, nextPage, pickOrg, prevPage, routeInputOf, routePatchOf, usagePercent, validateRouteForm } from "./logic";
import { href, match } from "./router";

const route = (host: string, target: string, extra: Partial<Route> = {}): Route => ({
  host, target, status: 301, keepPath: true, keepQuery: true, enabled: true, cnameTarget: "localhost",
  httpsRedirect: true, hsts: false, domain: { state: "pending_dns", reason: "", verified: false },
  dnsRecords: [{ type: "CNAME", name: host, value: "localhost", purpose: "routing" }],
  ownershipRecord: { type: "TXT", name: `_dnsreroute.${host}`, value: "dnsreroute-verification=x", purpose: "ownership" },
  createdAt: "", updatedAt: "", paused: false, edge: { servedFrom: "pending" }, ruleCount: 0,
  pathOptions: { ignoreCase: false, ignoreTrailingSlash: false }, fallback: { kind: "not_configured" }, ...extra,
});

describe("filterRoutes", () => {
  const rs = [route("www.example.com", "https://example.org/"), route("shop.example.net", "https://Store.example.com/")];
  it("matches host or target, ignoring case and spaces", () => {
    expect(filterRoutes(rs, "  STORE ").map((r) => r.host)).toEqual(["shop.example.net"]);
    expect(filterRoutes(rs, "www").map((r) => r.host)).toEqual(["www.example.com"]);
    expect(filterRoutes(rs, "")).toBe(rs);
    expect(filterRoutes(rs, "nothing")).toEqual([]);
  });
});

describe("route form", () => {
  it("validates a new route", () => {
    expect(validateRouteForm(emptyRouteForm, true)).toEqual({ host: expect.any(String), target: expect.any(String) });
    expect(validateRouteForm({ ...emptyRouteForm, host: "https://x.com/a", target: "ftp://x" }, true)).toEqual({
      host: expect.stringMatching(/hostname only/), target: expect.stringMatching(/http/),
    });
    expect(validateRouteForm({ ...emptyRouteForm, host: " www.example.com ", target: "https://example.com/" }, true)).toEqual({});
  });
  it("does not check the host of an edit", () => {
    expect(validateRouteForm({ ...emptyRouteForm, target: "http://a.example" }, false)).toEqual({});
  });
  it("builds the input, trimmed", () => {
    expect(routeInputOf({ ...emptyRouteForm, host: " a.example.com ", target: " https://b.example/ ", status: 302 })).toEqual({
      host: "a.example.com", target: "https://b.example/", status: 302, keepPath: true, keepQuery: true, enabled: true,
      httpsRedirect: true, hsts: false,
    });
  });
  it("patches only what changed", () => {
    const r = route("a.example.com", "https://b.example/");
    expect(routePatchOf(r, formOf(r))).toEqual({});
    expect(routePatchOf(r, { ...formOf(r), enabled: false, status: 308, target: "https://c.example/ " })).toEqual({
      enabled: false, status: 308, target: "https://c.example/",
    });
  });
});

describe("pager", () => {
  it("walks forward and back", () => {
    let p = nextPage(firstPage, "c1");
    expect(p).toEqual({ cursors: [undefined, "c1"], index: 1 });
    p = nextPage(p, "c2");
    expect(p.cursors[p.index]).toBe("c2");
    p = prevPage(prevPage(p));
    expect(p.index).toBe(0);
    expect(prevPage(p)).toBe(p);
    expect(nextPage(p, undefined)).toBe(p);
    expect(nextPage(p, "c1b")).toEqual({ cursors: [undefined, "c1b"], index: 1 });
  });
});

describe("usagePercent and pickOrg", () => {
  it("bounds usage", () => {
    expect(usagePercent(1, 4)).toBe(25);
    expect(usagePercent(9, 4)).toBe(100);
    expect(usagePercent(0, 0)).toBe(0);
    expect(usagePercent(1, 0)).toBe(100);
  });
  it("picks the remembered org only if still a member", () => {
    const orgs = [{ id: "org_a" }, { id: "org_b" }];
    expect(pickOrg(orgs, "org_b")).toBe("org_b");
    expect(pickOrg(orgs, "org_gone")).toBe("org_a");
    expect(pickOrg([], "org_a")).toBeNull();
  });
});

describe("router", () => {
  it("matches screens", () => {
    expect(match("/")).toEqual({ name: "home" });
    expect(match("/callback")).toEqual({ name: "callback" });
    expect(match("/auth/callback")).toEqual({ name: "callback" });
    expect(match("/orgs/new")).toEqual({ name: "newOrg" });
    expect(match("/orgs/org_a/routes")).toEqual({ name: "routes", orgId: "org_a" });
    expect(match("/orgs/org_a/routes/")).toEqual({ name: "routes", orgId: "org_a" });
    expect(match("/orgs/org_a/routes/new")).toEqual({ name: "newRoute", orgId: "org_a" });
    expect(match("/orgs/org_a/routes/*.example.com/edit")).toEqual({ name: "editRoute", orgId: "org_a", host: "*.example.com" });
    expect(match("/orgs/org_a/billing")).toEqual({ name: "billing", orgId: "org_a" });
    expect(match("/orgs/org_a/nope")).toEqual({ name: "notFound", path: "/orgs/org_a/nope" });
    expect(match("/%E0%A4%A")).toEqual({ name: "notFound", path: "/%E0%A4%A" });
  });
  it("round-trips href and match", () => {
    for (const s of [
      { name: "routes", orgId: "org_a" },
      { name: "editRoute", orgId: "org_a", host: "a/b.example.com" },
      { name: "billing", orgId: "org_b" },
      { name: "newOrg" },
    ] as const) {
      expect(match(href(s))).toEqual(s);
    }
  });
});

describe("config and return path", () => {
  it("parses config.json", () => {
    expect(parseConfig({ apiUrl: "http://127.0.0.1:8080/v1/", issuer: "http://127.0.0.1:8080", clientId: "dnsreroute-dashboard", cnameTarget: "localhost" })).toEqual({
      apiUrl: "http://127.0.0.1:8080/v1", issuer: "http://127.0.0.1:8080", clientId: "dnsreroute-dashboard", cnameTarget: "localhost",
    });
  });
  it("takes the oidc* names and a redirectUri", () => {
    expect(parseConfig({ apiUrl: "https://api.example.com/v1", issuer: "https://idp.example.com/pool/", clientId: "abc", cnameTarget: "r.example.com", redirectUri: "https://app.example.com/auth/callback" })).toEqual({
      apiUrl: "https://api.example.com/v1", issuer: "https://idp.example.com/pool", clientId: "abc", cnameTarget: "r.example.com", redirectUri: "https://app.example.com/auth/callback",
    });
    expect(() => parseConfig({ apiUrl: "http://a", issuer: "http://a", clientId: "c", cnameTarget: "t", redirectUri: "/cb" })).toThrow(/redirectUri/);
  });
  it("refuses incomplete or bad config", () => {
    expect(() => parseConfig(null)).toThrow(/object/);
    expect(() => parseConfig({ apiUrl: "x" })).toThrow(/lacks issuer, clientId, cnameTarget/);
    expect(() => parseConfig({ apiUrl: "/v1", issuer: "http://a", clientId: "c", cnameTarget: "t" })).toThrow(/apiUrl must be an absolute URL/);
    expect(() => parseConfig({ apiUrl: "javascript:alert(1)", issuer: "http://a", clientId: "c", cnameTarget: "t" })).toThrow(/http/);
  });
  it("returns only to same-site paths", () => {
    expect(returnPath("/orgs/a/routes")).toBe("/orgs/a/routes");
    expect(returnPath("//evil.example/")).toBe("/");
    expect(returnPath("https://evil.example/")).toBe("/");
    expect(returnPath(undefined)).toBe("/");
  });
});

describe("router registry", () => {
  it("matches settings and its sections, and refuses org ids that name screens", () => {
    expect(match("/orgs/org_a/settings")).toEqual({ name: "settings", orgId: "org_a" });
    expect(match("/orgs/org_a/settings/general")).toEqual({ name: "settings", orgId: "org_a", section: "general" });
    expect(match("/orgs/new/routes")).toEqual({ name: "notFound", path: "/orgs/new/routes" });
    expect(href({ name: "settings", orgId: "o 1", section: "plan" })).toBe("/orgs/o%201/settings/plan");
    expect(href({ name: "analytics", orgId: "o", host: "*.a.example" })).toBe("/orgs/o/routes/*.a.example/analytics");
    expect(href({ name: "analytics", orgId: "o" })).toBe("/orgs/o/analytics");
  });
});
