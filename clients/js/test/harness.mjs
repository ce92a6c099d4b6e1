// Starts a real Portcullis binary (built from this repository unless
// PORTCULLIS_BIN names one) on a loopback port with SQLite in a temporary
// directory, and gives tests a cookie jar so Node behaves like a browser.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(fileURLToPath(import.meta.url), "../../../..");

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on("error", fail);
  });
}

let built;
function binary(dir) {
  if (process.env.PORTCULLIS_BIN) return process.env.PORTCULLIS_BIN;
  if (!built) {
    built = join(dir, "portcullis");
    execFileSync("go", ["build", "-o", built, "."], { cwd: repo, stdio: "inherit" });
  }
  return built;
}

export const password = "correct horse battery staple";

/** Starts Portcullis with env on top of the test defaults; stop() ends it. */
export async function startPortcullis(env = {}) {
  const dir = mkdtempSync(join(tmpdir(), "portcullis-js-"));
  const exe = binary(dir);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(exe, [], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      AUTH_ADDR: `127.0.0.1:${port}`,
      AUTH_DATABASE_URL: `sqlite:${join(dir, "auth.db")}`,
      AUTH_COOKIE_SECURE: "false",
      AUTH_RATE_LIMIT_IP: "100000/m",
      AUTH_APP_URL: "http://app.test",
      AUTH_SHUTDOWN_DRAIN: "0s",
      ...env,
      // "self": this instance's own URL (the port is chosen here).
      ...(env.AUTH_PUBLIC_URL === "self" ? { AUTH_PUBLIC_URL: url } : {}),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let log = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (log += d));
  const exited = new Promise((r) => child.on("exit", r));
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(url + "/healthz");
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (i > 200 || child.exitCode !== null) throw new Error(`Portcullis did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    /** The mails printed so far (development mail goes to standard output). */
    mails: () =>
      out
        .split(/\n─{72}\n  mail to /)
        .slice(1)
        .map((m) => {
          const [head, text = ""] = m.split(/\n─{72}\n/);
          const [to, subject] = head.split("\n  subject: ");
          return { to: to.trim(), subject: (subject ?? "").trim(), text };
        }),
    /** Waits for the latest mail to `to` matching re, and returns re's first group. */
    async mailed(to, re, after = 0) {
      for (let i = 0; i < 100; i++) {
        const ms = this.mails().filter((m) => m.to === to).slice(after);
        for (const m of ms.reverse()) {
          const hit = re.exec(m.text);
          if (hit) return hit[1];
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no mail to ${to} matching ${re}`);
    },
    log: () => log,
    async stop() {
      child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A fetch with a cookie jar (path-scoped, like a browser's) that counts the
 * requests per path, so a test can assert the work done.
 */
export function jar(base) {
  const cookies = new Map(); // name -> {value, path}
  const calls = [];
  async function f(input, init = {}) {
    const req = new Request(input, init);
    const u = new URL(req.url);
    const headers = new Headers(req.headers);
    // As a browser does: a cookie past its Max-Age is gone.
    for (const [n, c] of cookies) if (c.expires !== undefined && c.expires <= Date.now()) cookies.delete(n);
    const send = [...cookies].filter(([, c]) => u.pathname.startsWith(c.path)).map(([n, c]) => `${n}=${c.value}`);
    if (send.length) headers.set("Cookie", send.join("; "));
    calls.push(`${req.method} ${u.pathname}`);
    const res = await fetch(u, { method: req.method, headers, body: init.body, redirect: "manual" });
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const path = attrs.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith("path="))?.slice(5) ?? "/";
      const maxAge = attrs.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith("max-age="));
      if (value === "" || (maxAge && Number(maxAge.slice(8)) <= 0)) cookies.delete(name);
      else cookies.set(name, { value, path, expires: maxAge ? Date.now() + 1000 * Number(maxAge.slice(8)) : undefined });
    }
    return res;
  }
  f.cookies = cookies;
  f.calls = calls;
  f.count = (what) => calls.filter((c) => c === what).length;
  f.cookieHeader = () => [...cookies].map(([n, c]) => `${n}=${c.value}`).join("; ");
  return f;
}
