import { useEffect, useState } from "preact/hooks";
import { ApiError, errorMessage, type Membership, type RedirectStatus, type Route } from "../api";
import { useSession } from "../App";
import { emptyRouteForm, formOf, routeInputOf, routePatchOf, statusLabels, validateRouteForm, type RouteForm } from "../logic";
import { href } from "../router";
import { ErrorBox, Field, Link, Loading, Notice } from "../ui";
import { DNSRecords } from "./Routes";

/** RouteEditor adds a route (no host given) or edits one. */
export function RouteEditor({ org, host }: { org: Membership; host?: string }) {
  const { api, cfg } = useSession();
  const isNew = host === undefined;
  const [before, setBefore] = useState<Route | null>(null);
  const [form, setForm] = useState<RouteForm>(emptyRouteForm);
  const [loadErr, setLoadErr] = useState("");
  const [errs, setErrs] = useState<Record<string, string>>({});
  const [err, setErr] = useState("");
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<Route | null>(null);

  const load = () => {
    if (isNew) return;
    setLoadErr("");
    api
      .route(org.id, host)
      .then((r) => {
        setBefore(r);
        setForm(formOf(r));
      })
      .catch((e) => setLoadErr(errorMessage(e)));
  };
  useEffect(load, [org.id, host]);

  const set = <K extends keyof RouteForm>(k: K, v: RouteForm[K]) => setForm((f) => ({ ...f, [k]: v }));

  async function submit(e: Event) {
    e.preventDefault();
    setErr("");
    const local = validateRouteForm(form, isNew);
    setErrs(local);
    if (Object.keys(local).length) {
      document.getElementById(`route-${Object.keys(local)[0]}`)?.focus();
      return;
    }
    setBusy(true);
    try {
      let r: Route;
      if (isNew) r = await api.createRoute(org.id, routeInputOf(form));
      else {
        const patch = routePatchOf(before!, form);
        r = Object.keys(patch).length ? await api.updateRoute(org.id, before!.host, patch) : before!;
      }
      setSaved(r);
      setBefore(r);
    } catch (e) {
      if (e instanceof ApiError && Object.keys(e.fields).length) {
        setErrs(e.fields);
        const known = Object.keys(e.fields).filter((f) => ["host", "target", "status", "keepPath", "keepQuery", "enabled"].includes(f));
        if (known.length < Object.keys(e.fields).length) setErr(e.detail);
        document.getElementById(`route-${known[0]}`)?.focus();
      } else if (e instanceof ApiError && e.code === "host_taken") {
        setErrs({ host: e.detail });
      } else setErr(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  if (loadErr) return <ErrorBox message={loadErr} retry={load} />;
  if (!isNew && !before) return <Loading what="the route" />;

  if (saved) {
    return (
      <section class="narrow">
        <h1>{isNew ? "Route added" : "Route saved"}</h1>
        <Notice kind="success">
          <p>
            <code>{saved.host}</code> redirects to <code>{saved.target}</code> with {saved.status}.
          </p>
        </Notice>
        <h2>DNS record to create</h2>
        <p>At your DNS provider, point the host at {saved.cnameTarget || cfg.cnameTarget} with this record:</p>
        <DNSRecords route={saved} />
        <p class="actions">
          <Link class="button" href={href({ name: "routes", orgId: org.id })}>
            Back to routes
          </Link>
          {isNew && (
            <button type="button" class="secondary" onClick={() => { setSaved(null); setForm(emptyRouteForm); }}>
              Add another
            </button>
          )}
        </p>
      </section>
    );
  }

  return (
    <section class="narrow">
      <p>
        <Link href={href({ name: "routes", orgId: org.id })}>← Routes</Link>
      </p>
      <h1>{isNew ? "Add a route" : `Edit ${host}`}</h1>
      <form onSubmit={submit} noValidate>
        <Field id="route-host" label="Hostname" error={errs.host} hint={isNew ? <>As <code>www.example.com</code>, or <code>*.example.com</code> for every name below it.</> : "The hostname cannot change: delete the route and add another."}>
          {(a) => (
            <input {...a} type="text" inputMode="url" autocapitalize="off" spellcheck={false} maxLength={253} required disabled={!isNew} value={form.host} onInput={(e) => set("host", (e.currentTarget as HTMLInputElement).value)} />
          )}
        </Field>
        <Field id="route-target" label="Target URL" error={errs.target} hint="Where requests are redirected: an absolute http(s) URL.">
          {(a) => (
            <input {...a} type="url" autocapitalize="off" spellcheck={false} maxLength={2048} required placeholder="https://example.com/" value={form.target} onInput={(e) => set("target", (e.currentTarget as HTMLInputElement).value)} />
          )}
        </Field>
        <Field id="route-status" label="Redirect status" error={errs.status}>
          {(a) => (
            <select {...a} value={String(form.status)} onChange={(e) => set("status", Number((e.currentTarget as HTMLSelectElement).value) as RedirectStatus)}>
              {([301, 302, 307, 308] as RedirectStatus[]).map((s) => (
                <option value={String(s)} key={s}>
                  {statusLabels[s]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <fieldset>
          <legend>Options</legend>
          <Check id="route-keepPath" label="Keep the path (/a/b is added to the target)" checked={form.keepPath} error={errs.keepPath} onChange={(v) => set("keepPath", v)} />
          <Check id="route-keepQuery" label="Keep the query string (?x=1)" checked={form.keepQuery} error={errs.keepQuery} onChange={(v) => set("keepQuery", v)} />
          <Check id="route-enabled" label="Enabled" checked={form.enabled} error={errs.enabled} onChange={(v) => set("enabled", v)} />
        </fieldset>
        {err && <ErrorBox message={err} />}
        <div class="actions">
          <button type="submit" disabled={busy}>
            {busy ? "Saving…" : isNew ? "Add route" : "Save"}
          </button>
          <Link class="button secondary" href={href({ name: "routes", orgId: org.id })}>
            Cancel
          </Link>
        </div>
      </form>
    </section>
  );
}

function Check(p: { id: string; label: string; checked: boolean; error?: string; onChange: (v: boolean) => void }) {
  return (
    <div class={`check${p.error ? " invalid" : ""}`}>
      <input id={p.id} type="checkbox" checked={p.checked} aria-invalid={p.error ? true : undefined} aria-describedby={p.error ? `${p.id}-error` : undefined} onChange={(e) => p.onChange((e.currentTarget as HTMLInputElement).checked)} />
      <label for={p.id}>{p.label}</label>
      {p.error && (
        <p class="field-error" id={`${p.id}-error`}>
          {p.error}
        </p>
      )}
    </div>
  );
}
