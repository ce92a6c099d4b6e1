"use client";
import { useState } from "react";
import { client, message } from "../lib/portcullis";

// The second step, after a sign-in answered mfaRequired: the client keeps the
// mfaToken in this tab's memory; the page only asks for a code.
export function MfaStep({ onDone }: { onDone: () => void }) {
  const [error, setError] = useState("");
  async function submit(form: FormData) {
    const code = String(form.get("code") ?? "");
    try {
      await client.verifyMfa(/^\d{6}$/.test(code) ? { code } : { recoveryCode: code });
      onDone();
    } catch (err) {
      setError(message(err));
    }
  }
  return (
    <form action={submit}>
      <label>
        Code from your authenticator app, or a recovery code
        <input name="code" autoComplete="one-time-code" required />
      </label>
      <button type="submit">Continue</button>
      {error && <p className="error">{error}</p>}
    </form>
  );
}
