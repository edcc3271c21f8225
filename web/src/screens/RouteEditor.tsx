import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, errorMessage, type Membership, type RedirectStatus, type Route } from "../api";
import { useSession } from "../App";
import { addRoute, emptyRouteForm, formOf, routeFields, routeInputOf, routePatchOf, statusLabels, validateRouteForm, type AddOutcome, type RouteForm } from "../logic";
import { href } from "../router";
import { ErrorBox, Field, Link, Loading, Notice } from "../ui";
import { DomainBadge, DomainNotes, OwnershipRecord, RecordsTable } from "./Routes";

type ClaimState = Extract<AddOutcome, { kind: "claimable" | "not_proven" }>;

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
  const [claim, setClaim] = useState<ClaimState | null>(null);
  const [claimBusy, setClaimBusy] = useState(false);

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

  const set = <K extends keyof RouteForm>(k: K, v: RouteForm[K]) => {
    setForm((f) => ({ ...f, [k]: v }));
    // The ownership record belongs to the hostname it was given for.
    if (k === "host") setClaim(null);
  };

  /** added handles what adding (or claiming) came to. */
  function added(o: AddOutcome) {
    if (o.kind === "created") {
      setClaim(null);
      setSaved(o.route);
      setBefore(o.route);
    } else if (o.kind === "taken") {
      setClaim(null);
      setErrs({ host: o.detail });
      document.getElementById("route-host")?.focus();
    } else setClaim(o);
  }

  async function claimHost() {
    setErr("");
    setClaimBusy(true);
    try {
      added(await addRoute(api, org.id, routeInputOf(form), true));
    } catch (e) {
      setErr(errorMessage(e));
    } finally {
      setClaimBusy(false);
    }
  }

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
    setClaim(null);
    try {
      if (isNew) added(await addRoute(api, org.id, routeInputOf(form)));
      else {
        const patch = routePatchOf(before!, form);
        const r = Object.keys(patch).length ? await api.updateRoute(org.id, before!.host, patch) : before!;
        setSaved(r);
        setBefore(r);
      }
    } catch (e) {
      if (e instanceof ApiError && Object.keys(e.fields).length) {
        setErrs(e.fields);
        const known = Object.keys(e.fields).filter((f) => routeFields.includes(f));
        if (known.length < Object.keys(e.fields).length) setErr(e.detail);
        document.getElementById(`route-${known[0]}`)?.focus();
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
        <p class="meta">
          <DomainBadge domain={saved.domain} />
        </p>
        <DomainNotes domain={saved.domain} />
        <h2>DNS records to create</h2>
        <p>At your DNS provider, point the host at {saved.cnameTarget || cfg.cnameTarget} with these records, in this order:</p>
        <RecordsTable records={saved.dnsRecords ?? []} idPrefix={`rec-${saved.host}`} label={`DNS records for ${saved.host}`} />
        <OwnershipRecord route={saved} heading="h2" />
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
        <fieldset>
          <legend>HTTPS</legend>
          <Check id="route-httpsRedirect" label="Redirect HTTP to HTTPS" hint="Once the domain is active, http:// requests are sent to https:// first." checked={form.httpsRedirect} error={errs.httpsRedirect} onChange={(v) => set("httpsRedirect", v)} />
          <Check id="route-hsts" label="HSTS" hint="HTTPS answers carry Strict-Transport-Security: browsers then use only HTTPS for this host." checked={form.hsts} error={errs.hsts} onChange={(v) => set("hsts", v)} />
        </fieldset>
        {claim && <ClaimPanel host={form.host.trim()} claim={claim} busy={claimBusy} onClaim={claimHost} />}
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

/** ClaimPanel: another account holds the hostname unverified; an ownership TXT record lets this org take it. */
function ClaimPanel({ host, claim, busy, onClaim }: { host: string; claim: ClaimState; busy: boolean; onClaim: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => ref.current?.focus(), [claim]);
  return (
    <div class={`alert ${claim.kind === "not_proven" ? "error" : "warning"} claim`} role="region" aria-labelledby="claim-title" tabIndex={-1} ref={ref}>
      <h2 id="claim-title">{claim.kind === "not_proven" ? "Ownership not proven yet" : "This hostname is held by another account"}</h2>
      <p>{claim.detail}</p>
      <p>
        If <code>{host}</code> is yours, create this TXT record at your DNS provider, wait for it to be published, then claim the hostname.
      </p>
      {claim.record && <RecordsTable records={[claim.record]} idPrefix="claim" label={`Ownership record for ${host}`} />}
      <button type="button" disabled={busy} onClick={onClaim}>
        {busy ? "Claiming…" : claim.kind === "not_proven" ? "Claim again" : "Claim"}
      </button>
    </div>
  );
}

function Check(p: { id: string; label: string; hint?: string; checked: boolean; error?: string; onChange: (v: boolean) => void }) {
  const described = [p.hint ? `${p.id}-hint` : "", p.error ? `${p.id}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class={`check${p.error ? " invalid" : ""}`}>
      <input id={p.id} type="checkbox" checked={p.checked} aria-invalid={p.error ? true : undefined} aria-describedby={described} onChange={(e) => p.onChange((e.currentTarget as HTMLInputElement).checked)} />
      <label for={p.id}>{p.label}</label>
      {p.hint && (
        <p class="hint" id={`${p.id}-hint`}>
          {p.hint}
        </p>
      )}
      {p.error && (
        <p class="field-error" id={`${p.id}-error`}>
          {p.error}
        </p>
      )}
    </div>
  );
}
