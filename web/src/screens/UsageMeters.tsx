import { useEffect, useState } from "preact/hooks";
import type { Membership, Org } from "../api";
import { usagePercent } from "../logic";
import { problemText } from "../problems";
import { useSession } from "../session";
import { ErrorBox, Loading } from "../ui";

export function Meter({ label, used, limit }: { label: string; used: number; limit: number }) {
  return (
    <div class="meter">
      <div class="meter-label">
        <span>{label}</span>
        <span>
          {used} of {limit}
        </span>
      </div>
      <progress max={100} value={usagePercent(used, limit)} aria-label={`${label}: ${used} of ${limit}`} />
    </div>
  );
}

/** useOrg reads the org (its plan and usage), again whenever the account is reloaded. */
export function useOrg(orgId: string): { org: Org | null; err: string } {
  const { api, me } = useSession();
  const [org, setOrg] = useState<Org | null>(null);
  const [err, setErr] = useState("");
  useEffect(() => {
    let live = true;
    api
      .org(orgId)
      .then((o) => live && (setOrg(o), setErr("")))
      .catch((e) => live && setErr(problemText(e, "read the org")));
    return () => {
      live = false;
    };
  }, [api, orgId, me]);
  return { org, err };
}

/** UsageMeters shows the org's plan with its routes and members against their limits. */
export function UsageMeters({ org }: { org: Membership }) {
  const { org: o, err } = useOrg(org.id);
  if (err) return <ErrorBox message={err} />;
  if (!o) return <Loading what="usage" />;
  return (
    <div class="usage">
      <p>
        Plan: <strong class="plan-name">{o.plan}</strong>
      </p>
      <Meter label="Routes" used={o.usage.routes} limit={o.usage.routeLimit} />
      <Meter label="Members" used={o.usage.members} limit={o.usage.memberLimit} />
      <p class="hint">Each route may have up to {o.usage.ruleLimit.toLocaleString("en")} path rules on this plan.</p>
    </div>
  );
}
