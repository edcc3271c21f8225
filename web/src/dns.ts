// DNS records as a customer enters them: the name relative to the zone they
// edit ("www", "@"), which records are still to create, and provider tips.

import type { DNSRecord, Route } from "./api";

// Second-level labels under which registries sell names (example.co.uk): a
// short, common list, enough to guess the zone a customer edits. The full name
// is always shown beside the guess.
const secondLevels = new Set(["co", "com", "net", "org", "gov", "edu", "ac", "ltd", "plc", "ne", "or", "gob", "nic"]);

/** zoneOf guesses the zone a hostname is in: its registrable domain. */
export function zoneOf(host: string): string {
  const labels = host.replace(/^\*\./, "").replace(/\.$/, "").split(".");
  if (labels.length <= 2) return labels.join(".");
  const [sld, tld] = labels.slice(-2);
  const n = tld.length === 2 && secondLevels.has(sld) ? 3 : 2;
  return labels.slice(-n).join(".");
}

/** relativeName is a record's name as a DNS provider's form takes it: "@" for the zone itself. */
export function relativeName(name: string, zone: string): string {
  const n = name.replace(/\.$/, "");
  if (n === zone) return "@";
  if (n.endsWith("." + zone)) return n.slice(0, -zone.length - 1);
  return n;
}

/**
 * recordsToCreate are the records a customer must still create for a route:
 * the routing CNAME until DNS points here, and the certificate records until
 * the certificate is issued. None once the hostname is served, or while the
 * route is off (it needs nothing to be off).
 */
export function recordsToCreate(r: Route): DNSRecord[] {
  const state = r.domain?.state;
  if (state === "active" || !r.enabled) return [];
  const records = r.dnsRecords ?? [];
  if (state === "pending_dns") return records;
  // The CNAME is in place: only the certificate's validation records are left.
  return records.filter((d) => d.purpose === "certificate");
}

/** isApex: the hostname is its zone, where DNS allows no CNAME beside other records. */
export function isApex(host: string): boolean {
  return zoneOf(host) === host;
}

/** providerTips are the common pitfalls of creating these records. */
export function providerTips(host: string): string[] {
  const tips = [
    "Cloudflare: set the record to “DNS only” (grey cloud). A proxied record hides the CNAME, and the hostname is never verified.",
    "Most providers add the zone to the name for you: enter the short name (as shown), not the full one.",
  ];
  if (isApex(host)) {
    tips.unshift(
      `${host} is the zone itself, where most providers allow no CNAME: use your provider's ALIAS, ANAME or CNAME flattening (Cloudflare flattens automatically), or route www.${host} instead.`,
    );
  }
  return tips;
}
