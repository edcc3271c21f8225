import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, errorMessage, type RedirectStatus, type Rule } from "../api";
import { useSession } from "../session";
import { statusLabels } from "../logic";
import { emptyRuleForm, ruleFields, ruleFormOf, ruleInputOf, rulePatchOf, validateRuleForm, type RuleForm } from "../rules";
import { Check, ErrorBox, Field } from "../ui";

const statuses: RedirectStatus[] = [301, 302, 307, 308];

/** StatusSelect picks a redirect status. */
export function StatusSelect(p: { id: string; label: string; value: RedirectStatus; error?: string; onChange: (s: RedirectStatus) => void }) {
  return (
    <Field id={p.id} label={p.label} error={p.error}>
      {(a) => (
        <select {...a} value={String(p.value)} onChange={(e) => p.onChange(Number((e.currentTarget as HTMLSelectElement).value) as RedirectStatus)}>
          {statuses.map((s) => (
            <option value={String(s)} key={s}>
              {statusLabels[s]}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/**
 * RuleFields are the inputs of one rule. Each input's id is idPrefix + the
 * field's name, and errs is keyed by errPrefix + the name, as the API names a
 * route's rules ("rules[0].source") or a rule's own fields ("source").
 */
export function RuleFields(p: {
  idPrefix: string;
  errPrefix?: string;
  form: RuleForm;
  errs: Record<string, string>;
  onChange: (f: RuleForm) => void;
}) {
  const { form: f, idPrefix: id } = p;
  const err = (k: string) => p.errs[(p.errPrefix ?? "") + k];
  const set = <K extends keyof RuleForm>(k: K, v: RuleForm[K]) => p.onChange({ ...f, [k]: v });
  return (
    <>
      <Field
        id={id + "source"}
        label="Source path"
        error={err("source")}
        hint={<>The path on this hostname, as <code>/contact</code> or <code>/blog</code>.</>}
      >
        {(a) => (
          <input {...a} type="text" inputMode="url" autocapitalize="off" spellcheck={false} maxLength={2048} placeholder="/contact" value={f.source} onInput={(e) => set("source", (e.currentTarget as HTMLInputElement).value)} />
        )}
      </Field>
      <Field id={id + "target"} label="Redirect to" error={err("target")} hint="An absolute http(s) URL.">
        {(a) => (
          <input {...a} type="url" autocapitalize="off" spellcheck={false} maxLength={2048} placeholder="https://example.com/contact-us" value={f.target} onInput={(e) => set("target", (e.currentTarget as HTMLInputElement).value)} />
        )}
      </Field>
      <StatusSelect id={id + "status"} label="Status" value={f.status} error={err("status")} onChange={(s) => set("status", s)} />
      <fieldset>
        <legend>Matching</legend>
        <Check id={id + "subpath"} label="Also match every path below it" hint="/docs then matches /docs/a too, never /docsxyz." checked={f.subpath} error={err("subpath")} onChange={(v) => set("subpath", v)} />
        <Check id={id + "keepSuffix"} label="Add the rest of the path to the target" hint="/docs/a then goes to the target followed by /a." disabled={!f.subpath} checked={f.subpath && f.keepSuffix} error={err("keepSuffix")} onChange={(v) => set("keepSuffix", v)} />
        <Check id={id + "keepQuery"} label="Keep the query string (?x=1)" checked={f.keepQuery} error={err("keepQuery")} onChange={(v) => set("keepQuery", v)} />
      </fieldset>
    </>
  );
}

/**
 * RuleEditor adds a rule to a route (no rule given; source fills in its source
 * path) or edits one, with the API's messages by field.
 */
export function RuleEditor(p: { orgId: string; host: string; rule?: Rule; source?: string; onSaved: (r: Rule, added: boolean, oldId?: string) => void; onCancel: () => void }) {
  const { api } = useSession();
  const isNew = !p.rule;
  const [form, setForm] = useState<RuleForm>(p.rule ? ruleFormOf(p.rule) : { ...emptyRuleForm, source: p.source ?? "" });
  const [errs, setErrs] = useState<Record<string, string>>({});
  const [err, setErr] = useState("");
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [p.rule?.id]);

  const focusField = (k: string | undefined) => k && document.getElementById("rule-" + k)?.focus();

  async function submit(e: Event) {
    e.preventDefault();
    setErr("");
    const local = validateRuleForm(form);
    setErrs(local);
    if (Object.keys(local).length) return focusField(Object.keys(local)[0]);
    setBusy(true);
    try {
      if (isNew) p.onSaved(await api.createRule(p.orgId, p.host, ruleInputOf(form)), true);
      else {
        const patch = rulePatchOf(p.rule!, form);
        p.onSaved(Object.keys(patch).length ? await api.updateRule(p.orgId, p.host, p.rule!.id, patch) : p.rule!, false, p.rule!.id);
      }
    } catch (e) {
      if (e instanceof ApiError && e.code === "rule_exists") {
        setErrs({ source: e.detail });
        focusField("source");
      } else if (e instanceof ApiError && Object.keys(e.fields).length) {
        setErrs(e.fields);
        const known = Object.keys(e.fields).filter((f) => ruleFields.includes(f));
        if (known.length < Object.keys(e.fields).length) setErr(e.detail);
        focusField(known[0]);
      } else setErr(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="card rule-editor" onSubmit={submit} noValidate aria-labelledby="rule-editor-title">
      <h2 id="rule-editor-title" tabIndex={-1} ref={heading}>
        {isNew ? "Add a rule" : <>Edit the rule for <code>{p.rule!.source}</code></>}
      </h2>
      <RuleFields idPrefix="rule-" form={form} errs={errs} onChange={setForm} />
      {err && <ErrorBox message={err} />}
      <div class="actions">
        <button type="submit" disabled={busy}>
          {busy ? "Saving…" : isNew ? "Add rule" : "Save rule"}
        </button>
        <button type="button" class="secondary" onClick={p.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
