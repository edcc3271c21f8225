import { useCallback, useEffect, useState } from "preact/hooks";
import { errorMessage, type Membership, type Route } from "../api";
import { useSession } from "../session";
import { fallbackText } from "../rules";
import { href } from "../router";
import { ErrorBox, Link, Loading } from "../ui";
import { ExportButtons } from "./ExportButtons";
import { RulesTable } from "./RulesTable";
import { DomainBadge, EdgeBadge } from "./Routes";
import { TryUrl } from "./TryUrl";
import { Sparkline } from "./Sparkline";

/** RouteRules is a route's own page: what it does, its path rules, and a box to try a URL on it. */
export function RouteRules({ org, host }: { org: Membership; host: string }) {
  const { api } = useSession();
  const [route, setRoute] = useState<Route | null>(null);
  const [ruleLimit, setRuleLimit] = useState<number | undefined>(undefined);
  const [err, setErr] = useState("");
  const [matched, setMatched] = useState<string | undefined>(undefined);
  // ?addRule=/path: the analytics' lost traffic asks for a rule for that path.
  const addSource = new URLSearchParams(location.search).get("addRule") ?? undefined;

  const load = useCallback(() => {
    setErr("");
    api.route(org.id, host).then(setRoute).catch((e) => setErr(errorMessage(e)));
    // The limit is a nicety: the route shows without it.
    api.org(org.id).then((o) => setRuleLimit(o.usage?.ruleLimit)).catch(() => undefined);
  }, [api, org.id, host]);
  useEffect(load, [load]);

  if (err) return <ErrorBox message={err} retry={load} />;
  if (!route) return <Loading what="the route" />;
  const count = route.ruleCount ?? 0;
  const opts = [route.pathOptions?.ignoreCase && "ignores case", route.pathOptions?.ignoreTrailingSlash && "ignores a trailing slash"].filter(Boolean);
  return (
    <section class="route-page">
      <p>
        <Link href={href({ name: "routes", orgId: org.id })}>← Routes</Link>
      </p>
      <div class="heading">
        <h1 class="host">{route.host}</h1>
        <Link class="button secondary small" href={href({ name: "editRoute", orgId: org.id, host: route.host })}>
          Edit route
        </Link>
      </div>
      <p class="spark-row">
        <Link class="spark-link" href={href({ name: "analytics", orgId: org.id, host: route.host })}>
          <Sparkline orgId={org.id} host={route.host} /> Analytics
        </Link>
      </p>
      <dl class="facts route-facts">
        <div>
          <dt>Whole hostname</dt>
          <dd>{route.target ? <code>{route.target}</code> : "no target: path rules only"}</dd>
        </div>
        {!route.target && (
          <div>
            <dt>No rule matches</dt>
            <dd>{fallbackText(route.fallback)}</dd>
          </div>
        )}
        <div>
          <dt>Rules</dt>
          <dd>
            {count}
            {ruleLimit !== undefined && ` of ${ruleLimit}`}
          </dd>
        </div>
        <div>
          <dt>Paths</dt>
          <dd>{opts.length ? opts.join(", ") : "match case and trailing slash exactly"}</dd>
        </div>
        <div>
          <dt>Domain</dt>
          <dd>
            <DomainBadge domain={route.domain} />
          </dd>
        </div>
        {route.edge && (
          <div>
            <dt>Redirects</dt>
            <dd>
              <EdgeBadge edge={route.edge} />
            </dd>
          </div>
        )}
      </dl>
      {route.target && count > 0 && <p class="hint">Rules are matched first; the target answers the paths no rule matches.</p>}
      <div class="toolbar wrap">
        <Link class="button secondary small" href={href({ name: "importRoutes", orgId: org.id })}>
          Import CSV
        </Link>
        <ExportButtons org={org} />
      </div>
      <TryUrl orgId={org.id} host={route.host} onAnswer={setMatched} />
      <RulesTable orgId={org.id} host={route.host} addSource={addSource} highlight={matched} onCount={(d) => setRoute((r) => r && { ...r, ruleCount: Math.max(0, (r.ruleCount ?? 0) + d) })} />
    </section>
  );
}
