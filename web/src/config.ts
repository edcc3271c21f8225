// Runtime configuration, read from config.json beside the app so that one build
// serves every installation.

export interface AppConfig {
  /** The API's base URL, ending in /v1. */
  apiUrl: string;
  /** The OIDC issuer (authority) the dashboard signs in with. */
  issuer: string;
  /** The OIDC client id. */
  clientId: string;
  /** The hostname customers point their CNAME records at. */
  cnameTarget: string;
  /** Where the issuer sends the browser back; <origin>/callback when absent. */
  redirectUri?: string;
}

const KEYS = ["apiUrl", "issuer", "clientId", "cnameTarget"] as const;

/** parseConfig checks a config.json document; it throws naming what is wrong. */
export function parseConfig(v: unknown): AppConfig {
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("config.json must hold a JSON object");
  const o = v as Record<string, unknown>;
  const missing = KEYS.filter((k) => typeof o[k] !== "string" || !(o[k] as string).trim());
  if (missing.length) throw new Error(`config.json lacks ${missing.join(", ")}`);
  for (const k of ["apiUrl", "issuer"] as const) {
    let u: URL;
    try {
      u = new URL(o[k] as string);
    } catch {
      throw new Error(`config.json: ${k} must be an absolute URL`);
    }
    if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error(`config.json: ${k} must be an http(s) URL`);
  }
  const cfg: AppConfig = {
    apiUrl: (o.apiUrl as string).replace(/\/+$/, ""),
    issuer: (o.issuer as string).replace(/\/+$/, ""),
    clientId: o.clientId as string,
    cnameTarget: o.cnameTarget as string,
  };
  if (o.redirectUri !== undefined && o.redirectUri !== "") {
    let u: URL | undefined;
    try {
      u = typeof o.redirectUri === "string" ? new URL(o.redirectUri) : undefined;
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== "https:" && u.protocol !== "http:")) throw new Error("config.json: redirectUri must be an absolute http(s) URL");
    cfg.redirectUri = o.redirectUri as string;
  }
  return cfg;
}

export async function loadConfig(fetchImpl: typeof fetch = fetch): Promise<AppConfig> {
  const res = await fetchImpl("/config.json", { cache: "no-store" });
  if (!res.ok) throw new Error(`config.json could not be loaded (HTTP ${res.status})`);
  return parseConfig(await res.json());
}
