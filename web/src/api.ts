// The management API client: typed calls, and RFC 9457 problem documents turned
// into ApiError, with the per-field messages of `validation_failed`.

import { analyticsParams, type Analytics, type AnalyticsQuery } from "./analytics";

export type Role = "owner" | "admin" | "member";

export interface FieldError {
  field: string;
  message: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  code: string;
  fields?: FieldError[];
  /** An import's refusal: every failing line of the file. */
  errors?: LineError[];
  requestId?: string;
  /** The refusal's reason, as `host_taken` (servers may send it as `reason` or as `code`). */
  reason?: string;
  /** host_taken: whether the hostname may be claimed by proving ownership. */
  claimable?: boolean;
  /** host_taken, ownership_not_proven: the TXT record that proves ownership. */
  ownershipRecord?: DNSRecord;
}

/** One failing line of an import: its line number in the file, the field, and why. */
export interface LineError {
  line: number;
  field: string;
  reason: string;
}

export interface Membership {
  id: string;
  name: string;
  plan: string;
  role: Role;
}

export interface Me {
  email: string;
  orgs: Membership[];
}

export interface Usage {
  routes: number;
  routeLimit: number;
  members: number;
  memberLimit: number;
  /** The path rules each route may hold. */
  ruleLimit?: number;
}

export interface Org {
  id: string;
  name: string;
  plan: string;
  role?: Role;
  usage: Usage;
  createdAt: string;
  updatedAt: string;
  pastDue: boolean;
}

export type RecordPurpose = "routing" | "certificate" | "ownership";

export interface DNSRecord {
  type: "CNAME" | "TXT";
  name: string;
  value: string;
  /** routing: sends traffic here; certificate: validates a wildcard's certificate; ownership: proves control. */
  purpose: RecordPurpose;
}

export type DomainState = "pending_dns" | "pending_certificate" | "active" | "failed";

/** A route's hostname as the edge (CloudFront, with its certificate) serves it. */
export interface RouteDomain {
  state: DomainState;
  /** What to do, in the customer's words; may be empty when active. */
  reason: string;
  /** The hostname was shown to be under this org's control. */
  verified: boolean;
  /** Only while unverified: the route is released then unless DNS points here. */
  releaseAt?: string;
  checkedAt?: string;
}

/** Where a route's redirects are answered: at the edge, by the origin, or not known until the first sync. */
export type ServedFrom = "edge" | "origin" | "pending";

/** Why a route is served by the origin rather than at the edge. */
export type EdgeReason = "too_large" | "store_full" | "not_redirecting" | "invalid" | "edge_disabled";

export interface RouteEdge {
  servedFrom: ServedFrom;
  /** Only when served by the origin. */
  reason?: EdgeReason;
  /** The records (and their bytes) the route takes in the edge store. */
  records?: number;
  bytes?: number;
  /** When the edge sync last looked at the route. */
  syncedAt?: string;
}

export type RedirectStatus = 301 | 302 | 307 | 308;

/** A route's matching options, for all its rules. */
export interface PathOptions {
  ignoreCase: boolean;
  ignoreTrailingSlash: boolean;
}

export type FallbackKind = "not_configured" | "gone" | "redirect";

/** What a route answers for a path no rule matches (only a route without a whole-host target). */
export interface Fallback {
  kind: FallbackKind;
  /** redirect: where to. */
  target?: string;
  /** redirect: with which status. */
  status?: RedirectStatus;
}

/** A path rule of a route, with the options of Cloudflare Bulk Redirects. */
export interface Rule {
  /** base64url of the canonical source path. */
  id: string;
  source: string;
  target: string;
  status: RedirectStatus;
  /** Also matches every path below source, on a segment boundary. */
  subpath: boolean;
  /** With subpath: the rest of the path below source is added to the target. */
  keepSuffix: boolean;
  keepQuery: boolean;
}

export type RuleInput = Omit<Rule, "id" | "status" | "subpath" | "keepSuffix" | "keepQuery"> &
  Partial<Pick<Rule, "status" | "subpath" | "keepSuffix" | "keepQuery">>;

export type RulePatch = Partial<Omit<Rule, "id">>;

/** How a route answers one URL: the rule that matched, its target, or its fallback. */
export interface TryResult {
  kind: "redirect" | "gone" | "not_configured";
  status: number;
  /** With redirect: the Location the request gets. */
  location?: string;
  rule: Rule | null;
  /** The route's whole-host target answered. */
  wholeHost?: boolean;
  /** No rule matched: the route's fallback answered. */
  fallback: boolean;
}

