// OIDC sign-in: authorization code with PKCE (S256) through oidc-client-ts. The
// user (tokens included) lives in sessionStorage, gone with the tab; the API
// takes the ID token as its bearer token.

import { UserManager, WebStorageStateStore, type User } from "oidc-client-ts";
import type { AppConfig } from "./config";

/** The sign-in callback when config.json names none (the router also knows /auth/callback). */
export const CALLBACK_PATH = "/callback";
export const SILENT_PATH = "/silent-renew";

export function userManager(cfg: AppConfig, origin = location.origin): UserManager {
  return new UserManager({
    authority: cfg.issuer,
    client_id: cfg.clientId,
    redirect_uri: cfg.redirectUri || origin + CALLBACK_PATH,
    silent_redirect_uri: origin + SILENT_PATH,
    post_logout_redirect_uri: origin + "/",
    response_type: "code",
    scope: "openid email",
    automaticSilentRenew: true,
    silentRequestTimeoutInSeconds: 10,
    loadUserInfo: false,
    monitorSession: false,
    userStore: new WebStorageStateStore({ store: sessionStorage }),
    stateStore: new WebStorageStateStore({ store: sessionStorage }),
  });
}

/** bearer is the token the API takes: the ID token (its audience is the client). */
export function bearer(u: User | null): string | null {
  if (!u || u.expired) return null;
  return u.id_token || u.access_token || null;
}

/** returnPath is where to go after sign-in: a same-site path only. */
export function returnPath(state: unknown): string {
  if (typeof state === "string" && state.startsWith("/") && !state.startsWith("//")) return state;
  return "/";
}

/** signOut forgets the user here, then ends the issuer's session when it can. */
export async function signOut(um: UserManager): Promise<void> {
  await um.removeUser();
  await um.clearStaleState();
  let endSession: string | undefined;
  try {
    endSession = await um.metadataService.getEndSessionEndpoint();
  } catch {
    endSession = undefined;
  }
  if (endSession) await um.signoutRedirect();
}
