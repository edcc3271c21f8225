import { describe, expect, it } from "vitest";
import { ApiClient, ApiError } from "./api";
import {
  apiServerOf,
  assignableRoles,
  canChangeRole,
  canManageKeys,
  canManageMembers,
  canRemove,
  deniedMessage,
  expiresAtOf,
  keyHint,
  localDate,
  validateEmail,
  validateKeyForm,
  whenText,
} from "./logic";
import { href, match } from "./router";

describe("role rules", () => {
  it("lets owners and admins manage members and keys, not members", () => {
    expect(canManageMembers("owner")).toBe(true);
    expect(canManageMembers("admin")).toBe(true);
    expect(canManageMembers("member")).toBe(false);
    expect(canManageKeys("owner")).toBe(true);
    expect(canManageKeys("admin")).toBe(true);
    expect(canManageKeys("member")).toBe(false);
  });
  it("lets only owners make owners", () => {
    expect(assignableRoles("owner")).toEqual(["owner", "admin", "member"]);
    expect(assignableRoles("admin")).toEqual(["admin", "member"]);
    expect(assignableRoles("member")).toEqual([]);
  });
  it("lets only owners change an owner's role", () => {
    expect(canChangeRole("owner", "owner")).toBe(true);
    expect(canChangeRole("owner", "member")).toBe(true);
    expect(canChangeRole("admin", "owner")).toBe(false);
    expect(canChangeRole("admin", "admin")).toBe(true);
    expect(canChangeRole("admin", "member")).toBe(true);
    expect(canChangeRole("member", "member")).toBe(false);
  });
  it("lets anyone leave, and managers remove whom they may change", () => {
    expect(canRemove("member", "member", true)).toBe(true);
    expect(canRemove("member", "admin", false)).toBe(false);
    expect(canRemove("admin", "owner", false)).toBe(false);
    expect(canRemove("admin", "member", false)).toBe(true);
    expect(canRemove("owner", "owner", false)).toBe(true);
  });
});

describe("key display", () => {
  it("shows the hint after an ellipsis", () => {
    expect(keyHint("abcd")).toBe("…abcd");
    expect(keyHint(" wxyz ")).toBe("…wxyz");
    expect(keyHint("")).toBe("…");
  });
  it("says never for an absent or bad date", () => {
    expect(whenText(undefined)).toBe("never");
    expect(whenText("not a date")).toBe("never");
    expect(whenText(undefined, "—")).toBe("—");
    expect(whenText("2026-03-04T10:00:00Z", "never", "en-US")).toMatch(/2026/);
  });
});

describe("key form", () => {
  const now = new Date(2026, 0, 10, 12, 0, 0);
  it("needs a name of at most 100 characters", () => {
    expect(validateKeyForm({ name: "  ", scope: "read", expires: "" }, now)).toHaveProperty("name");
    expect(validateKeyForm({ name: "x".repeat(101), scope: "read", expires: "" }, now)).toHaveProperty("name");
    expect(validateKeyForm({ name: "ci", scope: "write", expires: "" }, now)).toEqual({});
  });
  it("takes an expiry date in the future, the end of that local day", () => {
    expect(validateKeyForm({ name: "ci", scope: "read", expires: "2026-01-09" }, now)).toHaveProperty("expires");
    expect(validateKeyForm({ name: "ci", scope: "read", expires: "2026-01-10" }, now)).toEqual({});
    expect(validateKeyForm({ name: "ci", scope: "read", expires: "2026-02-30" }, now)).toHaveProperty("expires");
    const at = new Date(expiresAtOf("2026-01-10")!);
    expect([at.getFullYear(), at.getMonth(), at.getDate(), at.getHours(), at.getMinutes()]).toEqual([2026, 0, 10, 23, 59]);
    expect(expiresAtOf("")).toBeUndefined();
    expect(expiresAtOf("10/01/2026")).toBeUndefined();
    expect(localDate(now)).toBe("2026-01-10");
  });
});

describe("invite form and refusals", () => {
  it("checks the email lightly", () => {
    expect(validateEmail("")).toBeTruthy();
    expect(validateEmail("bob")).toBeTruthy();
    expect(validateEmail(" bob@example.com ")).toBeUndefined();
  });
  it("explains role_not_allowed, and passes other details on", () => {
    const denied = new ApiError({ status: 403, code: "role_not_allowed", detail: "forbidden" });
    expect(deniedMessage(denied, "manage API keys")).toMatch(/role in this org does not let you manage API keys/);
    const limit = new ApiError({ status: 403, code: "plan_limit_reached", detail: "The free plan has one member." });
    expect(deniedMessage(limit, "invite")).toMatch(/^Your plan's limit is reached\. Upgrade/);
  });
});

describe("routes and calls of members and keys", () => {
  it("routes the new screens", () => {
    for (const s of [
      { name: "members", orgId: "org_a" },
      { name: "apiKeys", orgId: "org_a" },
      { name: "apiReference", orgId: "org_a" },
    ] as const) {
      expect(match(href(s))).toEqual(s);
    }
    expect(href({ name: "apiKeys", orgId: "o" })).toBe("/orgs/o/api-keys");
  });
  it("finds the OpenAPI server beside /v1", () => {
    expect(apiServerOf("http://127.0.0.1:8080/v1")).toBe("http://127.0.0.1:8080");
    expect(apiServerOf("https://api.example.com/v1/")).toBe("https://api.example.com");
    expect(apiServerOf("https://example.com/api/v1")).toBe("https://example.com/api");
  });
  it("sends members and keys calls with encoded paths", async () => {
    const calls: { url: string; method: string; body?: string }[] = [];
    const api = new ApiClient({
      baseUrl: "https://api.test/v1",
      token: () => "t",
      fetch: async (input, init) => {
        calls.push({ url: String(input), method: init?.method ?? "GET", body: init?.body as string | undefined });
        return new Response(init?.method === "DELETE" ? null : "{}", { status: init?.method === "DELETE" ? 204 : 200 });
      },
    });
    await api.updateMember("o", "a+b@example.com", "admin");
    await api.removeMember("o", "a+b@example.com");
    await api.createApiKey("o", { name: "ci", scope: "write" });
    await api.deleteApiKey("o", "key_1");
    await api.members("o", { limit: 100, cursor: "c" });
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      "PATCH https://api.test/v1/orgs/o/members/a%2Bb%40example.com",
      "DELETE https://api.test/v1/orgs/o/members/a%2Bb%40example.com",
      "POST https://api.test/v1/orgs/o/api-keys",
      "DELETE https://api.test/v1/orgs/o/api-keys/key_1",
      "GET https://api.test/v1/orgs/o/members?limit=100&cursor=c",
    ]);
    expect(JSON.parse(calls[0].body!)).toEqual({ role: "admin" });
  });
});
