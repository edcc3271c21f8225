import { useCallback, useEffect, useState } from "preact/hooks";
import { errorMessage, type DNSCheck, type DNSRecord, type Membership, type Route, type RouteDomain, type RouteEdge } from "../api";
import { useSession } from "../session";
import {
  checkDNS,
  checkSummary,
  domainBadge,
  domainNotes,
  edgeBadge,
  filterRoutes,
  findingLevelLabels,
  firstPage,
  purposeLabels,
  replaceRoute,
  routingRecords,
  type Pager,
} from "../logic";
import { href } from "../router";
import { Confirm, CursorPager, CopyButton, ErrorBox, Link, Loading, Notice } from "../ui";
import { Sparkline } from "./Sparkline";
import { ExportButtons } from "./ExportButtons";

const PAGE_SIZE = 50;

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

/** RecordsTable lists DNS records to create, each name and value with a Copy button. */
export function RecordsTable({ records, idPrefix, label }: { records: DNSRecord[]; idPrefix: string; label: string }) {
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
                  <code id={`${idPrefix}-${i}-name`}>{d.name}</code>
                  <CopyButton text={d.name} describedBy={`${idPrefix}-${i}-name`} />
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

/** RouteDetails: every record to create, folded away until asked for. */
function RouteDetails({ route }: { route: Route }) {
  return (
    <details class="route-details">
      <summary>
        DNS records<span class="visually-hidden"> for {route.host}</span>
      </summary>
      <p class="hint">Create these at your DNS provider, in this order.</p>
      <RecordsTable records={route.dnsRecords ?? []} idPrefix={`rec-${route.host}`} label={`DNS records for ${route.host}`} />
      <OwnershipRecord route={route} />
    </details>
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

export function RoutesScreen({ org }: { org: Membership }) {
  const { api } = useSession();
  const [pager, setPager] = useState<Pager>(firstPage);
  const [page, setPage] = useState<{ items: Route[]; nextCursor?: string } | null>(null);
  const [err, setErr] = useState("");
  const [q, setQ] = useState("");
  const [busyHost, setBusyHost] = useState("");
  const [rowErr, setRowErr] = useState<{ host: string; msg: string } | null>(null);
  const [deleting, setDeleting] = useState<Route | null>(null);
  const [delBusy, setDelBusy] = useState(false);
  const [delErr, setDelErr] = useState("");
  const [announce, setAnnounce] = useState("");
  const [checkingHost, setCheckingHost] = useState("");
  const [checks, setChecks] = useState<Record<string, DNSCheck>>({});

  const load = useCallback(() => {
    setErr("");
    setPage(null);
    setChecks({});
    api
      .routes(org.id, { limit: PAGE_SIZE, cursor: pager.cursors[pager.index] })
      .then(setPage)
      .catch((e) => setErr(errorMessage(e)));
  }, [api, org.id, pager]);
  useEffect(load, [load]);
  useEffect(() => setPager(firstPage), [org.id]);

  async function toggle(r: Route) {
    setBusyHost(r.host);
    setRowErr(null);
    try {
      const u = await api.updateRoute(org.id, r.host, { enabled: !r.enabled });
      setPage((p) => p && { ...p, items: replaceRoute(p.items, u) });
      setAnnounce(`${u.host} ${u.enabled ? "enabled" : "disabled"}.`);
    } catch (e) {
      setRowErr({ host: r.host, msg: errorMessage(e) });
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
      setRowErr({ host: r.host, msg: errorMessage(e) });
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
      setDelErr(errorMessage(e));
    } finally {
      setDelBusy(false);
    }
  }

  const shown = page ? filterRoutes(page.items, q) : [];
  return (
    <section>
      <div class="heading">
        <h1>Routes</h1>
        <Link class="button" href={href({ name: "newRoute", orgId: org.id })}>
          Add route
        </Link>
      </div>
      <div class="toolbar wrap">
        <Link class="button secondary small" href={href({ name: "importRoutes", orgId: org.id })}>
          Import CSV
        </Link>
        <ExportButtons org={org} />
      </div>
      <p class="visually-hidden" role="status" aria-live="polite">
        {announce}
      </p>
      <div class="toolbar">
        <label for="route-search">Search</label>
        <input
          id="route-search"
          type="search"
          placeholder="Host or target"
          value={q}
          onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)}
        />
      </div>
      {err && <ErrorBox message={err} retry={load} />}
      {!err && !page && <Loading what="routes" />}
      {page && page.items.length === 0 && pager.index === 0 && (
        <Notice>
          <p>No routes yet. Add one to redirect a hostname to a URL, or import a CSV file of redirects.</p>
        </Notice>
      )}
      {page && page.items.length > 0 && shown.length === 0 && <p class="state">No route on this page matches “{q}”.</p>}
      {shown.length > 0 && (
        <ul class="cards" aria-label="Routes">
          {shown.map((r) => (
            <li key={r.host} class={`card${r.enabled ? "" : " off"}`}>
              <div class="route-main">
                <h2 class="host">
                  <Link href={href({ name: "route", orgId: org.id, host: r.host })}>{r.host}</Link>
                </h2>
                {r.target ? (
                  <p class="target">
                    <span aria-hidden="true">→ </span>
                    <span class="visually-hidden">redirects to </span>
                    <a href={r.target} rel="noreferrer noopener" target="_blank">
                      {r.target}
                    </a>
                  </p>
                ) : (
                  <p class="target muted">Path rules only</p>
                )}
                <Link class="spark-link" href={href({ name: "analytics", orgId: org.id, host: r.host })} aria-label={`Analytics of ${r.host}`}>
                  <Sparkline orgId={org.id} host={r.host} />
                </Link>
                <p class="meta">
                  <DomainBadge domain={r.domain} />
                  <EdgeBadge edge={r.edge} />
                  {r.target && <span class="badge">{r.status}</span>}
                  {r.target && r.keepPath && <span class="badge">keeps path</span>}
                  {r.target && r.keepQuery && <span class="badge">keeps query</span>}
                  <span class="badge">{r.ruleCount === 1 ? "1 path rule" : `${r.ruleCount ?? 0} path rules`}</span>
                  {!r.enabled && <span class="badge muted">disabled</span>}
                  {r.paused && <span class="badge warn" title="Over your plan's route limit: upgrade to resume it">paused</span>}
                  {r.hsts && <span class="badge" title="HTTPS answers carry Strict-Transport-Security">HSTS</span>}
                </p>
                <DomainNotes domain={r.domain} />
                <DNSRecords route={r} />
                <RouteDetails route={r} />
              </div>
              <div class="row-actions">
                <button type="button" class="secondary small" disabled={checkingHost === r.host} onClick={() => check(r)} aria-label={`${checkingHost === r.host ? "Checking DNS of" : "Check DNS of"} ${r.host}`}>
                  {checkingHost === r.host ? "Checking…" : "Check DNS"}
                </button>
                <button type="button" class="secondary small" disabled={busyHost === r.host} onClick={() => toggle(r)} aria-label={`${r.enabled ? "Disable" : "Enable"} ${r.host}`}>
                  {r.enabled ? "Disable" : "Enable"}
                </button>
                <Link class="button secondary small" href={href({ name: "route", orgId: org.id, host: r.host })} aria-label={`Rules of ${r.host}`}>
                  Rules
                </Link>
                <Link class="button secondary small" href={href({ name: "editRoute", orgId: org.id, host: r.host })} aria-label={`Edit ${r.host}`}>
                  Edit
                </Link>
                <button type="button" class="danger small" onClick={() => { setDelErr(""); setDeleting(r); }} aria-label={`Delete ${r.host}`}>
                  Delete
                </button>
              </div>
              {checks[r.host] && <CheckResult host={r.host} check={checks[r.host]} onHide={() => hideCheck(r.host)} />}
              {rowErr?.host === r.host && <ErrorBox message={rowErr.msg} />}
            </li>
          ))}
        </ul>
      )}
      {page && <CursorPager pager={pager} nextCursor={page.nextCursor} onPage={setPager} label="Pages" />}
      {deleting && (
        <Confirm
          title={`Delete ${deleting.host}?`}
          confirmLabel="Delete route"
          busy={delBusy}
          error={delErr}
          onConfirm={confirmDelete}
          onCancel={() => setDeleting(null)}
        >
          <p>
            Requests for <code>{deleting.host}</code> will no longer be redirected. This cannot be undone.
          </p>
        </Confirm>
      )}
    </section>
  );
}
