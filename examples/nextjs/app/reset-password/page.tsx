"use client";
import { useSearchParams } from "next/navigation";
import { Suspense, useState } from "react";
import { client, message } from "../../lib/portcullis";

function ResetForm() {
  const token = useSearchParams().get("token") ?? "";
  const [state, setState] = useState<{ ok?: boolean; text?: string }>({});
  async function submit(form: FormData) {
    try {
      await client.resetPassword({ token, password: String(form.get("password")) });
      setState({ ok: true, text: "Your password is changed. Sign in with it." });
    } catch (err) {
      setState({ ok: false, text: message(err) });
    }
  }
  return (
    <>
      <h1>Choose a new password</h1>
      {!state.ok && (
        <form action={submit}>
          <input name="password" type="password" autoComplete="new-password" required />
          <button type="submit">Set password</button>
        </form>
      )}
      {state.text && <p className={state.ok ? "" : "error"}>{state.text}</p>}
    </>
  );
}

export default function ResetPassword() {
  return (
    <Suspense>
      <ResetForm />
    </Suspense>
  );
}
