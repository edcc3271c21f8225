import { describe, expect, it } from "vitest";
import type { Route } from "./api";
import { isApex, providerTips, recordsToCreate, relativeName, zoneOf } from "./dns";
import { cleanHost, cleanTarget } from "./normalize";
import { knownCodes, problemCopy, problemText } from "./problems";
import { routeStatus, stateOf } from "./status";
import doc from "../../shared/httpapi/openapi.json";

const base = {
  host: "www.example.com", target: "https://example.org/", status: 301, keepPath: false, keepQuery: false, enabled: true, paused: false,
  state: "redirecting", cnameTarget: "r.example.net", httpsRedirect: true, hsts: false, ruleCount: 0,
  domain: { state: "active", reason: "", verified: true }, edge: { servedFrom: "edge" },
  dnsRecords: [
    { type: "CNAME", name: "www.example.com", value: "r.example.net", purpose: "routing" },
    { type: "CNAME", name: "_abc.www.example.com", value: "_x.acm-validations.aws", purpose: "certificate" },
  ],
  ownershipRecord: { type: "TXT", name: "_dnsreroute.www.example.com", value: "v", purpose: "ownership" },
  createdAt: "", updatedAt: "", pathOptions: { ignoreCase: false, ignoreTrailingSlash: false }, fallback: { kind: "not_configured" },
} as Route;
const route = (extra: Partial<Route>): Route => ({ ...base, ...extra });

describe("route status", () => {
  it("leads with what a visitor gets", () => {
    expect(routeStatus(route({ enabled: false, state: "disabled" })).label).toBe("Disabled");
    expect(routeStatus(route({ paused: true, state: "paused" })).label).toBe("Paused");
    expect(routeStatus(route({})).label).toBe("Redirecting");
    expect(routeStatus(route({ destination: { state: "broken", monitored: true, failures: 3, lastError: "HTTP 500" } })).label).toBe("Needs attention");
    expect(routeStatus(route({ destination: { state: "broken", monitored: true, failures: 3 } })).explain).toMatch(/destination fails/);
  });
  it("judges a route without state as the API does", () => {
    const { state: _s, ...old } = base;
    expect(stateOf({ ...old, enabled: false })).toBe("disabled");
    expect(stateOf({ ...old, paused: true })).toBe("paused");
    expect(stateOf({ ...old, domain: { state: "pending_dns", reason: "", verified: false } })).toBe("pending_dns");
    expect(stateOf({ ...old, domain: { state: "failed", reason: "", verified: false } })).toBe("needs_attention");
    expect(stateOf(old)).toBe("redirecting");
  });
});

describe("DNS records", () => {
  it("names records relative to the zone", () => {
    expect(zoneOf("www.example.com")).toBe("example.com");
    expect(zoneOf("*.shop.example.co.uk")).toBe("example.co.uk");
    expect(relativeName("www.example.com", "example.com")).toBe("www");
    expect(relativeName("example.com", "example.com")).toBe("@");
    expect(relativeName("_abc.www.example.com.", "example.com")).toBe("_abc.www");
    expect(isApex("example.com")).toBe(true);
    expect(providerTips("example.com")[0]).toMatch(/ALIAS/);
    expect(providerTips("www.example.com").join(" ")).toMatch(/DNS only/);
  });
  it("keeps every record to create until it is no longer needed", () => {
    expect(recordsToCreate(route({ domain: { state: "pending_dns", reason: "", verified: false } }))).toHaveLength(2);
    const cert = recordsToCreate(route({ domain: { state: "pending_certificate", reason: "", verified: true } }));
    expect(cert.map((d) => d.purpose)).toEqual(["certificate"]);
    expect(recordsToCreate(route({}))).toEqual([]);
  });
});

describe("pasted values", () => {
  it("cleans what is unambiguous and says so", () => {
    expect(cleanHost("https://Shop.Example.com/path")).toEqual({ value: "shop.example.com", note: expect.stringMatching(/kept only the hostname.*lowercased/) });
    expect(cleanHost("www.example.com.").value).toBe("www.example.com");
    expect(cleanHost("www.example.com")).toEqual({ value: "www.example.com" });
    expect(cleanTarget("example.org")).toEqual({ value: "https://example.org", note: expect.stringMatching(/added https/) });
    expect(cleanTarget("example.org/a?b=1").value).toBe("https://example.org/a?b=1");
    expect(cleanTarget("https://example.org/")).toEqual({ value: "https://example.org/" });
    expect(cleanTarget("not a url")).toEqual({ value: "not a url" });
  });
});

describe("problem copy", () => {
  it("has words for every code the API documents", () => {
    const codes = new Set<string>();
    const walk = (v: unknown) => {
      if (typeof v === "string") for (const m of v.matchAll(/`([a-z]+(?:_[a-z]+)+)`\)/g)) codes.add(m[1]);
      else if (v && typeof v === "object") Object.values(v).forEach(walk);
    };
    // The OAuth protocol endpoints answer RFC 6749 errors to apps, not problems to the dashboard.
    const paths = Object.entries((doc as { paths: Record<string, unknown> }).paths).filter(([p]) => !p.startsWith("/oauth/") && !p.startsWith("/.well-known/"));
    walk(Object.fromEntries(paths));
    walk((doc as { components: { responses: unknown } }).components.responses);
    const missing = [...codes].filter((c) => !knownCodes.includes(c));
    expect(missing).toEqual([]);
  });
  it("offers the next step and keeps the request id of server errors", () => {
    expect(problemCopy({ status: 403, code: "plan_limit_reached", detail: "x" }).action).toBe("upgrade");
    expect(problemText({ status: 500, code: "internal_error", detail: "x", requestId: "r1" })).toMatch(/\(request r1\)$/);
    expect(problemText({ status: 403, code: "role_not_allowed", detail: "a member cannot read billing" }, "see billing")).toMatch(/does not let you see billing/);
  });
});
