"use client";
import { useState } from "react";
import type { MFAChallenge } from "@portcullis/client";
import { client, message } from "../lib/portcullis";

// The second step, after a sign-in answered mfaRequired: the client keeps the
// mfaToken in this tab's memory; the page only asks for a code, or a passkey
// when the user has one.
export function MfaStep({ onDone, methods = ["totp", "recovery_code"] }: { onDone: () => void; methods?: MFAChallenge["methods"] }) {
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
  async function passkey() {
    try {
      await client.verifyMfa({ webauthn: true });
      onDone();
    } catch (err) {
      setError(err instanceof DOMException ? `No passkey used (${err.name}).` : message(err));
    }
  }
  return (
    <form action={submit}>
      <label>
        Code from your authenticator app, or a recovery code
        <input name="code" autoComplete="one-time-code" required />
      </label>
      <button type="submit">Continue</button>
      {methods.includes("webauthn") && (
        <button type="button" id="mfa-passkey" onClick={passkey}>
          Use a passkey
        </button>
      )}
      {error && <p className="error">{error}</p>}
    </form>
  );
}
