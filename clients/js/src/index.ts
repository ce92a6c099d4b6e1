// @portcullis/client: the browser (and Node, Deno, Bun, edge) client for
// Portcullis. The cookies carry the session; the client never stores a token.
import { PortcullisError, errorCode } from "./errors.js";
import { crossTabLock, localLock, type Lock } from "./lock.js";
import type {
  AccountExport,
  ActivityEvent,
  AdminUser,
  AuditEvent,
  AuthEvent,
  AuthState,
  ChangeEmailInput,
  ChangePasswordInput,
  CreateUserInput,
  EnrollTotpInput,
  FactorResult,
  FactorsResult,
  Identity,
  MFAChallenge,
  Passkey,
  PasskeyCredentials,
  PasskeyRegistration,
  Provider,
  ReauthenticateInput,
  ResetPasswordInput,
  Session,
  SessionInfo,
  Settings,
  SignInInput,
  SignInResult,
  SignInWithCodeInput,
  SignOutScope,
  SignUpInput,
  SignUpResult,
  SignedIn,
  TotpEnrollment,
  UpdateAdminUserInput,
  UpdateUserInput,
  User,
  VerifyMfaInput,
  WebAuthnProof,
  WebhookDelivery,
} from "./types.js";
import { fromBrowser, toBrowser, type CeremonyOptions } from "./webauthn.js";

export { PortcullisError } from "./errors.js";
export type * from "./types.js";

export interface ClientOptions {
  /** Portcullis's origin, e.g. "https://auth.example.com"; "" (the default) for the page's own origin (a proxy such as Next.js rewrites). */
  baseUrl?: string;
  /** The fetch to use (default: globalThis.fetch). */
  fetch?: typeof globalThis.fetch;
  /**
   * Refresh this long before the access token expires while the page is
   * visible (default: a tenth of the token's lifetime, at most a minute).
   * 0 turns the proactive refresh off; a request that meets an expired token
   * still refreshes.
   */
  refreshMarginMs?: number;
  /** Where passkeys are created and used (default: navigator.credentials). */
  credentials?: PasskeyCredentials;
}

export type AuthChangeCallback = (event: AuthEvent, state: AuthState) => void;

/** True when a sign-in needs its second step. */
export function isMFAChallenge(r: SignInResult): r is MFAChallenge {
  return "mfaRequired" in r && r.mfaRequired === true;
}

// What one tab tells the others, written to localStorage before the refresh
// lock is released: a tab that then takes the lock reads it synchronously.
interface Stamp {
  id: string;
  accessExpiresAt?: string;
  /** Its order: when it was written (ms since the epoch), or just above the newest stamp known then (see #writeStamp, Lock.mark). */
  at?: number;
}

// How long a tab holding the refresh lock waits for a newer stamp another tab
// wrote (see #stampAfterLock) before refreshing itself.
const stampWaitMs = 500;

function sharedStorage(): boolean {
  try {
    return globalThis.localStorage != null;
  } catch {
    return false; // a sandboxed frame throws on reading it
  }
}

type Broadcast = { kind: "auth"; event: AuthEvent; user: User | null; session: Session | null };

type Json = Record<string, unknown> | undefined;

export function createClient(options: ClientOptions = {}) {
  return new PortcullisClient(options);
}

export class PortcullisClient {
  readonly baseUrl: string;
  readonly #fetch: typeof globalThis.fetch;
  readonly #lock: Lock;
  readonly #channel: BroadcastChannel | null;
  readonly #storageKey: string;
  readonly #margin: number | undefined;
  readonly #credentials: PasskeyCredentials | undefined;
  readonly #listeners = new Set<AuthChangeCallback>();
  // undefined: not known yet; null: signed out.
  #state: { user: User | null; session: Session | null } | undefined;
  #mfa: MFAChallenge | undefined;
  // The last refresh stamp of this realm (for runtimes without localStorage).
  #localStamp: Stamp = { id: "initial" };
  // The highest stamp order the lock has shown this tab (Lock.newestMark).
  #newestMark = 0;
  #initial: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #onVisibility: (() => void) | undefined;

