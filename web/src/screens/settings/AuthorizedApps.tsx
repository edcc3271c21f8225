// The apps connected to the org: the user's own, and for owners and admins,
// every member's. Revoking one ends every token the app holds for that user.
import { useCallback, useEffect, useState } from "preact/hooks";
import type { Membership, OAuthGrant } from "../../api";
import { deniedMessage, whenText } from "../../logic";
import { useSession } from "../../session";
import { Check, Confirm, ErrorBox, Loading, Notice } from "../../ui";

export function AuthorizedApps({ org }: { org: Membership }) {
  const { api, me } = useSession();
  const admin = org.role === "owner" || org.role === "admin";
  const [all, setAll] = useState(false);
  const [items, setItems] = useState<OAuthGrant[] | null>(null);
  const [err, setErr] = useState("");
  const [revoking, setRevoking] = useState<OAuthGrant | null>(null);
  const [busy, setBusy] = useState(false);
  const [rvErr, setRvErr] = useState("");
  const [announce, setAnnounce] = useState("");

  const load = useCallback(() => {
    setErr("");
    setItems(null);
    api
      .oauthGrants(org.id, { all: all ? "true" : "false", limit: 200 })
      .then((p) => setItems(p.items))
      .catch((e) => setErr(deniedMessage(e, "see authorized apps")));
  }, [api, org.id, all]);
  useEffect(load, [load]);

  async function revoke() {
    if (!revoking) return;
    const g = revoking;
    setBusy(true);
    setRvErr("");
    try {
      await api.revokeOAuthGrant(org.id, g.clientId, g.email === me.email ? undefined : g.email);
      setItems((xs) => xs && xs.filter((x) => !(x.clientId === g.clientId && x.email === g.email)));
      setAnnounce(`${g.appName} revoked.`);
      setRevoking(null);
    } catch (e) {
      setRvErr(deniedMessage(e, "revoke this app"));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="settings-section">
      <h2>Authorized apps</h2>
      <p>Apps you connected to {org.name} act for you with the permissions you allowed, and never beyond your role.</p>
      <p class="visually-hidden" role="status" aria-live="polite">
        {announce}
      </p>
      {admin && <Check id="grants-all" label="Show every member's apps" checked={all} onChange={setAll} />}
      {err && <ErrorBox message={err} retry={load} />}
      {!err && !items && <Loading what="authorized apps" />}
      {items && items.length === 0 && (
        <Notice>
          <p>{all ? "No member has connected an app to this org." : "You have not connected any app to this org."}</p>
        </Notice>
      )}
      {items && items.length > 0 && (
        <ul class="cards" aria-label="Authorized apps">
          {items.map((g, i) => (
            <li key={g.clientId + g.email} class="card">
              <div>
                <h3 class="host" id={`grant-${i}`}>
                  {g.appName}
                </h3>
                <p class="meta">
                  {g.scopes.map((s) => (
                    <span key={s} class="badge">
                      {s}
                    </span>
                  ))}
                </p>
                <dl class="facts">
                  {all && (
                    <div>
                      <dt>For</dt>
                      <dd>{g.email}</dd>
                    </div>
                  )}
                  <div>
                    <dt>Connected</dt>
                    <dd>{whenText(g.createdAt, "—")}</dd>
                  </div>
                </dl>
              </div>
              <div class="row-actions">
                <button type="button" class="danger small" aria-describedby={`grant-${i}`} onClick={() => { setRvErr(""); setRevoking(g); }}>
                  Revoke
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      {revoking && (
        <Confirm title={`Revoke ${revoking.appName}?`} confirmLabel="Revoke" busy={busy} error={rvErr} onConfirm={revoke} onCancel={() => setRevoking(null)}>
          <p>
            The app loses access for {revoking.email === me.email ? "you" : revoking.email} at once. It can ask again later.
          </p>
        </Confirm>
      )}
    </div>
  );
}
