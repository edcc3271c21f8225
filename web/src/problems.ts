// Human words for every problem code the API answers, with the next step: the
// one place the dashboard turns a refusal into copy. The API's own detail is
// shown only for codes this table does not know (a newer server), and the
// request id of a server error stays visible for support.

/** What the copy of a problem may depend on: an ApiError, or any thrown value. */
interface ProblemLike {
  status: number;
  code: string;
  detail: string;
  requestId?: string;
}

function isProblem(e: unknown): e is ProblemLike {
  return !!e && typeof e === "object" && typeof (e as ProblemLike).code === "string" && typeof (e as ProblemLike).status === "number";
}

/** The next step a problem offers, beside its words. */
export type ProblemAction = "upgrade" | "signIn" | "retry" | "members" | "billing";

export interface ProblemCopy {
  message: string;
  action?: ProblemAction;
}

/** copy maps each code to its words; `what` is the attempted action ("add the route"). */
const copy: Record<string, (what: string) => ProblemCopy> = {
  // Who may do what.
  role_not_allowed: (w) => ({ message: `Your role in this org does not let you ${w}. Ask an owner or admin of the org.`, action: "members" }),
  api_key_not_allowed: (w) => ({ message: `An API key cannot ${w}: sign in to the dashboard as an owner to do it.` }),
  app_not_allowed: (w) => ({ message: `A connected app cannot ${w}: sign in to the dashboard to do it.` }),
  oauth_app_not_found: () => ({ message: "This app does not exist any more: it was deleted, or the link is mistyped." }),
  oauth_grant_not_found: () => ({ message: "This app's access was already revoked." }),
  oauth_app_public: () => ({ message: "A public app has no secret to rotate: it signs in with PKCE alone." }),
  oauth_not_configured: () => ({ message: "This deployment does not offer connected apps." }),
  oauth_invalid_client: () => ({ message: "The app that sent you here is not registered here. Go back to it and check its settings." }),
  oauth_invalid_request: () => ({ message: "The app sent you here with a request that cannot be completed (for example a return address it never registered). Go back to the app and try again, or tell its makers." }),
  insufficient_scope: (w) => ({ message: `This API key is read-only, so it cannot ${w}. Create a key with write access.` }),
  org_not_found: () => ({ message: "This org does not exist, or you are not one of its members any more. Choose another org in the menu." }),
  email_not_verified: () => ({ message: "Your email address is not verified yet. Verify it with the link your sign-in provider sent, then sign in again.", action: "signIn" }),
  origin_not_allowed: () => ({ message: "This dashboard's address is not allowed to call the API. The operator must add it to the API's allowed origins." }),
  // The session.
  missing_token: () => ({ message: "You are signed out. Sign in to go on.", action: "signIn" }),
  invalid_token: () => ({ message: "Your session is no longer valid. Sign in again to go on.", action: "signIn" }),
  token_expired: () => ({ message: "Your session has ended. Sign in again to go on.", action: "signIn" }),
  invalid_api_key: () => ({ message: "This API key is not valid: it was revoked or mistyped." }),
  api_key_expired: () => ({ message: "This API key has expired. Create a new one on the API keys screen." }),
  issuer_unavailable: () => ({ message: "The sign-in service cannot be reached right now. Try again in a minute.", action: "retry" }),
  // Limits.
  plan_limit_reached: () => ({ message: "Your plan's limit is reached. Upgrade the plan, or delete something you no longer need to make room.", action: "upgrade" }),
  not_in_plan: (w) => ({ message: `Your plan does not include this, so you cannot ${w}. Upgrade the plan to use it.`, action: "upgrade" }),
  rate_limited: () => ({ message: "Too many requests in a short time. Wait a few seconds, then try again.", action: "retry" }),
  body_too_large: () => ({ message: "What you sent is too large. Split it into smaller parts (an import of 10,000 lines at most, for example)." }),
  // Routes and rules.
  host_taken: () => ({ message: "Another account already routes this hostname and has proven it owns it. If the hostname is yours, contact support with the hostname." }),
  ownership_not_proven: () => ({ message: "The TXT record that proves you own this hostname was not found yet. Create it as shown, wait a few minutes for DNS, then try again." }),
  route_not_found: () => ({ message: "This route no longer exists: it was deleted, or released because its DNS never pointed here. Add it again." }),
  route_released: () => ({ message: "This route was released because its DNS never pointed here in time. Add it again and create its DNS record." }),
  route_changed: () => ({ message: "Someone changed this route at the same time. Reload it and make your change again.", action: "retry" }),
  rule_exists: () => ({ message: "A rule for this path already exists. Edit that rule instead, or choose another path." }),
  rule_not_found: () => ({ message: "This rule no longer exists: someone deleted or changed its path. Reload the rules." }),
  last_rule: () => ({ message: "A route without a target needs one rule at least. Give the route a target first, or delete the route." }),
  validation_failed: () => ({ message: "Some fields need fixing: see the messages beside them." }),
  invalid_import: () => ({ message: "The file has lines that need fixing: see the list of lines below." }),
  import_incomplete: () => ({ message: "The import stopped part way. Run it again with the same file: lines already done are skipped." , action: "retry" }),
  invalid_cursor: () => ({ message: "This page of the list is no longer valid. Go back to the first page.", action: "retry" }),
  // Members.
  member_exists: () => ({ message: "This person is already a member of the org." }),
  member_not_found: () => ({ message: "This person is no longer a member of the org. Reload the list.", action: "retry" }),
  last_owner: () => ({ message: "The org needs an owner. Make another member owner first, then change this role or leave." }),
  // Keys.
  api_key_not_found: () => ({ message: "This API key no longer exists: it was already revoked." }),
  // Billing.
  billing_not_configured: () => ({ message: "Billing is not set up on this installation, so plans cannot be bought or changed here. The operator can set up Stripe to sell plans." }),
  billing_unavailable: () => ({ message: "The payment provider cannot be reached right now. Nothing was changed: try again in a minute.", action: "retry" }),
  billing_rejected: () => ({ message: "The payment provider refused the change. Check your payment details in the billing portal.", action: "billing" }),
  card_error: () => ({ message: "Your card was declined. Update it in the billing portal.", action: "billing" }),
  webhooks_not_configured: () => ({ message: "Webhooks are not set up on this installation." }),
  notifications_not_configured: () => ({ message: "Email notifications are not set up on this installation." }),
  webhook_not_found: () => ({ message: "This webhook endpoint no longer exists: someone deleted it. Reload the list.", action: "retry" }),
  webhook_limit: () => ({ message: "An org can have at most 10 webhook endpoints. Delete one you no longer need, or send several event types to one endpoint." }),
  analytics_not_configured: () => ({ message: "Analytics is not set up on this installation." }),
  // Transport and the server.
  idempotency_in_progress: () => ({ message: "The same request is still running. Wait a moment, then reload.", action: "retry" }),
  idempotency_key_reused: () => ({ message: "This request was already sent with other content. Reload the page and try again.", action: "retry" }),
  invalid_idempotency_key: () => ({ message: "The request could not be sent safely. Reload the page and try again.", action: "retry" }),
  malformed_json: () => ({ message: "The dashboard sent something the API could not read. Reload the page and try again.", action: "retry" }),
  unsupported_media_type: () => ({ message: "The dashboard sent something the API could not read. Reload the page and try again.", action: "retry" }),
  method_not_allowed: () => ({ message: "This dashboard is newer or older than the API. Reload the page.", action: "retry" }),
  not_found: () => ({ message: "This does not exist (any more). Go back and reload.", action: "retry" }),
  store_unavailable: () => ({ message: "The service is briefly unavailable. Nothing was changed: try again in a moment.", action: "retry" }),
  dns_unavailable: () => ({ message: "DNS could not be looked up just now. Try the check again in a minute.", action: "retry" }),
  edge_unavailable: () => ({ message: "The edge service cannot be reached right now. Try again in a minute.", action: "retry" }),
  internal_error: () => ({ message: "Something went wrong on our side, and nothing was changed. Try again; if it keeps happening, contact support with the request id.", action: "retry" }),
  network_error: () => ({ message: "The service could not be reached. Check your connection, then try again.", action: "retry" }),
  not_configured: () => ({ message: "This is not set up on this installation." }),
};

/** problemCopy gives the words and next step for a thrown value. */
export function problemCopy(e: unknown, what = "do this"): ProblemCopy {
  if (isProblem(e)) {
    const c = copy[e.code];
    if (c) return c(what);
    if (e.status >= 500) return copy.internal_error(what);
    if (e.status === 401) return copy.invalid_token(what);
    if (e.status === 403) return { message: `You are not allowed to ${what}.` };
    return { message: e.detail };
  }
  if (e instanceof Error) return { message: e.message };
  return { message: String(e) };
}

/** requestIdOf is the id support can look a failed request up by. */
export function requestIdOf(e: unknown): string | undefined {
  return isProblem(e) ? e.requestId : undefined;
}

/** problemText is the words of a problem in one line, with the request id of a server error. */
export function problemText(e: unknown, what = "do this"): string {
  const c = problemCopy(e, what);
  const id = requestIdOf(e);
  return id && isProblem(e) && e.status >= 500 ? `${c.message} (request ${id})` : c.message;
}

/** knownCodes are the codes with their own copy (tests check the API's are all here). */
export const knownCodes = Object.keys(copy);
