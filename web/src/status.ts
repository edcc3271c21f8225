// What a visitor to a route's hostname gets now, in words: the first thing a
// route shows. The API decides it (route.state); a route from an older server
// is judged from its fields the same way. A destination reported broken needs
// attention even while the route redirects.

import type { Route } from "./api";

export type RouteStateName = Route["state"];
export type StateKind = "ok" | "pending" | "error" | "off";

export interface StateText {
  label: string;
  kind: StateKind;
  /** What it means for a visitor, and what to do. */
  explain: string;
}

export const stateTexts: Record<RouteStateName, StateText> = {
  redirecting: { label: "Redirecting", kind: "ok", explain: "Visitors are redirected." },
  paused: { label: "Paused", kind: "off", explain: "Over the plan's route limit: visitors get a “not configured” page. Upgrade, or delete other routes, to resume it." },
  disabled: { label: "Disabled", kind: "off", explain: "Turned off: visitors get a “not configured” page. Enable it to redirect again." },
  pending_dns: { label: "Waiting for DNS", kind: "pending", explain: "Create the DNS records below: visitors do not reach the service until the CNAME points here." },
  pending_certificate: { label: "Issuing certificate", kind: "pending", explain: "DNS is right; HTTPS starts once the certificate is issued (minutes, sometimes longer)." },
  needs_attention: { label: "Needs attention", kind: "error", explain: "The hostname cannot be served as it is: see what to fix below." },
};

/** stateOf is the route's state: the API's, else judged from its fields as the API does. */
export function stateOf(r: Pick<Route, "enabled" | "paused" | "domain"> & { state?: RouteStateName }): RouteStateName {
  if (r.state && r.state in stateTexts) return r.state;
  if (!r.enabled) return "disabled";
  if (r.paused) return "paused";
  switch (r.domain?.state) {
    case "active":
      return "redirecting";
    case "failed":
      return "needs_attention";
    case "pending_certificate":
      return "pending_certificate";
  }
  return "pending_dns";
}

/** routeStatus is the words of what a visitor gets now, a broken destination included. */
export function routeStatus(r: Route): StateText & { state: RouteStateName | "destination_broken" } {
  const s = stateOf(r);
  if (s === "redirecting" && r.destination?.state === "broken") {
    return {
      state: "destination_broken",
      label: "Needs attention",
      kind: "error",
      explain: `Visitors are redirected, but the destination fails${r.destination.lastError ? `: ${r.destination.lastError}` : ""}. Fix the target site, or change the target.`,
    };
  }
  return { state: s, ...stateTexts[s] };
}

/** The state filter of the routes list: every state, "" for all. */
export const stateFilters: { value: RouteStateName | ""; label: string }[] = [
  { value: "", label: "All states" },
  ...(Object.keys(stateTexts) as RouteStateName[]).map((k) => ({ value: k, label: stateTexts[k].label })),
];
