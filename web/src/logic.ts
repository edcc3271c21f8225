// Pure helpers of the screens, kept apart to be tested.

import {
  ApiError,
  errorMessage,
  type ApiClient,
  type DNSCheck,
  type DNSRecord,
  type DomainState,
  type EdgeReason,
  type Fallback,
  type FallbackKind,
  type Finding,
  type FindingLevel,
  type RecordPurpose,
  type RedirectStatus,
  type Role,
  type Route,
  type RouteDomain,
  type RouteEdge,
  type RouteInput,
  type RoutePatch,
  type Usage,
} from "./api";
import { emptyRuleForm, ruleInputOf, validateRuleForm, validateTargetURL, type RuleForm } from "./rules";

/** filterRoutes keeps the routes whose host or target contains q (case-insensitive). */
export function filterRoutes(routes: Route[], q: string): Route[] {
  const s = q.trim().toLowerCase();
  if (!s) return routes;
  return routes.filter((r) => r.host.includes(s) || (r.target || "").toLowerCase().includes(s));
}

/**
 * How a new route redirects: the whole hostname to one URL, or by path rules
 * alone (a first rule now, more from its page or an import).
 */
export type RouteMode = "target" | "rules";

export interface RouteForm {
  mode: RouteMode;
  host: string;
  target: string;
  status: RedirectStatus;
  keepPath: boolean;
  keepQuery: boolean;
  enabled: boolean;
  httpsRedirect: boolean;
  hsts: boolean;
  ignoreCase: boolean;
  ignoreTrailingSlash: boolean;
  fallbackKind: FallbackKind;
  fallbackTarget: string;
  fallbackStatus: RedirectStatus;
  /** mode "rules": the route's first rule. */
  rule: RuleForm;
}

export const emptyRouteForm: RouteForm = {
  mode: "target",
  host: "",
  target: "",
  status: 301,
  keepPath: true,
  keepQuery: true,
  enabled: true,
  httpsRedirect: true,
  hsts: false,
  ignoreCase: false,
  ignoreTrailingSlash: false,
  fallbackKind: "not_configured",
  fallbackTarget: "",
  fallbackStatus: 301,
  rule: emptyRuleForm,
};

export function formOf(r: Route): RouteForm {
  return {
    mode: r.target ? "target" : "rules",
    host: r.host,
    target: r.target,
    status: r.status,
    keepPath: r.keepPath,
    keepQuery: r.keepQuery,
    enabled: r.enabled,
    httpsRedirect: r.httpsRedirect ?? true,
    hsts: r.hsts ?? false,
    ignoreCase: r.pathOptions?.ignoreCase ?? false,
    ignoreTrailingSlash: r.pathOptions?.ignoreTrailingSlash ?? false,
    fallbackKind: r.fallback?.kind ?? "not_configured",
    fallbackTarget: r.fallback?.target ?? "",
    fallbackStatus: r.fallback?.status ?? 301,
    rule: emptyRuleForm,
  };
}

/**
 * usesFallback: only a route without a whole-host target falls back (a target
 * answers every path).
 */
export function usesFallback(f: Pick<RouteForm, "mode" | "target">, isNew: boolean): boolean {
  return isNew ? f.mode === "rules" : !f.target.trim();
}

/**
 * validateRouteForm catches what the browser can before asking the API. An
 * existing route with rules may drop its target (hasRules); a new one in mode
 * "rules" has its first rule instead.
 */
