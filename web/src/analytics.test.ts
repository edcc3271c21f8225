import { describe, expect, it } from "vitest";
import {
  analyticsParams,
  bucketLabel,
  daysIn,
  humanHits,
  lastDays,
  limitConcurrency,
  rangeErrors,
  ruleSourceOf,
  share,
  sparkPoints,
} from "./analytics";
import { ApiClient, ApiError } from "./api";
import { href, match } from "./router";

describe("date ranges", () => {
  it("lastDays includes today, in UTC", () => {
    const now = new Date("2025-03-15T23:30:00-05:00"); // 04:30 UTC the next day
    expect(lastDays(30, now)).toEqual({ from: "2025-02-15", to: "2025-03-16" });
    expect(lastDays(1, now)).toEqual({ from: "2025-03-16", to: "2025-03-16" });
  });

  it("daysIn counts both ends, across a month and a leap day", () => {
    expect(daysIn("2025-01-01", "2025-01-01")).toBe(1);
    expect(daysIn("2024-02-28", "2024-03-01")).toBe(3);
    expect(daysIn("2025-02-30", "2025-03-01")).toBeNull();
    expect(daysIn("yesterday", "2025-03-01")).toBeNull();
  });

  it("rangeErrors checks what the API refuses", () => {
    expect(rangeErrors({ from: "2025-01-01", to: "2025-01-31", granularity: "hour" })).toEqual({});
    expect(rangeErrors({ from: "2025-01-01", to: "2025-02-01", granularity: "hour" }).to).toMatch(/31 days/);
    expect(rangeErrors({ from: "2024-01-01", to: "2025-02-03", granularity: "day" })).toEqual({});
    expect(rangeErrors({ from: "2024-01-01", to: "2025-02-04", granularity: "day" }).to).toMatch(/400 days/);
    expect(rangeErrors({ from: "2025-01-02", to: "2025-01-01", granularity: "day" }).to).toMatch(/on or after/);
    expect(rangeErrors({ from: "", to: "2025-13-01", granularity: "day" })).toEqual({ from: "Enter a date as YYYY-MM-DD.", to: "Enter a date as YYYY-MM-DD." });
  });

  it("analyticsParams names the API's parameters", () => {
    expect(analyticsParams({ from: "2025-01-01", to: "2025-01-31", granularity: "day", withoutBots: true })).toEqual({
      host: undefined, from: "2025-01-01", to: "2025-01-31", granularity: "day", bots: "exclude",
    });
    expect(analyticsParams({ host: "a.example.com", from: "a", to: "b", granularity: "hour", withoutBots: false }).bots).toBe("include");
  });
});

describe("drawing", () => {
  it("sparkPoints scales to the box, the largest value at the top", () => {
    expect(sparkPoints([0, 5, 10], 100, 20, 0)).toBe("0,20 50,10 100,0");
    expect(sparkPoints([0, 0], 10, 10, 1)).toBe("1,9 9,9");
    expect(sparkPoints([7], 10, 10, 0)).toBe("0,0");
    expect(sparkPoints([], 10, 10)).toBe("");
  });

  it("share, labels, hits without bots", () => {
    expect(share(1, 4)).toBe("25%");
    expect(share(1, 1000)).toBe("<1%");
    expect(share(0, 0)).toBe("0%");
    // The one date format of every screen (dates.ts), in UTC.
    expect(bucketLabel("2025-01-02T05:00:00Z", "hour", "en")).toBe("Jan 2, 2025, 05:00");
    expect(bucketLabel("2025-01-02T00:00:00Z", "day", "en")).toBe("Jan 2, 2025");
    expect(humanHits({ hits: 10, bots: 3, notFound: 0, edge: 0 }, true)).toBe(7);
    expect(humanHits({ hits: 10, bots: 3, notFound: 0, edge: 0 }, false)).toBe(10);
  });

  it("ruleSourceOf drops the query and keeps a leading slash", () => {
    expect(ruleSourceOf("/old/page?utm=x")).toBe("/old/page");
    expect(ruleSourceOf("/a#b")).toBe("/a");
    expect(ruleSourceOf("")).toBe("/");
    expect(ruleSourceOf("/")).toBe("/");
  });
});

