// A lock shared by every tab of one origin, so that only one tab at a time
// presents the refresh cookie. navigator.locks where the runtime has it (every
// current browser); else an election over a BroadcastChannel; else (a server,
// a worker without either) a lock inside this JavaScript realm only.

export interface Lock {
  run<T>(fn: () => Promise<T>): Promise<T>;
  close(): void;
}

interface LockManagerLike {
  request<T>(name: string, cb: () => Promise<T>): Promise<T>;
}

export function crossTabLock(name: string): Lock {
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  if (locks && typeof locks.request === "function") {
    return { run: (fn) => locks.request(name, fn), close() {} };
  }
  if (typeof BroadcastChannel === "function") return electionLock(name);
  return localLock();
}

/** A mutex inside this realm: callers run one after another. */
export function localLock(): Lock {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run<T>(fn: () => Promise<T>): Promise<T> {
      const next = tail.then(fn, fn);
      tail = next.catch(() => undefined);
      return next;
    },
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

  async function acquire(): Promise<void> {
    for (;;) {
      if (othersHold && Date.now() - othersHold.since < staleMs) {
        await sleep(staleMs);
        continue;
      }
      othersHold = null;
      if (othersClaim && Date.now() - othersClaim.seen < 3 * claimWindowMs) {
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
        return;
      }
      await sleep(othersHold ? staleMs : claimWindowMs * (1 + Math.random()));
    }
  }

  return {
    run<T>(fn: () => Promise<T>): Promise<T> {
      return local.run(async () => {
        await acquire();
        try {
          return await fn();
        } finally {
          holding = false;
          ch.postMessage({ t: "released", id: me } satisfies ElectionMessage);
        }
      });
    },
    close() {
      ch.close();
    },
  };
}
