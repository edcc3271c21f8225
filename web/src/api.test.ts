import { describe, expect, it, vi } from "vitest";
import { ApiClient, ApiError, errorMessage, fieldErrors, importResultOf, lineErrors, problemOf } from "./api";

function problemResponse(status: number, body: unknown, type = "application/problem+json", headers: Record<string, string> = {}) {
  return new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: { "Content-Type": type, ...headers },
  });
}

const validation = {
  type: "https://dnsreroute.dev/problems/validation_failed",
  title: "Bad Request",
  status: 400,
  detail: "The input is not valid.",
  code: "validation_failed",
  fields: [
    { field: "host", message: "\"localhost\" needs at least two labels" },
    { field: "target", message: "must be an absolute http(s) URL" },
    { field: "host", message: "a second message for host" },
  ],
  requestId: "req-1",
};

describe("problemOf", () => {
  it("reads a problem+json body", async () => {
    const p = await problemOf(problemResponse(400, validation));
    expect(p.code).toBe("validation_failed");
    expect(p.status).toBe(400);
    expect(p.detail).toBe("The input is not valid.");
    expect(p.fields).toHaveLength(3);
    expect(p.requestId).toBe("req-1");
  });

  it("accepts a content type with parameters", async () => {
    const p = await problemOf(problemResponse(409, { status: 409, code: "host_taken", title: "Conflict", detail: "taken" }, "application/problem+json; charset=utf-8"));
    expect(p.code).toBe("host_taken");
  });

  it("falls back on a non-JSON body", async () => {
    const p = await problemOf(problemResponse(502, "<html>Bad gateway</html>", "text/html", { "X-Request-Id": "r9" }));
    expect(p.code).toBe("http_502");
    expect(p.status).toBe(502);
    expect(p.detail).toMatch(/try again/);
    expect(p.requestId).toBe("r9");
  });

  it("falls back on broken JSON", async () => {
    const p = await problemOf(problemResponse(500, "{not json"));
    expect(p.code).toBe("http_500");
  });

  it("falls back on a JSON body that is not an object", async () => {
    const p = await problemOf(problemResponse(404, "[1,2]"));
    expect(p.code).toBe("http_404");
    expect(p.detail).toBe("Not found.");
  });

  it("keeps the response status when the body lacks one", async () => {
    const p = await problemOf(problemResponse(403, { code: "role_not_allowed", detail: "owners only" }));
    expect(p.status).toBe(403);
    expect(p.code).toBe("role_not_allowed");
  });
});

describe("fieldErrors", () => {
  it("maps fields to their first message", () => {
    expect(fieldErrors(validation)).toEqual({
      host: "\"localhost\" needs at least two labels",
      target: "must be an absolute http(s) URL",
    });
  });

  it("ignores absent and malformed fields", () => {
    expect(fieldErrors({})).toEqual({});
    expect(fieldErrors({ fields: [null as never, { field: 1, message: "x" } as never, { field: "a", message: "ok" }] })).toEqual({ a: "ok" });
  });
});

describe("ApiClient", () => {
  function client(respond: (url: string, init: RequestInit) => Response | Promise<Response>, token: string | null = "tok") {
    const calls: { url: string; init: RequestInit }[] = [];
    const onUnauthorized = vi.fn();
    const c = new ApiClient({
      baseUrl: "http://127.0.0.1:8080/v1/",
      token: () => token,
      fetch: (async (url: string, init: RequestInit) => {
        calls.push({ url, init });
        return respond(url, init);
      }) as unknown as typeof fetch,
      onUnauthorized,
    });
    return { c, calls, onUnauthorized };
  }

  it("sends the bearer token and JSON body", async () => {
    const { c, calls } = client(() => new Response(JSON.stringify({ host: "www.example.com" }), { status: 201, headers: { "Content-Type": "application/json" } }));
    const r = await c.createRoute("org_a", { host: "www.example.com", target: "https://example.com/" });
    expect(r.host).toBe("www.example.com");
    expect(calls[0].url).toBe("http://127.0.0.1:8080/v1/orgs/org_a/routes");
    expect(calls[0].init.method).toBe("POST");
    const h = calls[0].init.headers as Record<string, string>;
    expect(h.Authorization).toBe("Bearer tok");
    expect(h["Content-Type"]).toBe("application/json");
    expect(JSON.parse(calls[0].init.body as string)).toEqual({ host: "www.example.com", target: "https://example.com/" });
  });

  it("omits Authorization without a token and Content-Type without a body", async () => {
    const { c, calls } = client(() => new Response('{"plans":[]}', { status: 200 }), null);
    await c.plans();
    const h = calls[0].init.headers as Record<string, string>;
    expect(h.Authorization).toBeUndefined();
    expect(h["Content-Type"]).toBeUndefined();
  });

  it("encodes path segments and the query", async () => {
    const { c, calls } = client(() => new Response('{"items":[]}', { status: 200 }));
    await c.routes("org_a", { limit: 50, cursor: "a b/c" });
    expect(calls[0].url).toBe("http://127.0.0.1:8080/v1/orgs/org_a/routes?limit=50&cursor=a+b%2Fc");
    await c.routes("org_a");
    expect(calls[1].url).toBe("http://127.0.0.1:8080/v1/orgs/org_a/routes");
    await c.deleteRoute("org_a", "*.example.com").catch(() => undefined);
    expect(calls[2].url).toBe("http://127.0.0.1:8080/v1/orgs/org_a/routes/*.example.com");
    await c.route("org_a", "a/b?c");
    expect(calls[3].url).toBe("http://127.0.0.1:8080/v1/orgs/org_a/routes/a%2Fb%3Fc");
  });

  it("returns undefined for 204", async () => {
    const { c } = client(() => new Response(null, { status: 204 }));
    await expect(c.deleteRoute("org_a", "www.example.com")).resolves.toBeUndefined();
  });

  it("throws ApiError with field errors", async () => {
    const { c } = client(() => problemResponse(400, validation));
    const e = await c.createRoute("org_a", { host: "localhost", target: "x" }).catch((e) => e);
    expect(e).toBeInstanceOf(ApiError);
    expect(e.code).toBe("validation_failed");
    expect(e.field("host")).toMatch(/two labels/);
    expect(e.field("status")).toBeUndefined();
    expect(e.message).toBe("The input is not valid.");
  });

  it("calls onUnauthorized on 401 only", async () => {
    const { c, onUnauthorized } = client(() => problemResponse(401, { status: 401, code: "token_expired", detail: "expired" }));
    await expect(c.me()).rejects.toMatchObject({ code: "token_expired", status: 401 });
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    const other = client(() => problemResponse(403, { status: 403, code: "role_not_allowed", detail: "no" }));
    await expect(other.c.me()).rejects.toMatchObject({ code: "role_not_allowed" });
    expect(other.onUnauthorized).not.toHaveBeenCalled();
  });

  it("turns a network failure into network_error", async () => {
    const { c } = client(() => {
      throw new TypeError("Failed to fetch");
    });
    await expect(c.me()).rejects.toMatchObject({ status: 0, code: "network_error" });
  });
});