  constructor(options: ClientOptions) {
    this.baseUrl = (options.baseUrl ?? "").replace(/\/+$/, "");
    const f = options.fetch ?? globalThis.fetch;
    this.#fetch = (input, init) => f(input, init);
    this.#margin = options.refreshMarginMs;
    this.#credentials = options.credentials;
    const scope = `portcullis:${this.baseUrl || "same-origin"}`;
    this.#storageKey = `${scope}:refresh`;
    this.#lock = hasDocument() ? crossTabLock(`${scope}:refresh`) : localLock();
    this.#channel = typeof BroadcastChannel === "function" && hasDocument() ? new BroadcastChannel(scope) : null;
    if (this.#channel) this.#channel.onmessage = (ev: MessageEvent<Broadcast>) => this.#fromOtherTab(ev.data);
    if (hasDocument()) {
      this.#onVisibility = () => this.#schedule();
      document.addEventListener("visibilitychange", this.#onVisibility);
    }
  }

  /** Stops the timers and listeners (a test, a page that goes away). */
  destroy(): void {
    clearTimeout(this.#timer);
    this.#channel?.close();
    this.#lock.close();
    if (this.#onVisibility) document.removeEventListener("visibilitychange", this.#onVisibility);
    this.#listeners.clear();
  }

  // ---- auth state ----

  /**
   * Calls cb on every change of the session, in this tab and (through a
   * BroadcastChannel) in every other tab of this origin; first with
   * INITIAL_SESSION once the session is known. An MFA_REQUIRED event, with its
   * mfaToken, is delivered only in the tab that signed in.
   */
  onAuthStateChange(cb: AuthChangeCallback): { unsubscribe: () => void } {
    this.#listeners.add(cb);
    void this.#init().then(() => {
      if (this.#listeners.has(cb)) cb("INITIAL_SESSION", this.#snapshot());
    });
    return { unsubscribe: () => void this.#listeners.delete(cb) };
  }

  /** The session as last known, asking Portcullis the first time; null when signed out. */
  async getSession(): Promise<SignedIn | null> {
    await this.#init();
    const s = this.#state;
    return s?.user && s.session ? { user: s.user, session: s.session } : null;
  }

  #init(): Promise<void> {
    this.#initial ??= this.getUser().then(
      () => undefined,
      () => undefined,
    );
    return this.#initial;
  }

  #snapshot(): AuthState {
    return { user: this.#state?.user ?? null, session: this.#state?.session ?? null, ...(this.#mfa ? { mfa: this.#mfa } : {}) };
  }

  #emit(event: AuthEvent, broadcast: boolean): void {
    const state = this.#snapshot();
    for (const cb of [...this.#listeners]) {
      try {
        cb(event, state);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    if (broadcast && this.#channel) {
      // Never the mfaToken: it stays in the tab that received it.
      const msg: Broadcast = { kind: "auth", event, user: state.user, session: state.session };
      this.#channel.postMessage(msg);
    }
  }

  #fromOtherTab(m: Broadcast): void {
    if (m?.kind !== "auth") return;
    if (m.event === "SIGNED_OUT") {
      if (this.#state !== undefined && this.#state.user === null) return; // already signed out here
      this.#state = { user: null, session: null };
      this.#mfa = undefined;
    } else if (m.user) {
      this.#state = { user: m.user, session: m.session ?? this.#state?.session ?? null };
      if (m.event === "SIGNED_IN") this.#mfa = undefined;
    }
    this.#schedule();
    this.#emit(m.event, false);
  }

  // Resolves once the new stamp is recorded (a refresh waits for it).
  #signedIn(r: SignedIn, event: AuthEvent): Promise<void> {
    this.#state = { user: r.user, session: r.session };
    this.#mfa = undefined;
    const recorded = this.#writeStamp(r.session);
    this.#schedule();
    this.#emit(event, true);
    return recorded;
  }

  /** Forgets the session here and in every tab, emitting SIGNED_OUT unless it was already known to be gone. */
  #signedOut(): void {
    const known = this.#state !== undefined && this.#state.user === null;
    this.#state = { user: null, session: null };
    this.#mfa = undefined;
    clearTimeout(this.#timer);
    if (!known) this.#emit("SIGNED_OUT", true);
  }

  // ---- one refresh across tabs ----

  #readStamp(): Stamp {
    try {
      const raw = globalThis.localStorage?.getItem(this.#storageKey);
      if (raw) return JSON.parse(raw) as Stamp;
    } catch {
      // No storage (a server, a locked-down browser): this realm's stamp.
    }
    return this.#localStamp;
  }

  /**
   * The stamp once this tab holds the lock. A tab that still reads the stamp
   * it saw before may be reading too early rather than after a refresh that
   * did not happen: Chromium grants the lock and carries another tab's
   * localStorage write over separate channels, and such a write was seen to
   * arrive ~20 ms after the lock its writer had let go of. When the lock says
   * a newer stamp exists (Lock.newestMark; with the election, a contended
   * lock), this tab waits for that write
   * (the storage event), for at most stampWaitMs. Otherwise, or with a new
   * stamp already here, no wait.
   */
  async #stampAfterLock(contended: boolean, seen: Stamp): Promise<Stamp> {
    const now = this.#readStamp();
    const w = globalThis as { addEventListener?: typeof addEventListener; removeEventListener?: typeof removeEventListener };
    // Without a localStorage the tabs share, no write is on its way.
    if (now.id !== seen.id || !sharedStorage() || typeof w.addEventListener !== "function" || typeof w.removeEventListener !== "function") return now;
    const newest = await this.#lock.newestMark();
    if (newest !== undefined) this.#newestMark = Math.max(this.#newestMark, newest);
    if (!(newest === undefined ? contended : newest > (seen.at ?? 0))) return now;
    const seenId = seen.id;
    return new Promise<Stamp>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        w.removeEventListener!("storage", onStorage);
        resolve(this.#readStamp());
      };
      const onStorage = (e: Event) => {
        if ((e as StorageEvent).key === this.#storageKey && this.#readStamp().id !== seenId) done();
      };
      const timer = setTimeout(done, stampWaitMs);
      w.addEventListener!("storage", onStorage);
    });
  }

  // Resolves once the lock has recorded the stamp (see Lock.mark). `at`
  // orders stamps: the time, or just above the newest stamp known here when
  // the clock is behind it (a clock set back must not leave an idle tab's
  // mark above every stamp written after it, which would make each refresh
  // wait for a write that never comes).
  #writeStamp(session: Session | undefined): Promise<void> {
    const at = Math.max(Date.now(), (this.#readStamp().at ?? 0) + 1, this.#newestMark + 1);
    const s: Stamp = { id: Math.random().toString(36).slice(2) + at.toString(36), accessExpiresAt: session?.accessExpiresAt, at };
    this.#localStamp = s;
    try {
      globalThis.localStorage?.setItem(this.#storageKey, JSON.stringify(s));
    } catch {
      // See #readStamp.
    }
    return this.#lock.mark(at);
  }

  /**
   * Refreshes the session unless some tab already did since `seen` was read;
   * the check and the refresh hold the cross-tab lock, so one refresh token is
   * never presented twice. Returns false when the session is gone.
   */
  async #refreshAfter(seen: Stamp): Promise<boolean> {
    return this.#lock.run(async (contended) => {
      if ((await this.#stampAfterLock(contended, seen)).id !== seen.id) return true;
      try {
        await this.#doRefresh();
        return true;
      } catch (err) {
        if (err instanceof PortcullisError && err.status === 401) {
          this.#signedOut();
          return false;
        }
        throw err;
      }
    });
  }

  // Holds the lock: the one place that presents the refresh cookie.
  async #doRefresh(): Promise<SignedIn> {
    const res = await this.#raw("POST", "/auth/refresh");
    if (!res.ok) throw await PortcullisError.from(res);
    const r = (await res.json()) as SignedIn;
    // The stamp is recorded before the lock is let go.
    await this.#signedIn(r, "TOKEN_REFRESHED");
    return r;
  }

  /**
   * Rotates the session's cookies now (one refresh across tabs: it waits for
   * a refresh another tab is making). Emits TOKEN_REFRESHED; a session that
   * cannot be refreshed throws a 401 PortcullisError and emits SIGNED_OUT.
   */
  async refresh(): Promise<SignedIn> {
    return this.#lock.run(async () => {
      try {
        return await this.#doRefresh();
      } catch (err) {
        if (err instanceof PortcullisError && err.status === 401) this.#signedOut();
        throw err;
      }
    });
  }

  #marginFor(session: Session): number {
    if (this.#margin !== undefined) return this.#margin;
    const life = Date.parse(session.accessExpiresAt) - Date.now();
    // Portcullis states expiry in whole seconds: a margin under a second
    // would get a token that dies at the same second as the one it replaces.
    // Such short lives are refreshed by the next request instead.
    const margin = Math.min(60_000, life / 10);
    return margin < 1_000 ? 0 : margin;
  }

  /** Plans the proactive refresh: shortly before the access token expires, while the page is visible. */
  #schedule(): void {
    clearTimeout(this.#timer);
    const session = this.#state?.session;
    if (!session || !hasDocument() || document.visibilityState !== "visible") return;
    const margin = this.#marginFor(session);
    if (margin <= 0) return;
    const due = Date.parse(session.accessExpiresAt) - margin - Date.now();
    if (due < 0) return; // Already expired or about to: the next request refreshes.
    const seen = this.#readStamp();
    this.#timer = setTimeout(() => void this.#proactive(seen, margin).catch(() => undefined), due);
  }

  async #proactive(seen: Stamp, margin: number): Promise<void> {
    await this.#lock.run(async (contended) => {
      // Another tab may have refreshed while this one waited for the lock.
      const s = await this.#stampAfterLock(contended, seen);
      if (s.id !== seen.id || (s.accessExpiresAt && Date.parse(s.accessExpiresAt) - Date.now() > margin)) {
        if (this.#state?.session && s.accessExpiresAt) this.#state.session = { ...this.#state.session, accessExpiresAt: s.accessExpiresAt };
        this.#schedule();
        return;
      }
      try {
        await this.#doRefresh();
      } catch (err) {
        if (err instanceof PortcullisError && err.status === 401) this.#signedOut();
      }
    });
  }

  // ---- fetch ----

  #url(path: string): string {
    return this.baseUrl + path;
  }

  #raw(method: string, path: string, body?: Json, captcha?: CaptchaOption): Promise<Response> {
    return this.#send(this.#url(path), {
      method,
      headers: headersFor(body, captcha),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async #send(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    try {
      return await this.#fetch(input, { ...init, credentials: "include" });
    } catch (err) {
      throw new PortcullisError({ status: 0, code: "network_error", message: `cannot reach ${this.baseUrl || "the server"}`, cause: err });
    }
  }

  /**
   * fetch with the session's cookies. A 401 token_expired refreshes the
   * session once (one refresh across tabs) and retries once; a 401 after that,
   * or a session that cannot be refreshed, signs out (SIGNED_OUT) and returns
   * the 401. It never loops. A path starting with "/" is on baseUrl.
   */
  async fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const target = typeof input === "string" && input.startsWith("/") ? this.#url(input) : input;
    const original = target instanceof Request ? target.clone() : target;
    const again = () => (original instanceof Request ? original.clone() : original);
    const seen = this.#readStamp();
    const res = await this.#send(target, init);
    if (res.status !== 401) return res;
    const code = await errorCode(res);
    // The browser drops the access cookie when it expires, and sends the
    // refresh cookie only to /auth: another service on this site then sees
    // no cookie at all and can only say "unauthenticated". Past the known
    // expiry, that is an expired token too.
    if (code !== "token_expired" && !(code === "unauthenticated" && this.#pastExpiry(seen))) {
      if (this.#state?.user) this.#signedOut();
      return res;
    }
    if (!(await this.#refreshAfter(seen))) return res;
    let retried = await this.#send(again(), init);
    // Portcullis states expiry in whole seconds: with a lifetime of a second
    // or so, a token refreshed just before a second boundary can be dead by
    // the retry. Only when its own accessExpiresAt says so, one more refresh;
    // any other 401 after the retry signs out. Never more than that.
    if (retried.status === 401 && this.#refreshedTokenDied() && (await errorCode(retried)) === "token_expired") {
      if (!(await this.#refreshUnlessLive())) return retried;
      retried = await this.#send(again(), init);
    }
    if (retried.status === 401) this.#signedOut();
    return retried;
  }

  // Refreshes unless, once the lock is held, the latest stamp names a token
  // that is still live (another tab got one meanwhile).
  async #refreshUnlessLive(): Promise<boolean> {
    const seen = this.#readStamp();
    return this.#lock.run(async (contended) => {
      const at = (await this.#stampAfterLock(contended, seen)).accessExpiresAt;
      if (at !== undefined && Date.parse(at) > Date.now()) return true;
      try {
        await this.#doRefresh();
        return true;
      } catch (err) {
        if (err instanceof PortcullisError && err.status === 401) {
          this.#signedOut();
          return false;
        }
        throw err;
      }
    });
  }

  #refreshedTokenDied(): boolean {
    const at = this.#readStamp().accessExpiresAt;
    return at !== undefined && Date.parse(at) <= Date.now();
  }

  #pastExpiry(seen: Stamp): boolean {
    const at = this.#state?.session?.accessExpiresAt ?? seen.accessExpiresAt;
    return this.#state?.user != null && at !== undefined && Date.parse(at) <= Date.now();
  }

  /** Calls an endpoint and decodes its JSON answer, or throws PortcullisError. */
  async #call<T>(method: string, path: string, body?: Json, opts: { session?: boolean } & CaptchaOption = {}): Promise<T> {
    const res = opts.session
      ? await this.fetch(this.#url(path), {
          method,
          headers: headersFor(body, opts),
          body: body === undefined ? undefined : JSON.stringify(body),
        })
      : await this.#raw(method, path, body, opts);
    if (!res.ok) throw await PortcullisError.from(res);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  #signInResult(r: SignInResult): SignInResult {
    if (isMFAChallenge(r)) {
      this.#mfa = r;
      this.#emit("MFA_REQUIRED", false);
    } else {
      void this.#signedIn(r, "SIGNED_IN");
    }
    return r;
  }

  // ---- accounts and sessions ----

  /** Creates an account and signs in; with AUTH_EMAIL_VERIFICATION=required a link is mailed first. */
  async signUp(input: SignUpInput, { captchaToken }: CaptchaOption = {}): Promise<SignUpResult> {
    const res = await this.#raw("POST", "/auth/register", input, { captchaToken });
    if (!res.ok) throw await PortcullisError.from(res);
    if (res.status === 202) return { status: "accepted", verificationRequired: true };
    const r = (await res.json()) as SignedIn;
    void this.#signedIn(r, "SIGNED_IN");
    return r;
  }

  /** Signs in with a password: `{user, session}`, or the second step (`'mfaRequired' in r`). */
  async signIn(input: SignInInput, { captchaToken }: CaptchaOption = {}): Promise<SignInResult> {
    return this.#signInResult(await this.#call<SignInResult>("POST", "/auth/login", input, { captchaToken }));
  }

  /**
   * The second step, with the mfaToken of signIn (the pending one by default)
   * and a TOTP code, a recovery code, or `webauthn: true` to use one of the
   * user's passkeys (navigator.credentials is called).
   */
  async verifyMfa(
    input: Omit<Partial<VerifyMfaInput>, "webauthn"> & { code?: string; recoveryCode?: string; webauthn?: true | WebAuthnProof } = {},
  ): Promise<SignedIn> {
    const mfaToken = input.mfaToken ?? this.#mfa?.mfaToken;
    if (!mfaToken) throw new PortcullisError({ status: 0, code: "invalid_mfa_token", message: "no second step is pending: sign in first" });
    let body: Json = { ...input, mfaToken };
    if (input.webauthn === true) {
      body = { ...body, webauthn: await this.#assert("/auth/mfa/webauthn/options", { mfaToken }, false) };
    }
    const r = await this.#call<SignedIn>("POST", "/auth/mfa/verify", body);
    void this.#signedIn(r, "SIGNED_IN");
    return r;
  }

  /** The second step with one of the user's passkeys: verifyMfa({webauthn: true}). */
  async verifyMfaWithPasskey(input: { mfaToken?: string } = {}): Promise<SignedIn> {
    return this.verifyMfa({ ...input, webauthn: true });
  }

  /** Ends this session (local, the default), the user's other sessions (others), or all (global). */
  async signOut({ scope = "local" }: { scope?: SignOutScope } = {}): Promise<void> {
    const res = await this.fetch(this.#url(`/auth/logout?scope=${scope}`), { method: "POST" });
    if (!res.ok && res.status !== 401) throw await PortcullisError.from(res);
    if (scope !== "others" || res.status === 401) this.#signedOut();
  }

  /** The signed-in user and this session. */
  async getUser(): Promise<SignedIn> {
    try {
      const r = await this.#call<SignedIn>("GET", "/auth/me", undefined, { session: true });
      const had = this.#state?.user;
      this.#state = { user: r.user, session: r.session };
      this.#schedule();
      if (had && had.id !== r.user.id) this.#emit("SIGNED_IN", true);
      return r;
    } catch (err) {
      if (err instanceof PortcullisError && err.status === 401) this.#state = { user: null, session: null };
      throw err;
    }
  }

  /**
   * Changes the signed-in user's profile; emits USER_UPDATED. `metadata` is a
   * JSON merge patch (RFC 7396) of the user's metadata: keys merge, null
   * removes one (at most 4 KiB and 5 levels deep, else 422).
   */
  async updateUser(input: UpdateUserInput): Promise<User> {
    const { user } = await this.#call<{ user: User }>("PATCH", "/auth/me", input, { session: true });
    this.#userUpdated(user);
    return user;
  }

  #userUpdated(user: User): void {
    if (this.#state?.user && this.#state.user.id === user.id) {
      this.#state = { user, session: this.#state.session };
      this.#emit("USER_UPDATED", true);
    }
  }

  /**
   * Deletes the signed-in user's account: every session ends, the cookies are
   * cleared, the address may register again. Needs a fresh session, or (for
   * a user without a second factor) currentPassword; else 403
   * reauthentication_required (see reauthenticate). Emits SIGNED_OUT.
   */
  async deleteAccount({ currentPassword }: { currentPassword?: string } = {}): Promise<void> {
    await this.#call("DELETE", "/auth/me", currentPassword === undefined ? {} : { currentPassword }, { session: true });
    this.#signedOut();
  }

  /** Everything Portcullis keeps about the signed-in user, never a secret (needs a fresh session). */
  async exportAccount(): Promise<AccountExport> {
    return this.#call<AccountExport>("GET", "/auth/me/export", undefined, { session: true });
  }

  /**
   * What a sign-in page needs (public, no secret): the verification policy,
   * the CAPTCHA provider and site key and the actions that need a token
   * (pass it as `{captchaToken}`), the allowed domains, the password policy,
   * the sign-in methods and providers.
   */
  async getSettings(): Promise<Settings> {
    return this.#call<Settings>("GET", "/auth/settings");
  }

  /** This user's live sessions (current marks this one). */
  async listSessions(): Promise<SessionInfo[]> {
    return (await this.#call<{ sessions: SessionInfo[] }>("GET", "/auth/sessions", undefined, { session: true })).sessions;
  }

  /** Ends one of the user's sessions; ending this one signs out. */
  async revokeSession(id: string): Promise<void> {
    await this.#call("DELETE", `/auth/sessions/${encodeURIComponent(id)}`, undefined, { session: true });
    if (this.#state?.session?.id === id) this.#signedOut();
  }

  /** The account's recent security events. */
  async listActivity(): Promise<ActivityEvent[]> {
    return (await this.#call<{ events: ActivityEvent[] }>("GET", "/auth/activity", undefined, { session: true })).events;
  }

  /** Changes the password (the current one is required); the user's other sessions end. */
  async changePassword(input: ChangePasswordInput): Promise<void> {
    await this.#call("POST", "/auth/password", input, { session: true });
  }

  /** Mails a reset link if the address has an account (the answer is the same either way). */
  async requestPasswordReset(email: string, { captchaToken }: CaptchaOption = {}): Promise<void> {
    await this.#call("POST", "/auth/password/forgot", { email }, { captchaToken });
  }

  /** Sets a new password with the token of a reset link; every session of the user ends. Emits PASSWORD_RECOVERY. */
  async resetPassword(input: ResetPasswordInput): Promise<void> {
    await this.#call("POST", "/auth/password/reset", input);
    this.#emit("PASSWORD_RECOVERY", false);
  }

  /** Confirms the email address with the token of a verification link. */
  async verifyEmail(token: string): Promise<User> {
    const { user } = await this.#call<{ user: User }>("POST", "/auth/email/verify", { token });
    this.#userUpdated(user);
    return user;
  }

  /** Mails a new verification link if the address has an unverified account. */
  async resendVerification(email: string, { captchaToken }: CaptchaOption = {}): Promise<void> {
    await this.#call("POST", "/auth/email/verify/resend", { email }, { captchaToken });
  }

  /** Mails a sign-in link and code if the address has an account. */
  async requestSignInCode(email: string, { captchaToken }: CaptchaOption = {}): Promise<void> {
    await this.#call("POST", "/auth/sign-in/email", { email }, { captchaToken });
  }

  /** Signs in with a mailed link's token, or the address and the mailed code; the same union as signIn. */
  async signInWithCode(input: SignInWithCodeInput): Promise<SignInResult> {
    return this.#signInResult(await this.#call<SignInResult>("POST", "/auth/sign-in/email/verify", input));
  }

  /** Mails a confirmation link to a new address. */
  async changeEmail(input: ChangeEmailInput): Promise<void> {
    await this.#call("POST", "/auth/email/change", input, { session: true });
  }

  /** Confirms an email change with the token of its link. */
  async confirmEmailChange(token: string): Promise<User> {
    const { user } = await this.#call<{ user: User }>("POST", "/auth/email/change/confirm", { token }, { session: true });
    this.#userUpdated(user);
    return user;
  }

  // ---- second factors ----

  /** Starts enrolling an authenticator app: the secret and its QR code. */
  async enrollTotp(input: EnrollTotpInput = {}): Promise<TotpEnrollment> {
    return this.#call<TotpEnrollment>("POST", "/auth/mfa/totp", input, { session: true });
  }

  /** Activates an authenticator app with its first code; the first factor brings recovery codes. */
  async verifyTotp(factorId: string, code: string): Promise<FactorResult> {
    return this.#call<FactorResult>("POST", `/auth/mfa/totp/${encodeURIComponent(factorId)}/verify`, { code }, { session: true });
  }

  /** The user's second factors and how many recovery codes are left. */
  async listFactors(): Promise<FactorsResult> {
    return this.#call<FactorsResult>("GET", "/auth/mfa", undefined, { session: true });
  }

  /** Removes a second factor (needs a recent sign-in: see reauthenticate). */
  async removeFactor(id: string): Promise<void> {
    await this.#call("DELETE", `/auth/mfa/${encodeURIComponent(id)}`, undefined, { session: true });
  }

  /** Replaces the recovery codes with ten new ones, shown once. */
  async regenerateRecoveryCodes(): Promise<string[]> {
    return (await this.#call<{ recoveryCodes: string[] }>("POST", "/auth/mfa/recovery-codes", undefined, { session: true })).recoveryCodes;
  }

  /**
   * Proves the user again (password, TOTP code, recovery code, or
   * `webauthn: true` for one of the user's passkeys) for a sensitive change.
   */
  async reauthenticate(input: Omit<ReauthenticateInput, "webauthn"> & { webauthn?: true | WebAuthnProof }): Promise<Session> {
    const body: Json =
      input.webauthn === true ? { ...input, webauthn: await this.#assert("/auth/reauthenticate/webauthn/options", undefined, true) } : { ...input };
    const { session } = await this.#call<{ session: Session }>("POST", "/auth/reauthenticate", body, { session: true });
    if (this.#state?.user) this.#state = { user: this.#state.user, session };
    return session;
  }

  /** reauthenticate({webauthn: true}): proves the user again with one of their passkeys. */
  async reauthenticateWithPasskey(): Promise<Session> {
    return this.reauthenticate({ webauthn: true });
  }

  // ---- passkeys ----

  #webauthn(): PasskeyCredentials {
    const c = this.#credentials ?? (globalThis.navigator?.credentials as PasskeyCredentials | undefined);
    if (!c) throw new PortcullisError({ status: 0, code: "unsupported", message: "passkeys need navigator.credentials (a browser over https or on localhost)" });
    return c;
  }

  /**
   * One assertion: options (with a flowId) from optionsPath, then
   * navigator.credentials.get; the proof Portcullis takes. A cancelled or
   * refused browser prompt throws the browser's DOMException (NotAllowedError).
   */
  async #assert(optionsPath: string, body: Json, session: boolean): Promise<WebAuthnProof> {
    const credentials = this.#webauthn();
    const { flowId, options } = await this.#call<CeremonyOptions>("POST", optionsPath, body, { session });
    const cred = await credentials.get(toBrowser(options) as unknown as CredentialRequestOptions);
    if (!cred) throw new PortcullisError({ status: 0, code: "invalid_passkey", message: "no passkey was used" });
    return { flowId, credential: fromBrowser(cred) as WebAuthnProof["credential"] };
  }

  /**
   * Creates a passkey for the signed-in user (navigator.credentials.create)
   * and registers it. A first factor comes with recovery codes, shown once.
   */
  async registerPasskey({ name }: { name?: string } = {}): Promise<PasskeyRegistration> {
    const credentials = this.#webauthn();
    const { flowId, options } = await this.#call<CeremonyOptions>("POST", "/auth/passkeys/register/options", undefined, { session: true });
    const cred = await credentials.create(toBrowser(options) as unknown as CredentialCreationOptions);
    if (!cred) throw new PortcullisError({ status: 0, code: "invalid_passkey", message: "no passkey was created" });
    const body: Json = { flowId, credential: fromBrowser(cred), ...(name ? { name } : {}) };
    return this.#call<PasskeyRegistration>("POST", "/auth/passkeys/register", body, { session: true });
  }

  /**
   * Signs in with a passkey alone (the authenticator offers the ones it holds
   * for this site): `{user, session}`, or the second step, like signIn.
   */
  async signInWithPasskey({ rememberMe }: { rememberMe?: boolean } = {}): Promise<SignInResult> {
    const proof = await this.#assert("/auth/passkeys/login/options", undefined, false);
    const body: Json = { ...proof, ...(rememberMe === undefined ? {} : { rememberMe }) };
    return this.#signInResult(await this.#call<SignInResult>("POST", "/auth/passkeys/login", body));
  }

  /** The signed-in user's passkeys. */
  async listPasskeys(): Promise<Passkey[]> {
    return (await this.#call<{ passkeys: Passkey[] }>("GET", "/auth/passkeys", undefined, { session: true })).passkeys;
  }

  /** Renames one of the user's passkeys. */
  async renamePasskey(id: string, name: string): Promise<Passkey> {
    return (await this.#call<{ passkey: Passkey }>("PATCH", `/auth/passkeys/${encodeURIComponent(id)}`, { name }, { session: true })).passkey;
  }

  /** Removes a passkey (needs a recent sign-in: see reauthenticate). */
  async removePasskey(id: string): Promise<void> {
    await this.#call("DELETE", `/auth/passkeys/${encodeURIComponent(id)}`, undefined, { session: true });
  }

  // ---- social sign-in (OpenID Connect) ----

  /** The providers Portcullis offers (AUTH_OIDC_PROVIDERS), in order. */
  async listProviders(): Promise<Provider[]> {
    return (await this.#call<{ providers: Provider[] }>("GET", "/auth/oidc")).providers;
  }

  /**
   * Where signInWithProvider goes: for a plain link (`<a href>`), which is a
   * top-level navigation as the flow needs. redirectTo (default: this page)
   * must be on AUTH_APP_URL's origin or in AUTH_ALLOWED_ORIGINS.
   */
  providerUrl(name: string, { redirectTo }: { redirectTo?: string } = {}): string {
    const to = redirectTo ?? globalThis.location?.href;
    return this.#absolute(`/auth/oidc/${encodeURIComponent(name)}${query({ redirectTo: to })}`);
  }

  /**
   * Signs in with a provider: navigates this page to it (it comes back to
   * redirectTo, signed in, or with ?error=…, or #mfa_token=… for the second
   * step). Returns the URL it navigated to.
   */
  signInWithProvider(name: string, options: { redirectTo?: string } = {}): string {
    const url = this.providerUrl(name, options);
    navigate(url);
    return url;
  }

  /**
   * Links an identity at a provider to the signed-in user (needs a recent
   * sign-in): gets the provider's URL, then navigates there; the browser
   * comes back to redirectTo (default: this page), with ?error=… on failure.
   * Returns the URL it navigated to.
   */
  async linkIdentity(name: string, { redirectTo }: { redirectTo?: string } = {}): Promise<string> {
    const to = redirectTo ?? globalThis.location?.href;
    const { url } = await this.#call<{ url: string }>("POST", `/auth/identities/${encodeURIComponent(name)}`, { redirectTo: to }, { session: true });
    navigate(url);
    return url;
  }

  /**
   * On the page a provider came back to (redirectTo): reads and removes
   * `?error=…` and `#mfa_token=…` from the address bar. A second step becomes
   * the pending one (MFA_REQUIRED, in this tab only) for verifyMfa. Signed in
   * otherwise: the cookies are set (getUser).
   */
  providerReturn(): { error?: string; mfa?: MFAChallenge } {
    const loc = globalThis.location;
    if (!loc) return {};
    const q = new URLSearchParams(loc.search);
    const frag = new URLSearchParams(loc.hash.slice(1));
    const error = q.get("error") ?? undefined;
    const token = frag.get("mfa_token");
    if (error || token) globalThis.history?.replaceState(null, "", loc.pathname); // the token leaves the address bar
    if (!token) return error ? { error } : {};
    const methods = (frag.get("methods") ?? "totp,recovery_code").split(",") as MFAChallenge["methods"];
    const mfa: MFAChallenge = { mfaRequired: true, mfaToken: token, methods, expiresAt: frag.get("expires_at") ?? "" };
    this.#signInResult(mfa);
    return { ...(error ? { error } : {}), mfa };
  }

  /** The signed-in user's identities at providers, oldest first. */
  async listIdentities(): Promise<Identity[]> {
    return (await this.#call<{ identities: Identity[] }>("GET", "/auth/identities", undefined, { session: true })).identities;
  }

  /** Unlinks an identity (needs a recent sign-in; the only way in is 409 last_login_method). */
  async unlinkIdentity(id: string): Promise<void> {
    await this.#call("DELETE", `/auth/identities/${encodeURIComponent(id)}`, undefined, { session: true });
  }

  #absolute(path: string): string {
    const url = this.#url(path);
    const here = globalThis.location?.href;
    return here ? new URL(url, here).href : url;
  }

  // ---- administration (the admin role) ----

  readonly admin = {
    listUsers: async (q: { page?: number; limit?: number; email?: string } = {}): Promise<{ users: AdminUser[]; total: number }> =>
      this.#call("GET", `/admin/users${query(q)}`, undefined, { session: true }),
    getUser: async (id: string): Promise<AdminUser> =>
      (await this.#call<{ user: AdminUser }>("GET", `/admin/users/${encodeURIComponent(id)}`, undefined, { session: true })).user,
    updateUser: async (id: string, input: UpdateAdminUserInput): Promise<AdminUser> =>
      (await this.#call<{ user: AdminUser }>("PATCH", `/admin/users/${encodeURIComponent(id)}`, input, { session: true })).user,
    revokeSessions: async (id: string): Promise<void> =>
      this.#call("DELETE", `/admin/users/${encodeURIComponent(id)}/sessions`, undefined, { session: true }),
    sendPasswordReset: async (id: string): Promise<void> =>
      void (await this.#call("POST", `/admin/users/${encodeURIComponent(id)}/password-reset`, undefined, { session: true })),
    resetMfa: async (id: string): Promise<void> =>
      this.#call("DELETE", `/admin/users/${encodeURIComponent(id)}/mfa`, undefined, { session: true }),
    listAudit: async (q: { userId?: string; type?: string; limit?: number } = {}): Promise<AuditEvent[]> =>
      (await this.#call<{ events: AuditEvent[] }>("GET", `/admin/audit${query(q)}`, undefined, { session: true })).events,
    /** Creates a user: with a password (the address counts as verified), or without one (an invitation is mailed). */
    createUser: async (input: CreateUserInput): Promise<AdminUser> =>
      (await this.#call<{ user: AdminUser }>("POST", "/admin/users", input, { session: true })).user,
    /** Deletes a user as DELETE /auth/me does (needs the administrator's session fresh; 409 last_admin). */
    deleteUser: async (id: string): Promise<void> =>
      this.#call("DELETE", `/admin/users/${encodeURIComponent(id)}`, undefined, { session: true }),
    /** Webhook deliveries, newest first; status "failed" for those whose last attempt failed. */
    listWebhookDeliveries: async (
      q: { status?: "failed"; page?: number; limit?: number } = {},
    ): Promise<{ deliveries: WebhookDelivery[]; total: number }> =>
      this.#call("GET", `/admin/webhooks/deliveries${query(q)}`, undefined, { session: true }),
    /** Sends a delivery that failed for good again (same webhook-id). */
    retryWebhookDelivery: async (id: number): Promise<void> =>
      void (await this.#call("POST", `/admin/webhooks/deliveries/${encodeURIComponent(String(id))}/retry`, undefined, { session: true })),
    liftLockout: async (email: string): Promise<void> =>
      this.#call("DELETE", `/admin/lockouts${query({ email })}`, undefined, { session: true }),
  };
}

/** A CAPTCHA widget's token, sent as X-Captcha-Token (see getSettings). */
export interface CaptchaOption {
  captchaToken?: string;
}

function headersFor(body: Json, captcha?: CaptchaOption): Record<string, string> | undefined {
  const h: Record<string, string> = {};
  if (body !== undefined) h["Content-Type"] = "application/json";
  if (captcha?.captchaToken) h["X-Captcha-Token"] = captcha.captchaToken;
  return Object.keys(h).length ? h : undefined;
}

function query(q: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : "";
}

// Top-level navigation: the OpenID Connect flow cannot go through fetch.
function navigate(url: string): void {
  const loc = globalThis.location;
  if (!loc || typeof loc.assign !== "function") throw new PortcullisError({ status: 0, code: "unsupported", message: `navigate to ${url} (no location here)` });
  loc.assign(url);
}

function hasDocument(): boolean {
  return typeof document !== "undefined" && typeof window !== "undefined";
}