export type ImportFormat = "csv" | "json";

export type ImportAction = "create" | "update" | "unchanged" | "error";

export interface ImportLine {
  /** From 1; 0 for the whole file. */
  line: number;
  action: ImportAction;
  hosts: string[];
  /** With error: the CSV column or JSON member at fault, if one is. */
  field?: string;
  /** With error: why the line is refused. */
  reason?: string;
}

/** The lines by action. */
export interface ImportSummary {
  create: number;
  update: number;
  unchanged: number;
  error: number;
}

/** What an import did, or with dryRun would do, line by line. */
export interface ImportResult {
  dryRun: boolean;
  summary: ImportSummary;
  routesCreated: number;
  routesUpdated: number;
  lines: ImportLine[];
}

/** importResultOf reads an import's answer, with zero for any count it leaves out. */
export function importResultOf(raw: unknown): ImportResult {
  const r = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const s = (r.summary && typeof r.summary === "object" ? r.summary : {}) as Record<string, unknown>;
  const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  return {
    dryRun: r.dryRun === true,
    summary: { create: n(s.create), update: n(s.update), unchanged: n(s.unchanged), error: n(s.error) },
    routesCreated: n(r.routesCreated ?? s.routesCreated),
    routesUpdated: n(r.routesUpdated ?? s.routesUpdated),
    lines: Array.isArray(r.lines) ? (r.lines as ImportLine[]).map((l) => ({ ...l, hosts: Array.isArray(l.hosts) ? l.hosts : [] })) : [],
  };
}

export interface Route {
  host: string;
  /** The whole-host target; empty for a route of path rules alone. */
  target: string;
  status: RedirectStatus;
  keepPath: boolean;
  keepQuery: boolean;
  enabled: boolean;
  cnameTarget: string;
  /** Plain-HTTP requests go to HTTPS first once the domain is active. */
  httpsRedirect: boolean;
  /** HTTPS answers carry Strict-Transport-Security. */
  hsts: boolean;
  domain: RouteDomain;
  /** Where its redirects are answered (absent from servers older than the edge). */
  edge?: RouteEdge;
  /** The records to create, in order: the routing CNAME, then any certificate validation records. */
  dnsRecords: DNSRecord[];
  /** The optional TXT record that proves the hostname is this org's. */
  ownershipRecord: DNSRecord;
  createdAt: string;
  updatedAt: string;
  paused: boolean;
  ruleCount?: number;
  pathOptions?: PathOptions;
  fallback?: Fallback;
}

export interface RouteInput {
  host: string;
  /** Optional when rules are given. */
  target?: string;
  status?: RedirectStatus;
  keepPath?: boolean;
  keepQuery?: boolean;
  enabled?: boolean;
  httpsRedirect?: boolean;
  hsts?: boolean;
  /** Take the hostname from another account's unverified route, proven by the ownership TXT record. */
  claim?: boolean;
  rules?: RuleInput[];
  pathOptions?: PathOptions;
  fallback?: Fallback;
}

/** A patch; target "" clears the whole-host target of a route that has rules. */
export type RoutePatch = Partial<Omit<RouteInput, "host" | "claim" | "rules">>;

export type FindingLevel = "error" | "warning" | "ok";

/** One thing a DNS check found, right or wrong. */
export interface Finding {
  level: FindingLevel;
  code: string;
  message: string;
}

/** The answer of a DNS check: what it found, and the route after it. */
export interface DNSCheck {
  ok: boolean;
  findings: Finding[];
  route: Route;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export interface Plan {
  name: string;
  title: string;
  routeLimit: number;
  memberLimit: number;
  ruleLimit?: number;
  price: string;
  features: string[];
  available: boolean;
}

export interface Billing {
  plan: string;
  status: string;
  pastDue: boolean;
  currentPeriodEnd?: string;
  cancelAtPeriodEnd: boolean;
  usage: Usage;
  pausedRoutes: boolean;
}

export interface Member {
  email: string;
  role: Role;
  createdAt: string;
}

export type KeyScope = "read" | "write";

export interface APIKey {
  id: string;
  name: string;
  scope: KeyScope;
  /** The secret's last four characters. */
  hint: string;
  createdBy: string;
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
}

/** A key just created: the only answer that carries its secret. */
export interface NewAPIKey extends APIKey {
  secret: string;
}

export interface APIKeyInput {
  name: string;
  scope?: KeyScope;
  expiresAt?: string;
}

/** An error answer of the API, or a failure to reach it (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly requestId?: string;
  /** validation_failed: message by field name (the first message of a field wins). */
  readonly fields: Record<string, string>;
  /** An import's refusal: every failing line, in the file's order. */
  readonly errors: LineError[];
  /** The refusal's reason (as `host_taken`, `ownership_not_proven`): `reason`, else `code`. */
  readonly reason: string;
  readonly claimable: boolean;
  readonly ownershipRecord?: DNSRecord;

