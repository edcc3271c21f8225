import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError, type EventType, type Membership, type NewWebhook, type Webhook, type WebhookDelivery } from "../../api";
import { problemText } from "../../problems";
import { useSession } from "../../session";
import { Check, Confirm, CopyButton, ErrorBox, Field, Loading, Notice } from "../../ui";
import { eventLabels } from "./Notifications";

/** WebhookSettings: the org's webhook endpoints (owners and admins). */
export function WebhookSettings({ org }: { org: Membership }) {
  const { api } = useSession();
  const [items, setItems] = useState<Webhook[] | null>(null);
  const [err, setErr] = useState("");
  const [secret, setSecret] = useState<NewWebhook | null>(null);
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<EventType[]>(["domain.failed", "destination.broken"]);
  const [fieldErr, setFieldErr] = useState<{ url?: string; events?: string }>({});
  const [busy, setBusy] = useState(false);
  const [announce, setAnnounce] = useState("");
  const [deleting, setDeleting] = useState<Webhook | null>(null);
  const [deliveries, setDeliveries] = useState<{ id: string; items: WebhookDelivery[] } | null>(null);

  const load = useCallback(() => {
    setErr("");
    api
      .webhooks(org.id)
      .then((p) => setItems(p.items))
      .catch((e) => setErr(problemText(e, "list the webhook endpoints")));
  }, [api, org.id]);
  useEffect(load, [load]);

  async function create(e: Event) {
    e.preventDefault();
    setFieldErr({});
    setErr("");
    if (!url.trim()) return setFieldErr({ url: "Enter the https URL of your endpoint." });
    if (events.length === 0) return setFieldErr({ events: "Choose at least one event." });
    setBusy(true);
    try {
      const w = await api.createWebhook(org.id, { url: url.trim(), events });
      setSecret(w);
      setUrl("");
      load();
    } catch (e) {
      if (e instanceof ApiError && (e.field("url") || e.field("events"))) setFieldErr({ url: e.field("url"), events: e.field("events") });
      else setErr(problemText(e, "add the endpoint"));
    } finally {
      setBusy(false);
    }
  }

  async function act(what: string, f: () => Promise<unknown>, done: string) {
    setErr("");
    try {
      const r = await f();
      if (r && typeof r === "object" && "secret" in r) setSecret(r as NewWebhook);
      setAnnounce(done);
      load();
    } catch (e) {
      setErr(problemText(e, what));
    }
  }

  async function showDeliveries(w: Webhook) {
    try {
      const p = await api.webhookDeliveries(org.id, w.id);
      setDeliveries({ id: w.id, items: p.items });
    } catch (e) {
      setErr(problemText(e, "list the deliveries"));
    }
  }

  const all = Object.keys(eventLabels) as EventType[];
  return (
    <section aria-labelledby="webhooks-title">
      <h2 id="webhooks-title">Webhooks</h2>
      <p>
        Events are sent to your endpoints as signed JSON (Standard Webhooks: check <code>webhook-signature</code> with the secret), retried for
        about a day. An endpoint failing for a day is disabled and you are emailed.
      </p>
      <p class="visually-hidden" role="status">
        {announce}
      </p>
      {secret && (
        <Notice kind="success">
          <p>
            The signing secret of <strong>{secret.url}</strong>, shown this once:
          </p>
          <p>
            <code id="webhook-secret">{secret.secret}</code> <CopyButton text={secret.secret} label="Copy the secret" describedBy="webhook-secret" />
          </p>
        </Notice>
      )}
      {err && <ErrorBox message={err} retry={load} />}
      {!items && !err && <Loading what="the webhook endpoints" />}
      {items && items.length === 0 && <p>No endpoints yet.</p>}
      {items && items.length > 0 && (
        <div class="table-scroll">
          <table class="list">
            <caption>Endpoints</caption>
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">Events</th>
                <th scope="col">State</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {items.map((w) => (
                <tr key={w.id}>
                  <td>
                    <code>{w.url}</code>
                  </td>
                  <td>{w.events.join(", ")}</td>
                  <td>{w.enabled ? (w.failures > 0 ? `Failing (${w.failures} in a row)` : "Enabled") : `Disabled${w.disabledReason ? `: ${w.disabledReason}` : ""}`}</td>
                  <td class="actions">
                    <button type="button" class="secondary" onClick={() => act("send a test event", () => api.testWebhook(org.id, w.id), `Test event queued for ${w.url}.`)}>
                      Send test
                    </button>
                    <button type="button" class="secondary" onClick={() => act("rotate the secret", () => api.rotateWebhookSecret(org.id, w.id), `New secret for ${w.url}.`)}>
                      Rotate secret
                    </button>
                    <button
                      type="button"
                      class="secondary"
                      onClick={() => act(w.enabled ? "disable the endpoint" : "enable the endpoint", () => api.updateWebhook(org.id, w.id, { enabled: !w.enabled }), `${w.url} ${w.enabled ? "disabled" : "enabled"}.`)}
                    >
                      {w.enabled ? "Disable" : "Enable"}
                    </button>
                    <button type="button" class="secondary" onClick={() => showDeliveries(w)}>
                      Deliveries
                    </button>
                    <button type="button" class="danger" onClick={() => setDeleting(w)}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {deliveries && (
        <div class="table-scroll">
          <table class="list">
            <caption>Recent deliveries</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Event</th>
                <th scope="col">Attempt</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.items.length === 0 && (
                <tr>
                  <td colSpan={4}>No deliveries in the last 30 days.</td>
                </tr>
              )}
              {deliveries.items.map((d) => (
                <tr key={`${d.eventId}-${d.attempt}`}>
                  <td>{new Date(d.at).toLocaleString()}</td>
                  <td>{d.type}</td>
                  <td>{d.attempt}</td>
                  <td>{d.ok ? `Delivered (HTTP ${d.status})` : `${d.status ? `HTTP ${d.status}` : d.error ?? "Failed"}${d.final ? ", given up" : ", will retry"}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form onSubmit={create} aria-labelledby="webhook-add-title">
        <h3 id="webhook-add-title">Add an endpoint</h3>
        <Field id="webhook-url" label="Endpoint URL" error={fieldErr.url} hint="An https URL on the public internet.">
          {(aria) => <input {...aria} type="url" value={url} placeholder="https://example.com/hooks/dnsreroute" onInput={(e) => setUrl((e.currentTarget as HTMLInputElement).value)} />}
        </Field>
        <fieldset>
          <legend>Send these events</legend>
          {all.map((t) => (
            <Check
              key={t}
              id={`webhook-event-${t.replace(/[._]/g, "-")}`}
              label={eventLabels[t]}
              checked={events.includes(t)}
              onChange={(on) => setEvents((xs) => (on ? [...xs, t] : xs.filter((x) => x !== t)))}
            />
          ))}
          {fieldErr.events && <p class="field-error">{fieldErr.events}</p>}
        </fieldset>
        <div class="actions">
          <button type="submit" disabled={busy}>
            {busy ? "Adding…" : "Add endpoint"}
          </button>
        </div>
      </form>
      {deleting && (
        <Confirm
          title="Delete this endpoint?"
          confirmLabel="Delete endpoint"
          onCancel={() => setDeleting(null)}
          onConfirm={() => {
            const w = deleting;
            setDeleting(null);
            void act("delete the endpoint", () => api.deleteWebhook(org.id, w.id), `${w.url} deleted.`);
          }}
        >
          <p>
            Events will no longer be sent to <code>{deleting.url}</code>.
          </p>
        </Confirm>
      )}
    </section>
  );
}