describe("ApiClient: rules, try, import, export", () => {
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
    const headers = (i: number) => calls[i].init.headers as Record<string, string>;
    return { c, calls, headers };
  }
  const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  const rule = { id: "L2E", source: "/a", target: "https://b.example/", status: 301, subpath: false, keepSuffix: false, keepQuery: false };

  it("lists rules with q, limit and cursor, and edits one by its id", async () => {
    const { c, calls } = client((_, init) => (init.method === "DELETE" ? new Response(null, { status: 204 }) : json(init.method === "GET" && calls.length === 1 ? { items: [rule], nextCursor: "n" } : rule)));
    const pg = await c.rules("org_a", "*.example.com", { limit: 100, cursor: "c/1", q: "blog post" });
    expect(pg.items[0].source).toBe("/a");
    expect(pg.nextCursor).toBe("n");
    expect(calls[0].url).toBe("http://127.0.0.1:8080/v1/orgs/org_a/routes/*.example.com/rules?limit=100&cursor=c%2F1&q=blog+post");
    await c.createRule("org_a", "a.example.com", { source: "/a", target: "https://b.example/" });
    expect(calls[1].url).toBe("http://127.0.0.1:8080/v1/orgs/org_a/routes/a.example.com/rules");
    expect(calls[1].init.method).toBe("POST");
    expect(JSON.parse(calls[1].init.body as string)).toEqual({ source: "/a", target: "https://b.example/" });
    await c.updateRule("org_a", "a.example.com", "L2E-_", { status: 308 });
    expect(calls[2].url).toBe("http://127.0.0.1:8080/v1/orgs/org_a/routes/a.example.com/rules/L2E-_");
    expect(calls[2].init.method).toBe("PATCH");
    await expect(c.deleteRule("org_a", "a.example.com", "L2E")).resolves.toBeUndefined();
    expect(calls[3].init.method).toBe("DELETE");
  });

  it("refuses a rule that exists with rule_exists", async () => {
    const { c } = client(() => new Response(JSON.stringify({ status: 409, code: "rule_exists", detail: "a rule for /a exists" }), { status: 409, headers: { "Content-Type": "application/problem+json" } }));
    await expect(c.createRule("o", "a.example.com", { source: "/a", target: "https://b.example/" })).rejects.toMatchObject({ status: 409, code: "rule_exists" });
  });

  it("tries a URL", async () => {
    const answer = { kind: "redirect", status: 301, location: "https://b.example/", rule, fallback: false };
    const { c, calls } = client(() => json(answer));
    expect(await c.tryUrl("org_a", "a.example.com", "https://a.example.com/a?x=1")).toEqual(answer);
    expect(calls[0].url).toBe("http://127.0.0.1:8080/v1/orgs/org_a/routes/a.example.com/try");
    expect(JSON.parse(calls[0].init.body as string)).toEqual({ url: "https://a.example.com/a?x=1" });
  });

  it("sends an import as it is, with its content type, dry run and idempotency key", async () => {
    const result = { dryRun: true, summary: { create: 1, update: 0, unchanged: 0, error: 0 }, routesCreated: 1, routesUpdated: 0, lines: [{ line: 1, action: "create", hosts: ["a.example.com"] }] };
    const { c, calls, headers } = client(() => json(result));
    const csv = 'a.example.com/x,"https://b.example/y,z",301\n';
    expect(await c.importRoutes("org_a", { body: csv, format: "csv", dryRun: true })).toEqual(result);
    expect(calls[0].url).toBe("http://127.0.0.1:8080/v1/orgs/org_a/routes/import?dryRun=true");
    expect(calls[0].init.method).toBe("POST");
    expect(calls[0].init.body).toBe(csv);
    expect(headers(0)["Content-Type"]).toBe("text/csv");
    expect(headers(0)["Idempotency-Key"]).toBeUndefined();
    await c.importRoutes("org_a", { body: "{}", format: "json", dryRun: false, idempotencyKey: "import-1" });
    expect(calls[1].url).toBe("http://127.0.0.1:8080/v1/orgs/org_a/routes/import?dryRun=false");
    expect(headers(1)["Content-Type"]).toBe("application/json");
    expect(headers(1)["Idempotency-Key"]).toBe("import-1");
    expect(headers(1).Authorization).toBe("Bearer tok");
  });

  it("reads an import's refusal line by line", async () => {
    const problem = {
      status: 422, code: "import_invalid", detail: "2 lines are not valid: nothing was imported.",
      errors: [{ line: 7, field: "TARGET_URL", reason: "not an absolute URL" }, { line: 2, field: "STATUS_CODE", reason: "status must be 301, 302, 307 or 308" }],
    };
    const { c } = client(() => new Response(JSON.stringify(problem), { status: 422, headers: { "Content-Type": "application/problem+json" } }));
    const e = await c.importRoutes("o", { body: "x", format: "csv", dryRun: true }).catch((e) => e);
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(422);
    expect(e.errors.map((x: { line: number }) => x.line)).toEqual([2, 7]);
    expect(e.errors[0]).toEqual({ line: 2, field: "STATUS_CODE", reason: "status must be 301, 302, 307 or 308" });
  });

  it("exports as CSV or JSON by Accept", async () => {
    const { c, calls, headers } = client((_, init) =>
      new Response((init.headers as Record<string, string>).Accept.startsWith("text/csv") ? "a.example.com/,https://b.example/,301\n" : '{"routes":[]}', { status: 200 }),
    );
    expect(await c.exportRoutes("org_a", "csv")).toBe("a.example.com/,https://b.example/,301\n");
    expect(calls[0].url).toBe("http://127.0.0.1:8080/v1/orgs/org_a/routes/export");
    expect(calls[0].init.method).toBe("GET");
    expect(headers(0).Accept).toMatch(/^text\/csv/);
    expect(await c.exportRoutes("org_a", "json")).toBe('{"routes":[]}');
    expect(headers(1).Accept).toMatch(/^application\/json/);
  });
});

