import { defineConfig } from "vitest/config";

// The dashboard is served from the site root; config.json is served beside it
// (by `dnsreroute dev` locally, by the deployment elsewhere), never bundled.
export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    // The main bundle stays small; the only large chunk is RapiDoc, loaded lazily
    // by the API reference tab alone.
    chunkSizeWarningLimit: 900,
  },
  server: {
    // `npm run dev` against `make dev`: the API and the dev issuer on :8080.
    proxy: { "/config.json": "http://127.0.0.1:8080" },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
