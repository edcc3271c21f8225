import { describe, expect, it } from "vitest";
import { ApiClient, ApiError, type DNSRecord, type Route } from "./api";
import {
  addRoute,
  checkDNS,
  checkSummary,
  claimOutcome,
  domainBadge,
  domainNotes,
  emptyRouteForm,
  findingLevelLabels,
  formOf,
  purposeLabels,
  replaceRoute,
  routeInputOf,
  routePatchOf,
  routingRecords,
  sortFindings,
} from "./logic";

const ownership: DNSRecord = { type: "TXT", name: "_dnsreroute.www.example.com", value: "dnsreroute-verification=abc", purpose: "ownership" };

const route = (host: string, extra: Partial<Route> = {}): Route => ({
  host, target: "https://example.org/", status: 301, keepPath: true, keepQuery: true, enabled: true, cnameTarget: "d123.cloudfront.net",
  httpsRedirect: true, hsts: false,
  domain: { state: "pending_dns", reason: "Create a CNAME record for www.example.com.", verified: false, releaseAt: "2026-11-29T10:00:00Z" },
  dnsRecords: [{ type: "CNAME", name: host, value: "d123.cloudfront.net", purpose: "routing" }],
  ownershipRecord: { ...ownership, name: `_dnsreroute.${host}` },
  createdAt: "", updatedAt: "", paused: false, edge: { servedFrom: "pending" }, ruleCount: 0,
  pathOptions: { ignoreCase: false, ignoreTrailingSlash: false }, fallback: { kind: "not_configured" }, ...extra,
});

const json = (status: number, body: unknown, type = "application/json") =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
const problem = (body: Record<string, unknown>) => json(body.status as number, body, "application/problem+json");

/** mockApi answers each call with the next response and records what was sent. */
function mockApi(...answers: Response[]) {
  const calls: { url: string; method: string; body?: unknown }[] = [];
  const api = new ApiClient({
    baseUrl: "https://api.test/v1",
    token: () => "t",
    fetch: async (input, init) => {
      calls.push({ url: String(input), method: init?.method ?? "GET", body: init?.body ? JSON.parse(init.body as string) : undefined });
      const next = answers.shift();
      if (!next) throw new Error("no answer left");
      return next;
    },
  });
  return { api, calls };
}

describe("domain badge", () => {
  it("words each state, not only its colour", () => {
    expect(domainBadge({ state: "active" })).toEqual({ label: "Active", kind: "ok" });
    expect(domainBadge({ state: "pending_dns" })).toEqual({ label: "Waiting for DNS", kind: "pending" });
    expect(domainBadge({ state: "pending_certificate" })).toEqual({ label: "Issuing certificate", kind: "pending" });
    expect(domainBadge({ state: "failed" })).toEqual({ label: "Needs attention", kind: "error" });
    expect(domainBadge({ state: "something_new" as never })).toEqual({ label: "Needs attention", kind: "error" });
  });
  it("shows the reason of a state other than active, and the release of an unverified route", () => {
    const d = route("www.example.com").domain;
    const notes = domainNotes(d, "en-US");
    expect(notes[0]).toBe("Create a CNAME record for www.example.com.");
    expect(notes[1]).toMatch(/^Unverified — released on .*2026 unless DNS points here$/);
    expect(notes[1]).toMatch(/Nov/);
    expect(domainNotes({ state: "active", reason: "ignored when active", verified: true })).toEqual([]);
    expect(domainNotes({ state: "failed", reason: "  ", verified: true })).toEqual([]);
    expect(domainNotes({ state: "failed", reason: "CAA forbids Amazon.", verified: true })).toEqual(["CAA forbids Amazon."]);
    expect(domainNotes(undefined)).toEqual([]);
  });
});

