// Analytics: the date range a screen asks for, what the API answers, and the
// small computations the screens draw from it (sparkline points, shares).

import { formatDate } from "./dates";

export type Granularity = "hour" | "day";

export interface Counts {
  hits: number;
  bots: number;
  notFound: number;
  edge: number;
}

export interface Point extends Counts {
  /** The bucket's start, RFC 3339 (UTC). */
  start: string;
}

export interface TopEntry {
  value: string;
  hits: number;
}

export interface Analytics {
  host?: string;
  from: string;
  to: string;
  granularity: Granularity;
  bots: "include" | "exclude";
  totals: Counts;
  series: Point[];
  topPaths: TopEntry[];
  topNotFoundPaths: TopEntry[];
  topReferrers: TopEntry[];
  topCountries: TopEntry[];
}

export interface AnalyticsQuery {
  host?: string;
  /** YYYY-MM-DD (UTC), inclusive. */
  from: string;
  /** YYYY-MM-DD (UTC), inclusive. */
  to: string;
  granularity: Granularity;
  withoutBots: boolean;
}

/** The API's bounds on a window, in days. */
export const maxDays: Record<Granularity, number> = { hour: 31, day: 400 };

const DAY_MS = 86_400_000;

/** isoDay is the UTC date of t as YYYY-MM-DD. */
export function isoDay(t: Date): string {
  return t.toISOString().slice(0, 10);
}

/** lastDays is the range of the n days up to today (UTC), today included. */
export function lastDays(n: number, now: Date = new Date()): { from: string; to: string } {
  return { from: isoDay(new Date(now.getTime() - (n - 1) * DAY_MS)), to: isoDay(now) };
}

const dateRe = /^\d{4}-\d{2}-\d{2}$/;

function parseDay(s: string): number | null {
  if (!dateRe.test(s)) return null;
  const t = Date.parse(s + "T00:00:00Z");
  return Number.isNaN(t) || isoDay(new Date(t)) !== s ? null : t;
}

/** daysIn counts the days of an inclusive range of dates; null when either is not a date. */
export function daysIn(from: string, to: string): number | null {
  const a = parseDay(from);
  const b = parseDay(to);
  return a === null || b === null ? null : Math.round((b - a) / DAY_MS) + 1;
}

/**
 * rangeErrors checks a range as the API will, so that the form says what is
 * wrong before asking: messages keyed by field (from, to).
 */
export function rangeErrors(q: Pick<AnalyticsQuery, "from" | "to" | "granularity">): Record<string, string> {
  const errs: Record<string, string> = {};
  if (parseDay(q.from) === null) errs.from = "Enter a date as YYYY-MM-DD.";
  if (parseDay(q.to) === null) errs.to = "Enter a date as YYYY-MM-DD.";
  if (Object.keys(errs).length) return errs;
  const n = daysIn(q.from, q.to)!;
  if (n < 1) errs.to = "The end date must be on or after the start date.";
  else if (n > maxDays[q.granularity])
    errs.to = q.granularity === "hour" ? "By hour, a range is at most 31 days: shorten it or show it by day." : "A range is at most 400 days.";
  return errs;
}

/** analyticsParams are the API's query parameters for q. */
export function analyticsParams(q: AnalyticsQuery): Record<string, string | undefined> {
  return { host: q.host || undefined, from: q.from, to: q.to, granularity: q.granularity, bots: q.withoutBots ? "exclude" : "include" };
}

/**
 * sparkPoints scales values into an SVG polyline's points in a width×height
 * box (y grows downwards); an all-zero series is a flat line at the bottom.
 */
export function sparkPoints(values: number[], width: number, height: number, pad = 1): string {
  if (values.length === 0) return "";
  const max = Math.max(...values, 0);
  const step = values.length > 1 ? (width - 2 * pad) / (values.length - 1) : 0;
  const h = height - 2 * pad;
  return values
    .map((v, i) => {
      const x = pad + i * step;
      const y = pad + h - (max > 0 ? (v / max) * h : 0);
      return `${round(x)},${round(y)}`;
    })
    .join(" ");
}

const round = (n: number) => Math.round(n * 10) / 10;

/** share is part of total as a whole percentage ("0%" when total is zero). */
export function share(part: number, total: number): string {
  if (total <= 0) return "0%";
  const p = (part / total) * 100;
  return (p > 0 && p < 1 ? "<1" : String(Math.round(p))) + "%";
}

const nf = new Intl.NumberFormat("en");
export const formatCount = (n: number) => nf.format(n);

/** bucketLabel names a series point for a table or an axis. */
export function bucketLabel(start: string, g: Granularity, locale?: string): string {
  const d = new Date(start);
  if (Number.isNaN(d.getTime())) return start;
  return formatDate(d, { utc: true, time: g === "hour", locale });
}

/** humanSeries is what the chart draws: hits without bots when bots are hidden. */
export function humanHits(p: Counts, withoutBots: boolean): number {
  return withoutBots ? Math.max(0, p.hits - p.bots) : p.hits;
}

/**
 * ruleSourceOf is the rule source for a lost path: the path without its query
 * (a rule matches paths), "/" for an empty one.
 */
export function ruleSourceOf(path: string): string {
  const p = path.split(/[?#]/, 1)[0];
  return p.startsWith("/") ? p : "/" + p;
}

/**
 * limitConcurrency runs at most n of the functions given to it at once, in the
 * order given: the route list's sparklines ask one small question per route
 * shown, and this keeps a page of them from arriving as one burst.
 */
export function limitConcurrency(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queue: (() => void)[] = [];
  const next = () => {
    if (running >= n) return;
    const start = queue.shift();
    if (start) start();
  };
  return <T>(fn: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      queue.push(() => {
        running++;
        fn()
          .then(resolve, reject)
          .finally(() => {
            running--;
            next();
          });
      });
      next();
    });
}
