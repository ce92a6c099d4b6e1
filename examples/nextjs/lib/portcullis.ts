import { createClient } from "@portcullis/client";

// The browser's client: same origin (next.config.ts rewrites /auth/*), so
// the cookies are first-party and no token is ever handled by the page.
export const client = createClient();

/** Where to go after signing in: a local path from ?next=, else the dashboard. */
export function nextPath(params: URLSearchParams): string {
  const next = params.get("next") ?? "";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/dashboard";
}

export function message(err: unknown): string {
  const e = err as { message?: string; fields?: Record<string, string[]> };
  const fields = Object.entries(e.fields ?? {}).map(([f, m]) => `${f} ${m.join(", ")}`);
  return [e.message ?? String(err), ...fields].join("; ");
}
