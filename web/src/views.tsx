// What each org screen renders, and the org's tabs. A new screen is registered
// in src/router.ts (its path) and here (its view; the compiler asks for one).

import type { JSX } from "preact";
import type { Membership } from "./api";
import { lazy } from "./lazy";
import type { OrgScreen, OrgScreenName, Screen } from "./router";
import { ApiKeysScreen } from "./screens/ApiKeys";
import { ApiReferenceScreen } from "./screens/ApiReference";
import { BillingScreen } from "./screens/Billing";
import { ImportRoutes } from "./screens/ImportRoutes";
import { MembersScreen } from "./screens/Members";
import { RouteEditor } from "./screens/RouteEditor";
import { RouteRules } from "./screens/RouteRules";
import { RoutesScreen } from "./screens/Routes";
import { SettingsScreen } from "./screens/Settings";

type View<N extends OrgScreenName> = (p: { screen: Extract<OrgScreen, { name: N }>; org: Membership }) => JSX.Element;

/** views renders each screen of an org. */
export const views: { [N in OrgScreenName]: View<N> } = {
  routes: ({ org }) => <RoutesScreen org={org} />,
  newRoute: ({ org }) => <RouteEditor org={org} />,
  editRoute: ({ org, screen }) => <RouteEditor org={org} host={screen.host} />,
  route: ({ org, screen }) => <RouteRules org={org} host={screen.host} />,
  importRoutes: ({ org }) => <ImportRoutes org={org} />,
  analytics: ({ org, screen }) => <LazyAnalytics key={screen.host ?? ""} org={org} host={screen.host} />,
  billing: ({ org }) => <BillingScreen org={org} />,
  members: ({ org }) => <MembersScreen org={org} />,
  apiKeys: ({ org }) => <ApiKeysScreen org={org} />,
  apiReference: () => <ApiReferenceScreen />,
  settings: ({ org, screen }) => <SettingsScreen key={screen.section ?? ""} org={org} section={screen.section} />,
};

/** The analytics screen, with its chart library, loads only when opened. */
const LazyAnalytics = lazy(() => import("./screens/Analytics").then((m) => m.AnalyticsScreen), "analytics");

/** renderView renders an org screen with its own view. */
export function renderView(screen: OrgScreen, org: Membership): JSX.Element {
  const v = views[screen.name] as View<OrgScreenName>;
  return v({ screen: screen as never, org });
}

export interface Tab {
  label: string;
  /** The screen the tab opens. */
  to: (orgId: string) => Screen;
  /** Whether the tab is the current one on a screen. */
  current: (s: Screen) => boolean;
}

/** The org's tabs, in order. */
export const tabs: Tab[] = [
  {
    label: "Routes",
    to: (orgId) => ({ name: "routes", orgId }),
    current: (s) => ["routes", "newRoute", "editRoute", "route", "importRoutes"].includes(s.name) || (s.name === "analytics" && !!s.host),
  },
  { label: "Analytics", to: (orgId) => ({ name: "analytics", orgId }), current: (s) => s.name === "analytics" && !s.host },
  { label: "Members", to: (orgId) => ({ name: "members", orgId }), current: (s) => s.name === "members" },
  { label: "API keys", to: (orgId) => ({ name: "apiKeys", orgId }), current: (s) => s.name === "apiKeys" },
  { label: "Billing", to: (orgId) => ({ name: "billing", orgId }), current: (s) => s.name === "billing" },
  { label: "Settings", to: (orgId) => ({ name: "settings", orgId }), current: (s) => s.name === "settings" },
  { label: "API reference", to: (orgId) => ({ name: "apiReference", orgId }), current: (s) => s.name === "apiReference" },
];