  constructor(p: Problem) {
    super(p.detail || p.title || `HTTP ${p.status}`);
    this.name = "ApiError";
    this.status = p.status;
    this.code = p.code;
    this.detail = p.detail || p.title || `The request failed (HTTP ${p.status}).`;
    this.requestId = p.requestId;
    this.fields = fieldErrors(p);
    this.errors = lineErrors(p);
    this.reason = p.reason || p.code;
    this.claimable = p.claimable === true;
    this.ownershipRecord = p.ownershipRecord;
  }

  /** The message to show for a field, if the API refused it. */
  field(name: string): string | undefined {
    return this.fields[name];
  }
}

/** fieldErrors maps each refused field to its (first) message. */
export function fieldErrors(p: Pick<Problem, "fields">): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(p.fields)) return out;
  for (const f of p.fields) {
    if (f && typeof f.field === "string" && typeof f.message === "string" && !(f.field in out)) {
      out[f.field] = f.message;
    }
  }
  return out;
}

/** lineErrors keeps an import refusal's well-formed line errors, by line number. */
export function lineErrors(p: Pick<Problem, "errors">): LineError[] {
  if (!Array.isArray(p.errors)) return [];
  return p.errors
    .filter((e) => e && typeof e.line === "number" && typeof e.reason === "string")
    .map((e) => ({ line: e.line, field: typeof e.field === "string" ? e.field : "", reason: e.reason }))
    .sort((a, b) => a.line - b.line);
}

function isProblemType(contentType: string | null): boolean {
  const t = (contentType || "").split(";")[0].trim().toLowerCase();
  return t === "application/problem+json" || t === "application/json";
}

/**
 * problemOf reads an error response. A problem+json body is used as it is; any
 * other body gives a problem with code `http_<status>`.
 */
export async function problemOf(res: Response): Promise<Problem> {
  const fallback: Problem = {
    status: res.status,
    code: `http_${res.status}`,
    title: res.statusText || undefined,
    detail: defaultDetail(res.status),
    requestId: res.headers.get("X-Request-Id") || undefined,
  };
  if (!isProblemType(res.headers.get("Content-Type"))) return fallback;
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return fallback;
  }
  if (!body || typeof body !== "object") return fallback;
  const b = body as Record<string, unknown>;
  const reason = typeof b.reason === "string" && b.reason ? b.reason : undefined;
  return {
    type: typeof b.type === "string" ? b.type : undefined,
    title: typeof b.title === "string" ? b.title : fallback.title,
    status: typeof b.status === "number" ? b.status : res.status,
    detail: typeof b.detail === "string" && b.detail ? b.detail : fallback.detail,
    code: typeof b.code === "string" && b.code ? b.code : reason || fallback.code,
    fields: Array.isArray(b.fields) ? (b.fields as FieldError[]) : undefined,
    errors: Array.isArray(b.errors) ? (b.errors as LineError[]) : undefined,
    requestId: typeof b.requestId === "string" ? b.requestId : fallback.requestId,
    reason,
    claimable: typeof b.claimable === "boolean" ? b.claimable : undefined,
    ownershipRecord: recordOf(b.ownershipRecord),
  };
}

/** recordOf keeps a DNS record of a problem only if it has what is shown. */
function recordOf(v: unknown): DNSRecord | undefined {
  if (!v || typeof v !== "object") return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.type !== "string" || typeof r.name !== "string" || typeof r.value !== "string") return undefined;
  return { type: r.type as DNSRecord["type"], name: r.name, value: r.value, purpose: (typeof r.purpose === "string" ? r.purpose : "ownership") as RecordPurpose };
}

function defaultDetail(status: number): string {
  if (status === 401) return "Your session has ended: sign in again.";
  if (status === 403) return "You are not allowed to do this.";
  if (status === 404) return "Not found.";
  if (status === 429) return "Too many requests: wait a moment and try again.";
  if (status >= 500) return "The service could not answer: try again in a moment.";
  return `The request failed (HTTP ${status}).`;
}

