import { useEffect, useRef, useState } from "preact/hooks";
import type { ApiClient } from "../api";
import { formatCount, lastDays, limitConcurrency, sparkPoints } from "../analytics";
import { useSession } from "../session";

const W = 120;
const H = 28;

// One question per route shown, four at a time, and only once a card is on
// screen: a page of 50 routes costs the few requests its visible cards need,
// not 50 at once (the org-wide query sums hosts, so it cannot draw one each).
const queue = limitConcurrency(4);

function hitsOf(api: ApiClient, orgId: string, host: string): Promise<number[]> {
  return queue(() => api.analytics(orgId, { host, ...lastDays(30), granularity: "day", withoutBots: false })).then((a) => a.series.map((p) => p.hits));
}

/** Sparkline draws a route's requests of the last 30 days, once it scrolls into view. */
export function Sparkline({ orgId, host }: { orgId: string; host: string }) {
  const { api } = useSession();
  const el = useRef<HTMLSpanElement>(null);
  const [hits, setHits] = useState<number[] | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    const node = el.current;
    if (!node) return;
    let live = true;
    const load = () => hitsOf(api, orgId, host).then((h) => live && setHits(h), () => live && setFailed(true));
    if (typeof IntersectionObserver === "undefined") {
      load();
      return () => {
        live = false;
      };
    }
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        io.disconnect();
        load();
      }
    });
    io.observe(node);
    return () => {
      live = false;
      io.disconnect();
    };
  }, [api, orgId, host]);
  const total = hits?.reduce((a, b) => a + b, 0) ?? 0;
  const label = hits ? `${formatCount(total)} requests in the last 30 days` : failed ? "Traffic of the last 30 days unavailable" : "Loading traffic of the last 30 days";
  return (
    <span class="sparkline" ref={el} title={label}>
      <svg width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label}>
        {hits && <polyline points={sparkPoints(hits, W, H, 2)} fill="none" stroke="currentColor" stroke-width="1.5" />}
      </svg>
      {hits && <span class="spark-total" aria-hidden="true">{formatCount(total)}</span>}
    </span>
  );
}
