// The authorization endpoint of the OAuth 2.0 flow: an app sends the user here
// (/oauth/authorize?client_id=...&redirect_uri=...&scope=...&code_challenge=...),
// the user picks an org and allows or denies, and the API answers where to send
// the browser back to the app.
import { useEffect, useState } from "preact/hooks";
import { errorMessage, type OAuthClient } from "../api";
import { useSession } from "../session";
import { useTitle } from "../title";
import { ErrorBox, Field, Loading, Notice } from "../ui";

/** The authorization request's parameters (RFC 6749 section 4.1.1, RFC 7636). */
function requestOf(search: string) {
  const q = new URLSearchParams(search);
  const get = (k: string) => q.get(k) ?? "";
  return {
    client_id: get("client_id"),
    redirect_uri: get("redirect_uri"),
    scope: get("scope"),
    state: get("state"),
    code_challenge: get("code_challenge"),
    code_challenge_method: get("code_challenge_method"),
    response_type: get("response_type"),
  };
}

export function OAuthConsent() {
  const { api, me } = useSession();
  useTitle("Connect an app");
  const [req] = useState(() => requestOf(location.search));
  const [client, setClient] = useState<OAuthClient | null>(null);
  const [err, setErr] = useState("");
  const [orgId, setOrgId] = useState(me.orgs[0]?.id ?? "");
  const [busy, setBusy] = useState<"" | "allow" | "deny">("");

  useEffect(() => {
    if (!req.client_id) {
      setErr("This link is missing the app's client_id. Go back to the app and start again.");
      return;
    }
    api
      .oauthClient(req.client_id)
      .then(setClient)
      .catch((e) => setErr(errorMessage(e, "connect this app")));
  }, [api, req.client_id]);

  async function decide(deny: boolean) {
    setBusy(deny ? "deny" : "allow");
    setErr("");
    try {
      const body = { ...req, response_type: "code" as const, deny, orgId: deny ? undefined : orgId };
      const { redirectTo } = await api.authorizeOAuth(body);
      window.location.assign(redirectTo);
    } catch (e) {
      setErr(errorMessage(e, "connect this app"));
      setBusy("");
    }
  }

  const asked = req.scope.split(" ").filter(Boolean);
  const words = new Map((client?.scopes ?? []).map((s) => [s.name as string, s.description]));
  return (
    <section class="narrow consent">
      <h1>Connect an app</h1>
      {err && <ErrorBox message={err} />}
      {!err && !client && <Loading what="the app" />}
      {client && (
        <>
          <p>
            <strong>{client.name}</strong> asks to act for you ({me.email}) in one of your orgs. It will be able to:
          </p>
          {asked.length === 0 ? (
            <Notice kind="warning">
              <p>The app asks for nothing: allowing it will fail. Go back to the app and tell its makers.</p>
            </Notice>
          ) : (
            <ul class="scopes" aria-label="What the app may do">
              {asked.map((s) => (
                <li key={s}>{words.get(s) ?? `Something this service does not offer (${s}): allowing will fail`}</li>
              ))}
            </ul>
          )}
          <Notice>
            <p>It can never do more than you may do in the org, and never manage its members, API keys or billing.</p>
          </Notice>
          {me.orgs.length === 0 ? (
            <Notice kind="warning">
              <p>You belong to no org yet: create one first, then come back through the app.</p>
            </Notice>
          ) : (
            <form
              onSubmit={(e) => {
                e.preventDefault();
                void decide(false);
              }}
            >
              <Field id="consent-org" label="Org the app will act on">
                {(aria) => (
                  <select {...aria} value={orgId} onChange={(e) => setOrgId((e.target as HTMLSelectElement).value)}>
                    {me.orgs.map((o) => (
                      <option key={o.id} value={o.id}>
                        {o.name} ({o.role})
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <p class="hint">You will be sent back to {hostOf(req.redirect_uri)}. You can revoke the app at any time under Settings, Authorized apps.</p>
              <div class="actions">
                <button type="submit" disabled={!!busy}>
                  {busy === "allow" ? "Connecting…" : `Allow ${client.name}`}
                </button>
                <button type="button" class="secondary" disabled={!!busy} onClick={() => void decide(true)}>
                  {busy === "deny" ? "Going back…" : "Deny"}
                </button>
              </div>
            </form>
          )}
        </>
      )}
    </section>
  );
}

function hostOf(uri: string): string {
  try {
    return new URL(uri).host || uri;
  } catch {
    return uri || "the app";
  }
}
