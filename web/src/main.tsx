import { render } from "preact";
import { loadConfig } from "./config";
import { SILENT_PATH, userManager } from "./auth";
import { App } from "./App";
import "./style.css";

async function boot() {
  const root = document.getElementById("app")!;
  let cfg;
  try {
    cfg = await loadConfig();
  } catch (e) {
    root.innerHTML = "";
    const p = document.createElement("p");
    p.className = "boot error";
    p.setAttribute("role", "alert");
    p.textContent = `The dashboard could not start: ${(e as Error).message}`;
    root.append(p);
    return;
  }
  const um = userManager(cfg);
  if (location.pathname === SILENT_PATH) {
    // The hidden frame of a silent renewal: hand the answer to the parent page.
    await um.signinSilentCallback().catch(() => undefined);
    return;
  }
  root.innerHTML = "";
  render(<App cfg={cfg} um={um} />, root);
}

void boot();
