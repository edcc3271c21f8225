// The app shell: sign-in, the header, the org's tabs, and the current screen.
// Screens are registered in router.ts (paths) and views.tsx (what they render);
// they read the session from session.tsx, never from here.

import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import type { User, UserManager } from "oidc-client-ts";
import { ApiClient, ApiError, errorMessage, type Me, type Membership } from "./api";
import { bearer, returnPath, signOut } from "./auth";
import type { AppConfig } from "./config";
import { pickOrg } from "./logic";
import { href, match, navigate, onNavigate, type Screen } from "./router";
import { SessionProvider, type Session } from "./session";
import { titleOf, useTitle } from "./title";
import { ErrorBox, Link, Loading } from "./ui";
import { lazy } from "./lazy";
import { CreateOrg } from "./screens/CreateOrg";
import { renderView, tabs } from "./views";

/** The consent page loads only when an app sends someone to it. */
const OAuthConsent = lazy(() => import("./screens/OAuthConsent").then((m) => m.OAuthConsent), "the app's request");

const ORG_KEY = "dnsreroute.org";

function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => onNavigate(() => setPath(location.pathname)), []);
  return path;
}

export function App({ cfg, um }: { cfg: AppConfig; um: UserManager }) {
  const path = usePath();
  const screen = match(path);
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [authError, setAuthError] = useState<string>("");
  const [expired, setExpired] = useState(false);

  useEffect(() => {
    const loaded = (u: User) => {
      setUser(u);
      setExpired(false);
    };
    const unloaded = () => setUser(null);
    const ended = () => setExpired(true);
    um.events.addUserLoaded(loaded);
    um.events.addUserUnloaded(unloaded);
    um.events.addAccessTokenExpired(ended);
    // A failed silent renewal is not an error yet: the token still works until it expires.
    const renewFailed = () => undefined;
    um.events.addSilentRenewError(renewFailed);
    // Another tab signed in or out: the user in localStorage changed.
    const storage = (ev: StorageEvent) => {
      if (ev.key === null || ev.key.startsWith("oidc.user:")) {
        um.getUser()
          .then((u) => setUser(u && !u.expired ? u : null))
          .catch(() => setUser(null));
      }
    };
    window.addEventListener("storage", storage);
    (async () => {
      if (screen.name === "callback") {
        try {
          const u = await um.signinRedirectCallback();
          setUser(u);
          navigate(returnPath(u.state), { replace: true });
        } catch (e) {
          setAuthError(`Sign-in failed: ${errorMessage(e)}`);
          setUser(null);
        }
        return;
      }
      const u = await um.getUser().catch(() => null);
      setUser(u && !u.expired ? u : null);
    })();
    return () => {
      um.events.removeUserLoaded(loaded);
      um.events.removeUserUnloaded(unloaded);
      um.events.removeAccessTokenExpired(ended);
      um.events.removeSilentRenewError(renewFailed);
      window.removeEventListener("storage", storage);
    };
  }, []);

  const signIn = useCallback(() => {
    const here = match(location.pathname).name === "callback" ? "/" : location.pathname + location.search;
    um.signinRedirect({ state: here }).catch((e) => setAuthError(`Sign-in could not start: ${errorMessage(e)}`));
  }, [um]);

  if (user === undefined) return <Loading what="your session" />;
  if (!user || expired) {
    document.title = titleOf("Sign in");
    return (
      <main class="signin" id="main">
        <h1>DNSReRoute</h1>
        <p>Redirect any hostname to any URL: point its DNS at us and add a route.</p>
        {expired && <p role="status">Your session has ended. Sign in again to go on.</p>}
        {authError && <ErrorBox message={authError} />}
        <button type="button" onClick={signIn}>
          Sign in
        </button>
      </main>
    );
  }
  return <SignedIn cfg={cfg} um={um} user={user} screen={screen} onUnauthorized={() => setExpired(true)} />;
}