export function validateRouteForm(f: RouteForm, isNew: boolean, hasRules = false): Record<string, string> {
  const errs: Record<string, string> = {};
  if (isNew && !f.host.trim()) errs.host = "Enter the hostname to redirect, as www.example.com.";
  else if (isNew && /[\s/:?#]/.test(f.host.trim())) errs.host = "Enter a hostname only, without a scheme or path.";
  const t = f.target.trim();
  const rulesOnly = isNew ? f.mode === "rules" : hasRules;
  if (isNew && f.mode === "rules") Object.assign(errs, validateRuleForm(f.rule, "rules[0]."));
  else if (!t && !rulesOnly) errs.target = "Enter the URL to redirect to, as https://example.com/.";
  else if (t && !/^https?:\/\/[^\s]+$/i.test(t)) errs.target = "The target must be an absolute http:// or https:// URL.";
  if (usesFallback(f, isNew) && f.fallbackKind === "redirect") {
    const m = validateTargetURL(f.fallbackTarget, "the URL to send unmatched paths to");
    if (m) errs["fallback.target"] = m;
  }
  return errs;
}

/** fallbackOf is the fallback the form describes. */
export function fallbackOf(f: Pick<RouteForm, "fallbackKind" | "fallbackTarget" | "fallbackStatus">): Fallback {
  if (f.fallbackKind === "redirect") return { kind: "redirect", target: f.fallbackTarget.trim(), status: f.fallbackStatus };
  return { kind: f.fallbackKind };
}

export function routeInputOf(f: RouteForm): RouteInput {
  const common: RouteInput = {
    host: f.host.trim(),
    enabled: f.enabled,
    httpsRedirect: f.httpsRedirect,
    hsts: f.hsts,
  };
  // Sent only when set: the defaults need no words.
  if (f.ignoreCase || f.ignoreTrailingSlash) common.pathOptions = { ignoreCase: f.ignoreCase, ignoreTrailingSlash: f.ignoreTrailingSlash };
  if (f.mode === "rules") return { ...common, rules: [ruleInputOf(f.rule)], fallback: fallbackOf(f) };
  return { ...common, target: f.target.trim(), status: f.status, keepPath: f.keepPath, keepQuery: f.keepQuery };
}

/** routePatchOf sends only what changed; an empty patch means nothing to save. */
export function routePatchOf(before: Route, f: RouteForm): RoutePatch {
  const p: RoutePatch = {};
  if (f.target.trim() !== before.target) p.target = f.target.trim();
  if (f.status !== before.status) p.status = f.status;
  if (f.keepPath !== before.keepPath) p.keepPath = f.keepPath;
  if (f.keepQuery !== before.keepQuery) p.keepQuery = f.keepQuery;
  if (f.enabled !== before.enabled) p.enabled = f.enabled;
  if (f.httpsRedirect !== (before.httpsRedirect ?? true)) p.httpsRedirect = f.httpsRedirect;
  if (f.hsts !== (before.hsts ?? false)) p.hsts = f.hsts;
  const po = before.pathOptions ?? { ignoreCase: false, ignoreTrailingSlash: false };
  if (f.ignoreCase !== po.ignoreCase || f.ignoreTrailingSlash !== po.ignoreTrailingSlash) {
    p.pathOptions = { ignoreCase: f.ignoreCase, ignoreTrailingSlash: f.ignoreTrailingSlash };
  }
  // A target answers every path: a route that keeps one keeps the default fallback.
  if (!f.target.trim()) {
    const fb = fallbackOf(f);
    const was = before.fallback ?? { kind: "not_configured" };
    if (fb.kind !== was.kind || fb.target !== was.target || fb.status !== was.status) p.fallback = fb;
  } else if (before.fallback && before.fallback.kind !== "not_configured") {
    p.fallback = { kind: "not_configured" };
  }
  return p;
}

/** The route form's fields, as the API names them in validation errors. */
export const routeFields = [
  "host", "target", "status", "keepPath", "keepQuery", "enabled", "httpsRedirect", "hsts",
  "pathOptions.ignoreCase", "pathOptions.ignoreTrailingSlash", "fallback.kind", "fallback.target", "fallback.status",
  "rules[0].source", "rules[0].target", "rules[0].status", "rules[0].subpath", "rules[0].keepSuffix", "rules[0].keepQuery",
];

// ---- custom domains

export type BadgeKind = "ok" | "pending" | "error";

export const domainStateLabels: Record<DomainState, string> = {
  active: "Active",
  pending_dns: "Waiting for DNS",
  pending_certificate: "Issuing certificate",
  failed: "Needs attention",
};

/** domainBadge is the words (and their look) of a domain's state; an unknown state needs attention. */
export function domainBadge(d: Pick<RouteDomain, "state">): { label: string; kind: BadgeKind } {
  const label = domainStateLabels[d.state] ?? domainStateLabels.failed;
  const kind: BadgeKind = d.state === "active" ? "ok" : d.state === "pending_dns" || d.state === "pending_certificate" ? "pending" : "error";
  return { label, kind };
}

/**
 * domainNotes are the lines shown under a route about its domain: the reason of
 * a state other than active, and when an unverified route is released.
 */
export function domainNotes(d: RouteDomain | undefined, locale?: string): string[] {
  if (!d) return [];
  const out: string[] = [];
  const reason = (d.reason || "").trim();
  if (d.state !== "active" && reason) out.push(reason);
  if (d.releaseAt) out.push(`Unverified — released on ${whenText(d.releaseAt, d.releaseAt, locale)} unless DNS points here`);
  return out;
}

// ---- where redirects are answered

export const edgeReasonTexts: Record<EdgeReason, string> = {
  too_large: "its rules are too many for the edge",
  store_full: "the edge store is full: paid plans and older routes go first",
  not_redirecting: "switched off or paused: the origin shows its page",
  invalid: "its settings cannot be prepared for the edge",
  edge_disabled: "this deployment has no edge store",
};

/**
 * edgeBadge is the words (and their look) of where a route's redirects are
 * answered, with the reason when the origin answers them; undefined for a
 * route from a server that does not say.
 */
export function edgeBadge(e: RouteEdge | undefined): { label: string; kind: BadgeKind | "muted"; reason?: string } | undefined {
  switch (e?.servedFrom) {
    case "edge":
      return { label: "Served at the edge", kind: "ok" };
    case "origin":
      return { label: "Served by the origin", kind: "muted", reason: e.reason ? edgeReasonTexts[e.reason] : undefined };
    case "pending":
      return { label: "Edge: pending", kind: "pending", reason: "the first sync is running; the origin answers meanwhile" };
  }
  return undefined;
}

export const purposeLabels: Record<RecordPurpose, string> = {
  routing: "Routing",
  certificate: "Certificate",
  ownership: "Ownership",
};

/** routingRecords are the records that send traffic here (all records when none says so). */
export function routingRecords(records: DNSRecord[] | undefined): DNSRecord[] {
  const rs = records ?? [];
  const routing = rs.filter((d) => d.purpose === "routing");
  return routing.length ? routing : rs.filter((d) => !d.purpose);
}

export const findingLevelLabels: Record<FindingLevel, string> = { error: "Error", warning: "Warning", ok: "OK" };

const levelOrder: Record<string, number> = { error: 0, warning: 1, ok: 2 };

/** sortFindings puts errors first, then warnings, then what is right, keeping the API's order within a level. */
export function sortFindings(fs: Finding[] | undefined): Finding[] {
  return (fs ?? [])
    .map((f, i) => ({ f, i }))
    .sort((a, b) => (levelOrder[a.f.level] ?? 1) - (levelOrder[b.f.level] ?? 1) || a.i - b.i)
    .map((x) => x.f);
}

/** checkSummary is one line on a DNS check, as "1 error, 2 warnings". */
export function checkSummary(c: Pick<DNSCheck, "ok" | "findings">): string {
  const n = (level: FindingLevel) => (c.findings ?? []).filter((f) => f.level === level).length;
  const e = n("error");
  const w = n("warning");
  if (!e && !w) return c.ok ? "DNS is set up correctly." : "DNS is not set up yet.";
  const parts = [e ? `${e} error${e === 1 ? "" : "s"}` : "", w ? `${w} warning${w === 1 ? "" : "s"}` : ""].filter(Boolean);
  return `The check found ${parts.join(" and ")}.`;
}

/** replaceRoute puts r in the place of the route with its host. */
export function replaceRoute(items: Route[], r: Route): Route[] {
  return items.map((x) => (x.host === r.host ? r : x));
}

/** checkDNS runs a DNS check: the findings, errors first, and the route as it stands after it. */
export async function checkDNS(api: ApiClient, orgId: string, host: string): Promise<DNSCheck> {
  const c = await api.checkRoute(orgId, host);
  return { ok: c.ok === true, findings: sortFindings(c.findings), route: c.route };
}

/**
 * What adding a route came to: created, or refused because another account holds
 * the hostname: claimable by proving ownership with a TXT record, not proven
 * (the record was not found), or taken for good.
 */
export type AddOutcome =
  | { kind: "created"; route: Route }
  | { kind: "claimable"; detail: string; record?: DNSRecord }
  | { kind: "not_proven"; detail: string; record?: DNSRecord }
  | { kind: "taken"; detail: string };

/** claimOutcome reads a refusal of an add; undefined when it is not about the hostname being held. */
export function claimOutcome(e: unknown): Exclude<AddOutcome, { kind: "created" }> | undefined {
  if (!(e instanceof ApiError) || e.status !== 409) return undefined;
  if (e.reason === "ownership_not_proven") return { kind: "not_proven", detail: e.detail, record: e.ownershipRecord };
  if (e.reason !== "host_taken") return undefined;
  if (e.claimable) return { kind: "claimable", detail: e.detail, record: e.ownershipRecord };
  return { kind: "taken", detail: e.detail };
}

/**
 * addRoute creates a route, or with claim takes its hostname from the account
 * that holds it unverified. A refusal about the hostname is an outcome; any
 * other error is thrown.
 */
export async function addRoute(api: ApiClient, orgId: string, input: RouteInput, claim = false): Promise<AddOutcome> {
  try {
    const { claim: _claim, ...rest } = input;
    const route = await api.createRoute(orgId, claim ? { ...rest, claim: true } : rest);
    return { kind: "created", route };
  } catch (e) {
    const o = claimOutcome(e);
    if (o) return o;
    throw e;
  }
}

/** Cursor pages: the cursors of the pages before, so that "Previous" works. */
export interface Pager {
  cursors: (string | undefined)[]; // cursors[i] fetches page i; cursors[0] is undefined
  index: number;
}

export const firstPage: Pager = { cursors: [undefined], index: 0 };

export function nextPage(p: Pager, nextCursor: string | undefined): Pager {
  if (!nextCursor) return p;
  const cursors = p.cursors.slice(0, p.index + 1);
  cursors.push(nextCursor);
  return { cursors, index: p.index + 1 };
}

export function prevPage(p: Pager): Pager {
  return p.index === 0 ? p : { cursors: p.cursors, index: p.index - 1 };
}

export function usagePercent(used: number, limit: number): number {
  if (limit <= 0) return used > 0 ? 100 : 0;
  return Math.min(100, Math.round((used / limit) * 100));
}

export function usageLine(u: Usage): { routes: string; members: string } {
  return { routes: `${u.routes} of ${u.routeLimit} routes`, members: `${u.members} of ${u.memberLimit} members` };
}

export const statusLabels: Record<RedirectStatus, string> = {
  301: "301 Moved Permanently",
  302: "302 Found",
  307: "307 Temporary Redirect",
  308: "308 Permanent Redirect",
};

/** pickOrg chooses the org to open: the remembered one if still a member, else the first. */
export function pickOrg(orgs: { id: string }[], remembered: string | null): string | null {
  if (remembered && orgs.some((o) => o.id === remembered)) return remembered;
  return orgs.length ? orgs[0].id : null;
}

export const roles: Role[] = ["owner", "admin", "member"];

export const roleLabels: Record<Role, string> = { owner: "Owner", admin: "Admin", member: "Member" };

/** canManageMembers: owners and admins add, remove and change members. */
export function canManageMembers(actor: Role): boolean {
  return actor === "owner" || actor === "admin";
}

/** canManageKeys: owners and admins see, create and revoke API keys. */
export function canManageKeys(actor: Role): boolean {
  return actor === "owner" || actor === "admin";
}

/** assignableRoles are the roles actor may give: only owners make owners. */
export function assignableRoles(actor: Role): Role[] {
  if (actor === "owner") return roles;
  if (actor === "admin") return ["admin", "member"];
  return [];
}

/** canChangeRole: owners change anyone's role; admins anyone's but an owner's. */
export function canChangeRole(actor: Role, target: Role): boolean {
  if (actor === "owner") return true;
  return actor === "admin" && target !== "owner";
}

/**
 * canRemove: owners remove anyone, admins anyone but owners, and every member
 * may remove themselves (leave). The API still refuses the last owner.
 */
export function canRemove(actor: Role, target: Role, self: boolean): boolean {
  return self || canChangeRole(actor, target);
}

/** keyHint shows a key by the last characters of its secret: "…abcd". */
export function keyHint(hint: string): string {
  const h = hint.trim();
  return h ? `…${h}` : "…";
}

/** whenText formats an instant for a list, or says `none` ("never") when absent. */
export function whenText(iso: string | undefined, none = "never", locale?: string): string {
  if (!iso) return none;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return none;
  return d.toLocaleDateString(locale, { year: "numeric", month: "short", day: "numeric" });
}

/** localDate is the YYYY-MM-DD of a date in local time, as <input type="date"> has it. */
export function localDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** expiresAtOf turns an <input type="date"> value into the end of that local day, as RFC 3339. */
export function expiresAtOf(date: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date.trim());
  if (!m) return undefined;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 23, 59, 59);
  if (Number.isNaN(d.getTime()) || localDate(d) !== date.trim()) return undefined;
  return d.toISOString();
}

