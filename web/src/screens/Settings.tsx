import type { Membership } from "../api";
import { href } from "../router";
import { visibleSections } from "../settings";
import { Link } from "../ui";
import { useTitle } from "../title";

/** SettingsScreen shows one section of the org's settings beside the menu of all of them. */
export function SettingsScreen({ org, section }: { org: Membership; section?: string }) {
  const all = visibleSections(org.role);
  const current = all.find((s) => s.id === (section ?? all[0]?.id));
  useTitle(current ? `${current.title} settings` : "Settings", org.name);
  return (
    <section class="settings">
      <h1>Settings</h1>
      <div class="settings-layout">
        <nav class="settings-nav" aria-label="Settings">
          <ul>
            {all.map((s) => (
              <li key={s.id}>
                <Link href={href({ name: "settings", orgId: org.id, section: s.id })} aria-current={s === current ? "page" : undefined}>
                  {s.title}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div class="settings-body">
          {current ? current.render({ org }) : <p>There is no such section of the settings.</p>}
        </div>
      </div>
    </section>
  );
}
