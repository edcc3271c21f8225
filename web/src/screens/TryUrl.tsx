import { useState } from "preact/hooks";
import { errorMessage, type TryResult } from "../api";
import { useSession } from "../session";
import { ruleOptions, tryAnswerText, tryUrlOf } from "../rules";
import { ErrorBox, Field } from "../ui";

/**
 * TryUrl asks the API how the route answers a pasted URL: the rule that
 * matches and the Location it gets, or the fallback. onAnswer passes the
 * matched rule's id on, for the table to mark it.
 */
export function TryUrl(p: { orgId: string; host: string; onAnswer: (ruleId: string | undefined) => void }) {
  const { api } = useSession();
  const [input, setInput] = useState("");
  const [inputErr, setInputErr] = useState("");
  const [err, setErr] = useState("");
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<{ url: string; result: TryResult } | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    setErr("");
    const u = tryUrlOf(p.host, input);
    if ("error" in u) {
      setInputErr(u.error);
      document.getElementById("try-url")?.focus();
      return;
    }
    setInputErr("");
    setBusy(true);
    try {
      const result = await api.tryUrl(p.orgId, p.host, u.url);
      setAnswer({ url: u.url, result });
      p.onAnswer(result.rule?.id);
    } catch (e) {
      setAnswer(null);
      p.onAnswer(undefined);
      setErr(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card try" aria-labelledby="try-title">
      <h2 id="try-title">Try a URL</h2>
      <form onSubmit={submit} noValidate class="try-form">
        <Field id="try-url" label="URL or path" error={inputErr} hint="Paste a link to this hostname, or type a path: nothing is changed.">
          {(a) => (
            <input {...a} type="text" inputMode="url" autocapitalize="off" spellcheck={false} maxLength={4096} placeholder={`https://${p.host.replace(/^\*\./, "www.")}/contact`} value={input} onInput={(e) => setInput((e.currentTarget as HTMLInputElement).value)} />
          )}
        </Field>
        <button type="submit" disabled={busy}>
          {busy ? "Trying…" : "Try"}
        </button>
      </form>
      {err && <ErrorBox message={err} />}
      <div aria-live="polite">{answer && <TryAnswer url={answer.url} r={answer.result} />}</div>
    </section>
  );
}

function TryAnswer({ url, r }: { url: string; r: TryResult }) {
  const kind = r.kind === "redirect" ? (r.fallback ? "warning" : "success") : "warning";
  return (
    <div class={`alert ${kind} try-answer`} data-testid="try-answer">
      <p>
        <strong>{tryAnswerText(r)}</strong>
      </p>
      <dl class="facts">
        <div>
          <dt>URL</dt>
          <dd>
            <code>{url}</code>
          </dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>{r.status}</dd>
        </div>
        {r.location && (
          <div>
            <dt>Location</dt>
            <dd>
              <code>{r.location}</code>
            </dd>
          </div>
        )}
        {r.rule && (
          <div>
            <dt>Rule</dt>
            <dd>
              <code>{r.rule.source}</code> → <code>{r.rule.target}</code>
              {ruleOptions(r.rule).length > 0 && ` (${ruleOptions(r.rule).join("; ")})`}
            </dd>
          </div>
        )}
      </dl>
    </div>
  );
}