export interface KeyForm {
  name: string;
  scope: "read" | "write";
  expires: string;
}

/** validateKeyForm catches what the browser can before asking the API. */
export function validateKeyForm(f: KeyForm, now = new Date()): Record<string, string> {
  const errs: Record<string, string> = {};
  const name = f.name.trim();
  if (!name) errs.name = "Enter a name, as “CI deploy”, to tell the key apart.";
  else if (name.length > 100) errs.name = "Use at most 100 characters.";
  if (f.expires.trim()) {
    const at = expiresAtOf(f.expires);
    if (!at) errs.expires = "Enter a date, or leave it empty for a key that never expires.";
    else if (new Date(at).getTime() <= now.getTime()) errs.expires = "The date must be in the future.";
  }
  return errs;
}

/** validateEmail is a light check: the API has the last word. */
export function validateEmail(email: string): string | undefined {
  const e = email.trim();
  if (!e) return "Enter the email address of the person to invite.";
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e)) return "Enter an email address such as name@example.com.";
  return undefined;
}

/** deniedMessage explains a refusal of an attempt to do `what`, in the words of problems.ts. */
export function deniedMessage(e: unknown, what: string): string {
  return errorMessage(e, what);
}

/**
 * apiServerOf is the server the OpenAPI document's paths (/v1/…) are relative to:
 * the API base URL without its /v1.
 */
export function apiServerOf(apiUrl: string): string {
  return apiUrl.replace(/\/+$/, "").replace(/\/v1$/, "");
}
