// Account lifecycle and abuse controls through @portcullis/client, against a
// real Portcullis binary (loopback, SQLite): metadata merge patch, deleting
// and exporting an account, admin-created and -deleted users, webhook
// deliveries, GET /auth/settings and the X-Captcha-Token header (with a
// siteverify fake in this process, in Turnstile's answer shape).
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";

import { createClient, PortcullisError } from "../dist/index.js";
import { startPortcullis, jar, password } from "./harness.mjs";

let n = 0;
const email = (what) => `${what}-${++n}@example.com`;

async function browser(pc) {
  const f = jar(pc.url);
  const client = createClient({ baseUrl: pc.url, fetch: f });
  const events = [];
  client.onAuthStateChange((e, s) => events.push([e, s.user?.email ?? null]));
  await client.getSession();
  return { client, f, events };
}

async function rejects(p, status, code) {
  await assert.rejects(p, (err) => {
    assert.ok(err instanceof PortcullisError, String(err));
    assert.equal(err.status, status, err.message);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

const admin = { email: "root@example.com", password: "an administrator passphrase" };

describe("account lifecycle", () => {
  let pc;
  before(async () => {
    pc = await startPortcullis({ AUTH_BOOTSTRAP_ADMIN_EMAIL: admin.email, AUTH_BOOTSTRAP_ADMIN_PASSWORD: admin.password });
  });
  after(() => pc.stop());

  test("updateUser merges a metadata patch; null removes a key", async () => {
    const { client, events } = await browser(pc);
    const who = email("meta");
    await client.signUp({ email: who, password, name: "Meta" });
    let u = await client.updateUser({ metadata: { theme: "dark", prefs: { lang: "en", tz: "UTC" } } });
    assert.deepEqual(u.metadata, { theme: "dark", prefs: { lang: "en", tz: "UTC" } });
    u = await client.updateUser({ name: "Meta Two", metadata: { theme: null, prefs: { tz: "CET" } } });
    assert.equal(u.name, "Meta Two");
    assert.deepEqual(u.metadata, { prefs: { lang: "en", tz: "CET" } });
    // Read back from the server, not the client's memory.
    assert.deepEqual((await client.getUser()).user.metadata, { prefs: { lang: "en", tz: "CET" } });
    await assert.rejects(client.updateUser({ metadata: { a: { b: { c: { d: { e: { f: 1 } } } } } } }), (err) => err instanceof PortcullisError && err.status === 422);
    assert.deepEqual((await client.getUser()).user.metadata, { prefs: { lang: "en", tz: "CET" } }, "a refused patch changes nothing");
    assert.deepEqual(events.slice(-2).map((e) => e[0]), ["USER_UPDATED", "USER_UPDATED"]);
  });

  test("exportAccount holds the user's data and no secret", async () => {
    const { client, f } = await browser(pc);
    const who = email("export");
    await client.signUp({ email: who, password, name: "Ex Port" });
    const got = await client.exportAccount();
    assert.equal(got.user.email, who);
    assert.ok(got.sessions.length >= 1);
    const text = JSON.stringify(got);
    for (const [, c] of f.cookies) assert.ok(!text.includes(c.value), "no cookie value in the export");
    assert.ok(!text.includes(password), "no password");
    assert.ok(!/\$argon2|\$2[aby]\$|hash|secret/i.test(text), `no hash or secret field: ${text}`);
  });

  test("deleteAccount emits SIGNED_OUT, ends the session, and the address registers again", async () => {
    const { client, f, events } = await browser(pc);
    const who = email("gone");
    const first = await client.signUp({ email: who, password, name: "Gone" });
    await client.deleteAccount({ currentPassword: password });
    assert.deepEqual(events.at(-1), ["SIGNED_OUT", null]);
    assert.equal(await client.getSession(), null);
    assert.ok(!f.cookies.has("session"), "the cookies are cleared");
    // The old password no longer signs in.
    const other = await browser(pc);
    await rejects(other.client.signIn({ email: who, password }), 401, "invalid_credentials");
    // The same address registers again, as a new user.
    const again = await other.client.signUp({ email: who, password, name: "Back" });
    assert.notEqual(again.user.id, first.user.id);
  });

  test("deleteAccount with a wrong password is refused and deletes nothing", async () => {
    const { client } = await browser(pc);
    const who = email("keep");
    await client.signUp({ email: who, password, name: "Keep" });
    await assert.rejects(client.deleteAccount({ currentPassword: "not the password at all" }), PortcullisError);
    assert.equal((await client.getUser()).user.email, who, "still there");
  });

  test("admin.createUser, admin.deleteUser, admin.listWebhookDeliveries", async () => {
    const { client } = await browser(pc);
    await client.signIn(admin);
    const who = email("made");
    const u = await client.admin.createUser({ email: who, name: "Made", password });
    assert.equal(u.email, who);
    assert.equal(u.emailVerified, true, "with a password the address counts as verified");
    const user = await browser(pc);
    const r = await user.client.signIn({ email: who, password });
    assert.equal(r.user.id, u.id);
    await client.admin.deleteUser(u.id);
    await rejects(client.admin.getUser(u.id), 404, "not_found");
    await rejects(createClient({ baseUrl: pc.url, fetch: jar(pc.url) }).signIn({ email: who, password }), 401, "invalid_credentials");
    // No webhook is configured: the list is empty, and well-formed.
    const d = await client.admin.listWebhookDeliveries({ status: "failed" });
    assert.deepEqual(d, { deliveries: [], total: 0 });
    // Only the path and the error are checked: a delivery that failed for
    // good takes 24 hours of retries, which this suite does not wait for.
    await assert.rejects(client.admin.retryWebhookDelivery(424242), (err) => err instanceof PortcullisError && err.status === 404);
    await rejects(user.client.admin.listWebhookDeliveries(), 401, "unauthenticated");
  });

  test("getSettings: no CAPTCHA by default, never a secret", async () => {
    const s = await createClient({ baseUrl: pc.url, fetch: jar(pc.url) }).getSettings();
    assert.equal(s.signUp.captcha ?? null, null);
    assert.ok(Array.isArray(s.methods) && s.methods.includes("password"), JSON.stringify(s));
  });
});

// A siteverify fake: the token "good" passes, anything else fails; it
// records each form Portcullis sends.
function siteverify() {
  const forms = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const form = Object.fromEntries(new URLSearchParams(body));
      forms.push(form);
      const ok = form.secret === "the-secret" && form.response === "good";
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify(ok ? { success: true, "error-codes": [] } : { success: false, "error-codes": ["invalid-input-response"] }));
    });
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok({ server, forms, url: `http://127.0.0.1:${server.address().port}/siteverify` })));
}