describe("importResultOf", () => {
  it("keeps an answer as it is, refused lines included", () => {
    const r = {
      dryRun: true, summary: { create: 1, update: 0, unchanged: 0, error: 1 }, routesCreated: 0, routesUpdated: 1,
      lines: [{ line: 1, action: "create", hosts: ["a.example.com"] }, { line: 2, action: "error", hosts: [], field: "target_url", reason: "not a URL" }],
    };
    expect(importResultOf(r)).toEqual(r);
  });
  it("reads counts left out as zero, and route counts in the summary", () => {
    expect(importResultOf({ summary: { create: 2, routesCreated: 1 }, lines: [{ line: 1, action: "create" }] })).toEqual({
      dryRun: false, summary: { create: 2, update: 0, unchanged: 0, error: 0 }, routesCreated: 1, routesUpdated: 0, lines: [{ line: 1, action: "create", hosts: [] }],
    });
    expect(importResultOf(null).lines).toEqual([]);
  });
});

describe("lineErrors", () => {
  it("keeps well-formed errors, sorted by line", () => {
    expect(lineErrors({})).toEqual([]);
    expect(lineErrors({ errors: [{ line: 3, field: "x", reason: "r" }, null as never, { line: "2", reason: "r" } as never, { line: 1, reason: "s" } as never] })).toEqual([
      { line: 1, field: "", reason: "s" },
      { line: 3, field: "x", reason: "r" },
    ]);
  });
});

describe("errorMessage", () => {
  it("words billing_not_configured for people", () => {
    const e = new ApiError({ status: 501, code: "billing_not_configured", detail: "billing is not configured" });
    expect(errorMessage(e)).toMatch(/not set up/);
  });
  it("quotes the request id of a server error", () => {
    const e = new ApiError({ status: 500, code: "internal_error", detail: "Quote the request id.", requestId: "abc" });
    expect(errorMessage(e)).toMatch(/^Something went wrong on our side.*\(request abc\)$/);
  });
  it("handles plain errors and values", () => {
    expect(errorMessage(new Error("boom"))).toBe("boom");
    expect(errorMessage("x")).toBe("x");
  });
});
