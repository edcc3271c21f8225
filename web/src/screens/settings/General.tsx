import { useState } from "preact/hooks";
import { ApiError, type Membership } from "../../api";
import { problemText } from "../../problems";
import { href, navigate } from "../../router";
import { useSession } from "../../session";
import { Confirm, ErrorBox, Field, Notice } from "../../ui";

/** GeneralSettings renames the org (owners and admins) and deletes it (owners). */
export function GeneralSettings({ org }: { org: Membership }) {
  const { api, me, reloadMe } = useSession();
  const canRename = org.role === "owner" || org.role === "admin";
  const [name, setName] = useState(org.name);
  const [busy, setBusy] = useState(false);
  const [fieldErr, setFieldErr] = useState<string>();
  const [err, setErr] = useState("");
  const [saved, setSaved] = useState(false);
  const [deleting, setDeleting] = useState(false);

  async function rename(e: Event) {
    e.preventDefault();
    setErr("");
    setSaved(false);
    setFieldErr(undefined);
    if (!name.trim()) {
      setFieldErr("Enter a name for the org.");
      return;
    }
    setBusy(true);
    try {
      await api.updateOrg(org.id, { name: name.trim() });
      await reloadMe();
      setSaved(true);
    } catch (e) {
      if (e instanceof ApiError && e.field("name")) setFieldErr(e.field("name"));
      else setErr(problemText(e, "rename the org"));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="settings-section">
      <h2>General</h2>
      <form class="card" onSubmit={rename} noValidate>
        <Field id="org-name" label="Org name" error={fieldErr} hint={canRename ? "Shown to every member, and in the org menu." : "Only owners and admins can rename the org."}>
          {(aria) => (
            <input {...aria} type="text" value={name} disabled={!canRename} maxLength={100} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
          )}
        </Field>
        {err && <ErrorBox message={err} />}
        {saved && <Notice kind="success">The org is now called {org.name}.</Notice>}
        {canRename && (
          <button type="submit" disabled={busy || name.trim() === org.name}>
            {busy ? "Saving…" : "Rename"}
          </button>
        )}
      </form>

      <div class="card danger-zone">
        <h2>Delete this org</h2>
        <p>Deleting the org cannot be undone. It:</p>
        <ul>
          <li>stops every route of the org at once: its hostnames answer “not configured” until someone routes them again;</li>
          <li>deletes its routes, path rules and analytics;</li>
          <li>removes every member and revokes every API key;</li>
          <li>cancels its subscription, if it has one (no further charges).</li>
        </ul>
        {org.role === "owner" ? (
          <button type="button" class="danger" onClick={() => setDeleting(true)}>
            Delete org…
          </button>
        ) : (
          <p class="hint">Only owners can delete the org.</p>
        )}
      </div>
      {deleting && (
        <DeleteOrg
          org={org}
          onCancel={() => setDeleting(false)}
          onDeleted={async () => {
            const m = await reloadMe().catch(() => me);
            const next = m.orgs.find((o) => o.id !== org.id);
            navigate(next ? href({ name: "routes", orgId: next.id }) : href({ name: "newOrg" }), { replace: true });
          }}
        />
      )}
    </div>
  );
}

function DeleteOrg({ org, onCancel, onDeleted }: { org: Membership; onCancel: () => void; onDeleted: () => void }) {
  const { api } = useSession();
  const [typed, setTyped] = useState("");
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState("");
  return (
    <Confirm
      title={`Delete ${org.name}?`}
      confirmLabel="Delete org"
      busy={busy || typed.trim() !== org.name}
      error={err}
      onCancel={onCancel}
      onConfirm={async () => {
        setBusy(true);
        setErr("");
        try {
          await api.deleteOrg(org.id);
          onDeleted();
        } catch (e) {
          setErr(problemText(e, "delete the org"));
          setBusy(false);
        }
      }}
    >
      <p>Its routes stop redirecting now, and its members, API keys and subscription go with it.</p>
      <Field id="delete-org-name" label={`Type the org's name (${org.name}) to confirm`}>
        {(aria) => <input {...aria} type="text" autocomplete="off" value={typed} onInput={(e) => setTyped((e.currentTarget as HTMLInputElement).value)} />}
      </Field>
    </Confirm>
  );
}
