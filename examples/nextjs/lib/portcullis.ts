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

/** What the login page says when a provider sent the browser back with ?error=. */
export function providerError(code: string): string {
  const known: Record<string, string> = {
    access_denied: "Sign-in was cancelled at the provider.",
    invalid_state: "That sign-in expired or was already used. Try again.",
    account_exists: "An account already uses this email. Sign in with your password, then link the provider.",
    email_not_verified: "The provider has not verified your email address.",
    provider_error: "The provider could not sign you in. Try again.",
    identity_taken: "That provider account is linked to another user.",
  };
  return known[code] ?? "Sign-in with the provider failed.";
}
