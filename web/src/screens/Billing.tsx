import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError, errorMessage, type Billing, type Membership, type Plan } from "../api";
import { useSession } from "../session";
import { usagePercent } from "../logic";
import { ErrorBox, Loading, Notice } from "../ui";

function Meter({ label, used, limit }: { label: string; used: number; limit: number }) {
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

export function BillingScreen({ org }: { org: Membership }) {
  const { api } = useSession();
  const [billing, setBilling] = useState<Billing | null>(null);
  const [plans, setPlans] = useState<Plan[] | null>(null);
  const [err, setErr] = useState("");
  const [actionErr, setActionErr] = useState<{ code: string; msg: string } | null>(null);
  const [busy, setBusy] = useState("");

  const load = useCallback(() => {
    setErr("");
    setBilling(null);
    Promise.all([api.billing(org.id), api.plans()])
      .then(([b, p]) => {
        setBilling(b);
        setPlans(p.plans);
      })
      .catch((e) => setErr(errorMessage(e)));
  }, [api, org.id]);
  useEffect(load, [load]);

  async function go(what: string, call: () => Promise<{ url: string }>) {
    setBusy(what);
    setActionErr(null);
    try {
      const { url } = await call();
      location.assign(url);
    } catch (e) {
      setActionErr({ code: e instanceof ApiError ? e.code : "", msg: errorMessage(e) });
      setBusy("");
    }
  }

  if (err) return <ErrorBox message={err} retry={load} />;
  if (!billing || !plans) return <Loading what="billing" />;
  const current = plans.find((p) => p.name === billing.plan);
  const owner = org.role === "owner";
  const upgrades = plans.filter((p) => p.name !== billing.plan && p.name !== "free");
  // No paid plan on sale: this installation has no payment provider.
  const notConfigured = actionErr?.code === "billing_not_configured" || (upgrades.length > 0 && !upgrades.some((p) => p.available));
  return (
    <section>
      <h1>Plan &amp; billing</h1>
      {billing.pastDue && (
        <Notice kind="warning">
          <p>
            <strong>Payment failed.</strong> Your last payment did not go through and is being retried. Update your card in the billing portal to keep your plan.
          </p>
        </Notice>
      )}
      {billing.pausedRoutes && (
        <Notice kind="warning">
          <p>Your org has more routes than its plan allows: the newest are paused. Upgrade or delete routes to resume them.</p>
        </Notice>
      )}
      <div class="card">
        <h2>
          {current?.title ?? billing.plan} plan {current && <span class="price">{current.price}</span>}
        </h2>
        <p class="meta">
          Subscription: {billing.status === "none" ? "none" : billing.status}
          {billing.currentPeriodEnd && (
            <>
              {" · "}
              {billing.cancelAtPeriodEnd ? "ends" : "renews"} {new Date(billing.currentPeriodEnd).toLocaleDateString()}
            </>
          )}
        </p>
        <Meter label="Routes" used={billing.usage.routes} limit={billing.usage.routeLimit} />
        <Meter label="Members" used={billing.usage.members} limit={billing.usage.memberLimit} />
        {owner && billing.status !== "none" && (
          <button type="button" class="secondary" disabled={!!busy} onClick={() => go("portal", () => api.portal(org.id))}>
            {busy === "portal" ? "Opening…" : "Manage billing"}
          </button>
        )}
      </div>
      {notConfigured && (
        <Notice kind="info">
          <p>
            <strong>Billing is not set up here.</strong> This installation has no payment provider configured, so plans cannot be bought or changed from the dashboard.
          </p>
        </Notice>
      )}
      {actionErr && actionErr.code !== "billing_not_configured" && <ErrorBox message={actionErr.msg} />}
      {upgrades.length > 0 && (
        <>
          <h2>Upgrade</h2>
          {!owner && <p>Only the org's owners can change its plan.</p>}
          <ul class="plans">
            {upgrades.map((p) => (
              <li class="card" key={p.name}>
                <h3>
                  {p.title} <span class="price">{p.price}</span>
                </h3>
                <ul class="features">
                  {p.features.map((f) => (
                    <li key={f}>{f}</li>
                  ))}
                </ul>
                <button type="button" disabled={!owner || !p.available || !!busy} onClick={() => go(p.name, () => api.checkout(org.id, p.name))}>
                  {busy === p.name ? "Opening checkout…" : p.available ? `Upgrade to ${p.title}` : `${p.title}: not on sale here`}
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
