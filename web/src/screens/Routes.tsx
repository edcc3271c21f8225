import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { errorMessage, type DNSCheck, type DNSRecord, type Membership, type Route, type RouteDomain, type RouteEdge } from "../api";
import { lastDays } from "../analytics";
import { providerTips, recordsToCreate, relativeName, zoneOf } from "../dns";
import { useSession } from "../session";
import {
  checkDNS,
  checkSummary,
  domainBadge,
  domainNotes,
  edgeBadge,
  findingLevelLabels,
  firstPage,
  purposeLabels,
  replaceRoute,
  routingRecords,
  type Pager,
} from "../logic";
import { href } from "../router";
import { routeStatus, stateFilters, type RouteStateName } from "../status";
import { useTitle } from "../title";
import { Confirm, CursorPager, CopyButton, ErrorBox, Link, Loading, Notice } from "../ui";
import { Sparkline } from "./Sparkline";
import { ExportButtons } from "./ExportButtons";
import { useOrg } from "./UsageMeters";

/** DNSRecords is the one-line summary of where the host must point: its routing record. */
export function DNSRecords({ route }: { route: Route }) {
  return (
    <dl class="dns">
      {routingRecords(route.dnsRecords).map((d) => (
        <div key={d.name + d.value}>
          <dt>
            <abbr title="Create this record at your DNS provider">DNS</abbr>
          </dt>
          <dd>
            <code>{d.name}</code> {d.type} <code>{d.value}</code> <CopyButton text={d.value} label="Copy value" />
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** DomainBadge says where the hostname stands at the edge, in words. */
export function DomainBadge({ domain }: { domain?: RouteDomain }) {
  if (!domain) return null;
  const b = domainBadge(domain);
  return (
    <span class={`badge domain ${b.kind}`}>
      <span class="visually-hidden">Domain: </span>
      {b.label}
    </span>
  );
}

/** EdgeBadge says where the route's redirects are answered, and why the origin answers them. */
export function EdgeBadge({ edge }: { edge?: RouteEdge }) {
  const b = edgeBadge(edge);
  if (!b) return null;
  return (
    <span class="edge-status">
      <span class={`badge edge ${b.kind}`}>{b.label}</span>
      {b.reason && <span class="edge-reason">: {b.reason}</span>}
    </span>
  );
}

/** DomainNotes: why a domain is not active yet, and when an unverified one is released. */
export function DomainNotes({ domain }: { domain?: RouteDomain }) {
  const notes = domainNotes(domain);
  if (!notes.length) return null;
  return (
    <ul class="domain-notes">
      {notes.map((n) => (
        <li key={n}>{n}</li>
      ))}
    </ul>
  );
}

/** StateBadge says first what a visitor to the hostname gets now. */
export function StateBadge({ route, explain }: { route: Route; explain?: boolean }) {
  const s = routeStatus(route);
  return (
    <span class="state-wrap">
      <span class={`state-badge ${s.kind}`} data-state={s.state}>
        <span class="visually-hidden">Status: </span>
        {s.label}
      </span>
      {explain && <span class="state-explain">{s.explain}</span>}
    </span>
  );
}

/** RecordsToCreate lists every record a route still needs, with the provider's pitfalls; nothing once none is needed. */
export function RecordsToCreate({ route, heading: H = "h3" }: { route: Route; heading?: "h2" | "h3" }) {
  const records = recordsToCreate(route);
  if (!records.length) return null;
  return (
    <div class="to-create">
      <H>DNS records to create for {route.host}</H>
      <p class="hint">Create {records.length === 1 ? "this record" : "these records"} at the DNS provider of {zoneOf(route.host)}. They are shown here until they are no longer needed.</p>
      <RecordsTable records={records} idPrefix={`todo-${route.host}`} label={`DNS records to create for ${route.host}`} zone={zoneOf(route.host)} />
      <ul class="tips">
        {providerTips(route.host).map((t) => (
          <li key={t}>{t}</li>
        ))}
      </ul>
    </div>
  );
}

/** RecordsTable lists DNS records to create, each name (relative to the zone, and in full) and value with a Copy button. */
export function RecordsTable({ records, idPrefix, label, zone }: { records: DNSRecord[]; idPrefix: string; label: string; zone?: string }) {
  return (
    <div class="table-scroll">
      <table class="records" aria-label={label}>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Type</th>
            <th scope="col">Value</th>
            <th scope="col">For</th>
          </tr>
        </thead>
        <tbody>
          {records.map((d, i) => (
            <tr key={d.type + d.name + d.value}>
              <td data-label="Name">
                <div class="cell">
                  <code id={`${idPrefix}-${i}-name`}>{relativeName(d.name, zone ?? zoneOf(d.name))}</code>
                  <CopyButton text={relativeName(d.name, zone ?? zoneOf(d.name))} describedBy={`${idPrefix}-${i}-name`} />
                  <span class="full-name">{d.name}</span>
                </div>
              </td>
              <td data-label="Type">{d.type}</td>
              <td data-label="Value">
                <div class="cell">
                  <code id={`${idPrefix}-${i}-value`}>{d.value}</code>
                  <CopyButton text={d.value} describedBy={`${idPrefix}-${i}-value`} />
                </div>
              </td>
              <td data-label="For">{purposeLabels[d.purpose] ?? d.purpose}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** OwnershipRecord explains the optional TXT record that proves the hostname is the org's. */
export function OwnershipRecord({ route, heading: H = "h3" }: { route: Route; heading?: "h2" | "h3" }) {
  if (!route.ownershipRecord) return null;
  return (
    <div class="ownership">
      <H>Ownership record</H>
      <p class="hint">
        Optional: proves the hostname is yours before you switch DNS, so no one else can claim it.
        {!route.domain?.verified && " Until the hostname is verified, another account that proves ownership can take it."}
      </p>
      <RecordsTable records={[route.ownershipRecord]} idPrefix={`own-${route.host}`} label={`Ownership record for ${route.host}`} />
    </div>
  );
}

/** CheckResult shows what a DNS check found, errors first, each with its level in words. */
function CheckResult({ host, check, onHide }: { host: string; check: DNSCheck; onHide: () => void }) {
  const hasError = check.findings.some((f) => f.level === "error");
  const id = `check-${host}`;
  return (
    <div class={`alert ${hasError ? "error" : check.ok ? "success" : "warning"} findings wide`} role="region" aria-labelledby={id}>
      <p id={id}>
        <strong>DNS check of {host}:</strong> {checkSummary(check)}
      </p>
      {check.findings.length > 0 && (
        <ul>
          {check.findings.map((f, i) => (
            <li key={f.code + i} class={`finding ${f.level}`}>
              <span class={`badge level ${f.level}`}>{findingLevelLabels[f.level] ?? f.level}</span> {f.message}
            </li>
          ))}
        </ul>
      )}
      <button type="button" class="secondary small" onClick={onHide}>
        Hide<span class="visually-hidden"> the DNS check of {host}</span>
      </button>
    </div>
  );
}

const PAGE_SIZE = 50;
/** How often the screen looks again while something is on its way (DNS, a certificate, a first visit). */
const POLL_MS = 10_000;

type SortKey = "host" | "state" | "rules";
const stateOrder: Record<string, number> = { needs_attention: 0, destination_broken: 0, pending_dns: 1, pending_certificate: 2, paused: 3, disabled: 4, redirecting: 5 };

function sortRoutes(items: Route[], key: SortKey, asc: boolean): Route[] {
  const out = [...items];
  const cmp = (a: Route, b: Route) => {
    if (key === "state") return (stateOrder[routeStatus(a).state] ?? 9) - (stateOrder[routeStatus(b).state] ?? 9) || a.host.localeCompare(b.host);
    if (key === "rules") return (a.ruleCount ?? 0) - (b.ruleCount ?? 0) || a.host.localeCompare(b.host);
    return a.host.localeCompare(b.host);
  };
  out.sort((a, b) => (asc ? cmp(a, b) : -cmp(a, b)));
  return out;
}

/** UsageLine shows the routes used against the plan's limit, with the upgrade once it is reached. */
function UsageLine({ org, atLimit }: { org: Membership; atLimit: (v: boolean) => void }) {
  const { org: o } = useOrg(org.id);
  const full = !!o && o.usage.routes >= o.usage.routeLimit;
  useEffect(() => atLimit(full), [full]);
  if (!o) return null;
  return (
    <p class="usage-line">
      {o.usage.routes} of {o.usage.routeLimit} {o.usage.routeLimit === 1 ? "route" : "routes"} on the {o.plan} plan
      {full && (
        <>
          {" · "}
          <Link href={href({ name: "billing", orgId: org.id })}>Upgrade to add more</Link>
        </>
      )}
    </p>
  );
}

interface Step {
  label: string;
  done: boolean;
}

/** onboardingSteps are a new org's way to its first redirect, from what its routes say. */
export function onboardingSteps(routes: Route[], visits: number | null): Step[] {
  const states = routes.map((r) => r.domain?.state);
  return [
    { label: "Add a route", done: routes.length > 0 },
    { label: "Create the DNS record", done: states.some((s) => s && s !== "pending_dns") },
    { label: "Hostname verified", done: routes.some((r) => r.domain?.verified) },
    { label: "HTTPS active", done: states.includes("active") },
    { label: "First visit seen", done: (visits ?? 0) > 0 },
  ];
}

function Onboarding({ steps }: { steps: Step[] }) {
  const done = steps.filter((s) => s.done).length;
  return (
    <section class="card onboarding" aria-labelledby="onboarding-title">
      <h2 id="onboarding-title">
        Getting started <span class="muted">({done} of {steps.length} done)</span>
      </h2>
      <ol>
        {steps.map((s) => (
          <li key={s.label} class={s.done ? "done" : ""}>
            <span aria-hidden="true">{s.done ? "✓" : "○"}</span> {s.label}
            <span class="visually-hidden">{s.done ? ": done" : ": to do"}</span>
          </li>
        ))}
      </ol>
      {done < steps.length && <p class="hint">This list updates by itself while something is on its way.</p>}
    </section>
  );
}

/** RouteMenu holds a row's actions. */
function RouteMenu(props: { org: Membership; route: Route; busy: boolean; checking: boolean; onCheck: () => void; onToggle: () => void; onDelete: () => void }) {
  const { org, route: r } = props;
  const ref = useRef<HTMLDetailsElement>(null);
  const close = () => ref.current?.removeAttribute("open");
  return (
    <details class="menu" ref={ref}>
      <summary class="button secondary small" aria-label={`Actions for ${r.host}`}>
        Actions
      </summary>
      <div class="menu-items">
        <button type="button" class="secondary small" disabled={props.checking} onClick={() => (close(), props.onCheck())} aria-label={`${props.checking ? "Checking DNS of" : "Check DNS of"} ${r.host}`}>
          {props.checking ? "Checking…" : "Check DNS"}
        </button>
        <button type="button" class="secondary small" disabled={props.busy} onClick={() => (close(), props.onToggle())} aria-label={`${r.enabled ? "Disable" : "Enable"} ${r.host}`}>
          {r.enabled ? "Disable" : "Enable"}
        </button>
        <Link class="button secondary small" href={href({ name: "route", orgId: org.id, host: r.host })} aria-label={`Rules of ${r.host}`}>
          Rules
        </Link>
        <Link class="button secondary small" href={href({ name: "analytics", orgId: org.id, host: r.host })} aria-label={`Analytics for ${r.host}`}>
          Analytics
        </Link>
        <Link class="button secondary small" href={href({ name: "editRoute", orgId: org.id, host: r.host })} aria-label={`Edit ${r.host}`}>
          Edit
        </Link>
        <button type="button" class="danger small" onClick={() => (close(), props.onDelete())} aria-label={`Delete ${r.host}`}>
          Delete
        </button>
      </div>
    </details>
  );
}

type Bulk = { action: "enable" | "disable" | "delete"; hosts: string[] };

export function RoutesScreen({ org }: { org: Membership }) {
  const { api } = useSession();
  useTitle("Routes", org.name);
  const [pager, setPager] = useState<Pager>(firstPage);
  const [page, setPage] = useState<{ items: Route[]; nextCursor?: string } | null>(null);
  const [err, setErr] = useState("");
  const [q, setQ] = useState("");
  const [search, setSearch] = useState("");
  const [stateFilter, setStateFilter] = useState<RouteStateName | "">("");
  const [sort, setSort] = useState<{ key: SortKey; asc: boolean }>({ key: "host", asc: true });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [bulk, setBulk] = useState<Bulk | null>(null);
  const [bulkBusy, setBulkBusy] = useState(false);
  const [bulkErr, setBulkErr] = useState("");
  const [busyHost, setBusyHost] = useState("");
  const [rowErr, setRowErr] = useState<{ host: string; msg: string } | null>(null);
  const [deleting, setDeleting] = useState<Route | null>(null);
  const [delBusy, setDelBusy] = useState(false);
  const [delErr, setDelErr] = useState("");
  const [announce, setAnnounce] = useState("");
  const [checkingHost, setCheckingHost] = useState("");
  const [checks, setChecks] = useState<Record<string, DNSCheck>>({});
  const [atLimit, setAtLimit] = useState(false);
  const [visits, setVisits] = useState<number | null>(null);

  // The search box asks the API (every page), a moment after typing stops.
  useEffect(() => {
    const t = setTimeout(() => setSearch(q.trim()), 300);
    return () => clearTimeout(t);
  }, [q]);
  useEffect(() => setPager(firstPage), [org.id, search, stateFilter]);

  const fetchPage = useCallback(
    () => api.routes(org.id, { limit: PAGE_SIZE, cursor: pager.cursors[pager.index], search: search || undefined, state: stateFilter || undefined }),
    [api, org.id, pager, search, stateFilter],
  );
  const load = useCallback(() => {
    setErr("");
    setPage(null);
    setChecks({});
    setSelected(new Set());
    fetchPage()
      .then(setPage)
      .catch((e) => setErr(errorMessage(e, "list the routes")));
  }, [fetchPage]);
  useEffect(load, [load]);

  const filtered = !!search || !!stateFilter;
  const firstUnfiltered = !filtered && pager.index === 0;
  const steps = page && firstUnfiltered ? onboardingSteps(page.items, visits) : null;
  const onboarding = !!steps && page!.items.length <= 3 && steps.some((s) => !s.done);
  const pending = !!page && page.items.some((r) => r.enabled && !r.paused && r.domain?.state !== "active" && r.domain?.state !== "failed");

  // The first visit: the org's requests of the last 30 days.
  const loadVisits = useCallback(() => {
    api
      .analytics(org.id, { ...lastDays(30), granularity: "day", withoutBots: false })
      .then((a) => setVisits(a.totals.hits))
      .catch(() => setVisits(null));
  }, [api, org.id]);
  useEffect(() => {
    if (firstUnfiltered) loadVisits();
  }, [loadVisits, firstUnfiltered]);

  // Live progress: while a route waits for DNS or a certificate, or no visit is seen yet, look again.
  useEffect(() => {
    if (!page || (!pending && !(onboarding && page.items.length > 0))) return;
    const t = setInterval(() => {
      fetchPage()
        .then((p) => setPage((cur) => (cur ? { ...p } : cur)))
        .catch(() => undefined);
      if (onboarding) loadVisits();
    }, POLL_MS);
    return () => clearInterval(t);
  }, [page && pending, onboarding, fetchPage, loadVisits]);

  async function toggle(r: Route) {
    setBusyHost(r.host);
    setRowErr(null);
    try {
      const u = await api.updateRoute(org.id, r.host, { enabled: !r.enabled });
      setPage((p) => p && { ...p, items: replaceRoute(p.items, u) });
      setAnnounce(`${u.host} ${u.enabled ? "enabled" : "disabled"}.`);
    } catch (e) {
      setRowErr({ host: r.host, msg: errorMessage(e, r.enabled ? "disable the route" : "enable the route") });
    } finally {
      setBusyHost("");
    }
  }

  async function check(r: Route) {
    setCheckingHost(r.host);
    setRowErr(null);
    setAnnounce("");
    try {
      const c = await checkDNS(api, org.id, r.host);
      if (c.route) setPage((p) => p && { ...p, items: replaceRoute(p.items, c.route) });
      setChecks((cs) => ({ ...cs, [r.host]: c }));
      setAnnounce(`${r.host}: ${checkSummary(c)}`);
    } catch (e) {
      setRowErr({ host: r.host, msg: errorMessage(e, "check DNS") });
    } finally {
      setCheckingHost("");
    }
  }

  function hideCheck(host: string) {
    setChecks(({ [host]: _gone, ...rest }) => rest);
  }

  async function confirmDelete() {
    if (!deleting) return;
    setDelBusy(true);
    setDelErr("");
    try {
      await api.deleteRoute(org.id, deleting.host);
      setAnnounce(`${deleting.host} deleted.`);
      setPage((p) => p && { ...p, items: p.items.filter((x) => x.host !== deleting.host) });
      setDeleting(null);
    } catch (e) {
      setDelErr(errorMessage(e, "delete the route"));
    } finally {
      setDelBusy(false);
    }
  }

  async function runBulk() {
    if (!bulk) return;
    setBulkBusy(true);
    setBulkErr("");
    const failed: string[] = [];
    let items = page?.items ?? [];
    for (const host of bulk.hosts) {
      try {
        if (bulk.action === "delete") {
          await api.deleteRoute(org.id, host);
          items = items.filter((x) => x.host !== host);
        } else {
          const u = await api.updateRoute(org.id, host, { enabled: bulk.action === "enable" });
          items = replaceRoute(items, u);
        }
      } catch (e) {
        failed.push(`${host}: ${errorMessage(e)}`);
      }
    }
    setPage((p) => p && { ...p, items });
    setBulkBusy(false);
    const done = bulk.hosts.length - failed.length;
    setAnnounce(`${done} ${done === 1 ? "route" : "routes"} ${bulk.action === "delete" ? "deleted" : bulk.action + "d"}.`);
    if (failed.length) {
      setBulkErr(`${failed.length} could not be changed. ${failed.join(" ")}`);
    } else {
      setBulk(null);
      setSelected(new Set());
    }
  }

  const shown = page ? sortRoutes(page.items, sort.key, sort.asc) : [];
  const allSelected = shown.length > 0 && shown.every((r) => selected.has(r.host));
  const toggleSel = (host: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(host)) n.delete(host);
      else n.add(host);
      return n;
    });
  const sortButton = (key: SortKey, label: string) => (
    <button type="button" class="sort" onClick={() => setSort((s) => ({ key, asc: s.key === key ? !s.asc : true }))}>
      {label}
      <span aria-hidden="true">{sort.key === key ? (sort.asc ? " ▲" : " ▼") : ""}</span>
    </button>
  );
  const ariaSort = (key: SortKey) => (sort.key === key ? (sort.asc ? "ascending" : "descending") : undefined);
  const todo = shown.filter((r) => recordsToCreate(r).length > 0);

  return (
    <section>
      <div class="heading">
        <h1>Routes</h1>
        {atLimit ? (
          <Link class="button" href={href({ name: "billing", orgId: org.id })}>
            Upgrade to add routes
          </Link>
        ) : (
          <Link class="button" href={href({ name: "newRoute", orgId: org.id })}>
            Add route
          </Link>
        )}
      </div>
      <UsageLine org={org} atLimit={setAtLimit} />
      {onboarding && steps && <Onboarding steps={steps} />}
      <p class="visually-hidden" role="status" aria-live="polite">
        {announce}
      </p>
      <div class="toolbar wrap">
        <label for="route-search" class="visually-hidden">
          Search routes
        </label>
        <input id="route-search" type="search" placeholder="Search hostname or target" value={q} onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)} />
        <label for="route-state" class="visually-hidden">
          Status
        </label>
        <select id="route-state" value={stateFilter} onChange={(e) => setStateFilter((e.currentTarget as HTMLSelectElement).value as RouteStateName | "")}>
          {stateFilters.map((f) => (
            <option key={f.value} value={f.value}>
              {f.label}
            </option>
          ))}
        </select>
        <span class="toolbar-end">
          <Link class="button secondary small" href={href({ name: "importRoutes", orgId: org.id })}>
            Import CSV
          </Link>
          <ExportButtons org={org} />
        </span>
      </div>
      {selected.size > 0 && (
        <div class="bulk-bar" role="region" aria-label="Selected routes">
          <span>{selected.size} selected</span>
          <button type="button" class="secondary small" onClick={() => setBulk({ action: "enable", hosts: [...selected] })}>
            Enable
          </button>
          <button type="button" class="secondary small" onClick={() => setBulk({ action: "disable", hosts: [...selected] })}>
            Disable
          </button>
          <button type="button" class="danger small" onClick={() => setBulk({ action: "delete", hosts: [...selected] })}>
            Delete
          </button>
          <button type="button" class="secondary small" onClick={() => setSelected(new Set())}>
            Clear selection
          </button>
        </div>
      )}
      {err && <ErrorBox message={err} retry={load} />}
      {!err && !page && <Loading what="routes" />}
      {page && page.items.length === 0 && firstUnfiltered && (
        <Notice>
          <p>No routes yet. Add one to redirect a hostname to a URL, or import a CSV file of redirects.</p>
        </Notice>
      )}
      {page && page.items.length === 0 && filtered && <p class="state">No route matches{search ? ` “${search}”` : ""}{stateFilter ? ` in the state ${stateFilters.find((f) => f.value === stateFilter)?.label}` : ""}.</p>}
      {shown.length > 0 && (
        <div class="table-scroll">
          <table class="routes" aria-label="Routes">
            <thead>
              <tr>
                <th scope="col" class="sel">
                  <input type="checkbox" aria-label="Select every route shown" checked={allSelected} onChange={() => setSelected(allSelected ? new Set() : new Set(shown.map((r) => r.host)))} />
                </th>
                <th scope="col" class="col-state" aria-sort={ariaSort("state")}>{sortButton("state", "Status")}</th>
                <th scope="col" aria-sort={ariaSort("host")}>{sortButton("host", "Hostname")}</th>
                <th scope="col" class="col-target">Target</th>
                <th scope="col" class="col-rules" aria-sort={ariaSort("rules")}>{sortButton("rules", "Rules")}</th>
                <th scope="col" class="col-traffic">Traffic, 30 days</th>
                <th scope="col" class="col-served">Served</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((r) => {
                const edge = edgeBadge(r.edge);
                return (
                  <tr key={r.host} class={r.enabled && !r.paused ? "" : "off"}>
                    <td class="sel">
                      <input type="checkbox" aria-label={`Select ${r.host}`} checked={selected.has(r.host)} onChange={() => toggleSel(r.host)} />
                    </td>
                    <td class="col-state">
                      <StateBadge route={r} />
                    </td>
                    <td class="host-cell">
                      <Link class="host" href={href({ name: "route", orgId: org.id, host: r.host })}>
                        {r.host}
                      </Link>
                      <span class="target-under">{r.target || "Path rules only"}</span>
                      <span class="state-under" aria-hidden="true">
                        <StateBadge route={r} />
                      </span>
                      {checks[r.host] && <CheckResult host={r.host} check={checks[r.host]} onHide={() => hideCheck(r.host)} />}
                      {rowErr?.host === r.host && <ErrorBox message={rowErr.msg} />}
                    </td>
                    <td class="col-target">
                      {r.target ? (
                        <a href={r.target} rel="noreferrer noopener" target="_blank">
                          {r.target}
                        </a>
                      ) : (
                        <span class="muted">Path rules only</span>
                      )}
                    </td>
                    <td class="col-rules num">{r.ruleCount ?? 0}</td>
                    <td class="col-traffic">
                      <Link class="spark-link" href={href({ name: "analytics", orgId: org.id, host: r.host })} aria-label={`Analytics of ${r.host}`}>
                        <Sparkline orgId={org.id} host={r.host} />
                      </Link>
                    </td>
                    <td class="col-served">
                      {edge && (
                        <span class={`served ${edge.kind}`} title={edge.reason ? `${edge.label}: ${edge.reason}` : edge.label}>
                          {r.edge?.servedFrom === "edge" ? "Edge" : r.edge?.servedFrom === "origin" ? "Origin" : "Pending"}
                          <span class="visually-hidden">{edge.reason ? `: ${edge.label}: ${edge.reason}` : `: ${edge.label}`}</span>
                        </span>
                      )}
                    </td>
                    <td class="actions-cell">
                      <RouteMenu
                        org={org}
                        route={r}
                        busy={busyHost === r.host}
                        checking={checkingHost === r.host}
                        onCheck={() => check(r)}
                        onToggle={() => toggle(r)}
                        onDelete={() => {
                          setDelErr("");
                          setDeleting(r);
                        }}
                      />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {page && <CursorPager pager={pager} nextCursor={page.nextCursor} onPage={setPager} label="Pages" />}
      {todo.length > 0 && (
        <section class="card todo" aria-labelledby="todo-title">
          <h2 id="todo-title">Still to do at your DNS provider</h2>
          {todo.map((r) => (
            <div key={r.host}>
              <p>
                <StateBadge route={r} explain />
              </p>
              <DomainNotes domain={r.domain} />
              <RecordsToCreate route={r} />
            </div>
          ))}
        </section>
      )}
      {deleting && (
        <Confirm title={`Delete ${deleting.host}?`} confirmLabel="Delete route" busy={delBusy} error={delErr} onConfirm={confirmDelete} onCancel={() => setDeleting(null)}>
          <p>
            Requests for <code>{deleting.host}</code> will no longer be redirected. This cannot be undone.
          </p>
        </Confirm>
      )}
      {bulk && (
        <Confirm
          title={`${bulk.action === "delete" ? "Delete" : bulk.action === "enable" ? "Enable" : "Disable"} ${bulk.hosts.length} ${bulk.hosts.length === 1 ? "route" : "routes"}?`}
          confirmLabel={bulk.action === "delete" ? "Delete routes" : bulk.action === "enable" ? "Enable routes" : "Disable routes"}
          busy={bulkBusy}
          error={bulkErr}
          onConfirm={runBulk}
          onCancel={() => setBulk(null)}
        >
          <p>
            {bulk.action === "delete"
              ? "Requests for these hostnames will no longer be redirected. This cannot be undone."
              : bulk.action === "disable"
                ? "Visitors to these hostnames get a “not configured” page until they are enabled again."
                : "These hostnames redirect again."}
          </p>
          <ul class="bulk-hosts">
            {bulk.hosts.map((h) => (
              <li key={h}>
                <code>{h}</code>
              </li>
            ))}
          </ul>
        </Confirm>
      )}
    </section>
  );
}
