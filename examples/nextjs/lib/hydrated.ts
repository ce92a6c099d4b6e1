import { useSyncExternalStore } from "react";

const subscribe = () => () => {};

/**
 * False in the server's HTML and until React has hydrated the component,
 * true after. A button whose work is a click handler is drawn disabled until
 * then: the server-rendered button is visible before the page's JavaScript
 * runs, and a click on it in that moment would do nothing at all.
 * (Forms whose action is a function need no such guard: React replays a
 * submit made before hydration.)
 */
export function useHydrated(): boolean {
  return useSyncExternalStore(
    subscribe,
    () => true,
    () => false,
  );
}
