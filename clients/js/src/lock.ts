// A lock shared by every tab of one origin, so that only one tab at a time
// presents the refresh cookie. navigator.locks where the runtime has it (every
// current browser); else an election over a BroadcastChannel; else (a server,
// a worker without either) a lock inside this JavaScript realm only.

export interface Lock {
  /**
   * Runs fn holding the lock. fn is told whether it had to wait for another
   * holder (contended): that holder may have just refreshed, and in another
   * tab what it wrote to localStorage can arrive a moment after the lock
   * does.
   */
  run<T>(fn: (contended: boolean) => Promise<T>): Promise<T>;
  /**
   * Records, where every tab sees it as soon as it next holds the lock, that
   * this tab wrote the refresh stamp ordered `at`. Resolves once recorded (or
   * refused): a holder calls it before letting go.
   */
  mark(at: number): Promise<void>;
  /**
   * The highest `at` an open tab has recorded (mark), or undefined where the
   * lock keeps no such record (then only `contended` tells that another tab
   * held it, and may have written a stamp).
   */
  newestMark(): Promise<number | undefined>;
  close(): void;
}

interface LockManagerLike {
  request<T>(name: string, cb: (lock: unknown) => Promise<T>): Promise<T>;
  request<T>(name: string, options: { ifAvailable: boolean }, cb: (lock: unknown) => Promise<T>): Promise<T>;
  query(): Promise<{ held?: { name?: string }[] }>;
}

export function crossTabLock(name: string): Lock {
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  if (locks && typeof locks.request === "function" && typeof locks.query === "function") return webLock(locks, name);
  if (typeof BroadcastChannel === "function") return electionLock(name);
  return localLock();
}

/**
 * navigator.locks. The lock manager is one authority for every tab of the
 * origin, unlike localStorage, whose writes reach other tabs a moment later
 * and over another channel: a tab can be granted the lock before the stamp
 * its last holder wrote has arrived. So a tab also holds a second lock named
 * after its latest stamp's time (`<name>:stamp:<at>`, one per tab, replaced
 * by its next stamp), taken before it lets the refresh lock go: a tab that
 * then holds the refresh lock and still reads an old stamp asks the lock
 * manager (query) whether a newer one exists, and waits for it rather than
 * refresh again. A tab that closes drops its mark; the tabs left then see
 * its stamp in localStorage long since, or refresh once more (harmless: the
 * lock still keeps one refresh token from being presented twice).
 */
function webLock(locks: LockManagerLike, name: string): Lock {
  const prefix = `${name}:stamp:`;
  let current = 0;
  let release: (() => void) | null = null;
  return {
    // Free now: take it. Held: wait for it, and say so.
    run: (fn) => locks.request(name, { ifAvailable: true }, (lock) => (lock ? fn(false) : locks.request(name, () => fn(true)))),
    mark(at) {
      const mine = ++current;
      release?.();
      release = null;
      return new Promise<void>((recorded) => {
        locks
          .request(`${prefix}${at}`, { ifAvailable: true }, (lock) => {
            recorded();
            if (!lock || mine !== current) return Promise.resolve();
            return new Promise<void>((r) => {
              release = r;
            });
          })
          // A request refused outright must not hold up the refresh lock.
          .then(recorded, recorded);
      });
    },
    async newestMark() {
      const { held = [] } = await locks.query();
      let newest = 0;
      for (const l of held) {
        const at = l.name?.startsWith(prefix) ? Number(l.name.slice(prefix.length)) : NaN;
        if (at > newest) newest = at;
      }
      return newest;
    },
    close() {
      current++;
      release?.();
      release = null;
    },
  };
}

/**
 * A mutex inside this realm: callers run one after another. It never reports
 * contention: what a holder wrote is already visible to the next one here.
 */
export function localLock(): Lock {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run<T>(fn: (contended: boolean) => Promise<T>): Promise<T> {
      const next = tail.then(
        () => fn(false),
        () => fn(false),
      );
      tail = next.catch(() => undefined);
      return next;
    },
    // One realm: a stamp written here is read here at once.
    mark: () => Promise.resolve(),
    newestMark: () => Promise.resolve(undefined),
    close() {},
  };
}

