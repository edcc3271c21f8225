import { describe, expect, it } from "vitest";
import doc from "../../shared/httpapi/openapi.json";
import { emptyRouteForm } from "./logic";

// One default everywhere: a new route in the dashboard starts as the API
// creates one when a field is left out (the CLI's flags default the same way).
describe("route defaults", () => {
  it("are the API's", () => {
    const props = doc.components.schemas.RouteInput.properties;
    for (const k of ["status", "keepPath", "keepQuery", "enabled", "httpsRedirect", "hsts"] as const) {
      expect(emptyRouteForm[k], k).toBe(props[k].default);
    }
  });
});
