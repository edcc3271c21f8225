// The one way dates are written on every screen: "Nov 30, 2026" in the
// reader's language, with the time as "05:00" where it matters.

const dateOptions: Intl.DateTimeFormatOptions = { year: "numeric", month: "short", day: "numeric" };

/** formatDate writes an instant's date (UTC when asked: analytics buckets are UTC days). */
export function formatDate(d: Date, o: { utc?: boolean; time?: boolean; locale?: string } = {}): string {
  const opts: Intl.DateTimeFormatOptions = { ...dateOptions, timeZone: o.utc ? "UTC" : undefined };
  if (o.time) Object.assign(opts, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  return d.toLocaleString(o.locale, opts);
}
