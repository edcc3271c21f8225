import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { errorMessage, type Membership } from "../api";
import {
  bucketLabel,
  formatCount,
  humanHits,
  lastDays,
  rangeErrors,
  ruleSourceOf,
  share,
  type Analytics,
  type AnalyticsQuery,
  type Granularity,
  type TopEntry,
} from "../analytics";
import { useSession } from "../session";
import { href } from "../router";
import { ErrorBox, Field, Link, Loading } from "../ui";

/**
 * AnalyticsScreen shows an org's traffic, or one route's (host): totals, a
 * chart with a table beside it for screen readers, the rankings, and the lost
 * traffic, each path of which can become a rule on the route's page.
 */
export function AnalyticsScreen({ org, host }: { org: Membership; host?: string }) {
  const { api } = useSession();
  const [form, setForm] = useState<AnalyticsQuery>({ host, ...lastDays(30), granularity: "day", withoutBots: false });
  const [asked, setAsked] = useState<AnalyticsQuery>(form);
  const [errs, setErrs] = useState<Record<string, string>>({});
  const [data, setData] = useState<Analytics | null>(null);
  const [err, setErr] = useState("");
  const [csvErr, setCsvErr] = useState("");

  const load = useCallback(() => {
    setErr("");
    setData(null);
    let live = true;
    api
      .analytics(org.id, asked)
      .then((d) => live && setData(d))
      .catch((e) => live && setErr(errorMessage(e)));
    return () => {
      live = false;
    };
  }, [api, org.id, asked]);
  useEffect(load, [load]);

  function apply(e: Event) {
    e.preventDefault();
    const local = rangeErrors(form);
    setErrs(local);
    if (Object.keys(local).length) {
      document.getElementById("an-" + Object.keys(local)[0])?.focus();
      return;
    }
    setAsked({ ...form });
  }

  function preset(days: number) {
    const f = { ...form, ...lastDays(days), granularity: (days <= 2 ? "hour" : "day") as Granularity };
    setForm(f);
    setErrs({});
    setAsked(f);
  }

  async function downloadCsv() {
    setCsvErr("");
    try {
      const text = await api.analyticsCsv(org.id, asked);
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
      a.download = `${host ?? org.id}-analytics-${asked.from}-${asked.to}.csv`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    } catch (e) {
      setCsvErr(errorMessage(e));
    }
  }

  const set = <K extends keyof AnalyticsQuery>(k: K, v: AnalyticsQuery[K]) => setForm((f) => ({ ...f, [k]: v }));
  return (
    <section class="analytics">
      {host && (
        <p>
          <Link href={href({ name: "route", orgId: org.id, host })}>← {host}</Link>
        </p>
      )}
      <h1>{host ? <>Analytics of <span class="host">{host}</span></> : `Analytics of ${org.name}`}</h1>
      <p class="hint">
        Counted from the redirect service's logs, at the edge and at the origin. Logs arrive within minutes, sometimes later, so the last hour may still grow. Dates are UTC.
      </p>
      <form class="card range" onSubmit={apply} noValidate aria-label="Date range">
        <div class="presets" role="group" aria-label="Quick ranges">
          <button type="button" class="secondary small" onClick={() => preset(1)}>Today</button>
          <button type="button" class="secondary small" onClick={() => preset(7)}>7 days</button>
          <button type="button" class="secondary small" onClick={() => preset(30)}>30 days</button>
          <button type="button" class="secondary small" onClick={() => preset(90)}>90 days</button>
        </div>
        <div class="range-fields">
          <Field id="an-from" label="From" error={errs.from}>
            {(a) => <input {...a} type="date" value={form.from} onInput={(e) => set("from", (e.currentTarget as HTMLInputElement).value)} />}
          </Field>
          <Field id="an-to" label="To (inclusive)" error={errs.to}>
            {(a) => <input {...a} type="date" value={form.to} onInput={(e) => set("to", (e.currentTarget as HTMLInputElement).value)} />}
          </Field>
          <Field id="an-granularity" label="By">
            {(a) => (
              <select {...a} value={form.granularity} onChange={(e) => set("granularity", (e.currentTarget as HTMLSelectElement).value as Granularity)}>
                <option value="day">Day</option>
                <option value="hour">Hour</option>
              </select>
            )}
          </Field>
        </div>
        <label class="check">
          <input type="checkbox" checked={form.withoutBots} onChange={(e) => set("withoutBots", (e.currentTarget as HTMLInputElement).checked)} /> Hide bots
        </label>
        <div class="actions">
          <button type="submit">Show</button>
          <button type="button" class="secondary" onClick={downloadCsv} disabled={!data}>
            Download CSV
          </button>
        </div>
        {csvErr && <ErrorBox message={csvErr} />}
      </form>
      {err && <ErrorBox message={err} retry={load} />}
      {!err && !data && <Loading what="analytics" />}
      {data && <Report data={data} orgId={org.id} host={host} withoutBots={asked.withoutBots} />}
    </section>
  );
}