describe("records table", () => {
  const wildcard = route("*.example.com", {
    dnsRecords: [
      { type: "CNAME", name: "*.example.com", value: "d123.cloudfront.net", purpose: "routing" },
      { type: "CNAME", name: "_abc.example.com", value: "_def.acm-validations.aws", purpose: "certificate" },
    ],
  });
  it("keeps the API's order and names each record's purpose", () => {
    expect(wildcard.dnsRecords.map((d) => `${d.name} ${d.type} ${d.value} ${purposeLabels[d.purpose]}`)).toEqual([
      "*.example.com CNAME d123.cloudfront.net Routing",
      "_abc.example.com CNAME _def.acm-validations.aws Certificate",
    ]);
    expect(purposeLabels[wildcard.ownershipRecord.purpose]).toBe("Ownership");
  });
  it("sums a route up by its routing records", () => {
    expect(routingRecords(wildcard.dnsRecords).map((d) => d.name)).toEqual(["*.example.com"]);
    expect(routingRecords(undefined)).toEqual([]);
    const unlabelled = [{ type: "CNAME", name: "a.example.com", value: "x" }] as DNSRecord[];
    expect(routingRecords(unlabelled)).toEqual(unlabelled);
  });
});

describe("DNS check", () => {
  it("sorts findings errors first and words their levels", () => {
    const fs = sortFindings([
      { level: "ok", code: "caa_ok", message: "CAA allows Amazon." },
      { level: "warning", code: "aaaa_extra", message: "An AAAA record." },
      { level: "error", code: "cname_missing", message: "No CNAME." },
      { level: "error", code: "cname_wrong_target", message: "Wrong target." },
    ]);
    expect(fs.map((f) => `${findingLevelLabels[f.level]}: ${f.code}`)).toEqual([
      "Error: cname_missing", "Error: cname_wrong_target", "Warning: aaaa_extra", "OK: caa_ok",
    ]);
    expect(checkSummary({ ok: false, findings: fs })).toBe("The check found 2 errors and 1 warning.");
    expect(checkSummary({ ok: true, findings: [fs[3]] })).toBe("DNS is set up correctly.");
  });
  it("posts to the check endpoint and updates the route from its answer", async () => {
    const before = route("www.example.com");
    const after = route("www.example.com", { domain: { state: "pending_certificate", reason: "The certificate is being issued.", verified: true } });
    const { api, calls } = mockApi(json(200, {
      ok: false,
      findings: [
        { level: "ok", code: "cname_ok", message: "www.example.com points here." },
        { level: "error", code: "caa_forbids_amazon", message: "A CAA record forbids Amazon." },
      ],
      route: after,
    }));
    const c = await checkDNS(api, "org_a", "www.example.com");
    expect(calls).toEqual([{ url: "https://api.test/v1/orgs/org_a/routes/www.example.com/check", method: "POST", body: undefined }]);
    expect(c.ok).toBe(false);
    expect(c.findings.map((f) => f.level)).toEqual(["error", "ok"]);
    const list = replaceRoute([route("a.example.com"), before], c.route);
    expect(list[1].domain.state).toBe("pending_certificate");
    expect(list[1].domain.releaseAt).toBeUndefined();
    expect(list[0].host).toBe("a.example.com");
  });
  it("encodes a wildcard host and throws refusals as other API errors", async () => {
    const { api, calls } = mockApi(problem({ status: 403, code: "role_not_allowed", detail: "Not allowed." }));
    const e = await checkDNS(api, "org_a", "a/b.example.com").catch((e) => e);
    expect(calls[0].url).toBe("https://api.test/v1/orgs/org_a/routes/a%2Fb.example.com/check");
    expect(e).toBeInstanceOf(ApiError);
    expect(e.detail).toBe("Not allowed.");
  });
});