function SignedIn(props: { cfg: AppConfig; um: UserManager; user: User; screen: Screen; onUnauthorized: () => void }) {
  const { cfg, um, user, screen } = props;
  const api = useMemo(
    () =>
      new ApiClient({
        baseUrl: cfg.apiUrl,
        token: async () => bearer(await um.getUser()) ?? bearer(user),
        onUnauthorized: (e: ApiError) => {
          if (e.code === "token_expired" || e.code === "invalid_token" || e.code === "missing_token") props.onUnauthorized();
        },
      }),
    [cfg, um],
  );
  const [me, setMe] = useState<Me | null>(null);
  const [err, setErr] = useState("");
  const reloadMe = useCallback(async () => {
    const m = await api.me();
    setMe(m);
    return m;
  }, [api]);
  const load = useCallback(() => {
    setErr("");
    reloadMe().catch((e) => setErr(errorMessage(e)));
  }, [reloadMe]);
  useEffect(load, [load]);

  const orgId = "orgId" in screen ? screen.orgId : null;
  useEffect(() => {
    if (!me) return;
    if (orgId) {
      localStorage.setItem(ORG_KEY, orgId);
      return;
    }
    if (screen.name === "home" || screen.name === "callback" || screen.name === "billingReturn") {
      const pick = pickOrg(me.orgs, localStorage.getItem(ORG_KEY));
      if (screen.name === "billingReturn" && pick) {
        navigate(href({ name: "billing", orgId: pick }) + location.search, { replace: true });
        return;
      }
      navigate(pick ? href({ name: "routes", orgId: pick }) : href({ name: "newOrg" }), { replace: true });
    }
  }, [me, screen.name, orgId]);

  // Back to this tab: read the account again, so a plan changed elsewhere
  // (another tab, the billing portal) shows here at once.
  useEffect(() => {
    const seen = () => {
      if (document.visibilityState === "visible") reloadMe().catch(() => undefined);
    };
    document.addEventListener("visibilitychange", seen);
    return () => document.removeEventListener("visibilitychange", seen);
  }, [reloadMe]);

  const out = () => void signOut(um).then(() => navigate("/", { replace: true }));
  // The header stays on every state, failures included, so one can always sign out.
  if (err || !me) {
    return (
      <Shell email={me?.email ?? user.profile?.email ?? ""} onSignOut={out}>
        {err ? <ErrorBox message={`Your account could not be loaded. ${err}`} retry={load} /> : <Loading what="your account" />}
      </Shell>
    );
  }

  const org = orgId ? me.orgs.find((o) => o.id === orgId) : undefined;
  const session: Session = { cfg, api, me, reloadMe, um };
  let body;
  if (orgId && !org) {
    body = <ErrorBox message="This org does not exist, or you are not one of its members. Choose another org in the menu above." />;
  } else if (org && "orgId" in screen) {
    body = renderView(screen, org);
  } else if (screen.name === "newOrg") {
    body = <CreateOrg first={me.orgs.length === 0} />;
    document.title = titleOf("New org");
  } else if (screen.name === "oauthAuthorize") {
    body = <OAuthConsent />;
  } else if (screen.name === "notFound") {
    body = <NotFound />;
  } else {
    body = <Loading what="the dashboard" />;
  }
  return (
    <SessionProvider value={session}>
      <Shell email={me.email} onSignOut={out} me={me} org={org} screen={screen}>
        {body}
      </Shell>
    </SessionProvider>
  );
}

function NotFound() {
  useTitle("Page not found");
  return (
    <div>
      <h1>Page not found</h1>
      <p>
        <Link href="/">Go to the dashboard</Link>
      </p>
    </div>
  );
}

/** Shell is the header (product, org menu, who, sign out), the org's tabs and the main region. */
function Shell(props: { email: string; onSignOut: () => void; me?: Me; org?: Membership; screen?: Screen; children: ComponentChildren }) {
  const { me, org, screen } = props;
  // On a narrow screen the tab strip scrolls: keep the current tab in view.
  useEffect(() => {
    const cur = document.querySelector<HTMLElement>(".tabs a[aria-current=page]");
    const strip = cur?.parentElement;
    if (cur && strip && (cur.offsetLeft < strip.scrollLeft || cur.offsetLeft + cur.offsetWidth > strip.scrollLeft + strip.clientWidth)) {
      strip.scrollLeft = cur.offsetLeft - 16;
    }
  }, [screen?.name]);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/" class="brand">
          DNSReRoute
        </Link>
        {me && me.orgs.length > 0 && (
          <label class="org-switch">
            <span class="visually-hidden">Org</span>
            <select
              value={org?.id ?? ""}
              onChange={(e) => {
                const v = (e.currentTarget as HTMLSelectElement).value;
                if (v === "__new") navigate(href({ name: "newOrg" }));
                else if (v) navigate(href({ name: "routes", orgId: v }));
              }}
            >
              {!org && <option value="">Choose an org</option>}
              {me.orgs.map((o) => (
                <option value={o.id} key={o.id}>
                  {o.name}
                </option>
              ))}
              <option value="__new">+ New org…</option>
            </select>
          </label>
        )}
        {props.email && (
          <span class="who" title={props.email}>
            {props.email}
          </span>
        )}
        <button type="button" class="secondary small signout" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      {org && screen && (
        <nav class="tabs" aria-label="Org">
          {tabs.map((t) => (
            <Link key={t.label} href={href(t.to(org.id))} aria-current={t.current(screen) ? "page" : undefined}>
              {t.label}
            </Link>
          ))}
        </nav>
      )}
      <main id="main" tabIndex={-1}>
        {props.children}
      </main>
    </>
  );
}
