"use client";
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useEffect, useState } from "react";
import { client, message, nextPath } from "../../lib/portcullis";
import { MfaStep } from "../mfa-step";

export function LoginForm() {
  const next = nextPath(useSearchParams());
  const [checking, setChecking] = useState(true);
  const [mfa, setMfa] = useState(false);
  const [error, setError] = useState("");

  // The access cookie may simply have expired: the refresh cookie (scoped to
  // /auth) still holds the session. Try it before asking for a password.
  useEffect(() => {
    client.refresh().then(
      () => window.location.replace(next),
      () => setChecking(false),
    );
  }, [next]);

  async function submit(form: FormData) {
    setError("");
    try {
      const r = await client.signIn({ email: String(form.get("email")), password: String(form.get("password")) });
      if ("mfaRequired" in r) setMfa(true);
      else window.location.assign(next);
    } catch (err) {
      setError(message(err));
    }
  }

  if (checking) return <p className="muted">Checking your session…</p>;
  if (mfa) return <MfaStep onDone={() => window.location.assign(next)} />;
  return (
    <>
      <h1>Sign in</h1>
      <form action={submit}>
        <input name="email" type="email" placeholder="Email" autoComplete="username" required />
        <input name="password" type="password" placeholder="Password" autoComplete="current-password" required />
        <button type="submit" id="login-submit">Sign in</button>
        {error && <p className="error">{error}</p>}
      </form>
      <p className="muted">
        <Link href="/register">Create an account</Link> · <Link href="/forgot-password">Forgot your password?</Link> ·{" "}
        <Link href="/sign-in">Email me a code</Link>
      </p>
    </>
  );
}
