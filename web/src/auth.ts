// OIDC sign-in: authorization code with PKCE (S256) through oidc-client-ts; the
// API takes the ID token as its bearer token.
//
// The signed-in user (tokens included) lives in localStorage, so a dashboard
// link opened in a new tab, or a bookmark, stays signed in: oidc-client-ts's
// WebStorageStateStore reads it in every tab of the origin. Why that is
// acceptable: storage of either kind is readable by any script of the origin,
// so what protects tokens is that no other script runs there: the dashboard's
// origin serves only this app, under a Content-Security-Policy of script-src
// 'self' without inline scripts (template.yaml, cmd/dnsreroute/web.go). What
// localStorage adds is time: the ID and access tokens last an hour (the user
// pool client's IdTokenValidity), and the refresh token, which renews them,
// is revoked at the issuer on sign-out (the pool client has token revocation
// on), so signing out in one tab ends the session everywhere (the others see
// the user removed from storage). The sign-in request's state (the PKCE
// verifier) stays in sessionStorage: it belongs to the tab that started it.

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
    userStore: new WebStorageStateStore({ store: localStorage }),
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
  // Revoke the refresh token first: a copy left in storage renews nothing then.
  await um.revokeTokens(["refresh_token"]).catch(() => undefined);
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
