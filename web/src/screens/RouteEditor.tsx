import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, errorMessage, type FallbackKind, type Membership, type Route } from "../api";
import { useSession } from "../session";
import { addRoute, emptyRouteForm, formOf, routeFields, routeInputOf, routePatchOf, usesFallback, validateRouteForm, type AddOutcome, type RouteForm, type RouteMode } from "../logic";
import { fallbackLabels } from "../rules";
import { href } from "../router";
import { Check, ErrorBox, Field, Link, Loading, Notice } from "../ui";
import { DomainBadge, DomainNotes, EdgeBadge, OwnershipRecord, RecordsTable } from "./Routes";
import { RuleFields, StatusSelect } from "./RuleForm";

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
    const local = validateRouteForm(form, isNew, (before?.ruleCount ?? 0) > 0);
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
            {saved.target ? (
              <>
                <code>{saved.host}</code> redirects to <code>{saved.target}</code> with {saved.status}.
              </>
            ) : (
              <>
                <code>{saved.host}</code> redirects by its path rules ({saved.ruleCount ?? 0}).
              </>
            )}
          </p>
        </Notice>
        <p class="meta">
          <DomainBadge domain={saved.domain} /> <EdgeBadge edge={saved.edge} />
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
          <Link class="button secondary" href={href({ name: "route", orgId: org.id, host: saved.host })}>
            Path rules
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
        {isNew && (
          <fieldset>
            <legend>What it does</legend>
            {([["target", "Redirects the whole hostname to one URL"], ["rules", "Redirects by path: starts with one rule, more added or imported later"]] as [RouteMode, string][]).map(([m, label]) => (
              <div class="check" key={m}>
                <input id={`route-mode-${m}`} type="radio" name="route-mode" checked={form.mode === m} onChange={() => set("mode", m)} />
                <label for={`route-mode-${m}`}>{label}</label>
              </div>
            ))}
          </fieldset>
        )}
        {isNew && form.mode === "rules" ? (
          <fieldset>
            <legend>First rule</legend>
            <RuleFields idPrefix="route-rules[0]." errPrefix="rules[0]." form={form.rule} errs={errs} onChange={(r) => set("rule", r)} />
          </fieldset>
        ) : (
          <TargetFields form={form} errs={errs} optional={!isNew && (before?.ruleCount ?? 0) > 0} set={set} />
        )}
        <fieldset>
          <legend>Path matching</legend>
          <Check id="route-pathOptions.ignoreCase" label="Ignore case" hint="/About matches a rule for /about." checked={form.ignoreCase} error={errs["pathOptions.ignoreCase"]} onChange={(v) => set("ignoreCase", v)} />
          <Check id="route-pathOptions.ignoreTrailingSlash" label="Ignore a trailing slash" hint="/about/ matches a rule for /about, and the other way round." checked={form.ignoreTrailingSlash} error={errs["pathOptions.ignoreTrailingSlash"]} onChange={(v) => set("ignoreTrailingSlash", v)} />
        </fieldset>
        {usesFallback(form, isNew) ? (
          <FallbackFields form={form} errs={errs} set={set} />
        ) : (
          <p class="hint">Paths no rule matches go to the target URL.</p>
        )}
        <fieldset>
          <legend>State</legend>
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

type Setter = <K extends keyof RouteForm>(k: K, v: RouteForm[K]) => void;

/** TargetFields: the whole-host target, optional for a route that has rules. */
function TargetFields({ form, errs, optional, set }: { form: RouteForm; errs: Record<string, string>; optional: boolean; set: Setter }) {
  const hint = optional ? "Where the paths no rule matches go. Leave it empty for the rules alone (and a fallback)." : "Where requests are redirected: an absolute http(s) URL.";
  return (
    <>
      <Field id="route-target" label={optional ? "Target URL (optional)" : "Target URL"} error={errs.target} hint={hint}>
        {(a) => (
          <input {...a} type="url" autocapitalize="off" spellcheck={false} maxLength={2048} required={!optional} placeholder="https://example.com/" value={form.target} onInput={(e) => set("target", (e.currentTarget as HTMLInputElement).value)} />
        )}
      </Field>
      {(!optional || form.target.trim()) && (
        <>
          <StatusSelect id="route-status" label="Redirect status" value={form.status} error={errs.status} onChange={(v) => set("status", v)} />
          <fieldset>
            <legend>Options</legend>
            <Check id="route-keepPath" label="Keep the path (/a/b is added to the target)" checked={form.keepPath} error={errs.keepPath} onChange={(v) => set("keepPath", v)} />
            <Check id="route-keepQuery" label="Keep the query string (?x=1)" checked={form.keepQuery} error={errs.keepQuery} onChange={(v) => set("keepQuery", v)} />
          </fieldset>
        </>
      )}
    </>
  );
}

const fallbackKinds: FallbackKind[] = ["not_configured", "gone", "redirect"];

/** FallbackFields: what a route without a target answers when no rule matches. */
function FallbackFields({ form, errs, set }: { form: RouteForm; errs: Record<string, string>; set: Setter }) {
  return (
    <fieldset aria-describedby="route-fallback-hint">
      <legend>When no rule matches</legend>
      <p class="hint" id="route-fallback-hint">
        Requests that reach the fallback are lost traffic: add rules for the paths that matter.
      </p>
      {fallbackKinds.map((k, i) => (
        <div class="check" key={k}>
          <input id={i === 0 ? "route-fallback.kind" : `route-fallback-${k}`} type="radio" name="route-fallback" checked={form.fallbackKind === k} onChange={() => set("fallbackKind", k)} />
          <label for={i === 0 ? "route-fallback.kind" : `route-fallback-${k}`}>{fallbackLabels[k]}</label>
        </div>
      ))}
      {errs["fallback.kind"] && <p class="field-error">{errs["fallback.kind"]}</p>}
      {form.fallbackKind === "redirect" && (
        <>
          <Field id="route-fallback.target" label="Fallback URL" error={errs["fallback.target"]} hint="An absolute http(s) URL, as the new site's home page.">
            {(a) => (
              <input {...a} type="url" autocapitalize="off" spellcheck={false} maxLength={2048} placeholder="https://example.com/" value={form.fallbackTarget} onInput={(e) => set("fallbackTarget", (e.currentTarget as HTMLInputElement).value)} />
            )}
          </Field>
          <StatusSelect id="route-fallback.status" label="Fallback status" value={form.fallbackStatus} error={errs["fallback.status"]} onChange={(v) => set("fallbackStatus", v)} />
        </>
      )}
    </fieldset>
  );
}
