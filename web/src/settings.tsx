// The sections of an org's settings, each at /orgs/<org>/settings/<id>. To add
// one, write its component (it gets the org) and add a line to `sections`; the
// settings screen lists it in its side menu, in this order.

import type { JSX } from "preact";
import type { Membership, Role } from "./api";
import { GeneralSettings } from "./screens/settings/General";
import { PlanSettings } from "./screens/settings/Plan";
import { lazy } from "./lazy";

// The sections past the first two load when opened.
const AuthorizedApps = lazy(() => import("./screens/settings/AuthorizedApps").then((m) => m.AuthorizedApps), "authorized apps");
const OAuthApps = lazy(() => import("./screens/settings/OAuthApps").then((m) => m.OAuthApps), "OAuth apps");
const NotificationSettings = lazy(() => import("./screens/settings/Notifications").then((m) => m.NotificationSettings), "notification settings");
const WebhookSettings = lazy(() => import("./screens/settings/Webhooks").then((m) => m.WebhookSettings), "webhooks");

export interface SettingsSection {
  /** The path segment, as "general". */
  id: string;
  title: string;
  /** Which roles see the section; every role when absent. */
  roles?: Role[];
  render: (p: { org: Membership }) => JSX.Element;
}

export const sections: SettingsSection[] = [
  { id: "general", title: "General", render: ({ org }) => <GeneralSettings org={org} /> },
  { id: "plan", title: "Plan", render: ({ org }) => <PlanSettings org={org} /> },
  { id: "authorized-apps", title: "Authorized apps", render: ({ org }) => <AuthorizedApps org={org} /> },
  { id: "oauth-apps", title: "OAuth apps", roles: ["owner", "admin"], render: ({ org }) => <OAuthApps org={org} /> },
  { id: "notifications", title: "Notifications", render: ({ org }) => <NotificationSettings org={org} /> },
  { id: "webhooks", title: "Webhooks", roles: ["owner", "admin"], render: ({ org }) => <WebhookSettings org={org} /> },
];

/** visibleSections are the sections a role sees. */
export function visibleSections(role: Role): SettingsSection[] {
  return sections.filter((s) => !s.roles || s.roles.includes(role));
}