export type TokenSource = () => string | null | undefined | Promise<string | null | undefined>;

export interface ApiClientOptions {
  /** The API's base URL, as https://api.example.com/v1 (no trailing slash needed). */
  baseUrl: string;
  token: TokenSource;
  fetch?: typeof fetch;
  /** Called on every 401 answer (the session ended). */
  onUnauthorized?: (e: ApiError) => void;
}

type Query = Record<string, string | number | undefined>;

/** seg percent-encodes one path segment. */
export const seg = (s: string) => encodeURIComponent(s);

export class ApiClient {
  private readonly base: string;
  private readonly token: TokenSource;
  private readonly fetchImpl: typeof fetch;
  private readonly onUnauthorized?: (e: ApiError) => void;

  constructor(o: ApiClientOptions) {
    this.base = o.baseUrl.replace(/\/+$/, "");
    this.token = o.token;
    this.fetchImpl = o.fetch ?? ((input, init) => fetch(input, init));
    this.onUnauthorized = o.onUnauthorized;
  }

  url(path: string, query?: Query): string {
    let u = this.base + path;
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") q.set(k, String(v));
      const s = q.toString();
      if (s) u += "?" + s;
    }
    return u;
  }

  async request<T>(method: string, path: string, body?: unknown, query?: Query, headers?: Record<string, string>): Promise<T> {
    const res = await this.send(method, path, {
      body: body === undefined ? undefined : JSON.stringify(body),
      contentType: body === undefined ? undefined : "application/json",
      headers,
    }, query);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * send makes one call and answers its response when it is a success; an error
   * answer or a failure to reach the API is thrown as ApiError.
   */
  async send(
    method: string,
    path: string,
    o: { body?: string; contentType?: string; accept?: string; headers?: Record<string, string> } = {},
    query?: Query,
  ): Promise<Response> {
    const headers: Record<string, string> = { Accept: o.accept ?? "application/json, application/problem+json", ...o.headers };
    const tok = await this.token();
    if (tok) headers.Authorization = `Bearer ${tok}`;
    if (o.contentType) headers["Content-Type"] = o.contentType;
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(path, query), { method, headers, body: o.body });
    } catch {
      throw new ApiError({
        status: 0,
        code: "network_error",
        detail: "The service could not be reached: check your connection and try again.",
      });
    }
    if (!res.ok) {
      const e = new ApiError(await problemOf(res));
      if (res.status === 401) this.onUnauthorized?.(e);
      throw e;
    }
    return res;
  }

  me = () => this.request<Me>("GET", "/me");
  plans = () => this.request<{ plans: Plan[] }>("GET", "/plans");
  createOrg = (name: string) => this.request<Org>("POST", "/orgs", { name });
  org = (orgId: string) => this.request<Org>("GET", `/orgs/${seg(orgId)}`);

  routes = (orgId: string, p: { limit?: number; cursor?: string } = {}) =>
    this.request<Page<Route>>("GET", `/orgs/${seg(orgId)}/routes`, undefined, p);
  route = (orgId: string, host: string) => this.request<Route>("GET", `/orgs/${seg(orgId)}/routes/${seg(host)}`);
  createRoute = (orgId: string, r: RouteInput) => this.request<Route>("POST", `/orgs/${seg(orgId)}/routes`, r);
  updateRoute = (orgId: string, host: string, p: RoutePatch) =>
    this.request<Route>("PATCH", `/orgs/${seg(orgId)}/routes/${seg(host)}`, p);
  deleteRoute = (orgId: string, host: string) =>
    this.request<void>("DELETE", `/orgs/${seg(orgId)}/routes/${seg(host)}`);
  /** checkRoute looks the route's DNS up now and moves its domain on. */
  checkRoute = (orgId: string, host: string) =>
    this.request<DNSCheck>("POST", `/orgs/${seg(orgId)}/routes/${seg(host)}/check`);

  rules = (orgId: string, host: string, p: { limit?: number; cursor?: string; q?: string } = {}) =>
    this.request<Page<Rule>>("GET", `/orgs/${seg(orgId)}/routes/${seg(host)}/rules`, undefined, p);
  rule = (orgId: string, host: string, ruleId: string) =>
    this.request<Rule>("GET", `/orgs/${seg(orgId)}/routes/${seg(host)}/rules/${seg(ruleId)}`);
  /** createRule adds one rule; a rule of the same source answers 409 rule_exists. */
  createRule = (orgId: string, host: string, r: RuleInput) =>
    this.request<Rule>("POST", `/orgs/${seg(orgId)}/routes/${seg(host)}/rules`, r);
  updateRule = (orgId: string, host: string, ruleId: string, p: RulePatch) =>
    this.request<Rule>("PATCH", `/orgs/${seg(orgId)}/routes/${seg(host)}/rules/${seg(ruleId)}`, p);
  deleteRule = (orgId: string, host: string, ruleId: string) =>
    this.request<void>("DELETE", `/orgs/${seg(orgId)}/routes/${seg(host)}/rules/${seg(ruleId)}`);
  /** tryUrl answers how the route would answer url, writing nothing. */
  tryUrl = (orgId: string, host: string, url: string) =>
    this.request<TryResult>("POST", `/orgs/${seg(orgId)}/routes/${seg(host)}/try`, { url });

  /**
   * importRoutes sends a Cloudflare Bulk Redirects CSV file, or the JSON of an
   * export, as it is. With dryRun nothing is written; a real import is all or
   * nothing, and key makes a retried one answer as the first.
   */
  importRoutes = (orgId: string, o: { body: string; format: ImportFormat; dryRun: boolean; idempotencyKey?: string }) =>
    this.send(
      "POST",
      `/orgs/${seg(orgId)}/routes/import`,
      {
        body: o.body,
        contentType: o.format === "csv" ? "text/csv" : "application/json",
        headers: o.idempotencyKey ? { "Idempotency-Key": o.idempotencyKey } : undefined,
      },
      { dryRun: String(o.dryRun) },
    ).then(async (res) => importResultOf(await res.json()));

  /** exportRoutes answers the org's routes and rules as the CSV or the JSON import takes. */
  exportRoutes = (orgId: string, format: ImportFormat) =>
    this.send("GET", `/orgs/${seg(orgId)}/routes/export`, {
      accept: format === "csv" ? "text/csv, application/problem+json" : "application/json, application/problem+json",
    }).then((res) => res.text());

  /** analytics answers an org's numbers, or one host's (q.host), over an inclusive range of dates. */
  analytics = (orgId: string, q: AnalyticsQuery) =>
    this.request<Analytics>("GET", `/orgs/${seg(orgId)}/analytics`, undefined, analyticsParams(q));
  /** analyticsCsv answers the same range's series as CSV (start,hits,bots,notFound,edge). */
  analyticsCsv = (orgId: string, q: AnalyticsQuery) =>
    this.send("GET", `/orgs/${seg(orgId)}/analytics`, { accept: "text/csv, application/problem+json" }, analyticsParams(q)).then((res) => res.text());

  members = (orgId: string, p: { limit?: number; cursor?: string } = {}) =>
    this.request<Page<Member>>("GET", `/orgs/${seg(orgId)}/members`, undefined, p);
  addMember = (orgId: string, m: { email: string; role?: Role }) =>
    this.request<Member>("POST", `/orgs/${seg(orgId)}/members`, m);
  updateMember = (orgId: string, email: string, role: Role) =>
    this.request<Member>("PATCH", `/orgs/${seg(orgId)}/members/${seg(email)}`, { role });
  removeMember = (orgId: string, email: string) =>
    this.request<void>("DELETE", `/orgs/${seg(orgId)}/members/${seg(email)}`);

  apiKeys = (orgId: string, p: { limit?: number; cursor?: string } = {}) =>
    this.request<Page<APIKey>>("GET", `/orgs/${seg(orgId)}/api-keys`, undefined, p);
  createApiKey = (orgId: string, k: APIKeyInput) => this.request<NewAPIKey>("POST", `/orgs/${seg(orgId)}/api-keys`, k);
  deleteApiKey = (orgId: string, keyId: string) =>
    this.request<void>("DELETE", `/orgs/${seg(orgId)}/api-keys/${seg(keyId)}`);

  billing = (orgId: string) => this.request<Billing>("GET", `/orgs/${seg(orgId)}/billing`);
  checkout = (orgId: string, plan: string) =>
    this.request<{ url: string }>("POST", `/orgs/${seg(orgId)}/billing/checkout`, { plan });
  portal = (orgId: string) => this.request<{ url: string }>("POST", `/orgs/${seg(orgId)}/billing/portal`);
}

/** errorMessage gives the words to show for any thrown value. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === "billing_not_configured") return "Billing is not set up on this installation, so plans cannot be bought here.";
    return e.requestId && e.status >= 500 ? `${e.detail} (request ${e.requestId})` : e.detail;
  }
  if (e instanceof Error) return e.message;
  return String(e);
}
