import { useCallback, useEffect, useState } from "preact/hooks";
import { errorMessage, type Page, type Rule } from "../api";
import { useSession } from "../session";
import { firstPage, type Pager } from "../logic";
import { ariaSort, defaultRuleSort, nextSort, ruleOptions, sortRules, type RuleSort, type RuleSortKey } from "../rules";
import { Confirm, CursorPager, ErrorBox, Loading, Notice } from "../ui";
import { RuleEditor } from "./RuleForm";

/** A page of rules: a route may hold 10,000, and the table shows one page at a time. */
const PAGE_SIZE = 100;

/** How long typing pauses before the search asks the API. */
const SEARCH_DELAY_MS = 300;

/**
 * RulesTable lists a route's rules a page at a time, searched by the API (q)
 * and sorted within the page, and adds, edits and deletes them. highlight is
 * the id of a rule to mark (the one a tried URL matched).
 */
export function RulesTable(p: { orgId: string; host: string; addSource?: string; highlight?: string; onCount: (delta: number) => void }) {
  const { api } = useSession();
  const [input, setInput] = useState("");
  const [q, setQ] = useState("");
  const [pager, setPager] = useState<Pager>(firstPage);
  const [page, setPage] = useState<Page<Rule> | null>(null);
  const [err, setErr] = useState("");
  const [sort, setSort] = useState<RuleSort>(defaultRuleSort);
  // addSource opens the editor at once, for a new rule of that source.
  const [editing, setEditing] = useState<Rule | "new" | null>(p.addSource ? "new" : null);
  const [prefill, setPrefill] = useState(p.addSource);
  // Once that editor closes, "Add rule" starts empty again.
  const closeEditor = () => {
    setEditing(null);
    setPrefill(undefined);
  };
  const [deleting, setDeleting] = useState<Rule | null>(null);
  const [delBusy, setDelBusy] = useState(false);
  const [delErr, setDelErr] = useState("");
  const [announce, setAnnounce] = useState("");

  useEffect(() => {
    const t = setTimeout(() => {
      setQ(input.trim());
      setPager(firstPage);
    }, SEARCH_DELAY_MS);
    return () => clearTimeout(t);
  }, [input]);

  const load = useCallback(() => {
    setErr("");
    setPage(null);
    let live = true;
    api
      .rules(p.orgId, p.host, { limit: PAGE_SIZE, cursor: pager.cursors[pager.index], q: q || undefined })
      .then((pg) => live && setPage(pg))
      .catch((e) => live && setErr(errorMessage(e)));
    return () => {
      live = false;
    };
  }, [api, p.orgId, p.host, pager, q]);
  useEffect(load, [load]);

  function saved(r: Rule, added: boolean, oldId?: string) {
    closeEditor();
    setAnnounce(added ? `Rule for ${r.source} added.` : `Rule for ${r.source} saved.`);
    if (added) p.onCount(1);
    setPage((pg) => {
      if (!pg) return pg;
      const rest = pg.items.filter((x) => x.id !== r.id);
      return { ...pg, items: added ? [r, ...rest] : pg.items.map((x) => (x.id === oldId ? r : x)) };
    });
  }

  async function confirmDelete() {
    if (!deleting) return;
    setDelBusy(true);
    setDelErr("");
    try {
      await api.deleteRule(p.orgId, p.host, deleting.id);
      setAnnounce(`Rule for ${deleting.source} deleted.`);
      setPage((pg) => pg && { ...pg, items: pg.items.filter((x) => x.id !== deleting.id) });
      p.onCount(-1);
      setDeleting(null);
    } catch (e) {
      setDelErr(errorMessage(e));
    } finally {
      setDelBusy(false);
    }
  }

  const rows = page ? sortRules(page.items, sort) : [];
  return (
    <section aria-labelledby="rules-title" class="rules-section">
      <div class="heading">
        <h2 id="rules-title">Path rules</h2>
        <button type="button" onClick={() => setEditing("new")} disabled={editing === "new"}>
          Add rule
        </button>
      </div>
      <p class="visually-hidden" role="status" aria-live="polite">
        {announce}
      </p>
      {editing && (
        <RuleEditor
          key={editing === "new" ? "new" : editing.id}
          orgId={p.orgId}
          host={p.host}
          rule={editing === "new" ? undefined : editing}
          source={editing === "new" ? prefill : undefined}
          onSaved={saved}
          onCancel={closeEditor}
        />
      )}
      <div class="toolbar">
        <label for="rule-search">Search</label>
        <input id="rule-search" type="search" placeholder="Source or target" aria-describedby="rule-search-hint" value={input} onInput={(e) => setInput((e.currentTarget as HTMLInputElement).value)} />
      </div>
      <p class="hint" id="rule-search-hint">
        Finds rules whose source or target contains the text. Sorting a column orders the page shown.
      </p>
      {err && <ErrorBox message={err} retry={load} />}
      {!err && !page && <Loading what="rules" />}
      {page && page.items.length === 0 && pager.index === 0 && (
        <Notice>
          <p>{q ? `No rule matches “${q}”.` : "No path rules yet: add one, or import a CSV file."}</p>
        </Notice>
      )}
      {rows.length > 0 && (
        <div class="table-scroll">
          <table class="rules" aria-label={`Path rules of ${p.host}`}>
            <thead>
              <tr>
                <SortHeader label="Source" k="source" sort={sort} onSort={setSort} />
                <SortHeader label="Target" k="target" sort={sort} onSort={setSort} />
                <SortHeader label="Status" k="status" sort={sort} onSort={setSort} />
                <th scope="col">Options</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <RuleRow key={r.id} rule={r} matched={r.id === p.highlight} onEdit={() => setEditing(r)} onDelete={() => { setDelErr(""); setDeleting(r); }} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page && <CursorPager pager={pager} nextCursor={page.nextCursor} onPage={setPager} label="Pages of rules" />}
      {deleting && (
        <Confirm title={`Delete the rule for ${deleting.source}?`} confirmLabel="Delete rule" busy={delBusy} error={delErr} onConfirm={confirmDelete} onCancel={() => setDeleting(null)}>
          <p>
            Requests for <code>{deleting.source}</code> will no longer go to <code>{deleting.target}</code>.
          </p>
        </Confirm>
      )}
    </section>
  );
}

/** SortHeader is a column header whose button sorts by it; aria-sort tells the order. */
function SortHeader(p: { label: string; k: RuleSortKey; sort: RuleSort; onSort: (s: RuleSort) => void }) {
  const a = ariaSort(p.sort, p.k);
  return (
    <th scope="col" aria-sort={a}>
      <button type="button" class="sort" onClick={() => p.onSort(nextSort(p.sort, p.k))}>
        {p.label}
        <span aria-hidden="true" class="sort-mark">
          {a === "ascending" ? "▲" : a === "descending" ? "▼" : "↕"}
        </span>
      </button>
    </th>
  );
}

function RuleRow(p: { rule: Rule; matched: boolean; onEdit: () => void; onDelete: () => void }) {
  const r = p.rule;
  const opts = ruleOptions(r);
  return (
    <tr class={p.matched ? "matched" : undefined} aria-current={p.matched ? "true" : undefined}>
      <td data-label="Source">
        <code>{r.source}</code>
        {p.matched && <span class="badge ok">matched</span>}
      </td>
      <td data-label="Target">
        <code>{r.target}</code>
      </td>
      <td data-label="Status">{r.status}</td>
      <td data-label="Options">{opts.length ? opts.join("; ") : "exact path"}</td>
      <td data-label="">
        <div class="cell">
          <button type="button" class="secondary small" onClick={p.onEdit} aria-label={`Edit the rule for ${r.source}`}>
            Edit
          </button>
          <button type="button" class="danger small" onClick={p.onDelete} aria-label={`Delete the rule for ${r.source}`}>
            Delete
          </button>
        </div>
      </td>
    </tr>
  );
}