describe("claiming a hostname", () => {
  const input = routeInputOf({ ...emptyRouteForm, host: "www.example.com", target: "https://example.org/" });
  const taken = (claimable: boolean) => problem({
    type: "https://dnsreroute.dev/problems/host_taken", title: "Conflict", status: 409,
    detail: "www.example.com is routed by another account.", reason: "host_taken", claimable, ownershipRecord: ownership,
  });

  it("offers the TXT record when claimable, then claims with claim:true", async () => {
    const { api, calls } = mockApi(taken(true), json(201, route("www.example.com")));
    const first = await addRoute(api, "org_a", input);
    expect(first).toEqual({ kind: "claimable", detail: "www.example.com is routed by another account.", record: ownership });
    const second = await addRoute(api, "org_a", input, true);
    expect(second.kind).toBe("created");
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      "POST https://api.test/v1/orgs/org_a/routes",
      "POST https://api.test/v1/orgs/org_a/routes",
    ]);
    expect(calls[0].body).not.toHaveProperty("claim");
    expect(calls[1].body).toEqual({ ...input, claim: true });
  });

  it("says when ownership is not proven, with the record again", async () => {
    const { api } = mockApi(problem({
      status: 409, title: "Conflict", detail: "The TXT record _dnsreroute.www.example.com was not found.",
      reason: "ownership_not_proven", ownershipRecord: ownership,
    }));
    expect(await addRoute(api, "org_a", input, true)).toEqual({
      kind: "not_proven", detail: "The TXT record _dnsreroute.www.example.com was not found.", record: ownership,
    });
  });

  it("shows only the detail when the hostname cannot be claimed", async () => {
    const { api } = mockApi(taken(false));
    expect(await addRoute(api, "org_a", input, true)).toEqual({ kind: "taken", detail: "www.example.com is routed by another account." });
  });

  it("reads host_taken from code as well as reason, and throws other refusals", async () => {
    const viaCode = new ApiError({ status: 409, code: "host_taken", detail: "taken", claimable: true, ownershipRecord: ownership });
    expect(claimOutcome(viaCode)).toEqual({ kind: "claimable", detail: "taken", record: ownership });
    expect(claimOutcome(new ApiError({ status: 403, code: "plan_limit_reached", detail: "upgrade" }))).toBeUndefined();
    expect(claimOutcome(new Error("x"))).toBeUndefined();
    const { api } = mockApi(problem({ status: 403, code: "plan_limit_reached", detail: "upgrade to add more" }));
    await expect(addRoute(api, "org_a", input)).rejects.toMatchObject({ code: "plan_limit_reached" });
  });

  it("keeps a malformed ownership record out", async () => {
    const { api } = mockApi(problem({ status: 409, detail: "taken", reason: "host_taken", claimable: true, ownershipRecord: { type: "TXT" } }));
    expect(await addRoute(api, "org_a", input)).toEqual({ kind: "claimable", detail: "taken", record: undefined });
  });
});

describe("HTTPS options in the route form", () => {
  it("redirects HTTP to HTTPS by default, without HSTS, and sends both on add", async () => {
    expect(emptyRouteForm.httpsRedirect).toBe(true);
    expect(emptyRouteForm.hsts).toBe(false);
    const { api, calls } = mockApi(json(201, route("www.example.com", { hsts: true })));
    await addRoute(api, "org_a", routeInputOf({ ...emptyRouteForm, host: "www.example.com", target: "https://example.org/", hsts: true }));
    expect(calls[0].body).toMatchObject({ httpsRedirect: true, hsts: true });
  });
  it("patches them only when changed", async () => {
    const r = route("www.example.com");
    expect(formOf(r)).toMatchObject({ httpsRedirect: true, hsts: false });
    expect(routePatchOf(r, formOf(r))).toEqual({});
    const patch = routePatchOf(r, { ...formOf(r), httpsRedirect: false, hsts: true });
    expect(patch).toEqual({ httpsRedirect: false, hsts: true });
    const { api, calls } = mockApi(json(200, { ...r, httpsRedirect: false, hsts: true }));
    await api.updateRoute("org_a", r.host, patch);
    expect(calls[0]).toEqual({ url: "https://api.test/v1/orgs/org_a/routes/www.example.com", method: "PATCH", body: { httpsRedirect: false, hsts: true } });
  });
});
