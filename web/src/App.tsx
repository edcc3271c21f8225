import { createContext } from "preact";
import { useCallback, useContext, useEffect, useMemo, useState } from "preact/hooks";
import type { User, UserManager } from "oidc-client-ts";
import { ApiClient, ApiError, errorMessage, type Me } from "./api";
import { bearer, returnPath, signOut } from "./auth";
import type { AppConfig } from "./config";
import { pickOrg } from "./logic";
import { href, match, navigate, onNavigate, type Screen } from "./router";
import { ErrorBox, Link, Loading } from "./ui";
import { CreateOrg } from "./screens/CreateOrg";
import { RoutesScreen } from "./screens/Routes";
import { RouteEditor } from "./screens/RouteEditor";
import { RouteRules } from "./screens/RouteRules";
import { ImportRoutes } from "./screens/ImportRoutes";
import { BillingScreen } from "./screens/Billing";
import { AnalyticsScreen } from "./screens/Analytics";
import { MembersScreen } from "./screens/Members";
import { ApiKeysScreen } from "./screens/ApiKeys";
import { ApiReferenceScreen } from "./screens/ApiReference";

export interface Session {
  cfg: AppConfig;
  api: ApiClient;
  me: Me;
  reloadMe: () => Promise<Me>;
  um: UserManager;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside a signed-in session");
  return s;
}

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
    };
  }, []);

  const signIn = useCallback(() => {
    const here = match(location.pathname).name === "callback" ? "/" : location.pathname + location.search;
    um.signinRedirect({ state: here }).catch((e) => setAuthError(`Sign-in could not start: ${errorMessage(e)}`));
  }, [um]);

  if (user === undefined) return <Loading what="your session" />;
  if (!user || expired) {
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
    if (screen.name === "home" || screen.name === "callback") {
      const pick = pickOrg(me.orgs, localStorage.getItem(ORG_KEY));
      navigate(pick ? href({ name: "routes", orgId: pick }) : href({ name: "newOrg" }), { replace: true });
    }
  }, [me, screen.name, orgId]);

  if (err) return <ErrorBox message={`Your account could not be loaded: ${err}`} retry={load} />;
  if (!me) return <Loading what="your account" />;

  const org = orgId ? me.orgs.find((o) => o.id === orgId) : undefined;
  const session: Session = { cfg, api, me, reloadMe, um };
  let body;
  if (orgId && !org) {
    body = (
      <ErrorBox message="This org does not exist, or you are not one of its members." />
    );
  } else {
    switch (screen.name) {
      case "newOrg":
        body = <CreateOrg first={me.orgs.length === 0} />;
        break;
      case "routes":
        body = <RoutesScreen org={org!} />;
        break;
      case "newRoute":
        body = <RouteEditor org={org!} />;
        break;
      case "editRoute":
        body = <RouteEditor org={org!} host={screen.host} />;
        break;
      case "route":
        body = <RouteRules org={org!} host={screen.host} />;
        break;
      case "importRoutes":
        body = <ImportRoutes org={org!} />;
        break;
      case "analytics":
        body = <AnalyticsScreen key={screen.host ?? ""} org={org!} host={screen.host} />;
        break;
      case "billing":
        body = <BillingScreen org={org!} />;
        break;
      case "members":
        body = <MembersScreen org={org!} />;
        break;
      case "apiKeys":
        body = <ApiKeysScreen org={org!} />;
        break;
      case "apiReference":
        body = <ApiReferenceScreen />;
        break;
      case "notFound":
        body = (
          <div>
            <h1>Page not found</h1>
            <p>
              <Link href="/">Go to the dashboard</Link>
            </p>
          </div>
        );
        break;
      default:
        body = <Loading what="the dashboard" />;
    }
  }
  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/" class="brand">
          DNSReRoute
        </Link>
        {me.orgs.length > 0 && (
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
        <span class="who" title={me.email}>
          {me.email}
        </span>
        <button type="button" class="secondary small" onClick={() => void signOut(um).then(() => navigate("/", { replace: true }))}>
          Sign out
        </button>
      </header>
      {org && (
        <nav class="tabs" aria-label="Org">
          <Link href={href({ name: "routes", orgId: org.id })} aria-current={(["routes", "newRoute", "editRoute", "route", "importRoutes"].includes(screen.name) || (screen.name === "analytics" && !!screen.host)) ? "page" : undefined}>
            Routes
          </Link>
          <Link href={href({ name: "analytics", orgId: org.id })} aria-current={screen.name === "analytics" && !screen.host ? "page" : undefined}>
            Analytics
          </Link>
          <Link href={href({ name: "members", orgId: org.id })} aria-current={screen.name === "members" ? "page" : undefined}>
            Members
          </Link>
          <Link href={href({ name: "apiKeys", orgId: org.id })} aria-current={screen.name === "apiKeys" ? "page" : undefined}>
            API keys
          </Link>
          <Link href={href({ name: "billing", orgId: org.id })} aria-current={screen.name === "billing" ? "page" : undefined}>
            Billing
          </Link>
          <Link href={href({ name: "apiReference", orgId: org.id })} aria-current={screen.name === "apiReference" ? "page" : undefined}>
            API reference
          </Link>
        </nav>
      )}
      <main id="main" tabIndex={-1}>
        {body}
      </main>
    </SessionContext.Provider>
  );
}
