import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, errorMessage, type ImportAction, type ImportFormat, type ImportResult, type LineError, type Membership } from "../api";
import { useSession } from "../session";
import { actionLabels, detectFormat, filterLines, importActions, importChanges, importSummaryText, lineText, newIdempotencyKey, slicePage } from "../rules";
import { href } from "../router";
import { ErrorBox, Field, Link, Notice } from "../ui";

/** Lines of a preview shown at once: a 10,000-line file is paged, never drawn whole. */
const LINES_PER_PAGE = 100;

/** The largest file read into the page; the API bounds its bodies too. */
const MAX_FILE_BYTES = 8 << 20;

type Stage =
  | { kind: "edit" }
  | { kind: "preview"; result: ImportResult; key: string }
  | { kind: "refused"; errors: LineError[]; detail: string }
  | { kind: "applied"; result: ImportResult };

/**
 * ImportRoutes imports a Cloudflare Bulk Redirects CSV file (or the JSON of an
 * export): a dry run first, shown line by line, then the import itself, all or
 * nothing.
 */
export function ImportRoutes({ org }: { org: Membership }) {
  const { api } = useSession();
  const [text, setText] = useState("");
  const [fileName, setFileName] = useState("");
  const [format, setFormat] = useState<ImportFormat>("csv");
  const [stage, setStage] = useState<Stage>({ kind: "edit" });
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState("");
  const [inputErr, setInputErr] = useState("");
  const result = useRef<HTMLDivElement>(null);
  const backHref = href({ name: "routes", orgId: org.id });

  useEffect(() => {
    if (stage.kind !== "edit") result.current?.focus();
  }, [stage]);

  function changed(t: string, name = fileName) {
    setText(t);
    setFormat(detectFormat(name, t));
    setStage({ kind: "edit" });
    setInputErr("");
  }

  async function pick(e: Event) {
    const f = (e.currentTarget as HTMLInputElement).files?.[0];
    if (!f) return;
    if (f.size > MAX_FILE_BYTES) {
      setInputErr(`The file is larger than ${MAX_FILE_BYTES >> 20} MB: split it in parts.`);
      return;
    }
    setFileName(f.name);
    changed(await f.text(), f.name);
  }

  async function run(dryRun: boolean) {
    if (!text.trim()) {
      setInputErr("Choose a file, or paste its lines.");
      document.getElementById("import-text")?.focus();
      return;
    }
    setErr("");
    setBusy(true);
    const key = stage.kind === "preview" ? stage.key : newIdempotencyKey();
    try {
      const r = await api.importRoutes(org.id, { body: text, format, dryRun, idempotencyKey: dryRun ? undefined : key });
      setStage(dryRun ? { kind: "preview", result: r, key } : { kind: "applied", result: r });
    } catch (e) {
      if (e instanceof ApiError && e.errors.length) setStage({ kind: "refused", errors: e.errors, detail: e.detail });
      else setErr(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  if (stage.kind === "applied") {
    return (
      <section class="import">
        <h1>Import done</h1>
        <div ref={result} tabIndex={-1} class="focus-target">
          <Notice kind="success">
            <p>{importSummaryText(stage.result, false)}</p>
          </Notice>
        </div>
        <p class="actions">
          <Link class="button" href={backHref}>
            Back to routes
          </Link>
          <button type="button" class="secondary" onClick={() => changed("", "")}>
            Import another file
          </button>
        </p>
      </section>
    );
  }

  return (
    <section class="import">
      <p>
        <Link href={backHref}>← Routes</Link>
      </p>
      <h1>Import redirects</h1>
      <p>
        A Cloudflare Bulk Redirects CSV file as it is (no header row): <code>SOURCE_URL,TARGET_URL</code> and optionally{" "}
        <code>STATUS_CODE,PRESERVE_QUERY_STRING,INCLUDE_SUBDOMAINS,SUBPATH_MATCHING,PRESERVE_PATH_SUFFIX</code>; or the JSON of an export. Routes are
        created for hostnames that have none. Nothing is written until you apply the import, and then all of it or nothing.
      </p>
      <div class="field">
        <label for="import-file">File</label>
        <input id="import-file" type="file" accept=".csv,.txt,.json,text/csv,application/json" onChange={pick} />
      </div>
      <Field id="import-text" label="Or paste the lines" error={inputErr}>
        {(a) => (
          <textarea {...a} rows={8} spellcheck={false} autocapitalize="off" placeholder={"old.example.com/contact,https://new.example.com/contact-us,301\nold.example.com/blog,https://new.example.com/articles,301,true,false,true,true"} value={text} onInput={(e) => changed((e.currentTarget as HTMLTextAreaElement).value)} />
        )}
      </Field>
      <fieldset class="inline">
        <legend>Format</legend>
        {(["csv", "json"] as ImportFormat[]).map((f) => (
          <label key={f} class="radio">
            <input type="radio" name="import-format" value={f} checked={format === f} onChange={() => { setFormat(f); setStage({ kind: "edit" }); }} />
            {f === "csv" ? "CSV (Cloudflare Bulk Redirects)" : "JSON (an export)"}
          </label>
        ))}
      </fieldset>
      {err && <ErrorBox message={err} />}
      <div class="actions">
        <button type="button" class={stage.kind === "preview" ? "secondary" : undefined} disabled={busy} onClick={() => run(true)}>
          {busy && stage.kind !== "preview" ? "Checking…" : "Preview import"}
        </button>
      </div>
      {stage.kind === "refused" && (
        <div ref={result} tabIndex={-1} class="focus-target">
          <Refused errors={stage.errors} detail={stage.detail} text={format === "csv" ? text : ""} />
        </div>
      )}
      {stage.kind === "preview" && (
        <div ref={result} tabIndex={-1} class="focus-target">
          <Preview result={stage.result} text={format === "csv" ? text : ""} busy={busy} onApply={() => run(false)} />
        </div>
      )}
    </section>
  );
}

/** Refused lists every failing line: the import would write nothing. */
function Refused({ errors, detail, text }: { errors: LineError[]; detail: string; text: string }) {
  const [page, setPage] = useState(0);
  const shown = slicePage(errors, page, LINES_PER_PAGE);
  return (
    <div class="alert error" role="region" aria-labelledby="import-refused">
      <h2 id="import-refused">
        {errors.length === 1 ? "1 line needs fixing" : `${errors.length} lines need fixing`}: nothing would be imported
      </h2>
      <p>{detail}</p>
      <div class="table-scroll">
        <table class="rules import-lines" aria-label="Lines with errors">
          <thead>
            <tr>
              <th scope="col">Line</th>
              <th scope="col">Field</th>
              <th scope="col">Reason</th>
              {text && <th scope="col">Text</th>}
            </tr>
          </thead>
          <tbody>
            {shown.items.map((e, i) => (
              <tr key={`${e.line}-${e.field}-${i}`} class="line-error">
                <td data-label="Line">
                  <span class="line-no">{e.line}</span>
                </td>
                <td data-label="Field">{e.field || "—"}</td>
                <td data-label="Reason">{e.reason}</td>
                {text && (
                  <td data-label="Text">
                    <code>{lineText(text, e.line)}</code>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <LinePager page={shown.page} pages={shown.pages} onPage={setPage} label="Pages of errors" />
    </div>
  );
}

/** Preview shows what the import would do, line by line (refused lines first), and applies it. */
function Preview({ result, text, busy, onApply }: { result: ImportResult; text: string; busy: boolean; onApply: () => void }) {
  const refused = result.summary.error;
  const [action, setAction] = useState<ImportAction | "all">(refused ? "error" : "all");
  const [page, setPage] = useState(0);
  const lines = filterLines(result.lines, action);
  const shown = slicePage(lines, page, LINES_PER_PAGE);
  const changes = importChanges(result);
  return (
    <div class={`card preview${refused ? " refused" : ""}`} role="region" aria-labelledby="import-preview">
      <h2 id="import-preview">Preview</h2>
      <p>
        <strong>{importSummaryText(result, true)}</strong>
      </p>
      {refused > 0 && (
        <p class="field-error">
          {refused === 1 ? "1 line is refused" : `${refused} lines are refused`}: fix {refused === 1 ? "it" : "them"} and preview again. An import is all or nothing.
        </p>
      )}
      <div class="toolbar">
        <label for="import-show">Show</label>
        <select id="import-show" value={action} onChange={(e) => { setAction((e.currentTarget as HTMLSelectElement).value as ImportAction | "all"); setPage(0); }}>
          <option value="all">Every line ({result.lines.length})</option>
          {importActions.map((a) => (
            <option value={a} key={a}>
              {actionLabels[a]} ({result.summary[a]})
            </option>
          ))}
        </select>
      </div>
      {shown.items.length > 0 && (
        <div class="table-scroll">
          <table class="rules import-lines" aria-label="What each line does">
            <thead>
              <tr>
                <th scope="col">Line</th>
                <th scope="col">Action</th>
                <th scope="col">Hostnames</th>
                {refused > 0 && <th scope="col">Why</th>}
              </tr>
            </thead>
            <tbody>
              {shown.items.map((l, i) => (
                <tr key={`${l.line}-${i}`} class={l.action === "error" ? "line-error" : `action-${l.action}`}>
                  <td data-label="Line">{l.action === "error" ? <span class="line-no">{l.line}</span> : l.line}</td>
                  <td data-label="Action">
                    <span class={`badge action ${l.action}`}>{actionLabels[l.action] ?? l.action}</span>
                  </td>
                  <td data-label="Hosts">{l.hosts.join(", ")}</td>
                  {refused > 0 && (
                    <td data-label="Why">
                      {l.action === "error" && (
                        <>
                          {l.field && <code>{l.field}</code>} {l.reason}
                          {text && l.line > 0 && (
                            <>
                              <br />
                              <code class="line-text">{lineText(text, l.line)}</code>
                            </>
                          )}
                        </>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <LinePager page={shown.page} pages={shown.pages} onPage={setPage} label="Pages of lines" />
      <div class="actions">
        <button type="button" disabled={busy || !changes || refused > 0} onClick={onApply}>
          {busy ? "Importing…" : "Apply import"}
        </button>
        {!changes && !refused && <p class="hint">Everything in the file is already so: there is nothing to import.</p>}
      </div>
    </div>
  );
}

function LinePager({ page, pages, onPage, label }: { page: number; pages: number; onPage: (p: number) => void; label: string }) {
  if (pages <= 1) return null;
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" class="secondary" disabled={page === 0} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span>
        Page {page + 1} of {pages}
      </span>
      <button type="button" class="secondary" disabled={page >= pages - 1} onClick={() => onPage(page + 1)}>
        Next
      </button>
    </nav>
  );
}