function Report({ data, orgId, host, withoutBots }: { data: Analytics; orgId: string; host?: string; withoutBots: boolean }) {
  const t = data.totals;
  const humans = Math.max(0, t.hits - t.bots);
  return (
    <>
      <dl class="facts totals" aria-label="Totals">
        <div>
          <dt>{withoutBots ? "Visits without bots" : "Requests"}</dt>
          <dd>{formatCount(withoutBots ? humans : t.hits)}</dd>
        </div>
        <div>
          <dt>Bots</dt>
          <dd>
            {formatCount(t.bots)} <span class="muted">({share(t.bots, t.hits)})</span>
          </dd>
        </div>
        <div>
          <dt>Lost traffic</dt>
          <dd>
            {formatCount(t.notFound)} <span class="muted">({share(t.notFound, t.hits)})</span>
          </dd>
        </div>
        <div>
          <dt>Answered at the edge</dt>
          <dd>
            {formatCount(t.edge)} <span class="muted">({share(t.edge, t.hits)})</span>
          </dd>
        </div>
      </dl>
      <Chart data={data} withoutBots={withoutBots} />
      <details class="series-table">
        <summary>Show the numbers as a table</summary>
        <div class="table-scroll">
          <table aria-label="Requests over time">
            <thead>
              <tr>
                <th scope="col">{data.granularity === "hour" ? "Hour (UTC)" : "Day (UTC)"}</th>
                <th scope="col">Requests</th>
                <th scope="col">Bots</th>
                <th scope="col">Lost</th>
                <th scope="col">Edge</th>
              </tr>
            </thead>
            <tbody>
              {data.series.map((p) => (
                <tr key={p.start}>
                  <th scope="row">{bucketLabel(p.start, data.granularity)}</th>
                  <td>{formatCount(humanHits(p, withoutBots))}</td>
                  <td>{formatCount(p.bots)}</td>
                  <td>{formatCount(p.notFound)}</td>
                  <td>{formatCount(p.edge)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
      <div class="tops">
        <LostTraffic entries={data.topNotFoundPaths} orgId={orgId} host={host} />
        <TopTable title="Top paths" col="Path" entries={data.topPaths} code />
        <TopTable title="Top referrers" col="Site" entries={data.topReferrers} empty="No referrers: visitors typed the address or came from bookmarks and apps." />
        <TopTable title="Top countries" col="Country" entries={data.topCountries} />
      </div>
    </>
  );
}

/** Chart draws requests, bots and lost traffic over time with uPlot, sized to its box. */
function Chart({ data, withoutBots }: { data: Analytics; withoutBots: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const xs = data.series.map((p) => Date.parse(p.start) / 1000);
    const series: uPlot.Series[] = [
      {},
      { label: withoutBots ? "Visits without bots" : "Requests", stroke: "#1d5fd6", fill: "rgba(29,95,214,0.12)", width: 2 },
      { label: "Lost traffic", stroke: "#b3261e", width: 2 },
    ];
    const ys: number[][] = [data.series.map((p) => humanHits(p, withoutBots)), data.series.map((p) => p.notFound)];
    if (!withoutBots) {
      series.push({ label: "Bots", stroke: "#7a5200", width: 1, dash: [4, 4] });
      ys.push(data.series.map((p) => p.bots));
    }
    const width = () => Math.max(260, el.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 240,
        series,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(4, max)] } },
        axes: [{ stroke: "currentColor" }, { stroke: "currentColor", size: 56 }],
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
      },
      [xs, ...ys],
      el,
    );
    const ro = new ResizeObserver(() => plot.setSize({ width: width(), height: 240 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [data, withoutBots]);
  // The canvas says nothing to a screen reader: the table below has the numbers.
  return <div class="chart" ref={box} role="img" aria-label="Chart of requests over time; the numbers are in the table below" />;
}

function TopTable(p: { title: string; col: string; entries: TopEntry[]; code?: boolean; empty?: string }) {
  const id = "top-" + p.title.toLowerCase().replace(/\W+/g, "-");
  return (
    <section class="card top" aria-labelledby={id}>
      <h2 id={id}>{p.title}</h2>
      {p.entries.length === 0 ? (
        <p class="muted">{p.empty ?? "Nothing counted in this range."}</p>
      ) : (
        <table aria-labelledby={id}>
          <thead>
            <tr>
              <th scope="col">{p.col}</th>
              <th scope="col" class="num">Requests</th>
            </tr>
          </thead>
          <tbody>
            {p.entries.map((e) => (
              <tr key={e.value}>
                <td class="value">{p.code ? <code>{e.value}</code> : e.value}</td>
                <td class="num">{formatCount(e.hits)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/**
 * LostTraffic lists the paths answered with the not-configured page or a
 * fallback. On a route's screen each has an action that opens the rule
 * editor with the path as its source; the org's screen mixes hosts, so it
 * sends to the route's own analytics instead.
 */
function LostTraffic({ entries, orgId, host }: { entries: TopEntry[]; orgId: string; host?: string }) {
  return (
    <section class="card top lost" aria-labelledby="top-lost">
      <h2 id="top-lost">Lost traffic</h2>
      <p class="hint">Paths no route or rule answered: visitors got the not-configured page or the fallback.</p>
      {entries.length === 0 ? (
        <p class="muted">No lost traffic in this range.</p>
      ) : (
        <table aria-labelledby="top-lost">
          <thead>
            <tr>
              <th scope="col">Path</th>
              <th scope="col" class="num">Requests</th>
              {host && (
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.value}>
                <td class="value">
                  <code>{e.value}</code>
                </td>
                <td class="num">{formatCount(e.hits)}</td>
                {host && (
                  <td>
                    <Link
                      class="button secondary small"
                      href={href({ name: "route", orgId, host }) + "?" + new URLSearchParams({ addRule: ruleSourceOf(e.value) }).toString()}
                      aria-label={`Add a rule for ${e.value}`}
                    >
                      Add a rule for this path
                    </Link>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!host && entries.length > 0 && <p class="hint">Open a route's analytics to add a rule for one of its paths.</p>}
    </section>
  );
}
