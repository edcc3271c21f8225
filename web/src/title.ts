// The document title names the screen, then the org, then the product, so tabs
// and history tell screens apart.

import { useEffect } from "preact/hooks";

export const product = "DNSReRoute";

export function titleOf(screen: string, org?: string): string {
  return [screen, org, product].filter(Boolean).join(" · ");
}

export function useTitle(screen: string, org?: string): void {
  useEffect(() => {
    document.title = titleOf(screen, org);
  }, [screen, org]);
}