describe("CAPTCHA: captchaToken becomes X-Captcha-Token", () => {
  let pc, fake;
  before(async () => {
    fake = await siteverify();
    pc = await startPortcullis({
      AUTH_CAPTCHA_PROVIDER: "turnstile",
      AUTH_CAPTCHA_SECRET: "the-secret",
      AUTH_CAPTCHA_SITE_KEY: "the-site-key",
      AUTH_CAPTCHA_VERIFY_URL: fake.url,
      AUTH_CAPTCHA_ON: "register,login,forgot,sign-in-code,resend",
    });
  });
  after(async () => {
    await pc.stop();
    fake.server.close();
  });

  test("getSettings names the provider, the site key and the actions, not the secret", async () => {
    const s = await createClient({ baseUrl: pc.url, fetch: jar(pc.url) }).getSettings();
    assert.equal(s.signUp.captcha.provider, "turnstile");
    assert.equal(s.signUp.captcha.siteKey, "the-site-key");
    assert.deepEqual([...s.signUp.captcha.on].sort(), ["forgot", "login", "register", "resend", "sign-in-code"]);
    assert.ok(!JSON.stringify(s).includes("the-secret"));
  });

  test("every call with a CAPTCHA takes the option; without a token each is refused before any work", async () => {
    const { client } = await browser(pc);
    const who = email("human");
    const calls = [
      (o) => client.signUp({ email: who, password, name: "Human" }, o),
      (o) => client.signIn({ email: who, password }, o),
      (o) => client.requestPasswordReset(who, o),
      (o) => client.requestSignInCode(who, o),
      (o) => client.resendVerification(who, o),
    ];
    for (const call of calls) {
      const before = fake.forms.length;
      await rejects(call({}), 400, "captcha_failed");
      assert.equal(fake.forms.length, before, "no token: the provider is not asked");
      await rejects(call({ captchaToken: "bad" }), 400, "captcha_failed");
      assert.equal(fake.forms.at(-1).response, "bad", "the token reached the provider");
      await call({ captchaToken: "good" });
      assert.equal(fake.forms.at(-1).response, "good");
      assert.equal(fake.forms.at(-1).secret, "the-secret");
    }
    assert.equal((await client.getUser()).user.email, who, "signed up and in with good tokens");
  });
});
