// @portcullis/client/server: helpers for code that runs on a server (Next.js
// middleware, route handlers, server components and server actions, any Node
// server, edge runtimes). They forward the browser's cookies (or its
// Authorization header) to Portcullis and never keep anything.
import { PortcullisError } from "./errors.js";
import type { Session, SignedIn, User } from "./types.js";

export { PortcullisError } from "./errors.js";
export type { Session, SignedIn, User } from "./types.js";

export interface ServerOptions {
  /** Portcullis's URL as this server reaches it (default: the PORTCULLIS_URL environment variable). */
  baseUrl?: string;
  fetch?: typeof globalThis.fetch;
}

/** A request's credentials: a Cookie header value, a Request, or Headers. */
export type Credentials = string | Request | Headers | null | undefined;

/** What /auth/verify reports about the caller. */
export interface Principal {
  userId: string;
  email: string;
  role: "user" | "admin";
  emailVerified: boolean;
  sessionId: string;
  aal: number;
}

function base(opts: ServerOptions): string {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const url = opts.baseUrl ?? env?.PORTCULLIS_URL;
  if (!url) throw new Error("@portcullis/client/server: pass baseUrl or set PORTCULLIS_URL");
  return url.replace(/\/+$/, "");
}

function forwarded(from: Credentials): Headers {
  const h = new Headers();
  if (!from) return h;
  if (typeof from === "string") {
    h.set("Cookie", from);
    return h;
  }
  const src = from instanceof Headers ? from : from.headers;
  const cookie = src.get("Cookie");
  const authz = src.get("Authorization");
  if (cookie) h.set("Cookie", cookie);
  if (authz) h.set("Authorization", authz);
  return h;
}

async function send(opts: ServerOptions, path: string, init: RequestInit): Promise<Response> {
  const f = opts.fetch ?? globalThis.fetch;
  try {
    return await f(base(opts) + path, { ...init, cache: "no-store", redirect: "manual" });
  } catch (err) {
    throw new PortcullisError({ status: 0, code: "network_error", message: "cannot reach Portcullis", cause: err });
  }
}

/**
 * The signed-in user and session of a request (GET /auth/me with its
 * cookies), or null when it carries no live session (a 401, including an
 * expired access token: the browser refreshes, not the server).
 */
export async function getSession(from: Credentials, opts: ServerOptions = {}): Promise<SignedIn | null> {
  const headers = forwarded(from);
  if (!headers.has("Cookie") && !headers.has("Authorization")) return null;
  const res = await send(opts, "/auth/me", { headers });
  if (res.status === 401) return null;
  if (!res.ok) throw await PortcullisError.from(res);
  return (await res.json()) as SignedIn;
}

/** Like getSession, but throws a 401 PortcullisError when there is no session. */
export async function requireSession(from: Credentials, opts: ServerOptions = {}): Promise<SignedIn> {
  const s = await getSession(from, opts);
  if (!s) throw new PortcullisError({ status: 401, code: "unauthenticated", message: "sign in to continue" });
  return s;
}

/**
 * Asks Portcullis (GET /auth/verify) whether a request may go on: a live
 * session, and optionally the admin role, a second factor (aal 2) or a
 * verified email. Throws PortcullisError 401 or 403 otherwise.
 */
export async function verify(
  from: Credentials,
  req: { role?: "user" | "admin"; aal?: 1 | 2; emailVerified?: boolean } = {},
  opts: ServerOptions = {},
): Promise<Principal> {
  const q = new URLSearchParams();
  if (req.role) q.set("role", req.role);
  if (req.aal) q.set("aal", String(req.aal));
  if (req.emailVerified) q.set("verified", "true");
  const qs = q.toString();
  const res = await send(opts, "/auth/verify" + (qs ? `?${qs}` : ""), { headers: forwarded(from) });
  if (!res.ok) throw await PortcullisError.from(res);
  const h = res.headers;
  return {
    userId: h.get("X-Auth-User-Id") ?? "",
    email: h.get("X-Auth-User-Email") ?? "",
    role: (h.get("X-Auth-User-Role") ?? "user") as Principal["role"],
    emailVerified: h.get("X-Auth-User-Email-Verified") === "true",
    sessionId: h.get("X-Auth-Session-Id") ?? "",
    aal: Number(h.get("X-Auth-AAL") ?? "1"),
  };
}

/** A cookie Portcullis set or cleared, for a framework's cookie API (Next.js `cookies().set`). */
export interface SetCookie {
  name: string;
  value: string;
  path?: string;
  domain?: string;
  maxAge?: number;
  expires?: Date;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: "lax" | "strict" | "none";
}

/** Parses one Set-Cookie header value. */
export function parseSetCookie(header: string): SetCookie {
  const [pair = "", ...attrs] = header.split(";");
  const eq = pair.indexOf("=");
  const c: SetCookie = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim() };
  for (const a of attrs) {
    const [k = "", v = ""] = a.split("=").map((s) => s.trim());
    switch (k.toLowerCase()) {
      case "path": c.path = v; break;
      case "domain": c.domain = v; break;
      case "max-age": c.maxAge = Number(v); break;
      case "expires": c.expires = new Date(v); break;
      case "httponly": c.httpOnly = true; break;
      case "secure": c.secure = true; break;
      case "samesite": c.sameSite = v.toLowerCase() as SetCookie["sameSite"]; break;
    }
  }
  return c;
}

/**
 * Ends the request's session on Portcullis (POST /auth/logout) and returns
 * the cookies to clear, for a server action to pass on to the browser.
 */
export async function signOut(
  from: Credentials,
  { scope = "local", ...opts }: ServerOptions & { scope?: "local" | "others" | "global" } = {},
): Promise<SetCookie[]> {
  const res = await send(opts, `/auth/logout?scope=${scope}`, { method: "POST", headers: forwarded(from) });
  if (!res.ok && res.status !== 401) throw await PortcullisError.from(res);
  return res.headers.getSetCookie().map(parseSetCookie);
}

export type { User as PortcullisUser, Session as PortcullisSession };
