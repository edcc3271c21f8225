// A small History-API router: paths to screens, and links that do not reload.
//
// How a screen is registered (three lines, each in its own place):
//  1. Screen below: one variant, its name and its path parameters
//     ({ name: "webhooks"; orgId: string }).
//  2. patterns below: one line mapping a path pattern to that name
//     ({ name: "webhooks", path: "/orgs/:orgId/webhooks" }); `:x` captures a
//     segment into the screen's `x`. Patterns are tried in order, so a literal
//     segment ("new") goes before a captured one at the same place.
//  3. views in src/views.tsx: the component that renders it (the compiler
//     refuses a screen without a view), and, for a top-level screen, a tab.
// A section of the org's settings is no screen: add it to src/settings.tsx.
// This module imports nothing of the app, so any module may import it.

export type Screen =
  | { name: "home" }
  | { name: "callback" }
  | { name: "newOrg" }
  | { name: "routes"; orgId: string }
  | { name: "newRoute"; orgId: string }
  | { name: "editRoute"; orgId: string; host: string }
  | { name: "route"; orgId: string; host: string }
  | { name: "importRoutes"; orgId: string }
  | { name: "analytics"; orgId: string; host?: string }
  | { name: "billing"; orgId: string }
  | { name: "members"; orgId: string }
  | { name: "apiKeys"; orgId: string }
  | { name: "apiReference"; orgId: string }
  | { name: "settings"; orgId: string; section?: string }
  | { name: "notFound"; path: string };

export type ScreenName = Screen["name"];

/** The screens of one org: every screen with an orgId. */
export type OrgScreen = Extract<Screen, { orgId: string }>;
export type OrgScreenName = OrgScreen["name"];

interface Pattern {
  name: Exclude<ScreenName, "notFound">;
  path: string;
}

/** The path of each screen; the first that matches wins. */
export const patterns: Pattern[] = [
  { name: "home", path: "/" },
  { name: "callback", path: "/callback" },
  { name: "callback", path: "/auth/callback" },
  { name: "newOrg", path: "/orgs/new" },
  { name: "routes", path: "/orgs/:orgId/routes" },
  { name: "newRoute", path: "/orgs/:orgId/routes/new" },
  { name: "importRoutes", path: "/orgs/:orgId/routes/import" },
  // A hostname has two labels at least: never "new" or "import".
  { name: "route", path: "/orgs/:orgId/routes/:host" },
  { name: "editRoute", path: "/orgs/:orgId/routes/:host/edit" },
  { name: "analytics", path: "/orgs/:orgId/routes/:host/analytics" },
  { name: "analytics", path: "/orgs/:orgId/analytics" },
  { name: "billing", path: "/orgs/:orgId/billing" },
  { name: "members", path: "/orgs/:orgId/members" },
  { name: "apiKeys", path: "/orgs/:orgId/api-keys" },
  { name: "apiReference", path: "/orgs/:orgId/api-reference" },
  { name: "settings", path: "/orgs/:orgId/settings" },
  { name: "settings", path: "/orgs/:orgId/settings/:section" },
];

/** Values a captured org id never takes: they name screens. */
const reservedOrgIds = new Set(["new"]);

const segments = (p: string) => p.split("/").filter(Boolean);

/** match maps a location path to a screen. */
export function match(path: string): Screen {
  const parts = segments(path);
  let dec: string[];
  try {
    dec = parts.map((p) => decodeURIComponent(p));
  } catch {
    return { name: "notFound", path };
  }
  for (const p of patterns) {
    const want = segments(p.path);
    if (want.length !== dec.length) continue;
    const params: Record<string, string> = {};
    const ok = want.every((w, i) => {
      if (!w.startsWith(":")) return w === dec[i];
      if (w === ":orgId" && reservedOrgIds.has(dec[i])) return false;
      params[w.slice(1)] = dec[i];
      return true;
    });
    if (ok) return { name: p.name, ...params } as Screen;
  }
  return { name: "notFound", path };
}

/** href builds the path of a screen: the first pattern of its name whose parameters it has all of. */
export function href(s: Screen): string {
  if (s.name === "notFound") return s.path;
  const values = s as unknown as Record<string, string | undefined>;
  const keys = Object.keys(values).filter((k) => k !== "name" && values[k] !== undefined);
  for (const p of patterns) {
    if (p.name !== s.name) continue;
    const names = segments(p.path).filter((w) => w.startsWith(":")).map((w) => w.slice(1));
    if (names.length !== keys.length || !names.every((n) => keys.includes(n))) continue;
    const path = segments(p.path)
      .map((w) => (w.startsWith(":") ? encodeURIComponent(values[w.slice(1)]!) : w))
      .join("/");
    return "/" + path;
  }
  throw new Error(`no path for the screen ${s.name}`);
}

type Listener = () => void;
const listeners = new Set<Listener>();

export function onNavigate(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function navigate(path: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  listeners.forEach((l) => l());
  window.scrollTo(0, 0);
}

if (typeof window !== "undefined") {
  window.addEventListener("popstate", () => listeners.forEach((l) => l()));
}

/** linkClick turns a plain left click on an in-app link into navigate(). */
export function linkClick(ev: MouseEvent): void {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = (ev.currentTarget as HTMLAnchorElement) || null;
  if (!a || a.target || a.origin !== location.origin) return;
  ev.preventDefault();
  navigate(a.pathname + a.search);
}
