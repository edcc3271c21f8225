import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError, errorMessage, type Billing, type Membership, type Plan } from "../api";
import { useSession } from "../session";
import { dateText } from "../logic";
import { useTitle } from "../title";
import { ErrorBox, Loading, Notice } from "../ui";
import { Meter } from "./UsageMeters";

/** How long to wait for the payment provider's word after a checkout, looking every few seconds. */
const CONFIRM_MS = 120_000;
const CONFIRM_EVERY_MS = 3_000;
/** The org and plan a checkout started from, kept for the confirmation on return. */
const CHECKOUT_KEY = "dnsreroute.checkout";

export function BillingScreen({ org }: { org: Membership }) {
  const { api, reloadMe } = useSession();
  useTitle("Plan and billing", org.name);
  // Back from Stripe's checkout: the plan changes once its webhook is in.
  const [checkout, setCheckout] = useState(() => new URLSearchParams(location.search).get("checkout") ?? "");
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
      .catch((e) => setErr(errorMessage(e, "see the org's billing")));
  }, [api, org.id]);
  useEffect(load, [load]);

  // While the checkout's confirmation is pending, look again; once the plan
  // changed, reload the account so every screen shows the new plan at once.
  // The plan before checkout was kept when it started (this tab); without it,
  // an active subscription confirms it.
  useEffect(() => {
    if (checkout !== "success" || !billing) return;
    let from: string | undefined;
    try {
      const kept = JSON.parse(sessionStorage.getItem(CHECKOUT_KEY) ?? "null") as { org?: string; from?: string } | null;
      if (kept?.org === org.id) from = kept.from;
    } catch {
      from = undefined;
    }
    const confirmed = (b: Billing) => (from !== undefined ? b.plan !== from : b.status === "active" || b.status === "trialing");
    if (confirmed(billing)) {
      sessionStorage.removeItem(CHECKOUT_KEY);
      void reloadMe();
      setCheckout("done");
      return;
    }
    const started = Date.now();
    const t = setInterval(() => {
      if (Date.now() - started > CONFIRM_MS) {
        clearInterval(t);
        setCheckout("slow");
        return;
      }
      api.billing(org.id).then((b) => confirmed(b) && setBilling(b), () => undefined);
    }, CONFIRM_EVERY_MS);
    return () => clearInterval(t);
  }, [checkout, billing, org.plan]);

  async function go(what: string, call: () => Promise<{ url: string }>) {
    setBusy(what);
    if (what !== "portal" && billing) sessionStorage.setItem(CHECKOUT_KEY, JSON.stringify({ org: org.id, from: billing.plan }));
    setActionErr(null);
    try {
      const { url } = await call();
      location.assign(url);
    } catch (e) {
      setActionErr({ code: e instanceof ApiError ? e.code : "", msg: errorMessage(e, "change the plan") });
      setBusy("");
    }
  }

  if (err) {
    const denied = err.includes("does not let you");
    return (
      <section>
        <h1>Plan &amp; billing</h1>
        {denied ? <Notice>{<p>{err}</p>}</Notice> : <ErrorBox message={err} retry={load} />}
      </section>
    );
  }
  if (!billing || !plans) return <Loading what="billing" />;
  const current = plans.find((p) => p.name === billing.plan);
  const owner = org.role === "owner";
  const upgrades = plans.filter((p) => p.name !== billing.plan && p.name !== "free");
  const configured = plans.some((p) => p.name !== "free" && p.available);
  // No paid plan on sale: this installation has no payment provider.
  const notConfigured = actionErr?.code === "billing_not_configured" || (upgrades.length > 0 && !upgrades.some((p) => p.available));
  return (
    <section>
      <h1>Plan &amp; billing</h1>
      {checkout === "success" && (
        <Notice kind="info">
          <p>
            <strong>Payment received: confirming your plan…</strong> The payment provider is telling us about it; this page updates by itself, usually within seconds.
          </p>
        </Notice>
      )}
      {checkout === "done" && (
        <Notice kind="success">
          <p>
            <strong>You are on the {current?.title ?? billing.plan} plan.</strong> Its limits apply now, on every screen.
          </p>
        </Notice>
      )}
      {checkout === "slow" && (
        <Notice kind="warning">
          <p>The payment is taking longer than usual to confirm. Reload this page in a few minutes; if the plan has not changed, contact support.</p>
        </Notice>
      )}
      {checkout === "cancelled" && (
        <Notice kind="info">
          <p>Checkout was cancelled: nothing was charged and your plan is unchanged.</p>
        </Notice>
      )}
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
              {billing.cancelAtPeriodEnd ? "ends" : "renews"} {dateText(billing.currentPeriodEnd)}
            </>
          )}
        </p>
        <Meter label="Routes" used={billing.usage.routes} limit={billing.usage.routeLimit} />
        <Meter label="Members" used={billing.usage.members} limit={billing.usage.memberLimit} />
        {current && (
          <ul class="features">
            {current.features.map((f) => (
              <li key={f}>{f}</li>
            ))}
          </ul>
        )}
        {owner && billing.status !== "none" && configured && (
          <button type="button" class="secondary" disabled={!!busy} onClick={() => go("portal", () => api.portal(org.id))}>
            {busy === "portal" ? "Opening…" : "Manage billing"}
          </button>
        )}
        {actionErr?.code && busy === "" && actionErr.code === "billing_not_configured" && <ErrorBox message={actionErr.msg} />}
      </div>
      {notConfigured && (
        <Notice kind="info">
          <p>
            <strong>Billing is not set up here.</strong> This installation has no payment provider configured, so plans cannot be bought or changed from the dashboard.
          </p>
        </Notice>
      )}
      {actionErr && actionErr.code !== "billing_not_configured" && <ErrorBox message={actionErr.msg} />}
      <p class="hint">Every plan's features are written from the limits the service enforces.</p>
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
