// Third-party apps the org registers (owners and admins): create one (a
// confidential app's secret is shown once), list, edit, rotate the secret and
// delete (which revokes everything issued to it).
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError, type Membership, type NewOAuthApp, type OAuthApp } from "../../api";
import { deniedMessage, whenText } from "../../logic";
import { useSession } from "../../session";
import { Check, Confirm, CopyButton, ErrorBox, Field, Loading, Notice } from "../../ui";

const urisOf = (text: string) => text.split(/\s+/).filter(Boolean);

export function OAuthApps({ org }: { org: Membership }) {
  const { api } = useSession();
  const [items, setItems] = useState<OAuthApp[] | null>(null);
  const [err, setErr] = useState("");
  const [shown, setShown] = useState<NewOAuthApp | null>(null);
  const [editing, setEditing] = useState<OAuthApp | null>(null);
  const [deleting, setDeleting] = useState<OAuthApp | null>(null);
  const [busy, setBusy] = useState(false);
  const [dlgErr, setDlgErr] = useState("");
  const [announce, setAnnounce] = useState("");

  const load = useCallback(() => {
    setErr("");
    setItems(null);
    api
      .oauthApps(org.id, { limit: 200 })
      .then((p) => setItems(p.items))
      .catch((e) => setErr(deniedMessage(e, "manage OAuth apps")));
  }, [api, org.id]);
  useEffect(load, [load]);

  const replace = (a: OAuthApp) => setItems((xs) => xs && [a, ...xs.filter((x) => x.clientId !== a.clientId)]);

  async function rotate(a: OAuthApp) {
    setErr("");
    try {
      const n = await api.rotateOAuthAppSecret(org.id, a.clientId);
      const { clientSecret: _s, ...listed } = n;
      replace(listed);
      setShown(n);
      setAnnounce(`A new secret for ${a.name}.`);
    } catch (e) {
      setErr(deniedMessage(e, "rotate the secret"));
    }
  }

  async function remove() {
    if (!deleting) return;
    const gone = deleting;
    setBusy(true);
    setDlgErr("");
    try {
      await api.deleteOAuthApp(org.id, gone.clientId);
      setItems((xs) => xs && xs.filter((x) => x.clientId !== gone.clientId));
      if (shown?.clientId === gone.clientId) setShown(null);
      setAnnounce(`${gone.name} deleted.`);
      setDeleting(null);
    } catch (e) {
      setDlgErr(deniedMessage(e, "delete the app"));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="settings-section">
      <h2>OAuth apps</h2>
      <p>
        Register an app that other people connect to their orgs with OAuth 2.0 (authorization code with PKCE). Its users see your
        app's name and allow it on a consent page.
      </p>
      <p class="visually-hidden" role="status" aria-live="polite">
        {announce}
      </p>
      {shown && <AppSecret app={shown} onDone={() => setShown(null)} />}
      <AppForm
        key="new"
        title="Register an app"
        submitLabel="Register app"
        onSubmit={async (name, redirectUris, confidential) => {
          const n = await api.createOAuthApp(org.id, { name, redirectUris, confidential });
          const { clientSecret: _s, ...listed } = n;
          replace(listed);
          setShown(n);
          setAnnounce(`${n.name} registered.`);
        }}
      />
      <h3>Apps</h3>
      {err && <ErrorBox message={err} retry={load} />}
      {!err && !items && <Loading what="OAuth apps" />}
      {items && items.length === 0 && (
        <Notice>
          <p>No apps registered yet.</p>
        </Notice>
      )}
      {items && items.length > 0 && (
        <ul class="cards" aria-label="OAuth apps">
          {items.map((a, i) => (
            <li key={a.clientId} class="card">
              <div>
                <h4 class="host" id={`app-${i}`}>
                  {a.name}
                </h4>
                <p class="meta">
                  <span class="badge">{a.confidential ? "confidential" : "public (PKCE only)"}</span>
                </p>
                <dl class="facts">
                  <div>
                    <dt>Client id</dt>
                    <dd>
                      <code>{a.clientId}</code>
                    </dd>
                  </div>
                  <div>
                    <dt>Redirect URIs</dt>
                    <dd>
                      {a.redirectUris.map((u) => (
                        <code key={u} class="block">
                          {u}
                        </code>
                      ))}
                    </dd>
                  </div>
                  {a.secretHint && (
                    <div>
                      <dt>Secret</dt>
                      <dd>
                        <code>…{a.secretHint}</code>
                      </dd>
                    </div>
                  )}
                  <div>
                    <dt>Registered</dt>
                    <dd>
                      {whenText(a.createdAt, "—")} by {a.createdBy}
                    </dd>
                  </div>
                </dl>
              </div>
              <div class="row-actions">
                <button type="button" class="secondary small" aria-describedby={`app-${i}`} onClick={() => setEditing(a)}>
                  Edit
                </button>
                {a.confidential && (
                  <button type="button" class="secondary small" aria-describedby={`app-${i}`} onClick={() => void rotate(a)}>
                    Rotate secret
                  </button>
                )}
                <button type="button" class="danger small" aria-describedby={`app-${i}`} onClick={() => { setDlgErr(""); setDeleting(a); }}>
                  Delete
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      {editing && (
        <div class="card">
          <AppForm
            key={editing.clientId}
            title={`Edit ${editing.name}`}
            submitLabel="Save"
            initial={editing}
            onCancel={() => setEditing(null)}
            onSubmit={async (name, redirectUris) => {
              const a = await api.updateOAuthApp(org.id, editing.clientId, { name, redirectUris });
              replace(a);
              setEditing(null);
              setAnnounce(`${a.name} saved.`);
            }}
          />
        </div>
      )}
      {deleting && (
        <Confirm title={`Delete ${deleting.name}?`} confirmLabel="Delete app" busy={busy} error={dlgErr} onConfirm={remove} onCancel={() => setDeleting(null)}>
          <p>Every user's access through it ends at once, and its client id stops working.</p>
        </Confirm>
      )}
    </div>
  );
}

function AppSecret({ app, onDone }: { app: NewOAuthApp; onDone: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => ref.current?.focus(), [app.clientId, app.clientSecret]);
  return (
    <div class="alert success secret" role="region" aria-labelledby="app-secret-title" tabIndex={-1} ref={ref}>
      <h3 id="app-secret-title">{app.name}</h3>
      <p class="secret-row">
        Client id: <code class="secret-value">{app.clientId}</code>
        <CopyButton text={app.clientId} label="Copy id" />
      </p>
      {app.clientSecret ? (
        <>
          <p>
            <strong>Copy the client secret now: it won't be shown again.</strong>
          </p>
          <p class="secret-row">
            <code data-testid="oauth-client-secret" class="secret-value">
              {app.clientSecret}
            </code>
            <CopyButton text={app.clientSecret} label="Copy secret" />
          </p>
        </>
      ) : (
        <p>A public app has no secret: it proves itself with PKCE.</p>
      )}
      <button type="button" class="secondary small" onClick={onDone}>
        Done
      </button>
    </div>
  );
}

function AppForm(props: {
  title: string;
  submitLabel: string;
  initial?: OAuthApp;
  onSubmit: (name: string, redirectUris: string[], confidential: boolean) => Promise<void>;
  onCancel?: () => void;
}) {
  const [name, setName] = useState(props.initial?.name ?? "");
  const [uris, setUris] = useState(props.initial?.redirectUris.join("\n") ?? "");
  const [confidential, setConfidential] = useState(props.initial?.confidential ?? true);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [err, setErr] = useState("");
  const [busy, setBusy] = useState(false);
  const idp = props.initial ? `edit-${props.initial.clientId}` : "new-app";

  async function submit(e: Event) {
    e.preventDefault();
    setErr("");
    const f: Record<string, string> = {};
    if (!name.trim()) f.name = "Enter the app's name, as its users will see it.";
    if (urisOf(uris).length === 0) f.redirectUris = "Enter at least one redirect URI.";
    setFields(f);
    if (Object.keys(f).length) return;
    setBusy(true);
    try {
      await props.onSubmit(name.trim(), urisOf(uris), confidential);
      if (!props.initial) {
        setName("");
        setUris("");
      }
    } catch (e) {
      if (e instanceof ApiError && Object.keys(e.fields).length) {
        const byField: Record<string, string> = {};
        for (const [k, v] of Object.entries(e.fields)) byField[k.startsWith("redirectUris") ? "redirectUris" : k] = v;
        setFields(byField);
      } else {
        setErr(deniedMessage(e, "save the app"));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="card" onSubmit={submit} noValidate aria-label={props.title}>
      <h3>{props.title}</h3>
      <Field id={`${idp}-name`} label="Name" error={fields.name}>
        {(aria) => <input {...aria} type="text" autocomplete="off" value={name} maxLength={100} onInput={(e) => setName((e.target as HTMLInputElement).value)} />}
      </Field>
      <Field
        id={`${idp}-uris`}
        label="Redirect URIs"
        error={fields.redirectUris}
        hint="One per line, matched exactly: https, or http://127.0.0.1 or http://localhost for native apps."
      >
        {(aria) => <textarea {...aria} rows={3} value={uris} onInput={(e) => setUris((e.target as HTMLTextAreaElement).value)} />}
      </Field>
      {!props.initial && (
        <Check
          id={`${idp}-confidential`}
          label="Confidential (the app has a server that keeps a secret)"
          hint="Leave unchecked for a native or single-page app: it gets no secret and uses PKCE alone."
          checked={confidential}
          onChange={setConfidential}
        />
      )}
      {err && <ErrorBox message={err} />}
      <div class="actions">
        <button type="submit" disabled={busy}>
          {busy ? "Saving…" : props.submitLabel}
        </button>
        {props.onCancel && (
          <button type="button" class="secondary" onClick={props.onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
