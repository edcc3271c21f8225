// The management API client: typed calls, and RFC 9457 problem documents turned
// into ApiError, with the per-field messages of `validation_failed`.

import createClient from "openapi-fetch";
import { analyticsParams, type Analytics, type AnalyticsQuery } from "./analytics";
import type { components, paths } from "./generated/openapi";
import { problemText } from "./problems";

// The API's own types, generated from shared/httpapi/openapi.json (npm run gen:api):
// the names below are the dashboard's words for them.
type S = components["schemas"];

export type Membership = S["Membership"];
export type Role = Membership["role"];
export type FieldError = S["FieldError"];
/** An import's refusal: one failing line of the file, the field, and why. */
export type LineError = S["LineError"];
export type Me = S["Me"];
export type Usage = S["Usage"];
export type Org = S["Org"];
export type DNSRecord = S["DNSRecord"];
export type RecordPurpose = DNSRecord["purpose"];
/** A route's hostname as the edge (CloudFront, with its certificate) serves it. */
export type RouteDomain = S["Domain"];
export type DomainState = RouteDomain["state"];
/** Where a route's redirects are answered. */
export type RouteEdge = S["EdgeStatus"];
export type ServedFrom = RouteEdge["servedFrom"];
export type EdgeReason = NonNullable<RouteEdge["reason"]>;
export type PathOptions = S["PathOptions"];
export type Fallback = S["Fallback"];
export type FallbackKind = Fallback["kind"];
export type Rule = S["Rule"];
export type RedirectStatus = Rule["status"];
export type RuleInput = S["RuleInput"];
export type RulePatch = S["RulePatch"];
export type TryResult = S["TryResult"];
export type ImportLine = S["ImportLine"];
export type ImportAction = ImportLine["action"];
export type ImportSummary = S["ImportSummary"];
export type ImportResult = S["ImportResult"];
export type ImportFormat = "csv" | "json";

/** What the destination monitor found of a route's target (GET of one route). */
export type RouteDestination = S["Destination"];
export type Route = S["Route"];
export type EventType = S["EventType"];
export type Webhook = S["Webhook"];
export type NewWebhook = S["NewWebhook"];
export type WebhookInput = S["WebhookInput"];
export type WebhookPatch = S["WebhookPatch"];
export type WebhookDelivery = S["WebhookDelivery"];
export type EmailPrefs = S["EmailPrefs"];
export type RouteInput = S["RouteInput"];
/** A patch; target "" clears the whole-host target of a route that has rules. */
export type RoutePatch = S["RoutePatch"];
export type Finding = S["Finding"];
export type FindingLevel = Finding["level"];
/** The answer of a DNS check: what it found, and the route after it. */
export type DNSCheck = S["RouteCheck"];
export interface Page<T> {
  items: T[];
  nextCursor?: string;
}
export type Plan = S["Plan"];
export type Billing = S["Billing"];
export type Member = S["Member"];
export type APIKey = S["APIKey"];
export type KeyScope = APIKey["scope"];
/** A key just created: the only answer that carries its secret. */
export type NewAPIKey = S["NewAPIKey"];
export type APIKeyInput = S["APIKeyInput"];
export type OAuthApp = S["OAuthApp"];
export type NewOAuthApp = S["NewOAuthApp"];
export type OAuthAppInput = S["OAuthAppInput"];
export type OAuthAppPatch = S["OAuthAppPatch"];
export type OAuthClient = S["OAuthClient"];
export type OAuthAuthorizationInput = S["OAuthAuthorizationInput"];
export type OAuthGrant = S["OAuthGrant"];

/** A problem document (RFC 9457) as the client reads it, whatever the server sent. */
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

type Query = Record<string, string | number | boolean | undefined>;

/** seg percent-encodes one path segment. */
export const seg = (s: string) => encodeURIComponent(s);

/** queryString writes a query as a form does, leaving out what is unset or empty. */
function queryString(query?: Query): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== "") q.set(k, String(v));
  return q.toString();
}

/** The paths of the generated document are absolute (/v1/...): the client's base is the API's origin and prefix before /v1. */
function originOf(base: string): string {
  return base.replace(/\/+$/, "").replace(/\/v1$/, "");
}

