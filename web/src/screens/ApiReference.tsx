import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import type { User } from "oidc-client-ts";
import { errorMessage } from "../api";
import { useSession } from "../session";
import { bearer } from "../auth";
import { apiServerOf } from "../logic";
import { ErrorBox, Loading } from "../ui";

/** The <rapi-doc> element, as much of it as is used here. */
interface RapiDoc extends HTMLElement {
  loadSpec(spec: unknown): Promise<void>;
}

/**
 * ApiReferenceScreen shows the API's OpenAPI document with RapiDoc, whose "Try"
 * sends requests with the signed-in user's token. RapiDoc is loaded (a chunk of
 * its own) only when this screen opens.
 */
export function ApiReferenceScreen() {
  const { api, cfg, um } = useSession();
  const host = useRef<HTMLDivElement>(null);
  const [err, setErr] = useState("");
  const [ready, setReady] = useState(false);
  const [attempt, setAttempt] = useState(0);

  const retry = useCallback(() => setAttempt((n) => n + 1), []);

  useEffect(() => {
    let cancelled = false;
    let el: RapiDoc | null = null;
    const setToken = (u: User | null) => {
      const t = bearer(u);
      el?.setAttribute("api-key-value", t ? `Bearer ${t}` : "-");
    };
    const onLoaded = (u: User) => setToken(u);
    um.events.addUserLoaded(onLoaded);
    setErr("");
    setReady(false);
    (async () => {
      try {
        const server = apiServerOf(cfg.apiUrl);
        const [spec, user] = await Promise.all([
          api.openapi(),
          um.getUser(),
          import("rapidoc"),
        ]);
        await customElements.whenDefined("rapi-doc");
        if (cancelled || !host.current) return;
        el = document.createElement("rapi-doc") as RapiDoc;
        const dark = window.matchMedia?.("(prefers-color-scheme: dark)").matches;
        const attrs: Record<string, string> = {
          "render-style": "view",
          layout: "column",
          "show-header": "false",
          "show-info": "true",
          "allow-spec-url-load": "false",
          "allow-spec-file-load": "false",
          "allow-server-selection": "false",
          "allow-authentication": "true",
          "update-route": "false",
          "load-fonts": "false",
          "regular-font": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
          "mono-font": "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
          theme: dark ? "dark" : "light",
          "server-url": server,
          "default-api-server": server,
          "api-key-name": "Authorization",
          "api-key-location": "header",
          "api-key-value": "-",
        };
        for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
        el.setAttribute("aria-label", "API reference");
        host.current.replaceChildren(el);
        setToken(user);
        await el.loadSpec({ ...spec, servers: [{ url: server, description: "This installation" }] });
        if (!cancelled) setReady(true);
      } catch (e) {
        if (!cancelled) setErr(`The API reference could not be loaded: ${errorMessage(e)}`);
      }
    })();
    return () => {
      cancelled = true;
      um.events.removeUserLoaded(onLoaded);
      el?.remove();
    };
  }, [api, cfg.apiUrl, um, attempt]);

  return (
    <section class="api-reference">
      <h1>API reference</h1>
      <p>
        Every call of the management API. “Try” sends the request as you, with your session's token; API keys work too, as{" "}
        <code>Authorization: Bearer &lt;key&gt;</code>.
      </p>
      {err && <ErrorBox message={err} retry={retry} />}
      {!err && !ready && <Loading what="the API reference" />}
      <div class="rapidoc-host" ref={host} hidden={!!err} />
    </section>
  );
}
