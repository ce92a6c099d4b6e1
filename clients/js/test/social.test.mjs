// Social sign-in and passkeys through @portcullis/client against a real
// Portcullis binary. The OpenID provider is a real one on loopback that the
// Go test (node_test.go) starts and passes in PORTCULLIS_OIDC_ENV; it signs in
// as social@example.com (verified). Without it the provider tests skip.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";

import { createClient, PortcullisError } from "../dist/index.js";
import { fromBuffer } from "../dist/webauthn.js";
import { startPortcullis, jar, password } from "./harness.mjs";

const oidcEnv = process.env.PORTCULLIS_OIDC_ENV ? JSON.parse(process.env.PORTCULLIS_OIDC_ENV) : undefined;
const app = "http://app.test";

// totp computes an RFC 6238 code from a base32 secret, independently of the server.
function totp(secret, at = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of secret.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const sum = createHmac("sha1", key).update(msg).digest();
  const off = sum[sum.length - 1] & 0x0f;
  return String((sum.readUInt32BE(off) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

// A page's location: assign records where the client navigated.
function fakeLocation(href) {
  const u = new URL(href);
  const loc = { href, search: u.search, hash: u.hash, pathname: u.pathname, went: [], assign: (to) => loc.went.push(to) };
  return loc;
}

async function browser(pc, extra = {}) {
  const f = jar(pc.url);
  const client = createClient({ baseUrl: pc.url, fetch: f, ...extra });
  const events = [];
  client.onAuthStateChange((e, s) => events.push([e, s.user?.email ?? null]));
  await client.getSession();
  return { client, f, events };
}

// signUp signs up and confirms the address (mail is sent: enrolling and
// linking need a verified address).
async function signUp(pc, client, email) {
  const r = await client.signUp({ email, password, name: email.split("@")[0] });
  await client.verifyEmail(await pc.mailed(email, /verify-email\?token=([A-Za-z0-9_-]+)/));
  return r;
}

// consent follows a navigation to the provider as a browser would: its page,
// the consent form, the callback with the flow cookie; the final Location.
async function consent(f, providerUrl) {
  const page = await fetch(providerUrl);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /social@example\.com/);
  const form = new URLSearchParams();
  for (const [, k, v] of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.set(k, v.replaceAll("&amp;", "&"));
  const back = await fetch(new URL("/authorize", providerUrl), { method: "POST", body: form, redirect: "manual" });
  assert.equal(back.status, 302);
  const callback = back.headers.get("location");
  assert.ok(callback.includes("/auth/oidc/mock/callback?"), callback);
  const res = await f(callback);
  assert.equal(res.status, 302);
  return res.headers.get("location");
}

describe("social sign-in", { skip: oidcEnv ? false : "no test provider (run through go test ./clients/js)" }, () => {
  let pc;
  before(async () => {
    pc = await startPortcullis({ ...oidcEnv, AUTH_PUBLIC_URL: "self" });
  });
  after(() => pc.stop());

  test("listProviders, providerUrl, signInWithProvider navigates and lands signed in", async () => {
    const { client, f } = await browser(pc);
    const providers = await client.listProviders();
    assert.deepEqual(providers, [{ name: "mock", displayName: "Mock" }]);
    assert.equal(client.providerUrl("mock", { redirectTo: `${app}/` }), `${pc.url}/auth/oidc/mock?redirectTo=${encodeURIComponent(app + "/")}`);

    globalThis.location = fakeLocation(`${app}/login`);
    try {
      const url = client.signInWithProvider("mock");
      assert.deepEqual(location.went, [url], "navigated once, to the provider's start");
      assert.equal(url, `${pc.url}/auth/oidc/mock?redirectTo=${encodeURIComponent(app + "/login")}`, "redirectTo defaults to this page");
      // The browser's top-level navigation: Portcullis sends it to the provider.
      const start = await f(url);
      assert.equal(start.status, 302);
      const landed = await consent(f, start.headers.get("location"));
      assert.equal(landed, `${app}/login`);
    } finally {
      delete globalThis.location;
    }
    const me = await client.getUser();
    assert.equal(me.user.email, "social@example.com");
    assert.deepEqual(me.session.amr, ["oidc"]);
    const ids = await client.listIdentities();
    assert.equal(ids.length, 1);
    assert.equal(ids[0].provider, "mock");
  });

  test("linkIdentity gets the URL and navigates; listIdentities; unlinkIdentity; the only way in is 409", async () => {
    // Who signed in by provider alone cannot unlink the only way in.
    {
      const { client, f } = await browser(pc);
      const start = await f(client.providerUrl("mock", { redirectTo: `${app}/` }));
      await consent(f, start.headers.get("location"));
      const [only] = await client.listIdentities();
      await assert.rejects(client.unlinkIdentity(only.id), (e) => e instanceof PortcullisError && e.status === 409 && e.code === "last_login_method");
      assert.equal((await client.listIdentities()).length, 1, "nothing unlinked");
    }
    // A password user links the provider from settings, then unlinks it.
    const { client, f } = await browser(pc);
    await signUp(pc, client, "linker@example.com");
    // The identity belongs to the user above: linking it here is identity_taken.
    globalThis.location = fakeLocation(`${app}/settings`);
    try {
      const url = await client.linkIdentity("mock");
      assert.deepEqual(location.went, [url]);
      assert.ok(url.startsWith(oidcEnv.AUTH_OIDC_MOCK_ISSUER + "/authorize?"), url);
      assert.equal(await consent(f, url), `${app}/settings?error=identity_taken`);
    } finally {
      delete globalThis.location;
    }
    assert.deepEqual(await client.listIdentities(), []);
    await assert.rejects(client.linkIdentity("mock", { redirectTo: "https://evil.example/" }), (e) => e.status === 400 && e.code === "invalid_redirect");
    await assert.rejects(client.linkIdentity("nope", { redirectTo: `${app}/` }), (e) => e.status === 404);
    await assert.rejects(client.unlinkIdentity("01935a4e-7c1d-7a8e-9b0f-3c2d1e0f4a5d"), (e) => e.status === 404);
  });
});

describe("social sign-in: the unlink of a linked identity", { skip: oidcEnv ? false : "no test provider" }, () => {
  let pc;
  before(async () => {
    pc = await startPortcullis({ ...oidcEnv, AUTH_PUBLIC_URL: "self" });
  });
  after(() => pc.stop());

  test("a password user links, signs in with the provider, and unlinks", async () => {
    const { client, f } = await browser(pc);
    const r = await signUp(pc, client, "owner@example.com");
    globalThis.location = fakeLocation(`${app}/settings`);
    let url;
    try {
      url = await client.linkIdentity("mock");
    } finally {
      delete globalThis.location;
    }
    assert.equal(await consent(f, url), `${app}/settings`);
    const ids = await client.listIdentities();
    assert.deepEqual(ids.map((i) => [i.provider, i.email]), [["mock", "social@example.com"]]);

    // The provider now signs in to this account.
    const other = await browser(pc);
    const start = await other.f(other.client.providerUrl("mock", { redirectTo: `${app}/` }));
    await consent(other.f, start.headers.get("location"));
    assert.equal((await other.client.getUser()).user.id, r.user.id);

    await client.unlinkIdentity(ids[0].id);
    assert.deepEqual(await client.listIdentities(), []);
  });
});

describe("social sign-in with a second factor", { skip: oidcEnv ? false : "no test provider" }, () => {
  let pc;
  before(async () => {
    pc = await startPortcullis({ ...oidcEnv, AUTH_PUBLIC_URL: "self" });
  });
  after(() => pc.stop());

  test("providerReturn takes the second step from the fragment for verifyMfa, and an error from the query", async () => {
    const { client, f } = await browser(pc);
    let start = await f(client.providerUrl("mock", { redirectTo: `${app}/` }));
    await consent(f, start.headers.get("location"));
    const en = await client.enrollTotp({ name: "Phone" });
    await client.verifyTotp(en.factor.id, totp(en.secret));
    await client.signOut();

    const again = await browser(pc);
    start = await again.f(again.client.providerUrl("mock", { redirectTo: `${app}/login` }));
    const landed = await consent(again.f, start.headers.get("location"));
    assert.match(landed, /^http:\/\/app\.test\/login#mfa_token=[^&]+&methods=/);
    assert.ok(![...again.f.cookies.keys()].some((n) => n.includes("session")), "no session before the second step");

    const replaced = [];
    globalThis.location = fakeLocation(landed);
    globalThis.history = { replaceState: (_s, _t, url) => replaced.push(url) };
    let back;
    try {
      back = again.client.providerReturn();
    } finally {
      delete globalThis.location;
      delete globalThis.history;
    }
    assert.deepEqual(replaced, ["/login"], "the token leaves the address bar");
    assert.equal(back.error, undefined);
    assert.ok(back.mfa.mfaToken.length > 20);
    assert.ok(back.mfa.methods.includes("totp"));
    assert.deepEqual(again.events.at(-1), ["MFA_REQUIRED", null]);
    const done = await again.client.verifyMfa({ code: totp(en.secret, Date.now() + 30_000) });
    assert.equal(done.user.email, "social@example.com");
    assert.deepEqual(again.events.at(-1), ["SIGNED_IN", "social@example.com"]);
    assert.equal(done.session.aal, 2);

    globalThis.location = fakeLocation(`${app}/login?error=account_exists`);
    globalThis.history = { replaceState: (_s, _t, url) => replaced.push(url) };
    try {
      assert.deepEqual(again.client.providerReturn(), { error: "account_exists" });
    } finally {
      delete globalThis.location;
      delete globalThis.history;
    }
  });
});

describe("passkeys through a stand-in navigator.credentials", () => {
  let pc;
  before(async () => {
    pc = await startPortcullis({ AUTH_WEBAUTHN_RP_ID: "localhost", AUTH_WEBAUTHN_ORIGINS: "http://localhost" });
  });
  after(() => pc.stop());

  // What the browser was asked, and a credential it answers with (one the
  // server will refuse: the point is what the client converted and sent).
  function recorder() {
    const asked = [];
    const answer = () => ({
      id: "AQID",
      rawId: new Uint8Array([1, 2, 3]).buffer,
      type: "public-key",
      getClientExtensionResults: () => ({}),
      response: {
        clientDataJSON: new TextEncoder().encode('{"type":"x"}').buffer,
        authenticatorData: new Uint8Array([250, 251, 252]).buffer,
        signature: new Uint8Array([255, 254]).buffer,
        userHandle: null,
      },
    });
    return {
      asked,
      create: async (o) => (asked.push(["create", o]), { ...answer(), response: { clientDataJSON: new Uint8Array([123]).buffer, attestationObject: new Uint8Array([0xa0]).buffer, getTransports: () => ["internal"] } }),
      get: async (o) => (asked.push(["get", o]), answer()),
    };
  }

  test("registerPasskey and signInWithPasskey turn options into ArrayBuffers and answers into base64url", async () => {
    const creds = recorder();
    const { client, f, events } = await browser(pc, { credentials: creds });
    const bodies = [];
    const orig = f;
    const spy = async (input, init = {}) => {
      if (init.body) bodies.push([new URL(new Request(input).url).pathname, JSON.parse(init.body)]);
      return orig(input, init);
    };
    const c2 = createClient({ baseUrl: pc.url, fetch: spy, credentials: creds });
    await signUp(pc, c2, "pk@example.com");

    await assert.rejects(c2.registerPasskey({ name: "Laptop" }), (e) => e.status === 422 && "credential" in (e.fields ?? {}));
    const [kind, o] = creds.asked[0];
    assert.equal(kind, "create");
    assert.ok(o.publicKey.challenge instanceof ArrayBuffer && o.publicKey.user.id instanceof ArrayBuffer);
    assert.equal(o.publicKey.rp.id, "localhost");
    const reg = bodies.find(([p]) => p === "/auth/passkeys/register")[1];
    assert.equal(reg.name, "Laptop");
    assert.equal(reg.credential.rawId, "AQID");
    assert.equal(reg.credential.response.attestationObject, fromBuffer(new Uint8Array([0xa0])));
    assert.deepEqual(reg.credential.response.transports, ["internal"]);
    assert.deepEqual(await c2.listPasskeys(), [], "a refused credential registers nothing");

    // Signed out, a passkey sign-in the server refuses (not a real assertion): no SIGNED_IN.
    await assert.rejects(client.signInWithPasskey(), (e) => e.status === 422 && "credential" in (e.fields ?? {}));
    const [kind2, o2] = creds.asked[1];
    assert.equal(kind2, "get");
    assert.ok(o2.publicKey.challenge instanceof ArrayBuffer);
    assert.equal(fromBuffer(o2.publicKey.challenge).length >= 22, true);
    assert.ok(!events.some(([e]) => e === "SIGNED_IN"));

    // A cancelled prompt is the browser's error, and no request is finished.
    const cancel = createClient({
      baseUrl: pc.url,
      fetch: jar(pc.url),
      credentials: { create: async () => null, get: async () => Promise.reject(new DOMException("cancelled", "NotAllowedError")) },
    });
    await assert.rejects(cancel.signInWithPasskey(), (e) => e.name === "NotAllowedError");
    // Without navigator.credentials at all: a clear error, no request.
    const none = createClient({ baseUrl: pc.url, fetch: jar(pc.url) });
    await assert.rejects(none.signInWithPasskey(), (e) => e instanceof PortcullisError && e.code === "unsupported");
  });
});
