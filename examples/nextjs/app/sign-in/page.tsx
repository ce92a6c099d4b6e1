"use client";
import { useSearchParams } from "next/navigation";
import { Suspense, useState } from "react";
import type { SignInResult } from "@portcullis/client";
import { client, message } from "../../lib/portcullis";
import { MfaStep } from "../mfa-step";

// Sign in with a mailed code, or with the mailed link (?token=…).
function CodeSignIn() {
  const token = useSearchParams().get("token") ?? "";
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);
  const [mfa, setMfa] = useState(false);
  const [error, setError] = useState("");
  const finish = (r: SignInResult) => ("mfaRequired" in r ? setMfa(true) : window.location.assign("/dashboard"));
  async function run(call: () => Promise<unknown>) {
    setError("");
    try {
      await call();
    } catch (err) {
      setError(message(err));
    }
  }
  if (mfa) return <MfaStep onDone={() => window.location.assign("/dashboard")} />;
  return (
    <>
      <h1>Sign in with an emailed code</h1>
      {token ? (
        <form action={() => run(async () => finish(await client.signInWithCode({ token })))}>
          <button type="submit">Sign in</button>
        </form>
      ) : !sent ? (
        <form action={(f) => run(async () => { const e = String(f.get("email")); await client.requestSignInCode(e); setEmail(e); setSent(true); })}>
          <input name="email" type="email" placeholder="Email" required />
          <button type="submit">Email me a code</button>
        </form>
      ) : (
        <form action={(f) => run(async () => finish(await client.signInWithCode({ email, code: String(f.get("code")) })))}>
          <p>If that address has an account, a code is on its way.</p>
          <input name="code" inputMode="numeric" autoComplete="one-time-code" required />
          <button type="submit">Sign in</button>
        </form>
      )}
      {error && <p className="error">{error}</p>}
    </>
  );
}

export default function SignInWithCode() {
  return (
    <Suspense>
      <CodeSignIn />
    </Suspense>
  );
}
