import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError, type APIKey, type KeyScope, type Membership, type NewAPIKey } from "../api";
import { useSession } from "../session";
import { canManageKeys, deniedMessage, expiresAtOf, keyHint, localDate, validateKeyForm, whenText, type KeyForm } from "../logic";
import { Confirm, ErrorBox, Field, Loading, Notice } from "../ui";

const PAGE_SIZE = 100;
const emptyForm: KeyForm = { name: "", scope: "read", expires: "" };

export function ApiKeysScreen({ org }: { org: Membership }) {
  const { api } = useSession();
  const allowed = canManageKeys(org.role);
  const [items, setItems] = useState<APIKey[] | null>(null);
  const [next, setNext] = useState<string | undefined>();
  const [err, setErr] = useState("");
  const [moreBusy, setMoreBusy] = useState(false);
  const [created, setCreated] = useState<NewAPIKey | null>(null);
  const [announce, setAnnounce] = useState("");
  const [revoking, setRevoking] = useState<APIKey | null>(null);
  const [rvBusy, setRvBusy] = useState(false);
  const [rvErr, setRvErr] = useState("");

  const load = useCallback(() => {
    if (!allowed) return;
    setErr("");
    setItems(null);
    api
      .apiKeys(org.id, { limit: PAGE_SIZE })
      .then((p) => {
        setItems(p.items);
        setNext(p.nextCursor);
      })
      .catch((e) => setErr(deniedMessage(e, "manage API keys")));
  }, [api, org.id, allowed]);
  useEffect(load, [load]);
  useEffect(() => setCreated(null), [org.id]);

  async function more() {
    setMoreBusy(true);
    try {
      const p = await api.apiKeys(org.id, { limit: PAGE_SIZE, cursor: next });
      setItems((xs) => [...(xs ?? []), ...p.items.filter((k) => !(xs ?? []).some((x) => x.id === k.id))]);
      setNext(p.nextCursor);
    } catch (e) {
      setErr(deniedMessage(e, "manage API keys"));
    } finally {
      setMoreBusy(false);
    }
  }

  async function confirmRevoke() {
    if (!revoking) return;
    const gone = revoking;
    setRvBusy(true);
    setRvErr("");
    try {
      await api.deleteApiKey(org.id, gone.id);
      setItems((xs) => xs && xs.filter((x) => x.id !== gone.id));
      if (created?.id === gone.id) setCreated(null);
      setAnnounce(`Key ${gone.name} revoked.`);
      setRevoking(null);
    } catch (e) {
      setRvErr(deniedMessage(e, "revoke API keys"));
    } finally {
      setRvBusy(false);
    }
  }

  if (!allowed) {
    return (
      <section>
        <h1>API keys</h1>
        <Notice>
          <p>Only the org's owners and admins can see and manage API keys. Ask one of them for a key.</p>
        </Notice>
      </section>
    );
  }

  return (
    <section>
      <h1>API keys</h1>
      <p>An API key lets a program manage this org's routes, and nothing else. Send it as <code>Authorization: Bearer &lt;key&gt;</code>.</p>
      <p class="visually-hidden" role="status" aria-live="polite">
        {announce}
      </p>
      {created && <CreatedKey k={created} onDone={() => setCreated(null)} />}
      <CreateKeyForm
        org={org}
        onCreated={(k) => {
          setCreated(k);
          const { secret: _secret, ...listed } = k;
          setItems((xs) => xs && [listed, ...xs.filter((x) => x.id !== k.id)]);
          setAnnounce(`Key ${k.name} created.`);
        }}
      />
      <h2>Keys</h2>
      {err && <ErrorBox message={err} retry={load} />}
      {!err && !items && <Loading what="API keys" />}
      {items && items.length === 0 && (
        <Notice>
          <p>No API keys yet. Create one above for a script or a CI job.</p>
        </Notice>
      )}
      {items && items.length > 0 && (
        <ul class="cards" aria-label="API keys">
          {items.map((k, i) => (
            <li key={k.id} class="card">
              <div>
                <h3 class="host" id={`key-${i}`}>
                  {k.name}
                </h3>
                <p class="meta">
                  <span class="badge">{k.scope === "write" ? "read & write" : "read only"}</span>
                  <span class="badge" title="The last characters of the key">
                    <code>{keyHint(k.hint)}</code>
                  </span>
                  {k.expiresAt && new Date(k.expiresAt).getTime() <= Date.now() && <span class="badge warn">expired</span>}
                </p>
                <dl class="facts">
                  <div>
                    <dt>Created</dt>
                    <dd>
                      {whenText(k.createdAt, "—")} by {k.createdBy}
                    </dd>
                  </div>
                  <div>
                    <dt>Last used</dt>
                    <dd>{whenText(k.lastUsedAt, "never")}</dd>
                  </div>
                  <div>
                    <dt>Expires</dt>
                    <dd>{whenText(k.expiresAt, "never")}</dd>
                  </div>
                </dl>
              </div>
              <div class="row-actions">
                <button type="button" class="danger small" aria-describedby={`key-${i}`} onClick={() => { setRvErr(""); setRevoking(k); }}>
                  Revoke
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      {items && next && (
        <p class="actions">
          <button type="button" class="secondary" disabled={moreBusy} onClick={more}>
            {moreBusy ? "Loading…" : "Show more keys"}
          </button>
        </p>
      )}
      {revoking && (
        <Confirm title={`Revoke ${revoking.name}?`} confirmLabel="Revoke" busy={rvBusy} error={rvErr} onConfirm={confirmRevoke} onCancel={() => setRevoking(null)}>
          <p>
            Programs using the key ending <code>{keyHint(revoking.hint)}</code> stop working at once. This cannot be undone.
          </p>
        </Confirm>
      )}
    </section>
  );
}

function CreatedKey({ k, onDone }: { k: NewAPIKey; onDone: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  const [copy, setCopy] = useState("");
  useEffect(() => ref.current?.focus(), [k.id]);
  const canCopy = typeof navigator !== "undefined" && !!navigator.clipboard?.writeText;

  async function copySecret() {
    try {
      if (!navigator.clipboard?.writeText) throw new Error("no clipboard");
      await navigator.clipboard.writeText(k.secret);
      setCopy("Copied to the clipboard.");
    } catch {
      setCopy("Copying is not available here: select the key and copy it yourself.");
    }
  }

  return (
    <div class="alert success secret" role="region" aria-labelledby="new-key-title" tabIndex={-1} ref={ref}>
      <h2 id="new-key-title">Key {k.name} created</h2>
      <p>
        <strong>Copy it now: it won't be shown again.</strong> Only its last characters are kept.
      </p>
      <p class="secret-row">
        <code data-testid="api-key-secret" class="secret-value">
          {k.secret}
        </code>
        <button type="button" class="secondary small" onClick={copySecret} title={canCopy ? undefined : "The clipboard is not available here"}>
          Copy
        </button>
      </p>
      <p role="status" aria-live="polite" class="hint">
        {copy}
      </p>
      <button type="button" class="secondary small" onClick={onDone}>
        Done, I have stored it
      </button>
    </div>
  );
}

function CreateKeyForm({ org, onCreated }: { org: Membership; onCreated: (k: NewAPIKey) => void }) {
  const { api } = useSession();
  const [form, setForm] = useState<KeyForm>(emptyForm);
  const [errs, setErrs] = useState<Record<string, string>>({});
  const [err, setErr] = useState("");
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof KeyForm>(k: K, v: KeyForm[K]) => setForm((f) => ({ ...f, [k]: v }));
  const today = localDate(new Date());

  async function submit(e: Event) {
    e.preventDefault();
    setErr("");
    const local = validateKeyForm(form);
    setErrs(local);
    if (Object.keys(local).length) {
      document.getElementById(`key-${Object.keys(local)[0]}`)?.focus();
      return;
    }
    setBusy(true);
    try {
      const k = await api.createApiKey(org.id, {
        name: form.name.trim(),
        scope: form.scope,
        ...(form.expires.trim() ? { expiresAt: expiresAtOf(form.expires) } : {}),
      });
      setForm(emptyForm);
      setErrs({});
      onCreated(k);
    } catch (e) {
      if (e instanceof ApiError && Object.keys(e.fields).length) {
        const mapped: Record<string, string> = {};
        for (const [f, m] of Object.entries(e.fields)) mapped[f === "expiresAt" ? "expires" : f] = m;
        setErrs(mapped);
        const known = Object.keys(mapped).filter((f) => f === "name" || f === "scope" || f === "expires");
        if (known.length < Object.keys(mapped).length) setErr(e.detail);
        document.getElementById(`key-${known[0]}`)?.focus();
      } else setErr(deniedMessage(e, "create API keys"));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="card narrow" onSubmit={submit} noValidate aria-labelledby="create-key-title">
      <h2 id="create-key-title">Create a key</h2>
      <Field id="key-name" label="Name" error={errs.name} hint="What uses it, as “CI deploy”.">
        {(a) => <input {...a} type="text" maxLength={100} required autocomplete="off" value={form.name} onInput={(e) => set("name", (e.currentTarget as HTMLInputElement).value)} />}
      </Field>
      <Field id="key-scope" label="Scope" error={errs.scope} hint="Read: list and read routes. Write: also create, change and delete them.">
        {(a) => (
          <select {...a} value={form.scope} onChange={(e) => set("scope", (e.currentTarget as HTMLSelectElement).value as KeyScope)}>
            <option value="read">Read</option>
            <option value="write">Write</option>
          </select>
        )}
      </Field>
      <Field id="key-expires" label="Expires" error={errs.expires} hint="Optional: the key stops working at the end of this day. Empty: never.">
        {(a) => <input {...a} type="date" min={today} value={form.expires} onInput={(e) => set("expires", (e.currentTarget as HTMLInputElement).value)} />}
      </Field>
      {err && <ErrorBox message={err} />}
      <div class="actions">
        <button type="submit" disabled={busy}>
          {busy ? "Creating…" : "Create key"}
        </button>
      </div>
    </form>
  );
}
