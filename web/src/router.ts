// A small History-API router: paths to screens, and links that do not reload.

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
  | { name: "notFound"; path: string };

/** match maps a location path to a screen. */
export function match(path: string): Screen {
  const parts = path.split("/").filter(Boolean);
  let dec: string[];
  try {
    dec = parts.map((p) => decodeURIComponent(p));
  } catch {
    return { name: "notFound", path };
  }
  const [a, b, c, d, e, f] = dec;
  if (parts.length === 0) return { name: "home" };
  if (a === "callback" && parts.length === 1) return { name: "callback" };
  if (a === "auth" && b === "callback" && parts.length === 2) return { name: "callback" };
  if (a === "orgs" && b === "new" && parts.length === 2) return { name: "newOrg" };
  if (a === "orgs" && b && b !== "new") {
    if (c === "routes" && parts.length === 3) return { name: "routes", orgId: b };
    if (c === "routes" && d === "new" && parts.length === 4) return { name: "newRoute", orgId: b };
    if (c === "routes" && d === "import" && parts.length === 4) return { name: "importRoutes", orgId: b };
    // A hostname has two labels at least: never "new" or "import".
    if (c === "routes" && d && parts.length === 4) return { name: "route", orgId: b, host: d };
    if (c === "routes" && d && e === "edit" && parts.length === 5 && f === undefined)
      return { name: "editRoute", orgId: b, host: d };
    if (c === "routes" && d && e === "analytics" && parts.length === 5) return { name: "analytics", orgId: b, host: d };
    if (c === "analytics" && parts.length === 3) return { name: "analytics", orgId: b };
    if (c === "billing" && parts.length === 3) return { name: "billing", orgId: b };
    if (c === "members" && parts.length === 3) return { name: "members", orgId: b };
    if (c === "api-keys" && parts.length === 3) return { name: "apiKeys", orgId: b };
    if (c === "api-reference" && parts.length === 3) return { name: "apiReference", orgId: b };
  }
  return { name: "notFound", path };
}

/** href builds the path of a screen. */
export function href(s: Screen): string {
  const e = encodeURIComponent;
  switch (s.name) {
    case "home":
      return "/";
    case "callback":
      return "/callback";
    case "newOrg":
      return "/orgs/new";
    case "routes":
      return `/orgs/${e(s.orgId)}/routes`;
    case "newRoute":
      return `/orgs/${e(s.orgId)}/routes/new`;
    case "editRoute":
      return `/orgs/${e(s.orgId)}/routes/${e(s.host)}/edit`;
    case "route":
      return `/orgs/${e(s.orgId)}/routes/${e(s.host)}`;
    case "importRoutes":
      return `/orgs/${e(s.orgId)}/routes/import`;
    case "analytics":
      return s.host ? `/orgs/${e(s.orgId)}/routes/${e(s.host)}/analytics` : `/orgs/${e(s.orgId)}/analytics`;
    case "billing":
      return `/orgs/${e(s.orgId)}/billing`;
    case "members":
      return `/orgs/${e(s.orgId)}/members`;
    case "apiKeys":
      return `/orgs/${e(s.orgId)}/api-keys`;
    case "apiReference":
      return `/orgs/${e(s.orgId)}/api-reference`;
    case "notFound":
      return s.path;
  }
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
