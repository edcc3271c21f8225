import type { Membership } from "../../api";
import { href } from "../../router";
import { Link } from "../../ui";
import { UsageMeters } from "../UsageMeters";

/** PlanSettings shows the org's plan and usage, and where to change it. */
export function PlanSettings({ org }: { org: Membership }) {
  return (
    <div class="settings-section">
      <h2>Plan</h2>
      <div class="card">
        <UsageMeters org={org} />
        <p>
          <Link class="button secondary" href={href({ name: "billing", orgId: org.id })}>
            Plans and billing
          </Link>
        </p>
      </div>
    </div>
  );
}
