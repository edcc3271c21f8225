import { useEffect, useState } from "preact/hooks";
import type { EventType, Membership } from "../../api";
import { problemText } from "../../problems";
import { useSession } from "../../session";
import { Check, ErrorBox, Loading, Notice } from "../../ui";

/** What each event means, for the checkboxes. */
export const eventLabels: Record<EventType, string> = {
  "route.created": "A route is added",
  "route.updated": "A route is changed",
  "route.deleted": "A route is removed",
  "domain.active": "A hostname goes live",
  "domain.failed": "A hostname cannot be set up",
  "domain.release_scheduled": "An unverified hostname will be released soon",
  "domain.released": "An unverified hostname was released",
  "billing.plan_changed": "The plan changes",
  "billing.payment_failed": "A payment fails",
  "routes.paused": "Routes are paused (over the plan's limit)",
  "routes.resumed": "Paused routes resume",
  "destination.broken": "A destination stops answering",
  "destination.recovered": "A destination answers again",
  "import.completed": "An import finishes",
};

/** NotificationSettings: which events the signed-in member is emailed about, in this org. */
export function NotificationSettings({ org }: { org: Membership }) {
  const { api } = useSession();
  const [events, setEvents] = useState<EventType[] | null>(null);
  const [isDefault, setIsDefault] = useState(false);
  const [err, setErr] = useState("");
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    setEvents(null);
    api
      .myNotifications(org.id)
      .then((p) => {
        setEvents(p.events);
        setIsDefault(p.default);
      })
      .catch((e) => setErr(problemText(e, "read your email preferences")));
  }, [api, org.id]);

  async function save(e: Event) {
    e.preventDefault();
    if (!events) return;
    setBusy(true);
    setErr("");
    setSaved(false);
    try {
      const p = await api.setMyNotifications(org.id, events);
      setEvents(p.events);
      setIsDefault(p.default);
      setSaved(true);
    } catch (e) {
      setErr(problemText(e, "save your email preferences"));
    } finally {
      setBusy(false);
    }
  }

  if (err && !events) return <ErrorBox message={err} />;
  if (!events) return <Loading what="your email preferences" />;
  const all = Object.keys(eventLabels) as EventType[];
  return (
    <section aria-labelledby="notify-title">
      <h2 id="notify-title">Email notifications</h2>
      <p>Choose what you are emailed about in {org.name}. Every email has a link to unsubscribe from all of them.</p>
      {isDefault && <Notice>You have not chosen yet: you get what needs attention (domains, billing, paused routes, destinations, imports).</Notice>}
      <form onSubmit={save}>
        <fieldset>
          <legend>Email me when</legend>
          {all.map((t) => (
            <Check
              key={t}
              id={`notify-${t.replace(/[._]/g, "-")}`}
              label={eventLabels[t]}
              checked={events.includes(t)}
              onChange={(on) => setEvents((xs) => (on ? [...(xs ?? []), t] : (xs ?? []).filter((x) => x !== t)))}
            />
          ))}
        </fieldset>
        {err && <ErrorBox message={err} />}
        {saved && <Notice kind="success">Saved.</Notice>}
        <div class="actions">
          <button type="submit" disabled={busy}>
            {busy ? "Saving…" : "Save preferences"}
          </button>
          <button type="button" class="secondary" disabled={busy} onClick={() => setEvents([])}>
            Clear all
          </button>
        </div>
      </form>
    </section>
  );
}
