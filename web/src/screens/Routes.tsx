import { useCallback, useEffect, useState } from "preact/hooks";
import { errorMessage, type Membership, type Route } from "../api";
import { useSession } from "../App";
import { filterRoutes, firstPage, nextPage, prevPage, type Pager } from "../logic";
import { href } from "../router";
import { Confirm, CopyButton, ErrorBox, Link, Loading, Notice } from "../ui";

const PAGE_SIZE = 50;

export function DNSRecords({ route }: { route: Route }) {
  return (
    <dl class="dns">
      {route.dnsRecords.map((d) => (
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

  const load = useCallback(() => {
    setErr("");
    setPage(null);
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
      setPage((p) => p && { ...p, items: p.items.map((x) => (x.host === u.host ? u : x)) });
      setAnnounce(`${u.host} ${u.enabled ? "enabled" : "disabled"}.`);
    } catch (e) {
      setRowErr({ host: r.host, msg: errorMessage(e) });
    } finally {
      setBusyHost("");
    }
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
          <p>No routes yet. Add one to redirect a hostname to a URL.</p>
        </Notice>
      )}
      {page && page.items.length > 0 && shown.length === 0 && <p class="state">No route on this page matches “{q}”.</p>}
      {shown.length > 0 && (
        <ul class="cards" aria-label="Routes">
          {shown.map((r) => (
            <li key={r.host} class={`card${r.enabled ? "" : " off"}`}>
              <div class="route-main">
                <h2 class="host">{r.host}</h2>
                <p class="target">
                  <span aria-hidden="true">→ </span>
                  <span class="visually-hidden">redirects to </span>
                  <a href={r.target} rel="noreferrer noopener" target="_blank">
                    {r.target}
                  </a>
                </p>
                <p class="meta">
                  <span class="badge">{r.status}</span>
                  {r.keepPath && <span class="badge">keeps path</span>}
                  {r.keepQuery && <span class="badge">keeps query</span>}
                  {!r.enabled && <span class="badge muted">disabled</span>}
                  {r.paused && <span class="badge warn" title="Over your plan's route limit: upgrade to resume it">paused</span>}
                </p>
                <DNSRecords route={r} />
              </div>
              <div class="row-actions">
                <button type="button" class="secondary small" disabled={busyHost === r.host} onClick={() => toggle(r)} aria-label={`${r.enabled ? "Disable" : "Enable"} ${r.host}`}>
                  {r.enabled ? "Disable" : "Enable"}
                </button>
                <Link class="button secondary small" href={href({ name: "editRoute", orgId: org.id, host: r.host })} aria-label={`Edit ${r.host}`}>
                  Edit
                </Link>
                <button type="button" class="danger small" onClick={() => { setDelErr(""); setDeleting(r); }} aria-label={`Delete ${r.host}`}>
                  Delete
                </button>
              </div>
              {rowErr?.host === r.host && <ErrorBox message={rowErr.msg} />}
            </li>
          ))}
        </ul>
      )}
      {page && (pager.index > 0 || page.nextCursor) && (
        <nav class="pager" aria-label="Pages">
          <button type="button" class="secondary" disabled={pager.index === 0} onClick={() => setPager(prevPage(pager))}>
            Previous
          </button>
          <span>Page {pager.index + 1}</span>
          <button type="button" class="secondary" disabled={!page.nextCursor} onClick={() => setPager(nextPage(pager, page.nextCursor))}>
            Next
          </button>
        </nav>
      )}
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