/**
 * The management API's client. Every JSON call goes through openapi-fetch with
 * the paths, parameters, bodies and answers generated from openapi.json, so a
 * call the document does not describe does not compile; errors and a failure
 * to reach the API are thrown as ApiError.
 */
export class ApiClient {
  private readonly base: string;
  private readonly token: TokenSource;
  private readonly fetchImpl: typeof fetch;
  private readonly onUnauthorized?: (e: ApiError) => void;
  /** The typed client (openapi-fetch) the JSON calls go through. */
  readonly client;

  constructor(o: ApiClientOptions) {
    this.base = o.baseUrl.replace(/\/+$/, "");
    this.token = o.token;
    this.fetchImpl = o.fetch ?? ((input, init) => fetch(input, init));
    this.onUnauthorized = o.onUnauthorized;
    this.client = createClient<paths>({
      baseUrl: originOf(this.base),
      querySerializer: (q) => queryString(q as Query),
      fetch: (req: Request) => this.fetchRequest(req),
    });
  }

  url(path: string, query?: Query): string {
    const s = queryString(query);
    return this.base + path + (s ? "?" + s : "");
  }

  /** fetchRequest sends what openapi-fetch built, through send's token and error handling. */
  private async fetchRequest(req: Request): Promise<Response> {
    const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.text();
    const headers: Record<string, string> = {};
    req.headers.forEach((v, k) => {
      headers[k] = v;
    });
    delete headers["content-type"];
    return this.sendURL(req.method, req.url, {
      body: body || undefined,
      contentType: body ? req.headers.get("Content-Type") || "application/json" : undefined,
      headers,
    });
  }

