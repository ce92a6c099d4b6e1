"use client";
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useEffect, useState } from "react";
import type { MFAChallenge, Provider, SignInResult } from "@portcullis/client";
import { client, message, nextPath, providerError } from "../../lib/portcullis";
import { MfaStep } from "../mfa-step";

export function LoginForm() {
  const next = nextPath(useSearchParams());
  const [checking, setChecking] = useState(true);
  const [mfa, setMfa] = useState<MFAChallenge["methods"] | null>(null);
  const [error, setError] = useState("");
  const [providers, setProviders] = useState<Provider[]>([]);

  useEffect(() => {
    // Back from a provider: an error in the query, or the second step in the
    // fragment (client.providerReturn takes both out of the address bar).
    const back = client.providerReturn();
    if (back.error) setError(providerError(back.error));
    if (back.mfa) {
      setMfa(back.mfa.methods);
      setChecking(false);
      return;
    }
    // The access cookie may simply have expired (or a provider just signed
    // the user in): the refresh cookie (scoped to /auth) still holds the
    // session. Try it before asking for a password.
    client.refresh().then(
      () => window.location.replace(next),
      () => setChecking(false),
    );
    client.listProviders().then(setProviders, () => setProviders([]));
  }, [next]);

  function signedIn(r: SignInResult) {
    if ("mfaRequired" in r) setMfa(r.methods);
    else window.location.assign(next);
  }

  async function submit(form: FormData) {
    setError("");
    try {
      signedIn(await client.signIn({ email: String(form.get("email")), password: String(form.get("password")) }));
    } catch (err) {
      setError(message(err));
    }
  }

  // The authenticator offers the passkeys it holds for this site; no email needed.
  async function passkey() {
    setError("");
    try {
      signedIn(await client.signInWithPasskey());
    } catch (err) {
      setError(err instanceof DOMException ? `No passkey used (${err.name}).` : message(err));
    }
  }

  if (checking) return <p className="muted">Checking your session…</p>;
  if (mfa) return <MfaStep methods={mfa} onDone={() => window.location.assign(next)} />;
  return (
    <>
      <h1>Sign in</h1>
      <form action={submit}>
        <input name="email" type="email" placeholder="Email" autoComplete="username webauthn" required />
        <input name="password" type="password" placeholder="Password" autoComplete="current-password" required />
        <button type="submit" id="login-submit">Sign in</button>
      </form>
      <div className="alternatives">
        <button type="button" id="passkey-signin" onClick={passkey}>
          Sign in with a passkey
        </button>
        {providers.map((p) => (
          // A top-level navigation to Portcullis, which sends the browser to
          // the provider; it comes back here (then to next) signed in.
          <button
            type="button"
            key={p.name}
            id={`provider-${p.name}`}
            onClick={() => client.signInWithProvider(p.name, { redirectTo: `${window.location.origin}/login?next=${encodeURIComponent(next)}` })}
          >
            Sign in with {p.displayName}
          </button>
        ))}
      </div>
      {error && <p className="error">{error}</p>}
      <p className="muted">
        <Link href="/register">Create an account</Link> · <Link href="/forgot-password">Forgot your password?</Link> ·{" "}
        <Link href="/sign-in">Email me a code</Link>
      </p>
    </>
  );
}
