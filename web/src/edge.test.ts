import { describe, expect, it } from "vitest";
// The API's own document: the dashboard must word every value it documents.
import openapi from "../../shared/httpapi/openapi.json";
import { ApiClient, type Route, type ServedFrom } from "./api";
import { edgeBadge, edgeReasonTexts } from "./logic";

describe("edgeBadge", () => {
  it.each([
    [{ servedFrom: "edge", records: 3, bytes: 214, syncedAt: "2026-03-01T12:00:05Z" }, "Served at the edge", "ok", undefined],
    [{ servedFrom: "origin", reason: "too_large" }, "Served by the origin", "muted", "its rules are too many for the edge"],
    [{ servedFrom: "origin", reason: "store_full" }, "Served by the origin", "muted", "the edge store is full: paid plans and older routes go first"],
    [{ servedFrom: "origin", reason: "not_redirecting" }, "Served by the origin", "muted", "switched off or paused: the origin shows its page"],
    [{ servedFrom: "origin", reason: "invalid" }, "Served by the origin", "muted", "its settings cannot be prepared for the edge"],
    [{ servedFrom: "origin", reason: "edge_disabled" }, "Served by the origin", "muted", "this deployment has no edge store"],
    [{ servedFrom: "origin" }, "Served by the origin", "muted", undefined],
    [{ servedFrom: "pending" }, "Edge: pending", "pending", "the first sync is running; the origin answers meanwhile"],
  ] as const)("%j", (edge, label, kind, reason) => {
    // toEqual takes a reason left undefined as absent.
    expect(edgeBadge(edge)).toEqual({ label, kind, reason });
  });

  it("says nothing for a server that does not say, or a value it does not know", () => {
    expect(edgeBadge(undefined)).toBeUndefined();
    expect(edgeBadge({ servedFrom: "somewhere" } as never)).toBeUndefined();
  });

  it("words an unknown reason as no reason", () => {
    expect(edgeBadge({ servedFrom: "origin", reason: "moon_phase" } as never)?.reason).toBeUndefined();
  });

  it("has words for every reason the API documents, and where it is served from", () => {
    const edge = openapi.components.schemas.EdgeStatus.properties;
    expect(Object.keys(edgeReasonTexts).sort()).toEqual([...edge.reason.enum].sort());
    for (const from of edge.servedFrom.enum) expect(edgeBadge({ servedFrom: from as ServedFrom })).toBeDefined();
  });
});

describe("a route's edge through the client", () => {
  it("keeps the edge the API sends", async () => {
    const edge = { servedFrom: "origin", reason: "edge_disabled" };
    const body = { items: [{ host: "www.example.com", edge } as Partial<Route>] };
    const api = new ApiClient({
      baseUrl: "https://api.test/v1",
      token: () => "t",
      fetch: async () => new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } }),
    });
    const page = await api.routes("org_1");
    expect(page.items[0].edge).toEqual(edge);
    expect(edgeBadge(page.items[0].edge)?.reason).toBe("this deployment has no edge store");
  });
});
