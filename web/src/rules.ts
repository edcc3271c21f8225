// Pure helpers of a route's rules, the "try a URL" box, import and export, kept
// apart to be tested (as logic.ts is for the other screens).

import type { Fallback, ImportAction, ImportFormat, ImportLine, ImportResult, RedirectStatus, Rule, RuleInput, RulePatch, TryResult } from "./api";

// ---- the rules table

export type RuleSortKey = "source" | "target" | "status";

export interface RuleSort {
  key: RuleSortKey;
  dir: "asc" | "desc";
}

/** The API lists rules by source; the table starts so. */
export const defaultRuleSort: RuleSort = { key: "source", dir: "asc" };

function cmp(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** sortRules orders rules by a column (by source within equal values), leaving rules as it is. */
export function sortRules(rules: Rule[], s: RuleSort): Rule[] {
  const sign = s.dir === "asc" ? 1 : -1;
  return rules
    .slice()
    .sort((a, b) => sign * (cmp(a[s.key], b[s.key]) || cmp(a.source, b.source)));
}

/** nextSort is the order after a click on a column's header: that column, or its other direction. */
export function nextSort(cur: RuleSort, key: RuleSortKey): RuleSort {
  if (cur.key !== key) return { key, dir: "asc" };
  return { key, dir: cur.dir === "asc" ? "desc" : "asc" };
}

/** ariaSort is a column header's aria-sort. */
export function ariaSort(cur: RuleSort, key: RuleSortKey): "ascending" | "descending" | "none" {
  if (cur.key !== key) return "none";
  return cur.dir === "asc" ? "ascending" : "descending";
}

/** ruleOptions are the words for a rule's options, as shown in its row. */
export function ruleOptions(r: Pick<Rule, "subpath" | "keepSuffix" | "keepQuery">): string[] {
  const out: string[] = [];
  if (r.subpath) out.push(r.keepSuffix ? "subpaths, keeps suffix" : "subpaths");
  if (r.keepQuery) out.push("keeps query");
  return out;
}

// ---- the rule form

export interface RuleForm {
  source: string;
  target: string;
  status: RedirectStatus;
  subpath: boolean;
  keepSuffix: boolean;
  keepQuery: boolean;
}

/** A new rule matches its path exactly; the suffix is kept once subpaths are matched (as Cloudflare does). */
export const emptyRuleForm: RuleForm = {
  source: "",
  target: "",
  status: 301,
  subpath: false,
  keepSuffix: true,
  keepQuery: false,
};

export function ruleFormOf(r: Rule): RuleForm {
  return { source: r.source, target: r.target, status: r.status, subpath: r.subpath, keepSuffix: r.keepSuffix, keepQuery: r.keepQuery };
}

/** The rule form's fields, as the API names them in validation errors. */
export const ruleFields = ["source", "target", "status", "subpath", "keepSuffix", "keepQuery"];

/** validateSource catches what the browser can of a source path; the API has the last word. */
export function validateSource(source: string): string | undefined {
  const s = source.trim();
  if (!s) return "Enter the path to redirect, as /contact.";
  if (!s.startsWith("/")) return "A path starts with “/”, as /contact. Enter the path only, without the hostname.";
  if (s.startsWith("//")) return "A path cannot start with “//”.";
  if (s.includes("?")) return "Rules match the path only: leave the query (?…) out.";
  if (s.includes("#")) return "Browsers never send the fragment (#…): leave it out.";
  if (/\s/.test(s)) return "A path cannot contain spaces: percent-encode them as %20.";
  return undefined;
}

/** validateTargetURL checks an absolute http(s) URL. */
export function validateTargetURL(target: string, what = "the URL to redirect to"): string | undefined {
  const t = target.trim();
  if (!t) return `Enter ${what}, as https://example.com/.`;
  if (!/^https?:\/\/[^\s/?#]+[^\s]*$/i.test(t)) return "Enter an absolute http:// or https:// URL.";
  return undefined;
}

/** validateRuleForm answers a message by field (prefixed as the API prefixes them within a route). */
export function validateRuleForm(f: RuleForm, prefix = ""): Record<string, string> {
  const errs: Record<string, string> = {};
  const s = validateSource(f.source);
  if (s) errs[prefix + "source"] = s;
  const t = validateTargetURL(f.target);
  if (t) errs[prefix + "target"] = t;
  return errs;
}

/** ruleInputOf sends every option, the suffix only with subpaths (it means nothing without). */
export function ruleInputOf(f: RuleForm): RuleInput {
  return {
    source: f.source.trim(),
    target: f.target.trim(),
    status: f.status,
    subpath: f.subpath,
    keepSuffix: f.subpath && f.keepSuffix,
    keepQuery: f.keepQuery,
  };
}

/** rulePatchOf sends only what changed; a new source gives the rule a new id. */
export function rulePatchOf(before: Rule, f: RuleForm): RulePatch {
  const after = ruleInputOf(f);
  const p: RulePatch = {};
  if (after.source !== before.source) p.source = after.source;
  if (after.target !== before.target) p.target = after.target;
  if (after.status !== before.status) p.status = after.status;
  if (after.subpath !== before.subpath) p.subpath = after.subpath;
  if (after.keepSuffix !== before.keepSuffix) p.keepSuffix = after.keepSuffix;
  if (after.keepQuery !== before.keepQuery) p.keepQuery = after.keepQuery;
  return p;
}

// ---- fallback

export const fallbackLabels: Record<Fallback["kind"], string> = {
  not_configured: "The “not configured” page (404)",
  gone: "410 Gone",
  redirect: "A redirect",
};

/** fallbackText says in words what a route answers when no rule matches. */
export function fallbackText(f: Fallback | undefined): string {
  if (!f || f.kind === "not_configured") return "the “not configured” page (404)";
  if (f.kind === "gone") return "410 Gone";
  return `a ${f.status ?? 301} redirect to ${f.target ?? ""}`;
}

// ---- try a URL

/**
 * tryUrlOf makes the URL to try from what was typed: a full URL as it is, a
 * path on the route's hostname, or a hostname and path without a scheme. A
 * wildcard route needs a full URL, since its hostname is no name to ask for.
 */
export function tryUrlOf(host: string, input: string): { url: string } | { error: string } {
  const s = input.trim();
  if (!s) return { error: "Enter a URL, as https://" + host.replace(/^\*\./, "www.") + "/contact, or a path, as /contact." };
  if (/\s/.test(s)) return { error: "A URL cannot contain spaces: percent-encode them as %20." };
  if (/^https?:\/\//i.test(s)) return { url: s };
  if (/^[a-z][a-z0-9+.-]*:/i.test(s)) return { error: "Enter an http:// or https:// URL." };
  if (s.startsWith("/")) {
    if (host.startsWith("*.")) return { error: `Enter a full URL, as https://www.${host.slice(2)}${s}: this route is for every name below ${host.slice(2)}.` };
    return { url: `https://${host}${s}` };
  }
  return { url: `https://${s}` };
}

/** tryAnswerText says how a route answered a URL, in one line. */
export function tryAnswerText(r: TryResult): string {
  switch (r.kind) {
    case "redirect":
      if (r.rule) return `Redirects with ${r.status} by the rule for ${r.rule.source}.`;
      if (r.fallback) return `No rule matches: the fallback redirects with ${r.status}.`;
      return `No rule matches: the route's target redirects with ${r.status}.`;
    case "gone":
      return "No rule matches: the fallback answers 410 Gone.";
    default:
      return r.fallback || r.status === 404 ? "No rule matches: the “not configured” page answers (404)." : `Answers the “not configured” page (${r.status}).`;
  }
}

// ---- import

/** detectFormat guesses a file's format from its name, else from its first character. */
export function detectFormat(name: string, text: string): ImportFormat {
  const n = name.toLowerCase();
  if (n.endsWith(".json")) return "json";
  if (n.endsWith(".csv") || n.endsWith(".txt")) return "csv";
  const first = text.trimStart()[0];
  return first === "{" || first === "[" ? "json" : "csv";
}

const plural = (n: number, one: string, many = one + "s") => `${n} ${n === 1 ? one : many}`;

/** importSummaryText says what an import did, or (dryRun) would do. */
export function importSummaryText(r: Pick<ImportResult, "summary" | "routesCreated">, dryRun: boolean): string {
  const s = r.summary;
  const routes = r.routesCreated ? `, in ${plural(r.routesCreated, "new route")}` : "";
  const errors = s.error ? `; ${plural(s.error, "line")} refused` : "";
  if (dryRun) return `${plural(s.create, "rule")} to create, ${s.update} to update, ${s.unchanged} unchanged${routes}${errors}.`;
  return `${plural(s.create, "rule")} created, ${s.update} updated, ${s.unchanged} unchanged${routes}.`;
}

/** importChanges is whether applying an import would change anything. */
export function importChanges(r: Pick<ImportResult, "summary" | "routesCreated" | "routesUpdated">): boolean {
  return r.summary.create + r.summary.update + r.routesCreated + r.routesUpdated > 0;
}

export const actionLabels: Record<ImportAction, string> = { create: "Create", update: "Update", unchanged: "Unchanged", error: "Error" };

export const importActions: ImportAction[] = ["error", "create", "update", "unchanged"];

/** filterLines keeps the lines of one action, or all. */
export function filterLines(lines: ImportLine[], action: ImportAction | "all"): ImportLine[] {
  return action === "all" ? lines : lines.filter((l) => l.action === action);
}

/** slicePage is page p (from 0) of items, size at a time, and how many pages there are (at least 1). */
export function slicePage<T>(items: T[], p: number, size: number): { items: T[]; page: number; pages: number } {
  const pages = Math.max(1, Math.ceil(items.length / size));
  const page = Math.min(Math.max(0, p), pages - 1);
  return { items: items.slice(page * size, page * size + size), page, pages };
}

/**
 * lineText is line n (from 1) of a CSV file as it was sent, to show beside its
 * error; empty when there is no such line.
 */
export function lineText(text: string, n: number): string {
  if (n < 1) return "";
  let start = 0;
  for (let i = 1; i < n; i++) {
    const nl = text.indexOf("\n", start);
    if (nl < 0) return "";
    start = nl + 1;
  }
  const end = text.indexOf("\n", start);
  return (end < 0 ? text.slice(start) : text.slice(start, end)).replace(/\r$/, "");
}

/** newIdempotencyKey names one import, so a retried apply is not applied twice. */
export function newIdempotencyKey(rand: () => string = () => crypto.randomUUID()): string {
  return `import-${rand()}`;
}

// ---- export

export const exportTypes: Record<ImportFormat, string> = { csv: "text/csv", json: "application/json" };

/** exportFileName is the download's name, as dnsreroute-acme-2025-01-31.csv. */
export function exportFileName(org: string, format: ImportFormat, now = new Date()): string {
  const slug = org.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "routes";
  const p = (n: number) => String(n).padStart(2, "0");
  return `dnsreroute-${slug}-${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}.${format}`;
}
