// Pasted values cleaned where the meaning is unambiguous, saying what changed:
// a URL pasted as a hostname keeps its hostname; a bare domain as a target
// becomes an https URL.

export interface Cleaned {
  value: string;
  /** What was changed, in words; undefined when nothing was. */
  note?: string;
}

/** cleanHost takes the hostname out of a pasted URL, lowercased, without a trailing dot. */
export function cleanHost(input: string): Cleaned {
  const raw = input.trim();
  if (!raw) return { value: "" };
  let host = raw;
  const notes: string[] = [];
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(raw);
  if (m) {
    host = m[1].replace(/^[^@]*@/, "").replace(/:\d+$/, "");
    notes.push("kept only the hostname of the URL");
  } else if (/[/?#]/.test(raw) && !/\s/.test(raw)) {
    host = raw.split(/[/?#]/)[0];
    notes.push("dropped the path");
  }
  if (host.endsWith(".") && host.length > 1) {
    host = host.slice(0, -1);
    notes.push("dropped the trailing dot");
  }
  if (host !== host.toLowerCase()) {
    host = host.toLowerCase();
    notes.push("lowercased it");
  }
  return { value: host, note: notes.length ? `Changed ${raw} to ${host}: ${notes.join(", ")}.` : undefined };
}

/** cleanTarget makes a bare domain (example.org, example.org/path) an https URL. */
export function cleanTarget(input: string): Cleaned {
  const raw = input.trim();
  if (!raw) return { value: "" };
  if (/^[a-z][a-z0-9+.-]*:/i.test(raw)) return { value: raw };
  if (raw.startsWith("//")) return { value: "https:" + raw, note: `Changed ${raw} to https:${raw}: added https:.` };
  // A domain name first: letters, digits and hyphens in two labels at least.
  if (/^[a-z0-9-]+(\.[a-z0-9-]+)+\.?(:\d+)?([/?#].*)?$/i.test(raw)) {
    const v = "https://" + raw;
    return { value: v, note: `Changed ${raw} to ${v}: added https://.` };
  }
  return { value: raw };
}
