// Pure helpers of the screens, kept apart to be tested.

import type { Route, RouteInput, RoutePatch, RedirectStatus, Usage } from "./api";

/** filterRoutes keeps the routes whose host or target contains q (case-insensitive). */
export function filterRoutes(routes: Route[], q: string): Route[] {
  const s = q.trim().toLowerCase();
  if (!s) return routes;
  return routes.filter((r) => r.host.includes(s) || r.target.toLowerCase().includes(s));
}

export interface RouteForm {
  host: string;
  target: string;
  status: RedirectStatus;
  keepPath: boolean;
  keepQuery: boolean;
  enabled: boolean;
}

export const emptyRouteForm: RouteForm = {
  host: "",
  target: "",
  status: 301,
  keepPath: true,
  keepQuery: true,
  enabled: true,
};

export function formOf(r: Route): RouteForm {
  return { host: r.host, target: r.target, status: r.status, keepPath: r.keepPath, keepQuery: r.keepQuery, enabled: r.enabled };
}

/** validateRouteForm catches what the browser can before asking the API. */
export function validateRouteForm(f: RouteForm, isNew: boolean): Record<string, string> {
  const errs: Record<string, string> = {};
  if (isNew && !f.host.trim()) errs.host = "Enter the hostname to redirect, as www.example.com.";
  else if (isNew && /[\s/:?#]/.test(f.host.trim())) errs.host = "Enter a hostname only, without a scheme or path.";
  const t = f.target.trim();
  if (!t) errs.target = "Enter the URL to redirect to, as https://example.com/.";
  else if (!/^https?:\/\/[^\s]+$/i.test(t)) errs.target = "The target must be an absolute http:// or https:// URL.";
  return errs;
}

export function routeInputOf(f: RouteForm): RouteInput {
  return {
    host: f.host.trim(),
    target: f.target.trim(),
    status: f.status,
    keepPath: f.keepPath,
    keepQuery: f.keepQuery,
    enabled: f.enabled,
  };
}

/** routePatchOf sends only what changed; an empty patch means nothing to save. */
export function routePatchOf(before: Route, f: RouteForm): RoutePatch {
  const p: RoutePatch = {};
  if (f.target.trim() !== before.target) p.target = f.target.trim();
  if (f.status !== before.status) p.status = f.status;
  if (f.keepPath !== before.keepPath) p.keepPath = f.keepPath;
  if (f.keepQuery !== before.keepQuery) p.keepQuery = f.keepQuery;
  if (f.enabled !== before.enabled) p.enabled = f.enabled;
  return p;
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