describe("limitConcurrency", () => {
  it("runs at most n at once, in order, and passes failures on", async () => {
    const run = limitConcurrency(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const task = (i: number) => () =>
      new Promise<number>((resolve, reject) => {
        running++;
        most = Math.max(most, running);
        order.push(i);
        setTimeout(() => {
          running--;
          if (i === 3) reject(new Error("three"));
          else resolve(i);
        }, 1);
      });
    const results = await Promise.allSettled([0, 1, 2, 3, 4].map((i) => run(task(i))));
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "rejected", "fulfilled"]);
  });
});

describe("the analytics API", () => {
  function client(respond: (url: string, init: RequestInit) => Response) {
    const calls: { url: string; init: RequestInit }[] = [];
    const c = new ApiClient({
      baseUrl: "http://127.0.0.1:8080/v1",
      token: () => "tok",
      fetch: (async (url: string, init: RequestInit) => {
        calls.push({ url, init });
        return respond(url, init);
      }) as unknown as typeof fetch,
    });
    return { c, calls, accept: (i: number) => (calls[i].init.headers as Record<string, string>).Accept };
  }
  const report = {
    from: "2025-01-01T00:00:00Z", to: "2025-01-02T00:00:00Z", granularity: "day", bots: "include",
    totals: { hits: 3, bots: 1, notFound: 1, edge: 2 },
    series: [{ start: "2025-01-01T00:00:00Z", hits: 3, bots: 1, notFound: 1, edge: 2 }],
    topPaths: [], topNotFoundPaths: [{ value: "/gone", hits: 1 }], topReferrers: [], topCountries: [],
  };

  it("asks for a host's range and reads the report", async () => {
    const { c, calls, accept } = client(() => new Response(JSON.stringify(report), { status: 200, headers: { "Content-Type": "application/json" } }));
    const got = await c.analytics("org_a", { host: "old.example.com", from: "2025-01-01", to: "2025-01-01", granularity: "day", withoutBots: true });
    expect(got).toEqual(report);
    expect(calls[0].url).toBe("http://127.0.0.1:8080/v1/orgs/org_a/analytics?host=old.example.com&from=2025-01-01&to=2025-01-01&granularity=day&bots=exclude");
    expect(calls[0].init.method).toBe("GET");
    expect(accept(0)).toMatch(/^application\/json/);
  });

  it("leaves host out for the whole org", async () => {
    const { c, calls } = client(() => new Response(JSON.stringify(report), { status: 200 }));
    await c.analytics("org_a", { from: "2025-01-01", to: "2025-01-31", granularity: "hour", withoutBots: false });
    expect(calls[0].url).toBe("http://127.0.0.1:8080/v1/orgs/org_a/analytics?from=2025-01-01&to=2025-01-31&granularity=hour&bots=include");
  });

  it("downloads the series as CSV", async () => {
    const csv = "start,hits,bots,notFound,edge\n2025-01-01T00:00:00Z,3,1,1,2\n";
    const { c, accept } = client(() => new Response(csv, { status: 200, headers: { "Content-Type": "text/csv" } }));
    expect(await c.analyticsCsv("org_a", { from: "2025-01-01", to: "2025-01-01", granularity: "day", withoutBots: false })).toBe(csv);
    expect(accept(0)).toMatch(/^text\/csv/);
  });

  it("turns a refused range into field errors", async () => {
    const problem = { status: 400, code: "validation_failed", detail: "the input is not valid", fields: [{ field: "to", message: "the window is at most 31 days by hour" }] };
    const { c } = client(() => new Response(JSON.stringify(problem), { status: 400, headers: { "Content-Type": "application/problem+json" } }));
    const e = await c.analytics("o", { from: "2025-01-01", to: "2025-03-01", granularity: "hour", withoutBots: false }).catch((e) => e);
    expect(e).toBeInstanceOf(ApiError);
    expect(e.fields.to).toMatch(/31 days/);
  });
});

describe("analytics routes", () => {
  it("matches and builds the org's and a route's analytics", () => {
    expect(match("/orgs/org_a/analytics")).toEqual({ name: "analytics", orgId: "org_a" });
    expect(match("/orgs/org_a/routes/old.example.com/analytics")).toEqual({ name: "analytics", orgId: "org_a", host: "old.example.com" });
    expect(href({ name: "analytics", orgId: "org_a" })).toBe("/orgs/org_a/analytics");
    expect(href({ name: "analytics", orgId: "org_a", host: "*.example.com" })).toBe("/orgs/org_a/routes/*.example.com/analytics");
    expect(match("/orgs/org_a/routes/old.example.com/analytics/x").name).toBe("notFound");
  });
});