  /** data unwraps an openapi-fetch answer (errors were thrown by send). */
  private async data<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
    const r = await p;
    return r.data as T;
  }

  /**
   * send makes one call and answers its response when it is a success; an error
   * answer or a failure to reach the API is thrown as ApiError. For what the
   * generated client does not read (CSV, files).
   */
  send(
    method: string,
    path: string,
    o: { body?: string; contentType?: string; accept?: string; headers?: Record<string, string> } = {},
    query?: Query,
  ): Promise<Response> {
    return this.sendURL(method, this.url(path, query), o);
  }

  private async sendURL(
    method: string,
    url: string,
    o: { body?: string; contentType?: string; accept?: string; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...o.headers, Accept: o.accept ?? "application/json, application/problem+json" };
    delete headers.accept;
    const tok = await this.token();
    if (tok) headers.Authorization = `Bearer ${tok}`;
    if (o.contentType) headers["Content-Type"] = o.contentType;
    let res: Response;
    try {
      res = await this.fetchImpl(url, { method, headers, body: o.body });
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

  me = () => this.data(this.client.GET("/v1/me"));
  /** openapi answers the API's own description (the API reference screen renders it). */
  openapi = () => this.send("GET", "/openapi.json").then((res) => res.json() as Promise<Record<string, unknown>>);
  plans = () => this.data(this.client.GET("/v1/plans"));
  createOrg = (name: string) => this.data(this.client.POST("/v1/orgs", { body: { name } }));
  org = (orgId: string) => this.data(this.client.GET("/v1/orgs/{orgId}", { params: { path: { orgId } } }));
  updateOrg = (orgId: string, p: { name: string }) =>
    this.data(this.client.PATCH("/v1/orgs/{orgId}", { params: { path: { orgId } }, body: p }));
  deleteOrg = (orgId: string) => this.data(this.client.DELETE("/v1/orgs/{orgId}", { params: { path: { orgId } } }));

  routes = (orgId: string, p: { limit?: number; cursor?: string; search?: string; state?: Route["state"] } = {}) =>
    this.data(this.client.GET("/v1/orgs/{orgId}/routes", { params: { path: { orgId }, query: p } })) as Promise<Page<Route>>;
  route = (orgId: string, host: string) =>
    this.data(this.client.GET("/v1/orgs/{orgId}/routes/{host}", { params: { path: { orgId, host } } })) as Promise<Route>;
  createRoute = (orgId: string, r: RouteInput) =>
    this.data(this.client.POST("/v1/orgs/{orgId}/routes", { params: { path: { orgId } }, body: r })) as Promise<Route>;
  updateRoute = (orgId: string, host: string, p: RoutePatch) =>
    this.data(this.client.PATCH("/v1/orgs/{orgId}/routes/{host}", { params: { path: { orgId, host } }, body: p })) as Promise<Route>;
  deleteRoute = (orgId: string, host: string) =>
    this.data(this.client.DELETE("/v1/orgs/{orgId}/routes/{host}", { params: { path: { orgId, host } } })) as Promise<void>;
  /** checkRoute looks the route's DNS up now and moves its domain on. */
  checkRoute = (orgId: string, host: string) =>
    this.data(this.client.POST("/v1/orgs/{orgId}/routes/{host}/check", { params: { path: { orgId, host } } })) as Promise<DNSCheck>;

  rules = (orgId: string, host: string, p: { limit?: number; cursor?: string; q?: string } = {}) =>
    this.data(this.client.GET("/v1/orgs/{orgId}/routes/{host}/rules", { params: { path: { orgId, host }, query: p } }));
  rule = (orgId: string, host: string, ruleId: string) =>
    this.data(this.client.GET("/v1/orgs/{orgId}/routes/{host}/rules/{ruleId}", { params: { path: { orgId, host, ruleId } } }));
  /** createRule adds one rule; a rule of the same source answers 409 rule_exists. */
  createRule = (orgId: string, host: string, r: RuleInput) =>
    this.data(this.client.POST("/v1/orgs/{orgId}/routes/{host}/rules", { params: { path: { orgId, host } }, body: r }));
  updateRule = (orgId: string, host: string, ruleId: string, p: RulePatch) =>
    this.data(this.client.PATCH("/v1/orgs/{orgId}/routes/{host}/rules/{ruleId}", { params: { path: { orgId, host, ruleId } }, body: p }));
  deleteRule = (orgId: string, host: string, ruleId: string) =>
    this.data(this.client.DELETE("/v1/orgs/{orgId}/routes/{host}/rules/{ruleId}", { params: { path: { orgId, host, ruleId } } })) as Promise<void>;
  /** tryUrl answers how the route would answer url, writing nothing. */
  tryUrl = (orgId: string, host: string, url: string) =>
    this.data(this.client.POST("/v1/orgs/{orgId}/routes/{host}/try", { params: { path: { orgId, host } }, body: { url } }));

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
    this.data(this.client.GET("/v1/orgs/{orgId}/analytics", { params: { path: { orgId }, query: analyticsParams(q) } })) as Promise<Analytics>;
  /** analyticsCsv answers the same range's series as CSV (start,hits,bots,notFound,edge). */
  analyticsCsv = (orgId: string, q: AnalyticsQuery) =>
    this.send("GET", `/orgs/${seg(orgId)}/analytics`, { accept: "text/csv, application/problem+json" }, analyticsParams(q)).then((res) => res.text());

  members = (orgId: string, p: { limit?: number; cursor?: string } = {}) =>
    this.data(this.client.GET("/v1/orgs/{orgId}/members", { params: { path: { orgId }, query: p } }));
  addMember = (orgId: string, m: { email: string; role?: Role }) =>
    this.data(this.client.POST("/v1/orgs/{orgId}/members", { params: { path: { orgId } }, body: m }));
  updateMember = (orgId: string, email: string, role: Role) =>
    this.data(this.client.PATCH("/v1/orgs/{orgId}/members/{email}", { params: { path: { orgId, email } }, body: { role } }));
  removeMember = (orgId: string, email: string) =>
    this.data(this.client.DELETE("/v1/orgs/{orgId}/members/{email}", { params: { path: { orgId, email } } })) as Promise<void>;

  eventTypes = () => this.data(this.client.GET("/v1/events", {}));
  webhooks = (orgId: string) => this.data(this.client.GET("/v1/orgs/{orgId}/webhooks", { params: { path: { orgId } } }));
  createWebhook = (orgId: string, w: WebhookInput) =>
    this.data(this.client.POST("/v1/orgs/{orgId}/webhooks", { params: { path: { orgId } }, body: w }));
  updateWebhook = (orgId: string, webhookId: string, w: WebhookPatch) =>
    this.data(this.client.PATCH("/v1/orgs/{orgId}/webhooks/{webhookId}", { params: { path: { orgId, webhookId } }, body: w }));
  deleteWebhook = (orgId: string, webhookId: string) =>
    this.data(this.client.DELETE("/v1/orgs/{orgId}/webhooks/{webhookId}", { params: { path: { orgId, webhookId } } }));
  rotateWebhookSecret = (orgId: string, webhookId: string) =>
    this.data(this.client.POST("/v1/orgs/{orgId}/webhooks/{webhookId}/rotate-secret", { params: { path: { orgId, webhookId } } }));
  testWebhook = (orgId: string, webhookId: string) =>
    this.data(this.client.POST("/v1/orgs/{orgId}/webhooks/{webhookId}/test", { params: { path: { orgId, webhookId } } }));
  webhookDeliveries = (orgId: string, webhookId: string) =>
    this.data(this.client.GET("/v1/orgs/{orgId}/webhooks/{webhookId}/deliveries", { params: { path: { orgId, webhookId } } }));
  myNotifications = (orgId: string) =>
    this.data(this.client.GET("/v1/orgs/{orgId}/members/me/notifications", { params: { path: { orgId } } }));
  setMyNotifications = (orgId: string, events: EventType[]) =>
    this.data(this.client.PUT("/v1/orgs/{orgId}/members/me/notifications", { params: { path: { orgId } }, body: { events } }));
  apiKeys = (orgId: string, p: { limit?: number; cursor?: string } = {}) =>
    this.data(this.client.GET("/v1/orgs/{orgId}/api-keys", { params: { path: { orgId }, query: p } }));
  createApiKey = (orgId: string, k: APIKeyInput) =>
    this.data(this.client.POST("/v1/orgs/{orgId}/api-keys", { params: { path: { orgId } }, body: k }));
  deleteApiKey = (orgId: string, keyId: string) =>
    this.data(this.client.DELETE("/v1/orgs/{orgId}/api-keys/{keyId}", { params: { path: { orgId, keyId } } })) as Promise<void>;

  oauthApps = (orgId: string, p: { limit?: number; cursor?: string } = {}) =>
    this.data(this.client.GET("/v1/orgs/{orgId}/oauth-apps", { params: { path: { orgId }, query: p } }));
  createOAuthApp = (orgId: string, a: OAuthAppInput) =>
    this.data(this.client.POST("/v1/orgs/{orgId}/oauth-apps", { params: { path: { orgId } }, body: a }));
  updateOAuthApp = (orgId: string, clientId: string, a: OAuthAppPatch) =>
    this.data(this.client.PATCH("/v1/orgs/{orgId}/oauth-apps/{clientId}", { params: { path: { orgId, clientId } }, body: a }));
  rotateOAuthAppSecret = (orgId: string, clientId: string) =>
    this.data(this.client.POST("/v1/orgs/{orgId}/oauth-apps/{clientId}/secret", { params: { path: { orgId, clientId } } }));
  deleteOAuthApp = (orgId: string, clientId: string) =>
    this.data(this.client.DELETE("/v1/orgs/{orgId}/oauth-apps/{clientId}", { params: { path: { orgId, clientId } } })) as Promise<void>;
  oauthGrants = (orgId: string, p: { all?: "true" | "false"; limit?: number; cursor?: string } = {}) =>
    this.data(this.client.GET("/v1/orgs/{orgId}/oauth-grants", { params: { path: { orgId }, query: p } }));
  revokeOAuthGrant = (orgId: string, clientId: string, email?: string) =>
    this.data(
      this.client.DELETE("/v1/orgs/{orgId}/oauth-grants/{clientId}", { params: { path: { orgId, clientId }, query: email ? { email } : {} } }),
    ) as Promise<void>;
  oauthClient = (clientId: string) => this.data(this.client.GET("/v1/oauth/clients/{clientId}", { params: { path: { clientId } } }));
  authorizeOAuth = (a: OAuthAuthorizationInput) => this.data(this.client.POST("/v1/oauth/authorizations", { body: a }));

  billing = (orgId: string) => this.data(this.client.GET("/v1/orgs/{orgId}/billing", { params: { path: { orgId } } }));
  checkout = (orgId: string, plan: string) =>
    this.data(this.client.POST("/v1/orgs/{orgId}/billing/checkout", { params: { path: { orgId } }, body: { plan } }));
  portal = (orgId: string) => this.data(this.client.POST("/v1/orgs/{orgId}/billing/portal", { params: { path: { orgId } } }));
}

/** errorMessage gives the words to show for any thrown value (problems.ts holds them). */
export function errorMessage(e: unknown, what?: string): string {
  return problemText(e, what);
}