type ElectionMessage =
  | { t: "claim"; id: string; at: number }
  | { t: "held"; id: string; to: string }
  | { t: "released"; id: string };

// How long a claimant listens for a better claim or a holder's answer. Tabs of
// one origin share a process-local channel, so messages arrive in far less.
const claimWindowMs = 40;
// A holder that died without releasing (a closed tab) is forgotten after this.
const staleMs = 10_000;

/**
 * A lock by election over a BroadcastChannel, for browsers without
 * navigator.locks. A tab claims the lock and listens briefly: of two tabs
 * claiming at once the earlier claim (then the smaller id) wins; a tab that
 * wins says so ("held") and a holder answers every claim with "held"; a tab
 * that saw another's claim just before its own waits for that one to settle.
 * Losers wait for "released" and claim again.
 */
function electionLock(name: string): Lock {
  const ch = new BroadcastChannel(name);
  (ch as { unref?: () => void }).unref?.();
  const me = Math.random().toString(36).slice(2) + Date.now().toString(36);
  const local = localLock();
  let holding = false;
  let myClaim: { at: number } | null = null;
  let lost = false;
  let othersHold: { id: string; since: number } | null = null;
  let othersClaim: { id: string; seen: number } | null = null;
  let wake: (() => void) | null = null;

  ch.onmessage = (ev: MessageEvent<ElectionMessage>) => {
    const m = ev.data;
    if (!m || m.id === me) return;
    if (m.t === "claim") {
      if (holding) {
        ch.postMessage({ t: "held", id: me, to: m.id } satisfies ElectionMessage);
      } else if (myClaim) {
        if (m.at < myClaim.at || (m.at === myClaim.at && m.id < me)) lost = true;
      } else {
        othersClaim = { id: m.id, seen: Date.now() };
      }
    } else if (m.t === "held") {
      othersHold = { id: m.id, since: Date.now() };
      if (myClaim) lost = true;
    } else if (m.t === "released") {
      if (othersHold?.id === m.id) othersHold = null;
      if (othersClaim?.id === m.id) othersClaim = null;
      wake?.();
    }
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        if (wake === done) wake = null;
        resolve();
      }
      wake = done;
    });

  // Resolves once this tab holds the lock: true when another tab held or
  // claimed it meanwhile.
  async function acquire(): Promise<boolean> {
    let waited = false;
    for (;;) {
      if (othersHold && Date.now() - othersHold.since < staleMs) {
        waited = true;
        await sleep(staleMs);
        continue;
      }
      othersHold = null;
      if (othersClaim && Date.now() - othersClaim.seen < 3 * claimWindowMs) {
        waited = true;
        await sleep(claimWindowMs * (1 + Math.random()));
        continue;
      }
      othersClaim = null;
      lost = false;
      myClaim = { at: Date.now() };
      ch.postMessage({ t: "claim", id: me, at: myClaim.at } satisfies ElectionMessage);
      await new Promise((r) => setTimeout(r, claimWindowMs));
      const won = !lost;
      myClaim = null;
      if (won) {
        holding = true;
        ch.postMessage({ t: "held", id: me, to: "*" } satisfies ElectionMessage);
        return waited;
      }
      waited = true;
      await sleep(othersHold ? staleMs : claimWindowMs * (1 + Math.random()));
    }
  }

  return {
    run<T>(fn: (contended: boolean) => Promise<T>): Promise<T> {
      return local.run(async () => {
        const contended = await acquire();
        try {
          return await fn(contended);
        } finally {
          holding = false;
          ch.postMessage({ t: "released", id: me } satisfies ElectionMessage);
        }
      });
    },
    // No authority every tab shares: only `contended` tells that another
    // tab held the lock (and may have refreshed).
    mark: () => Promise.resolve(),
    newestMark: () => Promise.resolve(undefined),
    close() {
      ch.close();
    },
  };
}
