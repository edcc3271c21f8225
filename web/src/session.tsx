// The signed-in session every screen reads: the config, the API client, who is
// signed in and their orgs. Its own module so that screens and the app shell
// import it without importing each other.

import { createContext, type ComponentChildren } from "preact";
import { useContext } from "preact/hooks";
import type { UserManager } from "oidc-client-ts";
import type { ApiClient, Me } from "./api";
import type { AppConfig } from "./config";

export interface Session {
  cfg: AppConfig;
  api: ApiClient;
  me: Me;
  /** reloadMe reads the account again; every screen shows the orgs (and their plans) it answers. */
  reloadMe: () => Promise<Me>;
  um: UserManager;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ value, children }: { value: Session; children: ComponentChildren }) {
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

/** useSession is the session of a signed-in screen. */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside a signed-in session");
  return s;
}
