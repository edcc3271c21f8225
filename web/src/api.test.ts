import { describe, expect, it, vi } from "vitest";
import { ApiClient, ApiError, errorMessage, fieldErrors, problemOf } from "./api";

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

describe("errorMessage", () => {
  it("words billing_not_configured for people", () => {
    const e = new ApiError({ status: 501, code: "billing_not_configured", detail: "billing is not configured" });
    expect(errorMessage(e)).toMatch(/not set up/);
  });
  it("quotes the request id of a server error", () => {
    const e = new ApiError({ status: 500, code: "internal_error", detail: "Quote the request id.", requestId: "abc" });
    expect(errorMessage(e)).toBe("Quote the request id. (request abc)");
  });
  it("handles plain errors and values", () => {
    expect(errorMessage(new Error("boom"))).toBe("boom");
    expect(errorMessage("x")).toBe("x");
  });
});
