// Screens that load their module only when first shown, so that the script the
// routes screen loads stays small: analytics (and its chart library), the
// settings sections beyond the first two, and the OAuth consent page.

import type { ComponentType, JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ErrorBox, Loading } from "./ui";

/**
 * lazy is a component that imports its real one on first render (then keeps
 * it), showing "Loading what…" meanwhile and a way out if the module cannot be
 * fetched (a new release replaced it, or the network is down).
 */
export function lazy<P extends object>(load: () => Promise<ComponentType<P>>, what: string): (p: P) => JSX.Element {
  let loaded: ComponentType<P> | null = null;
  return function Lazy(p: P) {
    const [C, setC] = useState<ComponentType<P> | null>(() => loaded);
    const [failed, setFailed] = useState(false);
    useEffect(() => {
      if (C) return;
      let live = true;
      load().then(
        (m) => {
          loaded = m;
          if (live) setC(() => m);
        },
        () => live && setFailed(true),
      );
      return () => {
        live = false;
      };
    }, []);
    if (failed) return <ErrorBox message={`The ${what} page could not be loaded. Reload the page to get the latest version of the dashboard.`} retry={() => location.reload()} />;
    return C ? <C {...p} /> : <Loading what={what} />;
  };
}
