"use client";
import { useState } from "react";
import { client, message } from "../../lib/portcullis";

export default function ForgotPassword() {
  const [text, setText] = useState("");
  async function submit(form: FormData) {
    try {
      await client.requestPasswordReset(String(form.get("email")));
      setText("If that address has an account, a reset link is on its way.");
    } catch (err) {
      setText(message(err));
    }
  }
  return (
    <>
      <h1>Forgot your password?</h1>
      <form action={submit}>
        <input name="email" type="email" placeholder="Email" required />
        <button type="submit">Email me a reset link</button>
      </form>
      {text && <p>{text}</p>}
    </>
  );
}
